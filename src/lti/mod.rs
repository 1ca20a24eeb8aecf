//! The LTI 1.3 tool protocol: platform registration, the tool's keys, OIDC login and
//! launch validation, roles, dynamic registration and platform storage.

pub mod claims;
pub mod deep_linking;
pub mod dynamic_registration;
pub mod error;
pub mod invite;
pub mod keys;
pub mod launch;
mod lenient;
pub mod login;
pub mod platform_keys;
pub mod record;
pub mod registration;
pub mod roles;
pub mod services;
pub mod tool_config;

use crate::Config;

/// The tool's endpoints an LMS admin pastes into the LMS.
pub struct ToolUrls {
    pub login: String,
    pub launch: String,
    pub jwks: String,
    pub target_link: String,
    pub registration: String,
}

impl ToolUrls {
    pub fn new(config: &Config) -> Self {
        Self {
            login: config.url("/lti/login"),
            launch: config.url("/lti/launch"),
            jwks: config.url("/.well-known/jwks.json"),
            target_link: config.url("/lti/launch"),
            registration: config.url("/lti/register"),
        }
    }
}

/// The endpoints as lines of text, for the CLI.
pub fn tool_urls_text(config: &Config) -> String {
    let urls = ToolUrls::new(config);
    format!(
        "paste into the LMS:\n  login initiation URL: {}\n  redirect (launch) URL: {}\n  target link URI: {}\n  public keyset (JWKS) URL: {}",
        urls.login, urls.launch, urls.target_link, urls.jwks
    )
}
