//! Launches whose claims are legal but unusual: accepted, and deep-linking `data` of any
//! JSON returned unaltered.

use serde_json::{Value, json};

use crate::helpers::TestApp;
use crate::lti_launch::deep_linking;
use crate::lti_platform::{MockPlatform, launch_with};
use crate::on_both_backends;

const DL_SETTINGS: &str = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings";

async fn setup(backend: crate::helpers::Backend) -> Option<(TestApp, MockPlatform)> {
    let app = crate::helpers::spawn_app(backend, module_path!()).await?;
    let (mock, _) = MockPlatform::start(&app, "https://blackboard.com", "client-1").await;
    Some((app, mock))
}

/// Follows a deep-linking launch through the placement page; the response JWT's claims
/// (its signature is checked by the deep-linking tests).
async fn place(app: &TestApp, launch: reqwest::Response, view: &str) -> Value {
    assert_eq!(launch.status(), 303, "{:?}", launch.text().await);
    let location = launch.headers()["location"].to_str().unwrap().to_string();
    let body = app
        .client
        .get(app.url(&location))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let field = |name: &str| {
        body.split(&format!("{name}=\""))
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .replace("&amp;", "&")
    };
    let (action, request) = (field("action"), field("name=\"request\" value"));
    let csrf = field("name=\"csrf\" value");
    let answer = app
        .client
        .post(app.url(&action))
        .form(&[
            ("csrf", csrf.as_str()),
            ("request", request.as_str()),
            ("view", view),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let answer = answer.text().await.unwrap();
    let jwt = answer
        .split("name=\"JWT\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    jsonwebtoken::dangerous::insecure_decode::<Value>(jwt)
        .unwrap()
        .claims
}

on_both_backends! {
    async fn deep_linking_data_that_is_an_object_is_returned_unaltered(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let data = json!({"placement": {"id": "_12_1", "position": 3}, "tags": ["a", null, 1.5], "ok": true});
        let launch = launch_with(&app, &mock, |c| {
            deep_linking(c, &mock.base);
            c[DL_SETTINGS]["data"] = data.clone();
            c[DL_SETTINGS]["accept_types"] = json!("ltiResourceLink");
            c[DL_SETTINGS]["accept_multiple"] = json!("false");
        })
        .await;
        let claims = place(&app, launch, "students").await;
        assert_eq!(claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"], data);

        let without = launch_with(&app, &mock, |c| {
            deep_linking(c, &mock.base);
            c[DL_SETTINGS].as_object_mut().unwrap().remove("data");
        })
        .await;
        let claims = place(&app, without, "dashboard").await;
        assert!(claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/data").is_none());
    }
}

on_both_backends! {
    async fn launches_with_unusual_but_legal_claims_are_accepted(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let lti = "https://purl.imsglobal.org/spec/lti/claim/";
        let launch = launch_with(&app, &mock, |c| {
            let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
            c["iat"] = json!(now - 0.25);
            c["exp"] = json!(now + 3599.5);
            c["aud"] = json!([mock.client_id]);
            c["name"] = Value::Null;
            c["email"] = Value::Null;
            c["given_name"] = json!("Ad\u{0}a");
            c[format!("{lti}custom")] = json!({"count": 3, "flag": true, "list": [1, 2], "nested": {"x": null}});
            c[format!("{lti}lis")] = json!({"person_sourcedid": 12345, "course_offering_sourcedid": null});
            c[format!("{lti}context")]["id"] = json!(1234);
            c[format!("{lti}launch_presentation")]["width"] = json!(800);
            c[format!("{lti}launch_presentation")]["height"] = json!(600.5);
            c[format!("{lti}launch_presentation")]["locale"] = json!("en-AU");
            c[format!("{lti}resource_link")]["title"] = Value::Null;
            c[format!("{lti}resource_link")]["description"] = json!({"html": "<b>x</b>"});
            c[format!("{lti}tool_platform")]["version"] = json!(3900);
        })
        .await;
        assert_eq!(launch.status(), 303, "{:?}", launch.text().await);
        let course = app.store.course_by_ref(
            app.store.platforms().await.unwrap()[0].id,
            &cloop::ingest::CourseRef { pk: Some("1234".into()), external_id: None },
        ).await.unwrap();
        assert!(matches!(course, cloop::ingest::CourseLookup::Found(_)), "the numeric context id names the course");
        let names: Vec<String> = match &app.store {
            cloop::Store::Sqlite(db) => sqlx::query_scalar("SELECT name FROM users").fetch_all(&db.pool).await.unwrap(),
            cloop::Store::Postgres(cloop::store::PostgresDb { pool, .. }) => sqlx::query_scalar("SELECT name FROM users").fetch_all(pool).await.unwrap(),
        };
        assert_eq!(names, ["Ada Lovelace"], "a NUL in a name is dropped, not a failed launch");

        // A learner with an empty roles array launches as least privilege.
        let learner = launch_with(&app, &mock, |c| {
            c["sub"] = json!("user-learner");
            c[format!("{lti}roles")] = json!([]);
        })
        .await;
        assert_ne!(learner.status(), 400, "empty roles are not a malformed token");
        let body = learner.text().await.unwrap();
        assert!(!body.contains("malformed"), "{body}");
    }
}
