//! LTI Dynamic Registration (Moodle, Canvas, D2L, Sakai): read the platform's OpenID
//! configuration with its registration token, register cloop's client metadata, and
//! store the registration and deployment the platform returns.

use serde::Deserialize;
use serde_json::Value;

use crate::Config;
use crate::lti::registration::check_url;
use crate::lti::tool_config::registration_metadata;
use crate::store::platforms::{NewPlatform, Platform};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error(
        "The registration request has no openid_configuration URL. Start the registration from the LMS."
    )]
    MissingConfiguration,
    #[error("The platform's configuration URL is not acceptable: {0}")]
    BadUrl(String),
    #[error("cloop could not read the platform's configuration at {url}: {reason}")]
    Fetch { url: String, reason: String },
    #[error(
        "The platform's issuer {issuer} is not a prefix of its configuration URL {url}; the registration was refused."
    )]
    IssuerMismatch { issuer: String, url: String },
    #[error("The platform refused cloop's registration: {0}")]
    Refused(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The parts of the platform's OpenID configuration cloop needs.
#[derive(Debug, Deserialize)]
struct PlatformConfiguration {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    registration_endpoint: String,
    authorization_server: Option<String>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti-platform-configuration")]
    lti: Option<LtiPlatformConfiguration>,
}

#[derive(Debug, Deserialize)]
struct LtiPlatformConfiguration {
    product_family_code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ClientRegistration {
    client_id: String,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti-tool-configuration")]
    tool_configuration: Option<ToolConfiguration>,
}

#[derive(Debug, Deserialize)]
struct ToolConfiguration {
    deployment_id: Option<String>,
}

fn product(family: Option<&str>) -> &'static str {
    match family.map(str::to_ascii_lowercase).as_deref() {
        Some("moodle") => "moodle",
        Some("canvas") => "canvas",
        Some("desire2learn" | "d2l" | "brightspace") => "d2l",
        Some("sakai") => "sakai",
        Some("blackboardlearn") => "blackboard",
        _ => "other",
    }
}

/// Runs the registration and returns the stored platform.
pub async fn register(
    http: &reqwest::Client,
    store: &Store,
    config: &Config,
    openid_configuration: &str,
    registration_token: Option<&str>,
) -> Result<Platform, RegistrationError> {
    let config_url = check_url("openid_configuration", openid_configuration)
        .map_err(RegistrationError::BadUrl)?;
    let fetch_error = |reason: String| RegistrationError::Fetch {
        url: config_url.to_string(),
        reason,
    };
    let mut request = http
        .get(config_url.clone())
        .header("accept", "application/json");
    if let Some(token) = registration_token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| fetch_error(e.to_string()))?;
    if !response.status().is_success() {
        return Err(fetch_error(format!("HTTP {}", response.status())));
    }
    let platform: PlatformConfiguration = response
        .json()
        .await
        .map_err(|e| fetch_error(format!("not an LTI platform configuration: {e}")))?;
    if !config_url
        .as_str()
        .starts_with(platform.issuer.trim_end_matches('/'))
    {
        return Err(RegistrationError::IssuerMismatch {
            issuer: platform.issuer,
            url: config_url.to_string(),
        });
    }
    for (what, url) in [
        ("authorization_endpoint", &platform.authorization_endpoint),
        ("token_endpoint", &platform.token_endpoint),
        ("jwks_uri", &platform.jwks_uri),
        ("registration_endpoint", &platform.registration_endpoint),
    ] {
        check_url(what, url).map_err(RegistrationError::BadUrl)?;
    }

    let mut request = http
        .post(&platform.registration_endpoint)
        .header("accept", "application/json")
        .json(&registration_metadata(config));
    if let Some(token) = registration_token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| RegistrationError::Refused(e.to_string()))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let reason = body
            .get("error_description")
            .or_else(|| body.get("error"))
            .and_then(Value::as_str)
            .map_or_else(
                || format!("HTTP {status}"),
                |r| format!("HTTP {status}: {r}"),
            );
        return Err(RegistrationError::Refused(reason));
    }
    let registered: ClientRegistration = serde_json::from_value(body)
        .map_err(|e| RegistrationError::Refused(format!("its answer has no client_id: {e}")))?;

    let product = product(
        platform
            .lti
            .as_ref()
            .and_then(|l| l.product_family_code.as_deref()),
    );
    let host = url::Url::parse(&platform.issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| "platform".into());
    let new = NewPlatform {
        name: format!("{product}-{host}-{}", registered.client_id),
        product: product.to_string(),
        issuer: platform.issuer.trim_end_matches('/').to_string(),
        client_id: registered.client_id,
        auth_url: platform.authorization_endpoint,
        jwks_url: platform.jwks_uri,
        token_url: platform.token_endpoint,
        token_audience: platform.authorization_server,
    };
    let stored = store.create_platform(&new).await?;
    if let Some(deployment) = registered.tool_configuration.and_then(|t| t.deployment_id) {
        store.add_deployment(stored.id, &deployment).await?;
    }
    tracing::info!(platform = %stored.name, issuer = %stored.issuer, "registered through LTI dynamic registration");
    Ok(stored)
}

/// How long a registration URL handed out on the admin page stays usable.
pub const INVITE_SECS: i64 = 7 * 24 * 3600;
const INVITE_PURPOSE: &str = "registration-invite";

/// A registration invitation: its expiry, signed. Only an admin can hand one out, so a
/// stranger cannot register a platform of their own making.
pub fn invite(secret: &crate::SecretKey, expires: crate::store::EpochMs) -> String {
    use base64::Engine;
    let tag = secret.sign(INVITE_PURPOSE, expires.0.to_string().as_bytes());
    format!(
        "{}.{}",
        expires.0,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag)
    )
}

/// True for an unexpired invitation this instance signed.
pub fn invite_is_valid(secret: &crate::SecretKey, invite: &str) -> bool {
    use base64::Engine;
    let Some((expires, tag)) = invite.split_once('.') else {
        return false;
    };
    let (Ok(expires_ms), Ok(tag)) = (
        expires.parse::<i64>(),
        base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(tag),
    ) else {
        return false;
    };
    expires_ms > crate::store::EpochMs::now().0
        && secret.verify(INVITE_PURPOSE, expires.as_bytes(), &tag)
}
