//! REST calls of a course sync against the fake Learn server (300 students, 200 items,
//! gradebook, discussions, groups): a full sync and an unchanged re-sync, each beside the
//! least pages that reading the same collections takes (every distinct query read once,
//! at the endpoint's largest page). Counts, not times.
//!
//! Run: `cargo bench --bench sync_calls`

#[path = "../tests/api/blackboard_fake.rs"]
#[allow(dead_code)]
mod blackboard_fake;
#[path = "support.rs"]
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use blackboard_fake::FakeLearn;
use cloop::SecretKey;
use cloop::lms::blackboard::{ClientOptions, set_rest_credentials, sync_course};
use cloop::store::courses::CourseUpsert;
use cloop::store::platforms::NewPlatform;
use cloop::{Store, store::CourseId};

/// At most this many calls over the least pages for a full sync.
const FULL_SLACK: f64 = 1.10;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("sync.db").display());
    let store = Store::connect(&url).await.expect("store");
    store.migrate().await.expect("migrate");
    let fake = FakeLearn::start().await;
    let options = ClientOptions {
        timeout: Duration::from_secs(10),
        ..ClientOptions::default()
    };
    let (secret, course) = course_with_credentials(&store, &fake, &options).await;
    for (run, slack) in [("full sync", FULL_SLACK), ("unchanged re-sync", 1.0)] {
        let logged = fake.state.lock().unwrap().log.len();
        let outcome = sync_course(&store, &secret, course, &options, &|_| {})
            .await
            .expect("sync");
        assert_eq!(outcome.status, "succeeded", "{:?}", outcome.error);
        let log: Vec<String> = fake.state.lock().unwrap().log[logged..].to_vec();
        let least = least_pages(&fake, &log).await;
        let calls = log.len();
        println!(
            "sync_calls {run} ({}): {calls} REST calls; the least pages for the same queries {least}",
            outcome.kind
        );
        support::table_row(
            &format!("REST calls, {run} of the fake Learn course"),
            &calls.to_string(),
            &format!("{least} pages at least"),
            &if slack > 1.0 {
                format!("≤ {slack:.2}× the least pages")
            } else {
                "= the least pages".to_string()
            },
            calls as f64 <= least as f64 * slack,
        );
    }
    store.close().await;
}

/// The least calls that read every distinct query of `log`: a token, and each query once,
/// paged at the endpoint's largest page (the fake caps `limit` there).
async fn least_pages(fake: &FakeLearn, log: &[String]) -> usize {
    let queries: BTreeSet<String> = log.iter().map(|uri| without_paging(uri)).collect();
    let client = reqwest::Client::new();
    let token: serde_json::Value = client
        .post(format!("{}/learn/api/public/v1/oauth2/token", fake.url()))
        .basic_auth(blackboard_fake::KEY, Some(blackboard_fake::SECRET))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("token JSON");
    let token = token["access_token"].as_str().expect("access token");
    let mut pages = 0;
    for query in queries {
        if query.ends_with("/oauth2/token") {
            pages += 1;
            continue;
        }
        let mut next = Some(query);
        while let Some(uri) = next {
            pages += 1;
            let page: serde_json::Value = client
                .get(format!("{}{uri}", fake.url()))
                .bearer_auth(token)
                .send()
                .await
                .expect("page")
                .json()
                .await
                .unwrap_or_default();
            next = page["paging"]["nextPage"].as_str().map(str::to_string);
        }
    }
    pages
}

/// `uri` without its `offset` and `limit` (the query one paged read stands for).
fn without_paging(uri: &str) -> String {
    let Some((path, query)) = uri.split_once('?') else {
        return uri.to_string();
    };
    let mut kept: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .filter(|(k, _)| k != "offset" && k != "limit")
        .collect();
    kept.sort();
    if kept.is_empty() {
        return path.to_string();
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(kept)
        .finish();
    format!("{path}?{query}")
}

/// A Blackboard platform with REST credentials for `fake`, and the course a launch made.
async fn course_with_credentials(
    store: &Store,
    fake: &FakeLearn,
    options: &ClientOptions,
) -> (SecretKey, CourseId) {
    let secret = SecretKey::load_or_create(store, None).await.expect("key");
    let platform = store
        .create_platform(&NewPlatform {
            name: "learn".into(),
            product: "blackboard".into(),
            issuer: "https://blackboard.com".into(),
            client_id: "client-learn".into(),
            auth_url: "https://developer.blackboard.com/api/v1/gateway/oidcauth".into(),
            jwks_url: "https://developer.blackboard.com/jwks.json".into(),
            token_url: "https://developer.blackboard.com/api/v1/gateway/oauth2/jwttoken".into(),
            token_audience: None,
        })
        .await
        .expect("platform")
        .id;
    set_rest_credentials(
        store,
        &secret,
        platform,
        &fake.url(),
        blackboard_fake::KEY,
        blackboard_fake::SECRET,
        options,
    )
    .await
    .expect("credentials");
    let deployment = store
        .add_deployment(platform, "deployment-1")
        .await
        .expect("deployment");
    let course = store
        .upsert_course(
            platform,
            deployment,
            &CourseUpsert {
                lms_context_id: blackboard_fake::COURSE_UUID.into(),
                lms_course_uuid: Some(blackboard_fake::COURSE_UUID.into()),
                title: "Cell Biology".into(),
                ..Default::default()
            },
        )
        .await
        .expect("course");
    (secret, course.id)
}
