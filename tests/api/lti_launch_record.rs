//! What a launch records, written in one transaction: all or nothing, a nonce recorded
//! once however many launches race with it, the jobs queued with it, and platform edits
//! seen by the next launch despite the cached registrations and keys.

use cloop::Store;
use jsonwebtoken::Algorithm;
use serde_json::json;

use crate::helpers::{TestApp, count_rows};
use crate::lti_platform::{MockPlatform, launch_with, login, post_launch};
use crate::on_both_backends;

const ISSUER: &str = "https://blackboard.com";
const RECORDS: [&str; 5] = ["used_nonces", "users", "courses", "enrolments", "jobs"];

async fn setup(backend: crate::helpers::Backend) -> Option<(TestApp, MockPlatform)> {
    let app = crate::helpers::spawn_app(backend, module_path!()).await?;
    let (mock, _) = MockPlatform::start(&app, ISSUER, "client-1").await;
    Some((app, mock))
}

async fn counts(store: &Store) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in RECORDS {
        counts.push(count_rows(store, table).await);
    }
    counts
}

/// Makes the database refuse every new enrolment, as a failing disk or constraint would.
async fn refuse_enrolments(store: &Store, refuse: bool) {
    let statements: &[&'static str] = match (store, refuse) {
        (Store::Sqlite(_), true) => &[
            "CREATE TRIGGER refuse_enrolment BEFORE INSERT ON enrolments \
             BEGIN SELECT RAISE(ABORT, 'refused'); END",
        ],
        (Store::Sqlite(_), false) => &["DROP TRIGGER refuse_enrolment"],
        (Store::Postgres(_), true) => &[
            "CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused'; END $$ \
             LANGUAGE plpgsql",
            "CREATE TRIGGER refuse_enrolment BEFORE INSERT ON enrolments \
             FOR EACH ROW EXECUTE FUNCTION refuse()",
        ],
        (Store::Postgres(_), false) => &["DROP TRIGGER refuse_enrolment ON enrolments"],
    };
    for &sql in statements {
        match store {
            Store::Sqlite(db) => sqlx::query(sql).execute(&db.pool).await.map(|_| ()),
            Store::Postgres(db) => sqlx::query(sql).execute(&db.pool).await.map(|_| ()),
        }
        .unwrap();
    }
}

/// Claims that offer the names and roles service, so the launch queues a roster read.
fn with_roster(claims: &mut serde_json::Value) {
    claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] = json!({
        "context_memberships_url": "https://learn.example.edu/nrps/ctx-1",
        "service_versions": ["2.0"]
    });
}

on_both_backends! {
    async fn a_launch_the_database_refuses_midway_records_nothing(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        refuse_enrolments(&app.store, true).await;
        let login = login(&app, &mock).await;
        let mut claims = mock.claims(&app, &login.nonce);
        with_roster(&mut claims);
        let token = mock.sign(&claims);
        let refused = post_launch(&app, &token, Some(&login.state), Some(&login.cookie)).await;
        assert_eq!(refused.status(), 500);
        assert_eq!(counts(&app.store).await, vec![0; RECORDS.len()], "no nonce, user, course, enrolment or job");

        // Nothing was spent: the same launch goes through once the database accepts it.
        refuse_enrolments(&app.store, false).await;
        let accepted = post_launch(&app, &token, Some(&login.state), Some(&login.cookie)).await;
        assert_eq!(accepted.status(), 303, "{:?}", accepted.text().await);
        assert_eq!(counts(&app.store).await, vec![1; RECORDS.len()]);
    }
}

on_both_backends! {
    async fn one_token_posted_concurrently_is_recorded_once(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let login = login(&app, &mock).await;
        let token = mock.sign(&mock.claims(&app, &login.nonce));
        let launches = (0..8).map(|_| post_launch(&app, &token, Some(&login.state), Some(&login.cookie)));
        let answers = futures_util::future::join_all(launches).await;
        let mut statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
        statuses.sort_unstable();
        assert_eq!(statuses, [303, 401, 401, 401, 401, 401, 401, 401]);
        for table in ["used_nonces", "users", "enrolments"] {
            assert_eq!(count_rows(&app.store, table).await, 1, "{table}");
        }
    }
}

on_both_backends! {
    async fn a_launch_offering_the_roster_queues_its_read_once(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let mut landings = Vec::new();
        for _ in 0..2 {
            let response = launch_with(&app, &mock, with_roster).await;
            assert_eq!(response.status(), 303);
            landings.push(response.headers()["location"].to_str().unwrap().to_string());
        }
        let jobs = app.store.jobs_of_kind(cloop::jobs::LTI_ROSTER).await.unwrap();
        assert_eq!(jobs.len(), 1, "one queued read per course");
        let course: cloop::store::CourseId = landings[0]
            .trim_start_matches("/courses/")
            .split('?')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(jobs[0].dedupe_key, course.to_string());
        let (memberships, _) = app.store.course_service_urls(course).await.unwrap();
        assert_eq!(memberships.as_deref(), Some("https://learn.example.edu/nrps/ctx-1"));
    }
}

on_both_backends! {
    async fn a_new_key_set_url_takes_effect_on_the_next_launch(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        assert_eq!(launch_with(&app, &mock, |_| {}).await.status(), 303);
        // The platform moves its keys; its old key set does not hold the new key.
        let (moved, _) = MockPlatform::start(&app, ISSUER, "client-2").await;
        let platform = app.store.platforms_by_issuer(ISSUER).await.unwrap().remove(0);
        app.store
            .set_platform_endpoints(platform.id, &platform.auth_url, &format!("{}/jwks", moved.base), &platform.token_url)
            .await
            .unwrap();
        let login = login(&app, &mock).await;
        let claims = mock.claims(&app, &login.nonce);
        let token = mock.sign_with(&claims, &moved.signing, Some(&moved.signing.kid), Algorithm::RS256);
        let response = post_launch(&app, &token, Some(&login.state), Some(&login.cookie)).await;
        assert_eq!(response.status(), 303, "{:?}", response.text().await);
        assert_eq!(mock.jwks_fetches(), 1, "the old key set is not asked again");
    }
}

on_both_backends! {
    async fn a_deployment_added_after_a_launch_is_accepted(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        assert_eq!(launch_with(&app, &mock, |_| {}).await.status(), 303);
        let platform = app.store.platforms_by_issuer(ISSUER).await.unwrap().remove(0);
        // Added through another store, as `cloop platform add` in another process would.
        let other = Store::connect(&app._database.url).await.unwrap();
        other.add_deployment(platform.id, "deployment-2").await.unwrap();
        let response = launch_with(&app, &mock, |c| {
            c["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] = json!("deployment-2");
        })
        .await;
        assert_eq!(response.status(), 303, "{:?}", response.text().await);
    }
}

on_both_backends! {
    async fn a_platform_removed_elsewhere_launches_no_more(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        assert_eq!(launch_with(&app, &mock, |_| {}).await.status(), 303);
        let login = login(&app, &mock).await;
        let platform = app.store.platforms_by_issuer(ISSUER).await.unwrap().remove(0);
        let other = Store::connect(&app._database.url).await.unwrap();
        other.remove_platform(platform.id).await.unwrap();
        let token = mock.sign(&mock.claims(&app, &login.nonce));
        let response = post_launch(&app, &token, Some(&login.state), Some(&login.cookie)).await;
        assert_eq!(response.status(), 401, "{:?}", response.text().await);
        assert_eq!(count_rows(&app.store, "users").await, 0);
        // And the removal through this server's own store is seen at once, at login.
        let (_, again) = MockPlatform::start(&app, ISSUER, "client-1").await;
        app.store.remove_platform(again.id).await.unwrap();
        let refused = app
            .client
            .get(app.url("/lti/login"))
            .query(&[("iss", ISSUER), ("login_hint", "h"), ("target_link_uri", &app.url("/lti/launch")), ("client_id", "client-1")])
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), 401);
    }
}

on_both_backends! {
    async fn concurrent_launches_from_new_origins_all_land_and_keep_every_origin(backend: Backend) {
        let Some((app, mock)) = setup(backend).await else { return };
        let launches = (0..6).map(|i| {
            launch_with(&app, &mock, move |c| {
                c["sub"] = json!(format!("user-{i}"));
                c["https://purl.imsglobal.org/spec/lti/claim/tool_platform"]["url"] = json!(format!("https://site-{i}.example.edu/"));
            })
        });
        for response in futures_util::future::join_all(launches).await {
            assert_eq!(response.status(), 303, "{:?}", response.text().await);
        }
        let platform = app.store.platforms_by_issuer(ISSUER).await.unwrap().remove(0);
        for i in 0..6 {
            let origin = format!("https://site-{i}.example.edu");
            assert!(platform.frame_origins.split_whitespace().any(|o| o == origin), "{origin} in {}", platform.frame_origins);
        }
    }
}
