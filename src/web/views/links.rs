//! Links inside a course: every one carries the session token, since cookies may be
//! blocked inside the LMS frame, and the page's cohort filter; and the CSRF token of the
//! session's forms.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::sync::OnceLock;

use maud::{Markup, html};
use url::form_urlencoded;

use super::table_query::TableQuery;
use crate::analytics::CohortFilter;
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
    /// The cohort filter's query pairs, kept on every link so it holds across pages.
    pub(super) cohort: Vec<(&'static str, String)>,
    /// The page being drawn, whose tables' header links and search forms keep its query.
    pub page: TableQuery,
    /// The query of a link with no parameters of its own (the token and the cohort), made
    /// once: a page links thousands of students.
    pub(super) plain_query: OnceLock<String>,
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Links")
            .field("course", &self.course)
            .field("token", &format_args!("{}", crate::secret::REDACTED))
            .field("cohort", &self.cohort)
            .finish()
    }
}

impl Links {
    pub fn new(session: &CourseSession, secret: &SecretKey) -> Self {
        Self {
            course: session.course,
            token: session.token(secret),
            cohort: Vec::new(),
            page: TableQuery::default(),
            plain_query: OnceLock::new(),
        }
    }

    /// These links carry `filter` (nothing for the default cohort).
    pub fn with_cohort(mut self, filter: &CohortFilter) -> Self {
        self.cohort = filter.params();
        self.plain_query = OnceLock::new();
        self
    }

    /// These links on the page asked with `page`, so its tables keep their sort and search.
    pub fn on_page(self, page: TableQuery) -> Self {
        Self { page, ..self }
    }

    /// `/courses/{id}{path}?s=…&k=v…` and the cohort filter (where `params` does not set
    /// the same key), empty values left out.
    pub fn href(&self, path: &str, params: &[(&str, &str)]) -> String {
        if params.is_empty() {
            return format!("/courses/{}{}?{}", self.course, path, self.plain_query());
        }
        format!("/courses/{}{}?{}", self.course, path, self.query(params))
    }

    /// The query of a link with no parameters of its own: the token and the cohort.
    pub(super) fn plain_query(&self) -> &str {
        self.plain_query.get_or_init(|| self.query(&[]))
    }

    /// The query string of [`Links::href`].
    fn query(&self, params: &[(&str, &str)]) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair(TOKEN_PARAM, &self.token);
        for (k, v) in params.iter().filter(|(_, v)| !v.is_empty()) {
            query.append_pair(k, v);
        }
        for (k, v) in self.cohort_except(params.iter().map(|(k, _)| *k)) {
            query.append_pair(k, v);
        }
        query.finish()
    }

    /// The hidden fields of a GET form on a course page: the session token and the cohort
    /// filter, but for the keys the form sets itself.
    pub fn hidden_fields(&self, own: &[&str]) -> Markup {
        html! {
            input type="hidden" name=(TOKEN_PARAM) value=(self.token);
            @for (k, v) in self.cohort_except(own.iter().copied()) {
                input type="hidden" name=(k) value=(v);
            }
        }
    }

    fn cohort_except<'a>(
        &'a self,
        keys: impl Iterator<Item = &'a str>,
    ) -> impl Iterator<Item = (&'static str, &'a str)> {
        let taken: Vec<&str> = keys.collect();
        self.cohort
            .iter()
            .filter(move |(k, _)| !taken.contains(k))
            .map(|(k, v)| (*k, v.as_str()))
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
