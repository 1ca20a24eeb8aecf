//! OIDC login state awaiting its launch, and the nonces launches have already used.

use super::{EpochMs, PlatformId, Store, StoreResult, is_unique_violation, on_pool};

/// What a login remembered for its launch.
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct LaunchState {
    pub state: String,
    pub nonce: String,
    pub platform_id: PlatformId,
    pub target_link_uri: String,
    pub storage_target: Option<String>,
    pub expires_at: EpochMs,
}

impl Store {
    pub async fn save_launch_state(&self, state: &LaunchState) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO launch_states (state, nonce, platform_id, target_link_uri, storage_target, \
                 created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&state.state)
            .bind(&state.nonce)
            .bind(state.platform_id)
            .bind(&state.target_link_uri)
            .bind(&state.storage_target)
            .bind(EpochMs::now())
            .bind(state.expires_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Looks a state up without using it (the platform-storage step reads it first).
    pub async fn launch_state(&self, state: &str) -> StoreResult<Option<LaunchState>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT state, nonce, platform_id, target_link_uri, storage_target, expires_at \
                 FROM launch_states WHERE state = $1 AND expires_at > $2",
            )
            .bind(state)
            .bind(EpochMs::now())
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Removes and returns an unexpired state: a state serves one launch only.
    pub async fn take_launch_state(&self, state: &str) -> StoreResult<Option<LaunchState>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "DELETE FROM launch_states WHERE state = $1 AND expires_at > $2 \
                 RETURNING state, nonce, platform_id, target_link_uri, storage_target, expires_at",
            )
            .bind(state)
            .bind(EpochMs::now())
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Records a nonce as used; false when it was used before (a replay). The insert is
    /// the check, so two concurrent launches with one nonce cannot both pass.
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

    /// Deletes expired states and nonces; returns how many rows went.
    pub async fn purge_expired_launch_data(&self, now: EpochMs) -> StoreResult<u64> {
        let states = on_pool!(self, pool => {
            sqlx::query("DELETE FROM launch_states WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        let nonces = on_pool!(self, pool => {
            sqlx::query("DELETE FROM used_nonces WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(states + nonces)
    }
}
