//! Course sync against the fake Learn server: full and incremental runs, deletions,
//! faults (429 storms, 500s, malformed JSON, slow answers, expired tokens), a crash
//! mid-sync, the daily budget, and bad credentials in the CLI and on the admin page.

use std::time::Duration;

use cloop::SecretKey;
use cloop::activity::{ActivityKind, ActivitySource};
use cloop::lms::blackboard::{ClientOptions, LearnClient, set_rest_credentials, sync_course};
use cloop::store::courses::CourseUpsert;
use cloop::store::platforms::NewPlatform;
use cloop::store::users::UserUpsert;
use cloop::store::{CourseId, PlatformId, Store};
use secrecy::SecretString;
use serde_json::json;

use crate::blackboard_fake::{self, FakeLearn, Fault, now_iso};
use crate::{app_on, fresh_store, on_both_backends};

/// Production behaviour with test-sized waits.
pub fn fast_options() -> ClientOptions {
    ClientOptions {
        backoff: Duration::from_millis(5),
        retry_after_scale: 0.01,
        timeout: Duration::from_secs(2),
        ..ClientOptions::default()
    }
}

pub async fn blackboard_platform(store: &Store, name: &str) -> PlatformId {
    store
        .create_platform(&NewPlatform {
            name: name.into(),
            product: "blackboard".into(),
            issuer: "https://blackboard.com".into(),
            client_id: format!("client-{name}"),
            auth_url: "https://developer.blackboard.com/api/v1/gateway/oidcauth".into(),
            jwks_url: "https://developer.blackboard.com/api/v1/management/applications/x/jwks.json"
                .into(),
            token_url: "https://developer.blackboard.com/api/v1/gateway/oauth2/jwttoken".into(),
            token_audience: None,
        })
        .await
        .unwrap()
        .id
}

/// A platform with REST credentials for `fake` and the course an LTI launch created.
pub async fn launched_course(store: &Store, fake: &FakeLearn) -> (SecretKey, PlatformId, CourseId) {
    let secret = SecretKey::load_or_create(store, None).await.unwrap();
    let platform = blackboard_platform(store, "learn").await;
    set_rest_credentials(
        store,
        &secret,
        platform,
        &fake.url(),
        blackboard_fake::KEY,
        blackboard_fake::SECRET,
        &fast_options(),
    )
    .await
    .unwrap();
    let course = store
        .upsert_course(
            platform,
            crate::helpers::deployment(store, platform).await,
            &CourseUpsert {
                lms_context_id: blackboard_fake::COURSE_UUID.into(),
                lms_course_uuid: Some(blackboard_fake::COURSE_UUID.into()),
                title: "Cell Biology".into(),
                code: String::new(),
            },
        )
        .await
        .unwrap();
    (secret, platform, course.id)
}

pub(crate) async fn assert_course_fully_synced(store: &Store, course: CourseId) {
    let stored = store.course(course).await.unwrap();
    assert_eq!(stored.title, "Cell Biology");
    assert_eq!(stored.code, "BIO101");
    assert_eq!(stored.term, "Semester 1 2026");
    assert_eq!(
        stored.lms_course_pk.as_deref(),
        Some(blackboard_fake::COURSE_PK)
    );
    assert_eq!(stored.start_date, Some(time::macros::date!(2026 - 03 - 02)));
    assert_eq!(stored.weeks, 13);

    let items = store.content_items(course).await.unwrap();
    assert_eq!(items.len(), 200);
    assert_eq!(
        items
            .iter()
            .filter(|i| i.handler == "resource/x-bb-folder")
            .count(),
        10
    );
    assert_eq!(
        items
            .iter()
            .filter(|i| i.item_group == "assessment")
            .count(),
        10
    );
    assert_eq!(
        items
            .iter()
            .filter(|i| i.item_group == "communication")
            .count(),
        3
    );
    assert_eq!(
        items.iter().filter(|i| i.parent_id.is_some()).count(),
        190,
        "children hang under their folders"
    );

    assert_eq!(
        store.active_member_count(course, "Student").await.unwrap(),
        300
    );
    assert_eq!(
        store
            .active_member_count(course, "Instructor")
            .await
            .unwrap(),
        2
    );

    let assessments = store.assessments(course).await.unwrap();
    assert_eq!(assessments.len(), 10);
    assert!(
        assessments
            .iter()
            .all(|a| a.content_item_id.is_some() && a.due_at.is_some())
    );
    assert!(assessments.iter().all(|a| a.change_index.is_some()));
    assert_eq!(store.attempt_count(course).await.unwrap(), 2400);
    assert_eq!(
        store
            .activity_count(course, ActivityKind::Attempt, ActivitySource::Gradebook)
            .await
            .unwrap(),
        2400
    );

    assert_eq!(store.forum_post_count(course).await.unwrap(), 60);
    // Ultra's discussions API names no contentId: the discussions stay outside the tree.
    let discussions = store.discussions_outside_tree(course).await.unwrap();
    assert_eq!(
        discussions
            .iter()
            .map(|d| d.title.as_str())
            .collect::<Vec<_>>(),
        ["Discussion 1", "Discussion 2", "Discussion 3"]
    );
    let posts = store.course_posts(course, None).await.unwrap();
    assert_eq!(
        posts.iter().filter(|p| p.content_item_id.is_none()).count(),
        60
    );

    let events = store.synced_events(course).await.unwrap();
    let submissions: Vec<_> = events.iter().filter(|e| e.source == "gradebook").collect();
    assert_eq!(submissions.len(), 10);
    assert!(
        submissions
            .iter()
            .all(|e| e.kind == "submission" && e.submission_type.as_deref() == Some("quiz"))
    );
    let calendar: Vec<_> = events.iter().filter(|e| e.source == "calendar").collect();
    assert_eq!(
        calendar.len(),
        6,
        "gradebook items in the calendar are not doubled"
    );

    assert_eq!(store.reviewed_count(course).await.unwrap(), 750);
}

on_both_backends! {
    async fn full_then_incremental_sync(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let fake = FakeLearn::start().await;
        let (secret, platform, course) = launched_course(&store, &fake).await;
        // The instructor who launched: LTI `sub` is the Learn user uuid.
        let launched = store.upsert_user(platform, &UserUpsert {
            lms_sub: blackboard_fake::user_uuid(300),
            name: "Launch Name".into(),
            ..UserUpsert::default()
        }).await.unwrap();
        store.enrol(course, launched.id, &["Instructor"], true, "launch").await.unwrap();
        let before = fake.calls();

        let run = sync_course(&store, &secret, course, &fast_options(), &|_| {}).await.unwrap();
        assert_eq!(run.status, "succeeded", "{:?}", run.error);
        assert_eq!(run.kind, "full");
        assert_course_fully_synced(&store, course).await;
        assert_eq!(run.calls as usize, fake.calls() - before, "every call is counted on the run");
        assert!(run.inserted > 3000, "{run:?}");
        let (today, remaining) = store.api_usage_today(platform).await.unwrap();
        assert_eq!(today as usize, fake.calls(), "and per platform per day");
        assert!(remaining.is_some());
        let users = store.user_ids_by_lms_pk(platform).await.unwrap();
        assert_eq!(users["_1300_1"], launched.id, "the REST user is the launched user (uuid = sub)");
        let enrolment = store.enrolment(course, launched.id).await.unwrap().unwrap();
        assert!(enrolment.is_staff && enrolment.source == "launch", "the launch's roles are kept");

        // A few changes in Learn: a renamed item, a deleted one, a new attempt, a new post,
        // and a student who visited.
        let now = now_iso();
        fake.with(|d| {
            let item = d.contents.iter_mut().find(|c| c["id"] == "_215_1").unwrap();
            item["title"] = json!("Renamed");
            item["modified"] = json!(now);
            d.contents.retain(|c| c["id"] != "_216_1");
            let column = "_500_1".to_string();
            d.attempts.get_mut(&column).unwrap().push(json!({"id": "_999999_1", "userId": "_1000_1",
                "status": "NeedsGrading", "created": now, "attemptDate": now, "modified": now}));
            d.grades.get_mut(&column).unwrap().push(json!({"userId": "_1000_1", "changeIndex": 5000, "score": null}));
            d.messages.get_mut("_60_1").unwrap().push(json!({"id": "_7999_1", "parentId": "_7000_1", "threadId": "_7000_1",
                "userId": "_1001_1", "status": "Published", "postDate": now, "createdDate": now, "modifiedDate": now}));
            d.memberships[5]["lastAccessed"] = json!(now);
        });
        let before = fake.calls();
        let again = sync_course(&store, &secret, course, &fast_options(), &|_| {}).await.unwrap();
        let calls = fake.calls() - before;
        assert_eq!(again.status, "succeeded", "{:?}", again.error);
        assert_eq!(again.kind, "incremental");
        assert!(calls <= 30, "an incremental sync of a barely changed course makes few calls, made {calls}");
        assert!(calls * 3 < run.calls as usize, "{calls} vs a full sync's {}", run.calls);
        assert_eq!(again.calls as usize, calls);

        let items = store.content_items(course).await.unwrap();
        assert_eq!(items.iter().find(|i| i.lms_id == "_215_1").unwrap().title, "Renamed");
        let removed = items.iter().find(|i| i.lms_id == "_216_1").unwrap();
        assert!(removed.removed_at.is_some(), "deleted content is marked removed, not dropped");
        assert_eq!(items.len(), 200);
        assert_eq!(store.attempt_count(course).await.unwrap(), 2401);
        assert_eq!(store.activity_count(course, ActivityKind::Attempt, ActivitySource::Gradebook).await.unwrap(), 2401);
        assert_eq!(store.forum_post_count(course).await.unwrap(), 61);
        assert_eq!(again.removed, 1);
        assert!(again.inserted >= 3 && again.updated >= 2, "{again:?}");
        let user = store.user_ids_by_lms_pk(platform).await.unwrap()["_1005_1"];
        assert_eq!(store.last_access_history(course, user).await.unwrap().len(), 2, "last access is kept as a history");

        // Nothing changed: a third run stores nothing and stays cheap.
        let quiet = sync_course(&store, &secret, course, &fast_options(), &|_| {}).await.unwrap();
        assert_eq!((quiet.inserted, quiet.updated, quiet.removed), (0, 0, 0), "{quiet:?}");
        assert!(quiet.calls <= 25, "{quiet:?}");
    }
}

on_both_backends! {
    async fn sync_rides_out_rate_limits_and_server_faults(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let fake = FakeLearn::start().await;
        let (secret, _platform, course) = launched_course(&store, &fake).await;
        for _ in 0..6 {
            fake.fault(Fault::RateLimited { retry_after: 2 });
        }
        fake.fault(Fault::ExpireTokens);
        fake.fault(Fault::ServerError);
        fake.fault(Fault::Malformed);
        fake.fault(Fault::Slow(Duration::from_secs(3)));
        fake.fault(Fault::RateLimited { retry_after: 1 });
        fake.fault(Fault::ServerError);

        let run = sync_course(&store, &secret, course, &fast_options(), &|_| {}).await.unwrap();
        assert_eq!(run.status, "succeeded", "{:?}", run.error);
        assert_course_fully_synced(&store, course).await;
    }
}

on_both_backends! {
    async fn long_rate_limit_or_spent_budget_pauses_and_resumes(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let fake = FakeLearn::start().await;
        let (secret, _platform, course) = launched_course(&store, &fake).await;

        let budget = ClientOptions { daily_budget: 40, ..fast_options() };
        let paused = sync_course(&store, &secret, course, &budget, &|_| {}).await.unwrap();
        assert_eq!(paused.status, "paused");
        assert!(paused.error.as_deref().unwrap().contains("daily REST budget"), "{paused:?}");
        assert!(paused.calls <= 40);

        fake.fault(Fault::RateLimited { retry_after: 3600 });
        let still = sync_course(&store, &secret, course, &fast_options(), &|_| {}).await.unwrap();
        assert_eq!((still.id, still.status.as_str()), (paused.id, "paused"));
        assert!(still.error.as_deref().unwrap().contains("rate limit"), "{still:?}");

        let resumed = sync_course(&store, &secret, course, &fast_options(), &|_| {}).await.unwrap();
        assert_eq!(resumed.id, paused.id, "the paused run is resumed, not restarted");
        assert_eq!(resumed.status, "succeeded");
        assert_course_fully_synced(&store, course).await;
    }
}

on_both_backends! {
    async fn sync_killed_midway_resumes_without_duplicates(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let fake = FakeLearn::start().await;
        let (secret, _platform, course) = launched_course(&store, &fake).await;

        // Kill the sync while it is inside the gradebook (slow answers there).
        for _ in 0..200 {
            fake.fault(Fault::Slow(Duration::from_millis(20)));
        }
        let task = {
            let store = store.clone();
            let secret = SecretKey::load_or_create(&store, None).await.unwrap();
            tokio::spawn(async move { sync_course(&store, &secret, course, &fast_options(), &|_| {}).await })
        };
        loop {
            tokio::time::sleep(Duration::from_millis(10)).await;
            if fake.state.lock().unwrap().log.iter().any(|p| p.contains("/attempts")) {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        task.abort();
        let _ = task.await;
        let interrupted = store.latest_sync_run(course).await.unwrap().unwrap();
        assert_eq!(interrupted.status, "running");
        let done = interrupted.stages_done();
        assert!(done.contains(&"content".to_string()) && !done.contains(&"calendar".to_string()), "{done:?}");
        let partial = store.attempt_count(course).await.unwrap();
        assert!(partial < 2400);

        let resumed = sync_course(&store, &secret, course, &fast_options(), &|_| {}).await.unwrap();
        assert_eq!(resumed.id, interrupted.id);
        assert_eq!(resumed.status, "succeeded");
        assert_course_fully_synced(&store, course).await;
        let log = fake.state.lock().unwrap().log.clone();
        let content_fetches = log.iter().filter(|p| p.contains("/contents?")).count();
        assert_eq!(content_fetches, 1, "finished stages are not fetched again");
    }
}

on_both_backends! {
    async fn bad_credentials_are_refused_on_the_admin_page(backend: Backend) {
        let app = app_on!(backend);
        let fake = FakeLearn::start().await;
        let platform = blackboard_platform(&app.store, "learn").await;
        let cookie = crate::sync_admin::admin_cookie(&app).await;
        let csrf = crate::sync_admin::admin_csrf(&app, &cookie).await;
        let form = [
            ("csrf", csrf.clone()),
            ("platform", platform.to_string()),
            ("base_url", fake.url()),
            ("key", blackboard_fake::KEY.to_string()),
            ("secret", "wrong-secret-value".to_string()),
        ];
        let response = app.client.post(app.url("/admin/sync/credentials")).header("cookie", &cookie).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 422);
        let page = response.text().await.unwrap();
        assert!(page.contains("Blackboard rejected the REST application key and secret"), "{page}");
        assert!(page.contains("Invalid client credentials"), "{page}");
        assert!(!page.contains("wrong-secret-value"), "the secret is never shown");
        assert!(app.store.platform_rest(platform).await.unwrap().is_none(), "nothing is saved");

        let form = [
            ("csrf", csrf.clone()),
            ("platform", platform.to_string()),
            ("base_url", fake.url()),
            ("key", blackboard_fake::KEY.to_string()),
            ("secret", blackboard_fake::SECRET.to_string()),
        ];
        let forged: Vec<_> = form.iter().skip(1).cloned().collect();
        let response = app.client.post(app.url("/admin/sync/credentials")).header("cookie", &cookie).form(&forged).send().await.unwrap();
        assert_eq!(response.status(), 403, "credentials without the form's CSRF token");
        assert!(app.store.platform_rest(platform).await.unwrap().is_none());
        let response = app.client.post(app.url("/admin/sync/credentials")).header("cookie", &cookie).form(&form).send().await.unwrap();
        assert_eq!(response.status(), 200);
        let page = response.text().await.unwrap();
        assert!(page.contains("checked with Blackboard and saved") && !page.contains(blackboard_fake::SECRET));
        let stored = app.store.platform_rest(platform).await.unwrap().unwrap();
        assert_ne!(stored.sealed_secret, blackboard_fake::SECRET, "stored sealed");

        let anonymous = app.client.post(app.url("/admin/sync/credentials")).form(&form).send().await.unwrap();
        assert_eq!(anonymous.status(), 401);
    }
}

#[tokio::test]
async fn bad_credentials_are_one_clear_line_in_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("cloop.db").display());
    let store = Store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    blackboard_platform(&store, "learn").await;
    store.close().await;
    let fake = FakeLearn::start().await;
    let base = fake.url();
    let run = |secret: &'static str| {
        let url = url.clone();
        let base = base.clone();
        let dir = dir.path().to_path_buf();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(env!("CARGO_BIN_EXE_cloop"))
                .current_dir(dir)
                .env("CLOOP_DATABASE_URL", url)
                .env("RUST_LOG", "error")
                .args([
                    "platform",
                    "rest",
                    "--platform",
                    "learn",
                    "--base-url",
                    &base,
                    "--key",
                    blackboard_fake::KEY,
                    "--secret",
                    secret,
                ])
                .output()
                .unwrap()
        })
    };
    let output = run("wrong-secret-value").await.unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains("Blackboard rejected the REST application key and secret"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrong-secret-value"));

    let output = run(blackboard_fake::SECRET).await.unwrap();
    assert!(output.status.success(), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("checked and saved") && !stdout.contains(blackboard_fake::SECRET));
}

on_both_backends! {
    async fn calls_in_flight_per_platform_are_limited(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let fake = FakeLearn::start().await;
        let platform = blackboard_platform(&store, "learn").await;
        let options = ClientOptions { concurrency: 2, ..fast_options() };
        let client = std::sync::Arc::new(
            LearnClient::new(store.clone(), platform, &fake.url(), blackboard_fake::KEY,
                SecretString::from(blackboard_fake::SECRET.to_string()), options).unwrap(),
        );
        client.authenticate().await.unwrap();
        for _ in 0..8 {
            fake.fault(Fault::Slow(Duration::from_millis(150)));
        }
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                client.get::<serde_json::Value>("/learn/api/public/v3/courses/_10_1?fields=id").await
            }));
        }
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap()["id"], "_10_1");
        }
        assert_eq!(fake.state.lock().unwrap().max_in_flight, 2);
        assert_eq!(client.calls(), 9);
        assert_eq!(store.api_usage_today(platform).await.unwrap().0, 9);
    }
}
