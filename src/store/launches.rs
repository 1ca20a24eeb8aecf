//! What a launch records, in one write transaction beginning with its nonce: login states
//! are signed tokens, not rows, so only a launch whose id_token verified writes here.

use super::courses::CourseUpsert;
use super::users::UserUpsert;
use super::{
    CourseId, DeploymentId, EpochMs, PlatformId, Store, StoreError, StoreResult, UserId,
    is_unique_violation, on_pool,
};
use crate::store::BeginWrite;

impl Store {
    /// Records a nonce as used outside a launch's transaction (a launch refused for its
    /// nonce spends it all the same); false when it was used before.
    pub async fn use_nonce(
        &self,
        platform: PlatformId,
        nonce: &str,
        expires_at: EpochMs,
    ) -> StoreResult<bool> {
        let inserted = on_pool!(self, pool => {
            sqlx::query("INSERT INTO used_nonces (platform_id, nonce, expires_at) VALUES ($1, $2, $3)")
                .bind(platform)
                .bind(nonce)
                .bind(expires_at)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        });
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Deletes nonces whose tokens have expired; returns how many went.
    pub async fn purge_expired_nonces(&self, now: EpochMs) -> StoreResult<u64> {
        Ok(on_pool!(self, pool => {
            sqlx::query("DELETE FROM used_nonces WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?)
    }
}

/// A job a launch queues for its course (keyed by the course id), and when.
#[derive(Clone, Copy, Debug)]
pub struct LaunchJob {
    pub kind: &'static str,
    pub when: JobCondition,
}

#[derive(Clone, Copy, Debug)]
pub enum JobCondition {
    /// Only when this launch created the course.
    NewCourse,
    /// Unless one of the course's LTI services ran after this instant.
    ServicesIdleSince(EpochMs),
}

/// Everything a valid launch records, written in one transaction.
#[derive(Debug)]
pub struct LaunchWrite<'a> {
    pub platform: PlatformId,
    pub deployment: DeploymentId,
    pub nonce: &'a str,
    /// How long the nonce is remembered: past the token's expiry.
    pub nonce_expires: EpochMs,
    pub user: UserUpsert,
    pub course: CourseUpsert,
    /// Normalised role names, space-separated.
    pub roles: String,
    pub staff: bool,
    /// LTI Advantage service URLs the launch carried (kept when absent).
    pub memberships_url: Option<&'a str>,
    pub lineitems_url: Option<&'a str>,
    pub groups_url: Option<&'a str>,
    pub ags_scopes: Option<String>,
    /// Framing origins the platform's row did not list when the launch was validated.
    pub frame_origins: Vec<String>,
    pub jobs: Vec<LaunchJob>,
    /// A sealed Blackboard one-time session token to offer for REST authorisation, and
    /// until when.
    pub rest_grant_offer: Option<(String, EpochMs)>,
}

/// What a recorded launch wrote.
#[derive(Clone, Copy, Debug)]
pub struct LaunchRecorded {
    pub user: UserId,
    pub course: CourseId,
    pub new_course: bool,
    /// The platform's framing origins grew.
    pub new_origin: bool,
    /// Activity pushed before the course was known waits for it.
    pub pending_activity: bool,
}

impl Store {
    /// Records a launch, all of it or nothing: the nonce as used, user, course, enrolment,
    /// framing origins, queued jobs and any REST grant offer. `None` when the nonce was
    /// used before (a replay), which the insert decides, so that of two concurrent
    /// launches with one nonce only one records anything; `NotFound` when the platform
    /// is gone.
    pub async fn record_launch(&self, w: &LaunchWrite<'_>) -> StoreResult<Option<LaunchRecorded>> {
        let now = EpochMs::now();
        // Two launches showing new origins at once must not overwrite each other's. Not
        // `FOR UPDATE`: that waits for the key-share locks the other launches' nonce
        // inserts hold on the platform row, while they wait for this one's.
        let known_origins = match self.backend() {
            super::Backend::Postgres => {
                "SELECT frame_origins FROM platforms WHERE id = $1 FOR NO KEY UPDATE"
            }
            super::Backend::Sqlite => "SELECT frame_origins FROM platforms WHERE id = $1",
        };
        let recorded = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let nonce = sqlx::query("INSERT INTO used_nonces (platform_id, nonce, expires_at) VALUES ($1, $2, $3)")
                .bind(w.platform)
                .bind(w.nonce)
                .bind(w.nonce_expires)
                .execute(&mut *tx)
                .await;
            match nonce {
                Err(e) if is_unique_violation(&e) => return Ok(None),
                // The platform was removed (by another process) since it was cached.
                Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                    return Err(StoreError::NotFound("platform"));
                }
                other => other?,
            };
            let user: UserId = sqlx::query_scalar(UPSERT_USER)
                .bind(w.platform)
                .bind(&w.user.lms_sub)
                .bind(&w.user.lms_user_pk)
                .bind(&w.user.name)
                .bind(&w.user.given_name)
                .bind(&w.user.family_name)
                .bind(&w.user.email)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let (course, created_at): (CourseId, EpochMs) = sqlx::query_as(UPSERT_COURSE)
                .bind(w.platform)
                .bind(w.deployment)
                .bind(&w.course.lms_context_id)
                .bind(&w.course.lms_course_uuid)
                .bind(&w.course.title)
                .bind(&w.course.code)
                .bind(w.memberships_url)
                .bind(w.lineitems_url)
                .bind(w.groups_url)
                .bind(&w.ags_scopes)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
            let new_course = created_at == now;
            sqlx::query(ENROL)
                .bind(course)
                .bind(user)
                .bind(&w.roles)
                .bind(w.staff)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            for job in &w.jobs {
                let idle_since = match job.when {
                    JobCondition::NewCourse if !new_course => continue,
                    // Nothing has run after now.
                    JobCondition::NewCourse => now,
                    JobCondition::ServicesIdleSince(since) => since,
                };
                sqlx::query(QUEUE_JOB)
                    .bind(job.kind)
                    .bind(course.to_string())
                    .bind(now)
                    .bind(course)
                    .bind(idle_since)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some((sealed, expires)) = &w.rest_grant_offer {
                sqlx::query(OFFER_REST_GRANT)
                    .bind(course)
                    .bind(user)
                    .bind(sealed)
                    .bind(*expires)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut new_origin = false;
            if !w.frame_origins.is_empty() {
                let known: String = sqlx::query_scalar(known_origins)
                .bind(w.platform)
                .fetch_one(&mut *tx)
                .await?;
                let mut origins: Vec<&str> = known.split_whitespace().collect();
                for origin in &w.frame_origins {
                    if !origins.contains(&origin.as_str()) {
                        origins.push(origin);
                        new_origin = true;
                    }
                }
                if new_origin {
                    sqlx::query("UPDATE platforms SET frame_origins = $2, updated_at = $3 WHERE id = $1")
                        .bind(w.platform)
                        .bind(origins.join(" "))
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let pending_activity: bool = sqlx::query_scalar(PENDING_FOR_COURSE)
                .bind(course)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            LaunchRecorded { user, course, new_course, new_origin, pending_activity }
        });
        if recorded.new_origin {
            self.registry().clear();
        }
        Ok(Some(recorded))
    }
}

/// As `Store::upsert_user`: fields the LMS left out are kept.
const UPSERT_USER: &str = "INSERT INTO users (platform_id, lms_sub, lms_user_pk, name, given_name, \
    family_name, email, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
    ON CONFLICT (platform_id, lms_sub) DO UPDATE SET \
    lms_user_pk = COALESCE(excluded.lms_user_pk, users.lms_user_pk), \
    name = CASE WHEN excluded.name = '' THEN users.name ELSE excluded.name END, \
    given_name = CASE WHEN excluded.given_name = '' THEN users.given_name ELSE excluded.given_name END, \
    family_name = CASE WHEN excluded.family_name = '' THEN users.family_name ELSE excluded.family_name END, \
    email = COALESCE(excluded.email, users.email), updated_at = excluded.updated_at RETURNING id";

/// As `Store::upsert_course`, with the service URLs and AGS scopes the launch carried (kept
/// when absent). A course created now has `created_at` equal to this launch's instant.
const UPSERT_COURSE: &str = "INSERT INTO courses (platform_id, deployment_id, lms_context_id, \
    lms_course_uuid, title, code, nrps_url, ags_lineitems_url, groups_url, ags_scopes, created_at, \
    updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
    ON CONFLICT (platform_id, deployment_id, lms_context_id) DO UPDATE SET \
    lms_course_uuid = COALESCE(excluded.lms_course_uuid, courses.lms_course_uuid), \
    title = excluded.title, code = excluded.code, \
    nrps_url = COALESCE(excluded.nrps_url, courses.nrps_url), \
    ags_lineitems_url = COALESCE(excluded.ags_lineitems_url, courses.ags_lineitems_url), \
    groups_url = COALESCE(excluded.groups_url, courses.groups_url), \
    ags_scopes = COALESCE(excluded.ags_scopes, courses.ags_scopes), \
    updated_at = excluded.updated_at RETURNING id, created_at";

/// As `Store::enrol` with the source `launch`.
const ENROL: &str = "INSERT INTO enrolments (course_id, user_id, roles, is_staff, active, source, \
    created_at, updated_at) VALUES ($1, $2, $3, $4, TRUE, 'launch', $5, $5) \
    ON CONFLICT (course_id, user_id) DO UPDATE SET roles = excluded.roles, \
    is_staff = excluded.is_staff, active = TRUE, source = excluded.source, \
    updated_at = excluded.updated_at";

/// As `Store::enqueue_job`, unless one of the course's LTI services ran after `$5`.
const QUEUE_JOB: &str = "INSERT INTO jobs (kind, dedupe_key, payload, status, run_at, created_at, \
    updated_at) SELECT $1, $2, '{}', 'queued', $3, $3, $3 WHERE NOT EXISTS \
    (SELECT 1 FROM lti_service_status WHERE course_id = $4 AND last_run_at > $5) \
    ON CONFLICT DO NOTHING";

/// As `Store::offer_rest_grant`.
const OFFER_REST_GRANT: &str = "INSERT INTO rest_grant_offers (course_id, user_id, session_token, \
    error, expires_at, updated_at) VALUES ($1, $2, $3, NULL, $4, $5) ON CONFLICT (course_id, user_id) \
    DO UPDATE SET session_token = excluded.session_token, error = NULL, \
    expires_at = excluded.expires_at, updated_at = excluded.updated_at";

/// Whether activity pushed before the course was known names it (as
/// `Store::pending_events_for_course` matches it).
const PENDING_FOR_COURSE: &str = "SELECT EXISTS (SELECT 1 FROM pending_activity p JOIN courses c \
    ON c.platform_id = p.platform_id AND p.lms_course_ref IN (c.lms_context_id, \
    COALESCE(c.lms_course_pk, ''), COALESCE(c.lms_external_id, ''), COALESCE(c.lms_course_uuid, '')) \
    WHERE c.id = $1)";
