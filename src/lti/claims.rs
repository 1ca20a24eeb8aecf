//! The claims of an LTI 1.3 id_token that cloop reads; unknown claims are ignored.

use serde::{Deserialize, Deserializer};

pub const MESSAGE_TYPE: &str = "https://purl.imsglobal.org/spec/lti/claim/message_type";
pub const RESOURCE_LINK_REQUEST: &str = "LtiResourceLinkRequest";
pub const DEEP_LINKING_REQUEST: &str = "LtiDeepLinkingRequest";
pub const LTI_VERSION: &str = "1.3.0";

#[derive(Clone, Debug, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    pub azp: Option<String>,
    pub exp: i64,
    pub iat: Option<i64>,
    pub nonce: Option<String>,
    pub sub: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub family_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/message_type")]
    pub message_type: Option<String>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/version")]
    pub version: Option<String>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/deployment_id")]
    pub deployment_id: Option<String>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri")]
    pub target_link_uri: Option<String>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/resource_link")]
    pub resource_link: Option<ResourceLink>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/roles", default)]
    pub roles: Vec<String>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/context")]
    pub context: Option<Context>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/tool_platform")]
    pub tool_platform: Option<ToolPlatform>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation")]
    pub launch_presentation: Option<LaunchPresentation>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice")]
    pub names_roles: Option<NamesRoleService>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint")]
    pub ags_endpoint: Option<AgsEndpoint>,
    #[serde(rename = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings")]
    pub deep_linking_settings: Option<DeepLinkingSettings>,
    #[serde(rename = "https://blackboard.com/lti/claim/one_time_session_token")]
    pub blackboard_one_time_session_token: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ResourceLink {
    pub id: Option<String>,
    pub title: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Context {
    pub id: Option<String>,
    pub label: Option<String>,
    pub title: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ToolPlatform {
    pub guid: Option<String>,
    pub name: Option<String>,
    pub product_family_code: Option<String>,
    pub url: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct LaunchPresentation {
    pub return_url: Option<String>,
    pub document_target: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct DeepLinkingSettings {
    pub deep_link_return_url: Option<String>,
    #[serde(default)]
    pub accept_types: Vec<String>,
    /// Opaque to the tool; returned unaltered in the response.
    pub data: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct NamesRoleService {
    pub context_memberships_url: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AgsEndpoint {
    pub lineitems: Option<String>,
    #[serde(default)]
    pub scope: Vec<String>,
}

impl IdTokenClaims {
    pub fn is_blackboard(&self) -> bool {
        self.tool_platform
            .as_ref()
            .and_then(|p| p.product_family_code.as_deref())
            .is_some_and(|c| c.eq_ignore_ascii_case("BlackboardLearn"))
    }
}

/// `aud` is a string or an array of strings.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(one) => vec![one],
        OneOrMany::Many(many) => many,
    })
}
