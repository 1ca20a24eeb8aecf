//! How new events change the hour rollups, as pure arithmetic: each student's views per
//! UTC-epoch hour (with each view's instant, for spans that cut an hour), and each hour's
//! views per user and per item.

use std::collections::BTreeMap;

use super::event::{ActivityKind, NewActivity};
use super::item_views::{add_item_views, item_views_text};
use crate::store::EpochMs;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::ActivitySource;
    use crate::store::{ContentItemId, UserId};

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
    fn an_hours_views_by_known_users_are_counted_per_user_and_item_and_merged_in() {
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
