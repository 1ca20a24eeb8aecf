//! PostgreSQL's per-student rollup rows (student-days, sessions, student-hours): the keys a
//! batch touches are looked up first, under the course's lock, so rows that are new go in
//! by plain `INSERT` and only the stored ones take the slower `ON CONFLICT` upsert.

use foldhash::{HashMap, HashSet};
use sqlx::PgConnection;

use super::rollups::unnest_insert;
use crate::activity::hours::StudentHourDelta;
use crate::activity::rollup::{CourseTotals, SessionEdits};
use crate::activity::upserts::ADD_STUDENT_HOURS;
use crate::store::{CourseId, StoreResult};

/// A student-day's (views, sessions, active ms) change.
type Change = (i64, i64, i64);

/// The stored item views of the student-days among `keys` (day, user); a key with no row
/// is absent.
pub(super) async fn stored_student_days(
    tx: &mut PgConnection,
    course: CourseId,
    keys: &[(i64, i64)],
) -> StoreResult<HashMap<(i64, i64), String>> {
    let (days, users): (Vec<i64>, Vec<i64>) = keys.iter().copied().unzip();
    // `OFFSET 0` keeps the lookup per key: joined, the planner trusts statistics that
    // lag behind a fast-growing table and scans the course's rows instead.
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT k.day, k.user_id, d.item_views \
         FROM UNNEST($2::bigint[], $3::bigint[]) AS k(day, user_id) \
         CROSS JOIN LATERAL (SELECT item_views FROM rollup_student_day d \
         WHERE d.course_id = $1 AND d.day = k.day AND d.user_id = k.user_id OFFSET 0) d",
    )
    .bind(course)
    .bind(&days)
    .bind(&users)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(day, user, views)| ((day, user), views))
        .collect())
}

/// Writes the student-day `changes` with their item views (`item_views`, whole); `stored`
/// are the keys that have a row. Counts each change into `totals` with the row it changed.
pub(super) async fn write_student_days(
    tx: &mut PgConnection,
    course: CourseId,
    changes: &[((i64, i64), Change)],
    stored: &HashSet<(i64, i64)>,
    item_views: &HashMap<(i64, i64), String>,
    totals: &mut CourseTotals,
) -> StoreResult<()> {
    let views_of = |key: &(i64, i64)| item_views.get(key).map_or("", String::as_str);
    type Row<'a> = &'a ((i64, i64), Change);
    let (old, new): (Vec<Row>, Vec<Row>) =
        changes.iter().partition(|(key, _)| stored.contains(key));
    for ((day, user), change) in &new {
        totals.student_day(*day, *user, *change, (0, 0));
    }
    let columns = |rows: &[Row]| {
        let of = |f: fn(Row) -> i64| -> Vec<i64> { rows.iter().map(|r| f(r)).collect() };
        let views: Vec<&str> = rows.iter().map(|(key, _)| views_of(key)).collect();
        (
            of(|r| r.0.0),
            of(|r| r.0.1),
            of(|r| r.1.0),
            of(|r| r.1.1),
            of(|r| r.1.2),
            views,
        )
    };
    if !new.is_empty() {
        let (days, users, views, sessions, active, items) = columns(&new);
        sqlx::query(
            "INSERT INTO rollup_student_day (course_id, day, user_id, views, sessions, \
         active_ms, item_views) SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], \
         $4::bigint[], $5::bigint[], $6::bigint[], $7::text[])",
        )
        .bind(course)
        .bind(days)
        .bind(users)
        .bind(views)
        .bind(sessions)
        .bind(active)
        .bind(items)
        .execute(&mut *tx)
        .await?;
    }
    if old.is_empty() {
        return Ok(());
    }

    // Stored rows come back as they now are: what they were is that less this change.
    let (days, users, views, sessions, active, items) = columns(&old);
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
    .bind(days)
    .bind(users)
    .bind(views)
    .bind(sessions)
    .bind(active)
    .bind(items)
    .fetch_all(&mut *tx)
    .await?;
    let change_of: HashMap<(i64, i64), Change> = old.into_iter().copied().collect();
    // A row left with nothing (its one session moved to the day before) goes, as a
    // recount would never write it.
    let mut emptied: (Vec<i64>, Vec<i64>) = Default::default();
    for (day, user, views, sessions, active_ms, item_views) in written {
        let change = change_of[&(day, user)];
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
    Ok(())
}

/// The stored sessions near new events at `low..=high` (with the session gap either side),
/// as (user, first, last event).
pub(super) async fn stored_sessions(
    tx: &mut PgConnection,
    course: CourseId,
    (low, high): (i64, i64),
    gap: i64,
) -> StoreResult<Vec<(i64, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT user_id, started_at, last_event_at FROM student_sessions \
         WHERE course_id = $1 AND last_event_at >= $2 AND started_at <= $3",
    )
    .bind(course)
    .bind(low - gap)
    .bind(high + gap)
    .fetch_all(&mut *tx)
    .await?)
}

/// Applies `edits` to the sessions; `stored` are the keys (user, first event) that have a
/// row, every one an edit can name.
pub(super) async fn write_sessions(
    tx: &mut PgConnection,
    course: CourseId,
    edits: &SessionEdits,
    stored: &HashSet<(i64, i64)>,
) -> StoreResult<()> {
    // A session that keeps its start is updated in place, rather than deleted and
    // inserted again.
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
    let (old, new): (Vec<&(i64, i64, i64)>, Vec<_>) = edits
        .added
        .iter()
        .partition(|s| stored.contains(&(s.0, s.1)));
    const INSERT: &str = "INSERT INTO student_sessions (course_id, user_id, started_at, \
         last_event_at) SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[])";
    let update = format!(
        "{INSERT} ON CONFLICT (course_id, user_id, started_at) \
         DO UPDATE SET last_event_at = excluded.last_event_at"
    );
    for (sql, rows) in [(INSERT, new), (update.as_str(), old)] {
        if rows.is_empty() {
            continue;
        }
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(course)
            .bind(rows.iter().map(|s| s.0).collect::<Vec<_>>())
            .bind(rows.iter().map(|s| s.1).collect::<Vec<_>>())
            .bind(rows.iter().map(|s| s.2).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}

/// Adds the student-hour rows of a batch: those of hours and users with no row yet by
/// plain insert, the others appended to.
pub(super) async fn write_student_hours(
    tx: &mut PgConnection,
    course: CourseId,
    hours: &[StudentHourDelta],
) -> StoreResult<()> {
    let mut touched: Vec<i64> = hours.iter().map(|h| h.hour).collect();
    touched.sort_unstable();
    touched.dedup();
    let stored: HashSet<(i64, i64)> = sqlx::query_as(
        "SELECT hour, user_id FROM rollup_student_hour WHERE course_id = $1 AND hour = ANY($2)",
    )
    .bind(course)
    .bind(&touched)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let (old, new): (Vec<&StudentHourDelta>, Vec<_>) = hours
        .iter()
        .partition(|h| stored.contains(&(h.hour, h.user)));
    let (prefix, columns, suffix) = ADD_STUDENT_HOURS;
    let types = ["bigint", "bigint", "text", "text"];
    for (sql, rows) in [
        (unnest_insert((prefix, columns, ""), &types), new),
        (unnest_insert((prefix, columns, suffix), &types), old),
    ] {
        if rows.is_empty() {
            continue;
        }
        sqlx::query(sql)
            .bind(course)
            .bind(rows.iter().map(|h| h.hour).collect::<Vec<_>>())
            .bind(rows.iter().map(|h| h.user).collect::<Vec<_>>())
            .bind(
                rows.iter()
                    .map(|h| h.item_views.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(rows.iter().map(|h| h.instants.as_str()).collect::<Vec<_>>())
            .execute(&mut *tx)
            .await?;
    }
    Ok(())
}
