//! One GET of a service container with the service's bearer token: the exact media type,
//! a single retry with a fresh token after a 401, typed failures, and the `Link` header's
//! `next` and `differences` URLs.

use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LINK};

use super::token::{AccessTokens, TokenError};
use crate::outbound::{self, Refused};
use crate::store::platforms::Platform;
use crate::store::{Store, StoreError};

/// Why a service could not be read; the message is shown to staff as the data-source status.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{0}")]
    Token(#[from] TokenError),
    #[error(
        "the LMS refused cloop's access token (HTTP 401). If this persists, check the tool's registration in the LMS."
    )]
    Unauthorized,
    #[error(
        "the LMS denied access (HTTP 403). Ask the LMS administrator to allow this service for cloop's deployment."
    )]
    Forbidden,
    #[error(
        "the LMS does not know this service URL (HTTP 404); the course may have been removed or copied. Launching cloop again from the course refreshes it."
    )]
    NotFound,
    #[error("the LMS answered HTTP {0}")]
    Status(u16),
    #[error("the LMS sent a malformed answer: {0}")]
    Malformed(String),
    #[error(
        "the LMS answered with content type {got:?} where {expected} was asked for; the service URL may lead to a login page or another service"
    )]
    WrongContentType { expected: String, got: String },
    #[error("the LMS could not be reached: {0}")]
    Unreachable(String),
    #[error("{0}")]
    Unsafe(#[from] Refused),
    #[error(
        "the LMS has not offered this service for the course yet: launch cloop from the course once the LMS administrator has enabled it"
    )]
    NoEndpoint,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of a container.
pub(super) struct Page {
    pub body: serde_json::Value,
    pub next: Option<String>,
    pub differences: Option<String>,
}

/// GETs one container page.
pub(super) async fn get_page(
    tokens: &AccessTokens,
    store: &Store,
    platform: &Platform,
    scopes: &[&str],
    url: &str,
    accept: &str,
) -> Result<Page, ServiceError> {
    let base = url::Url::parse(url).map_err(|e| ServiceError::Malformed(format!("{url}: {e}")))?;
    let http = if on_registered_origin(platform, &base) {
        tokens.http()
    } else {
        // Checked before a token is asked for; the client checks again as it connects.
        tokens.guard().check(&base).await?;
        tokens.guard().client_for(&base)?
    };
    let mut retried = false;
    loop {
        let token = tokens.token(store, platform, scopes).await?;
        let response = http
            .get(base.clone())
            .header(ACCEPT, accept)
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .send()
            .await
            .map_err(|e| match outbound::refusal(&e) {
                Some(refused) => ServiceError::Unsafe(refused),
                None => ServiceError::Unreachable(e.without_url().to_string()),
            })?;
        match response.status() {
            StatusCode::UNAUTHORIZED if !retried => {
                tokens.forget(platform, scopes).await;
                retried = true;
                continue;
            }
            StatusCode::UNAUTHORIZED => return Err(ServiceError::Unauthorized),
            StatusCode::FORBIDDEN => return Err(ServiceError::Forbidden),
            StatusCode::NOT_FOUND => return Err(ServiceError::NotFound),
            s if !s.is_success() => return Err(ServiceError::Status(s.as_u16())),
            _ => {}
        }
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !acceptable(content_type, accept) {
            return Err(ServiceError::WrongContentType {
                expected: accept.to_string(),
                got: content_type.to_string(),
            });
        }
        let links: Vec<String> = response
            .headers()
            .get_all(LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_string)
            .collect();
        let mut body = response
            .json::<serde_json::Value>()
            .await
            .map_err(|e| ServiceError::Malformed(format!("not JSON: {}", e.without_url())))?;
        crate::store::text::strip_nul(&mut body);
        return Ok(Page {
            body,
            next: link(&links, "next", &base),
            differences: link(&links, "differences", &base),
        });
    }
}

/// True for a URL on the origin of one of the platform's registered endpoints: those were
/// typed by a tool admin or checked at dynamic registration, so a service there reaches
/// nothing new (and an LMS on the campus network keeps working with the guard on).
fn on_registered_origin(platform: &Platform, url: &url::Url) -> bool {
    let origin = url.origin();
    [
        &platform.issuer,
        &platform.auth_url,
        &platform.jwks_url,
        &platform.token_url,
    ]
    .into_iter()
    .filter_map(|u| url::Url::parse(u).ok())
    .any(|u| u.origin() == origin)
}

/// The media type asked for, or plain JSON, which some LMSs send for every service.
fn acceptable(content_type: &str, accept: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media == accept || media == "application/json"
}

/// Adds to `url` the query parameters of the launch's service URL it lacks, so that a
/// paging link that drops one (Blackboard's `placement_id`, Moodle's `type_id`) still
/// names the same container.
pub(super) fn merge_query(url: &str, original: &str) -> String {
    let (Ok(mut merged), Ok(original)) = (url::Url::parse(url), url::Url::parse(original)) else {
        return url.to_string();
    };
    let present: Vec<String> = merged.query_pairs().map(|(k, _)| k.into_owned()).collect();
    let missing: Vec<(String, String)> = original
        .query_pairs()
        .filter(|(k, _)| !present.iter().any(|p| p == k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if !missing.is_empty() {
        merged.query_pairs_mut().extend_pairs(missing);
    }
    merged.into()
}

/// The URL of the `Link` header entry with relation `rel`, resolved against the request.
fn link(headers: &[String], rel: &str, base: &url::Url) -> Option<String> {
    headers.iter().flat_map(|h| h.split(',')).find_map(|entry| {
        let mut parts = entry.split(';');
        let target = parts.next()?.trim().strip_prefix('<')?.strip_suffix('>')?;
        parts
            .filter_map(|p| p.trim().strip_prefix("rel="))
            .flat_map(|v| v.trim_matches('"').split_whitespace())
            .any(|r| r.eq_ignore_ascii_case(rel))
            .then(|| base.join(target).ok().map(String::from))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_links_keep_the_launch_urls_query() {
        assert_eq!(
            merge_query(
                "https://lms.example/members?page=2",
                "https://lms.example/members?placement_id=_9_1"
            ),
            "https://lms.example/members?page=2&placement_id=_9_1"
        );
        assert_eq!(
            merge_query(
                "https://lms.example/members?placement_id=_9_1&page=2",
                "https://lms.example/members?placement_id=_9_1"
            ),
            "https://lms.example/members?placement_id=_9_1&page=2"
        );
    }

    #[test]
    fn the_asked_media_type_or_plain_json_is_accepted() {
        let asked = "application/vnd.ims.lis.v2.lineitemcontainer+json";
        assert!(acceptable(asked, asked));
        assert!(acceptable("application/json; charset=utf-8", asked));
        assert!(!acceptable("text/html; charset=utf-8", asked));
        assert!(!acceptable(
            "application/vnd.ims.lis.v2.resultcontainer+json",
            asked
        ));
        assert!(!acceptable("", asked));
    }

    #[test]
    fn links_are_found_by_relation_and_resolved() {
        let base = url::Url::parse("https://lms.example/ctx/1/members?placement_id=_9_1").unwrap();
        let headers = vec![
            r#"<https://lms.example/ctx/1/members?p=2>; rel="next", </ctx/1/members?since=5>; rel="differences""#.to_string(),
        ];
        assert_eq!(
            link(&headers, "next", &base).as_deref(),
            Some("https://lms.example/ctx/1/members?p=2")
        );
        assert_eq!(
            link(&headers, "differences", &base).as_deref(),
            Some("https://lms.example/ctx/1/members?since=5")
        );
        assert_eq!(link(&headers, "prev", &base), None);
    }
}
