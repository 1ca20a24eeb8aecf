//! Dynamic-registration invites already used, so that one invite registers one platform;
//! kept by hash until the invite would have expired.

use super::{EpochMs, Store, StoreResult, is_unique_violation, on_pool};

impl Store {
    /// Marks an invite as used; false when it already is. The insert is the check, so two
    /// concurrent registrations with one invite cannot both pass.
    pub async fn claim_invite(&self, invite_hash: &str, expires_at: EpochMs) -> StoreResult<bool> {
        let inserted = on_pool!(self, pool => {
            sqlx::query("INSERT INTO used_invites (invite_hash, expires_at) VALUES ($1, $2)")
                .bind(invite_hash)
                .bind(expires_at)
                .execute(pool)
                .await
                .map(drop)
        });
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Makes a claimed invite usable again (its registration failed before the platform
    /// registered cloop).
    pub async fn release_invite(&self, invite_hash: &str) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("DELETE FROM used_invites WHERE invite_hash = $1")
                .bind(invite_hash)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    /// Forgets used invites that have expired anyway; returns how many went.
    pub async fn purge_used_invites(&self, now: EpochMs) -> StoreResult<u64> {
        let purged = on_pool!(self, pool => {
            sqlx::query("DELETE FROM used_invites WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(purged)
    }
}
