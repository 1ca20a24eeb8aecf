//! The NRPS roster ends access: a member it no longer lists, or lists as a learner, is out
//! at once whoever enrolled them; a differences read lists changes only and ends nothing.

use cloop::lti::services::AccessTokens;
use cloop::lti::services::nrps;
use cloop::store::CourseId;
use serde_json::{Value, json};

use super::{ALLOWED, REFUSED, access, launched};
use crate::helpers::TestApp;
use crate::lti_platform::{MockPlatform, launch_with};
use crate::lti_services_mock::{MockServices, member};
use crate::on_both_backends;

/// A platform whose launches offer the services mock's roster, and whose token endpoint is
/// the mock's.
async fn platform_with_roster(app: &TestApp) -> (MockPlatform, MockServices) {
    let services = MockServices::start().await;
    let (mock, platform) = MockPlatform::start(app, "https://lms.example", "client-1").await;
    app.store
        .set_platform_endpoints(
            platform.id,
            &platform.auth_url,
            &platform.jwks_url,
            &format!("{}/token", services.base),
        )
        .await
        .unwrap();
    (mock, services)
}

async fn launch_as(
    app: &TestApp,
    mock: &MockPlatform,
    services: &MockServices,
    sub: &str,
) -> super::Launched {
    let roster = format!("{}/nrps/ctx-1/members?placement_id=_9_1", services.base);
    launched(
        &launch_with(app, mock, |claims: &mut Value| {
            claims["sub"] = json!(sub);
            claims["https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"] =
                json!({"context_memberships_url": roster, "service_versions": ["2.0"]});
        })
        .await,
    )
}

async fn read_roster(app: &TestApp, course: CourseId) -> nrps::RosterReport {
    nrps::sync_roster(&app.store, &AccessTokens::new(), course)
        .await
        .unwrap()
}

on_both_backends! {
    async fn staff_who_leave_or_are_demoted_in_the_nrps_roster_are_refused(backend: Backend) {
        let app = crate::app_on!(backend);
        let (mock, services) = platform_with_roster(&app).await;
        let leaving = launch_as(&app, &mock, &services, "teacher-leaving").await;
        let demoted = launch_as(&app, &mock, &services, "teacher-demoted").await;
        let staying = launch_as(&app, &mock, &services, "teacher-staying").await;
        services.lms().members = vec![
            member("teacher-leaving", "Instructor", "Active"),
            member("teacher-demoted", "Instructor", "Active"),
            member("teacher-staying", "Instructor", "Active"),
        ];
        read_roster(&app, leaving.course).await;
        for session in [&leaving, &demoted, &staying] {
            assert_eq!(access(&app, session).await, ALLOWED, "before the roster changes");
        }

        services.lms().members = vec![
            member("teacher-demoted", "Learner", "Active"),
            member("teacher-staying", "Instructor", "Active"),
        ];
        let report = read_roster(&app, leaving.course).await;
        assert_eq!(report.counts.removed, 1, "{report:?}");
        assert_eq!(access(&app, &leaving).await, REFUSED, "left the roster");
        assert_eq!(access(&app, &demoted).await, REFUSED, "a learner now");
        assert_eq!(access(&app, &staying).await, ALLOWED);

        let back = launch_as(&app, &mock, &services, "teacher-leaving").await;
        assert_eq!(access(&app, &back).await, ALLOWED, "a new launch lets them back in");
    }
}

on_both_backends! {
    async fn an_inactive_member_loses_staff_rights_and_a_partial_read_ends_nothing(backend: Backend) {
        let app = crate::app_on!(backend);
        let (mock, services) = platform_with_roster(&app).await;
        let inactive = launch_as(&app, &mock, &services, "teacher-inactive").await;
        let unlisted = launch_as(&app, &mock, &services, "teacher-unlisted").await;
        {
            let mut lms = services.lms();
            lms.members = vec![
                member("teacher-inactive", "Instructor", "Active"),
                member("teacher-unlisted", "Instructor", "Active"),
            ];
            lms.offer_differences = true;
        }
        read_roster(&app, inactive.course).await;

        // The next read asks only for differences: it names one change and leaves the
        // other member out, which says nothing about them.
        services.lms().changes = vec![member("teacher-inactive", "Instructor", "Inactive")];
        let report = read_roster(&app, inactive.course).await;
        assert!(report.differences, "{report:?}");
        assert_eq!(access(&app, &inactive).await, REFUSED, "Inactive in the LMS: no staff rights");
        assert_eq!(access(&app, &unlisted).await, ALLOWED, "a partial roster deactivates nobody");
    }
}
