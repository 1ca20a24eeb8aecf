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
pub mod serve;
pub mod session;
pub mod views;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::AppState;
use crate::error::log_and_render;

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
        .route("/static/cloop.css", get(stylesheet))
        .route("/static/cloop.js", get(|| script(SCRIPT)))
        .route("/static/lti-storage.js", get(|| script(STORAGE_SCRIPT)))
        .route("/static/lti-close.js", get(|| script(CLOSE_SCRIPT)))
        .route("/static/auto-submit.js", get(|| script(AUTO_SUBMIT_SCRIPT)))
        .layer(middleware::from_fn(log_and_render))
        .layer(middleware::from_fn_with_state(state.clone(), csp::set_csp))
        .with_state(state)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("x-content-type-options"),
            HeaderValue::from_static("nosniff"),
        ))
        .layer(RequestBodyLimitLayer::new(MAX_BODY_BYTES))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
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
