//! Sessions travel as opaque signed tokens (in links, forms, a header or a cookie), so they
//! work inside an LMS iframe with third-party cookies blocked. The extractors here guard
//! every course and admin route; a course session is re-checked against the enrolment on
//! every request, so a roster read that ends someone's access ends it at once.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::Error;
use crate::secret::{ClaimsProblem, SecretKey};
use crate::store::courses::Course;
use crate::store::{AdminId, CourseId, DeploymentId, EpochMs, PlatformId, UserId};

/// Name of the query parameter and form field that carries the session token.
pub const TOKEN_PARAM: &str = "s";
/// Header an API client or script may use instead.
pub const TOKEN_HEADER: &str = "x-cloop-session";
const COURSE_COOKIE: &str = "cloop_session";
const ADMIN_COOKIE: &str = "cloop_admin";
const ADMIN_PARAM: &str = "a";

/// How long a course session lasts after its launch.
pub const COURSE_SESSION_SECS: i64 = 8 * 3600;
/// How long an admin session lasts after login.
pub const ADMIN_SESSION_SECS: i64 = 12 * 3600;

/// A launched user's session in one course of one deployment of a platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CourseSession {
    #[serde(rename = "u")]
    pub user: UserId,
    #[serde(rename = "p")]
    pub platform: PlatformId,
    #[serde(rename = "d")]
    pub deployment: DeploymentId,
    #[serde(rename = "c")]
    pub course: CourseId,
    /// Holds a staff role in this course (sees course data).
    #[serde(rename = "st")]
    pub staff: bool,
    #[serde(rename = "x")]
    pub expires: EpochMs,
}

/// A tool administrator's session.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSession {
    #[serde(rename = "ad")]
    pub admin: AdminId,
    #[serde(rename = "x")]
    pub expires: EpochMs,
}

const COURSE_PURPOSE: &str = "course-session";
const ADMIN_PURPOSE: &str = "admin-session";

/// Why a token was not accepted.
#[derive(Debug, PartialEq, Eq)]
pub enum TokenProblem {
    Malformed,
    BadSignature,
    Expired,
}

impl From<ClaimsProblem> for TokenProblem {
    fn from(problem: ClaimsProblem) -> Self {
        match problem {
            ClaimsProblem::Malformed => Self::Malformed,
            ClaimsProblem::BadSignature => Self::BadSignature,
        }
    }
}

impl CourseSession {
    /// The session a launch opens: the only way a session gets a new expiry.
    pub fn new(
        user: UserId,
        platform: PlatformId,
        deployment: DeploymentId,
        course: CourseId,
        staff: bool,
    ) -> Self {
        Self {
            user,
            platform,
            deployment,
            course,
            staff,
            expires: EpochMs::now().plus_secs(COURSE_SESSION_SECS),
        }
    }

    /// A staff session in another course the same person teaches, ending when this one
    /// ends: moving between courses never extends access. Every request re-checks it
    /// like any other session.
    pub fn in_course(&self, course: &Course) -> Self {
        Self {
            platform: course.platform_id,
            deployment: course.deployment_id,
            course: course.id,
            staff: true,
            ..self.clone()
        }
    }

    pub fn token(&self, secret: &SecretKey) -> String {
        secret.sign_claims(COURSE_PURPOSE, self)
    }

    pub fn from_token(secret: &SecretKey, token: &str) -> Result<Self, TokenProblem> {
        let session: Self = secret.open_claims(COURSE_PURPOSE, token)?;
        if session.expires < EpochMs::now() {
            return Err(TokenProblem::Expired);
        }
        Ok(session)
    }

    /// The convenience cookie; partitioned so browsers that allow it keep it per LMS site.
    pub fn cookie(&self, secret: &SecretKey, secure: bool) -> Cookie<'static> {
        frame_cookie(COURSE_COOKIE, self.token(secret), "/", secure)
    }
}

/// A cookie meant to survive inside a cross-site LMS iframe: `SameSite=None; Secure;
/// Partitioned` where the browser allows `Secure` (https or loopback), else `Lax`.
pub fn frame_cookie(
    name: impl Into<String>,
    value: String,
    path: &'static str,
    secure: bool,
) -> Cookie<'static> {
    let mut cookie = Cookie::new(name.into(), value);
    cookie.set_path(path);
    cookie.set_http_only(true);
    cookie.set_secure(secure);
    cookie.set_same_site(if secure {
        SameSite::None
    } else {
        SameSite::Lax
    });
    cookie.set_partitioned(secure);
    cookie
}

impl AdminSession {
    pub fn new(admin: AdminId) -> Self {
        Self {
            admin,
            expires: EpochMs::now().plus_secs(ADMIN_SESSION_SECS),
        }
    }

    pub fn token(&self, secret: &SecretKey) -> String {
        secret.sign_claims(ADMIN_PURPOSE, self)
    }

    pub fn from_token(secret: &SecretKey, token: &str) -> Result<Self, TokenProblem> {
        let session: Self = secret.open_claims(ADMIN_PURPOSE, token)?;
        if session.expires < EpochMs::now() {
            return Err(TokenProblem::Expired);
        }
        Ok(session)
    }

    /// The anti-CSRF token admin forms carry: tied to the administrator, unknown to other sites.
    pub fn csrf_token(&self, secret: &SecretKey) -> String {
        URL_SAFE_NO_PAD.encode(secret.sign("admin-csrf", self.admin.to_string().as_bytes()))
    }

    pub fn check_csrf(&self, secret: &SecretKey, token: &str) -> Result<(), Error> {
        let valid = URL_SAFE_NO_PAD
            .decode(token)
            .is_ok_and(|tag| secret.verify("admin-csrf", self.admin.to_string().as_bytes(), &tag));
        if valid {
            Ok(())
        } else {
            Err(Error::forged_form())
        }
    }

    pub fn cookie(&self, secret: &SecretKey, secure: bool) -> Cookie<'static> {
        let mut cookie = Cookie::new(ADMIN_COOKIE, self.token(secret));
        cookie.set_path("/");
        cookie.set_http_only(true);
        cookie.set_secure(secure);
        cookie.set_same_site(SameSite::Lax);
        cookie
    }
}

/// The token a request carries: query parameter, then header, then cookie.
fn carried_token(parts: &Parts, param: &str, cookie: &str) -> Option<String> {
    let from_query = Query::<HashMap<String, String>>::try_from_uri(&parts.uri)
        .ok()
        .and_then(|Query(q)| q.get(param).cloned());
    from_query
        .or_else(|| header_token(&parts.headers))
        .or_else(|| {
            CookieJar::from_headers(&parts.headers)
                .get(cookie)
                .map(|c| c.value().to_string())
        })
        .filter(|t| !t.is_empty())
}

fn header_token(headers: &HeaderMap) -> Option<String> {
    headers.get(TOKEN_HEADER)?.to_str().ok().map(str::to_string)
}

fn explain(problem: TokenProblem) -> Error {
    match problem {
        TokenProblem::Expired => Error::Unauthorized(
            "Your cloop session has expired. Open cloop again from your course in the LMS.".into(),
        ),
        TokenProblem::Malformed | TokenProblem::BadSignature => Error::Unauthorized(
            "This cloop link is not valid. Open cloop again from your course in the LMS.".into(),
        ),
    }
}

/// The course id in the route (`/courses/{course}/…`).
async fn path_course(parts: &mut Parts, state: &AppState) -> Result<CourseId, Error> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|_| Error::NotFound("course"))?;
    params
        .get("course")
        .and_then(|c| c.parse().ok())
        .ok_or(Error::NotFound("course"))
}

/// A course session whose enrolment this request has already checked, so that extracting
/// it twice reads the database once. It lives in the request's extensions: never longer.
#[derive(Clone)]
struct Checked(CourseSession);

/// Any launched session for the course named in the path (staff or learner), whose user
/// the LMS still lists in that course; `staff` is true only while the session's launch and
/// the LMS's latest word (launch or roster read) both say staff.
impl FromRequestParts<AppState> for CourseSession {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        if let Some(Checked(session)) = parts.extensions.get::<Checked>() {
            return Ok(session.clone());
        }
        let course = path_course(parts, state).await?;
        let token = carried_token(parts, TOKEN_PARAM, COURSE_COOKIE).ok_or_else(|| {
            Error::Unauthorized("No cloop session: open cloop from your course in the LMS.".into())
        })?;
        let mut session = CourseSession::from_token(&state.secret, &token).map_err(explain)?;
        if session.course != course {
            return Err(Error::Forbidden(
                "This cloop session belongs to another course. Open cloop from this course in the LMS."
                    .into(),
            ));
        }
        let standing = state
            .store
            .standing(
                session.user,
                session.course,
                session.platform,
                session.deployment,
            )
            .await?;
        match standing {
            Some(standing) if standing.active => session.staff &= standing.is_staff,
            _ => {
                return Err(Error::Forbidden(
                    "The LMS no longer lists you in this course, so your cloop session has ended. \
                     If you are still enrolled, open cloop again from the course in the LMS."
                        .into(),
                ));
            }
        }
        parts.extensions.insert(Checked(session.clone()));
        Ok(session)
    }
}

/// A session of course staff (instructor, teaching assistant, content developer or
/// course administrator) for the course in the path: the guard of every course-data route.
#[derive(Clone, Debug)]
pub struct StaffSession(pub CourseSession);

impl FromRequestParts<AppState> for StaffSession {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let session = CourseSession::from_request_parts(parts, state).await?;
        if !session.staff {
            return Err(Error::Forbidden(
                "cloop shows course data to course staff only, and the LMS does not list you as \
                 staff of this course. If you teach it, open cloop again from the course in the LMS."
                    .into(),
            ));
        }
        Ok(Self(session))
    }
}

impl FromRequestParts<AppState> for AdminSession {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = carried_token(parts, ADMIN_PARAM, ADMIN_COOKIE).ok_or_else(|| {
            Error::Unauthorized(
                "Tool administrators sign in with a link from `cloop admin create`.".into(),
            )
        })?;
        let session = AdminSession::from_token(&state.secret, &token).map_err(|p| match p {
            TokenProblem::Expired => Error::Unauthorized(
                "Your admin session has expired: ask for a new link with `cloop admin create`."
                    .into(),
            ),
            _ => Error::Unauthorized("This admin session is not valid.".into()),
        })?;
        if !state.store.admin_exists(session.admin).await? {
            return Err(Error::Unauthorized(
                "This administrator no longer exists.".into(),
            ));
        }
        Ok(session)
    }
}

#[cfg(test)]
mod tests;
