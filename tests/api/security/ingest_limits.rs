//! Attacks on the ingest routes (`/caliper`, `/xapi/statements`), and the refusal each meets:
//! - a wrong key with a large, never-finished body → 401 at once, the body unread (7b);
//! - more requests at once than `ingest_concurrency` → 503 with `Retry-After` (7c);
//! - a body that trickles slower than `ingest_timeout` → 408, the connection freed (7c);
//! - request headers that never finish, on any route → connection closed after
//!   `header_read_timeout` (7c, slow loris);
//! - a flood of events for courses cloop does not know → kept up to
//!   `pending_events_per_platform`, the rest rejected per event with a reason, the batch's
//!   known-course events still stored (7d);
//! - pending events older than `pending_event_ttl` → deleted by the server's maintenance
//!   task (7d).

use std::time::Duration;

use cloop::store::EpochMs;
use cloop::store::ingest::IngestKeyKind;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{TestApp, TestDatabase, spawn_app_over, spawn_app_with};
use crate::ingest_support::{course, envelope, key, platform, post_caliper};
use crate::on_both_backends;

const ZONE: &str = "Australia/Melbourne";

/// Sends a request's head and the first bytes of a body of `declared` bytes, and keeps
/// the connection open without sending the rest.
async fn start_post(app: &TestApp, path: &str, auth: &str, declared: usize) -> TcpStream {
    let mut stream = TcpStream::connect(app.address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\n\
         X-Experience-API-Version: 1.0.3\r\nContent-Type: application/json\r\n\
         Content-Length: {declared}\r\n\r\n{{\"data\": [",
        app.address
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

/// The status line the server answers with within `within`, or `None` when it does not.
async fn status_within(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut buffer = vec![0u8; 4096];
    let read = tokio::time::timeout(within, stream.read(&mut buffer))
        .await
        .ok()?;
    let text = String::from_utf8_lossy(&buffer[..read.ok()?]).to_string();
    text.lines().next().map(str::to_string)
}

on_both_backends! {
    async fn a_wrong_key_is_refused_before_the_body_is_read(backend: Backend) {
        let Some(app) = spawn_app_with(backend, module_path!(), |_| {}).await else { return };
        let platform = platform(&app.store).await;
        key(&app.store, platform.id, IngestKeyKind::Caliper).await;
        let wrong_basic = format!("Basic {}", base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "lms:wrong"));
        for (path, auth) in [("/caliper", "Bearer wrong-key".to_string()), ("/xapi/statements", wrong_basic)] {
            // Declares 4 MB, sends a few bytes and never the rest.
            let mut stream = start_post(&app, path, &auth, 4_000_000).await;
            let status = status_within(&mut stream, Duration::from_secs(3)).await;
            assert_eq!(status.as_deref(), Some("HTTP/1.1 401 Unauthorized"), "{path}");
        }
    }
}

on_both_backends! {
    async fn ingest_past_its_concurrency_is_503_with_retry_after(backend: Backend) {
        let Some(app) = spawn_app_with(backend, module_path!(), |c| c.limits.ingest_concurrency = 1).await else { return };
        let platform = platform(&app.store).await;
        let key = key(&app.store, platform.id, IngestKeyKind::Caliper).await;

        // One request holds the only slot, waiting for the rest of its body.
        let held = start_post(&app, "/caliper", &format!("Bearer {key}"), 1_000).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
        let busy = post_caliper(&app, &key, envelope(&[(2001, 1)])).await;
        assert_eq!(busy.status(), 503);
        assert!(busy.headers().contains_key("retry-after"), "{:?}", busy.headers());
        let body: Value = busy.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("busy"), "{body}");

        // Once it goes, the slot is free again.
        drop(held);
        let mut status = 0;
        for _ in 0..20 {
            status = post_caliper(&app, &key, envelope(&[(2001, 1)])).await.status().as_u16();
            if status == 200 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(status, 200);
    }
}

on_both_backends! {
    async fn a_body_slower_than_the_timeout_is_answered_408(backend: Backend) {
        let Some(app) = spawn_app_with(backend, module_path!(), |c| c.limits.ingest_timeout = Duration::from_secs(1)).await else { return };
        let platform = platform(&app.store).await;
        let key = key(&app.store, platform.id, IngestKeyKind::Caliper).await;
        let mut stream = start_post(&app, "/caliper", &format!("Bearer {key}"), 1_000).await;
        let status = status_within(&mut stream, Duration::from_secs(4)).await;
        assert_eq!(status.as_deref(), Some("HTTP/1.1 408 Request Timeout"));
    }
}

on_both_backends! {
    async fn headers_that_never_finish_lose_their_connection(backend: Backend) {
        let Some(app) = spawn_app_with(backend, module_path!(), |c| c.limits.header_read_timeout = Duration::from_secs(1)).await else { return };
        let mut stream = TcpStream::connect(app.address).await.unwrap();
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: cloop\r\nX-Slow: ").await.unwrap();
        let mut buffer = [0u8; 1024];
        let read = tokio::time::timeout(Duration::from_secs(4), stream.read(&mut buffer)).await;
        let closed = matches!(read, Ok(Ok(0)) | Ok(Err(_)))
            || matches!(read, Ok(Ok(n)) if String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 408"));
        assert!(closed, "the connection is still open: {read:?}");
        assert_eq!(app.client.get(app.url("/healthz")).send().await.unwrap().status(), 200);
    }
}

on_both_backends! {
    async fn pending_events_are_capped_per_platform_without_losing_known_ones(backend: Backend) {
        let Some(app) = spawn_app_with(backend, module_path!(), |c| c.limits.pending_events_per_platform = 3).await else { return };
        let platform = platform(&app.store).await;
        let known = course(&app.store, platform.id, 1358, ZONE).await;
        let key = key(&app.store, platform.id, IngestKeyKind::Caliper).await;
        let batch = envelope(&[(2001, 1), (2001, 2), (1358, 3), (2002, 4), (2002, 5), (2003, 6), (1358, 7)]);

        let response = post_caliper(&app, &key, batch.clone()).await;
        assert_eq!(response.status(), 200);
        let report: Value = response.json().await.unwrap();
        assert_eq!((report["new"].as_u64(), report["pending"].as_u64(), report["rejected"].as_u64()), (Some(2), Some(3), Some(2)), "{report}");
        let rejections = report["rejections"].as_array().unwrap();
        assert_eq!(rejections.iter().map(|r| r["at"].as_u64().unwrap()).collect::<Vec<_>>(), [4, 5]);
        assert!(rejections[0]["reason"].as_str().unwrap().contains("is not known to cloop and 3 events"), "{report}");
        assert_eq!(app.store.activity_of_course(known).await.unwrap().len(), 2);
        assert_eq!(app.store.pending_event_count(platform.id).await.unwrap(), 3);

        // Sent again (as Learn retries), the kept ones are duplicates, not rejections.
        let again: Value = post_caliper(&app, &key, batch).await.json().await.unwrap();
        assert_eq!((again["duplicate"].as_u64(), again["rejected"].as_u64()), (Some(5), Some(2)), "{again}");
        assert_eq!(app.store.pending_event_count(platform.id).await.unwrap(), 3);
    }
}

on_both_backends! {
    async fn pending_events_past_their_age_are_purged_by_the_server(backend: Backend) {
        let Some(db) = TestDatabase::fresh(backend, module_path!()).await else { return };
        let store = db.store().await;
        let platform = platform(&store).await;
        for key in ["caliper:old", "caliper:new"] {
            assert!(store.add_pending_event(platform.id, "_2001_1", "caliper", key, "{}").await.unwrap());
        }
        let long_ago = EpochMs::now().plus_secs(-31 * 86_400);
        let sql = "UPDATE pending_activity SET received_at = $1 WHERE idempotency_key = 'caliper:old'";
        match &store {
            cloop::Store::Sqlite(db) => sqlx::query(sql).bind(long_ago).execute(&db.pool).await.unwrap().rows_affected(),
            cloop::Store::Postgres(cloop::store::PostgresDb { pool, .. }) => sqlx::query(sql).bind(long_ago).execute(pool).await.unwrap().rows_affected(),
        };
        store.close().await;

        // The server's maintenance task purges on start, then every quarter hour.
        let app = spawn_app_over(db, |c| c.limits.pending_event_ttl = Duration::from_secs(30 * 86_400)).await;
        let mut held = 2;
        for _ in 0..50 {
            held = app.store.pending_event_count(platform.id).await.unwrap();
            if held == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(held, 1, "the month-old event is gone, the new one stays");
        assert!(app.store.has_pending_event(platform.id, "caliper", "caliper:new").await.unwrap());
    }
}
