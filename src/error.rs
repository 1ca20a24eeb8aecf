//! The HTTP layer's one error type: handlers return it, the response says in one sentence
//! what went wrong, and the `log_and_render` middleware logs the cause once.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::html;

use crate::store::StoreError;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; the message tells the user what to fix.
    #[error("{0}")]
    BadRequest(String),
    /// No valid credentials or launch; the message says what the admin should check.
    #[error("{0}")]
    Unauthorized(String),
    /// Authenticated, but not allowed to see this.
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Unprocessable(String),
    /// A fault of ours or of a service we depend on; the detail is logged, not shown.
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    /// A state-changing form whose CSRF token is missing or was made for another session.
    pub fn forged_form() -> Self {
        Self::Forbidden(
            "This form has expired or did not come from cloop. Reload the page and try again."
                .into(),
        )
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) | Self::Store(StoreError::NotFound(_)) => StatusCode::NOT_FOUND,
            Self::Conflict(_) | Self::Store(StoreError::Conflict(_)) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Store(StoreError::Busy(_) | StoreError::Unavailable(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) | Self::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the user is told: the message for their mistakes, a generic sentence for ours.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) | Self::Store(StoreError::Database(_) | StoreError::Connect { .. } | StoreError::Migrate(_)) => {
                "Something went wrong on cloop's side. It has been logged; please try again, and tell your cloop administrator if it persists.".into()
            }
            Self::Store(StoreError::Unavailable(_)) => {
                "cloop's database is not answering just now. Please try again in a few seconds; tell your cloop administrator if it persists.".into()
            }
            other => other.to_string(),
        }
    }
}

/// What the middleware needs to log and render an error.
#[derive(Clone, Debug)]
struct ErrorReport {
    message: String,
    detail: String,
}

/// How long a client told cloop is busy should wait before sending again (seconds).
pub const RETRY_AFTER_SECS: &str = "5";

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from_static(RETRY_AFTER_SECS),
            );
        }
        response.extensions_mut().insert(Arc::new(ErrorReport {
            message: self.public_message(),
            detail: self.to_string(),
        }));
        response
    }
}

/// Logs each error once and renders it as JSON for API clients, else as a small page.
pub async fn log_and_render(request: Request, next: Next) -> Response {
    let wants_json = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json") && !v.contains("text/html"))
        || request.uri().path().starts_with("/caliper")
        || request.uri().path().starts_with("/xapi");
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let response = next.run(request).await;
    let Some(report) = response.extensions().get::<Arc<ErrorReport>>().cloned() else {
        return response;
    };
    let status = response.status();
    if status.is_server_error() {
        tracing::error!(%method, %path, status = status.as_u16(), detail = %report.detail, "request failed");
    } else {
        tracing::warn!(%method, %path, status = status.as_u16(), detail = %report.detail, "request rejected");
    }
    let (parts, _) = response.into_parts();
    let mut rendered = if wants_json {
        axum::Json(serde_json::json!({ "error": report.message, "status": status.as_u16() }))
            .into_response()
    } else {
        error_page(status, &report.message).into_response()
    };
    *rendered.status_mut() = status;
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            rendered.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rendered
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    rendered
}

fn error_page(status: StatusCode, message: &str) -> maud::Markup {
    let title = status.canonical_reason().unwrap_or("Error");
    crate::web::layout::page(
        title,
        html! {
            div class="error" {
                h1 { (title) }
                p { (message) }
            }
        },
    )
}
