//! Course events (the teaching calendar): single, repeating and submission events, manual
//! or from the LMS gradebook and calendar.

use serde::Serialize;

use super::{CourseEventId, CourseId, EpochMs, Store, StoreError, StoreResult, on_pool};

/// A course event as stored; which fields are set depends on `kind`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CourseEventRow {
    pub id: CourseEventId,
    pub course_id: CourseId,
    pub kind: String,
    pub source: String,
    pub title: String,
    pub starts_at: Option<EpochMs>,
    pub ends_at: Option<EpochMs>,
    pub weekday: Option<i64>,
    pub minute_of_day: Option<i64>,
    pub first_week: Option<i64>,
    pub last_week: Option<i64>,
    pub submission_type: Option<String>,
    pub hidden: bool,
}

/// The fields staff set on an event (the source is kept on edit).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CourseEventFields {
    pub kind: String,
    pub title: String,
    pub starts_at: Option<EpochMs>,
    pub ends_at: Option<EpochMs>,
    pub weekday: Option<i64>,
    pub minute_of_day: Option<i64>,
    pub first_week: Option<i64>,
    pub last_week: Option<i64>,
    pub submission_type: Option<String>,
}

macro_rules! select_events {
    ($tail:literal) => {
        concat!(
            "SELECT id, course_id, kind, source, title, starts_at, ends_at, weekday, \
             minute_of_day, first_week, last_week, submission_type, hidden FROM course_events ",
            $tail
        )
    };
}

impl Store {
    /// Every event of the course, hidden ones included, in a stable order.
    pub async fn course_events(&self, course: CourseId) -> StoreResult<Vec<CourseEventRow>> {
        let sql = select_events!(
            "WHERE course_id = $1 ORDER BY kind, COALESCE(starts_at, 0), weekday, minute_of_day, id"
        );
        Ok(on_pool!(self, pool => sqlx::query_as(sql).bind(course).fetch_all(pool).await)?)
    }

    pub async fn course_event(
        &self,
        course: CourseId,
        id: CourseEventId,
    ) -> StoreResult<CourseEventRow> {
        on_pool!(self, pool => {
            sqlx::query_as(select_events!("WHERE course_id = $1 AND id = $2"))
            .bind(course)
            .bind(id)
            .fetch_optional(pool)
            .await
        })?
        .ok_or(StoreError::NotFound("event"))
    }

    pub async fn create_course_event(
        &self,
        course: CourseId,
        fields: &CourseEventFields,
    ) -> StoreResult<CourseEventId> {
        let (id,): (CourseEventId,) = on_pool!(self, pool => {
            sqlx::query_as(
                "INSERT INTO course_events (course_id, kind, source, title, starts_at, ends_at, \
                 weekday, minute_of_day, first_week, last_week, submission_type, created_at, \
                 updated_at) VALUES ($1, $2, 'manual', $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
                 RETURNING id",
            )
            .bind(course)
            .bind(&fields.kind)
            .bind(&fields.title)
            .bind(fields.starts_at)
            .bind(fields.ends_at)
            .bind(fields.weekday)
            .bind(fields.minute_of_day)
            .bind(fields.first_week)
            .bind(fields.last_week)
            .bind(&fields.submission_type)
            .bind(EpochMs::now())
            .fetch_one(pool)
            .await
        })?;
        Ok(id)
    }

    pub async fn update_course_event(
        &self,
        course: CourseId,
        id: CourseEventId,
        fields: &CourseEventFields,
    ) -> StoreResult<()> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE course_events SET kind = $3, title = $4, starts_at = $5, ends_at = $6, \
                 weekday = $7, minute_of_day = $8, first_week = $9, last_week = $10, \
                 submission_type = $11, updated_at = $12 WHERE course_id = $1 AND id = $2",
            )
            .bind(course)
            .bind(id)
            .bind(&fields.kind)
            .bind(&fields.title)
            .bind(fields.starts_at)
            .bind(fields.ends_at)
            .bind(fields.weekday)
            .bind(fields.minute_of_day)
            .bind(fields.first_week)
            .bind(fields.last_week)
            .bind(&fields.submission_type)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        found(done)
    }

    pub async fn set_course_event_hidden(
        &self,
        course: CourseId,
        id: CourseEventId,
        hidden: bool,
    ) -> StoreResult<()> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE course_events SET hidden = $3, updated_at = $4 \
                 WHERE course_id = $1 AND id = $2",
            )
            .bind(course)
            .bind(id)
            .bind(hidden)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        found(done)
    }

    pub async fn delete_course_event(
        &self,
        course: CourseId,
        id: CourseEventId,
    ) -> StoreResult<()> {
        let done = on_pool!(self, pool => {
            sqlx::query("DELETE FROM course_events WHERE course_id = $1 AND id = $2")
                .bind(course)
                .bind(id)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        found(done)
    }
}

fn found(rows: u64) -> StoreResult<()> {
    if rows == 0 {
        Err(StoreError::NotFound("event"))
    } else {
        Ok(())
    }
}
