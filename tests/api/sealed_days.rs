//! A group's student-days read by student are the same rows the store holds by day, whether
//! they are sealed (SQLite keeps finished days in an index by student), still being written,
//! or sealed and then written again by a late event; and after a recount.

use std::collections::BTreeMap;

use cloop::activity::ActivityKind;
use cloop::store::{ContentItemId, CourseId, EpochMs, Store, UserId};

use crate::activity_contract::{BASE, bucketing, event};
use crate::ingest_support::{course, platform};
use crate::{fresh_store, on_both_backends};

const DAY_MS: i64 = 86_400_000;

/// (day, student) → views, sessions, active ms and views per item.
type Days = BTreeMap<(i64, UserId), (i64, i64, i64, Vec<(ContentItemId, i64)>)>;

/// The students' days as the group read gives them.
async fn read_by_student(store: &Store, course: CourseId, students: &[UserId], to: i64) -> Days {
    let mut days = Days::new();
    for (d, mut items) in store
        .student_days_of(course, students, 0, to)
        .await
        .unwrap()
    {
        items.sort();
        days.insert(
            (d.day, d.user_id),
            (d.views, d.sessions, d.active_ms, items),
        );
    }
    days
}

/// The same days read by day, with each student's views per item from their own read.
async fn read_by_day(store: &Store, course: CourseId, students: &[UserId], to: i64) -> Days {
    let mut days = Days::new();
    for d in store.student_days(course, 0, to).await.unwrap() {
        if students.contains(&d.user_id) {
            days.insert(
                (d.day, d.user_id),
                (d.views, d.sessions, d.active_ms, Vec::new()),
            );
        }
    }
    for student in students {
        for v in store.student_item_days(course, *student).await.unwrap() {
            if let Some(day) = days.get_mut(&(v.day, *student)) {
                day.3.push((v.content_item_id, v.views));
                day.3.sort();
            }
        }
    }
    days
}

/// On SQLite, how many of the course's student-days are sealed and how many are not.
async fn sealed_and_fresh(store: &Store, course: CourseId) -> Option<(i64, i64)> {
    let Store::Sqlite(db) = store else {
        return None;
    };
    let (sealed, fresh): (i64, i64) = sqlx::query_as(
        "SELECT COALESCE(SUM(sealed), 0), COALESCE(SUM(1 - sealed), 0) \
         FROM rollup_student_day WHERE course_id = $1",
    )
    .bind(course)
    .fetch_one(&db.pool)
    .await
    .unwrap();
    Some((sealed, fresh))
}

on_both_backends! {
    async fn a_group_reads_sealed_fresh_and_rewritten_days_alike(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = platform(&store).await;
        let course = course(&store, platform.id, 1, "UTC").await;
        let mut users = Vec::new();
        for n in 1..=5 {
            users.push(store.user_by_lms_pk(platform.id, &format!("_{n}_1")).await.unwrap());
        }
        let item = store.content_item_by_lms_id(course, "_1_1", "content").await.unwrap();
        let other = store.content_item_by_lms_id(course, "_2_1", "content").await.unwrap();
        let group = [users[0], users[2], users[4]];
        let now = EpochMs::now().0;
        let to = now / DAY_MS + 2;

        // Days long past: sealed by the first commit on SQLite.
        let mut past = Vec::new();
        for day in 0..6i64 {
            for (n, user) in users.iter().enumerate() {
                let at = BASE + day * DAY_MS + n as i64 * 60_000;
                let viewed = if (day + n as i64) % 2 == 0 { item } else { other };
                past.push(event(Some(*user), Some(viewed), ActivityKind::View, at, &format!("p{day}u{n}")));
            }
        }
        store.record_activity(course, past, bucketing("UTC")).await.unwrap();
        if let Some((sealed, fresh)) = sealed_and_fresh(&store, course).await {
            assert_eq!((sealed, fresh), (30, 0), "every finished day is sealed");
        }
        assert_eq!(read_by_student(&store, course, &group, to).await, read_by_day(&store, course, &group, to).await);

        // Late events for sealed days (a new item for some, more views for others), and
        // events today, which stay unsealed.
        let mut more = Vec::new();
        for (n, user) in users.iter().enumerate() {
            let late = BASE + 2 * DAY_MS + 3_600_000 + n as i64 * 60_000;
            more.push(event(Some(*user), Some(other), ActivityKind::View, late, &format!("late{n}")));
            more.push(event(Some(*user), Some(item), ActivityKind::View, now - n as i64 * 1_000, &format!("now{n}")));
        }
        store.record_activity(course, more, bucketing("UTC")).await.unwrap();
        if let Some((sealed, fresh)) = sealed_and_fresh(&store, course).await {
            assert_eq!((sealed, fresh), (30, 5), "today's days are not sealed");
        }
        let by_student = read_by_student(&store, course, &group, to).await;
        assert_eq!(by_student, read_by_day(&store, course, &group, to).await);
        assert_eq!(by_student.len(), 6 * 3 + 3, "six past days and today for each of three");
        let late_day = (BASE + 2 * DAY_MS) / DAY_MS;
        for student in group {
            let (views, _, _, items) = &by_student[&(late_day, student)];
            assert_eq!(*views, 2, "the late view counts on its sealed day");
            assert!(items.iter().any(|(i, _)| *i == other));
        }

        // A recount writes every row afresh; the finished days are sealed again.
        store.recount_activity_rollups(course, &bucketing("UTC")).await.unwrap();
        if let Some((sealed, fresh)) = sealed_and_fresh(&store, course).await {
            assert_eq!((sealed, fresh), (30, 5));
        }
        assert_eq!(read_by_student(&store, course, &group, to).await, by_student);
    }
}
