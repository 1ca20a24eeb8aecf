//! LTI Dynamic Registration (Moodle, Canvas, D2L, Sakai): read the platform's OpenID
//! configuration with its registration token, register cloop's client metadata, and
//! store the registration and deployment the platform returns.

use serde::Deserialize;
use serde_json::Value;

use crate::lti::invite::Invite;
use crate::lti::registration::check_url;
use crate::lti::tool_config::registration_metadata;
use crate::outbound::{self, Guard, Refused as UrlRefused};
use crate::store::platforms::{NewPlatform, Platform};
use crate::store::{Store, StoreError};
use crate::{Config, SecretKey};

#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    #[error(
        "The registration request has no openid_configuration URL. Start the registration from the LMS."
    )]
    MissingConfiguration,
    #[error(
        "This registration URL is not valid or has expired. Copy a fresh one from cloop's admin page (/admin/platforms)."
    )]
    InvalidInvite,
    #[error(
        "This registration URL has already been used (or a registration with it is under way). Copy a fresh one from cloop's admin page (/admin/platforms)."
    )]
    InviteUsed,
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
    #[error("{0}")]
    Unsafe(#[from] UrlRefused),
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

/// Registers the platform that opened cloop's registration URL, using up the admin's
/// invite in it. A registration that fails before the platform registered cloop gives
/// the invite back, so it can be retried.
pub async fn register_with_invite(
    store: &Store,
    config: &Config,
    secret: &SecretKey,
    invite: Option<&str>,
    openid_configuration: Option<&str>,
    registration_token: Option<&str>,
) -> Result<Platform, RegistrationError> {
    let invite = invite
        .and_then(|i| Invite::parse(secret, i))
        .ok_or(RegistrationError::InvalidInvite)?;
    let configuration = openid_configuration
        .filter(|c| !c.is_empty())
        .ok_or(RegistrationError::MissingConfiguration)?;
    if !store.claim_invite(invite.hash(), invite.expires()).await? {
        return Err(RegistrationError::InviteUsed);
    }
    let registered = register(store, config, configuration, registration_token).await;
    if let Err(e) = &registered
        && !matches!(e, RegistrationError::Store(_))
    {
        store.release_invite(invite.hash()).await?;
    }
    registered
}

/// Runs the registration and returns the stored platform. Every URL in it comes from the
/// LMS, so each passes the outbound guard (`allow_private_urls`).
async fn register(
    store: &Store,
    config: &Config,
    openid_configuration: &str,
    registration_token: Option<&str>,
) -> Result<Platform, RegistrationError> {
    let guard = Guard::allowing_private(config.allow_private_urls);
    let config_url = check_url("openid_configuration", openid_configuration)
        .map_err(RegistrationError::BadUrl)?;
    let fetch_error = |reason: String| RegistrationError::Fetch {
        url: config_url.to_string(),
        reason,
    };
    let mut request = guard
        .client_for(&config_url)?
        .get(config_url.clone())
        .header("accept", "application/json");
    if let Some(token) = registration_token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| match outbound::refusal(&e) {
            Some(refused) => RegistrationError::Unsafe(refused),
            None => fetch_error(e.to_string()),
        })?;
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
    // Kept and fetched (keys, tokens) or framed (auth) later as the platform's own
    // endpoints, so they are checked now.
    for (what, url) in [
        ("authorization_endpoint", &platform.authorization_endpoint),
        ("token_endpoint", &platform.token_endpoint),
        ("jwks_uri", &platform.jwks_uri),
    ] {
        let url = check_url(what, url).map_err(RegistrationError::BadUrl)?;
        guard.check(&url).await?;
    }
    let registration_endpoint = check_url("registration_endpoint", &platform.registration_endpoint)
        .map_err(RegistrationError::BadUrl)?;

    let mut request = guard
        .client_for(&registration_endpoint)?
        .post(registration_endpoint)
        .header("accept", "application/json")
        .json(&registration_metadata(config));
    if let Some(token) = registration_token {
        request = request.bearer_auth(token);
    }
    let response = request
        .send()
        .await
        .map_err(|e| match outbound::refusal(&e) {
            Some(refused) => RegistrationError::Unsafe(refused),
            None => RegistrationError::Refused(e.to_string()),
        })?;
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
