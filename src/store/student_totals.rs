//! Each student's views, sessions and active time over a range of days: summed from the
//! student-days in the range, or, when the range holds most of them, taken from the
//! all-days totals less the days outside it (a rollup row's totals are its days' sums);
//! and each student's views on chosen days (the days around an event's occurrences).

use super::reports::StudentTotals;
use super::{CourseId, Store, StoreResult, UserId, numbered_params};

/// Days asked for in one statement: well within either database's parameter limit.
const DAYS_PER_READ: usize = 500;

impl Store {
    /// Each student's views on each of `days` they viewed anything: (student, day, views).
    pub async fn student_views_on_days(
        &self,
        course: CourseId,
        days: &[i64],
    ) -> StoreResult<Vec<(UserId, i64, i64)>> {
        let mut views = Vec::new();
        for chunk in days.chunks(DAYS_PER_READ) {
            let sql = format!(
                "SELECT user_id, day, views FROM rollup_student_day \
                 WHERE course_id = $1 AND day IN ({})",
                numbered_params(2, chunk.len())
            );
            let mut args = vec![course.0];
            args.extend_from_slice(chunk);
            views.extend(
                self.read_built_rows::<(UserId, i64, i64)>(&sql, &args)
                    .await?,
            );
        }
        Ok(views)
    }

    /// Each student's totals over a range of days; students with nothing in it are left
    /// out.
    pub async fn student_totals(
        &self,
        course: CourseId,
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<Vec<StudentTotals>> {
        let Some((first, last)) = self.course_activity_span(course).await? else {
            return Ok(Vec::new());
        };
        let (from, to) = (from_day.max(first), to_day.min(last + 1));
        if from >= to {
            return Ok(Vec::new());
        }
        let inside = to - from;
        let outside = (last + 1 - first) - inside;
        if inside <= outside {
            return self
                .read_rows(
                    "SELECT user_id, CAST(SUM(views) AS BIGINT) AS views, \
                     CAST(SUM(sessions) AS BIGINT) AS sessions, \
                     CAST(SUM(active_ms) AS BIGINT) AS active_ms FROM rollup_student_day \
                     WHERE course_id = $1 AND day >= $2 AND day < $3 GROUP BY user_id",
                    &[course.0, from, to],
                )
                .await;
        }
        let mut totals = self.student_course_totals(course).await?;
        let mut outside_days = Vec::new();
        for (start, end) in [(first, from), (to, last + 1)] {
            if start < end {
                outside_days.extend(self.student_days(course, start, end).await?);
            }
        }
        let row_of: std::collections::HashMap<UserId, usize> = totals
            .iter()
            .enumerate()
            .map(|(i, t)| (t.user_id, i))
            .collect();
        for day in outside_days {
            if let Some(&i) = row_of.get(&day.user_id) {
                let t = &mut totals[i];
                t.views -= day.views;
                t.sessions -= day.sessions;
                t.active_ms -= day.active_ms;
            }
        }
        totals.retain(|t| t.views != 0 || t.sessions != 0 || t.active_ms != 0);
        Ok(totals)
    }
}
