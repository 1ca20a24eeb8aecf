//! Shared set-up for the ingestion tests: a Blackboard platform, a course with Learn ids
//! and a time zone, push keys, and an independent recount of rollups from raw events.

use std::collections::{BTreeMap, BTreeSet};

use cloop::Store;
use cloop::activity::ActivityKind;
use cloop::activity::student_list::listed_students;
use cloop::ingest::CourseClock;
use cloop::store::course_hours::CourseHour;
use cloop::store::courses::{CourseCalendar, CourseUpsert};
use cloop::store::hours::StudentHour;
use cloop::store::ingest::IngestKeyKind;
use cloop::store::platforms::Platform;
use cloop::store::reports::{CourseDay, StudentItemDay};
use cloop::store::rollups::{ContentDay, StudentDay};
use cloop::store::{ContentItemId, CourseId, PlatformId, UserId};
use serde_json::{Value, json};

use crate::store_platforms::blackboard;

pub const GAP_MS: i64 = 40 * 60_000;

pub async fn platform(store: &Store) -> Platform {
    store
        .create_platform(&blackboard("uni", "client-1"))
        .await
        .unwrap()
}

/// A course known by Learn pk `_{pk1}_1`, in `zone`.
pub async fn course(store: &Store, platform: PlatformId, pk1: u64, zone: &str) -> CourseId {
    let course = store
        .upsert_course(
            platform,
            crate::helpers::deployment(store, platform).await,
            &CourseUpsert {
                lms_context_id: format!("ctx-{pk1}"),
                lms_course_uuid: None,
                title: format!("Course {pk1}"),
                code: format!("C{pk1}"),
            },
        )
        .await
        .unwrap();
    store
        .set_course_lms_refs(course.id, Some(&format!("_{pk1}_1")), None)
        .await
        .unwrap();
    store
        .set_course_calendar(
            course.id,
            &CourseCalendar {
                start_date: time::macros::date!(2024 - 02 - 26),
                weeks: 12,
                time_zone: zone.into(),
            },
        )
        .await
        .unwrap();
    course.id
}

pub async fn key(store: &Store, platform: PlatformId, kind: IngestKeyKind) -> String {
    cloop::ingest::new_ingest_key(store, platform, kind, "test")
        .await
        .unwrap()
        .1
}

/// `cloop import --course COURSE --format FORMAT` on the database at `url`, logging
/// warnings only; the caller adds the file, any options and how it runs.
pub fn cloop_import(url: &str, course: CourseId, format: &str) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_cloop"));
    command
        .args([
            "import",
            "--course",
            &course.to_string(),
            "--format",
            format,
        ])
        .env("CLOOP_DATABASE_URL", url)
        .env("RUST_LOG", "warn");
    command
}

pub fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// The rollups recomputed from the stored events, by the definitions the views rely on.
pub async fn recount(
    store: &Store,
    course: CourseId,
    zone: &str,
) -> (Vec<ContentDay>, Vec<StudentDay>) {
    let clock = CourseClock::new(zone).unwrap();
    let events = store.activity_of_course(course).await.unwrap();
    let mut content: BTreeMap<(i64, i64), (i64, BTreeSet<i64>)> = BTreeMap::new();
    let mut student: BTreeMap<(i64, i64), (i64, i64, i64)> = BTreeMap::new();
    let mut times: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for e in &events {
        let user = e.user_id.map(|u| u.0);
        if let Some(user) = user {
            times.entry(user).or_default().push(e.occurred_at.0);
        }
        if e.kind == ActivityKind::View {
            let day = clock.day_of(e.occurred_at).0;
            let entry = content
                .entry((day, e.content_item_id.map_or(0, |c| c.0)))
                .or_default();
            entry.0 += 1;
            if let Some(user) = user {
                entry.1.insert(user);
                student.entry((day, user)).or_default().0 += 1;
            }
        }
    }
    for (user, mut ts) in times {
        ts.sort_unstable();
        let mut start = ts[0];
        let mut last = ts[0];
        for t in ts.into_iter().skip(1).chain(std::iter::once(i64::MAX)) {
            if t == i64::MAX || t - last > GAP_MS {
                let entry = student
                    .entry((clock.day_of(cloop::store::EpochMs(start)).0, user))
                    .or_default();
                entry.1 += 1;
                entry.2 += last - start;
                start = t;
            }
            last = t;
        }
    }
    let content = content
        .into_iter()
        .map(|((day, item), (views, users))| ContentDay {
            day,
            content_item_id: item,
            views,
            unique_students: users.len() as i64,
        })
        .collect();
    let student = student
        .into_iter()
        .map(|((day, user), (views, sessions, active_ms))| StudentDay {
            day,
            user_id: user,
            views,
            sessions,
            active_ms,
        })
        .collect();
    (content, student)
}

/// Asserts the stored rollups equal a recount from the raw events.
pub async fn assert_rollups_match(store: &Store, course: CourseId, zone: &str) {
    let (content, student) = recount(store, course, zone).await;
    assert_eq!(
        store.content_day_rollups(course).await.unwrap(),
        content,
        "content-day rollup"
    );
    assert_eq!(
        store.student_day_rollups(course).await.unwrap(),
        student,
        "student-day rollup"
    );
    let clock = CourseClock::new(zone).unwrap();
    let mut item_days: BTreeMap<i64, Vec<StudentItemDay>> = BTreeMap::new();
    let mut counted: BTreeMap<(i64, i64, i64), i64> = BTreeMap::new();
    for e in store.activity_of_course(course).await.unwrap() {
        if let (Some(user), ActivityKind::View) = (e.user_id, e.kind) {
            let item = e.content_item_id.map_or(0, |c| c.0);
            *counted
                .entry((user.0, clock.day_of(e.occurred_at).0, item))
                .or_default() += 1;
        }
    }
    let mut last_view_days: BTreeMap<i64, i64> = BTreeMap::new();
    for (user, day, _) in counted.keys() {
        let last = last_view_days.entry(*user).or_insert(*day);
        *last = (*last).max(*day);
    }
    assert_last_view_days(store, course, last_view_days, "from the events").await;
    assert_student_lists(store, course, &counted).await;
    for ((user, day, item), views) in counted {
        item_days.entry(user).or_default().push(StudentItemDay {
            day,
            content_item_id: ContentItemId(item),
            views,
        });
    }
    for (user, expected) in item_days {
        assert_eq!(
            store.student_item_days(course, UserId(user)).await.unwrap(),
            expected,
            "views per item and day of student {user}"
        );
    }
    assert_hour_rollups_match(store, course).await;
    assert_course_rollups_match(store, course).await;
}

/// Asserts each item-day's list of students and each student's views per day equal a
/// recount from `counted` ((user, day, item) → views, from the raw events).
async fn assert_student_lists(
    store: &Store,
    course: CourseId,
    counted: &BTreeMap<(i64, i64, i64), i64>,
) {
    let mut expected_lists: BTreeMap<(i64, i64), Vec<i64>> = BTreeMap::new();
    let mut expected_days: BTreeMap<i64, BTreeMap<i64, i64>> = BTreeMap::new();
    for ((user, day, item), views) in counted {
        expected_lists.entry((*day, *item)).or_default().push(*user);
        *expected_days
            .entry(*user)
            .or_default()
            .entry(*day)
            .or_default() += views;
    }
    assert_eq!(
        content_day_students(store, course).await,
        expected_lists,
        "students of each item-day"
    );
    let days: BTreeMap<i64, BTreeMap<i64, i64>> = store
        .student_day_views(course)
        .await
        .unwrap()
        .into_iter()
        .map(|(user, days)| (user.0, days.into_iter().collect()))
        .collect();
    assert_eq!(days, expected_days, "views per day of each student");
}

/// Each item-day's students as stored, sorted ((day, item) → students); item-days with
/// none are left out.
pub async fn content_day_students(
    store: &Store,
    course: CourseId,
) -> BTreeMap<(i64, i64), Vec<i64>> {
    let sql = "SELECT day, content_item_id, students FROM rollup_content_day \
               WHERE course_id = $1 AND students <> ''";
    let rows: Vec<(i64, i64, String)> = match store {
        Store::Sqlite(db) => sqlx::query_as(sql).bind(course.0).fetch_all(&db.pool).await,
        Store::Postgres(db) => sqlx::query_as(sql).bind(course.0).fetch_all(&db.pool).await,
    }
    .unwrap();
    rows.into_iter()
        .map(|(day, item, text)| {
            let mut students: Vec<i64> = listed_students(&text).collect();
            students.sort_unstable();
            ((day, item), students)
        })
        .collect()
}

/// Asserts the hour rollups equal a recount from the raw events: per UTC hour and student,
/// the views per item and the (item, instant) of every view; per hour, the views per
/// student and per item.
pub async fn assert_hour_rollups_match(store: &Store, course: CourseId) {
    const HOUR_MS: i64 = 3_600_000;
    let mut hours: BTreeMap<(i64, i64), StudentHour> = BTreeMap::new();
    for e in store.activity_of_course(course).await.unwrap() {
        if let (Some(user), ActivityKind::View) = (e.user_id, e.kind) {
            let hour = e.occurred_at.0.div_euclid(HOUR_MS);
            let row = hours.entry((hour, user.0)).or_insert(StudentHour {
                hour,
                user_id: user.0,
                item_views: Vec::new(),
                instants: Vec::new(),
            });
            let item = e.content_item_id.map_or(0, |c| c.0);
            row.instants.push((item, e.occurred_at.0));
        }
    }
    for row in hours.values_mut() {
        row.instants.sort_by_key(|&(item, at)| (at, item));
        let mut per_item: BTreeMap<i64, i64> = BTreeMap::new();
        for (item, _) in &row.instants {
            *per_item.entry(*item).or_default() += 1;
        }
        row.item_views = per_item.into_iter().collect();
    }
    type Counts = BTreeMap<i64, i64>;
    let mut course_hours: BTreeMap<i64, (Counts, Counts)> = BTreeMap::new();
    for row in hours.values() {
        let (users, items) = course_hours.entry(row.hour).or_default();
        *users.entry(row.user_id).or_default() += row.instants.len() as i64;
        for (item, n) in &row.item_views {
            *items.entry(*item).or_default() += n;
        }
    }
    assert_eq!(
        store.student_hour_rollups(course).await.unwrap(),
        hours.into_values().collect::<Vec<_>>(),
        "student-hour rollup"
    );
    assert_eq!(
        store.course_hour_rollups(course).await.unwrap(),
        course_hours
            .into_iter()
            .map(|(hour, (users, items))| CourseHour {
                hour,
                user_views: users.into_iter().collect(),
                item_views: items.into_iter().collect(),
            })
            .collect::<Vec<_>>(),
        "course-hour rollup"
    );
}

/// Asserts the course-wide rollups (per day, per student, per item) equal sums of the day
/// rollups, with unique students per item recounted from the raw events.
pub async fn assert_course_rollups_match(store: &Store, course: CourseId) {
    let all = (i64::MIN / 2, i64::MAX / 2);
    let groups: BTreeMap<i64, String> = store
        .content_items(course)
        .await
        .unwrap()
        .into_iter()
        .map(|i| (i.id.0, i.item_group))
        .collect();
    let mut days: BTreeMap<i64, CourseDay> = BTreeMap::new();
    let mut items: BTreeMap<i64, (i64, i64)> = BTreeMap::new();
    for d in store.item_days(course, all.0, all.1).await.unwrap() {
        let item = d.content_item_id.0;
        let row = days.entry(d.day).or_insert(CourseDay {
            day: d.day,
            ..CourseDay::default()
        });
        match groups.get(&item).map(String::as_str) {
            Some("communication") => row.communication_views += d.views,
            Some("assessment") => row.assessment_views += d.views,
            _ => row.content_views += d.views,
        }
        row.pages_viewed += i64::from(item != 0);
        if item != 0 {
            items.entry(item).or_default().0 += d.views;
        }
    }
    let mut students: BTreeMap<i64, (i64, i64, i64)> = BTreeMap::new();
    let mut last_view_days: BTreeMap<i64, i64> = BTreeMap::new();
    for d in store.student_days(course, all.0, all.1).await.unwrap() {
        let row = days.entry(d.day).or_insert(CourseDay {
            day: d.day,
            ..CourseDay::default()
        });
        row.active_students += 1;
        row.views += d.views;
        row.sessions += d.sessions;
        row.active_ms += d.active_ms;
        let total = students.entry(d.user_id.0).or_default();
        total.0 += d.views;
        total.1 += d.sessions;
        total.2 += d.active_ms;
        if d.views > 0 {
            let last = last_view_days.entry(d.user_id.0).or_insert(d.day);
            *last = (*last).max(d.day);
        }
    }
    assert_last_view_days(store, course, last_view_days, "from the student-days").await;
    let mut viewers: BTreeMap<i64, BTreeMap<i64, i64>> = BTreeMap::new();
    for e in store.activity_of_course(course).await.unwrap() {
        if let (Some(item), Some(user), ActivityKind::View) = (e.content_item_id, e.user_id, e.kind)
        {
            *viewers
                .entry(item.0)
                .or_default()
                .entry(user.0)
                .or_default() += 1;
        }
    }
    for (item, views) in &viewers {
        let mut stored = store
            .item_viewers(course, ContentItemId(*item))
            .await
            .unwrap();
        stored.sort();
        let expected: Vec<(UserId, i64)> =
            views.iter().map(|(user, n)| (UserId(*user), *n)).collect();
        assert_eq!(stored, expected, "viewers of item {item}");
    }
    for (item, total) in &mut items {
        total.1 = viewers.get(item).map_or(0, |v| v.len() as i64);
    }
    let stored_days: Vec<CourseDay> = store.course_days(course, all.0, all.1).await.unwrap();
    assert_eq!(
        stored_days,
        days.into_values().collect::<Vec<_>>(),
        "course-day rollup"
    );
    let mut stored_students: Vec<(i64, (i64, i64, i64))> = store
        .student_course_totals(course)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.user_id.0, (t.views, t.sessions, t.active_ms)))
        .collect();
    stored_students.sort();
    assert_eq!(
        stored_students,
        students.into_iter().collect::<Vec<_>>(),
        "student totals"
    );
    let mut stored_items: Vec<(i64, (i64, i64))> = store
        .item_course_totals(course)
        .await
        .unwrap()
        .into_iter()
        .map(|(item, views, uniques)| (item.0, (views, uniques)))
        .collect();
    stored_items.sort();
    assert_eq!(
        stored_items,
        items.into_iter().collect::<Vec<_>>(),
        "item totals"
    );
}

/// The stored last day with a page view of each student (`rollup_student_total`) is
/// `expected`'s, recounted `how`.
async fn assert_last_view_days(
    store: &Store,
    course: CourseId,
    expected: BTreeMap<i64, i64>,
    how: &str,
) {
    let mut stored: Vec<(i64, i64)> = store
        .last_active_days(course)
        .await
        .unwrap()
        .into_iter()
        .map(|(user, day)| (user.0, day))
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        expected.into_iter().collect::<Vec<_>>(),
        "each student's last day with a page view, {how}"
    );
}

/// A Caliper envelope of view events, one per `(course pk, event number)`, shaped like Learn's.
pub fn envelope(events: &[(u64, u64)]) -> String {
    let mut batch: Value =
        serde_json::from_str(&fixture("caliper/unknown-course-v1p2.json")).unwrap();
    let template = batch["data"][0].clone();
    let when = (time::OffsetDateTime::now_utc() - time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let data: Vec<Value> = events
        .iter()
        .map(|(pk, n)| {
            let mut event = template.clone();
            event["id"] = json!(format!("urn:uuid:6b1c2f7e-0003-4a53-9d1e-{n:012}"));
            event["eventTime"] = json!(when);
            event["group"]["extensions"]["bb:course.id"] = json!(format!("_{pk}_1"));
            event["membership"]["extensions"]["bb:course.id"] = json!(format!("_{pk}_1"));
            event
        })
        .collect();
    batch["data"] = Value::Array(data);
    batch.to_string()
}

pub async fn post_caliper(
    app: &crate::helpers::TestApp,
    key: &str,
    body: String,
) -> reqwest::Response {
    app.client
        .post(app.url("/caliper"))
        .header("content-type", "application/json")
        .bearer_auth(key)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Every event of `course`, each once, counted a page at a time.
pub async fn event_count(store: &Store, course: CourseId) -> u64 {
    let (mut cursor, mut count) = (cloop::activity::ActivityCursor::default(), 0);
    loop {
        let page = store.activity_page(course, &mut cursor).await.unwrap();
        if page.is_empty() {
            return count;
        }
        count += page.len() as u64;
    }
}
