//! The claims of an LTI 1.3 id_token that cloop reads; unknown claims are ignored.

use serde::Deserialize;

use super::lenient;

pub const MESSAGE_TYPE: &str = "https://purl.imsglobal.org/spec/lti/claim/message_type";
pub const RESOURCE_LINK_REQUEST: &str = "LtiResourceLinkRequest";
pub const DEEP_LINKING_REQUEST: &str = "LtiDeepLinkingRequest";
pub const LTI_VERSION: &str = "1.3.0";

/// The claims cloop reads. Security-bearing ones (`iss`, `aud`, `exp`, `nonce`) keep
/// their spec types (with the spec's variants: `aud` one or many, NumericDates with a
/// fraction); every other claim that has an unexpected shape is read as absent.
#[derive(Clone, Debug, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    #[serde(default, deserialize_with = "lenient::strings")]
    pub aud: Vec<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub azp: Option<String>,
    #[serde(deserialize_with = "lenient::seconds")]
    pub exp: i64,
    #[serde(default, deserialize_with = "lenient::optional_seconds")]
    pub iat: Option<i64>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub nonce: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub sub: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub given_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub family_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub email: Option<String>,
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/message_type",
        default,
        deserialize_with = "lenient::text"
    )]
    pub message_type: Option<String>,
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/version",
        default,
        deserialize_with = "lenient::text"
    )]
    pub version: Option<String>,
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/deployment_id",
        default,
        deserialize_with = "lenient::text"
    )]
    pub deployment_id: Option<String>,
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/target_link_uri",
        default,
        deserialize_with = "lenient::text"
    )]
    pub target_link_uri: Option<String>,
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/resource_link",
        default,
        deserialize_with = "lenient::object"
    )]
    pub resource_link: Option<ResourceLink>,
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/roles",
        default,
        deserialize_with = "lenient::strings"
    )]
    pub roles: Vec<String>,
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/context",
        default,
        deserialize_with = "lenient::object"
    )]
    pub context: Option<Context>,
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/tool_platform",
        default,
        deserialize_with = "lenient::object"
    )]
    pub tool_platform: Option<ToolPlatform>,
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti/claim/launch_presentation",
        default,
        deserialize_with = "lenient::object"
    )]
    pub launch_presentation: Option<LaunchPresentation>,
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice",
        default,
        deserialize_with = "lenient::object"
    )]
    pub names_roles: Option<NamesRoleService>,
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint",
        default,
        deserialize_with = "lenient::object"
    )]
    pub ags_endpoint: Option<AgsEndpoint>,
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-gs/claim/groupsservice",
        default,
        deserialize_with = "lenient::object"
    )]
    pub groups_service: Option<GroupsService>,
    #[serde(
        rename = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings",
        default,
        deserialize_with = "lenient::object"
    )]
    pub deep_linking_settings: Option<DeepLinkingSettings>,
    #[serde(
        rename = "https://blackboard.com/lti/claim/one_time_session_token",
        default,
        deserialize_with = "lenient::text"
    )]
    pub blackboard_one_time_session_token: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ResourceLink {
    #[serde(default, deserialize_with = "lenient::text")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub title: Option<String>,
}

/// The course; its `type` (an array of context type URIs) is not read.
#[derive(Clone, Debug, Deserialize)]
pub struct Context {
    #[serde(default, deserialize_with = "lenient::text")]
    pub id: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub label: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub title: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ToolPlatform {
    #[serde(default, deserialize_with = "lenient::text")]
    pub guid: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub product_family_code: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub url: Option<String>,
}

/// Where the platform shows the tool; `width`, `height` and `locale` are not read.
#[derive(Clone, Debug, Deserialize)]
pub struct LaunchPresentation {
    #[serde(default, deserialize_with = "lenient::text")]
    pub return_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::text")]
    pub document_target: Option<String>,
}

/// `accept_multiple` and `auto_create` (booleans, or strings on some platforms) are not
/// read.
#[derive(Clone, Debug, Deserialize)]
pub struct DeepLinkingSettings {
    #[serde(default, deserialize_with = "lenient::text")]
    pub deep_link_return_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::strings")]
    pub accept_types: Vec<String>,
    /// Opaque to the tool, whatever JSON it is (a string by the spec, an object on some
    /// platforms); returned unaltered in the response.
    #[serde(default, deserialize_with = "lenient::any")]
    pub data: Option<serde_json::Value>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct NamesRoleService {
    #[serde(default, deserialize_with = "lenient::text")]
    pub context_memberships_url: Option<String>,
}

/// The LTI Course Groups service: where the course's groups are listed, and the scopes
/// the platform grants on it.
#[derive(Clone, Debug, Deserialize)]
pub struct GroupsService {
    #[serde(default, deserialize_with = "lenient::text")]
    pub context_groups_url: Option<String>,
    #[serde(default, deserialize_with = "lenient::strings")]
    pub scope: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct AgsEndpoint {
    #[serde(default, deserialize_with = "lenient::text")]
    pub lineitems: Option<String>,
    #[serde(default, deserialize_with = "lenient::strings")]
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const LTI: &str = "https://purl.imsglobal.org/spec/lti/claim/";

    fn claims(extra: Value) -> IdTokenClaims {
        let mut token = json!({"iss": "https://lms", "aud": "tool", "exp": 2_000_000_000});
        for (k, v) in extra.as_object().unwrap() {
            token[k] = v.clone();
        }
        serde_json::from_value(token).unwrap()
    }

    #[test]
    fn aud_is_one_string_or_an_array() {
        assert_eq!(claims(json!({})).aud, ["tool"]);
        assert_eq!(
            claims(json!({"aud": ["tool", "other"]})).aud,
            ["tool", "other"]
        );
    }

    #[test]
    fn numeric_dates_may_carry_a_fraction() {
        let c = claims(json!({"exp": 2_000_000_000.75, "iat": 1_999_999_000.5}));
        assert_eq!((c.exp, c.iat), (2_000_000_000, Some(1_999_999_000)));
        assert!(serde_json::from_value::<IdTokenClaims>(json!({"iss": "i", "aud": "a"})).is_err());
    }

    #[test]
    fn roles_may_be_empty_null_or_a_single_string() {
        assert!(claims(json!({format!("{LTI}roles"): []})).roles.is_empty());
        assert!(
            claims(json!({format!("{LTI}roles"): null}))
                .roles
                .is_empty()
        );
        let one = claims(json!({format!("{LTI}roles"): "Instructor"}));
        assert_eq!(one.roles, ["Instructor"]);
    }

    #[test]
    fn custom_and_lis_claims_of_any_shape_are_ignored() {
        let c = claims(json!({
            format!("{LTI}custom"): {"n": 3, "flag": true, "list": [1, 2], "o": {"a": null}},
            format!("{LTI}lis"): {"person_sourcedid": 42, "course_section_sourcedid": null},
        }));
        assert_eq!(c.iss, "https://lms");
    }

    #[test]
    fn context_type_is_an_array_and_ids_may_be_numbers() {
        let c = claims(json!({format!("{LTI}context"): {
            "id": 1234, "label": null, "title": "Biology",
            "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]
        }}));
        let context = c.context.unwrap();
        assert_eq!(context.id.as_deref(), Some("1234"));
        assert_eq!(context.label, None);
        let numeric_deployment = claims(json!({format!("{LTI}deployment_id"): 7}));
        assert_eq!(numeric_deployment.deployment_id.as_deref(), Some("7"));
    }

    #[test]
    fn launch_presentation_with_sizes_and_locale_reads() {
        let c = claims(json!({format!("{LTI}launch_presentation"): {
            "document_target": "iframe", "width": 320, "height": 240.5,
            "return_url": "https://lms/back", "locale": "en-AU"
        }}));
        let lp = c.launch_presentation.unwrap();
        assert_eq!(lp.return_url.as_deref(), Some("https://lms/back"));
        let odd = claims(json!({format!("{LTI}launch_presentation"): "iframe"}));
        assert!(odd.launch_presentation.is_none());
    }

    #[test]
    fn names_and_emails_may_be_absent_or_null() {
        let c = claims(json!({"name": null, "email": null, "given_name": "Ada"}));
        assert_eq!((c.name, c.email, c.family_name), (None, None, None));
        assert_eq!(c.given_name.as_deref(), Some("Ada"));
    }

    #[test]
    fn text_claims_lose_nul_characters_the_database_cannot_store() {
        let c = claims(
            json!({"name": "Ada\u{0} Lovelace", format!("{LTI}roles"): ["Instr\u{0}uctor"]}),
        );
        assert_eq!(c.name.as_deref(), Some("Ada Lovelace"));
        assert_eq!(c.roles, ["Instructor"]);
    }

    #[test]
    fn deep_linking_data_of_any_json_and_accept_types_as_one_string() {
        let dl = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings";
        let data = json!({"placement": {"id": 9}, "list": [1, "two"]});
        let c = claims(json!({dl: {
            "deep_link_return_url": "https://lms/dl", "accept_types": "ltiResourceLink",
            "accept_multiple": "true", "data": data
        }}));
        let settings = c.deep_linking_settings.unwrap();
        assert_eq!(settings.accept_types, ["ltiResourceLink"]);
        assert_eq!(settings.data, Some(data));
        let plain = claims(json!({dl: {"data": "opaque", "accept_types": ["ltiResourceLink"]}}));
        assert_eq!(
            plain.deep_linking_settings.unwrap().data,
            Some(json!("opaque"))
        );
    }

    #[test]
    fn service_claims_read_with_extra_fields() {
        let c = claims(json!({
            "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint": {
                "scope": "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
                "lineitems": "https://lms/li", "lineitem": "https://lms/li/1"
            },
            "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
                "context_memberships_url": "https://lms/m", "service_versions": ["2.0"]
            },
            "https://purl.imsglobal.org/spec/lti-gs/claim/groupsservice": {
                "scope": ["https://purl.imsglobal.org/spec/lti-gs/scope/contextgroup.readonly"],
                "context_groups_url": "https://lms/g", "service_versions": ["1.0"]
            }
        }));
        assert_eq!(c.ags_endpoint.unwrap().scope.len(), 1);
        assert!(c.names_roles.unwrap().context_memberships_url.is_some());
        let groups = c.groups_service.unwrap();
        assert_eq!(groups.context_groups_url.as_deref(), Some("https://lms/g"));
        assert_eq!(groups.scope, [crate::lti::services::token::SCOPE_GROUPS]);
    }
}
