use cloop::Config;

use crate::{app_on, on_both_backends};

on_both_backends! {
    async fn one_time_login_link_opens_admin_pages_once(backend: Backend) {
        let app = app_on!(backend);
        let mut config = Config::for_database("sqlite://unused.db");
        config.public_url = url::Url::parse(&app.url("/")).unwrap();
        let link = cloop::web::admin::create_login_link(&app.store, &config, "ops@example.edu").await.unwrap();
        assert!(link.starts_with(&app.url("/admin/login?token=")));

        let anonymous = app.client.get(app.url("/admin")).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);

        let login = app.client.get(&link).send().await.unwrap();
        assert_eq!(login.status(), 303);
        let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.starts_with("cloop_admin=") && cookie.contains("HttpOnly"), "{cookie}");
        let cookie = cookie.split(';').next().unwrap().to_string();

        let overview = app.client.get(app.url("/admin")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(overview.status(), 200);
        assert!(overview.text().await.unwrap().contains("cloop administration"));

        let again = app.client.get(&link).send().await.unwrap();
        assert_eq!(again.status(), 401, "a login link works once");
        assert!(again.text().await.unwrap().contains("has been used or has expired"));

        let forged = app.client.get(app.url("/admin")).header("cookie", "cloop_admin=eyJhZCI6MX0.AAAA").send().await.unwrap();
        assert_eq!(forged.status(), 401);
    }
}
