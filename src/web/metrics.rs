//! `GET /metrics` (Prometheus text) and the per-request figures behind it: requests and
//! their latency by route template (never by URL), method and status.

use std::net::SocketAddr;
use std::time::Instant;

use axum::Router;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics::{counter, histogram};

use super::AppState;
use crate::error::Result;

/// Headers a reverse proxy adds: a request bearing one came from elsewhere, whatever its
/// loopback peer says.
const FORWARDED: [&str; 3] = ["forwarded", "x-forwarded-for", "x-real-ip"];

/// `/metrics` on the main port: loopback clients only, and none at all when the metrics
/// have an address of their own (`metrics_listen`).
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(local_scrape))
}

/// The router of `metrics_listen`: `/metrics` for whoever reaches that address.
pub fn dedicated(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn local_scrape(State(state): State<AppState>, request: Request) -> Result<Response> {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>();
    let local = peer.is_some_and(|ConnectInfo(peer)| peer.ip().is_loopback())
        && !FORWARDED
            .iter()
            .any(|name| request.headers().contains_key(*name));
    if state.config.metrics_listen.is_some() || !local {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    scrape(State(state)).await
}

async fn scrape(State(state): State<AppState>) -> Result<Response> {
    let text = crate::metrics::render(&state.store).await?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response())
}

/// Counts the request and its latency under its route template.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_string();
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    histogram!(
        "cloop_http_request_duration_seconds",
        "method" => method.clone(),
        "route" => route.clone(),
    )
    .record(started.elapsed().as_secs_f64());
    counter!(
        "cloop_http_requests_total",
        "method" => method,
        "route" => route,
        "status" => status,
    )
    .increment(1);
    response
}
