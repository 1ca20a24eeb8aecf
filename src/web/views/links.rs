//! Links inside a course: every one carries the session token, since cookies may be
//! blocked inside the LMS frame; and the CSRF token of the session's forms.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use url::form_urlencoded;

use super::table_query::TableQuery;
use crate::error::Error;
use crate::secret::SecretKey;
use crate::store::CourseId;
use crate::web::session::{CourseSession, TOKEN_PARAM};

const CSRF_PURPOSE: &str = "csrf";

/// Builds the links of one course's pages for one session. `Debug` leaves the token and
/// the page's query (which may hold a searched name) out.
#[derive(Clone)]
pub struct Links {
    pub course: CourseId,
    pub token: String,
    /// The page being drawn, whose tables' header links and search forms keep its query.
    pub page: TableQuery,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("course", &self.course)
            .field("token", &format_args!("{}", crate::secret::REDACTED))
            .finish()
    }
}

impl Links {
    pub fn new(session: &CourseSession, secret: &SecretKey) -> Self {
        Self {
            course: session.course,
            token: session.token(secret),
            page: TableQuery::default(),
        }
    }

    /// These links on the page asked with `page`, so its tables keep their sort and search.
    pub fn on_page(self, page: TableQuery) -> Self {
        Self { page, ..self }
    }

    /// `/courses/{id}{path}?s=…&k=v…`, empty values left out.
    pub fn href(&self, path: &str, params: &[(&str, &str)]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair(TOKEN_PARAM, &self.token);
        for (k, v) in params.iter().filter(|(_, v)| !v.is_empty()) {
            query.append_pair(k, v);
        }
        format!("/courses/{}{}?{}", self.course, path, query.finish())
    }
}

/// The CSRF token of a session: an HMAC of the session, so only pages rendered for this
/// session can post its forms.
pub fn csrf_token(session: &CourseSession, secret: &SecretKey) -> String {
    URL_SAFE_NO_PAD.encode(secret.sign(CSRF_PURPOSE, &csrf_message(session)))
}

/// Refuses a form whose CSRF token was not made for this session.
pub fn check_csrf(session: &CourseSession, secret: &SecretKey, token: &str) -> Result<(), Error> {
    let ok = URL_SAFE_NO_PAD
        .decode(token)
        .is_ok_and(|tag| secret.verify(CSRF_PURPOSE, &csrf_message(session), &tag));
    if ok {
        Ok(())
    } else {
        Err(Error::forged_form())
    }
}

fn csrf_message(session: &CourseSession) -> Vec<u8> {
    format!(
        "{}:{}:{}:{}",
        session.user, session.course, session.staff, session.expires.0
    )
    .into_bytes()
}
