//! `/admin/sync`: each course's last run, calls used today, errors; admin-only.

use cloop::Config;
use cloop::lms::blackboard::sync_course;

use crate::blackboard_fake::FakeLearn;
use crate::helpers::TestApp;
use crate::sync::{fast_options, launched_course};
use crate::{app_on, on_both_backends};

/// Logs in as a tool administrator and returns the session cookie.
pub async fn admin_cookie(app: &TestApp) -> String {
    let mut config = Config::for_database("sqlite://unused.db");
    config.public_url = url::Url::parse(&app.url("/")).unwrap();
    let link = cloop::web::admin::create_login_link(&app.store, &config, "ops@example.edu")
        .await
        .unwrap();
    let login = app.client.get(&link).send().await.unwrap();
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_string()
}

/// The CSRF token the admin pages' forms carry for this administrator's session.
pub async fn admin_csrf(app: &TestApp, cookie: &str) -> String {
    let page = app
        .client
        .get(app.url("/admin/sync"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    let html = page.text().await.unwrap();
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

on_both_backends! {
    async fn admin_sync_page_shows_runs_calls_and_errors(backend: Backend) {
        let app = app_on!(backend);
        let fake = FakeLearn::start().await;
        let (secret, platform, course) = launched_course(&app.store, &fake).await;
        let run = sync_course(&app.store, &secret, course, &fast_options(), &|_| {}).await.unwrap();
        fake.state.lock().unwrap().broken_path = Some("/discussions".into());
        let failed = sync_course(&app.store, &secret, course, &fast_options(), &|_| {}).await;
        assert!(failed.is_err());

        let anonymous = app.client.get(app.url("/admin/sync")).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);

        let cookie = admin_cookie(&app).await;
        let page = app.client.get(app.url("/admin/sync")).header("cookie", &cookie).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("Cell Biology") && html.contains("BIO101"), "{html}");
        assert!(html.contains("failed") && html.contains("incremental"), "{html}");
        assert!(html.contains("cannot reach Blackboard") || html.contains("gave up"), "{html}");
        let (today, _) = app.store.api_usage_today(platform).await.unwrap();
        assert!(today > run.calls);
        assert!(html.contains(&format!("{today} of 8000")), "calls used today: {html}");
        assert!(!html.contains(crate::blackboard_fake::SECRET));

        let forged = app.client.post(app.url("/admin/sync/now")).header("cookie", &cookie)
            .form(&[("course", course.to_string())]).send().await.unwrap();
        assert_eq!(forged.status(), 403, "a sync request without the form's CSRF token");
        assert!(app.store.jobs_of_kind(cloop::jobs::COURSE_SYNC).await.unwrap().is_empty());
        let csrf = admin_csrf(&app, &cookie).await;
        let now = app.client.post(app.url("/admin/sync/now")).header("cookie", &cookie)
            .form(&[("csrf", csrf), ("course", course.to_string())]).send().await.unwrap();
        assert_eq!(now.status(), 303);
        assert_eq!(app.store.jobs_of_kind(cloop::jobs::COURSE_SYNC).await.unwrap().len(), 1);
    }
}
