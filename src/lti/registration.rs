//! Platform registration as an LMS admin describes it: explicit URLs, or a preset that
//! knows each LMS's fixed endpoints (Blackboard's Developer Portal, Canvas cloud, Moodle, D2L).

use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::store::platforms::NewPlatform;

/// The LMS families whose endpoints cloop knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    Blackboard,
    Canvas,
    Moodle,
    D2l,
}

impl Preset {
    pub fn product(self) -> &'static str {
        match self {
            Self::Blackboard => "blackboard",
            Self::Canvas => "canvas",
            Self::Moodle => "moodle",
            Self::D2l => "d2l",
        }
    }
}

impl FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "blackboard" | "learn" => Ok(Self::Blackboard),
            "canvas" => Ok(Self::Canvas),
            "moodle" => Ok(Self::Moodle),
            "d2l" | "brightspace" => Ok(Self::D2l),
            other => Err(format!(
                "unknown preset {other:?}; use blackboard, canvas, moodle or d2l"
            )),
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.product())
    }
}

/// What the admin gave; a preset fills whatever was left out. Also the arguments of
/// `cloop platform add`.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct RegistrationRequest {
    /// A short name for this registration, used by the other commands.
    #[arg(long)]
    pub name: String,
    /// Fill the LMS's fixed URLs: blackboard (Developer Portal; --client-id is the
    /// Application ID), canvas (Instructure cloud), moodle and d2l (from --base-url).
    #[arg(long)]
    pub preset: Option<Preset>,
    /// The LMS's address (Moodle, D2L presets), e.g. https://moodle.example.edu.
    #[arg(long)]
    pub base_url: Option<String>,
    /// The platform's issuer (`iss` of its id_tokens).
    #[arg(long)]
    pub issuer: Option<String>,
    /// The client id the LMS assigned to cloop.
    #[arg(long)]
    pub client_id: String,
    /// The platform's OIDC authorisation endpoint.
    #[arg(long)]
    pub auth_url: Option<String>,
    /// The platform's public key set.
    #[arg(long)]
    pub jwks_url: Option<String>,
    /// The platform's OAuth 2 token endpoint (LTI Advantage services).
    #[arg(long)]
    pub token_url: Option<String>,
}

pub const BLACKBOARD_ISSUER: &str = "https://blackboard.com";
const BLACKBOARD_AUTH: &str = "https://developer.blackboard.com/api/v1/gateway/oidcauth";
const BLACKBOARD_TOKEN: &str = "https://developer.blackboard.com/api/v1/gateway/oauth2/jwttoken";
const CANVAS_ISSUER: &str = "https://canvas.instructure.com";
const CANVAS_AUTH: &str = "https://sso.canvaslms.com/api/lti/authorize_redirect";
const CANVAS_JWKS: &str = "https://sso.canvaslms.com/api/lti/security/jwks";
const CANVAS_TOKEN: &str = "https://sso.canvaslms.com/login/oauth2/token";
const D2L_TOKEN: &str = "https://auth.brightspace.com/core/connect/token";
const D2L_TOKEN_AUDIENCE: &str = "https://api.brightspace.com/auth/token";

impl RegistrationRequest {
    /// Resolves the preset and checks every URL, naming the first thing that is wrong.
    pub fn resolve(&self) -> Result<NewPlatform, String> {
        let name = self.name.trim();
        if name.is_empty() {
            return Err("--name is required: a short name for this LMS, e.g. \"uni-learn\"".into());
        }
        let client_id = self.client_id.trim();
        if client_id.is_empty() {
            return Err("--client-id is required (Blackboard: the Application ID from the Developer Portal)".into());
        }
        let base = match &self.base_url {
            Some(b) => Some(
                check_url("--base-url", b)?
                    .as_str()
                    .trim_end_matches('/')
                    .to_string(),
            ),
            None => None,
        };
        let need_base = |preset: Preset| {
            base.clone().ok_or_else(|| format!("--preset {preset} needs --base-url, the LMS's address, e.g. https://lms.example.edu"))
        };
        let (issuer, auth, jwks, token, audience) = match self.preset {
            Some(Preset::Blackboard) => (
                BLACKBOARD_ISSUER.to_string(),
                BLACKBOARD_AUTH.to_string(),
                format!(
                    "https://developer.blackboard.com/api/v1/management/applications/{client_id}/jwks.json"
                ),
                BLACKBOARD_TOKEN.to_string(),
                None,
            ),
            Some(Preset::Canvas) => (
                CANVAS_ISSUER.to_string(),
                CANVAS_AUTH.to_string(),
                CANVAS_JWKS.to_string(),
                CANVAS_TOKEN.to_string(),
                None,
            ),
            Some(Preset::Moodle) => {
                let base = need_base(Preset::Moodle)?;
                (
                    base.clone(),
                    format!("{base}/mod/lti/auth.php"),
                    format!("{base}/mod/lti/certs.php"),
                    format!("{base}/mod/lti/token.php"),
                    None,
                )
            }
            Some(Preset::D2l) => {
                let base = need_base(Preset::D2l)?;
                (
                    base.clone(),
                    format!("{base}/d2l/lti/authenticate"),
                    format!("{base}/d2l/.well-known/jwks"),
                    D2L_TOKEN.to_string(),
                    Some(D2L_TOKEN_AUDIENCE.to_string()),
                )
            }
            None => {
                let missing = |flag: &str| format!("{flag} is required unless --preset fills it");
                (
                    self.issuer.clone().ok_or_else(|| missing("--issuer"))?,
                    self.auth_url.clone().ok_or_else(|| missing("--auth-url"))?,
                    self.jwks_url.clone().ok_or_else(|| missing("--jwks-url"))?,
                    self.token_url
                        .clone()
                        .ok_or_else(|| missing("--token-url"))?,
                    None,
                )
            }
        };
        // Explicit flags override what a preset filled (e.g. Canvas beta's issuer).
        let issuer = self.issuer.clone().unwrap_or(issuer);
        let auth = self.auth_url.clone().unwrap_or(auth);
        let jwks = self.jwks_url.clone().unwrap_or(jwks);
        let token = self.token_url.clone().unwrap_or(token);
        check_url("--issuer", &issuer)?;
        Ok(NewPlatform {
            name: name.to_string(),
            product: self.preset.map_or("other", Preset::product).to_string(),
            issuer: issuer.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            auth_url: check_url("--auth-url", &auth)?.to_string(),
            jwks_url: check_url("--jwks-url", &jwks)?.to_string(),
            token_url: check_url("--token-url", &token)?.to_string(),
            token_audience: audience,
        })
    }
}

/// An http(s) URL with a host; plain http only for loopback hosts (local testing).
pub fn check_url(flag: &str, text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("{flag} {text:?} is not a URL: {e}"))?;
    let local = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url.scheme() {
        "https" => Ok(url),
        "http" if local => Ok(url),
        _ => Err(format!("{flag} {text:?} must be an https:// URL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(preset: Option<Preset>) -> RegistrationRequest {
        RegistrationRequest {
            name: "uni".into(),
            preset,
            client_id: "app-123".into(),
            ..Default::default()
        }
    }

    #[test]
    fn blackboard_preset_fills_developer_portal_urls() {
        let platform = request(Some(Preset::Blackboard)).resolve().unwrap();
        assert_eq!(platform.issuer, "https://blackboard.com");
        assert_eq!(
            platform.auth_url,
            "https://developer.blackboard.com/api/v1/gateway/oidcauth"
        );
        assert_eq!(
            platform.jwks_url,
            "https://developer.blackboard.com/api/v1/management/applications/app-123/jwks.json"
        );
        assert_eq!(platform.product, "blackboard");
    }

    #[test]
    fn moodle_preset_derives_from_base_url() {
        let mut req = request(Some(Preset::Moodle));
        assert!(req.resolve().unwrap_err().contains("--base-url"));
        req.base_url = Some("https://moodle.example.edu/".into());
        let platform = req.resolve().unwrap();
        assert_eq!(platform.issuer, "https://moodle.example.edu");
        assert_eq!(
            platform.token_url,
            "https://moodle.example.edu/mod/lti/token.php"
        );
        assert_eq!(
            platform.jwks_url,
            "https://moodle.example.edu/mod/lti/certs.php"
        );
    }

    #[test]
    fn d2l_preset_uses_the_global_token_audience() {
        let mut req = request(Some(Preset::D2l));
        req.base_url = Some("https://school.brightspace.com".into());
        let platform = req.resolve().unwrap();
        assert_eq!(
            platform.token_url,
            "https://auth.brightspace.com/core/connect/token"
        );
        assert_eq!(
            platform.token_audience.as_deref(),
            Some("https://api.brightspace.com/auth/token")
        );
    }

    #[test]
    fn explicit_registration_needs_every_url_and_https() {
        let mut req = request(None);
        assert!(req.resolve().unwrap_err().contains("--issuer"));
        req.issuer = Some("https://lms.example.edu".into());
        req.auth_url = Some("http://lms.example.edu/auth".into());
        req.jwks_url = Some("https://lms.example.edu/jwks".into());
        req.token_url = Some("https://lms.example.edu/token".into());
        assert!(req.resolve().unwrap_err().contains("https"));
        req.auth_url = Some("http://127.0.0.1:9000/auth".into());
        assert_eq!(req.resolve().unwrap().product, "other");
    }
}
