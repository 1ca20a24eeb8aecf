//! OAuth 2 access tokens for the LTI Advantage services: the client-credentials grant with
//! a JWT client assertion signed by the tool's current key, cached per platform and scope
//! set until shortly before the token expires.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

use crate::outbound::Guard;
use crate::store::Store;
use crate::store::platforms::Platform;

pub const SCOPE_NRPS: &str =
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly";
pub const SCOPE_LINEITEM_READ: &str =
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly";
pub const SCOPE_RESULT_READ: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly";
pub const SCOPE_GROUPS: &str = "https://purl.imsglobal.org/spec/lti-gs/scope/contextgroup.readonly";

const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Client assertions are single-use; five minutes covers clock skew with the LMS.
const ASSERTION_LIFETIME_SECS: i64 = 300;
/// A cached token is dropped this long before it expires (at most half its lifetime), so a
/// call never starts with a token about to lapse.
const EARLY_REFRESH: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_secs(30);

/// Why no access token could be had.
#[derive(Clone, Debug, thiserror::Error)]
pub enum TokenError {
    #[error(
        "scope not granted by the LMS admin: {0}. Ask the LMS administrator to allow cloop this service (Blackboard: \"Allow Membership Service Access\" / \"Allow Grade Service Access\" on the tool's deployment)."
    )]
    ScopeNotGranted(String),
    #[error(
        "the LMS rejected cloop's client assertion ({0}). Check that the LMS registration uses cloop's client id and public keyset (JWKS) URL."
    )]
    ClientRejected(String),
    #[error("the LMS token endpoint refused the request (HTTP {status}): {error}")]
    Refused { status: u16, error: String },
    #[error("the LMS token endpoint could not be reached: {0}")]
    Unreachable(String),
    #[error("the LMS token endpoint gave no usable access token: {0}")]
    Malformed(String),
    #[error("cloop could not sign its client assertion: {0}")]
    Signing(String),
}

/// The scopes of one request, in a canonical order.
fn scope_set(scopes: &[&str]) -> String {
    scopes
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct CacheKey {
    token_url: String,
    client_id: String,
    scopes: String,
}

struct Cached {
    token: String,
    fresh_until: Instant,
}

/// The token cache, and the guard on the service URLs it is used for; one per process
/// (per guard) is shared by the workers.
pub struct AccessTokens {
    http: reqwest::Client,
    guard: Guard,
    // Held across a token request so that concurrent callers wait for one request.
    cache: Mutex<HashMap<CacheKey, Cached>>,
}

static SHARED: LazyLock<AccessTokens> = LazyLock::new(AccessTokens::new);
static SHARED_UNGUARDED: LazyLock<AccessTokens> =
    LazyLock::new(|| AccessTokens::with_guard(Guard::Off));

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<i64>,
    scope: Option<String>,
}

#[derive(Deserialize)]
struct OAuthError {
    error: String,
    error_description: Option<String>,
}

impl Default for AccessTokens {
    fn default() -> Self {
        Self::new()
    }
}

impl AccessTokens {
    /// A cache whose service URLs must lead to public addresses.
    pub fn new() -> Self {
        Self::with_guard(Guard::PublicOnly)
    }

    pub fn with_guard(guard: Guard) -> Self {
        Self {
            http: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .expect("a TLS-capable HTTP client"),
            guard,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The process-wide cache for this guard.
    pub fn shared(guard: Guard) -> &'static Self {
        match guard {
            Guard::PublicOnly => &SHARED,
            Guard::Off => &SHARED_UNGUARDED,
        }
    }

    /// The guard on service URLs that are not on one of the platform's registered origins.
    pub fn guard(&self) -> Guard {
        self.guard
    }

    /// The HTTP client for the platform's registered endpoints (its token URL, and service
    /// URLs on the same origins).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// A bearer token for the scopes on this platform, from the cache when still fresh.
    pub async fn token(
        &self,
        store: &Store,
        platform: &Platform,
        scopes: &[&str],
    ) -> Result<String, TokenError> {
        let key = CacheKey {
            token_url: platform.token_url.clone(),
            client_id: platform.client_id.clone(),
            scopes: scope_set(scopes),
        };
        let mut cache = self.cache.lock().await;
        if let Some(cached) = cache.get(&key)
            && cached.fresh_until > Instant::now()
        {
            return Ok(cached.token.clone());
        }
        let (token, lifetime) = self.request(store, platform, &key.scopes).await?;
        let early = EARLY_REFRESH.min(lifetime / 2);
        cache.insert(
            key,
            Cached {
                token: token.clone(),
                fresh_until: Instant::now() + lifetime - early,
            },
        );
        Ok(token)
    }

    /// Drops a cached token the LMS no longer accepts.
    pub async fn forget(&self, platform: &Platform, scopes: &[&str]) {
        self.cache.lock().await.remove(&CacheKey {
            token_url: platform.token_url.clone(),
            client_id: platform.client_id.clone(),
            scopes: scope_set(scopes),
        });
    }

    async fn request(
        &self,
        store: &Store,
        platform: &Platform,
        scopes: &str,
    ) -> Result<(String, Duration), TokenError> {
        let assertion = client_assertion(store, platform).await?;
        let response = self
            .http
            .post(&platform.token_url)
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_assertion_type", CLIENT_ASSERTION_TYPE),
                ("client_assertion", assertion.as_str()),
                ("scope", scopes),
            ])
            .send()
            .await
            .map_err(|e| TokenError::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| TokenError::Unreachable(e.without_url().to_string()))?;
        if !status.is_success() {
            return Err(refusal(status.as_u16(), &body, scopes));
        }
        let parsed: TokenResponse = serde_json::from_str(&body)
            .map_err(|e| TokenError::Malformed(format!("the answer is not a token: {e}")))?;
        let token = parsed
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| TokenError::Malformed("no access_token".into()))?;
        if let Some(granted) = parsed.scope.as_deref().filter(|s| !s.trim().is_empty()) {
            let granted: BTreeSet<&str> = granted.split_whitespace().collect();
            let missing: Vec<&str> = scopes
                .split_whitespace()
                .filter(|s| !granted.contains(s))
                .collect();
            if !missing.is_empty() {
                return Err(TokenError::ScopeNotGranted(missing.join(" ")));
            }
        }
        let secs = parsed.expires_in.unwrap_or(3600).clamp(1, 24 * 3600);
        Ok((token, Duration::from_secs(secs as u64)))
    }
}

/// The typed error for a refused token request.
fn refusal(status: u16, body: &str, scopes: &str) -> TokenError {
    let oauth: Option<OAuthError> = serde_json::from_str(body).ok();
    let described = |e: &OAuthError| match &e.error_description {
        Some(d) => format!("{}: {d}", e.error),
        None => e.error.clone(),
    };
    match oauth {
        Some(e) if e.error == "invalid_scope" => TokenError::ScopeNotGranted(scopes.to_string()),
        Some(e) if e.error == "invalid_client" || status == 401 => {
            TokenError::ClientRejected(described(&e))
        }
        None if status == 401 => TokenError::ClientRejected("HTTP 401".into()),
        Some(e) => TokenError::Refused {
            status,
            error: described(&e),
        },
        None => TokenError::Refused {
            status,
            error: body.chars().take(200).collect(),
        },
    }
}

/// The JWT that authenticates cloop at the token endpoint (`private_key_jwt`).
pub async fn client_assertion(store: &Store, platform: &Platform) -> Result<String, TokenError> {
    let key = crate::lti::keys::signing_key(store)
        .await
        .map_err(|e| TokenError::Signing(e.to_string()))?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let audience = platform
        .token_audience
        .clone()
        .filter(|a| !a.is_empty())
        .unwrap_or_else(|| platform.token_url.clone());
    let claims = serde_json::json!({
        "iss": platform.client_id,
        "sub": platform.client_id,
        "aud": audience,
        "iat": now,
        "exp": now + ASSERTION_LIFETIME_SECS,
        "jti": crate::SecretKey::random_token(),
    });
    jsonwebtoken::encode(&key.header(), &claims, &key.encoding_key)
        .map_err(|e| TokenError::Signing(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_sets_do_not_depend_on_order() {
        assert_eq!(scope_set(&["b", "a", "b"]), "a b");
    }

    #[test]
    fn refusals_are_typed() {
        assert!(matches!(
            refusal(400, r#"{"error":"invalid_scope"}"#, "s"),
            TokenError::ScopeNotGranted(s) if s == "s"
        ));
        assert!(matches!(
            refusal(401, "nope", "s"),
            TokenError::ClientRejected(_)
        ));
        assert!(matches!(
            refusal(400, r#"{"error":"invalid_client","error_description":"bad kid"}"#, "s"),
            TokenError::ClientRejected(m) if m.contains("bad kid")
        ));
        assert!(matches!(
            refusal(400, r#"{"error":"invalid_grant"}"#, "s"),
            TokenError::Refused { status: 400, .. }
        ));
        assert!(matches!(
            refusal(503, "down", "s"),
            TokenError::Refused { status: 503, error } if error == "down"
        ));
    }
}
