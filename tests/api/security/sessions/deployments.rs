//! Two deployments of one registration holding the same context id: two courses, sessions
//! that cannot cross between them, and pushed events that go to neither rather than guess.

use cloop::ingest::{CourseLookup, CourseRef};
use cloop::store::courses::CourseUpsert;
use cloop::store::ingest::IngestKeyKind;
use cloop::web::session::CourseSession;
use serde_json::{Value, json};

use super::{ALLOWED, Launched, REFUSED, access, launched};
use crate::ingest_support::{course, fixture, key, platform};
use crate::lti_platform::{MockPlatform, launch_with};
use crate::on_both_backends;

on_both_backends! {
    async fn two_deployments_with_one_context_id_keep_their_courses_apart(backend: Backend) {
        let app = crate::app_on!(backend);
        let (mock, platform) = MockPlatform::start(&app, "https://lms.example", "client-1").await;
        app.store.add_deployment(platform.id, "deployment-2").await.unwrap();
        let first = launched(&launch_with(&app, &mock, |_| {}).await);
        let second = launched(
            &launch_with(&app, &mock, |c: &mut Value| {
                c["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] = json!("deployment-2");
            })
            .await,
        );
        assert_ne!(first.course, second.course, "same context id, another deployment: another course");
        let (a, b) = (app.store.course(first.course).await.unwrap(), app.store.course(second.course).await.unwrap());
        assert_eq!(a.lms_context_id, b.lms_context_id);
        assert_ne!(a.deployment_id, b.deployment_id);
        assert_eq!(access(&app, &first).await, ALLOWED);
        assert_eq!(access(&app, &second).await, ALLOWED);

        let crossing = app
            .client
            .get(app.url(&format!("/courses/{}", second.course)))
            .query(&[("s", first.token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(crossing.status(), 403, "a session of one deployment's course on the other's");

        // Even a session naming the other course (as a bug elsewhere could mint) is refused:
        // the course is not of the session's deployment.
        let rewritten = CourseSession {
            course: second.course,
            ..CourseSession::from_token(&app.state.secret, &first.token).unwrap()
        };
        let rewritten = Launched { course: second.course, token: rewritten.token(&app.state.secret) };
        assert_eq!(access(&app, &rewritten).await, REFUSED);
    }
}

on_both_backends! {
    async fn events_naming_a_course_of_two_deployments_are_refused_not_guessed(backend: Backend) {
        let app = crate::app_on!(backend);
        let platform = platform(&app.store).await;
        let key = key(&app.store, platform.id, IngestKeyKind::Caliper).await;
        let push = || async {
            let response = app
                .client
                .post(app.url("/caliper"))
                .bearer_auth(&key)
                .header("content-type", "application/json")
                .body(fixture("caliper/learn-batch.json"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.json::<Value>().await.unwrap()
        };
        // Before either course exists the events wait, as for any unknown course.
        assert_eq!(push().await["pending"], 8);

        let one = course(&app.store, platform.id, 1358, "UTC").await;
        let deployment = app.store.add_deployment(platform.id, "deployment-2").await.unwrap();
        let other = app
            .store
            .upsert_course(platform.id, deployment, &CourseUpsert { lms_context_id: "ctx-1358".into(), ..CourseUpsert::default() })
            .await
            .unwrap()
            .id;
        app.store.set_course_lms_refs(other, Some("_1358_1"), None).await.unwrap();
        let named = CourseRef { pk: Some("_1358_1".into()), external_id: None };
        assert_eq!(app.store.course_by_ref(platform.id, &named).await.unwrap(), CourseLookup::Ambiguous);

        for course in [one, other] {
            let attached = cloop::ingest::attach_pending(&app.store, course, cloop::ingest::DEFAULT_SESSION_GAP).await.unwrap();
            assert_eq!(attached.new, 0, "waiting events go to neither course");
        }
        assert_eq!(app.store.pending_event_count(platform.id).await.unwrap(), 8);

        let report = push().await;
        assert_eq!((report["new"].as_u64(), report["rejected"].as_u64()), (Some(0), Some(8)), "{report}");
        assert!(report["rejections"][0]["reason"].as_str().unwrap().contains("more than one deployment"), "{report}");
        for course in [one, other] {
            assert!(app.store.activity_of_course(course).await.unwrap().is_empty(), "neither course gets them");
        }
    }
}
