//! Reads behind event windows in hours: the views of any stretch of time, counted exactly
//! from the hour rollups, and the assessments behind submission events.

use std::collections::{BTreeSet, HashMap, HashSet};

use foldhash::{HashMap as FastMap, HashSet as FastSet};

use super::hours::{HourRow, ItemViews, count_span, span_hours};
use super::{
    ContentItemId, CourseEventId, CourseId, EpochMs, STUDENTS_PER_READ, Store, StoreResult, UserId,
    by_students_sql, numbered_params, on_pool,
};
use crate::activity::hours::HOUR_MS;
use crate::activity::item_views::pairs;
use crate::activity::student_list::listed_students;

/// A window's views by the users it counts, per user and per content item.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowViews {
    pub by_user: FastMap<UserId, i64>,
    pub by_item: FastMap<ContentItemId, i64>,
}

impl WindowViews {
    fn add(&mut self, user: UserId, item: i64, views: i64) {
        *self.by_user.entry(user).or_default() += views;
        if item != 0 {
            *self.by_item.entry(ContentItemId(item)).or_default() += views;
        }
    }
}

/// The student-hour views of the users a page's windows do not count (staff, leavers,
/// people outside the cohort), read once per user for all its windows.
#[derive(Debug, Default)]
pub struct UncountedHours {
    read: FastSet<i64>,
    /// user → (hour, views per item).
    rows: FastMap<i64, Vec<(i64, String)>>,
}

impl Store {
    /// The views of the users in `counted` in the half-open span [from, to), exactly: the
    /// hours the span covers whole from one course-hour row each (less the item views of
    /// any user there it does not count, from their own student-hour rows), the (at most
    /// two) hours its edges cut from the instants of their views.
    pub async fn window_views(
        &self,
        course: CourseId,
        from: EpochMs,
        to: EpochMs,
        counted: &FastSet<UserId>,
        uncounted_hours: &mut UncountedHours,
    ) -> StoreResult<WindowViews> {
        let mut views = WindowViews::default();
        if to.0 <= from.0 {
            return Ok(views);
        }
        let ((first, last), cut) = span_hours(from, to);
        let whole = (
            first + i64::from(cut[0].is_some()),
            last - i64::from(cut[1].is_some()),
        );
        if whole.0 <= whole.1 {
            let hours: Vec<(String, String)> = self
                .read_rows(
                    "SELECT user_views, item_views FROM rollup_course_hour \
                     WHERE course_id = $1 AND hour >= $2 AND hour <= $3",
                    &[course.0, whole.0, whole.1],
                )
                .await?;
            let mut uncounted = BTreeSet::new();
            for (users, items) in &hours {
                for (user, n) in pairs(users) {
                    if counted.contains(&UserId(user)) {
                        *views.by_user.entry(UserId(user)).or_default() += n;
                    } else {
                        uncounted.insert(user);
                    }
                }
                for (item, n) in pairs(items).filter(|(item, _)| *item != 0) {
                    *views.by_item.entry(ContentItemId(item)).or_default() += n;
                }
            }
            let cache = uncounted_hours;
            let unread: Vec<i64> = uncounted
                .iter()
                .copied()
                .filter(|u| !cache.read.contains(u))
                .collect();
            for chunk in unread.chunks(STUDENTS_PER_READ) {
                let sql = by_students_sql(
                    "user_id, hour, item_views",
                    "rollup_student_hour",
                    chunk.len(),
                );
                let mut args = vec![course.0];
                args.extend(chunk);
                let rows: Vec<(i64, i64, String)> = self.read_built_rows(&sql, &args).await?;
                cache.read.extend(chunk);
                for (user, hour, text) in rows {
                    cache.rows.entry(user).or_default().push((hour, text));
                }
            }
            for user in &uncounted {
                let hours = cache.rows.get(user).map(Vec::as_slice).unwrap_or_default();
                for (_, text) in hours
                    .iter()
                    .filter(|(h, _)| (whole.0..=whole.1).contains(h))
                {
                    for (item, n) in pairs(text) {
                        if let Some(total) = views.by_item.get_mut(&ContentItemId(item)) {
                            *total -= n;
                        }
                    }
                }
            }
            views.by_item.retain(|_, n| *n != 0);
        }
        let cut_hours: BTreeSet<i64> = cut.into_iter().flatten().collect();
        for hour in cut_hours {
            let rows: Vec<(i64, String)> = self
                .read_rows(
                    "SELECT user_id, instants FROM rollup_student_hour \
                     WHERE course_id = $1 AND hour = $2",
                    &[course.0, hour],
                )
                .await?;
            let start = hour * HOUR_MS;
            for (user, instants) in rows {
                let user = UserId(user);
                if !counted.contains(&user) {
                    continue;
                }
                for (item, offset) in pairs(&instants) {
                    if (from.0..to.0).contains(&(start + offset)) {
                        views.add(user, item, 1);
                    }
                }
            }
        }
        Ok(views)
    }

    /// The views of `students` in the half-open span [from, to) per student and item,
    /// exactly: the hours the span covers whole are read as views per item, the (at most
    /// two) hours its edges cut as the instants of their views.
    pub async fn views_in(
        &self,
        course: CourseId,
        (from, to): (EpochMs, EpochMs),
        students: &[UserId],
    ) -> StoreResult<Vec<ItemViews>> {
        if to.0 <= from.0 {
            return Ok(Vec::new());
        }
        let ((first, last), [cut_first, cut_last]) = span_hours(from, to);
        let no_hour = i64::MIN;
        let mut rows: Vec<HourRow> = Vec::new();
        for chunk in students.chunks(STUDENTS_PER_READ) {
            let sql = format!(
                "SELECT hour, user_id, item_views, \
                 CASE WHEN hour = $4 OR hour = $5 THEN instants ELSE '' END AS instants \
                 FROM rollup_student_hour WHERE course_id = $1 AND hour >= $2 AND hour <= $3 \
                 AND user_id IN ({})",
                numbered_params(6, chunk.len())
            );
            let mut args = vec![
                course.0,
                first,
                last,
                cut_first.unwrap_or(no_hour),
                cut_last.unwrap_or(no_hour),
            ];
            args.extend(chunk.iter().map(|u| u.0));
            rows.extend(self.read_built_rows::<HourRow>(&sql, &args).await?);
        }
        Ok(count_span(&rows, from, to))
    }

    /// The content item of each submission event that comes from a gradebook column
    /// linked to one (the assessment students open).
    pub async fn submission_items(
        &self,
        course: CourseId,
    ) -> StoreResult<HashMap<CourseEventId, ContentItemId>> {
        let rows: Vec<(CourseEventId, ContentItemId)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT e.id, a.content_item_id FROM course_events e \
                 JOIN assessments a ON a.course_id = e.course_id AND a.lms_id = e.lms_id \
                 WHERE e.course_id = $1 AND e.kind = 'submission' AND e.source = 'gradebook' \
                 AND a.removed_at IS NULL AND a.content_item_id IS NOT NULL",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().collect())
    }

    /// The students who viewed the item on a day in [from_day, to_day), from the item-days'
    /// lists of students.
    pub async fn item_students_on_days(
        &self,
        course: CourseId,
        item: ContentItemId,
        (from_day, to_day): (i64, i64),
    ) -> StoreResult<HashSet<UserId>> {
        let lists: Vec<(String,)> = self
            .read_rows(
                "SELECT students FROM rollup_content_day \
                 WHERE course_id = $1 AND content_item_id = $2 AND day >= $3 AND day < $4",
                &[course.0, item.0, from_day, to_day],
            )
            .await?;
        Ok(lists
            .iter()
            .flat_map(|(list,)| listed_students(list))
            .map(UserId)
            .collect())
    }
}
