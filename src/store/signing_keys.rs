//! The tool's own RSA signing keys: the newest unretired key signs; retired keys stay
//! published until `unpublish_at`, when every token they signed has expired.

use super::{EpochMs, Store, StoreResult, on_pool};

/// A stored key: PKCS#8 PEM private key and its public JWK (JSON). `Debug` leaves the
/// private key out.
#[derive(Clone, sqlx::FromRow)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub private_key: String,
    pub public_jwk: String,
    pub created_at: EpochMs,
    pub retired_at: Option<EpochMs>,
    pub unpublish_at: Option<EpochMs>,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("private_key", &format_args!("{}", crate::secret::REDACTED))
            .field("public_jwk", &self.public_jwk)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .field("unpublish_at", &self.unpublish_at)
            .finish()
    }
}

impl Store {
    pub async fn insert_signing_key(&self, key: &StoredKey) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO signing_keys (kid, alg, private_key, public_jwk, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&key.kid)
            .bind(&key.alg)
            .bind(&key.private_key)
            .bind(&key.public_jwk)
            .bind(key.created_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The key that signs now: the newest one not retired.
    pub async fn current_signing_key(&self) -> StoreResult<Option<StoredKey>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT kid, alg, private_key, public_jwk, created_at, retired_at, unpublish_at \
                 FROM signing_keys WHERE retired_at IS NULL ORDER BY created_at DESC, id DESC LIMIT 1",
            )
            .fetch_optional(pool)
            .await
        })?)
    }

    /// Keys still published in the JWKS at `now`, newest first.
    pub async fn published_signing_keys(&self, now: EpochMs) -> StoreResult<Vec<StoredKey>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT kid, alg, private_key, public_jwk, created_at, retired_at, unpublish_at \
                 FROM signing_keys WHERE unpublish_at IS NULL OR unpublish_at > $1 \
                 ORDER BY created_at DESC, id DESC",
            )
            .bind(now)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Every key ever made, for `cloop keys list`.
    pub async fn all_signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT kid, alg, private_key, public_jwk, created_at, retired_at, unpublish_at \
                 FROM signing_keys ORDER BY created_at DESC, id DESC",
            )
            .fetch_all(pool)
            .await
        })?)
    }

    /// Retires every signing key except `keep`, keeping them published until `unpublish_at`.
    pub async fn retire_signing_keys_except(
        &self,
        keep: &str,
        now: EpochMs,
        unpublish_at: EpochMs,
    ) -> StoreResult<u64> {
        Ok(on_pool!(self, pool => {
            sqlx::query(
                "UPDATE signing_keys SET retired_at = $2, unpublish_at = $3 \
                 WHERE kid <> $1 AND retired_at IS NULL",
            )
            .bind(keep)
            .bind(now)
            .bind(unpublish_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?)
    }
}
