//! Groups from the roster: NRPS members' `group_enrollments` become the course's groups,
//! replaced by each full read and only added to by a differences read, and named through
//! the Course Groups service where the launch advertised it.

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

/// The one course of a test database.
async fn only_course(store: &Store) -> CourseId {
    let sql = "SELECT id FROM courses";
    CourseId(match store {
        Store::Sqlite(db) => sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap(),
        Store::Postgres(cloop::store::PostgresDb { pool, .. }) => {
            sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
        }
    })
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

on_both_backends! {
    async fn groups_are_named_through_the_course_groups_service_when_advertised(backend: Backend) {
        let app = crate::app_on!(backend);
        let mock = MockServices::start().await;
        let platform = mock.register(&app, None).await;
        let course = course_with_roster(&app, &mock, &platform).await;
        app.store.set_course_groups_url(course, &format!("{}/groups/ctx-1", mock.base)).await.unwrap();
        {
            let mut lms = mock.lms();
            lms.members = vec![in_groups("s1", &["tut-a", "lab-1"]), in_groups("s2", &["tut-z"])];
            lms.groups = vec![
                json!({"id": "tut-a", "name": "Tutorial A"}),
                json!({"id": "tut-b", "name": "Tutorial B"}),
                json!({"id": "lab-1", "name": "Lab 1"}),
            ];
        }
        nrps::sync_roster(&app.store, &AccessTokens::new(), course).await.unwrap();
        assert_eq!(
            groups_by_sub(&app.store, course).await,
            expect(&[("Lab 1", &["s1"]), ("Tutorial A", &["s1"]), ("tut-z", &["s2"])]),
            "named from both pages of the service; a group it does not list keeps its id"
        );
        let requests = mock.lms().requests.clone();
        let reads: Vec<_> = requests.iter().filter(|(path, _)| path.starts_with("/groups/")).collect();
        assert_eq!(reads.len(), 2, "{requests:?}");
        assert!(reads.iter().all(|(_, accept)| accept == "application/vnd.ims.lti-gs.v1.contextgroupcontainer+json"));

        // The service stops naming the groups: they keep the names they have.
        mock.lms().groups.clear();
        nrps::sync_roster(&app.store, &AccessTokens::new(), course).await.unwrap();
        assert!(groups_by_sub(&app.store, course).await.contains_key("Tutorial A"));
    }
}

on_both_backends! {
    async fn a_launch_remembers_the_course_groups_service_only_when_its_scope_is_granted(backend: Backend) {
        let app = crate::app_on!(backend);
        let (platform, _) = crate::lti_platform::MockPlatform::start(&app, "https://lms.example", "client-1").await;
        let with_groups = |scope: &'static str| {
            move |claims: &mut Value| {
                claims["https://purl.imsglobal.org/spec/lti-gs/claim/groupsservice"] = json!({
                    "scope": [scope], "context_groups_url": "https://lms.example/groups/ctx-1",
                    "service_versions": ["1.0"]
                });
            }
        };
        let launched = crate::lti_platform::launch_with(&app, &platform, with_groups("https://example/other")).await;
        assert_eq!(launched.status(), 303);
        let course = only_course(&app.store).await;
        assert_eq!(app.store.course_groups_url(course).await.unwrap(), None, "not granted: not used");
        let granted = cloop::lti::services::token::SCOPE_GROUPS;
        crate::lti_platform::launch_with(&app, &platform, with_groups(granted)).await;
        assert_eq!(app.store.course_groups_url(course).await.unwrap().as_deref(), Some("https://lms.example/groups/ctx-1"));
    }
}
