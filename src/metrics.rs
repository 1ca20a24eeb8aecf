//! Prometheus metrics: one recorder per process (the `metrics` facade, rendered by
//! metrics-exporter-prometheus), and the figures read from the database at each scrape.

use std::sync::OnceLock;

use metrics::gauge;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::store::{Store, StoreResult};

/// Bounds of the latency histograms, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 120.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use; what it renders is `GET /metrics`.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets(LATENCY_BUCKETS)
            .expect("the latency buckets are not empty")
            .build_recorder();
        let handle = recorder.handle();
        // A program embedding cloop may have installed its own recorder; cloop's figures
        // then go there, and this one renders what it holds.
        let _ = metrics::set_global_recorder(recorder);
        handle
    })
}

/// The scrape: the gauges that are read rather than counted, then everything rendered.
pub async fn render(store: &Store) -> StoreResult<String> {
    gauge!("cloop_ingest_queue_events").set(store.activity_waiting() as f64);
    let (waiting, oldest_ms) = store.job_backlog().await?;
    gauge!("cloop_jobs_waiting").set(waiting as f64);
    gauge!("cloop_jobs_oldest_wait_seconds").set(oldest_ms as f64 / 1e3);
    for platform in store.platforms().await? {
        let (calls, left) = store.api_usage_today(platform.id).await?;
        let labels = [("platform", platform.name.clone())];
        gauge!("cloop_rest_calls_today", &labels).set(calls as f64);
        if let Some(left) = left {
            gauge!("cloop_rest_budget_left_today", &labels).set(left as f64);
        }
    }
    let (size, idle) = store.pool_use();
    gauge!("cloop_db_connections").set(f64::from(size));
    gauge!("cloop_db_connections_idle").set(idle as f64);
    Ok(handle().render())
}
