//! OIDC third-party login initiation: pick the registration, check the target is ours,
//! seal nonce and platform into a signed state, and build the platform's auth request.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use url::Url;

use crate::Config;
use crate::SecretKey;
use crate::lti::error::LaunchError;
use crate::store::registry::Registration;
use crate::store::{EpochMs, PlatformId, Store};

/// How long a login waits for its launch.
pub const STATE_TTL_SECS: i64 = 600;

const STATE_PURPOSE: &str = "lti-login-state";

/// What a login remembers for its launch, sealed into the `state` it hands out: an
/// anonymous login writes nothing, and a launch can trust only what cloop signed. The
/// launch's nonce must be this one, and the nonce table makes it single use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginState {
    #[serde(rename = "n")]
    pub nonce: String,
    #[serde(rename = "p")]
    pub platform_id: PlatformId,
    /// The platform-storage frame the state was put in, when the login offered one.
    #[serde(rename = "st", default, skip_serializing_if = "Option::is_none")]
    pub storage_target: Option<String>,
    #[serde(rename = "x")]
    pub expires: EpochMs,
}

impl LoginState {
    pub fn seal(&self, secret: &SecretKey) -> String {
        secret.sign_claims(STATE_PURPOSE, self)
    }

    /// The login behind a state cloop issued and that has not expired; `None` otherwise.
    pub fn open(secret: &SecretKey, state: &str) -> Option<Self> {
        secret
            .open_claims::<Self>(STATE_PURPOSE, state)
            .ok()
            .filter(|login| login.expires > EpochMs::now())
    }
}

/// Login parameters as the platform sends them (query string or form).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct LoginRequest {
    pub iss: Option<String>,
    pub login_hint: Option<String>,
    pub target_link_uri: Option<String>,
    pub lti_message_hint: Option<String>,
    pub lti_deployment_id: Option<String>,
    pub client_id: Option<String>,
    pub lti_storage_target: Option<String>,
}

/// Where to send the browser next, and what to bind to it.
#[derive(Clone, Debug)]
pub struct AuthRequest {
    pub url: String,
    pub state: String,
    /// The platform-storage frame to put the state in, when the platform offers one.
    pub storage_target: Option<String>,
    /// The platform's origin, the only one storage messages go to.
    pub platform_origin: String,
}

/// Chooses the registration for a login: by (issuer, client_id), or by the registration
/// named in the login URL when the issuer has several and the platform sent no client_id.
pub async fn find_registration(
    store: &Store,
    issuer: &str,
    client_id: Option<&str>,
    named: Option<&str>,
) -> Result<Arc<Registration>, LaunchError> {
    let candidates = store.registrations(issuer.trim_end_matches('/')).await?;
    let mut matching = candidates
        .iter()
        .filter(|r| client_id.is_none_or(|c| r.platform.client_id == c))
        .filter(|r| named.is_none_or(|n| r.platform.name == n || r.platform.id.to_string() == n));
    match (matching.next(), matching.next()) {
        (Some(one), None) => Ok(one.clone()),
        (None, _) => Err(LaunchError::NotRegistered {
            issuer: issuer.to_string(),
            client_id: client_id.unwrap_or("(none sent)").to_string(),
        }),
        (Some(_), Some(_)) => Err(LaunchError::AmbiguousRegistration(issuer.to_string())),
    }
}

/// True when `uri` is one of this tool's URLs (same origin, under its base path).
pub fn is_our_url(config: &Config, uri: &str) -> bool {
    let Ok(target) = Url::parse(uri) else {
        return false;
    };
    let base = &config.public_url;
    target.origin() == base.origin() && target.path().starts_with(base.path())
}

pub async fn begin(
    store: &Store,
    config: &Config,
    secret: &SecretKey,
    request: &LoginRequest,
    named_registration: Option<&str>,
) -> Result<AuthRequest, LaunchError> {
    let issuer = request
        .iss
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(LaunchError::MissingParameter("iss"))?;
    let login_hint = request
        .login_hint
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(LaunchError::MissingParameter("login_hint"))?;
    let target = request
        .target_link_uri
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or(LaunchError::MissingParameter("target_link_uri"))?;
    let registration = find_registration(
        store,
        issuer,
        request.client_id.as_deref(),
        named_registration,
    )
    .await?;
    let platform = &registration.platform;
    if !is_our_url(config, target) {
        return Err(LaunchError::TargetNotOurs(target.to_string()));
    }

    let nonce = SecretKey::random_token();
    let storage_target = request.lti_storage_target.clone().filter(|t| !t.is_empty());
    let state = LoginState {
        nonce: nonce.clone(),
        platform_id: platform.id,
        storage_target: storage_target.clone(),
        expires: EpochMs::now().plus_secs(STATE_TTL_SECS),
    }
    .seal(secret);

    let mut url = Url::parse(&platform.auth_url)
        .map_err(|e| LaunchError::MalformedToken(format!("registered auth URL is invalid: {e}")))?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("scope", "openid")
            .append_pair("response_type", "id_token")
            .append_pair("response_mode", "form_post")
            .append_pair("prompt", "none")
            .append_pair("client_id", &platform.client_id)
            .append_pair("redirect_uri", &config.url("/lti/launch"))
            .append_pair("login_hint", login_hint)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce);
        if let Some(hint) = &request.lti_message_hint {
            query.append_pair("lti_message_hint", hint);
        }
    }
    let platform_origin = url.origin().ascii_serialization();
    Ok(AuthRequest {
        url: url.to_string(),
        state,
        storage_target,
        platform_origin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    fn secret() -> SecretKey {
        SecretKey::from_secret(SecretString::from("s".repeat(40)))
    }

    fn login(expires: EpochMs) -> LoginState {
        LoginState {
            nonce: "n-1".into(),
            platform_id: PlatformId(4),
            storage_target: Some("post_message_forwarding".into()),
            expires,
        }
    }

    #[test]
    fn a_sealed_state_opens_to_its_login_until_it_expires() {
        let fresh = login(EpochMs::now().plus_secs(60));
        assert_eq!(
            LoginState::open(&secret(), &fresh.seal(&secret())),
            Some(fresh)
        );
        let old = login(EpochMs::now().plus_secs(-1));
        assert_eq!(LoginState::open(&secret(), &old.seal(&secret())), None);
    }

    #[test]
    fn a_state_cloop_did_not_sign_opens_to_nothing() {
        let other = SecretKey::from_secret(SecretString::from("o".repeat(40)));
        let state = login(EpochMs::now().plus_secs(60)).seal(&other);
        assert_eq!(LoginState::open(&secret(), &state), None);
        assert_eq!(LoginState::open(&secret(), "made-up-state"), None);
    }
}
