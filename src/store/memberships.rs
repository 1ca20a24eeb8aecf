//! Course memberships from the LMS roster (REST), with each person's user record and the
//! history of their observed "last accessed" times.

use std::collections::{HashMap, HashSet};

use super::sync_runs::SyncCounts;
use super::{CourseId, EpochMs, PlatformId, Store, StoreResult, UserId, on_pool};
use crate::store::BeginWrite;

/// One membership with its user, as the LMS lists it.
#[derive(Clone, Debug, Default)]
pub struct MemberRow {
    /// The Learn user uuid: the LTI `sub`.
    pub lms_sub: String,
    /// The Learn primary key (`_123_1`), used by gradebook and discussion records.
    pub lms_user_pk: String,
    pub username: Option<String>,
    pub external_id: Option<String>,
    pub given_name: String,
    pub family_name: String,
    pub email: Option<String>,
    /// The LMS's course role id, e.g. `Student`, `Instructor`.
    pub lms_role: String,
    /// Normalised role names (LTI vocabulary), space-separated.
    pub roles: String,
    pub is_staff: bool,
    pub available: bool,
    pub last_accessed: Option<EpochMs>,
}

impl Store {
    /// Upserts the members and their users. The roster is the LMS's word now: a member it
    /// lists with a non-staff role, or unavailable, loses staff rights whoever enrolled
    /// them (a launch keeps its role names otherwise, and a later launch grants again).
    /// With `complete`, `rows` is the whole roster and every enrolment missing from it,
    /// whatever its source, is marked inactive; a partial read never deactivates anyone.
    pub async fn sync_memberships(
        &self,
        platform: PlatformId,
        course: CourseId,
        rows: &[MemberRow],
        complete: bool,
    ) -> StoreResult<SyncCounts> {
        let now = EpochMs::now();
        let counts = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let existing: HashSet<UserId> = sqlx::query_scalar::<_, UserId>(
                "SELECT user_id FROM enrolments WHERE course_id = $1",
            )
            .bind(course)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let mut seen = HashSet::new();
            let mut counts = SyncCounts::default();
            for row in rows {
                let name = format!("{} {}", row.given_name, row.family_name).trim().to_string();
                let user: UserId = sqlx::query_scalar(
                    "INSERT INTO users (platform_id, lms_sub, lms_user_pk, username, external_id, name, \
                     given_name, family_name, email, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                     ON CONFLICT (platform_id, lms_sub) DO UPDATE SET lms_user_pk = excluded.lms_user_pk, \
                     username = COALESCE(excluded.username, users.username), \
                     external_id = COALESCE(excluded.external_id, users.external_id), \
                     name = CASE WHEN excluded.name = '' THEN users.name ELSE excluded.name END, \
                     given_name = CASE WHEN excluded.given_name = '' THEN users.given_name ELSE excluded.given_name END, \
                     family_name = CASE WHEN excluded.family_name = '' THEN users.family_name ELSE excluded.family_name END, \
                     email = COALESCE(excluded.email, users.email), updated_at = excluded.updated_at \
                     RETURNING id",
                )
                .bind(platform)
                .bind(&row.lms_sub)
                .bind(&row.lms_user_pk)
                .bind(&row.username)
                .bind(&row.external_id)
                .bind(&name)
                .bind(&row.given_name)
                .bind(&row.family_name)
                .bind(&row.email)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                seen.insert(user);
                let staff = row.is_staff && row.available;
                let changed = sqlx::query(
                    "INSERT INTO enrolments (course_id, user_id, roles, is_staff, lms_role, available, \
                     active, source, last_accessed, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, TRUE, 'rest', $7, $8, $8) \
                     ON CONFLICT (course_id, user_id) DO UPDATE SET lms_role = excluded.lms_role, \
                     available = excluded.available, active = TRUE, \
                     last_accessed = COALESCE(excluded.last_accessed, enrolments.last_accessed), \
                     roles = CASE WHEN enrolments.source = 'rest' OR NOT excluded.is_staff \
                         THEN excluded.roles ELSE enrolments.roles END, \
                     is_staff = CASE WHEN enrolments.source = 'rest' THEN excluded.is_staff \
                         ELSE enrolments.is_staff AND excluded.is_staff END, \
                     updated_at = excluded.updated_at \
                     WHERE enrolments.lms_role IS DISTINCT FROM excluded.lms_role \
                     OR enrolments.available <> excluded.available OR enrolments.active = FALSE \
                     OR (enrolments.is_staff AND NOT excluded.is_staff) \
                     OR (excluded.last_accessed IS NOT NULL \
                         AND enrolments.last_accessed IS DISTINCT FROM excluded.last_accessed)",
                )
                .bind(course)
                .bind(user)
                .bind(&row.roles)
                .bind(staff)
                .bind(&row.lms_role)
                .bind(row.available)
                .bind(row.last_accessed)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                counts.upserted(changed, existing.contains(&user));
                if let Some(at) = row.last_accessed {
                    sqlx::query(
                        "INSERT INTO last_access_observations (course_id, user_id, last_accessed, observed_at) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    )
                    .bind(course)
                    .bind(user)
                    .bind(at)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            if complete {
                for gone in existing.iter().filter(|u| !seen.contains(u)) {
                    counts.removed += sqlx::query(
                        "UPDATE enrolments SET active = FALSE, updated_at = $3 \
                         WHERE course_id = $1 AND user_id = $2 AND active = TRUE",
                    )
                    .bind(course)
                    .bind(gone)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected() as i64;
                }
            }
            tx.commit().await?;
            counts
        });
        Ok(counts)
    }

    /// Learn primary key (`_123_1`) → cloop user id for the platform's users.
    pub async fn user_ids_by_lms_pk(
        &self,
        platform: PlatformId,
    ) -> StoreResult<HashMap<String, UserId>> {
        let rows: Vec<(String, UserId)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT lms_user_pk, id FROM users WHERE platform_id = $1 AND lms_user_pk IS NOT NULL",
            )
            .bind(platform)
            .fetch_all(pool)
            .await
        })?;
        Ok(rows.into_iter().collect())
    }

    /// Active members of the course with a given LMS role.
    pub async fn active_member_count(&self, course: CourseId, lms_role: &str) -> StoreResult<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM enrolments WHERE course_id = $1 AND lms_role = $2 AND active = TRUE",
            )
            .bind(course)
            .bind(lms_role)
            .fetch_one(pool)
            .await
        })?)
    }

    /// The "last accessed" times observed for one member, oldest first.
    pub async fn last_access_history(
        &self,
        course: CourseId,
        user: UserId,
    ) -> StoreResult<Vec<EpochMs>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT last_accessed FROM last_access_observations WHERE course_id = $1 AND user_id = $2 \
                 ORDER BY last_accessed",
            )
            .bind(course)
            .bind(user)
            .fetch_all(pool)
            .await
        })?)
    }
}
