//! The nonces launches have already used. Login states are signed tokens, not rows, so
//! only a launch whose id_token verified writes here.

use super::{EpochMs, PlatformId, Store, StoreResult, is_unique_violation, on_pool};

impl Store {
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
