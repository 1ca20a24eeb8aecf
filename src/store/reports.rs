//! Read queries behind the instructor views: rollups first, and small tables (content tree,
//! people, grades, posts). Raw activity is read only for the course's latest event
//! (`Store::latest_activity`).

use serde::Serialize;

use super::bulk_read::sqlite_row;
use super::{
    AssessmentId, ContentItemId, CourseId, EpochMs, ForumId, STUDENTS_PER_READ, Store, StoreResult,
    UserId, numbered_params, on_pool,
};
use crate::activity::item_views::parse_item_views;

/// A node of the course content tree.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct TreeItem {
    pub id: ContentItemId,
    pub parent_id: Option<ContentItemId>,
    pub title: String,
    pub item_group: String,
    pub position: i64,
}

/// Someone enrolled in the course (or seen in its activity).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Person {
    pub user_id: UserId,
    pub name: String,
    pub roles: String,
    pub is_staff: bool,
    pub username: Option<String>,
    pub external_id: Option<String>,
    pub email: Option<String>,
    pub lms_sub: String,
    /// False once a roster read says they left the course.
    pub active: bool,
}

sqlite_row!(Person {
    user_id,
    name,
    roles,
    is_staff,
    username,
    external_id,
    email,
    lms_sub,
    active
});

/// A discussion post, with the content item of its forum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct PostRow {
    pub forum_id: ForumId,
    pub content_item_id: Option<ContentItemId>,
    pub user_id: Option<UserId>,
    pub posted_at: EpochMs,
}

sqlite_row!(PostRow {
    forum_id,
    content_item_id,
    user_id,
    posted_at
});

/// An assessment (grade column) of the course.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct AssessmentRow {
    pub id: AssessmentId,
    pub content_item_id: Option<ContentItemId>,
    pub name: String,
    pub points_possible: Option<f64>,
}

/// One attempt on an assessment.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct AttemptRow {
    pub assessment_id: AssessmentId,
    pub content_item_id: Option<ContentItemId>,
    pub user_id: UserId,
    pub at: Option<EpochMs>,
    pub score: Option<f64>,
}

sqlite_row!(AttemptRow {
    assessment_id,
    content_item_id,
    user_id,
    at,
    score
});

/// A student's latest grade on an assessment.
#[derive(Clone, Debug, PartialEq, Serialize, sqlx::FromRow)]
pub struct GradeRow {
    pub assessment_id: AssessmentId,
    pub user_id: UserId,
    pub score: Option<f64>,
    pub text_grade: Option<String>,
}

/// One student's daily totals (from `rollup_student_day`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct StudentDay {
    pub day: i64,
    pub user_id: UserId,
    pub views: i64,
    pub sessions: i64,
    pub active_ms: i64,
}

sqlite_row!(StudentDay {
    day,
    user_id,
    views,
    sessions,
    active_ms
});

/// One day of the course-wide rollup: views per group, resources viewed, and the
/// students' totals.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct CourseDay {
    pub day: i64,
    pub content_views: i64,
    pub communication_views: i64,
    pub assessment_views: i64,
    pub pages_viewed: i64,
    pub active_students: i64,
    pub views: i64,
    pub sessions: i64,
    pub active_ms: i64,
}

sqlite_row!(CourseDay {
    day,
    content_views,
    communication_views,
    assessment_views,
    pages_viewed,
    active_students,
    views,
    sessions,
    active_ms
});

/// Per-student totals over a range of days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct StudentTotals {
    pub user_id: UserId,
    pub views: i64,
    pub sessions: i64,
    pub active_ms: i64,
}

sqlite_row!(StudentTotals {
    user_id,
    views,
    sessions,
    active_ms
});

/// A slice of `rollup_content_day`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct ItemDay {
    pub day: i64,
    pub content_item_id: ContentItemId,
    pub views: i64,
    pub unique_students: i64,
}

sqlite_row!(ItemDay {
    day,
    content_item_id,
    views,
    unique_students
});

/// One student's views of one item (0: tied to no item) on one day (student detail).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StudentItemDay {
    pub day: i64,
    pub content_item_id: ContentItemId,
    pub views: i64,
}

impl Store {
    /// When the course last finished a sync and last received an activity event.
    pub async fn course_freshness(
        &self,
        course: CourseId,
    ) -> StoreResult<(Option<EpochMs>, Option<EpochMs>)> {
        let synced: Option<EpochMs> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT MAX(finished_at) FROM sync_runs WHERE course_id = $1 \
                 AND status = 'succeeded'",
            )
            .bind(course)
            .fetch_one(pool)
            .await
        })?;
        Ok((synced, self.latest_activity(course).await?))
    }

    /// The first day with any recorded view (used before staff set the course dates).
    pub async fn first_rollup_day(&self, course: CourseId) -> StoreResult<Option<i64>> {
        let (day,): (Option<i64>,) = on_pool!(self, pool => {
            sqlx::query_as("SELECT MIN(day) FROM rollup_content_day WHERE course_id = $1")
                .bind(course)
                .fetch_one(pool)
                .await
        })?;
        Ok(day)
    }

    /// The live content tree, parents before children is not guaranteed; the items that
    /// stand for discussions outside the tree are not in it.
    pub async fn content_tree(&self, course: CourseId) -> StoreResult<Vec<TreeItem>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, parent_id, title, item_group, position FROM content_items \
                 WHERE course_id = $1 AND removed_at IS NULL \
                 AND lms_id NOT LIKE 'discussion:%' ORDER BY position, id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Everyone enrolled, with a name; students first by name.
    pub async fn course_people(&self, course: CourseId) -> StoreResult<Vec<Person>> {
        self.read_rows(
            "SELECT u.id AS user_id, u.name, e.roles, e.is_staff, u.username, u.external_id, \
             u.email, u.lms_sub, e.active FROM enrolments e JOIN users u ON u.id = e.user_id \
             WHERE e.course_id = $1 ORDER BY e.is_staff, u.name, u.id",
            &[course.0],
        )
        .await
    }

    /// The course-wide daily rollup over a range of days (days without activity absent).
    pub async fn course_days(
        &self,
        course: CourseId,
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<Vec<CourseDay>> {
        self.read_rows(
            "SELECT day, content_views, communication_views, assessment_views, pages_viewed, \
             active_students, views, sessions, active_ms FROM rollup_course_day \
             WHERE course_id = $1 AND day >= $2 AND day < $3 ORDER BY day",
            &[course.0, from_day, to_day],
        )
        .await
    }

    /// The first and last day with any recorded activity.
    pub async fn course_activity_span(&self, course: CourseId) -> StoreResult<Option<(i64, i64)>> {
        let (first, last): (Option<i64>, Option<i64>) = on_pool!(self, pool => {
            sqlx::query_as("SELECT MIN(day), MAX(day) FROM rollup_course_day WHERE course_id = $1")
                .bind(course)
                .fetch_one(pool)
                .await
        })?;
        Ok(first.zip(last))
    }

    /// Each student's totals over all days.
    pub async fn student_course_totals(&self, course: CourseId) -> StoreResult<Vec<StudentTotals>> {
        self.read_rows(
            "SELECT user_id, views, sessions, active_ms FROM rollup_student_total \
             WHERE course_id = $1",
            &[course.0],
        )
        .await
    }

    /// Each resource's views and unique students over all days (course-level views
    /// excluded).
    pub async fn item_course_totals(
        &self,
        course: CourseId,
    ) -> StoreResult<Vec<(ContentItemId, i64, i64)>> {
        self.read_rows(
            "SELECT content_item_id, views, unique_students FROM rollup_item_total \
             WHERE course_id = $1 AND content_item_id <> 0",
            &[course.0],
        )
        .await
    }

    /// Every student-day row in a range (students heat map, event splits).
    pub async fn student_days(
        &self,
        course: CourseId,
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<Vec<StudentDay>> {
        self.read_rows(
            "SELECT day, user_id, views, sessions, active_ms FROM rollup_student_day \
             WHERE course_id = $1 AND day >= $2 AND day < $3",
            &[course.0, from_day, to_day],
        )
        .await
    }

    /// Total views per resource over a range of days: summed from the item-days in the
    /// range, or, when it holds most of them, the all-days totals less the days outside.
    pub async fn item_totals(
        &self,
        course: CourseId,
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<Vec<(ContentItemId, i64)>> {
        let Some((first, last)) = self.course_activity_span(course).await? else {
            return Ok(Vec::new());
        };
        let (from, to) = (from_day.max(first), to_day.min(last + 1));
        if from >= to {
            return Ok(Vec::new());
        }
        if to - from <= (last + 1 - first) - (to - from) {
            return self
                .read_rows(
                    "SELECT content_item_id, CAST(SUM(views) AS BIGINT) FROM rollup_content_day \
                     WHERE course_id = $1 AND day >= $2 AND day < $3 AND content_item_id <> 0 \
                     GROUP BY content_item_id",
                    &[course.0, from, to],
                )
                .await;
        }
        let mut totals: foldhash::HashMap<ContentItemId, i64> = self
            .item_course_totals(course)
            .await?
            .into_iter()
            .map(|(item, views, _)| (item, views))
            .collect();
        for (start, end) in [(first, from), (to, last + 1)]
            .into_iter()
            .filter(|(a, b)| a < b)
        {
            let outside: Vec<(ContentItemId, i64)> = self
                .read_rows(
                    "SELECT content_item_id, views FROM rollup_content_day \
                     WHERE course_id = $1 AND day >= $2 AND day < $3 AND content_item_id <> 0",
                    &[course.0, start, end],
                )
                .await?;
            for (item, views) in outside {
                *totals.entry(item).or_default() -= views;
            }
        }
        Ok(totals
            .into_iter()
            .filter(|(_, views)| *views != 0)
            .collect())
    }

    /// Every resource-day row in a range (heat maps, event windows).
    pub async fn item_days(
        &self,
        course: CourseId,
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<Vec<ItemDay>> {
        self.read_rows(
            "SELECT day, content_item_id, views, unique_students FROM rollup_content_day \
             WHERE course_id = $1 AND day >= $2 AND day < $3",
            &[course.0, from_day, to_day],
        )
        .await
    }

    /// One item's rollup rows in a range of days.
    pub async fn days_of_item(
        &self,
        course: CourseId,
        item: ContentItemId,
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<Vec<ItemDay>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT day, content_item_id, views, unique_students FROM rollup_content_day \
                 WHERE course_id = $1 AND day >= $2 AND day < $3 AND content_item_id = $4",
            )
            .bind(course)
            .bind(from_day)
            .bind(to_day)
            .bind(item)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Each student's row of `rollup_student_items`: their views per item, as stored.
    pub(super) async fn student_item_rows(
        &self,
        course: CourseId,
    ) -> StoreResult<Vec<(UserId, String)>> {
        self.read_rows(
            "SELECT user_id, item_views FROM rollup_student_items WHERE course_id = $1",
            &[course.0],
        )
        .await
    }

    /// Each student who opened the resource, with how many times.
    pub async fn item_viewers(
        &self,
        course: CourseId,
        item: ContentItemId,
    ) -> StoreResult<Vec<(UserId, i64)>> {
        let students = self.student_item_rows(course).await?;
        // Each row is scanned for the item's pair, without parsing the others.
        let wanted = item.0.to_string();
        Ok(students
            .into_iter()
            .filter_map(|(user, text)| {
                let views = text
                    .split(',')
                    .filter_map(|pair| pair.split_once(':'))
                    .find(|(i, _)| i.trim() == wanted)?
                    .1
                    .trim()
                    .parse::<i64>()
                    .ok()?;
                (views > 0).then_some((user, views))
            })
            .collect())
    }

    /// One student's views per item and day, by day (student detail).
    pub async fn student_item_days(
        &self,
        course: CourseId,
        user: UserId,
    ) -> StoreResult<Vec<StudentItemDay>> {
        let days: Vec<(i64, String)> = self
            .read_rows(
                "SELECT day, item_views FROM rollup_student_day \
                 WHERE course_id = $1 AND user_id = $2 AND item_views <> '' ORDER BY day",
                &[course.0, user.0],
            )
            .await?;
        Ok(days
            .into_iter()
            .flat_map(|(day, text)| {
                parse_item_views(&text)
                    .into_iter()
                    .map(move |(item, views)| StudentItemDay {
                        day,
                        content_item_id: ContentItemId(item),
                        views,
                    })
            })
            .collect())
    }

    /// The course's posts in discussions still there: everyone's, or only those `authors`
    /// wrote (read by author, for a page about a few of the course's people).
    pub async fn course_posts(
        &self,
        course: CourseId,
        authors: Option<&[UserId]>,
    ) -> StoreResult<Vec<PostRow>> {
        const POSTS: &str = "SELECT p.forum_id, f.content_item_id, p.user_id, p.posted_at \
             FROM forum_posts p JOIN forums f ON f.id = p.forum_id WHERE p.course_id = $1 \
             AND p.removed_at IS NULL AND f.removed_at IS NULL";
        let Some(authors) = authors else {
            return self.read_rows(POSTS, &[course.0]).await;
        };
        let mut posts = Vec::new();
        for chunk in authors.chunks(STUDENTS_PER_READ) {
            let sql = format!(
                "{POSTS} AND p.user_id IN ({})",
                numbered_params(2, chunk.len())
            );
            let mut args = vec![course.0];
            args.extend(chunk.iter().map(|user| user.0));
            posts.extend(self.read_built_rows::<PostRow>(&sql, &args).await?);
        }
        Ok(posts)
    }

    pub async fn course_assessments(&self, course: CourseId) -> StoreResult<Vec<AssessmentRow>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, content_item_id, name, points_possible FROM assessments \
                 WHERE course_id = $1 AND removed_at IS NULL ORDER BY name, id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }

    pub async fn course_attempts(&self, course: CourseId) -> StoreResult<Vec<AttemptRow>> {
        self.read_rows(
            "SELECT t.assessment_id, a.content_item_id, t.user_id, \
             COALESCE(t.submitted_at, t.attempted_at) AS at, t.score FROM attempts t \
             JOIN assessments a ON a.id = t.assessment_id \
             WHERE a.course_id = $1 AND a.removed_at IS NULL",
            &[course.0],
        )
        .await
    }

    pub async fn course_grades(&self, course: CourseId) -> StoreResult<Vec<GradeRow>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT g.assessment_id, g.user_id, g.score, g.text_grade FROM grades g \
                 JOIN assessments a ON a.id = g.assessment_id \
                 WHERE a.course_id = $1 AND a.removed_at IS NULL",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }
}
