//! The course list never extends access: its links carry sessions that end with the
//! current one, and it lists only courses where the person is active staff now.

use cloop::store::{CourseId, EpochMs};
use cloop::web::session::CourseSession;
use serde_json::json;

use super::{ALLOWED, Launched, REFUSED, access, launched};
use crate::helpers::TestApp;
use crate::lti_platform::{MockPlatform, launch_with};
use crate::on_both_backends;

/// The (course, token) of every course link on the course list page.
async fn course_links(app: &TestApp, from: &Launched) -> Vec<(CourseId, String)> {
    let page = app
        .client
        .get(app.url(&format!("/courses/{}/courses", from.course)))
        .query(&[("s", from.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    let table = body.split("id=\"table-courses\"").nth(1).unwrap();
    let table = &table[..table.find("</table>").unwrap()];
    table
        .split("href=\"/courses/")
        .skip(1)
        .filter_map(|rest| {
            let link = &rest[..rest.find('"')?];
            let (id, token) = link.split_once("?s=")?;
            Some((id.parse().ok()?, token.to_string()))
        })
        .collect()
}

on_both_backends! {
    async fn course_links_expire_with_the_current_session_and_skip_ended_enrolments(backend: Backend) {
        let app = crate::app_on!(backend);
        let (mock, platform) = MockPlatform::start(&app, "https://lms.example", "client-1").await;
        let first = launched(&launch_with(&app, &mock, |_| {}).await);
        let second = launched(
            &launch_with(&app, &mock, |c| {
                c["https://purl.imsglobal.org/spec/lti/claim/context"]["id"] = json!("ctx-2");
            })
            .await,
        );

        // A session an hour from its end, as after seven hours of clicking around.
        let mut late = CourseSession::from_token(&app.state.secret, &first.token).unwrap();
        late.expires = EpochMs::now().plus_secs(3600);
        let late = Launched { course: first.course, token: late.token(&app.state.secret) };
        let links = course_links(&app, &late).await;
        let mut listed: Vec<CourseId> = links.iter().map(|(c, _)| *c).collect();
        listed.sort();
        assert_eq!(listed, [first.course, second.course]);
        let current = CourseSession::from_token(&app.state.secret, &late.token).unwrap();
        for (course, token) in &links {
            let minted = CourseSession::from_token(&app.state.secret, token).unwrap();
            assert_eq!(minted.course, *course);
            assert!(minted.expires <= current.expires, "a link never outlives the session it came from");
            assert_eq!((minted.user, minted.platform), (current.user, current.platform));
        }
        let (_, to_second) = links.iter().find(|(c, _)| *c == second.course).unwrap().clone();
        let to_second = Launched { course: second.course, token: to_second };
        assert_eq!(access(&app, &to_second).await, ALLOWED);

        // The LMS's roster of the second course no longer lists the person.
        app.store.sync_roster(platform.id, second.course, &[], true).await.unwrap();
        let listed: Vec<CourseId> = course_links(&app, &late).await.into_iter().map(|(c, _)| c).collect();
        assert_eq!(listed, [first.course], "an inactive enrolment is not listed");
        assert_eq!(access(&app, &to_second).await, REFUSED, "nor opened by its old link");
    }
}
