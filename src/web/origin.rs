//! The origin check of every state-changing request: a browser's cross-site or same-site
//! POST is refused before any handler runs; forms carry a CSRF token besides.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::Error;

/// Routes a platform or an LMS server posts to from its own origin by design: the OIDC
/// login, the launch form post, and the event stores (authenticated by their keys).
const CROSS_SITE_ROUTES: &[&str] = &["/lti/login", "/lti/launch", "/caliper", "/xapi/statements"];

fn is_cross_site_route(path: &str) -> bool {
    CROSS_SITE_ROUTES.iter().any(|route| {
        path.strip_prefix(route)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// Why a request's origin is refused, or `None` when it may go on. Browsers send
/// `Sec-Fetch-Site` and `Origin`; a client that sends neither (a script) is left to the
/// CSRF token, which it can only have from a page rendered for its session.
fn refusal(headers: &HeaderMap, public_origin: &str) -> Option<&'static str> {
    if let Some(site) = headers.get("sec-fetch-site") {
        // `same-site` is refused too: other hosts of a university's domain are not cloop.
        if !matches!(site.as_bytes(), b"same-origin" | b"none") {
            return Some("the browser says this form was sent from another site");
        }
    }
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let same = origin == public_origin
        || host.is_some_and(|host| {
            origin
                .split_once("://")
                .is_some_and(|(scheme, rest)| matches!(scheme, "http" | "https") && rest == host)
        });
    (!same).then_some("the form was sent from another origin")
}

pub async fn require_same_origin(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !is_cross_site_route(request.uri().path()) {
        let public_origin = state.config.public_url.origin().ascii_serialization();
        if let Some(why) = refusal(request.headers(), &public_origin) {
            return Error::Forbidden(format!(
                "cloop refused this request: {why}. Use the forms on cloop's own pages."
            ))
            .into_response();
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    const OURS: &str = "https://cloop.example.edu";

    #[test]
    fn same_origin_and_scripted_requests_pass() {
        assert_eq!(refusal(&headers(&[]), OURS), None);
        assert_eq!(
            refusal(
                &headers(&[("sec-fetch-site", "same-origin"), ("origin", OURS)]),
                OURS
            ),
            None
        );
        assert_eq!(
            refusal(
                &headers(&[
                    ("origin", "http://127.0.0.1:8080"),
                    ("host", "127.0.0.1:8080")
                ]),
                OURS
            ),
            None
        );
    }

    #[test]
    fn cross_site_same_site_and_foreign_origins_are_refused() {
        for h in [
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
            headers(&[("origin", "https://evil.example.edu")]),
            headers(&[("origin", "null")]),
            headers(&[
                ("origin", "https://evil.example"),
                ("host", "cloop.example.edu"),
            ]),
        ] {
            assert!(refusal(&h, OURS).is_some(), "{h:?}");
        }
    }

    #[test]
    fn only_the_lms_facing_routes_are_exempt() {
        assert!(is_cross_site_route("/lti/launch"));
        assert!(is_cross_site_route("/lti/login/moodle"));
        assert!(is_cross_site_route("/caliper"));
        assert!(!is_cross_site_route("/lti/launchx"));
        assert!(!is_cross_site_route("/admin/sync/now"));
        assert!(!is_cross_site_route("/courses/1/settings"));
    }
}
