//! `GET /metrics` over real HTTP: Prometheus text with requests by route template (never
//! by URL), events by source and outcome, the queues, REST budgets and the pool; served to
//! loopback clients only on the main port, or on `metrics_listen` alone.

use cloop::store::ingest::IngestKeyKind;

use crate::ingest_support::{course, fixture, key, platform};
use crate::on_both_backends;

/// The value of the sample of `name` whose labels include `labels`.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .find(|line| {
            labels
                .iter()
                .all(|(k, v)| line.contains(&format!("{k}=\"{v}\"")))
        })
        .and_then(|line| line.rsplit(' ').next()?.parse().ok())
}

async fn scrape(app: &crate::helpers::TestApp) -> String {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    response.text().await.unwrap()
}

on_both_backends! {
    async fn metrics_count_requests_by_route_and_events_by_outcome(backend: Backend) {
        let app = crate::app_on!(backend);
        let platform = platform(&app.store).await;
        course(&app.store, platform.id, 1358, "UTC").await;
        let key = key(&app.store, platform.id, IngestKeyKind::Caliper).await;
        let before = scrape(&app).await;
        let new_before = sample(&before, "cloop_events_received_total", &[("source", "caliper"), ("outcome", "new")]).unwrap_or(0.0);
        let duplicate_before = sample(&before, "cloop_events_received_total", &[("source", "caliper"), ("outcome", "duplicate")]).unwrap_or(0.0);

        for _ in 0..2 {
            let pushed = app.client.post(app.url("/caliper")).bearer_auth(&key)
                .header("content-type", "application/json")
                .body(fixture("caliper/learn-batch.json")).send().await.unwrap();
            assert_eq!(pushed.status(), 200);
        }
        let page = app.client.get(app.url("/courses/987654?s=not-a-session")).send().await.unwrap();
        let launch = app.client.post(app.url("/lti/launch")).form(&[("state", "x")]).send().await.unwrap();
        assert_eq!(launch.status(), 400);
        assert!(page.status().is_client_error());

        let text = scrape(&app).await;
        assert!(sample(&text, "cloop_events_received_total", &[("source", "caliper"), ("outcome", "new")]).unwrap() >= new_before + 8.0, "{text}");
        assert!(sample(&text, "cloop_events_received_total", &[("source", "caliper"), ("outcome", "duplicate")]).unwrap() >= duplicate_before + 8.0);
        assert!(sample(&text, "cloop_http_requests_total", &[("method", "POST"), ("route", "/caliper"), ("status", "200")]).unwrap() >= 2.0);
        let status = page.status().as_u16().to_string();
        assert!(sample(&text, "cloop_http_requests_total", &[("route", "/courses/{course}"), ("status", &status)]).is_some(), "{text}");
        assert!(sample(&text, "cloop_http_request_duration_seconds_count", &[("route", "/caliper")]).unwrap() >= 2.0);
        assert!(sample(&text, "cloop_lti_launches_total", &[("outcome", "refused")]).unwrap() >= 1.0, "{text}");
        assert!(!text.contains("987654") && !text.contains("not-a-session"), "never a URL, an id or a token");
        for gauge in ["cloop_ingest_queue_events", "cloop_jobs_waiting", "cloop_jobs_oldest_wait_seconds", "cloop_db_connections", "cloop_db_connections_idle"] {
            assert!(sample(&text, gauge, &[]).is_some(), "{gauge} missing:\n{text}");
        }
        assert!(sample(&text, "cloop_rest_calls_today", &[("platform", &platform.name)]).is_some(), "{text}");
    }
}

#[tokio::test]
async fn metrics_are_not_served_through_a_proxy_or_beside_their_own_address() {
    let Some(app) =
        crate::helpers::spawn_app(crate::helpers::Backend::Sqlite, "metrics_proxy").await
    else {
        return;
    };
    let proxied = app
        .client
        .get(app.url("/metrics"))
        .header("x-forwarded-for", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(
        proxied.status(),
        404,
        "a request a proxy forwarded is not local"
    );

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Some(own) =
        crate::helpers::spawn_app_with(crate::helpers::Backend::Sqlite, "metrics_own", |config| {
            config.metrics_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)));
        })
        .await
    else {
        return;
    };
    let main = own.client.get(own.url("/metrics")).send().await.unwrap();
    assert_eq!(
        main.status(),
        404,
        "with an address of their own, not on the main port"
    );
    let dedicated = own
        .client
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(dedicated.status(), 200);
    assert!(
        dedicated
            .text()
            .await
            .unwrap()
            .contains("cloop_jobs_waiting")
    );
    let other = own
        .client
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        other.status(),
        404,
        "the metrics address serves nothing else"
    );
}
