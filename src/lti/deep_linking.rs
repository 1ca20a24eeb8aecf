//! LTI Deep Linking 2.0: staff choose which cloop view to place in the course, and cloop
//! answers the platform with a signed `LtiDeepLinkingResponse` carrying an
//! `ltiResourceLink` whose target names that view.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::lti::claims::LTI_VERSION;
use crate::lti::keys;
use crate::store::platforms::Platform;
use crate::store::{CourseId, EpochMs, PlatformId, Store, StoreResult};
use crate::{Config, SecretKey};

/// The views staff can place as a link in the course, by name and title.
pub const PLACEMENTS: [(&str, &str); 8] = [
    ("dashboard", "Course dashboard"),
    ("content", "Content access"),
    ("communication", "Communication access"),
    ("assessment", "Assessment access"),
    ("students", "Students"),
    ("comparison", "Event comparison"),
    ("events", "Course events"),
    ("settings", "Course settings"),
];

/// How long the placement page may wait before its answer is refused.
const REQUEST_TTL_SECS: i64 = 3600;
/// Lifetime of the response JWT.
const RESPONSE_TTL_SECS: i64 = 300;
const PURPOSE: &str = "deep-link-request";

/// What a deep-linking launch asked for, carried signed through the placement page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeepLinkRequest {
    pub platform: PlatformId,
    pub course: CourseId,
    pub deployment_id: String,
    pub return_url: String,
    /// Opaque platform data (any JSON), returned unaltered.
    pub data: Option<Value>,
    pub expires: EpochMs,
}

impl DeepLinkRequest {
    pub fn new(
        platform: PlatformId,
        course: CourseId,
        deployment_id: &str,
        return_url: &str,
        data: Option<Value>,
    ) -> Self {
        Self {
            platform,
            course,
            deployment_id: deployment_id.to_string(),
            return_url: return_url.to_string(),
            data,
            expires: EpochMs::now().plus_secs(REQUEST_TTL_SECS),
        }
    }

    pub fn seal(&self, secret: &SecretKey) -> String {
        secret.sign_claims(PURPOSE, self)
    }

    /// The request, if `sealed` was made by this instance and has not expired.
    pub fn open(secret: &SecretKey, sealed: &str) -> Option<Self> {
        let request: Self = secret.open_claims(PURPOSE, sealed).ok()?;
        (request.expires > EpochMs::now()).then_some(request)
    }
}

/// The launch URL that opens `view` (the dashboard when `view` is the default).
pub fn target_link(config: &Config, view: &str) -> String {
    if view == "dashboard" {
        config.url("/lti/launch")
    } else {
        config.url(&format!("/lti/launch?view={view}"))
    }
}

/// The view a launch's target link URI names, when it names one cloop has.
pub fn view_of(target_link_uri: &str) -> Option<&'static str> {
    let url = url::Url::parse(target_link_uri).ok()?;
    let (_, view) = url.query_pairs().find(|(k, _)| k == "view")?;
    PLACEMENTS
        .iter()
        .map(|(name, _)| *name)
        .find(|name| *name == view && *name != "dashboard")
}

/// The signed `LtiDeepLinkingResponse` placing `view`.
pub async fn response_jwt(
    store: &Store,
    config: &Config,
    platform: &Platform,
    request: &DeepLinkRequest,
    view: &str,
) -> StoreResult<String> {
    let title = PLACEMENTS
        .iter()
        .find(|(name, _)| *name == view)
        .map_or("cloop", |(_, title)| *title);
    let now = EpochMs::now().0 / 1000;
    let mut claims = json!({
        "iss": platform.client_id,
        "aud": platform.issuer,
        "iat": now,
        "exp": now + RESPONSE_TTL_SECS,
        "nonce": SecretKey::random_token(),
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": request.deployment_id,
        "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiDeepLinkingResponse",
        "https://purl.imsglobal.org/spec/lti/claim/version": LTI_VERSION,
        "https://purl.imsglobal.org/spec/lti-dl/claim/content_items": [{
            "type": "ltiResourceLink",
            "title": format!("cloop: {title}"),
            "url": target_link(config, view),
        }],
    });
    if let Some(data) = &request.data {
        claims["https://purl.imsglobal.org/spec/lti-dl/claim/data"] = data.clone();
    }
    let key = keys::signing_key(store).await?;
    jsonwebtoken::encode(&key.header(), &claims, &key.encoding_key).map_err(|e| {
        crate::store::StoreError::Conflict(format!("signing the deep-linking response failed: {e}"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn sealed_request_round_trips_and_resists_tampering() {
        let secret = SecretKey::from_secret(SecretString::from("s".repeat(40)));
        let request = DeepLinkRequest::new(
            PlatformId(1),
            CourseId(2),
            "dep",
            "https://lms/return",
            Some(json!({"opaque": [1, "two"], "nested": {"k": null}})),
        );
        let sealed = request.seal(&secret);
        assert_eq!(DeepLinkRequest::open(&secret, &sealed), Some(request));
        let other = SecretKey::from_secret(SecretString::from("t".repeat(40)));
        assert_eq!(DeepLinkRequest::open(&other, &sealed), None);
    }

    #[test]
    fn views_are_read_from_target_links() {
        assert_eq!(
            view_of("https://cloop.example.edu/lti/launch?view=students"),
            Some("students")
        );
        assert_eq!(
            view_of("https://cloop.example.edu/lti/launch?view=../admin"),
            None
        );
        assert_eq!(view_of("https://cloop.example.edu/lti/launch"), None);
    }
}
