//! Learn's three-legged OAuth: the authorization code flow with PKCE (S256) and the LTI
//! launch's one-time session token, the code exchange, and refreshes of a user's grant.
//! Learn honours one refresh token at a time, so refreshes of one (platform, user) are
//! serialised in this process and the rotated token replaces the spent one atomically.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use super::client::BbError;
use crate::secret::SecretKey;
use crate::store::{PlatformId, Store, UserId};

pub const TOKEN_PATH: &str = "/learn/api/public/v1/oauth2/token";
const AUTHORIZE_PATH: &str = "/learn/api/public/v1/oauth2/authorizationcode";
/// Reading course data, and a refresh token to keep doing so.
pub const SCOPE: &str = "read offline";

/// A PKCE pair: the verifier stays with cloop, the S256 challenge goes to Learn.
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Self {
        let verifier = SecretKey::random_token();
        Self {
            challenge: challenge_of(&verifier),
            verifier,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// BASE64URL(SHA-256(verifier)), without padding (RFC 7636 S256).
pub fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Where to send the browser to ask the user's consent.
pub fn authorization_url(
    base_url: &str,
    key: &str,
    redirect_uri: &str,
    state: &str,
    challenge: &str,
    one_time_session_token: Option<&str>,
) -> Result<Url, BbError> {
    let mut url = Url::parse(base_url)
        .and_then(|b| b.join(AUTHORIZE_PATH))
        .map_err(|_| BbError::BadBaseUrl(base_url.to_string()))?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("client_id", key)
            .append_pair("scope", SCOPE)
            .append_pair("state", state)
            .append_pair("code_challenge", challenge)
            .append_pair("code_challenge_method", "S256");
        if let Some(token) = one_time_session_token {
            query.append_pair("one_time_session_token", token);
        }
    }
    Ok(url)
}

/// Learn's token answer to the authorization code and refresh grants.
#[derive(Deserialize)]
pub struct UserToken {
    pub access_token: String,
    pub expires_in: Option<u64>,
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub scope: String,
}

impl UserToken {
    fn lifetime(&self) -> Duration {
        Duration::from_secs(self.expires_in.unwrap_or(3600).max(1))
    }
}

#[derive(Deserialize, Default)]
struct OAuthError {
    error: Option<String>,
    error_description: Option<String>,
    message: Option<String>,
}

/// What a token request needs: the site and the REST application.
pub struct TokenEndpoint<'a> {
    pub http: &'a reqwest::Client,
    pub base: &'a Url,
    pub key: &'a str,
    pub secret: &'a SecretString,
}

impl TokenEndpoint<'_> {
    /// POSTs a grant: `grant_type` in the form body, the other parameters in the query, as
    /// Learn's API declares them; Basic authentication with the application's key.
    async fn request(&self, grant: &str, params: &[(&str, &str)]) -> Result<UserToken, BbError> {
        let url = self
            .base
            .join(TOKEN_PATH)
            .map_err(|_| BbError::BadBaseUrl(self.base.to_string()))?;
        let response = self
            .http
            .post(url)
            .query(params)
            .basic_auth(self.key, Some(self.secret.expose_secret()))
            .form(&[("grant_type", grant)])
            .send()
            .await
            .map_err(|e| BbError::Transport {
                path: TOKEN_PATH.into(),
                detail: e.without_url().to_string(),
            })?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let error: OAuthError = serde_json::from_str(&body).unwrap_or_default();
            let described = [error.error, error.error_description.or(error.message)]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(": ");
            let detail = if described.is_empty() {
                format!("HTTP {}", status.as_u16())
            } else {
                described
            };
            return Err(match status {
                StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    BbError::UserGrant(detail)
                }
                _ => BbError::Transport {
                    path: TOKEN_PATH.into(),
                    detail,
                },
            });
        }
        serde_json::from_str(&body).map_err(|e| BbError::Malformed {
            path: TOKEN_PATH.into(),
            detail: e.to_string(),
        })
    }

    /// Exchanges the authorization code (with the PKCE verifier) for the user's tokens.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        verifier: &str,
    ) -> Result<UserToken, BbError> {
        let token = self
            .request(
                "authorization_code",
                &[
                    ("code", code),
                    ("redirect_uri", redirect_uri),
                    ("code_verifier", verifier),
                ],
            )
            .await?;
        if token.refresh_token.as_deref().is_none_or(str::is_empty) {
            return Err(BbError::UserGrant(
                "Blackboard granted no refresh token (the \"offline\" scope was refused)".into(),
            ));
        }
        Ok(token)
    }
}

/// An access token of one user, while it lasts.
type Cached = Option<(String, Instant)>;
type Slot = Arc<tokio::sync::Mutex<Cached>>;
/// A Learn site (base URL), the platform and the user.
type SlotKey = (String, PlatformId, UserId);

/// One lock per (Learn site, platform, user): a refresh runs alone, and whoever waited
/// for it takes the access token it got.
static USER_TOKENS: LazyLock<Mutex<HashMap<SlotKey, Slot>>> = LazyLock::new(Default::default);

fn slot(base: &Url, platform: PlatformId, user: UserId) -> Slot {
    USER_TOKENS
        .lock()
        .expect("user token map lock")
        .entry((base.to_string(), platform, user))
        .or_default()
        .clone()
}

/// Drops a user's access token that Learn refused.
pub async fn forget(base: &Url, platform: PlatformId, user: UserId) {
    *slot(base, platform, user).lock().await = None;
}

/// A user's access token: the cached one while fresh, else one refresh of the stored grant,
/// whose rotated refresh token replaces the spent one. Returns the token, its remaining
/// lifetime, and whether a request was made.
pub async fn access_token(
    endpoint: &TokenEndpoint<'_>,
    store: &Store,
    sealing: &SecretKey,
    platform: PlatformId,
    user: UserId,
) -> Result<(String, Duration, bool), BbError> {
    let slot = slot(endpoint.base, platform, user);
    let mut cached = slot.lock().await;
    if let Some((token, until)) = cached.as_ref()
        && let Some(left) = until.checked_duration_since(Instant::now())
    {
        return Ok((token.clone(), left, false));
    }
    let grant = store
        .rest_grant(platform, user)
        .await?
        .ok_or_else(|| BbError::UserGrant("no grant is stored".into()))?;
    let refresh = sealing
        .unseal(&grant.refresh_token)
        .ok_or(BbError::SecretUnreadable)?;
    let token = match endpoint
        .request(
            "refresh_token",
            &[("refresh_token", refresh.expose_secret())],
        )
        .await
    {
        Err(BbError::UserGrant(why)) => {
            // Revoked or expired: the offer on the course page comes back.
            store.delete_rest_grant(platform, user).await?;
            return Err(BbError::UserGrant(why));
        }
        other => other?,
    };
    if let Some(rotated) = token.refresh_token.as_deref().filter(|t| !t.is_empty()) {
        let replaced = store
            .rotate_rest_grant(platform, user, &grant.refresh_token, &sealing.seal(rotated))
            .await?;
        if !replaced {
            tracing::warn!(platform = %platform, user = %user, "a user's Blackboard grant changed during a refresh");
        }
    }
    let lifetime = token.lifetime();
    let margin = Duration::from_secs(30).min(lifetime / 10);
    *cached = Some((
        token.access_token.clone(),
        Instant::now() + lifetime - margin,
    ));
    Ok((token.access_token, lifetime - margin, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_challenge_is_s256_of_the_verifier() {
        // RFC 7636, appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let pkce = Pkce::new();
        assert!(pkce.verifier.len() >= 43);
        assert_eq!(pkce.challenge, challenge_of(&pkce.verifier));
    }

    #[test]
    fn the_authorization_url_names_every_parameter() {
        let url = authorization_url(
            "https://learn.example.edu",
            "key-1",
            "https://cloop.example/lti/blackboard/callback",
            "st",
            "ch",
            Some("ott"),
        )
        .unwrap();
        assert_eq!(url.path(), AUTHORIZE_PATH);
        let query: HashMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(
            query["redirect_uri"],
            "https://cloop.example/lti/blackboard/callback"
        );
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["client_id"], "key-1");
        assert_eq!(query["scope"], "read offline");
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query["one_time_session_token"], "ott");
    }
}
