//! Course groups over Blackboard REST: a full sync reads every group (those in group sets
//! named "set: group") and its members; the next full sync drops a group Learn deleted and
//! the members who left a group; an incremental run leaves the groups alone.

use std::collections::HashSet;

use cloop::lms::blackboard::sync_course;
use cloop::store::groups::CourseGroup;
use cloop::store::{Store, UserId};
use serde_json::json;

use crate::blackboard_fake::FakeLearn;
use crate::sync::{fast_options, launched_course};
use crate::{fresh_store, on_both_backends};

/// Makes the last runs look two days old, so the next run is a full one again.
async fn age_runs(store: &Store) {
    let sql = "UPDATE sync_runs SET started_at = started_at - 172800000";
    match store {
        Store::Sqlite(db) => {
            sqlx::query(sql).execute(&db.pool).await.unwrap();
        }
        Store::Postgres(cloop::store::PostgresDb { pool, .. }) => {
            sqlx::query(sql).execute(pool).await.unwrap();
        }
    }
}

fn named<'a>(groups: &'a [CourseGroup], name: &str) -> &'a CourseGroup {
    groups.iter().find(|g| g.name == name).unwrap_or_else(|| {
        panic!(
            "no group {name} in {:?}",
            groups.iter().map(|g| &g.name).collect::<Vec<_>>()
        )
    })
}

on_both_backends! {
    async fn a_full_sync_reads_groups_and_the_next_one_drops_what_learn_deleted(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let fake = FakeLearn::start().await;
        let (secret, platform, course) = launched_course(&store, &fake).await;
        let run = sync_course(&store, &secret, course, &fast_options(), &|_| {}).await.unwrap();
        assert_eq!(run.status, "succeeded", "{:?}", run.error);
        assert!(run.stages_done().iter().any(|s| s == "groups"), "{:?}", run.stages_done());

        let users = store.user_ids_by_lms_pk(platform).await.unwrap();
        let pk = |i: usize| users[&format!("_{}_1", 1000 + i)];
        let groups = store.course_groups(course).await.unwrap();
        assert_eq!(groups.len(), 26, "25 tutorials in their set and one group outside any set");
        let first = named(&groups, "Tutorials: Tutorial 01");
        assert_eq!(first.members, (0..12).map(pk).collect::<HashSet<UserId>>());
        let mentors = named(&groups, "Peer mentors");
        assert_eq!(mentors.members.len(), 30);
        assert!(mentors.members.contains(&pk(0)) && first.members.contains(&pk(0)), "members overlap");
        let group_calls = fake.state.lock().unwrap().log.iter().filter(|p| p.contains("/groups")).count();
        assert_eq!(group_calls, 2 + 1 + 25 + 2, "two pages of 20 groups, the sets, each group's members in pages of 20");

        // Learn deletes a tutorial and moves a student out of the mentors.
        fake.with(|d| {
            d.groups.retain(|g| g["id"] != "_41_1");
            d.group_members.remove("_41_1");
            d.group_members.get_mut("_90_1").unwrap().retain(|m| m["userId"] != "_1000_1");
            d.group_members.get_mut("_42_1").unwrap().push(json!({"userId": "_1299_1"}));
        });
        let before = fake.state.lock().unwrap().log.len();
        let again = sync_course(&store, &secret, course, &fast_options(), &|_| {}).await.unwrap();
        assert_eq!(again.kind, "incremental");
        let log = fake.state.lock().unwrap().log[before..].to_vec();
        assert!(!log.iter().any(|p| p.contains("/groups")), "an incremental run reads no groups");
        assert_eq!(store.course_groups(course).await.unwrap().len(), 26, "and removes none");

        age_runs(&store).await;
        let full = sync_course(&store, &secret, course, &fast_options(), &|_| {}).await.unwrap();
        assert_eq!((full.kind.as_str(), full.status.as_str()), ("full", "succeeded"), "{:?}", full.error);
        let groups = store.course_groups(course).await.unwrap();
        assert_eq!(groups.len(), 25, "the deleted tutorial is gone");
        assert!(!groups.iter().any(|g| g.name == "Tutorials: Tutorial 01"));
        let mentors = named(&groups, "Peer mentors");
        assert_eq!(mentors.members.len(), 29);
        assert!(!mentors.members.contains(&pk(0)), "who left a group is no longer in it");
        assert!(named(&groups, "Tutorials: Tutorial 02").members.contains(&pk(299)), "who joined is");
    }
}
