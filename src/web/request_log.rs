//! The request log: one span per request naming the method, the path and the query with
//! every value redacted unless it is a known harmless view parameter, so no token is logged.

use axum::http::{Request, Uri};
use tower_http::trace::MakeSpan;
use tracing::Span;
use url::form_urlencoded;

/// Query parameters whose values are shown in logs: the views' own settings. Every other
/// value (session `s`, admin `a`, login `token`, `invite`, `code`, `state`,
/// `registration_token`, a sealed deep-link `request`, a table search `q.<table>`, which
/// may hold a student's name, and any parameter added later) is replaced by `[redacted]`.
const SHOWN_PARAMS: &[&str] = &[
    "week", "tab", "event", "window", "csv", "saved", "course", "format", "page", "sort", "group",
    "role", "left",
];

const REDACTED: &str = "[redacted]";

/// The path and query of `uri` as it may be logged.
pub fn loggable(uri: &Uri) -> String {
    let path = uri.path();
    let Some(query) = uri.query().filter(|q| !q.is_empty()) else {
        return path.to_string();
    };
    let mut shown = form_urlencoded::Serializer::new(String::new());
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        if SHOWN_PARAMS.contains(&name.as_ref()) {
            shown.append_pair(&name, &value);
        } else {
            shown.append_pair(&name, REDACTED);
        }
    }
    format!("{path}?{}", shown.finish())
}

/// Makes the request span with the redacted URI in place of tower-http's full one.
#[derive(Clone, Copy, Debug, Default)]
pub struct RedactedSpan;

impl<B> MakeSpan<B> for RedactedSpan {
    fn make_span(&mut self, request: &Request<B>) -> Span {
        tracing::info_span!(
            "request",
            method = %request.method(),
            uri = %loggable(request.uri()),
            version = ?request.version(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(uri: &str) -> String {
        loggable(&uri.parse().unwrap())
    }

    #[test]
    fn token_bearing_parameters_are_redacted() {
        for name in [
            "s",
            "a",
            "token",
            "invite",
            "code",
            "state",
            "registration_token",
            "request",
            "anything_new",
        ] {
            let logged = log_of(&format!("/x?{name}=SECRET123&week=3"));
            assert!(!logged.contains("SECRET123"), "{name}: {logged}");
            assert!(logged.contains("week=3"), "{logged}");
            assert!(
                logged.contains(&format!("{name}=%5Bredacted%5D")),
                "{logged}"
            );
        }
    }

    #[test]
    fn encoded_and_repeated_secrets_are_redacted_too() {
        let logged = log_of("/courses/1?s=a%2Eb&s=c.d&tab=x");
        assert!(!logged.contains("a%2Eb") && !logged.contains("a.b") && !logged.contains("c.d"));
        assert_eq!(logged, "/courses/1?s=%5Bredacted%5D&s=%5Bredacted%5D&tab=x");
    }

    #[test]
    fn a_table_sort_is_shown_and_its_search_redacted() {
        let logged = log_of("/courses/1/students?sort=students%3A-3&q.students=Ann+Lee");
        assert_eq!(
            logged,
            "/courses/1/students?sort=students%3A-3&q.students=%5Bredacted%5D"
        );
    }

    #[test]
    fn a_uri_without_query_is_its_path() {
        assert_eq!(log_of("/healthz"), "/healthz");
        assert_eq!(log_of("/healthz?"), "/healthz");
    }
}
