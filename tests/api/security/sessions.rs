//! Sessions that end when the LMS says so, and the deployment in course identity.
//!
//! Attacks and the expected refusals:
//! - Staff removed from the course in Learn keep using their session token (dashboard, CSV
//!   download, settings POST) → 403 on all three as soon as a complete REST roster read
//!   omits them; a later genuine launch restores access (`roster_rest`).
//! - A launch-made instructor demoted to Student in Learn keeps staff rights → 403
//!   (`roster_rest`).
//! - Staff removed from, or demoted in, the NRPS roster keep access → 403; a partial
//!   (differences) roster read that does not list someone ends nothing (`roster_nrps`).
//! - Clicking "Your courses" every few hours mints fresh 8-hour staff tokens forever → the
//!   links carry sessions expiring with the current one, and a course whose enrolment is
//!   inactive is neither listed nor opened by its old link (`course_list`).
//! - Two deployments of one registration with the same context id share one course, so a
//!   session of one reads the other's data → two courses, and a session of one is refused
//!   on the other even when its course id is rewritten; pushed events naming that context
//!   are refused as ambiguous, and events that waited for it attach to neither course,
//!   rather than being filed under one (`deployments`).
//! - Migration 0017 loses courses or their data → every course, enrolment and content item
//!   survives on both databases (`migration`).

mod course_list;
mod deployments;
mod migration;
mod roster_nrps;
mod roster_rest;

use cloop::store::CourseId;
use cloop::web::session::CourseSession;

use crate::helpers::TestApp;

/// The course a launch opened and the session token it carried.
pub struct Launched {
    pub course: CourseId,
    pub token: String,
}

/// Reads the redirect of a successful launch (`/courses/{id}?s=…`).
pub fn launched(response: &reqwest::Response) -> Launched {
    assert_eq!(response.status(), 303, "the launch succeeds");
    let location = response.headers()["location"].to_str().unwrap();
    let (path, token) = location.split_once("?s=").unwrap();
    Launched {
        course: path.trim_start_matches("/courses/").parse().unwrap(),
        token: token.to_string(),
    }
}

/// The statuses of the dashboard, a CSV download and a settings POST with this session.
pub async fn access(app: &TestApp, session: &Launched) -> [u16; 3] {
    let page = app.url(&format!("/courses/{}", session.course));
    let token = session.token.as_str();
    let dashboard = app
        .client
        .get(&page)
        .query(&[("s", token)])
        .send()
        .await
        .unwrap();
    let csv = app
        .client
        .get(&page)
        .query(&[("s", token), ("csv", "daily")])
        .send()
        .await
        .unwrap();
    let claims = CourseSession::from_token(&app.state.secret, token).unwrap();
    let csrf = cloop::web::views::csrf_token(&claims, &app.state.secret);
    let post = app
        .client
        .post(app.url(&format!("/courses/{}/settings", session.course)))
        .query(&[("s", token)])
        .form(&[
            ("csrf", csrf.as_str()),
            ("start_date", "2026-03-02"),
            ("weeks", "12"),
            ("time_zone", "UTC"),
        ])
        .send()
        .await
        .unwrap();
    [
        dashboard.status().as_u16(),
        csv.status().as_u16(),
        post.status().as_u16(),
    ]
}

/// What a working staff session gets: the page, the CSV, and the redirect after saving.
pub const ALLOWED: [u16; 3] = [200, 200, 303];
pub const REFUSED: [u16; 3] = [403, 403, 403];
