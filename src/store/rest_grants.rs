//! Blackboard 3-legged REST: the authorisation offered to staff after a launch that
//! carried a one-time session token, the single-use states of the authorization code flow,
//! and each user's grant (the refresh token, sealed by the instance key).

use super::{CourseId, EpochMs, PlatformId, Store, StoreResult, UserId, on_pool};

/// The authorisation offered to one staff member of one course. `Debug` leaves the token out.
#[derive(Clone, sqlx::FromRow)]
pub struct RestGrantOffer {
    /// The launch's one-time session token, sealed.
    pub session_token: String,
    /// Why the last attempt failed, in words.
    pub error: Option<String>,
    pub expires_at: EpochMs,
}

/// A state of the authorization code flow, taken once. `Debug` leaves the verifier out.
#[derive(Clone, sqlx::FromRow)]
pub struct RestGrantState {
    pub platform_id: PlatformId,
    pub user_id: UserId,
    pub course_id: CourseId,
    /// The PKCE code verifier, sealed.
    pub code_verifier: String,
}

/// A user's grant: the refresh token, sealed. `Debug` leaves the token out.
#[derive(Clone, sqlx::FromRow)]
pub struct RestGrant {
    pub refresh_token: String,
    pub scope: String,
    pub updated_at: EpochMs,
}

impl std::fmt::Debug for RestGrantOffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestGrantOffer")
            .field(
                "session_token",
                &format_args!("{}", crate::secret::REDACTED),
            )
            .field("error", &self.error)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl std::fmt::Debug for RestGrantState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestGrantState")
            .field("platform_id", &self.platform_id)
            .field("user_id", &self.user_id)
            .field("course_id", &self.course_id)
            .field(
                "code_verifier",
                &format_args!("{}", crate::secret::REDACTED),
            )
            .finish()
    }
}

impl std::fmt::Debug for RestGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestGrant")
            .field(
                "refresh_token",
                &format_args!("{}", crate::secret::REDACTED),
            )
            .field("scope", &self.scope)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl Store {
    /// Offers (again) the authorisation to a staff member, forgetting an earlier failure.
    pub async fn offer_rest_grant(
        &self,
        course: CourseId,
        user: UserId,
        sealed_session_token: &str,
        expires_at: EpochMs,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO rest_grant_offers (course_id, user_id, session_token, error, expires_at, \
                 updated_at) VALUES ($1, $2, $3, NULL, $4, $5) ON CONFLICT (course_id, user_id) \
                 DO UPDATE SET session_token = excluded.session_token, error = NULL, \
                 expires_at = excluded.expires_at, updated_at = excluded.updated_at",
            )
            .bind(course)
            .bind(user)
            .bind(sealed_session_token)
            .bind(expires_at)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn rest_grant_offer(
        &self,
        course: CourseId,
        user: UserId,
    ) -> StoreResult<Option<RestGrantOffer>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT session_token, error, expires_at FROM rest_grant_offers \
                 WHERE course_id = $1 AND user_id = $2",
            )
            .bind(course)
            .bind(user)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Records why the authorisation failed, for the course page.
    pub async fn fail_rest_grant_offer(
        &self,
        course: CourseId,
        user: UserId,
        error: &str,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE rest_grant_offers SET error = $3, updated_at = $4 \
                 WHERE course_id = $1 AND user_id = $2",
            )
            .bind(course)
            .bind(user)
            .bind(error)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Keeps a new state (by its hash) until `expires_at`.
    pub async fn create_rest_grant_state(
        &self,
        state_hash: &str,
        state: &RestGrantState,
        expires_at: EpochMs,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO rest_grant_states (state_hash, platform_id, user_id, course_id, \
                 code_verifier, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(state_hash)
            .bind(state.platform_id)
            .bind(state.user_id)
            .bind(state.course_id)
            .bind(&state.code_verifier)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Takes a state: only once, and only before it expires.
    pub async fn take_rest_grant_state(
        &self,
        state_hash: &str,
    ) -> StoreResult<Option<RestGrantState>> {
        let now = EpochMs::now();
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "UPDATE rest_grant_states SET used_at = $2 \
                 WHERE state_hash = $1 AND used_at IS NULL AND expires_at > $2 \
                 RETURNING platform_id, user_id, course_id, code_verifier",
            )
            .bind(state_hash)
            .bind(now)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Stores (or replaces) a user's grant.
    pub async fn save_rest_grant(
        &self,
        platform: PlatformId,
        user: UserId,
        sealed_refresh_token: &str,
        scope: &str,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO user_rest_grants (platform_id, user_id, refresh_token, scope, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (platform_id, user_id) DO UPDATE SET \
                 refresh_token = excluded.refresh_token, scope = excluded.scope, \
                 updated_at = excluded.updated_at",
            )
            .bind(platform)
            .bind(user)
            .bind(sealed_refresh_token)
            .bind(scope)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn rest_grant(
        &self,
        platform: PlatformId,
        user: UserId,
    ) -> StoreResult<Option<RestGrant>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT refresh_token, scope, updated_at FROM user_rest_grants \
                 WHERE platform_id = $1 AND user_id = $2",
            )
            .bind(platform)
            .bind(user)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Replaces a rotated refresh token, only if it is still the one that was spent; false
    /// when another refresh replaced it first.
    pub async fn rotate_rest_grant(
        &self,
        platform: PlatformId,
        user: UserId,
        spent: &str,
        sealed_refresh_token: &str,
    ) -> StoreResult<bool> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE user_rest_grants SET refresh_token = $4, updated_at = $5 \
                 WHERE platform_id = $1 AND user_id = $2 AND refresh_token = $3",
            )
            .bind(platform)
            .bind(user)
            .bind(spent)
            .bind(sealed_refresh_token)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Drops a grant Blackboard no longer honours.
    pub async fn delete_rest_grant(&self, platform: PlatformId, user: UserId) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM user_rest_grants WHERE platform_id = $1 AND user_id = $2")
                .bind(platform)
                .bind(user)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// A staff member of the course who granted cloop access, the latest first.
    pub async fn course_rest_grant_user(&self, course: CourseId) -> StoreResult<Option<UserId>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT g.user_id FROM user_rest_grants g \
                 JOIN courses c ON c.platform_id = g.platform_id \
                 JOIN enrolments e ON e.course_id = c.id AND e.user_id = g.user_id \
                 WHERE c.id = $1 AND e.is_staff = TRUE AND e.active = TRUE \
                 ORDER BY g.updated_at DESC LIMIT 1",
            )
            .bind(course)
            .fetch_optional(pool)
            .await
        })?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::rest::RestCredentials;

    #[test]
    fn credentials_grants_and_states_never_print_their_secrets() {
        let printed = [
            format!(
                "{:?}",
                RestCredentials {
                    platform_id: PlatformId(1),
                    base_url: "https://learn.example.edu".into(),
                    key: "app-key".into(),
                    sealed_secret: "SEALED-SECRET".into(),
                }
            ),
            format!(
                "{:?}",
                RestGrant {
                    refresh_token: "SEALED-REFRESH".into(),
                    scope: "read".into(),
                    updated_at: EpochMs(0),
                }
            ),
            format!(
                "{:?}",
                RestGrantOffer {
                    session_token: "SEALED-ONE-TIME".into(),
                    error: None,
                    expires_at: EpochMs(0),
                }
            ),
            format!(
                "{:?}",
                RestGrantState {
                    platform_id: PlatformId(1),
                    user_id: UserId(2),
                    course_id: CourseId(3),
                    code_verifier: "SEALED-VERIFIER".into(),
                }
            ),
        ];
        for text in &printed {
            assert!(!text.contains("SEALED-"), "{text}");
            assert!(text.contains("[redacted]"), "{text}");
        }
        assert!(
            printed[0].contains("app-key"),
            "what is not secret still prints"
        );
    }
}
