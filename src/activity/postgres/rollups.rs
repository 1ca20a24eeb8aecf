//! PostgreSQL's rollup writes: a batch's new events folded into the day, item, student,
//! session and hour rollups inside the writer's transaction, a statement or two per table
//! (the per-student rows are in `students`).

use foldhash::{HashMap, HashSet};
use sqlx::{AssertSqlSafe, PgConnection};

use crate::activity::clock::Bucketing;
use crate::activity::event::NewActivity;
use crate::activity::hours::{course_hour_deltas, student_hour_deltas};
use crate::activity::item_views::add_item_views;
use crate::activity::rollup::{CourseTotals, ItemDayChange, RollupDeltas};
use crate::activity::student_list::student_list_text;
use crate::activity::upserts::{
    ADD_COURSE_DAYS, ADD_ITEM_TOTALS, ADD_STUDENT_TOTALS, PUT_COURSE_HOURS,
};
use crate::store::{CourseId, StoreResult};

use super::students::{
    stored_sessions, stored_student_days, write_sessions, write_student_days, write_student_hours,
};

/// `INSERT INTO t (course_id, …) SELECT $1, * FROM UNNEST($2::T[], …) suffix` from a
/// shared `(prefix, columns, suffix)` statement whose prefix ends in `VALUES `: the course
/// is `$1`, and every other column's array is of `types` (one per column after the course).
pub(super) fn unnest_insert(
    (prefix, columns, suffix): (&str, usize, &str),
    types: &[&str],
) -> AssertSqlSafe<String> {
    debug_assert_eq!(columns, types.len() + 1);
    let head = prefix.trim_end().trim_end_matches("VALUES").trim_end();
    let arrays: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::{t}[]", i + 2))
        .collect();
    AssertSqlSafe(format!(
        "{head} SELECT $1, * FROM UNNEST({}) {suffix}",
        arrays.join(", ")
    ))
}

/// Applies the rollup changes of the new rows inside the open transaction (SQLite's
/// writer does the same through its own API).
pub(super) async fn apply_rollups(
    tx: &mut PgConnection,
    course: CourseId,
    new: &[&NewActivity],
    bucketing: &Bucketing,
) -> StoreResult<()> {
    let mut deltas = RollupDeltas::from_new_events(new, &bucketing.clock);
    let day_item_views = deltas.student_day_item_views();
    let mut totals = CourseTotals::default();
    write_student_items(tx, course, &deltas, &mut totals).await?;

    // Sessions: merge the stored sessions near the new events with those events.
    if let Some(window) = deltas.time_window() {
        let gap = bucketing.session_gap_ms;
        let stored = stored_sessions(tx, course, window, gap).await?;
        let keys: HashSet<(i64, i64)> = stored.iter().map(|s| (s.0, s.1)).collect();
        let edits = deltas.settle_sessions(stored, gap, &bucketing.clock);
        write_sessions(tx, course, &edits, &keys).await?;
    }

    // Each student-day's views per item: the stored ones with these events' added, written
    // back whole with the student-day (the advisory lock keeps other writers of the course
    // out meanwhile). An item a row did not hold is that student's first view of it that
    // day.
    let changes = deltas.student_changes();
    let keys: Vec<(i64, i64)> = changes.iter().map(|(key, _)| *key).collect();
    let mut item_views = stored_student_days(tx, course, &keys).await?;
    let stored: HashSet<(i64, i64)> = item_views.keys().copied().collect();
    for (key, added) in &day_item_views {
        let stored = item_views.get(key).map_or("", String::as_str);
        let merged = add_item_views(stored, added, |item| {
            deltas.first_view(key.0, item, key.1);
        });
        item_views.insert(*key, merged);
    }
    write_content_days(tx, course, &mut deltas, &mut totals).await?;
    write_student_days(tx, course, &changes, &stored, &item_views, &mut totals).await?;

    // The course-wide rollups.
    let days: Vec<(i64, [i64; 8])> = totals.days.into_iter().collect();
    let mut query = sqlx::query(unnest_insert(ADD_COURSE_DAYS, &["bigint"; 9]))
        .bind(course)
        .bind(days.iter().map(|d| d.0).collect::<Vec<_>>());
    for column in 0..8 {
        query = query.bind(days.iter().map(|d| d.1[column]).collect::<Vec<_>>());
    }
    query.execute(&mut *tx).await?;
    let students: Vec<_> = totals.students.into_iter().collect();
    sqlx::query(unnest_insert(ADD_STUDENT_TOTALS, &["bigint"; 5]))
        .bind(course)
        .bind(students.iter().map(|s| s.0).collect::<Vec<_>>())
        .bind(students.iter().map(|s| s.1.views).collect::<Vec<_>>())
        .bind(students.iter().map(|s| s.1.sessions).collect::<Vec<_>>())
        .bind(students.iter().map(|s| s.1.active_ms).collect::<Vec<_>>())
        .bind(
            students
                .iter()
                .map(|s| s.1.last_view_day)
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    let items: Vec<(i64, (i64, i64))> = totals.items.into_iter().collect();
    sqlx::query(unnest_insert(ADD_ITEM_TOTALS, &["bigint"; 3]))
        .bind(course)
        .bind(items.iter().map(|i| i.0).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.1.0).collect::<Vec<_>>())
        .bind(items.iter().map(|i| i.1.1).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    write_student_hours(tx, course, &student_hour_deltas(new.iter().copied())).await?;
    // Each hour's views per user and item: read, merged and written back whole (the
    // advisory lock keeps other writers of the course out meanwhile).
    let deltas = course_hour_deltas(new.iter().copied());
    let hours: Vec<i64> = deltas.iter().map(|d| d.hour).collect();
    let stored: HashMap<i64, (String, String)> = sqlx::query_as::<_, (i64, String, String)>(
        "SELECT hour, user_views, item_views FROM rollup_course_hour \
         WHERE course_id = $1 AND hour = ANY($2)",
    )
    .bind(course)
    .bind(&hours)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|(hour, users, items)| (hour, (users, items)))
    .collect();
    let merged: Vec<(String, String)> = deltas
        .iter()
        .map(|d| d.merged(stored.get(&d.hour).map(|(u, i)| (u.as_str(), i.as_str()))))
        .collect();
    sqlx::query(unnest_insert(PUT_COURSE_HOURS, &["bigint", "text", "text"]))
        .bind(course)
        .bind(&hours)
        .bind(merged.iter().map(|m| m.0.as_str()).collect::<Vec<_>>())
        .bind(merged.iter().map(|m| m.1.as_str()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Each student's views per item and per day over all days, read, added to and written
/// back whole (the advisory lock keeps other writers of the course out meanwhile): an item
/// a row did not hold counts the student once towards the item's unique students.
async fn write_student_items(
    tx: &mut PgConnection,
    course: CourseId,
    deltas: &RollupDeltas,
    totals: &mut CourseTotals,
) -> StoreResult<()> {
    let students = deltas.student_views();
    let users: Vec<i64> = students.iter().map(|s| s.user).collect();
    let stored: HashMap<i64, (String, String)> = sqlx::query_as::<_, (i64, String, String)>(
        "SELECT user_id, item_views, day_views FROM rollup_student_items \
             WHERE course_id = $1 AND user_id = ANY($2)",
    )
    .bind(course)
    .bind(&users)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|(user, items, days)| (user, (items, days)))
    .collect();
    let (mut old, mut new) = (Rows::default(), Rows::default());
    for student in &students {
        let held = stored.get(&student.user);
        let (items, days) = held.map_or(("", ""), |(i, d)| (i.as_str(), d.as_str()));
        let rows = if held.is_some() { &mut old } else { &mut new };
        rows.0.push(student.user);
        rows.1.push(add_item_views(items, &student.items, |item| {
            totals.new_item_student(item)
        }));
        rows.2.push(add_item_views(days, &student.days, |_| {}));
    }
    const INSERT: &str = "INSERT INTO rollup_student_items (course_id, user_id, item_views, \
         day_views) SELECT $1, * FROM UNNEST($2::bigint[], $3::text[], $4::text[])";
    let update = format!(
        "{INSERT} ON CONFLICT (course_id, user_id) DO UPDATE SET \
         item_views = excluded.item_views, day_views = excluded.day_views"
    );
    for (sql, (users, items, days)) in [(INSERT, new), (update.as_str(), old)] {
        if users.is_empty() {
            continue;
        }
        sqlx::query(AssertSqlSafe(sql))
            .bind(course)
            .bind(users)
            .bind(items)
            .bind(days)
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Users with their merged views per item and per day, as three columns.
type Rows = (Vec<i64>, Vec<String>, Vec<String>);

/// Each day's views per item (`deltas.content`, emptied), added to the content-day rows;
/// the course-day totals learn which items were first viewed that day.
async fn write_content_days(
    tx: &mut PgConnection,
    course: CourseId,
    deltas: &mut RollupDeltas,
    totals: &mut CourseTotals,
) -> StoreResult<()> {
    let mut content: HashMap<(i64, i64), ItemDayChange> = deltas.content.drain().collect();
    let (mut keys, mut uniques, mut students) = (Vec::new(), Vec::new(), Vec::new());
    for (key, change) in &mut content {
        keys.push(*key);
        uniques.push(change.first_viewers.len() as i64);
        students.push(student_list_text(&mut change.first_viewers));
    }
    let items: Vec<i64> = keys.iter().map(|(_, item)| *item).collect();
    let groups: HashMap<i64, String> =
        sqlx::query_as("SELECT id, item_group FROM content_items WHERE id = ANY($1)")
            .bind(&items)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let created: Vec<(i64, i64, bool)> = sqlx::query_as(
        "INSERT INTO rollup_content_day (course_id, day, content_item_id, views, \
         unique_students, students) SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], \
         $4::bigint[], $5::bigint[], $6::text[]) \
         ON CONFLICT (course_id, day, content_item_id) DO UPDATE SET \
         views = rollup_content_day.views + excluded.views, \
         unique_students = rollup_content_day.unique_students + excluded.unique_students, \
         students = rollup_content_day.students || excluded.students \
         RETURNING day, content_item_id, (xmax = 0)",
    )
    .bind(course)
    .bind(keys.iter().map(|k| k.0).collect::<Vec<_>>())
    .bind(&items)
    .bind(keys.iter().map(|k| content[k].views).collect::<Vec<_>>())
    .bind(uniques)
    .bind(students)
    .fetch_all(&mut *tx)
    .await?;
    for (day, item, created) in created {
        let views = content[&(day, item)].views;
        totals.item_day(
            day,
            item,
            views,
            created,
            groups.get(&item).map(String::as_str),
        );
    }
    Ok(())
}
