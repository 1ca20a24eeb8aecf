//! Events held for courses cloop does not know yet, until a launch or a sync names the
//! course, bounded in age and count per platform.

use super::ingest::{IN_LIST_CHUNK, in_list};
use super::{CourseId, EpochMs, PlatformId, Store, StoreResult, on_pool};

/// An event held until its course is known.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct PendingEvent {
    pub id: i64,
    pub source: String,
    pub payload: String,
}

impl Store {
    /// Keeps an event for a course not known yet; returns false when it was already kept.
    pub async fn add_pending_event(
        &self,
        platform: PlatformId,
        course_ref: &str,
        source: &str,
        idempotency_key: &str,
        payload: &str,
    ) -> StoreResult<bool> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO pending_activity (platform_id, lms_course_ref, source, idempotency_key, \
                 payload, received_at) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (platform_id, source, idempotency_key) DO NOTHING",
            )
            .bind(platform)
            .bind(course_ref)
            .bind(source)
            .bind(idempotency_key)
            .bind(payload)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done > 0)
    }

    /// Events kept for any of the course's LMS references, oldest first, at most `limit`;
    /// not those whose reference also names another course of the platform (another
    /// deployment's), which stay where they are rather than go to either.
    pub async fn pending_events_for_course(
        &self,
        course: CourseId,
        limit: i64,
    ) -> StoreResult<Vec<PendingEvent>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT p.id, p.source, p.payload FROM pending_activity p JOIN courses c \
                 ON c.platform_id = p.platform_id AND p.lms_course_ref IN \
                 (c.lms_context_id, COALESCE(c.lms_course_pk, ''), COALESCE(c.lms_external_id, ''), \
                  COALESCE(c.lms_course_uuid, '')) \
                 WHERE c.id = $1 AND NOT EXISTS (SELECT 1 FROM courses o \
                   WHERE o.platform_id = c.platform_id AND o.id <> c.id AND p.lms_course_ref IN \
                   (o.lms_context_id, COALESCE(o.lms_course_pk, ''), COALESCE(o.lms_external_id, ''), \
                    COALESCE(o.lms_course_uuid, ''))) \
                 ORDER BY p.id LIMIT $2",
            )
            .bind(course)
            .bind(limit)
            .fetch_all(pool)
            .await
        })?)
    }

    pub async fn remove_pending_events(&self, ids: &[i64]) -> StoreResult<()> {
        for chunk in ids.chunks(IN_LIST_CHUNK) {
            let sql = in_list("DELETE FROM pending_activity WHERE id IN (", 1, chunk.len());
            on_pool!(self, pool => {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                for id in chunk {
                    query = query.bind(*id);
                }
                query.execute(pool).await.map(|r| r.rows_affected())
            })?;
        }
        Ok(())
    }

    /// True when the event is already kept (a resend of a pending event is a duplicate
    /// even once the platform's pending events are at their cap).
    pub async fn has_pending_event(
        &self,
        platform: PlatformId,
        source: &str,
        idempotency_key: &str,
    ) -> StoreResult<bool> {
        let found: Option<i64> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM pending_activity WHERE platform_id = $1 AND source = $2 \
                 AND idempotency_key = $3",
            )
            .bind(platform)
            .bind(source)
            .bind(idempotency_key)
            .fetch_optional(pool)
            .await
        })?;
        Ok(found.is_some())
    }

    /// Deletes events kept for unknown courses that arrived before `received_before`;
    /// returns how many went.
    pub async fn purge_pending_events(&self, received_before: EpochMs) -> StoreResult<u64> {
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM pending_activity WHERE received_at < $1")
                .bind(received_before)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?)
    }

    /// How many events are held for unknown courses on the platform.
    pub async fn pending_event_count(&self, platform: PlatformId) -> StoreResult<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT COUNT(*) FROM pending_activity WHERE platform_id = $1")
                .bind(platform)
                .fetch_one(pool)
                .await
        })?)
    }
}
