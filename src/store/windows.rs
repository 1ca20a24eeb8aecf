//! Reads behind event windows in hours: the views of any stretch of time, counted from the
//! student-hour rollup, and the assessments behind submission events.

use std::collections::{HashMap, HashSet};

use super::hours::{HourRow, ItemViews, count_span, span_hours};
use super::rollups::parse_item_views;
use super::{ContentItemId, CourseEventId, CourseId, EpochMs, Store, StoreResult, UserId, on_pool};

impl Store {
    /// The course's views in the half-open span [from, to) per student and item, exactly:
    /// the hours the span covers whole are read as views per item, the (at most two) hours
    /// its edges cut as the instants of their views.
    pub async fn views_in(
        &self,
        course: CourseId,
        from: EpochMs,
        to: EpochMs,
    ) -> StoreResult<Vec<ItemViews>> {
        if to.0 <= from.0 {
            return Ok(Vec::new());
        }
        let ((first, last), [cut_first, cut_last]) = span_hours(from, to);
        let no_hour = i64::MIN;
        let rows: Vec<HourRow> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT hour, user_id, item_views, \
                 CASE WHEN hour = $4 OR hour = $5 THEN instants ELSE '' END AS instants \
                 FROM rollup_student_hour WHERE course_id = $1 AND hour >= $2 AND hour <= $3",
            )
            .bind(course)
            .bind(first)
            .bind(last)
            .bind(cut_first.unwrap_or(no_hour))
            .bind(cut_last.unwrap_or(no_hour))
            .fetch_all(pool)
            .await
        })?;
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

    /// The students who viewed the item on a day before `to_day` (from the student-day
    /// rollup).
    pub async fn item_students_before_day(
        &self,
        course: CourseId,
        item: ContentItemId,
        to_day: i64,
    ) -> StoreResult<HashSet<UserId>> {
        let rows: Vec<(i64, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT user_id, item_views FROM rollup_student_day \
                 WHERE course_id = $1 AND day < $2 AND item_views <> ''",
            )
            .bind(course)
            .bind(to_day)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows
            .into_iter()
            .filter(|(_, text)| {
                parse_item_views(text)
                    .iter()
                    .any(|(i, views)| *i == item.0 && *views > 0)
            })
            .map(|(user, _)| UserId(user))
            .collect())
    }
}
