//! The day rollups: how new events change them (pure, so it can be tested alone), how a
//! student's sessions merge when events arrive in any order, and reads of the results.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt, HashSet};

use serde::Serialize;

use super::activity::{ActivityCursor, ActivityKind, NewActivity};
use super::{CourseId, EpochMs, Store, StoreResult, on_pool};

/// A change to one student-day rollup row: (day, user) → (views, sessions, active ms).
pub(crate) type StudentDayChange = ((i64, i64), (i64, i64, i64));

/// Stored sessions to delete (user, first event) and to insert (user, first, last event).
#[derive(Default)]
pub(crate) struct SessionEdits {
    pub removed: Vec<(i64, i64)>,
    pub added: Vec<(i64, i64, i64)>,
}

/// What a set of new events adds to the rollups, before unique students and sessions are
/// settled against what is stored.
#[derive(Default)]
pub(crate) struct RollupDeltas {
    /// (day, content item or 0) → (views, new unique students)
    pub content: HashMap<(i64, i64), (i64, i64)>,
    /// (day, content item or 0, user) → views in these events.
    pub content_students: HashMap<(i64, i64, i64), i64>,
    /// (day, user) → (views, sessions, active ms)
    pub student: HashMap<(i64, i64), (i64, i64, i64)>,
    /// user → the instants of their new events, any kind.
    pub user_times: HashMap<i64, Vec<i64>>,
}

impl RollupDeltas {
    pub fn from_new_events(
        events: &[&NewActivity],
        day_of: &(dyn Fn(EpochMs) -> i64 + Sync),
    ) -> Self {
        let mut deltas = Self::default();
        for e in events {
            let user = e.user.map(|u| u.0);
            if let Some(user) = user {
                deltas
                    .user_times
                    .entry(user)
                    .or_default()
                    .push(e.occurred_at.0);
            }
            if e.kind != ActivityKind::View {
                continue;
            }
            let day = day_of(e.occurred_at);
            let item = e.content_item.map_or(0, |c| c.0);
            deltas.content.entry((day, item)).or_default().0 += 1;
            if let Some(user) = user {
                *deltas
                    .content_students
                    .entry((day, item, user))
                    .or_default() += 1;
                deltas.student.entry((day, user)).or_default().0 += 1;
            }
        }
        deltas
    }

    /// (day, user) → (content item or 0, views) in these events.
    pub fn student_day_item_views(&self) -> HashMap<(i64, i64), Vec<(i64, i64)>> {
        let mut views: HashMap<(i64, i64), Vec<(i64, i64)>> = HashMap::new();
        for ((day, item, user), n) in &self.content_students {
            views.entry((*day, *user)).or_default().push((*item, *n));
        }
        views
    }

    /// user → (content item or 0, views) in these events, over all their days, in user
    /// order.
    pub fn student_item_views(&self) -> Vec<(i64, Vec<(i64, i64)>)> {
        let mut views: HashMap<(i64, i64), i64> = HashMap::new();
        for ((_, item, user), n) in &self.content_students {
            *views.entry((*user, *item)).or_default() += n;
        }
        let mut pairs: Vec<((i64, i64), i64)> = views.into_iter().collect();
        pairs.sort_unstable();
        pairs
            .chunk_by(|a, b| a.0.0 == b.0.0)
            .map(|student| {
                let items = student.iter().map(|((_, item), n)| (*item, *n)).collect();
                (student[0].0.0, items)
            })
            .collect()
    }

    /// Settles the sessions of the users with new events against their stored sessions
    /// near those events (`stored`: user, first, last event): folds the change into the
    /// student-day deltas and returns the stored sessions to delete and to insert.
    pub fn settle_sessions(
        &mut self,
        stored: Vec<(i64, i64, i64)>,
        gap: i64,
        day_of: &(dyn Fn(EpochMs) -> i64 + Sync),
    ) -> SessionEdits {
        let mut by_user: HashMap<i64, Vec<(i64, i64)>> = HashMap::new();
        for (user, start, last) in stored {
            if self.user_times.contains_key(&user) {
                by_user.entry(user).or_default().push((start, last));
            }
        }
        let mut edits = SessionEdits::default();
        for (user, times) in &self.user_times {
            let old = by_user.remove(user).unwrap_or_default();
            let change = merge_sessions(&old, times, gap);
            for (start, last) in change.removed {
                let entry = self
                    .student
                    .entry((day_of(EpochMs(start)), *user))
                    .or_default();
                entry.1 -= 1;
                entry.2 -= last - start;
                edits.removed.push((*user, start));
            }
            for (start, last) in change.added {
                let entry = self
                    .student
                    .entry((day_of(EpochMs(start)), *user))
                    .or_default();
                entry.1 += 1;
                entry.2 += last - start;
                edits.added.push((*user, start, last));
            }
        }
        edits
    }

    /// The student-day changes that change anything.
    pub fn student_changes(&mut self) -> Vec<StudentDayChange> {
        self.student
            .drain()
            .filter(|(_, d)| *d != (0, 0, 0))
            .collect()
    }

    /// The earliest and latest new event of any user.
    pub fn time_window(&self) -> Option<(i64, i64)> {
        let times = self.user_times.values().flatten();
        let low = times.clone().min()?;
        let high = times.max()?;
        Some((*low, *high))
    }
}

/// A student's views per item on one day as `rollup_student_day.item_views` keeps them:
/// `item:views` pairs joined by commas, in item order when cloop's writers wrote them, in
/// any order when SQL did. Returns the pairs by item, each item once; only cloop writes
/// the column, so a pair that does not parse is skipped rather than reported.
pub(crate) fn parse_item_views(text: &str) -> Vec<(i64, i64)> {
    let mut views: Vec<(i64, i64)> = text
        .split(',')
        .filter_map(|pair| {
            let (item, n) = pair.split_once(':')?;
            Some((item.trim().parse().ok()?, n.trim().parse().ok()?))
        })
        .collect();
    views.sort_unstable();
    views.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 += later.1;
        }
        same
    });
    views
}

/// `stored` (see [`parse_item_views`]) with `added` (item, views) counted in; `first_view`
/// is told each item that `stored` did not hold (the student's first view of it that day).
pub(crate) fn add_item_views(
    stored: &str,
    added: &[(i64, i64)],
    mut first_view: impl FnMut(i64),
) -> String {
    let mut views = parse_item_views(stored);
    for (item, n) in added {
        match views.binary_search_by_key(item, |(i, _)| *i) {
            Ok(at) => views[at].1 += n,
            Err(at) => {
                first_view(*item);
                views.insert(at, (*item, *n));
            }
        }
    }
    item_views_text(&views)
}

/// `views` (item, views) in `rollup_student_day.item_views`'s form.
pub(crate) fn item_views_text(views: &[(i64, i64)]) -> String {
    let mut text = String::with_capacity(views.len() * 10);
    let mut digits = itoa::Buffer::new();
    for (item, n) in views {
        if !text.is_empty() {
            text.push(',');
        }
        text.push_str(digits.format(*item));
        text.push(':');
        text.push_str(digits.format(*n));
    }
    text
}

/// Upserts of the course-wide rollups that add a batch's changes: (insert prefix up to
/// `VALUES`, number of columns, conflict clause).
pub(crate) const ADD_COURSE_DAYS: (&str, usize, &str) = (
    "INSERT INTO rollup_course_day (course_id, day, content_views, communication_views, \
     assessment_views, pages_viewed, active_students, views, sessions, active_ms) VALUES ",
    10,
    "ON CONFLICT (course_id, day) DO UPDATE SET \
     content_views = rollup_course_day.content_views + excluded.content_views, \
     communication_views = rollup_course_day.communication_views + excluded.communication_views, \
     assessment_views = rollup_course_day.assessment_views + excluded.assessment_views, \
     pages_viewed = rollup_course_day.pages_viewed + excluded.pages_viewed, \
     active_students = rollup_course_day.active_students + excluded.active_students, \
     views = rollup_course_day.views + excluded.views, \
     sessions = rollup_course_day.sessions + excluded.sessions, \
     active_ms = rollup_course_day.active_ms + excluded.active_ms",
);
pub(crate) const ADD_STUDENT_TOTALS: (&str, usize, &str) = (
    "INSERT INTO rollup_student_total (course_id, user_id, views, sessions, active_ms, \
     last_view_day) VALUES ",
    6,
    "ON CONFLICT (course_id, user_id) DO UPDATE SET \
     views = rollup_student_total.views + excluded.views, \
     sessions = rollup_student_total.sessions + excluded.sessions, \
     active_ms = rollup_student_total.active_ms + excluded.active_ms, \
     last_view_day = CASE WHEN rollup_student_total.last_view_day IS NULL \
         OR excluded.last_view_day > rollup_student_total.last_view_day \
         THEN excluded.last_view_day ELSE rollup_student_total.last_view_day END",
);
pub(crate) const ADD_ITEM_TOTALS: (&str, usize, &str) = (
    "INSERT INTO rollup_item_total (course_id, content_item_id, views, unique_students) VALUES ",
    4,
    "ON CONFLICT (course_id, content_item_id) DO UPDATE SET \
     views = rollup_item_total.views + excluded.views, \
     unique_students = rollup_item_total.unique_students + excluded.unique_students",
);

/// What one batch adds to a student's `rollup_student_total` row.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct StudentTotalChange {
    pub views: i64,
    pub sessions: i64,
    pub active_ms: i64,
    /// The latest day of the batch on which the student viewed a page.
    pub last_view_day: Option<i64>,
}

/// What one batch changes in the course-wide rollups, gathered while the day rollups are
/// written (which rows they create is only known then).
#[derive(Default)]
pub(crate) struct CourseTotals {
    /// day → the `rollup_course_day` columns after the key, in `ADD_COURSE_DAYS` order.
    pub days: HashMap<i64, [i64; 8]>,
    pub students: HashMap<i64, StudentTotalChange>,
    /// item → (views, new unique students)
    pub items: HashMap<i64, (i64, i64)>,
}

impl CourseTotals {
    /// Views of an item on a day (`created`: the item's first views that day); `group` is
    /// the item's group (`None` for views tied to no item, which count as content).
    pub fn item_day(
        &mut self,
        day: i64,
        item: i64,
        views: i64,
        created: bool,
        group: Option<&str>,
    ) {
        let row = self.days.entry(day).or_default();
        let column = match group {
            Some("communication") => 1,
            Some("assessment") => 2,
            _ => 0,
        };
        row[column] += views;
        // Pages viewed counts items, not views tied to no item.
        row[3] += i64::from(created && item != 0);
        self.items.entry(item).or_default().0 += views;
    }

    /// A student seen viewing an item for the first time on any day.
    pub fn new_item_student(&mut self, item: i64) {
        self.items.entry(item).or_default().1 += 1;
    }

    /// A student-day change (`created`: the student's first activity that day).
    pub fn student_day(&mut self, day: i64, user: i64, change: (i64, i64, i64), created: bool) {
        let row = self.days.entry(day).or_default();
        row[4] += i64::from(created);
        row[5] += change.0;
        row[6] += change.1;
        row[7] += change.2;
        let total = self.students.entry(user).or_default();
        total.views += change.0;
        total.sessions += change.1;
        total.active_ms += change.2;
        if change.0 > 0 {
            total.last_view_day = total.last_view_day.max(Some(day));
        }
    }
}

/// Sessions (first, last event) that disappear and appear when events are added.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SessionChange {
    pub removed: Vec<(i64, i64)>,
    pub added: Vec<(i64, i64)>,
}

/// Merges a user's stored sessions with new event instants. A session is a run of events
/// with no gap over `gap` ms; stored sessions are such runs already, so treating each as
/// an interval and merging intervals whose distance is at most `gap` gives exactly the
/// sessions of all the events together. Adding events only ever joins sessions.
pub(crate) fn merge_sessions(stored: &[(i64, i64)], new: &[i64], gap: i64) -> SessionChange {
    let mut spans: Vec<(i64, i64)> = stored.to_vec();
    spans.extend(new.iter().map(|t| (*t, *t)));
    spans.sort_unstable();
    let mut merged: Vec<(i64, i64)> = Vec::new();
    for (start, last) in spans {
        match merged.last_mut() {
            Some(current) if start - current.1 <= gap => current.1 = current.1.max(last),
            _ => merged.push((start, last)),
        }
    }
    let before: HashSet<(i64, i64)> = stored.iter().copied().collect();
    let after: HashSet<(i64, i64)> = merged.iter().copied().collect();
    SessionChange {
        removed: stored
            .iter()
            .copied()
            .filter(|s| !after.contains(s))
            .collect(),
        added: merged.into_iter().filter(|s| !before.contains(s)).collect(),
    }
}

/// One row of the course × day × content item rollup.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, sqlx::FromRow)]
pub struct ContentDay {
    pub day: i64,
    pub content_item_id: i64,
    pub views: i64,
    pub unique_students: i64,
}

/// One row of the course × day × student rollup.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, sqlx::FromRow)]
pub struct StudentDay {
    pub day: i64,
    pub user_id: i64,
    pub views: i64,
    pub sessions: i64,
    pub active_ms: i64,
}

/// Statements that derive a course's course-wide rollups from its day rollups, in order;
/// each student's views per item (`rollup_student_items`) and the items' unique students
/// are counted after them, in Rust, from the student-days' `item_views`.
const REBUILD_COURSE_ROLLUPS: [&str; 7] = [
    "DELETE FROM rollup_course_day WHERE course_id = $1",
    "DELETE FROM rollup_student_total WHERE course_id = $1",
    "DELETE FROM rollup_item_total WHERE course_id = $1",
    "DELETE FROM rollup_student_items WHERE course_id = $1",
    "INSERT INTO rollup_course_day (course_id, day, content_views, communication_views, \
     assessment_views, pages_viewed) SELECT r.course_id, r.day, \
     SUM(CASE WHEN ci.item_group IN ('communication', 'assessment') THEN 0 ELSE r.views END), \
     SUM(CASE WHEN ci.item_group = 'communication' THEN r.views ELSE 0 END), \
     SUM(CASE WHEN ci.item_group = 'assessment' THEN r.views ELSE 0 END), \
     SUM(CASE WHEN r.content_item_id <> 0 AND r.views > 0 THEN 1 ELSE 0 END) \
     FROM rollup_content_day r LEFT JOIN content_items ci ON ci.id = r.content_item_id \
     WHERE r.course_id = $1 GROUP BY r.course_id, r.day",
    "INSERT INTO rollup_course_day (course_id, day, active_students, views, sessions, active_ms) \
     SELECT course_id, day, COUNT(*), SUM(views), SUM(sessions), SUM(active_ms) \
     FROM rollup_student_day WHERE course_id = $1 GROUP BY course_id, day \
     ON CONFLICT (course_id, day) DO UPDATE SET active_students = excluded.active_students, \
     views = excluded.views, sessions = excluded.sessions, active_ms = excluded.active_ms",
    "INSERT INTO rollup_student_total (course_id, user_id, views, sessions, active_ms, \
     last_view_day) SELECT course_id, user_id, SUM(views), SUM(sessions), SUM(active_ms), \
     MAX(CASE WHEN views > 0 THEN day END) \
     FROM rollup_student_day WHERE course_id = $1 GROUP BY course_id, user_id",
];

/// The items' views from their days; their unique students are set after.
const REBUILD_ITEM_TOTALS: &str = "INSERT INTO rollup_item_total (course_id, content_item_id, \
     views, unique_students) SELECT course_id, content_item_id, SUM(views), 0 \
     FROM rollup_content_day WHERE course_id = $1 GROUP BY course_id, content_item_id";

impl Store {
    /// Derives the course's course-wide rollups afresh from its day rollups, in one
    /// transaction: for day rollups written by other means (a benchmark's seed, a repair).
    pub async fn rebuild_course_rollups(&self, course: CourseId) -> StoreResult<()> {
        on_pool!(self, pool => {
            let mut tx = pool.begin().await?;
            for statement in REBUILD_COURSE_ROLLUPS {
                sqlx::query(statement).bind(course).execute(&mut *tx).await?;
            }
            let days: Vec<(i64, String)> = sqlx::query_as(
                "SELECT user_id, item_views FROM rollup_student_day \
                 WHERE course_id = $1 AND item_views <> ''",
            )
            .bind(course)
            .fetch_all(&mut *tx)
            .await?;
            // user → item → views over all days.
            let mut views: BTreeMap<i64, BTreeMap<i64, i64>> = BTreeMap::new();
            for (user, text) in &days {
                let student = views.entry(*user).or_default();
                for (item, n) in parse_item_views(text) {
                    *student.entry(item).or_default() += n;
                }
            }
            let mut students_of_item: HashMap<i64, i64> = HashMap::new();
            for (user, items) in &views {
                for item in items.keys() {
                    *students_of_item.entry(*item).or_default() += 1;
                }
                let items: Vec<(i64, i64)> = items.iter().map(|(i, n)| (*i, *n)).collect();
                sqlx::query(
                    "INSERT INTO rollup_student_items (course_id, user_id, item_views) \
                     VALUES ($1, $2, $3)",
                )
                .bind(course)
                .bind(user)
                .bind(item_views_text(&items))
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(REBUILD_ITEM_TOTALS).bind(course).execute(&mut *tx).await?;
            for (item, students) in students_of_item {
                sqlx::query(
                    "UPDATE rollup_item_total SET unique_students = $3 \
                     WHERE course_id = $1 AND content_item_id = $2",
                )
                .bind(course)
                .bind(item)
                .bind(students)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    /// Counts each student's views of each item per day for the courses migration 0011
    /// listed (their rows predate the count) into the student-days' `item_views`, one
    /// course per transaction, reading the course's events a page at a time.
    pub(super) async fn backfill_student_item_views(&self) -> StoreResult<()> {
        let courses: Vec<CourseId> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT course_id FROM pending_view_backfill")
                .fetch_all(pool)
                .await
        })?;
        for course in courses {
            let clock = super::clock::CourseClock::or_utc(&self.course(course).await?.time_zone);
            // (day, user, item) → views: one entry per student-item-day, not per event.
            let mut views: HashMap<(i64, i64, i64), i64> = HashMap::new();
            let mut cursor = ActivityCursor::default();
            loop {
                let page = self.activity_page(course, &mut cursor).await?;
                if page.is_empty() {
                    break;
                }
                for e in page
                    .iter()
                    .filter(|e| e.kind == ActivityKind::View.as_str())
                {
                    if let Some(user) = e.user_id {
                        let day = clock.day_of(e.occurred_at);
                        let item = e.content_item_id.map_or(0, |c| c.0);
                        *views.entry((day, user.0, item)).or_default() += 1;
                    }
                }
            }
            on_pool!(self, pool => {
                let mut tx = pool.begin().await?;
                sqlx::query("UPDATE rollup_student_day SET item_views = '' WHERE course_id = $1")
                    .bind(course)
                    .execute(&mut *tx)
                    .await?;
                let mut counted: Vec<((i64, i64, i64), i64)> = views.drain().collect();
                counted.sort_unstable();
                for student_day in counted.chunk_by(|a, b| (a.0.0, a.0.1) == (b.0.0, b.0.1)) {
                    let (day, user, _) = student_day[0].0;
                    let items: Vec<(i64, i64)> =
                        student_day.iter().map(|((_, _, item), n)| (*item, *n)).collect();
                    sqlx::query(
                        "UPDATE rollup_student_day SET item_views = $4 \
                         WHERE course_id = $1 AND day = $2 AND user_id = $3",
                    )
                    .bind(course)
                    .bind(day)
                    .bind(user)
                    .bind(item_views_text(&items))
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("DELETE FROM pending_view_backfill WHERE course_id = $1")
                    .bind(course)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            })?;
        }
        Ok(())
    }

    /// Every content-day rollup row of a course, ordered by day and item.
    pub async fn content_day_rollups(&self, course: CourseId) -> StoreResult<Vec<ContentDay>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT day, content_item_id, views, unique_students FROM rollup_content_day \
                 WHERE course_id = $1 ORDER BY day, content_item_id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Every student-day rollup row of a course with any views or sessions, ordered by day
    /// and user.
    pub async fn student_day_rollups(&self, course: CourseId) -> StoreResult<Vec<StudentDay>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT day, user_id, views, sessions, active_ms FROM rollup_student_day \
                 WHERE course_id = $1 AND (views <> 0 OR sessions <> 0 OR active_ms <> 0) \
                 ORDER BY day, user_id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GAP: i64 = 40 * 60_000;

    #[test]
    fn item_views_read_in_any_order_come_back_by_item() {
        assert_eq!(parse_item_views(""), vec![]);
        assert_eq!(
            parse_item_views("12:1,0:3,5:2"),
            vec![(0, 3), (5, 2), (12, 1)]
        );
        assert_eq!(
            parse_item_views("5:2,5:1"),
            vec![(5, 3)],
            "an item twice is summed"
        );
    }

    #[test]
    fn added_item_views_are_counted_in_and_an_items_first_view_is_told() {
        let mut first = Vec::new();
        assert_eq!(
            add_item_views("", &[(7, 1), (3, 2)], |i| first.push(i)),
            "3:2,7:1"
        );
        assert_eq!(first, vec![7, 3], "both items are new to an empty day");
        first.clear();
        assert_eq!(
            add_item_views("12:1,3:2", &[(3, 1), (0, 4)], |i| first.push(i)),
            "0:4,3:3,12:1"
        );
        assert_eq!(first, vec![0], "item 3 was viewed that day before");
        assert_eq!(add_item_views("3:2", &[], |_| unreachable!()), "3:2");
    }

    #[test]
    fn a_students_views_per_item_add_up_over_days_and_come_in_user_order() {
        use super::super::{ContentItemId, UserId};
        use crate::store::activity::ActivitySource;
        let day_ms = 86_400_000;
        let view = |user: i64, item: Option<i64>, at: i64| NewActivity {
            user: Some(UserId(user)),
            content_item: item.map(ContentItemId),
            kind: ActivityKind::View,
            occurred_at: EpochMs(at),
            source: ActivitySource::Caliper,
            idempotency_key: format!("{user}-{at}"),
            session_ref: None,
        };
        let events = [
            view(9, Some(3), 0),
            view(2, Some(3), 10),
            view(9, Some(3), day_ms),
            view(9, None, day_ms + 5),
            view(2, Some(1), 2 * day_ms),
        ];
        let refs: Vec<&NewActivity> = events.iter().collect();
        let day_of = |at: EpochMs| at.0.div_euclid(day_ms);
        let deltas = RollupDeltas::from_new_events(&refs, &day_of);
        assert_eq!(
            deltas.student_item_views(),
            vec![(2, vec![(1, 1), (3, 1)]), (9, vec![(0, 1), (3, 2)])]
        );
    }

    #[test]
    fn a_late_event_joins_two_sessions() {
        let change = merge_sessions(
            &[(0, 1000), (GAP + 2000, GAP + 3000)],
            &[GAP / 2 + 1000],
            GAP,
        );
        assert_eq!(change.removed, vec![(0, 1000), (GAP + 2000, GAP + 3000)]);
        assert_eq!(change.added, vec![(0, GAP + 3000)]);
    }

    #[test]
    fn a_gap_of_exactly_the_limit_stays_one_session() {
        let change = merge_sessions(&[], &[0, GAP, 2 * GAP + 1], GAP);
        assert_eq!(change.added, vec![(0, GAP), (2 * GAP + 1, 2 * GAP + 1)]);
    }

    #[test]
    fn an_event_inside_a_session_changes_nothing() {
        let change = merge_sessions(&[(0, 5000)], &[2500], GAP);
        assert_eq!(change, SessionChange::default());
    }
}
