//! id_token validation: every check of the LTI 1.3 security framework in order of
//! cheapness, reading nothing but cached registrations and keys, writing nothing.

use std::sync::Arc;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use crate::Config;
use crate::SecretKey;
use crate::lti::claims::{DEEP_LINKING_REQUEST, IdTokenClaims, LTI_VERSION, RESOURCE_LINK_REQUEST};
use crate::lti::error::LaunchError;
use crate::lti::lenient;
use crate::lti::login::{LoginState, find_registration, is_our_url};
use crate::lti::platform_keys::PlatformKeys;
use crate::lti::roles::{Role, is_course_staff, parse_roles};
use crate::store::registry::Registration;
use crate::store::{DeploymentId, EpochMs, Store};

/// Clock skew tolerated on `exp` and `iat`, in seconds.
pub const LEEWAY_SECS: i64 = 60;

/// A launch that passed every check.
#[derive(Clone, Debug)]
pub struct ValidLaunch {
    pub registration: Arc<Registration>,
    /// The registered deployment the launch came through.
    pub deployment: DeploymentId,
    pub claims: IdTokenClaims,
    pub roles: Vec<Role>,
    pub staff: bool,
}

/// The launch's evidence that it answers a login started in this browser.
pub struct StateProof<'a> {
    pub state: Option<&'a str>,
    /// The browser sent back the state cookie the login set.
    pub cookie: bool,
    /// The state cloop's own bridge page read back from platform storage (the caller
    /// passes it only for a same-origin post).
    pub platform_storage: Option<&'a str>,
}

impl StateProof<'_> {
    /// Platform storage proves the binding only for a login that put its state there:
    /// otherwise `platform_state` is just a second copy of `state` from the same form.
    fn binds(&self, login: &LoginState) -> bool {
        self.cookie || (login.storage_target.is_some() && self.platform_storage == self.state)
    }
}

/// The claims that pick the registration, read before the signature is checked.
#[derive(Deserialize)]
struct Addressed {
    iss: String,
    #[serde(default, deserialize_with = "lenient::strings")]
    aud: Vec<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    azp: Option<String>,
}

fn peek_claims(token: &str) -> Result<Addressed, LaunchError> {
    jsonwebtoken::dangerous::insecure_decode::<Addressed>(token)
        .map(|data| data.claims)
        .map_err(|e| LaunchError::MalformedToken(e.to_string()))
}

pub async fn validate(
    store: &Store,
    config: &Config,
    secret: &SecretKey,
    keys: &PlatformKeys,
    id_token: &str,
    proof: StateProof<'_>,
) -> Result<ValidLaunch, LaunchError> {
    // 1. Algorithm: asymmetric RSA only; `none` and HMAC never. The header's own text
    //    names an algorithm the JWT library does not know (`none`).
    let header = match jsonwebtoken::decode_header(id_token) {
        Ok(header)
            if matches!(
                header.alg,
                Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512
            ) =>
        {
            header
        }
        Ok(header) => return Err(LaunchError::ForbiddenAlgorithm(format!("{:?}", header.alg))),
        Err(e) => {
            let alg = algorithm_name(id_token);
            return Err(if matches!(alg.as_str(), "RS256" | "RS384" | "RS512") {
                LaunchError::MalformedToken(e.to_string())
            } else {
                LaunchError::ForbiddenAlgorithm(alg)
            });
        }
    };

    // 2. The registration, from the unverified iss and aud/azp (verified below).
    let unverified = peek_claims(id_token)?;
    let client_id = match (&unverified.azp, unverified.aud.as_slice()) {
        (Some(azp), _) => azp.clone(),
        (None, [one]) => one.clone(),
        (None, []) => return Err(LaunchError::MalformedToken("no audience".into())),
        (None, _) => return Err(LaunchError::MissingAzp),
    };
    let registration = match find_registration(store, &unverified.iss, Some(&client_id), None).await
    {
        Err(LaunchError::NotRegistered { .. }) if unverified.azp.is_some() => {
            // azp names a client that is not registered; if the token is addressed to a
            // registered one, say the azp is wrong rather than "not registered".
            for aud in &unverified.aud {
                if let Ok(r) = find_registration(store, &unverified.iss, Some(aud), None).await {
                    return Err(LaunchError::WrongAzp {
                        azp: client_id,
                        client_id: r.platform.client_id.clone(),
                    });
                }
            }
            return Err(LaunchError::NotRegistered {
                issuer: unverified.iss,
                client_id,
            });
        }
        other => other?,
    };
    let platform = &registration.platform;

    // 3. Signature with the platform's key by kid, plus iss, aud and exp.
    let platform_key = keys.key(platform, header.kid.as_deref()).await?;
    if let Some(alg) = platform_key.jwk.common.key_algorithm
        && format!("{alg:?}") != format!("{:?}", header.alg)
    {
        return Err(LaunchError::ForbiddenAlgorithm(format!(
            "{:?} with a {alg:?} key",
            header.alg
        )));
    }
    let mut validation = Validation::new(header.alg);
    validation.leeway = LEEWAY_SECS as u64;
    validation.set_issuer(&[&platform.issuer]);
    validation.set_audience(&[&platform.client_id]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    let claims = jsonwebtoken::decode::<IdTokenClaims>(id_token, &platform_key.key, &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature => LaunchError::BadSignature,
            ErrorKind::ExpiredSignature => LaunchError::Expired,
            ErrorKind::InvalidIssuer => LaunchError::WrongIssuer(platform.issuer.clone()),
            ErrorKind::InvalidAudience => LaunchError::WrongAudience(platform.client_id.clone()),
            ErrorKind::InvalidAlgorithm => {
                LaunchError::ForbiddenAlgorithm(format!("{:?}", header.alg))
            }
            _ => LaunchError::MalformedToken(e.to_string()),
        })?
        .claims;
    if claims.aud.len() > 1 && claims.azp.is_none() {
        return Err(LaunchError::MissingAzp);
    }
    if let Some(azp) = &claims.azp
        && azp != &platform.client_id
    {
        return Err(LaunchError::WrongAzp {
            azp: azp.clone(),
            client_id: platform.client_id.clone(),
        });
    }

    // 4. Issued-at not in the future beyond the leeway.
    let now_secs = EpochMs::now().0 / 1000;
    if let Some(iat) = claims.iat
        && iat > now_secs + LEEWAY_SECS
    {
        return Err(LaunchError::IssuedInFuture(iat - now_secs));
    }

    // 5. State: sent, signed by cloop for this platform, and bound to this browser —
    //    checked before the nonce is spent, so a refused launch writes nothing.
    let state = proof
        .state
        .filter(|s| !s.is_empty())
        .ok_or(LaunchError::MissingState)?;
    let login = LoginState::open(secret, state).ok_or(LaunchError::UnknownState)?;
    if login.platform_id != platform.id {
        return Err(LaunchError::UnknownState);
    }
    if !proof.binds(&login) {
        return Err(LaunchError::StateNotBound);
    }

    // 6. Nonce: present and the login's. That it is used once is checked where it is
    //    recorded as used: the insert in the launch's write transaction (`record`).
    let nonce = claims
        .nonce
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or(LaunchError::MissingNonce)?;
    if login.nonce != nonce {
        // Spent all the same, and a replay is named as one.
        let keep_until = EpochMs((claims.exp + LEEWAY_SECS) * 1000);
        if !store.use_nonce(platform.id, nonce, keep_until).await? {
            return Err(LaunchError::ReplayedNonce);
        }
        return Err(LaunchError::NonceMismatch);
    }

    // 7. The LTI claims.
    let version = claims.version.clone().unwrap_or_default();
    if version != LTI_VERSION {
        return Err(LaunchError::WrongVersion(version));
    }
    match claims.message_type.as_deref() {
        Some(RESOURCE_LINK_REQUEST) => {}
        Some(DEEP_LINKING_REQUEST) => {}
        other => {
            return Err(LaunchError::UnknownMessageType(
                other.unwrap_or("(none)").to_string(),
            ));
        }
    }
    let deployment_id = claims
        .deployment_id
        .as_deref()
        .ok_or(LaunchError::MissingParameter("deployment_id claim"))?;
    let deployment = match registration.deployment(deployment_id) {
        Some(found) => found,
        // Perhaps added by another process since the registration was cached.
        None => store
            .reload_registrations(&platform.issuer)
            .await?
            .iter()
            .find(|r| r.platform.id == platform.id)
            .and_then(|r| r.deployment(deployment_id))
            .ok_or_else(|| LaunchError::UnregisteredDeployment {
                platform: platform.name.clone(),
                deployment_id: deployment_id.to_string(),
            })?,
    };
    let target = claims
        .target_link_uri
        .as_deref()
        .ok_or(LaunchError::MissingParameter("target_link_uri claim"))?;
    if !is_our_url(config, target) {
        return Err(LaunchError::TargetNotOurs(target.to_string()));
    }
    if claims.message_type.as_deref() == Some(RESOURCE_LINK_REQUEST)
        && claims
            .resource_link
            .as_ref()
            .and_then(|r| r.id.as_deref())
            .is_none_or(str::is_empty)
    {
        return Err(LaunchError::MissingResourceLink);
    }
    if claims.message_type.as_deref() == Some(DEEP_LINKING_REQUEST) {
        let settings = claims.deep_linking_settings.as_ref();
        if settings
            .and_then(|s| s.deep_link_return_url.as_deref())
            .is_none_or(str::is_empty)
        {
            return Err(LaunchError::MissingParameter(
                "deep_linking_settings.deep_link_return_url",
            ));
        }
        if settings.is_some_and(|s| {
            !s.accept_types.is_empty() && !s.accept_types.iter().any(|t| t == "ltiResourceLink")
        }) {
            return Err(LaunchError::DeepLinkingUnacceptable);
        }
    }

    let roles = parse_roles(&claims.roles);
    let staff = is_course_staff(&roles);
    if claims.message_type.as_deref() == Some(DEEP_LINKING_REQUEST) && !staff {
        return Err(LaunchError::DeepLinkingNeedsStaff);
    }
    Ok(ValidLaunch {
        registration,
        deployment,
        claims,
        roles,
        staff,
    })
}

/// The `alg` text of a token whose algorithm the JWT library does not know (e.g. `none`).
fn algorithm_name(token: &str) -> String {
    use base64::Engine;
    token
        .split('.')
        .next()
        .and_then(|h| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(h)
                .ok()
        })
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
        .and_then(|h| h.get("alg").and_then(|a| a.as_str()).map(str::to_string))
        .unwrap_or_else(|| "an unknown algorithm".into())
}
