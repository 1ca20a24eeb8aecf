//! Tool administrators and their one-time login links (stored as hashes).

use super::{AdminId, EpochMs, Store, StoreResult, on_pool};

impl Store {
    /// Creates the administrator, or returns the existing one of that name.
    pub async fn create_admin(&self, name: &str) -> StoreResult<AdminId> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO tool_admins (name, created_at) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
            )
            .bind(name)
            .bind(EpochMs::now())
            .fetch_one(pool)
            .await
        })?)
    }

    pub async fn admin_exists(&self, admin: AdminId) -> StoreResult<bool> {
        let found: Option<i64> = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM tool_admins WHERE id = $1")
                .bind(admin)
                .fetch_optional(pool)
                .await
        })?;
        Ok(found.is_some())
    }

    /// Stores the hash of a one-time login token for `admin`.
    pub async fn add_admin_login_token(
        &self,
        admin: AdminId,
        token_hash: &str,
        expires_at: EpochMs,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO admin_login_tokens (token_hash, admin_id, expires_at) VALUES ($1, $2, $3)",
            )
            .bind(token_hash)
            .bind(admin)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Marks the token used and returns its administrator, if it was unused and unexpired.
    /// A single UPDATE makes the check-and-use atomic: two uses race, one wins.
    pub async fn use_admin_login_token(&self, token_hash: &str) -> StoreResult<Option<AdminId>> {
        let now = EpochMs::now();
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "UPDATE admin_login_tokens SET used_at = $2 \
                 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING admin_id",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await
        })?)
    }
}
