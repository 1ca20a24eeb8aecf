//! Every way an LTI login or launch is refused, each with the sentence the user sees
//! (what failed, what the LMS admin should check) and the HTTP status it carries.

use crate::lti::platform_keys::KeyError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error(
        "The LTI request is missing `{0}`. Ask your LMS administrator to check cloop's registration."
    )]
    MissingParameter(&'static str),
    #[error(
        "This LMS (issuer {issuer}, client id {client_id}) is not registered with cloop. A cloop administrator must register it first."
    )]
    NotRegistered { issuer: String, client_id: String },
    #[error(
        "Several cloop registrations share the issuer {0} and the LMS did not say which client id it used. Use the login URL that names the registration (/lti/login/<name>)."
    )]
    AmbiguousRegistration(String),
    #[error(
        "The target link URI {0} does not point at cloop. Check the tool URL configured in the LMS."
    )]
    TargetNotOurs(String),
    #[error("The launch token is malformed: {0}.")]
    MalformedToken(String),
    #[error("The launch token is signed with {0}; cloop accepts only RS256, RS384 and RS512.")]
    ForbiddenAlgorithm(String),
    #[error("{0}. Check the JWKS URL registered for this LMS.")]
    Keys(#[from] KeyError),
    #[error("The launch token's signature does not verify against the LMS's published keys.")]
    BadSignature,
    #[error("The launch token has expired. Reload the page in the LMS and launch cloop again.")]
    Expired,
    #[error(
        "The launch token was issued in the future ({0} s ahead of cloop's clock). Check the clocks of the LMS and the cloop server."
    )]
    IssuedInFuture(i64),
    #[error("The launch token's issuer does not match the registered issuer {0}.")]
    WrongIssuer(String),
    #[error("The launch token is not addressed to cloop's client id {0}.")]
    WrongAudience(String),
    #[error("The launch token has several audiences but no authorized party (azp).")]
    MissingAzp,
    #[error(
        "The launch token's authorized party (azp) {azp} is not cloop's client id {client_id}."
    )]
    WrongAzp { azp: String, client_id: String },
    #[error("The launch token carries no nonce.")]
    MissingNonce,
    #[error("This launch has already been used. Launch cloop again from the LMS.")]
    ReplayedNonce,
    #[error("The launch carries no state. Launch cloop again from the LMS.")]
    MissingState,
    #[error(
        "The launch's state is unknown or expired (logins are valid for 10 minutes). Launch cloop again from the LMS."
    )]
    UnknownState,
    #[error(
        "The launch did not come from the browser that started the login. If your browser blocks cookies in frames, ask your LMS administrator to enable LTI platform storage or open cloop in a new window."
    )]
    StateNotBound,
    #[error("The launch token's nonce does not match its login.")]
    NonceMismatch,
    #[error("The launch uses LTI version {0:?}; cloop speaks LTI 1.3.0.")]
    WrongVersion(String),
    #[error("cloop does not handle LTI messages of type {0:?}.")]
    UnknownMessageType(String),
    #[error(
        "This deployment ({deployment_id}) of {platform} is not registered with cloop. A cloop administrator can add it with `cloop platform deployment add`."
    )]
    UnregisteredDeployment {
        platform: String,
        deployment_id: String,
    },
    #[error(
        "The launch has no resource link id. Add cloop to the course as a link or tool and launch it from there."
    )]
    MissingResourceLink,
    #[error("The launch names no course (context). Open cloop from inside a course.")]
    MissingContext,
    #[error(
        "The launch does not say who you are (no `sub`). Ask your LMS administrator to send the user's identity to cloop."
    )]
    Anonymous,
    #[error("Only course staff can place cloop in a course.")]
    DeepLinkingNeedsStaff,
    #[error(
        "The LMS accepts no LTI resource links here, which is what cloop places. Add cloop where links to tools are accepted."
    )]
    DeepLinkingUnacceptable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<LaunchError> for crate::error::Error {
    fn from(e: LaunchError) -> Self {
        use LaunchError as L;
        match e {
            L::Store(s) => Self::Store(s),
            L::Keys(KeyError::Unavailable { .. }) => Self::Internal(e.to_string()),
            L::UnregisteredDeployment { .. } | L::DeepLinkingNeedsStaff => {
                Self::Forbidden(e.to_string())
            }
            L::MissingParameter(_)
            | L::AmbiguousRegistration(_)
            | L::TargetNotOurs(_)
            | L::MalformedToken(_)
            | L::MissingState
            | L::WrongVersion(_)
            | L::UnknownMessageType(_)
            | L::MissingResourceLink
            | L::MissingContext
            | L::Anonymous
            | L::DeepLinkingUnacceptable => Self::BadRequest(e.to_string()),
            other => Self::Unauthorized(other.to_string()),
        }
    }
}
