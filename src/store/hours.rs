//! The student-hour rollup behind event windows in hours: how a span of instants is
//! counted from it exactly, and its rows read back (what new events add is
//! `activity::hours`).

use foldhash::{HashMap, HashMapExt};

use super::bulk_read::sqlite_row;
use super::{ContentItemId, CourseId, EpochMs, Store, StoreResult, UserId, on_pool};
use crate::activity::hours::{HOUR_MS, hour_of};
use crate::activity::item_views::{pairs, parse_item_views};

sqlite_row!(HourRow {
    hour,
    user_id,
    item_views,
    instants
});

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
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = HOUR_MS;

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
