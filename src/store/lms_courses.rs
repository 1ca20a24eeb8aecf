//! What the LMS REST API says about a course (name, code, term dates), and finding the
//! courses a sync covers.

use time::Date;

use super::EpochMs;
use super::{CourseId, PlatformId, Store, StoreResult, on_pool};

/// The course as the REST API describes it.
#[derive(Clone, Debug, Default)]
pub struct RestCourse {
    pub title: String,
    pub code: String,
    pub lms_course_pk: String,
    pub lms_course_uuid: Option<String>,
    pub lms_external_id: Option<String>,
    pub term: String,
    pub start_date: Option<Date>,
    pub weeks: Option<i64>,
}

/// A course a sync can reach: its platform has REST credentials.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct SyncableCourse {
    pub id: CourseId,
    pub platform_id: PlatformId,
    pub title: String,
}

impl Store {
    /// Stores the REST view of the course; start date and length only while staff have not
    /// set them. Returns whether anything changed.
    pub async fn apply_rest_course(
        &self,
        course: CourseId,
        rest: &RestCourse,
    ) -> StoreResult<bool> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE courses SET title = $2, code = $3, lms_course_pk = $4, \
                 lms_course_uuid = COALESCE($5, lms_course_uuid), lms_external_id = $6, term = $7, \
                 start_date = CASE WHEN dates_set_by_staff THEN start_date ELSE COALESCE($8, start_date) END, \
                 weeks = CASE WHEN dates_set_by_staff THEN weeks ELSE COALESCE($9, weeks) END, \
                 updated_at = $10 WHERE id = $1 AND (title <> $2 OR code <> $3 \
                 OR lms_course_pk IS DISTINCT FROM $4 OR lms_external_id IS DISTINCT FROM $6 OR term <> $7 \
                 OR (dates_set_by_staff = FALSE AND (start_date IS DISTINCT FROM COALESCE($8, start_date) \
                     OR weeks <> COALESCE($9, weeks))))",
            )
            .bind(course)
            .bind(&rest.title)
            .bind(&rest.code)
            .bind(&rest.lms_course_pk)
            .bind(&rest.lms_course_uuid)
            .bind(&rest.lms_external_id)
            .bind(&rest.term)
            .bind(rest.start_date)
            .bind(rest.weeks)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// The LMS identifiers the REST API can address the course by: context id, course
    /// uuid, primary key, external id.
    pub async fn course_lms_refs(
        &self,
        course: CourseId,
    ) -> StoreResult<(String, Option<String>, Option<String>, Option<String>)> {
        on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT lms_context_id, lms_course_uuid, lms_course_pk, lms_external_id \
                 FROM courses WHERE id = $1",
            )
            .bind(course)
            .fetch_optional(pool)
            .await
        })?
        .ok_or(super::StoreError::NotFound("course"))
    }

    /// Every course whose platform has REST credentials.
    pub async fn syncable_courses(&self) -> StoreResult<Vec<SyncableCourse>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT c.id, c.platform_id, c.title FROM courses c JOIN platforms p ON p.id = c.platform_id \
                 WHERE p.rest_base_url IS NOT NULL AND p.rest_key IS NOT NULL \
                 AND p.rest_secret IS NOT NULL ORDER BY c.id",
            )
            .fetch_all(pool)
            .await
        })?)
    }

    /// Courses matching an identifier an operator types: cloop's id, or an LMS id (context
    /// id, course id such as `_123_1`, uuid, code or external id).
    pub async fn find_courses(&self, reference: &str) -> StoreResult<Vec<SyncableCourse>> {
        let id: i64 = reference.parse().unwrap_or(-1);
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, platform_id, title FROM courses WHERE id = $1 OR lms_context_id = $2 \
                 OR lms_course_pk = $2 OR lms_course_uuid = $2 OR code = $2 OR lms_external_id = $2 \
                 ORDER BY id",
            )
            .bind(id)
            .bind(reference)
            .fetch_all(pool)
            .await
        })?)
    }
}
