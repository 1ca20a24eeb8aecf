use crate::{app_on, on_both_backends};

on_both_backends! {
    async fn healthz_answers_ok_with_the_backend(backend: Backend) {
        let app = app_on!(backend);
        let response = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["referrer-policy"], "same-origin");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "ok");
        let expected = match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        assert_eq!(body["database"], expected);
    }
}

on_both_backends! {
    async fn healthz_reports_unavailable_when_the_database_is_gone(backend: Backend) {
        let app = app_on!(backend);
        app.store.close().await;
        let response = app.client.get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(response.status(), 503);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["status"], "unavailable");
    }
}

on_both_backends! {
    async fn unknown_paths_get_a_clear_not_found(backend: Backend) {
        let app = app_on!(backend);
        let response = app.client.get(app.url("/no/such/page")).send().await.unwrap();
        assert_eq!(response.status(), 404);
    }
}
