//! PostgreSQL's rollup writes: a batch's new events folded into the day, item, student,
//! session and hour rollups inside the writer's transaction, a statement per table.

use foldhash::{HashMap, HashSet};
use sqlx::{AssertSqlSafe, PgConnection};

use crate::activity::clock::Bucketing;
use crate::activity::event::NewActivity;
use crate::activity::hours::{course_hour_deltas, student_hour_deltas};
use crate::activity::item_views::add_item_views;
use crate::activity::rollup::{CourseTotals, RollupDeltas};
use crate::activity::upserts::{
    ADD_COURSE_DAYS, ADD_ITEM_TOTALS, ADD_STUDENT_HOURS, ADD_STUDENT_TOTALS, PUT_COURSE_HOURS,
};
use crate::store::{CourseId, StoreResult};

/// `INSERT INTO t (course_id, …) SELECT $1, * FROM UNNEST($2::T[], …) suffix` from a
/// shared `(prefix, columns, suffix)` statement whose prefix ends in `VALUES `: the course
/// is `$1`, and every other column's array is of `types` (one per column after the course).
fn unnest_insert(
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

    // Each student's views per item over all days, read, added to and written back whole
    // (the advisory lock keeps other writers of the course out meanwhile): an item a row
    // did not hold counts the student once towards the item's unique students.
    let student_items = deltas.student_item_views();
    let users: Vec<i64> = student_items.iter().map(|(user, _)| *user).collect();
    let stored: HashMap<i64, String> = sqlx::query_as(
        "SELECT user_id, item_views FROM rollup_student_items \
         WHERE course_id = $1 AND user_id = ANY($2)",
    )
    .bind(course)
    .bind(&users)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let merged: Vec<String> = student_items
        .iter()
        .map(|(user, added)| {
            let stored = stored.get(user).map_or("", String::as_str);
            add_item_views(stored, added, |item| totals.new_item_student(item))
        })
        .collect();
    sqlx::query(
        "INSERT INTO rollup_student_items (course_id, user_id, item_views) \
         SELECT $1, * FROM UNNEST($2::bigint[], $3::text[]) \
         ON CONFLICT (course_id, user_id) DO UPDATE SET item_views = excluded.item_views",
    )
    .bind(course)
    .bind(&users)
    .bind(&merged)
    .execute(&mut *tx)
    .await?;

    // Each student-day's views per item: the stored ones with these events' added, written
    // back whole with the student-day below (the advisory lock keeps other writers of the
    // course out meanwhile). An item a row did not hold is that student's first view of it
    // that day.
    let (days, day_users): (Vec<i64>, Vec<i64>) = day_item_views.keys().copied().unzip();
    // `OFFSET 0` keeps the lookup per key: joined, the planner trusts statistics that
    // lag behind a fast-growing table and scans the course's rows instead.
    let mut item_views: HashMap<(i64, i64), String> = sqlx::query_as::<_, (i64, i64, String)>(
        "SELECT k.day, k.user_id, d.item_views \
         FROM UNNEST($2::bigint[], $3::bigint[]) AS k(day, user_id) \
         CROSS JOIN LATERAL (SELECT item_views FROM rollup_student_day d \
         WHERE d.course_id = $1 AND d.day = k.day AND d.user_id = k.user_id OFFSET 0) d",
    )
    .bind(course)
    .bind(&days)
    .bind(&day_users)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|(day, user, stored)| ((day, user), stored))
    .collect();
    for (key, added) in &day_item_views {
        let stored = item_views.get(key).map_or("", String::as_str);
        let merged = add_item_views(stored, added, |item| {
            deltas.content.entry((key.0, item)).or_default().1 += 1;
        });
        item_views.insert(*key, merged);
    }
    let content: HashMap<(i64, i64), (i64, i64)> = deltas.content.drain().collect();
    let keys: Vec<(i64, i64)> = content.keys().copied().collect();
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
         unique_students) SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], \
         $5::bigint[]) \
         ON CONFLICT (course_id, day, content_item_id) DO UPDATE SET \
         views = rollup_content_day.views + excluded.views, \
         unique_students = rollup_content_day.unique_students + excluded.unique_students \
         RETURNING day, content_item_id, (xmax = 0)",
    )
    .bind(course)
    .bind(keys.iter().map(|k| k.0).collect::<Vec<_>>())
    .bind(&items)
    .bind(keys.iter().map(|k| content[k].0).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| content[k].1).collect::<Vec<_>>())
    .fetch_all(&mut *tx)
    .await?;
    for (day, item, created) in created {
        let views = content[&(day, item)].0;
        totals.item_day(
            day,
            item,
            views,
            created,
            groups.get(&item).map(String::as_str),
        );
    }

    // Sessions: merge the stored sessions near the new events with those events.
    if let Some((low, high)) = deltas.time_window() {
        let gap = bucketing.session_gap_ms;
        let stored: Vec<(i64, i64, i64)> = sqlx::query_as(
            "SELECT user_id, started_at, last_event_at FROM student_sessions \
             WHERE course_id = $1 AND last_event_at >= $2 AND started_at <= $3",
        )
        .bind(course)
        .bind(low - gap)
        .bind(high + gap)
        .fetch_all(&mut *tx)
        .await?;
        let edits = deltas.settle_sessions(stored, gap, &bucketing.clock);
        // A session that keeps its start is updated in place by the upsert below, rather
        // than deleted and inserted again, which would check its course again.
        let kept: HashSet<(i64, i64)> = edits.added.iter().map(|s| (s.0, s.1)).collect();
        let (users, starts): (Vec<i64>, Vec<i64>) = edits
            .removed
            .iter()
            .filter(|s| !kept.contains(s))
            .copied()
            .unzip();
        // Each key looked up by itself (`OFFSET 0`), for the reason given above.
        sqlx::query(
            "DELETE FROM student_sessions WHERE ctid = ANY(ARRAY( \
             SELECT s.ctid FROM UNNEST($2::bigint[], $3::bigint[]) AS k(user_id, started_at) \
             CROSS JOIN LATERAL (SELECT ctid FROM student_sessions s WHERE s.course_id = $1 \
             AND s.user_id = k.user_id AND s.started_at = k.started_at OFFSET 0) s))",
        )
        .bind(course)
        .bind(&users)
        .bind(&starts)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO student_sessions (course_id, user_id, started_at, last_event_at) \
             SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[]) \
             ON CONFLICT (course_id, user_id, started_at) \
             DO UPDATE SET last_event_at = excluded.last_event_at",
        )
        .bind(course)
        .bind(edits.added.iter().map(|s| s.0).collect::<Vec<_>>())
        .bind(edits.added.iter().map(|s| s.1).collect::<Vec<_>>())
        .bind(edits.added.iter().map(|s| s.2).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    let student: HashMap<(i64, i64), (i64, i64, i64)> =
        deltas.student_changes().into_iter().collect();
    let keys: Vec<(i64, i64)> = student.keys().copied().collect();
    let of =
        |f: fn(&(i64, i64, i64)) -> i64| keys.iter().map(|k| f(&student[k])).collect::<Vec<_>>();
    // Each row comes back as it now is: what it was is that less this change.
    let written: Vec<(i64, i64, i64, i64, i64, String)> = sqlx::query_as(
        "INSERT INTO rollup_student_day (course_id, day, user_id, views, sessions, \
         active_ms, item_views) SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], \
         $4::bigint[], $5::bigint[], $6::bigint[], $7::text[]) \
         ON CONFLICT (course_id, day, user_id) DO UPDATE SET \
         views = rollup_student_day.views + excluded.views, \
         sessions = rollup_student_day.sessions + excluded.sessions, \
         active_ms = rollup_student_day.active_ms + excluded.active_ms, \
         item_views = CASE WHEN excluded.item_views = '' THEN rollup_student_day.item_views \
         ELSE excluded.item_views END \
         RETURNING day, user_id, views, sessions, active_ms, item_views",
    )
    .bind(course)
    .bind(keys.iter().map(|k| k.0).collect::<Vec<_>>())
    .bind(keys.iter().map(|k| k.1).collect::<Vec<_>>())
    .bind(of(|c| c.0))
    .bind(of(|c| c.1))
    .bind(of(|c| c.2))
    .bind(
        keys.iter()
            .map(|k| item_views.get(k).map_or("", String::as_str))
            .collect::<Vec<_>>(),
    )
    .fetch_all(&mut *tx)
    .await?;
    // A row left with nothing (its one session moved to the day before) goes, as a
    // recount would never write it.
    let mut emptied: (Vec<i64>, Vec<i64>) = Default::default();
    for (day, user, views, sessions, active_ms, item_views) in written {
        let change = student[&(day, user)];
        totals.student_day(day, user, change, (views - change.0, sessions - change.1));
        if (views, sessions, active_ms) == (0, 0, 0) && item_views.is_empty() {
            emptied.0.push(day);
            emptied.1.push(user);
        }
    }
    if !emptied.0.is_empty() {
        sqlx::query(
            "DELETE FROM rollup_student_day d \
             USING UNNEST($2::bigint[], $3::bigint[]) AS k(day, user_id) \
             WHERE d.course_id = $1 AND d.day = k.day AND d.user_id = k.user_id",
        )
        .bind(course)
        .bind(&emptied.0)
        .bind(&emptied.1)
        .execute(&mut *tx)
        .await?;
    }

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
    let hours = student_hour_deltas(new.iter().copied());
    sqlx::query(unnest_insert(
        ADD_STUDENT_HOURS,
        &["bigint", "bigint", "text", "text"],
    ))
    .bind(course)
    .bind(hours.iter().map(|h| h.hour).collect::<Vec<_>>())
    .bind(hours.iter().map(|h| h.user).collect::<Vec<_>>())
    .bind(
        hours
            .iter()
            .map(|h| h.item_views.as_str())
            .collect::<Vec<_>>(),
    )
    .bind(
        hours
            .iter()
            .map(|h| h.instants.as_str())
            .collect::<Vec<_>>(),
    )
    .execute(&mut *tx)
    .await?;
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
