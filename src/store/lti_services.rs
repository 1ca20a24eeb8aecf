//! LTI Advantage service data: the per-course status of the roster (NRPS) and gradebook
//! (AGS) reads, and the roster members NRPS lists.

use std::collections::HashSet;

use serde::Serialize;

use super::sync_runs::SyncCounts;
use super::{CourseId, EpochMs, PlatformId, Store, StoreResult, UserId, on_pool};
use crate::store::BeginWrite;

/// The last read of one service for one course.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ServiceRun {
    pub course_id: CourseId,
    pub service: String,
    pub last_run_at: EpochMs,
    pub last_success_at: Option<EpochMs>,
    /// Why the last read failed; none when it succeeded.
    pub error: Option<String>,
    /// What the last successful read found, in words.
    pub summary: String,
    pub differences_url: Option<String>,
}

/// One member as the membership container lists them.
#[derive(Clone, Debug, Default)]
pub struct RosterMember {
    pub lms_sub: String,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub email: Option<String>,
    /// Normalised role names, space-separated.
    pub roles: String,
    pub is_staff: bool,
    /// `Active` in the LMS (an `Inactive` member is enrolled but cannot enter the course).
    pub available: bool,
    /// False for a member the LMS reports `Deleted` (differences).
    pub active: bool,
}

macro_rules! run_columns {
    () => {
        "course_id, service, last_run_at, last_success_at, error, summary, differences_url"
    };
}

impl Store {
    /// Records a successful read; `differences_url` replaces the stored one.
    pub async fn record_service_success(
        &self,
        course: CourseId,
        service: &str,
        summary: &str,
        differences_url: Option<&str>,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO lti_service_status (course_id, service, last_run_at, last_success_at, \
                 error, summary, differences_url) VALUES ($1, $2, $3, $3, NULL, $4, $5) \
                 ON CONFLICT (course_id, service) DO UPDATE SET last_run_at = excluded.last_run_at, \
                 last_success_at = excluded.last_success_at, error = NULL, \
                 summary = excluded.summary, differences_url = excluded.differences_url",
            )
            .bind(course)
            .bind(service)
            .bind(EpochMs::now())
            .bind(summary)
            .bind(differences_url)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Records a failed read; the last success and its summary are kept. The differences
    /// URL is dropped so that the next read starts from the whole container.
    pub async fn record_service_failure(
        &self,
        course: CourseId,
        service: &str,
        error: &str,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO lti_service_status (course_id, service, last_run_at, error) \
                 VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (course_id, service) DO UPDATE SET last_run_at = excluded.last_run_at, \
                 error = excluded.error, differences_url = NULL",
            )
            .bind(course)
            .bind(service)
            .bind(EpochMs::now())
            .bind(error)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn service_run(
        &self,
        course: CourseId,
        service: &str,
    ) -> StoreResult<Option<ServiceRun>> {
        let sql = concat!(
            "SELECT ",
            run_columns!(),
            " FROM lti_service_status WHERE course_id = $1 AND service = $2"
        );
        Ok(on_pool!(self, pool => {
            sqlx::query_as(sql).bind(course).bind(service).fetch_optional(pool).await
        })?)
    }

    pub async fn service_runs(&self, course: CourseId) -> StoreResult<Vec<ServiceRun>> {
        let sql = concat!(
            "SELECT ",
            run_columns!(),
            " FROM lti_service_status WHERE course_id = $1 ORDER BY service"
        );
        Ok(on_pool!(self, pool => sqlx::query_as(sql).bind(course).fetch_all(pool).await)?)
    }

    /// The service URLs the course's launches carried: (memberships, line items).
    pub async fn course_service_urls(
        &self,
        course: CourseId,
    ) -> StoreResult<(Option<String>, Option<String>)> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as("SELECT nrps_url, ags_lineitems_url FROM courses WHERE id = $1")
                .bind(course)
                .fetch_one(pool)
                .await
        })?)
    }

    /// Courses whose launches carried a memberships or line items URL.
    pub async fn courses_with_roster_service(&self) -> StoreResult<Vec<CourseId>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM courses WHERE nrps_url IS NOT NULL \
                 OR ags_lineitems_url IS NOT NULL ORDER BY id",
            )
            .fetch_all(pool)
            .await
        })?)
    }

    /// Remembers the AGS scopes the course's latest launch granted (space-separated).
    pub async fn set_course_ags_scopes(
        &self,
        course: CourseId,
        scopes: &[String],
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE courses SET ags_scopes = $2 WHERE id = $1")
                .bind(course)
                .bind(scopes.join(" "))
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The AGS scopes the course's launches granted; none when no launch carried the claim.
    pub async fn course_ags_scopes(&self, course: CourseId) -> StoreResult<Option<String>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT ags_scopes FROM courses WHERE id = $1")
                .bind(course)
                .fetch_one(pool)
                .await
        })?)
    }

    /// Upserts the members and their users. The roster is the LMS's word now: a member it
    /// lists without a staff role, or `Inactive`, loses staff rights whoever enrolled them.
    /// Enrolments a launch recorded keep the launch's role names otherwise (a later launch
    /// grants again). With `complete`, `members` is the whole roster and every enrolment
    /// missing from it, whatever its source, is marked inactive (never deleted); a
    /// differences read is not complete and never deactivates the unlisted.
    pub async fn sync_roster(
        &self,
        platform: PlatformId,
        course: CourseId,
        members: &[RosterMember],
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
            for member in members {
                let user: UserId = sqlx::query_scalar(
                    "INSERT INTO users (platform_id, lms_sub, name, given_name, family_name, email, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
                     ON CONFLICT (platform_id, lms_sub) DO UPDATE SET \
                     name = CASE WHEN excluded.name = '' THEN users.name ELSE excluded.name END, \
                     given_name = CASE WHEN excluded.given_name = '' THEN users.given_name ELSE excluded.given_name END, \
                     family_name = CASE WHEN excluded.family_name = '' THEN users.family_name ELSE excluded.family_name END, \
                     email = COALESCE(excluded.email, users.email), updated_at = excluded.updated_at \
                     RETURNING id",
                )
                .bind(platform)
                .bind(&member.lms_sub)
                .bind(&member.name)
                .bind(&member.given_name)
                .bind(&member.family_name)
                .bind(&member.email)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                seen.insert(user);
                let staff = member.is_staff && member.available;
                let changed = sqlx::query(
                    "INSERT INTO enrolments (course_id, user_id, roles, is_staff, available, active, \
                     source, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 'nrps', $7, $7) \
                     ON CONFLICT (course_id, user_id) DO UPDATE SET available = excluded.available, \
                     active = excluded.active, \
                     roles = CASE WHEN enrolments.source = 'launch' AND excluded.is_staff \
                         THEN enrolments.roles ELSE excluded.roles END, \
                     is_staff = CASE WHEN enrolments.source = 'launch' \
                         THEN enrolments.is_staff AND excluded.is_staff ELSE excluded.is_staff END, \
                     source = CASE WHEN enrolments.source = 'launch' THEN enrolments.source ELSE 'nrps' END, \
                     updated_at = excluded.updated_at \
                     WHERE enrolments.available <> excluded.available \
                     OR enrolments.active <> excluded.active \
                     OR (enrolments.is_staff AND NOT excluded.is_staff) \
                     OR (enrolments.source <> 'launch' AND (enrolments.roles <> excluded.roles \
                         OR enrolments.is_staff <> excluded.is_staff OR enrolments.source <> 'nrps'))",
                )
                .bind(course)
                .bind(user)
                .bind(&member.roles)
                .bind(staff)
                .bind(member.available)
                .bind(member.active)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if !member.active {
                    counts.removed += i64::from(changed > 0);
                } else {
                    counts.upserted(changed, existing.contains(&user));
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
}
