//! Instance-wide settings kept in the database, such as the generated secret key.

use super::{EpochMs, Store, StoreResult, on_pool};

impl Store {
    /// The stored value of a setting, if any.
    pub async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
        let value = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                .bind(key)
                .fetch_optional(pool)
                .await
        })?;
        Ok(value)
    }

    /// Returns the stored value of `key`, storing `make()` first if there is none. Two
    /// processes racing here agree on one value: the first insert wins.
    pub async fn setting_or_insert(
        &self,
        key: &str,
        make: impl FnOnce() -> String,
    ) -> StoreResult<String> {
        let candidate = make();
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(&candidate)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(self.setting(key).await?.unwrap_or(candidate))
    }
}
