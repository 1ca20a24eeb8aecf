//! Each student's and each resource's totals over a range of days equal the sums of their
//! days in it, whether the store sums the range or takes the days outside it from the
//! all-days totals; and each resource's distinct students in a range are those of its
//! events.

use std::collections::{BTreeMap, BTreeSet};

use cloop::activity::ActivityKind;
use cloop::store::{ContentItemId, UserId};

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
        let mut items = Vec::new();
        for n in 1..=3 {
            items.push(store.content_item_by_lms_id(course, &format!("_{n}_1"), "content").await.unwrap());
        }
        // Ten days; each student active on some of them, some days twice an hour apart,
        // on one of three resources or none.
        let mut events = Vec::new();
        for day in 0..10i64 {
            for (n, user) in users.iter().enumerate() {
                if (day + n as i64) % 3 == 0 {
                    continue;
                }
                for (k, hour) in [9, 10, 14].iter().take(1 + (day as usize + n) % 3).enumerate() {
                    let at = BASE + day * DAY_MS + hour * 3_600_000 + n as i64 * 60_000;
                    let item = items.get((day as usize + n + k) % 4).copied();
                    events.push(event(Some(*user), item, ActivityKind::View, at, &format!("d{day}u{n}k{k}")));
                }
            }
        }
        store.record_activity(course, events.clone(), bucketing("UTC")).await.unwrap();
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

                let mut expected: BTreeMap<ContentItemId, i64> = BTreeMap::new();
                for d in store.item_days(course, from, to).await.unwrap() {
                    if d.content_item_id.0 != 0 {
                        *expected.entry(d.content_item_id).or_default() += d.views;
                    }
                }
                let got: BTreeMap<ContentItemId, i64> =
                    store.item_totals(course, from, to).await.unwrap().into_iter().collect();
                assert_eq!(got, expected, "item views, days {} to {}", from - first, to - first);

                let mut expected: BTreeMap<ContentItemId, BTreeSet<UserId>> =
                    items.iter().map(|i| (*i, BTreeSet::new())).collect();
                for e in events.iter().filter(|e| (from..to).contains(&(e.occurred_at.0 / DAY_MS))) {
                    if let (Some(item), Some(user)) = (e.content_item, e.user) {
                        expected.entry(item).or_default().insert(user);
                    }
                }
                let expected: BTreeMap<ContentItemId, i64> =
                    expected.into_iter().map(|(item, who)| (item, who.len() as i64)).collect();
                let got: BTreeMap<ContentItemId, i64> = store
                    .items_unique_students(course, &items, from, to)
                    .await
                    .unwrap()
                    .into_iter()
                    .collect();
                assert_eq!(got, expected, "distinct students, days {} to {}", from - first, to - first);
            }
        }
    }
}
