//! The Learn REST roster ends access: removal from the course and demotion to Student take
//! a launch-made staff member out at the next sync, and a new launch lets them back in.

use cloop::lms::blackboard::sync_course;
use serde_json::{Value, json};

use super::{ALLOWED, REFUSED, access, launched};
use crate::blackboard_fake::{self, COURSE_UUID, FakeLearn, user_uuid};
use crate::helpers::TestApp;
use crate::lti_platform::{MockPlatform, launch_with};
use crate::on_both_backends;
use crate::sync::fast_options;

/// The instructor of the fake course who launches (Learn membership 300).
const INSTRUCTOR: usize = 300;

/// A Learn course with REST credentials and its roster only (a quick sync), and the mock
/// platform that launches into it.
async fn learn(app: &TestApp) -> (FakeLearn, MockPlatform) {
    let fake = FakeLearn::start().await;
    fake.with(|d| {
        d.contents.clear();
        d.columns.clear();
        d.discussions.clear();
        d.calendar.clear();
        d.reviews.clear();
    });
    let (mock, platform) = MockPlatform::start(app, "https://blackboard.com", "bb-app-1").await;
    app.store
        .set_platform_rest(
            platform.id,
            &fake.url(),
            blackboard_fake::KEY,
            &app.state.secret.seal(blackboard_fake::SECRET),
        )
        .await
        .unwrap();
    (fake, mock)
}

async fn launch_as_instructor(app: &TestApp, mock: &MockPlatform) -> super::Launched {
    launched(
        &launch_with(app, mock, |claims: &mut Value| {
            claims["https://purl.imsglobal.org/spec/lti/claim/context"]["id"] = json!(COURSE_UUID);
            claims["sub"] = json!(user_uuid(INSTRUCTOR));
        })
        .await,
    )
}

/// Runs a sync of the course; its kind (full or incremental).
async fn sync(app: &TestApp, course: cloop::store::CourseId) -> String {
    let run = sync_course(
        &app.store,
        &app.state.secret,
        course,
        &fast_options(),
        &|_| {},
    )
    .await
    .unwrap();
    assert_eq!(run.status, "succeeded", "{:?}", run.error);
    run.kind
}

fn is_instructor(m: &Value) -> bool {
    m["user"]["uuid"] == json!(user_uuid(INSTRUCTOR))
}

on_both_backends! {
    async fn staff_removed_from_the_rest_roster_are_refused_until_they_launch_again(backend: Backend) {
        let app = crate::app_on!(backend);
        let (fake, mock) = learn(&app).await;
        let session = launch_as_instructor(&app, &mock).await;
        assert_eq!(access(&app, &session).await, ALLOWED, "before the roster read");

        // Learn lists no deletions: the full run (the first, then at least daily) reads the
        // whole roster, and that read ends the access of whoever it leaves out.
        fake.with(|d| d.memberships.retain(|m| !is_instructor(m)));
        assert_eq!(sync(&app, session.course).await, "full");
        assert_eq!(access(&app, &session).await, REFUSED, "a launch-made enrolment ends with the roster");
        let page = app.client.get(app.url(&format!("/courses/{}?s={}", session.course, session.token))).send().await.unwrap();
        assert!(page.text().await.unwrap().contains("open cloop again from the course in the LMS"));

        let again = launch_as_instructor(&app, &mock).await;
        assert_eq!(again.course, session.course);
        assert_eq!(access(&app, &again).await, ALLOWED, "a genuine launch is the LMS's word again");
    }
}

on_both_backends! {
    async fn a_launched_instructor_demoted_to_student_in_learn_loses_staff_rights(backend: Backend) {
        let app = crate::app_on!(backend);
        let (fake, mock) = learn(&app).await;
        let session = launch_as_instructor(&app, &mock).await;
        assert_eq!(access(&app, &session).await, ALLOWED);

        let now = blackboard_fake::now_iso();
        fake.with(|d| {
            let member = d.memberships.iter_mut().find(|m| is_instructor(m)).unwrap();
            member["courseRoleId"] = json!("Student");
            member["modified"] = json!(now);
        });
        sync(&app, session.course).await;
        assert_eq!(access(&app, &session).await, REFUSED);
        let list = app.client.get(app.url(&format!("/courses/{}/courses?s={}", session.course, session.token))).send().await.unwrap();
        assert_eq!(list.status(), 403, "nor can they list their courses from it");

        // Instructor again, but unavailable (disabled in the course): still no staff rights.
        let again = launch_as_instructor(&app, &mock).await;
        assert_eq!(access(&app, &again).await, ALLOWED);
        fake.with(|d| {
            let member = d.memberships.iter_mut().find(|m| is_instructor(m)).unwrap();
            member["courseRoleId"] = json!("Instructor");
            member["availability"] = json!({"available": "No"});
            member["modified"] = json!(blackboard_fake::now_iso());
        });
        assert_eq!(sync(&app, session.course).await, "incremental", "role changes are read at every sync");
        assert_eq!(access(&app, &again).await, REFUSED);
    }
}
