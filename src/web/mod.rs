//! The HTTP surface: one router assembled from each area's routes, wrapped in the layers
//! every response shares (request logs, error rendering, security headers, body limits).

pub mod admin;
mod blackboard_auth;
pub mod charts;
pub mod csp;
mod deep_link;
mod health;
pub mod ingest;
pub mod layout;
pub mod lti;
mod metrics;
mod origin;
mod request_log;
pub mod serve;
pub mod session;
pub mod views;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::AppState;
use crate::error::{Error, log_and_render};

/// Largest request body accepted anywhere (Caliper batches are well below this).
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;

const STYLESHEET: &str = include_str!("../../static/cloop.css");
const STORAGE_SCRIPT: &str = include_str!("../../static/lti-storage.js");
const CLOSE_SCRIPT: &str = include_str!("../../static/lti-close.js");
const AUTO_SUBMIT_SCRIPT: &str = include_str!("../../static/auto-submit.js");
const SCRIPT: &str = include_str!("../../static/cloop.js");

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(health::router())
        .merge(admin::router())
        .merge(lti::router())
        .merge(blackboard_auth::router())
        .merge(deep_link::router())
        .merge(ingest::router(&state.config.limits))
        .merge(views::router())
        .merge(metrics::router())
        .route("/static/cloop.css", get(stylesheet))
        .route("/static/cloop.js", get(|| script(SCRIPT)))
        .route("/static/lti-storage.js", get(|| script(STORAGE_SCRIPT)))
        .route("/static/lti-close.js", get(|| script(CLOSE_SCRIPT)))
        .route("/static/auto-submit.js", get(|| script(AUTO_SUBMIT_SCRIPT)))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            origin::require_same_origin,
        ))
        .layer(middleware::from_fn(log_and_render))
        .layer(middleware::from_fn(metrics::track))
        .layer(middleware::from_fn_with_state(state.clone(), csp::set_csp))
        .with_state(state)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        // Pages carry session tokens in their links: no browser or proxy may keep them.
        // Static files and the public key set say otherwise themselves.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_log::RedactedSpan)
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
}

/// The router of the `metrics_listen` address: `GET /metrics` alone.
pub fn metrics_router(state: AppState) -> Router {
    metrics::dedicated(state)
}

/// A handler that panicked answers with cloop's 500 page, and the panic is logged once by
/// `log_and_render`, instead of the connection being dropped.
fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    Error::Internal(format!("a request handler panicked: {message}")).into_response()
}

async fn stylesheet() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
}

async fn script(body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn boom() -> &'static str {
        panic!("calendar arithmetic overflowed")
    }

    #[tokio::test]
    async fn a_panicking_handler_answers_with_the_error_page() {
        let app = Router::new()
            .route("/boom", get(boom))
            .layer(CatchPanicLayer::custom(panic_response))
            .layer(middleware::from_fn(log_and_render));
        let response = app
            .oneshot(Request::get("/boom").body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        let body = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let page = String::from_utf8_lossy(&body);
        assert!(page.contains("Something went wrong on cloop"), "{page}");
        assert!(
            !page.contains("overflowed"),
            "the panic's detail is logged, not shown"
        );
    }
}
