//! Every state-changing request needs its form's CSRF token and a same-origin browser.
//! Attacks and expected refusals:
//! - an admin form (`/admin/sync/credentials`, `/admin/sync/now`, `/admin/import`,
//!   `/admin/platforms`) posted with the admin cookie but no CSRF token → 403, nothing done;
//! - a course form (settings, events, deep-link placement) with no or another session's
//!   token → 403;
//! - any of them with their valid token but sent from another site (`Sec-Fetch-Site:
//!   cross-site` or `same-site`, or a foreign `Origin`) → 403;
//! - the LMS's own cross-site posts (`/lti/launch`) are still accepted.

use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::lti_platform::{MockPlatform, launch_with};
use crate::sync_admin::{admin_cookie, admin_csrf};
use crate::{app_on, on_both_backends};

const CROSS_SITE: [(&str, &str); 2] = [
    ("sec-fetch-site", "cross-site"),
    ("origin", "https://attacker.example"),
];

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

/// A staff launch from a browser inside the LMS frame: the landing path with its session.
async fn staff_landing(app: &TestApp) -> String {
    let (mock, _) = MockPlatform::start(app, "https://moodle.example.edu", "moodle-1").await;
    let launch = launch_with(app, &mock, |_| {}).await;
    assert_eq!(launch.status(), 303);
    launch.headers()["location"].to_str().unwrap().to_string()
}

fn multipart(fields: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "cloop-test-boundary";
    let mut body = String::new();
    for (name, value) in fields {
        let filename = if *name == "file" {
            "; filename=\"activity.txt\""
        } else {
            ""
        };
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"{filename}\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

on_both_backends! {
    async fn admin_forms_refuse_requests_without_their_token_or_from_another_site(backend: Backend) {
        let app = app_on!(backend);
        let landing = staff_landing(&app).await;
        let course = landing.trim_start_matches("/courses/").split('?').next().unwrap().to_string();
        let cookie = admin_cookie(&app).await;
        let csrf = admin_csrf(&app, &cookie).await;

        let sync_now = |fields: Vec<(&'static str, String)>, cross: bool| {
            let mut request = app.client.post(app.url("/admin/sync/now")).header("cookie", &cookie).form(&fields);
            if cross {
                for (k, v) in CROSS_SITE {
                    request = request.header(k, v);
                }
            }
            request.send()
        };
        let missing = sync_now(vec![("course", course.clone())], false).await.unwrap();
        assert_eq!(missing.status(), StatusCode::FORBIDDEN);
        let cross = sync_now(vec![("csrf", csrf.clone()), ("course", course.clone())], true).await.unwrap();
        assert_eq!(cross.status(), StatusCode::FORBIDDEN);
        assert!(cross.text().await.unwrap().contains("sent from another site"));
        assert!(app.store.jobs_of_kind(cloop::jobs::COURSE_SYNC).await.unwrap().is_empty(), "nothing was queued");
        let good = sync_now(vec![("csrf", csrf.clone()), ("course", course.clone())], false).await.unwrap();
        assert_eq!(good.status(), StatusCode::SEE_OTHER);

        let credentials = [("platform", "1"), ("base_url", "https://learn.example.edu"), ("key", "k"), ("secret", "s")];
        let forged = app.client.post(app.url("/admin/sync/credentials")).header("cookie", &cookie).form(&credentials).send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);

        let platform = [("name", "x"), ("preset", "blackboard"), ("client_id", "c"), ("deployment", "d")];
        let with_token: Vec<(&str, &str)> = [("csrf", csrf.as_str())].into_iter().chain(platform).collect();
        let mut cross = app.client.post(app.url("/admin/platforms")).header("cookie", &cookie).form(&with_token);
        for (k, v) in CROSS_SITE {
            cross = cross.header(k, v);
        }
        assert_eq!(cross.send().await.unwrap().status(), StatusCode::FORBIDDEN);
        let same_site = app.client.post(app.url("/admin/platforms")).header("cookie", &cookie)
            .header("sec-fetch-site", "same-site").form(&with_token).send().await.unwrap();
        assert_eq!(same_site.status(), StatusCode::FORBIDDEN, "another host of the same site is not cloop");
        assert_eq!(app.store.platforms().await.unwrap().len(), 1, "no platform was added");

        let upload = |fields: &[(&str, &str)]| {
            let (content_type, body) = multipart(fields);
            app.client.post(app.url("/admin/import")).header("cookie", &cookie).header("content-type", content_type).body(body).send()
        };
        let file = include_str!("../../fixtures/imports/accumulator.txt");
        let forged = upload(&[("course", &course), ("format", "bb-accumulator"), ("file", file)]).await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let wrong = upload(&[("csrf", "Zm9yZ2Vk"), ("course", &course), ("format", "bb-accumulator"), ("file", file)]).await.unwrap();
        assert_eq!(wrong.status(), StatusCode::FORBIDDEN);
        assert_eq!(crate::helpers::count_activity(&app.store).await, 0, "a forged upload stores nothing");
        let imported = upload(&[("csrf", &csrf), ("course", &course), ("format", "bb-accumulator"), ("file", file)]).await.unwrap();
        let status = imported.status();
        let page = imported.text().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page.contains("Imported"));
        assert!(crate::helpers::count_activity(&app.store).await > 0);
    }
}

on_both_backends! {
    async fn course_forms_refuse_another_sites_posts_even_with_a_valid_token(backend: Backend) {
        let app = app_on!(backend);
        let landing = staff_landing(&app).await;
        let (path, query) = landing.split_once('?').unwrap();
        let settings_url = app.url(&format!("{path}/settings?{query}"));
        let page = app.client.get(&settings_url).send().await.unwrap().text().await.unwrap();
        let csrf = csrf_of(&page);
        let form = [("csrf", csrf.as_str()), ("start_date", "2026-02-23"), ("weeks", "13"), ("time_zone", "UTC")];

        for (k, v) in [("sec-fetch-site", "cross-site"), ("sec-fetch-site", "same-site"), ("origin", "https://attacker.example"), ("origin", "null")] {
            let response = app.client.post(&settings_url).header(k, v).form(&form).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{k}: {v}");
        }
        let events_url = app.url(&format!("{path}/events?{query}"));
        let event = [("csrf", csrf.as_str()), ("kind", "single"), ("title", "Exam"), ("at", "2026-03-03T09:00")];
        let mut cross = app.client.post(&events_url).form(&event);
        for (k, v) in CROSS_SITE {
            cross = cross.header(k, v);
        }
        assert_eq!(cross.send().await.unwrap().status(), StatusCode::FORBIDDEN);
        assert!(app.store.course(path.trim_start_matches("/courses/").parse().unwrap()).await.unwrap().start_date.is_none(), "nothing was saved");

        let browser = app.client.post(&settings_url)
            .header("sec-fetch-site", "same-origin")
            .header("origin", format!("http://{}", app.address))
            .form(&form).send().await.unwrap();
        assert_eq!(browser.status(), StatusCode::SEE_OTHER, "cloop's own page in the LMS frame posts");
    }
}

on_both_backends! {
    async fn the_lms_launch_post_stays_cross_site(backend: Backend) {
        let app = app_on!(backend);
        let (mock, _) = MockPlatform::start(&app, "https://moodle.example.edu", "moodle-1").await;
        let login = crate::lti_platform::login(&app, &mock).await;
        let id_token = mock.sign(&mock.claims(&app, &login.nonce));
        let launch = app.client.post(app.url("/lti/launch"))
            .header("cookie", &login.cookie)
            .header("sec-fetch-site", "cross-site")
            .header("origin", "https://moodle.example.edu")
            .form(&[("id_token", id_token.as_str()), ("state", login.state.as_str())])
            .send().await.unwrap();
        assert_eq!(launch.status(), StatusCode::SEE_OTHER);
    }
}
