//! What cloop tells an LMS about itself: the LTI Advantage scopes it asks for, the
//! Canvas developer-key JSON, and the client metadata of dynamic registration.

use serde_json::{Value, json};

use crate::Config;
use crate::lti::ToolUrls;

/// Read-only LTI Advantage scopes: roster, gradebook and the course's groups.
pub const SCOPES: [&str; 4] = [
    "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    crate::lti::services::token::SCOPE_GROUPS,
];

const TITLE: &str = "cloop";
const DESCRIPTION: &str = "Learning analytics for course staff: how students use the course, with its lectures and deadlines drawn over every chart.";

/// The JSON pasted into Canvas (Admin → Developer Keys → + LTI Key → Paste JSON).
pub fn canvas_developer_key(config: &Config) -> Value {
    let urls = ToolUrls::new(config);
    let domain = config.public_url.host_str().unwrap_or_default().to_string();
    json!({
        "title": TITLE,
        "description": DESCRIPTION,
        "oidc_initiation_url": urls.login,
        "target_link_uri": urls.target_link,
        "public_jwk_url": urls.jwks,
        "scopes": SCOPES,
        "extensions": [{
            "platform": "canvas.instructure.com",
            "domain": domain,
            "privacy_level": "public",
            "settings": {
                "text": TITLE,
                "placements": [{
                    "placement": "course_navigation",
                    "message_type": "LtiResourceLinkRequest",
                    "target_link_uri": urls.target_link,
                    "text": TITLE,
                    "visibility": "admins",
                    "default": "enabled",
                    "windowTarget": "_self"
                }]
            }
        }],
        "custom_fields": {}
    })
}

/// The client metadata POSTed in LTI Dynamic Registration.
pub fn registration_metadata(config: &Config) -> Value {
    let urls = ToolUrls::new(config);
    let domain = config.public_url.host_str().unwrap_or_default().to_string();
    json!({
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": urls.login,
        "redirect_uris": [urls.launch],
        "client_name": TITLE,
        "jwks_uri": urls.jwks,
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": SCOPES.join(" "),
        "https://purl.imsglobal.org/spec/lti-tool-configuration": {
            "domain": domain,
            "description": DESCRIPTION,
            "target_link_uri": urls.target_link,
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
            "messages": [{
                "type": "LtiResourceLinkRequest",
                "target_link_uri": urls.target_link,
                "label": TITLE,
                "roles": [
                    "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
                    "http://purl.imsglobal.org/vocab/lis/v2/membership#ContentDeveloper"
                ],
                "placements": ["course_navigation"]
            }]
        }
    })
}
