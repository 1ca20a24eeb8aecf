//! How new events change the rollups, as pure arithmetic (no I/O) that both engines'
//! writers apply: per-day and per-item counts, unique students, and session merging.

use foldhash::{HashMap, HashMapExt, HashSet};

use super::clock::CourseClock;
use super::event::{ActivityKind, NewActivity};
use super::item_views::summed;
use crate::store::EpochMs;

/// A change to one student-day rollup row: (day, user) → (views, sessions, active ms).
pub(crate) type StudentDayChange = ((i64, i64), (i64, i64, i64));

/// Stored sessions to delete (user, first event) and to insert (user, first, last event).
#[derive(Default)]
pub(crate) struct SessionEdits {
    pub removed: Vec<(i64, i64)>,
    pub added: Vec<(i64, i64, i64)>,
}

/// What a batch adds to one item's day (`rollup_content_day`).
#[derive(Debug, Default)]
pub(crate) struct ItemDayChange {
    pub views: i64,
    /// The students whose first view of the item that day is in the batch.
    pub first_viewers: Vec<i64>,
}

/// A student's views in a batch, per item over all days and per day over all items (what
/// `rollup_student_items` adds up).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StudentViews {
    pub user: i64,
    /// (content item or 0, views), by item.
    pub items: Vec<(i64, i64)>,
    /// (day, views), by day.
    pub days: Vec<(i64, i64)>,
}

/// What a set of new events adds to the rollups, before unique students and sessions are
/// settled against what is stored.
#[derive(Default)]
pub(crate) struct RollupDeltas {
    /// (day, content item or 0) → views and the students first viewing it that day.
    pub content: HashMap<(i64, i64), ItemDayChange>,
    /// (day, content item or 0, user) → views in these events.
    pub content_students: HashMap<(i64, i64, i64), i64>,
    /// (day, user) → (views, sessions, active ms)
    pub student: HashMap<(i64, i64), (i64, i64, i64)>,
    /// user → the instants of their new events, any kind.
    pub user_times: HashMap<i64, Vec<i64>>,
}

impl RollupDeltas {
    pub fn from_new_events(events: &[&NewActivity], clock: &CourseClock) -> Self {
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
            let day = clock.day_of(e.occurred_at).0;
            let item = e.content_item.map_or(0, |c| c.0);
            deltas.content.entry((day, item)).or_default().views += 1;
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

    /// Each student's views in these events per item and per day, in user order.
    pub fn student_views(&self) -> Vec<StudentViews> {
        let mut by_user: HashMap<i64, StudentViews> = HashMap::new();
        for ((day, item, user), n) in &self.content_students {
            let views = by_user.entry(*user).or_insert_with(|| StudentViews {
                user: *user,
                items: Vec::new(),
                days: Vec::new(),
            });
            views.items.push((*item, *n));
            views.days.push((*day, *n));
        }
        let mut students: Vec<StudentViews> = by_user.into_values().collect();
        students.sort_unstable_by_key(|s| s.user);
        for s in &mut students {
            s.items = summed(std::mem::take(&mut s.items));
            s.days = summed(std::mem::take(&mut s.days));
        }
        students
    }

    /// `user`'s first view of `item` on `day` (the stored rollups did not have it).
    pub fn first_view(&mut self, day: i64, item: i64, user: i64) {
        let change = self.content.entry((day, item)).or_default();
        change.first_viewers.push(user);
    }

    /// Settles the sessions of the users with new events against their stored sessions
    /// near those events (`stored`: user, first, last event): folds the change into the
    /// student-day deltas and returns the stored sessions to delete and to insert.
    pub fn settle_sessions(
        &mut self,
        stored: Vec<(i64, i64, i64)>,
        gap: i64,
        clock: &CourseClock,
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
                    .entry((clock.day_of(EpochMs(start)).0, *user))
                    .or_default();
                entry.1 -= 1;
                entry.2 -= last - start;
                edits.removed.push((*user, start));
            }
            for (start, last) in change.added {
                let entry = self
                    .student
                    .entry((clock.day_of(EpochMs(start)).0, *user))
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

    /// A student-day change; `before` is the row's (views, sessions) before it (none if
    /// it had no row). A student is active on a day with views or a session starting then,
    /// so a session that moves to the day before can leave a day with no active student.
    pub fn student_day(
        &mut self,
        day: i64,
        user: i64,
        change: (i64, i64, i64),
        (views, sessions): (i64, i64),
    ) {
        let was_active = views != 0 || sessions != 0;
        let is_active = views + change.0 != 0 || sessions + change.1 != 0;
        let row = self.days.entry(day).or_default();
        row[4] += i64::from(is_active) - i64::from(was_active);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::ActivitySource;
    use crate::store::{ContentItemId, UserId};

    const GAP: i64 = 40 * 60_000;

    #[test]
    fn a_students_views_add_up_per_item_and_per_day_and_come_in_user_order() {
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
        let deltas = RollupDeltas::from_new_events(&refs, &CourseClock::utc());
        assert_eq!(
            deltas.student_views(),
            vec![
                StudentViews {
                    user: 2,
                    items: vec![(1, 1), (3, 1)],
                    days: vec![(0, 1), (2, 1)]
                },
                StudentViews {
                    user: 9,
                    items: vec![(0, 1), (3, 2)],
                    days: vec![(0, 1), (1, 2)]
                },
            ]
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
