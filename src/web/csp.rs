//! The Content-Security-Policy every page carries: nothing loads from off the cloop origin,
//! and only the registered platforms' origins may frame it.

use std::sync::RwLock;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::store::Store;

/// How long the list of framing origins is reused before it is read again.
const REFRESH: Duration = Duration::from_secs(30);

/// The CSP header value, rebuilt from the platforms when stale or invalidated.
#[derive(Default)]
pub struct FrameAncestors {
    cached: RwLock<Option<(Instant, HeaderValue)>>,
}

impl FrameAncestors {
    /// Forget the cached value (a platform was added or a launch showed a new origin).
    pub fn invalidate(&self) {
        *self.cached.write().expect("csp lock") = None;
    }

    async fn header(&self, store: &Store) -> HeaderValue {
        if let Some((at, value)) = self.cached.read().expect("csp lock").as_ref()
            && at.elapsed() < REFRESH
        {
            return value.clone();
        }
        let origins: Vec<String> = match store.platforms().await {
            Ok(platforms) => platforms.iter().flat_map(|p| p.framing_origins()).collect(),
            Err(e) => {
                tracing::error!(error = %e, "cannot read platforms for the CSP; allowing only self");
                Vec::new()
            }
        };
        let value = HeaderValue::from_str(&policy(&origins)).unwrap_or_else(|_| {
            HeaderValue::from_static("default-src 'self'; frame-ancestors 'self'")
        });
        *self.cached.write().expect("csp lock") = Some((Instant::now(), value.clone()));
        value
    }
}

fn policy(origins: &[String]) -> String {
    let mut ancestors: Vec<&str> = origins
        .iter()
        .map(String::as_str)
        .filter(|o| {
            o.bytes()
                .all(|b| b.is_ascii_graphic() && b != b';' && b != b',')
        })
        .collect();
    ancestors.sort_unstable();
    ancestors.dedup();
    format!(
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; \
         object-src 'none'; base-uri 'none'; frame-ancestors 'self'{}{}",
        if ancestors.is_empty() { "" } else { " " },
        ancestors.join(" ")
    )
}

pub async fn set_csp(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if !response
        .headers()
        .contains_key(header::CONTENT_SECURITY_POLICY)
    {
        let value = state.frame_ancestors.header(&state.store).await;
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_lists_origins_and_drops_injection_attempts() {
        let p = policy(&[
            "https://learn.example.edu".into(),
            "https://x; script-src *".into(),
        ]);
        assert!(
            p.ends_with("frame-ancestors 'self' https://learn.example.edu"),
            "{p}"
        );
        assert!(policy(&[]).ends_with("frame-ancestors 'self'"));
    }
}
