//! Groups from the roster: NRPS members' `group_enrollments` become the course's groups,
//! replaced by each full read and only added to by a differences read.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use cloop::lti::services::AccessTokens;
use cloop::lti::services::nrps;
use cloop::store::{CourseId, Store, UserId};
use serde_json::{Value, json};

use crate::lti_services::course_with_roster;
use crate::lti_services_mock::{MockServices, member};
use crate::on_both_backends;

fn in_groups(sub: &str, groups: &[&str]) -> Value {
    let mut m = member(sub, "Learner", "Active");
    m["group_enrollments"] = groups.iter().map(|g| json!({ "group_id": g })).collect();
    m
}

/// Group name → the subs of its members.
async fn groups_by_sub(store: &Store, course: CourseId) -> BTreeMap<String, BTreeSet<String>> {
    let subs: HashMap<UserId, String> = store
        .course_people(course)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.user_id, p.lms_sub))
        .collect();
    store
        .course_groups(course)
        .await
        .unwrap()
        .into_iter()
        .map(|g| (g.name, g.members.iter().map(|u| subs[u].clone()).collect()))
        .collect()
}

fn expect(groups: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
    groups
        .iter()
        .map(|(g, subs)| (g.to_string(), subs.iter().map(|s| s.to_string()).collect()))
        .collect()
}

on_both_backends! {
    async fn nrps_group_enrollments_become_groups_replaced_by_each_full_read(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let course = course_with_roster(&app, &mock, &platform).await;
        mock.lms().members = vec![
            member("teacher", "Instructor", "Active"),
            in_groups("s1", &["tut-a", "lab-1"]),
            in_groups("s2", &["tut-a"]),
            in_groups("s3", &["tut-b", "lab-1"]),
            in_groups("s4", &[]),
        ];
        let tokens = AccessTokens::new();
        nrps::sync_roster(&app.store, &tokens, course).await.unwrap();
        assert_eq!(
            groups_by_sub(&app.store, course).await,
            expect(&[("lab-1", &["s1", "s3"]), ("tut-a", &["s1", "s2"]), ("tut-b", &["s3"])]),
            "overlapping groups, named by their ids"
        );

        // s3 moves to tut-a and leaves lab-1; nobody is in tut-b any more.
        mock.lms().members[3] = in_groups("s3", &["tut-a"]);
        nrps::sync_roster(&app.store, &tokens, course).await.unwrap();
        assert_eq!(
            groups_by_sub(&app.store, course).await,
            expect(&[("lab-1", &["s1"]), ("tut-a", &["s1", "s2", "s3"])]),
            "a full read replaces the groups and their members"
        );
    }
}

on_both_backends! {
    async fn a_differences_read_adds_to_groups_and_removes_nobody(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let course = course_with_roster(&app, &mock, &platform).await;
        {
            let mut lms = mock.lms();
            lms.offer_differences = true;
            lms.members = vec![in_groups("s1", &["tut-a"]), in_groups("s2", &["tut-b"])];
        }
        let tokens = AccessTokens::new();
        nrps::sync_roster(&app.store, &tokens, course).await.unwrap();
        mock.lms().changes = vec![in_groups("s3", &["tut-a"])];
        let report = nrps::sync_roster(&app.store, &tokens, course).await.unwrap();
        assert!(report.differences);
        assert_eq!(
            groups_by_sub(&app.store, course).await,
            expect(&[("tut-a", &["s1", "s3"]), ("tut-b", &["s2"])])
        );
    }
}
