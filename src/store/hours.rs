//! The student-hour rollup behind event windows in hours: what new events add to it, how a
//! span of instants is counted from it exactly, and its backfill from stored events.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use super::activity::{ActivityCursor, ActivityKind, NewActivity};
use super::bulk_read::sqlite_row;
use super::course_hours::course_hour_deltas;
use super::rollups::{item_views_text, parse_item_views};
use super::{ContentItemId, CourseId, EpochMs, Store, StoreResult, UserId, on_pool};

pub const HOUR_MS: i64 = 3_600_000;

/// The UTC-epoch hour an instant falls in.
pub fn hour_of(at: EpochMs) -> i64 {
    at.0.div_euclid(HOUR_MS)
}

/// What a batch of new events adds to one student-hour row, in the stored forms: views per
/// item (`item:views`, item 0 for none) and one `item:offset` pair per view.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StudentHourDelta {
    pub hour: i64,
    pub user: i64,
    pub item_views: String,
    pub instants: String,
}

sqlite_row!(HourRow {
    hour,
    user_id,
    item_views,
    instants
});

/// The student-hour additions of `events`: their views by a known user, by hour and user.
pub(crate) fn student_hour_deltas<'a>(
    events: impl IntoIterator<Item = &'a NewActivity>,
) -> Vec<StudentHourDelta> {
    let mut rows: BTreeMap<(i64, i64), Vec<(i64, i64)>> = BTreeMap::new();
    for e in events {
        let Some(user) = e.user.filter(|_| e.kind == ActivityKind::View) else {
            continue;
        };
        let item = e.content_item.map_or(0, |c| c.0);
        rows.entry((hour_of(e.occurred_at), user.0))
            .or_default()
            .push((item, e.occurred_at.0.rem_euclid(HOUR_MS)));
    }
    rows.into_iter()
        .map(|((hour, user), views)| {
            let mut per_item: BTreeMap<i64, i64> = BTreeMap::new();
            for (item, _) in &views {
                *per_item.entry(*item).or_default() += 1;
            }
            let per_item: Vec<(i64, i64)> = per_item.into_iter().collect();
            StudentHourDelta {
                hour,
                user,
                item_views: item_views_text(&per_item),
                instants: item_views_text(&views),
            }
        })
        .collect()
}

/// The upsert that adds a batch's student-hour rows: (insert prefix up to `VALUES`, number
/// of columns, conflict clause). Both texts are appended to, so no row is read first.
pub(crate) const ADD_STUDENT_HOURS: (&str, usize, &str) = (
    "INSERT INTO rollup_student_hour (course_id, hour, user_id, item_views, instants) VALUES ",
    5,
    "ON CONFLICT (course_id, hour, user_id) DO UPDATE SET \
     item_views = rollup_student_hour.item_views || ',' || excluded.item_views, \
     instants = rollup_student_hour.instants || ',' || excluded.instants",
);

/// One student-hour row as a span reads it: `instants` only when an edge of the span cuts
/// the hour (else empty).
#[derive(sqlx::FromRow)]
pub(crate) struct HourRow {
    pub hour: i64,
    pub user_id: i64,
    pub item_views: String,
    pub instants: String,
}

/// A span's views by one student of one item (`None`: views tied to no item).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ItemViews {
    pub user_id: UserId,
    pub content_item_id: Option<ContentItemId>,
    pub views: i64,
}

/// The hours the half-open span [from, to) touches, and those of them it does not cover
/// whole (`None` when it starts or ends on an hour boundary).
pub(crate) fn span_hours(from: EpochMs, to: EpochMs) -> ((i64, i64), [Option<i64>; 2]) {
    let first = hour_of(from);
    let last = hour_of(EpochMs(to.0 - 1));
    let cut = |at: EpochMs, hour: i64| (at.0.rem_euclid(HOUR_MS) != 0).then_some(hour);
    ((first, last), [cut(from, first), cut(to, last)])
}

/// Counts the views in [from, to) from the rows of the hours it touches: an hour it covers
/// whole by its views per item, an hour it cuts by the instants of its views.
pub(crate) fn count_span(rows: &[HourRow], from: EpochMs, to: EpochMs) -> Vec<ItemViews> {
    let (_, cut) = span_hours(from, to);
    let mut views: HashMap<(i64, i64), i64> = HashMap::new();
    for row in rows {
        if cut.contains(&Some(row.hour)) {
            let start = row.hour * HOUR_MS;
            for (item, offset) in pairs(&row.instants) {
                if (from.0..to.0).contains(&(start + offset)) {
                    *views.entry((row.user_id, item)).or_default() += 1;
                }
            }
        } else {
            for (item, n) in pairs(&row.item_views) {
                *views.entry((row.user_id, item)).or_default() += n;
            }
        }
    }
    let mut counted: Vec<ItemViews> = views
        .into_iter()
        .map(|((user, item), views)| ItemViews {
            user_id: UserId(user),
            content_item_id: (item != 0).then_some(ContentItemId(item)),
            views,
        })
        .collect();
    counted.sort_unstable();
    counted
}

/// The `a:b` pairs of a stored text, in stored order; only cloop writes these columns, so
/// a pair that does not parse is skipped. Read byte by byte: an event window's page reads
/// a hundred thousand of them.
pub(crate) fn pairs(text: &str) -> impl Iterator<Item = (i64, i64)> + '_ {
    text.as_bytes().split(|&b| b == b',').filter_map(|pair| {
        let colon = pair.iter().position(|&b| b == b':')?;
        Some((integer(&pair[..colon])?, integer(&pair[colon + 1..])?))
    })
}

/// A decimal integer as cloop writes them (digits, perhaps after a minus sign).
fn integer(text: &[u8]) -> Option<i64> {
    let (sign, digits) = match text {
        [b'-', rest @ ..] => (-1, rest),
        _ => (1, text),
    };
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(d - b'0');
    }
    Some(sign * n)
}

/// One student-hour row, its texts read back: views per item by item, and the
/// (item, instant) of each view in time order.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StudentHour {
    pub hour: i64,
    pub user_id: i64,
    pub item_views: Vec<(i64, i64)>,
    pub instants: Vec<(i64, i64)>,
}

impl Store {
    /// Every student-hour row of a course, ordered by hour and user (for recounts).
    pub async fn student_hour_rollups(&self, course: CourseId) -> StoreResult<Vec<StudentHour>> {
        let rows: Vec<HourRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT hour, user_id, item_views, instants FROM rollup_student_hour \
                 WHERE course_id = $1 ORDER BY hour, user_id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let start = row.hour * HOUR_MS;
                let mut instants: Vec<(i64, i64)> = pairs(&row.instants)
                    .map(|(item, offset)| (start + offset, item))
                    .collect();
                instants.sort_unstable();
                StudentHour {
                    hour: row.hour,
                    user_id: row.user_id,
                    item_views: parse_item_views(&row.item_views),
                    instants: instants.into_iter().map(|(at, item)| (item, at)).collect(),
                }
            })
            .collect())
    }

    /// Counts the student-hour and course-hour rows of the courses migration 0022 listed
    /// (their events predate the rollups), one course per transaction, reading its events a
    /// page at a time.
    pub(super) async fn backfill_student_hours(&self) -> StoreResult<()> {
        let courses: Vec<CourseId> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT course_id FROM pending_hour_backfill")
                .fetch_all(pool)
                .await
        })?;
        for course in courses {
            let mut views = Vec::new();
            let mut cursor = ActivityCursor::default();
            loop {
                let page = self.activity_page(course, &mut cursor).await?;
                if page.is_empty() {
                    break;
                }
                views.extend(
                    page.into_iter()
                        .filter(|e| e.kind == ActivityKind::View.as_str())
                        .map(|e| NewActivity {
                            user: e.user_id,
                            content_item: e.content_item_id,
                            kind: ActivityKind::View,
                            occurred_at: e.occurred_at,
                            source: super::activity::ActivitySource::Caliper,
                            idempotency_key: e.idempotency_key,
                            session_ref: None,
                        }),
                );
            }
            let rows = student_hour_deltas(&views);
            let course_hours = course_hour_deltas(&views);
            on_pool!(self, pool => {
                let mut tx = pool.begin().await?;
                for table in ["rollup_student_hour", "rollup_course_hour"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE course_id = $1"
                    )))
                    .bind(course)
                    .execute(&mut *tx)
                    .await?;
                }
                for delta in &course_hours {
                    let (users, items) = delta.merged(None);
                    sqlx::query(
                        "INSERT INTO rollup_course_hour (course_id, hour, user_views, item_views) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(course)
                    .bind(delta.hour)
                    .bind(users)
                    .bind(items)
                    .execute(&mut *tx)
                    .await?;
                }
                for row in &rows {
                    sqlx::query(
                        "INSERT INTO rollup_student_hour (course_id, hour, user_id, item_views, \
                         instants) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(course)
                    .bind(row.hour)
                    .bind(row.user)
                    .bind(&row.item_views)
                    .bind(&row.instants)
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("DELETE FROM pending_hour_backfill WHERE course_id = $1")
                    .bind(course)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_read_what_cloop_writes_and_skip_the_rest() {
        let read: Vec<(i64, i64)> =
            pairs("12:3,0:7,-4:1,x:2,5:,:6,9:10,1234567890123:42").collect();
        assert_eq!(
            read,
            [(12, 3), (0, 7), (-4, 1), (9, 10), (1_234_567_890_123, 42)]
        );
        assert_eq!(pairs("").count(), 0);
    }
    use crate::store::activity::ActivitySource;

    const H: i64 = HOUR_MS;

    fn view(user: Option<i64>, item: Option<i64>, at: i64) -> NewActivity {
        NewActivity {
            user: user.map(UserId),
            content_item: item.map(ContentItemId),
            kind: ActivityKind::View,
            occurred_at: EpochMs(at),
            source: ActivitySource::Caliper,
            idempotency_key: format!("{at}"),
            session_ref: None,
        }
    }

    #[test]
    fn views_by_known_students_go_to_their_utc_hour_with_their_offsets() {
        let mut post = view(Some(1), Some(5), 10 * H + 3);
        post.kind = ActivityKind::Post;
        let events = [
            view(Some(1), Some(5), 10 * H + 7),
            view(Some(1), None, 10 * H + H - 1),
            view(Some(1), Some(5), 10 * H + 2),
            view(Some(1), Some(5), 11 * H),
            view(None, Some(5), 10 * H),
            post,
        ];
        assert_eq!(
            student_hour_deltas(&events),
            vec![
                StudentHourDelta {
                    hour: 10,
                    user: 1,
                    item_views: "0:1,5:2".into(),
                    instants: "5:7,0:3599999,5:2".into(),
                },
                StudentHourDelta {
                    hour: 11,
                    user: 1,
                    item_views: "5:1".into(),
                    instants: "5:0".into(),
                },
            ]
        );
    }

    #[test]
    fn a_span_on_hour_boundaries_cuts_no_hour() {
        assert_eq!(
            span_hours(EpochMs(10 * H), EpochMs(12 * H)),
            ((10, 11), [None, None])
        );
        assert_eq!(
            span_hours(EpochMs(10 * H + 1), EpochMs(12 * H - 1)),
            ((10, 11), [Some(10), Some(11)])
        );
        assert_eq!(
            span_hours(EpochMs(10 * H + 5), EpochMs(10 * H + 9)),
            ((10, 10), [Some(10), Some(10)])
        );
    }

    #[test]
    fn a_cut_hour_counts_only_the_views_inside_the_span() {
        let row = |hour: i64, item_views: &str, instants: &str| HourRow {
            hour,
            user_id: 1,
            item_views: item_views.into(),
            instants: instants.into(),
        };
        // Appended texts repeat an item; hour 10 is whole, 9 and 11 are cut 30 min in.
        let rows = [
            row(9, "", "5:1799999,5:1800000,0:3599999"),
            row(10, "5:2,0:1,5:1", ""),
            row(11, "", "5:1799999,5:1800000"),
        ];
        let from = EpochMs(9 * H + H / 2);
        let counted = count_span(&rows, from, EpochMs(from.0 + 2 * H));
        let of = |item: Option<i64>| ItemViews {
            user_id: UserId(1),
            content_item_id: item.map(ContentItemId),
            views: 0,
        };
        assert_eq!(
            counted,
            vec![
                ItemViews {
                    views: 2,
                    ..of(None)
                },
                ItemViews {
                    views: 5,
                    ..of(Some(5))
                },
            ]
        );
    }
}
