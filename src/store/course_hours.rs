//! The course-hour rollup: each UTC-epoch hour's views by known users, per user and per
//! item, in one row per hour, so a window over many hours reads one row per hour.

use std::collections::BTreeMap;

use super::activity::{ActivityKind, NewActivity};
use super::hours::hour_of;
use super::rollups::{add_item_views, parse_item_views};
use super::{CourseId, Store, StoreResult, on_pool};

/// What a batch of new events adds to one course-hour row: (user, views) and (item or 0,
/// views), each in key order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CourseHourDelta {
    pub hour: i64,
    pub user_views: Vec<(i64, i64)>,
    pub item_views: Vec<(i64, i64)>,
}

impl CourseHourDelta {
    /// The row's two texts with this delta counted in (`stored`: the row's texts, if any).
    pub fn merged(&self, stored: Option<(&str, &str)>) -> (String, String) {
        let (users, items) = stored.unwrap_or_default();
        (
            add_item_views(users, &self.user_views, |_| {}),
            add_item_views(items, &self.item_views, |_| {}),
        )
    }
}

/// The course-hour additions of `events`: their views by a known user, by hour.
pub(crate) fn course_hour_deltas<'a>(
    events: impl IntoIterator<Item = &'a NewActivity>,
) -> Vec<CourseHourDelta> {
    type Counts = BTreeMap<i64, i64>;
    let mut hours: BTreeMap<i64, (Counts, Counts)> = BTreeMap::new();
    for e in events {
        let Some(user) = e.user.filter(|_| e.kind == ActivityKind::View) else {
            continue;
        };
        let (users, items) = hours.entry(hour_of(e.occurred_at)).or_default();
        *users.entry(user.0).or_default() += 1;
        *items.entry(e.content_item.map_or(0, |c| c.0)).or_default() += 1;
    }
    hours
        .into_iter()
        .map(|(hour, (users, items))| CourseHourDelta {
            hour,
            user_views: users.into_iter().collect(),
            item_views: items.into_iter().collect(),
        })
        .collect()
}

/// The upsert that writes course-hour rows whole (read, merged and written back under the
/// course's one writer): (insert prefix up to `VALUES`, number of columns, conflict clause).
pub(crate) const PUT_COURSE_HOURS: (&str, usize, &str) = (
    "INSERT INTO rollup_course_hour (course_id, hour, user_views, item_views) VALUES ",
    4,
    "ON CONFLICT (course_id, hour) DO UPDATE SET \
     user_views = excluded.user_views, item_views = excluded.item_views",
);

/// One course-hour row read back: (user, views) and (item or 0, views) in key order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CourseHour {
    pub hour: i64,
    pub user_views: Vec<(i64, i64)>,
    pub item_views: Vec<(i64, i64)>,
}

impl Store {
    /// Every course-hour row of a course, in hour order (for recounts).
    pub async fn course_hour_rollups(&self, course: CourseId) -> StoreResult<Vec<CourseHour>> {
        let rows: Vec<(i64, String, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT hour, user_views, item_views FROM rollup_course_hour \
                 WHERE course_id = $1 ORDER BY hour",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .map(|(hour, users, items)| CourseHour {
                hour,
                user_views: parse_item_views(&users),
                item_views: parse_item_views(&items),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::activity::ActivitySource;
    use crate::store::hours::HOUR_MS;
    use crate::store::{ContentItemId, EpochMs, UserId};

    #[test]
    fn an_hours_views_by_known_users_are_counted_per_user_and_item_and_merged_in() {
        let view = |user: Option<i64>, item: Option<i64>, at: i64| NewActivity {
            user: user.map(UserId),
            content_item: item.map(ContentItemId),
            kind: ActivityKind::View,
            occurred_at: EpochMs(at),
            source: ActivitySource::Caliper,
            idempotency_key: format!("{at}"),
            session_ref: None,
        };
        let events = [
            view(Some(2), Some(5), 3 * HOUR_MS),
            view(Some(1), Some(5), 3 * HOUR_MS + 1),
            view(Some(1), None, 4 * HOUR_MS - 1),
            view(None, Some(5), 3 * HOUR_MS),
        ];
        let deltas = course_hour_deltas(&events);
        assert_eq!(
            deltas,
            vec![CourseHourDelta {
                hour: 3,
                user_views: vec![(1, 2), (2, 1)],
                item_views: vec![(0, 1), (5, 2)],
            }]
        );
        assert_eq!(
            deltas[0].merged(Some(("2:4,7:1", "5:1"))),
            ("1:2,2:5,7:1".into(), "0:1,5:3".into())
        );
        assert_eq!(deltas[0].merged(None), ("1:2,2:1".into(), "0:1,5:2".into()));
    }
}
