//! Courses (an LTI context of one deployment of a platform) and their teaching calendar
//! settings.

use serde::Serialize;
use time::Date;

use super::{
    CourseId, DeploymentId, EpochMs, PlatformId, Store, StoreError, StoreResult, UserId, on_pool,
};

/// What a launch or a sync knows about a course.
#[derive(Clone, Debug, Default)]
pub struct CourseUpsert {
    pub lms_context_id: String,
    pub lms_course_uuid: Option<String>,
    pub title: String,
    pub code: String,
}

/// Which course staff compare this one with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PreviousChoice {
    /// The latest earlier offering with the same course code on the same platform.
    Automatic,
    /// Staff said there is none to compare with.
    NoPrevious,
    Course(CourseId),
}

/// A course as cloop holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Course {
    pub id: CourseId,
    pub platform_id: PlatformId,
    /// The deployment whose launches made the course: LTI 1.3 makes a context id unique
    /// only within its deployment, so the deployment is part of the course's identity.
    pub deployment_id: DeploymentId,
    pub lms_context_id: String,
    pub lms_course_uuid: Option<String>,
    pub lms_course_pk: Option<String>,
    pub title: String,
    pub code: String,
    pub term: String,
    pub start_date: Option<Date>,
    pub weeks: i64,
    pub time_zone: String,
    pub updated_at: EpochMs,
}

/// The teaching calendar of a course, as staff set it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CourseCalendar {
    pub start_date: Date,
    pub weeks: i64,
    pub time_zone: String,
}

macro_rules! course_columns {
    ($p:literal) => {
        concat!(
            $p,
            "id, ",
            $p,
            "platform_id, ",
            $p,
            "deployment_id, ",
            $p,
            "lms_context_id, ",
            $p,
            "lms_course_uuid, ",
            $p,
            "lms_course_pk, ",
            $p,
            "title, ",
            $p,
            "code, ",
            $p,
            "term, ",
            $p,
            "start_date, ",
            $p,
            "weeks, ",
            $p,
            "time_zone, ",
            $p,
            "updated_at"
        )
    };
}

impl Store {
    /// Creates the course of the deployment's context or refreshes its title, code and LMS
    /// uuid from the LMS.
    pub async fn upsert_course(
        &self,
        platform: PlatformId,
        deployment: DeploymentId,
        course: &CourseUpsert,
    ) -> StoreResult<Course> {
        let sql = concat!(
            "INSERT INTO courses (platform_id, deployment_id, lms_context_id, lms_course_uuid, \
             title, code, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (platform_id, deployment_id, lms_context_id) DO UPDATE SET \
             lms_course_uuid = COALESCE(excluded.lms_course_uuid, courses.lms_course_uuid), \
             title = excluded.title, code = excluded.code, updated_at = excluded.updated_at \
             RETURNING ",
            course_columns!("")
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(platform)
                .bind(deployment)
                .bind(&course.lms_context_id)
                .bind(&course.lms_course_uuid)
                .bind(&course.title)
                .bind(&course.code)
                .bind(EpochMs::now())
                .fetch_one(pool)
                .await
        })?)
    }

    pub async fn course(&self, id: CourseId) -> StoreResult<Course> {
        let sql = concat!(
            "SELECT ",
            course_columns!(""),
            " FROM courses WHERE id = $1"
        );
        on_pool!(self, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)?
            .ok_or(StoreError::NotFound("course"))
    }

    pub async fn course_by_context(
        &self,
        platform: PlatformId,
        deployment: DeploymentId,
        context_id: &str,
    ) -> StoreResult<Option<Course>> {
        let sql = concat!(
            "SELECT ",
            course_columns!(""),
            " FROM courses WHERE platform_id = $1 AND deployment_id = $2 AND lms_context_id = $3"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(platform)
                .bind(deployment)
                .bind(context_id)
                .fetch_optional(pool)
                .await
        })?)
    }

    /// Remembers the LTI Advantage service URLs a launch carried (kept when absent).
    pub async fn set_course_service_urls(
        &self,
        id: CourseId,
        memberships_url: Option<&str>,
        lineitems_url: Option<&str>,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE courses SET nrps_url = COALESCE($2, nrps_url), \
                 ags_lineitems_url = COALESCE($3, ags_lineitems_url) WHERE id = $1",
            )
            .bind(id)
            .bind(memberships_url)
            .bind(lineitems_url)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The courses in which the user is active staff now (as the last launch or roster
    /// read said).
    pub async fn staff_courses(&self, user: UserId) -> StoreResult<Vec<Course>> {
        let sql = concat!(
            "SELECT ",
            course_columns!("c."),
            " FROM courses c JOIN enrolments e ON e.course_id = c.id \
             WHERE e.user_id = $1 AND e.is_staff = TRUE AND e.active = TRUE ORDER BY c.title"
        );
        Ok(on_pool!(self, pool => sqlx::query_as(sql).bind(user).fetch_all(pool).await)?)
    }

    /// Sets the start date, length and time zone; later syncs no longer overwrite them.
    pub async fn set_course_calendar(
        &self,
        id: CourseId,
        calendar: &CourseCalendar,
    ) -> StoreResult<()> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE courses SET start_date = $2, weeks = $3, time_zone = $4, \
                 dates_set_by_staff = TRUE, updated_at = $5 WHERE id = $1",
            )
            .bind(id)
            .bind(calendar.start_date)
            .bind(calendar.weeks)
            .bind(&calendar.time_zone)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if done == 0 {
            return Err(StoreError::NotFound("course"));
        }
        Ok(())
    }

    /// Records the staff's choice of the previous offering, the baseline of comparisons:
    /// a course, none, or back to the automatic link by course code.
    pub async fn choose_previous_offering(
        &self,
        id: CourseId,
        choice: PreviousChoice,
    ) -> StoreResult<()> {
        let (chosen, previous) = match choice {
            PreviousChoice::Automatic => (false, None),
            PreviousChoice::NoPrevious => (true, None),
            PreviousChoice::Course(c) => (true, Some(c)),
        };
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE courses SET previous_course_id = $2, previous_chosen = $3, updated_at = $4 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(previous)
            .bind(chosen)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if done == 0 {
            return Err(StoreError::NotFound("course"));
        }
        Ok(())
    }

    /// What staff chose as the previous offering (automatic when they never chose).
    pub async fn previous_choice(&self, id: CourseId) -> StoreResult<PreviousChoice> {
        let row: Option<(bool, Option<CourseId>)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT previous_chosen, previous_course_id FROM courses WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        Ok(match row.ok_or(StoreError::NotFound("course"))? {
            (false, _) => PreviousChoice::Automatic,
            (true, None) => PreviousChoice::NoPrevious,
            (true, Some(c)) => PreviousChoice::Course(c),
        })
    }

    /// The platform's other courses that started before `before` and whose code starts with
    /// `code_prefix` (any case), latest start first: the candidates for the previous offering.
    pub async fn earlier_offerings(
        &self,
        platform: PlatformId,
        course: CourseId,
        before: Date,
        code_prefix: &str,
    ) -> StoreResult<Vec<Course>> {
        let sql = concat!(
            "SELECT ",
            course_columns!(""),
            " FROM courses WHERE platform_id = $1 AND id <> $2 AND start_date IS NOT NULL \
             AND start_date < $3 AND UPPER(code) LIKE $4 ORDER BY start_date DESC, id DESC"
        );
        let pattern = format!("{}%", code_prefix.to_uppercase().replace(['%', '_'], ""));
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sql)
                .bind(platform)
                .bind(course)
                .bind(before)
                .bind(pattern)
                .fetch_all(pool)
                .await
        })?)
    }
}
