//! Course sessions after launch: bound to their course, expiring, tamper-evident.

use cloop::store::{CourseId, EpochMs};
use cloop::web::session::CourseSession;

use crate::lti_platform::{MockPlatform, launch_with};
use crate::on_both_backends;

on_both_backends! {
    async fn session_of_course_a_is_refused_on_course_b(backend: Backend) {
        let Some(app) = crate::helpers::spawn_app(backend, module_path!()).await else { return };
        let (mock, _) = MockPlatform::start(&app, "https://blackboard.com", "client-1").await;
        let a = launch_with(&app, &mock, |_| {}).await;
        let b = launch_with(&app, &mock, |c| {
            c["https://purl.imsglobal.org/spec/lti/claim/context"]["id"] = serde_json::json!("ctx-2");
        })
        .await;
        let location_a = a.headers()["location"].to_str().unwrap().to_string();
        let location_b = b.headers()["location"].to_str().unwrap().to_string();
        let (_, token_a) = location_a.split_once("?s=").unwrap();
        let (path_b, _) = location_b.split_once("?s=").unwrap();
        let response = app.client.get(app.url(path_b)).query(&[("s", token_a)]).send().await.unwrap();
        assert_eq!(response.status(), 403);
        assert!(response.text().await.unwrap().contains("belongs to another course"));
    }
}

on_both_backends! {
    async fn expired_and_tampered_session_tokens_are_refused(backend: Backend) {
        let Some(app) = crate::helpers::spawn_app(backend, module_path!()).await else { return };
        let (mock, _) = MockPlatform::start(&app, "https://blackboard.com", "client-1").await;
        let launched = launch_with(&app, &mock, |_| {}).await;
        let location = launched.headers()["location"].to_str().unwrap().to_string();
        let (path, token) = location.split_once("?s=").unwrap();
        let course: CourseId = path.trim_start_matches("/courses/").parse().unwrap();

        let valid = app.client.get(app.url(path)).query(&[("s", token)]).send().await.unwrap();
        assert_eq!(valid.status(), 200);

        let mut expired = CourseSession::from_token(&app.state.secret, token).unwrap();
        expired.expires = EpochMs(EpochMs::now().0 - 1000);
        let response = app.client.get(app.url(path)).query(&[("s", expired.token(&app.state.secret))]).send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert!(response.text().await.unwrap().contains("expired"));

        let (payload, tag) = token.split_once('.').unwrap();
        let mut bytes: Vec<u8> = tag.bytes().collect();
        bytes[0] = if bytes[0] == b'A' { b'B' } else { b'A' };
        let tampered = format!("{payload}.{}", String::from_utf8(bytes).unwrap());
        let response = app.client.get(app.url(path)).query(&[("s", tampered)]).send().await.unwrap();
        assert_eq!(response.status(), 401);

        let forged = CourseSession { course, ..CourseSession::from_token(&app.state.secret, token).unwrap() };
        let other_key = cloop::SecretKey::from_secret(secrecy::SecretString::from("x".repeat(48)));
        let response = app.client.get(app.url(path)).query(&[("s", forged.token(&other_key))]).send().await.unwrap();
        assert_eq!(response.status(), 401, "a token signed by another key is refused");

        let none = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(none.status(), 401);
    }
}
