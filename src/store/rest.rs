//! Blackboard REST credentials per platform. The secret is stored sealed by the instance
//! key and only the sync opens it.

use super::{EpochMs, PlatformId, Store, StoreError, StoreResult, on_pool};

/// What the sync needs to call a platform's REST API. `Debug` leaves the secret out.
#[derive(Clone, sqlx::FromRow)]
pub struct RestCredentials {
    pub platform_id: PlatformId,
    pub base_url: String,
    pub key: String,
    /// Sealed with `SecretKey::seal`; never shown.
    pub sealed_secret: String,
}

impl std::fmt::Debug for RestCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestCredentials")
            .field("platform_id", &self.platform_id)
            .field("base_url", &self.base_url)
            .field("key", &self.key)
            .field(
                "sealed_secret",
                &format_args!("{}", crate::secret::REDACTED),
            )
            .finish()
    }
}

impl Store {
    /// Sets (or replaces) the REST base URL, application key and sealed secret of a platform.
    pub async fn set_platform_rest(
        &self,
        platform: PlatformId,
        base_url: &str,
        key: &str,
        sealed_secret: &str,
    ) -> StoreResult<()> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE platforms SET rest_base_url = $2, rest_key = $3, rest_secret = $4, \
                 updated_at = $5 WHERE id = $1",
            )
            .bind(platform)
            .bind(base_url)
            .bind(key)
            .bind(sealed_secret)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        self.registry().clear();
        if done == 0 {
            return Err(StoreError::NotFound("platform"));
        }
        Ok(())
    }

    /// The platform's REST credentials, if all three are set.
    pub async fn platform_rest(
        &self,
        platform: PlatformId,
    ) -> StoreResult<Option<RestCredentials>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id AS platform_id, rest_base_url AS base_url, rest_key AS key, \
                 rest_secret AS sealed_secret FROM platforms WHERE id = $1 \
                 AND rest_base_url IS NOT NULL AND rest_key IS NOT NULL AND rest_secret IS NOT NULL",
            )
            .bind(platform)
            .fetch_optional(pool)
            .await
        })?)
    }
}
