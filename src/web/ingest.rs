//! The event endpoints LMSs push to: `POST /caliper` (bearer key) and
//! `POST /xapi/statements` (Basic auth), each answering with what was stored. The key is
//! checked before the body is read; time and concurrency are bounded.

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::error_handling::HandleErrorLayer;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::{BoxError, ServiceBuilder};

use crate::AppState;
use crate::config::Limits;
use crate::error::{Error, RETRY_AFTER_SECS, Result};
use crate::ingest::{self, IngestReport, caliper, xapi};
use crate::secret::SecretKey;
use crate::store::PlatformId;
use crate::store::ingest::IngestKeyKind;

/// Largest Caliper or xAPI request body (Learn sends batches of at most a few hundred
/// events, well under this).
pub const MAX_EVENT_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The xAPI version this endpoint speaks.
const XAPI_VERSION: &str = "1.0.3";

/// The ingest routes, each request bounded in time (body included) and in number (both
/// routes together): one past `ingest_concurrency` is answered 503 at once, not queued.
pub fn router(limits: &Limits) -> Router<AppState> {
    Router::new()
        .route("/caliper", post(receive_caliper))
        .route("/xapi/statements", post(receive_xapi))
        .layer(DefaultBodyLimit::max(MAX_EVENT_BODY_BYTES))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(refuse_overload))
                .load_shed()
                .layer(GlobalConcurrencyLimitLayer::new(limits.ingest_concurrency))
                .timeout(limits.ingest_timeout),
        )
}

async fn refuse_overload(uri: Uri, error: BoxError) -> Response {
    if error.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!(path = uri.path(), "ingest request timed out");
        let message = "the request took too long (a body that arrives too slowly?): send it again";
        return (
            StatusCode::REQUEST_TIMEOUT,
            [(header::CONNECTION, "close")],
            Json(serde_json::json!({ "error": message, "status": 408 })),
        )
            .into_response();
    }
    if error.is::<tower::load_shed::error::Overloaded>() {
        tracing::warn!(
            path = uri.path(),
            "ingest request refused: too many at once"
        );
        let message = "cloop is busy receiving other events: send this batch again shortly";
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, RETRY_AFTER_SECS)],
            Json(serde_json::json!({ "error": message, "status": 503 })),
        )
            .into_response();
    }
    Error::Internal(error.to_string()).into_response()
}

/// Reads the body (up to [`MAX_EVENT_BODY_BYTES`]): called once the key is known good,
/// so a stranger's upload is never read.
async fn read_body(state: &AppState, request: Request) -> Result<Bytes> {
    Bytes::from_request(request, state)
        .await
        .map_err(|e| match e {
            BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_)) => {
                Error::PayloadTooLarge(format!(
                    "the request body is over {} MB: send smaller batches",
                    MAX_EVENT_BODY_BYTES / (1024 * 1024)
                ))
            }
            other => Error::BadRequest(other.body_text()),
        })
}

async fn platform_for(
    state: &AppState,
    kind: IngestKeyKind,
    key: Option<&str>,
) -> Result<PlatformId> {
    let unauthorized = || {
        Error::Unauthorized(format!(
            "a valid {} key is required (create one with `cloop caliper-key --platform NAME{}`)",
            kind.as_str(),
            if kind == IngestKeyKind::Xapi {
                " --xapi"
            } else {
                ""
            }
        ))
    };
    let key = key
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(unauthorized)?;
    state
        .store
        .platform_for_ingest_key(kind, &SecretKey::hash_token(key))
        .await?
        .ok_or_else(unauthorized)
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()
}

/// Learn sends the key as `Authorization: Bearer KEY` (some versions send the bare key).
async fn receive_caliper(
    State(state): State<AppState>,
    request: Request,
) -> Result<Json<IngestReport>> {
    let key = authorization(request.headers()).map(|v| v.strip_prefix("Bearer ").unwrap_or(v));
    let platform = platform_for(&state, IngestKeyKind::Caliper, key).await?;
    let body = read_body(&state, request).await?;
    let envelope = caliper::parse_envelope(&body).map_err(Error::BadRequest)?;
    let mapped = caliper::map_envelope(envelope);
    Ok(Json(
        ingest_pushed(&state, platform, "caliper", mapped).await?,
    ))
}

/// Takes in the pushed events of `source` and counts them by outcome (`/metrics`).
async fn ingest_pushed(
    state: &AppState,
    platform: PlatformId,
    source: &'static str,
    mapped: Vec<(Option<String>, ingest::Mapped)>,
) -> Result<IngestReport> {
    let intake = ingest::PushIntake {
        session_gap: state.config.session_gap,
        pending_cap: state.config.limits.pending_events_per_platform,
        cache: &state.push_cache,
    };
    let report = ingest::ingest_pushed(&state.store, platform, intake, mapped).await?;
    for (outcome, events) in [
        ("new", report.new),
        ("duplicate", report.duplicate),
        ("rejected", report.rejected),
        ("pending", report.pending),
    ] {
        metrics::counter!("cloop_events_received_total", "source" => source, "outcome" => outcome)
            .increment(events);
    }
    Ok(report)
}

/// The Basic password is the key; the user name is not checked (the LMS's form needs one).
fn basic_password(headers: &HeaderMap) -> Option<String> {
    let encoded = authorization(headers)?.strip_prefix("Basic ")?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    decoded
        .split_once(':')
        .map(|(_, password)| password.to_string())
}

/// Answers as an LRS does (the ids of the statements, in order) and adds cloop's report
/// in the `X-Cloop-Report` header.
async fn receive_xapi(State(state): State<AppState>, request: Request) -> Result<Response> {
    let password = basic_password(request.headers());
    let platform = platform_for(&state, IngestKeyKind::Xapi, password.as_deref()).await?;
    let version = request
        .headers()
        .get("x-experience-api-version")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !version.starts_with("1.0") {
        return Err(Error::BadRequest(format!(
            "the X-Experience-API-Version header must be 1.0.x (got {version:?})"
        )));
    }
    let body = read_body(&state, request).await?;
    let statements = xapi::parse_statements(&body).map_err(Error::BadRequest)?;
    let mapped = xapi::map_statements(statements);
    let ids: Vec<String> = mapped
        .iter()
        .map(|(id, m)| match (id, m) {
            (Some(id), _) => id.clone(),
            (None, Ok((event, _))) => event.idempotency_key.clone(),
            (None, Err(_)) => String::new(),
        })
        .collect();
    let report = ingest_pushed(&state, platform, "xapi", mapped).await?;
    let summary = serde_json::json!({
        "new": report.new,
        "duplicate": report.duplicate,
        "rejected": report.rejected,
        "pending": report.pending,
        "rejections": report.rejections.iter().take(5).collect::<Vec<_>>(),
    })
    .to_string();
    let mut response = Json(ids).into_response();
    response.headers_mut().insert(
        "x-experience-api-version",
        HeaderValue::from_static(XAPI_VERSION),
    );
    if let Ok(value) = HeaderValue::from_str(&summary) {
        response.headers_mut().insert("x-cloop-report", value);
    }
    Ok(response)
}
