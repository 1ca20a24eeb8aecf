//! Each student's totals over a range of days equal the sums of their student-days in it,
//! whether the store sums the range or takes the days outside it from the all-days totals.

use std::collections::BTreeMap;

use cloop::activity::ActivityKind;
use cloop::store::UserId;

use crate::activity_contract::{BASE, bucketing, event};
use crate::ingest_support::{course, platform};
use crate::{fresh_store, on_both_backends};

const DAY_MS: i64 = 86_400_000;

on_both_backends! {
    async fn a_range_s_totals_are_its_student_days_summed(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let course = course(&store, platform.id, 1, "UTC").await;
        let mut users = Vec::new();
        for n in 1..=4 {
            users.push(store.user_by_lms_pk(platform.id, &format!("_{n}_1")).await.unwrap());
        }
        // Ten days; each student active on some of them, some days twice an hour apart.
        let mut events = Vec::new();
        for day in 0..10i64 {
            for (n, user) in users.iter().enumerate() {
                if (day + n as i64) % 3 == 0 {
                    continue;
                }
                for (k, hour) in [9, 10, 14].iter().take(1 + (day as usize + n) % 3).enumerate() {
                    let at = BASE + day * DAY_MS + hour * 3_600_000 + n as i64 * 60_000;
                    events.push(event(Some(*user), None, ActivityKind::View, at, &format!("d{day}u{n}k{k}")));
                }
            }
        }
        store.record_activity(course, events, bucketing("UTC")).await.unwrap();
        let first = BASE / DAY_MS;
        // Every range over the ten days and past both ends: short ones are summed, long
        // ones taken from the totals.
        for from in first - 2..first + 11 {
            for to in from + 1..first + 13 {
                let mut expected: BTreeMap<UserId, (i64, i64, i64)> = BTreeMap::new();
                for d in store.student_days(course, from, to).await.unwrap() {
                    let e = expected.entry(d.user_id).or_default();
                    e.0 += d.views;
                    e.1 += d.sessions;
                    e.2 += d.active_ms;
                }
                let got: BTreeMap<UserId, (i64, i64, i64)> = store
                    .student_totals(course, from, to)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|t| (t.user_id, (t.views, t.sessions, t.active_ms)))
                    .collect();
                assert_eq!(got, expected, "days {} to {}", from - first, to - first);
            }
        }
    }
}
