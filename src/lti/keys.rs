//! The tool's RSA signing keys: generated on first start, published at
//! `/.well-known/jwks.json` with `kid`, `alg` and `use`, rotated by `cloop keys rotate`.

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use jsonwebtoken::jwk::{Jwk, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey};

use crate::store::signing_keys::StoredKey;
use crate::store::{EpochMs, Store, StoreError, StoreResult};

/// How long a retired key stays published: longer than any token cloop signs lives
/// (client assertions and deep-linking responses last minutes).
pub const RETIRED_KEY_PUBLISHED_SECS: i64 = 24 * 3600;

/// A key that can sign: its id and the private key.
pub struct SigningKey {
    pub kid: String,
    pub encoding_key: EncodingKey,
}

impl SigningKey {
    pub fn header(&self) -> jsonwebtoken::Header {
        let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        header
    }
}

/// Makes a new RSA-2048 key with a random kid.
pub fn generate() -> Result<StoredKey, String> {
    let pair = KeyPair::generate(KeySize::Rsa2048)
        .map_err(|e| format!("RSA key generation failed: {e}"))?;
    let der = pair
        .as_der()
        .map_err(|e| format!("RSA key export failed: {e}"))?;
    let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
    let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| e.to_string())?;
    let now = EpochMs::now();
    let kid = format!(
        "cloop-{}-{}",
        now.0 / 1000,
        &crate::SecretKey::random_token()[..8]
    );
    let mut jwk = Jwk::from_encoding_key(&encoding, Algorithm::RS256).map_err(|e| e.to_string())?;
    jwk.common.key_id = Some(kid.clone());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    jwk.common.key_algorithm = Some(KeyAlgorithm::RS256);
    Ok(StoredKey {
        kid,
        alg: "RS256".into(),
        private_key: pem,
        public_jwk: serde_json::to_string(&jwk).map_err(|e| e.to_string())?,
        created_at: now,
        retired_at: None,
        unpublish_at: None,
    })
}

/// Creates the first key if there is none to sign with.
pub async fn ensure_signing_key(store: &Store) -> StoreResult<()> {
    if store.current_signing_key().await?.is_none() {
        let key = generate().map_err(StoreError::Conflict)?;
        store.insert_signing_key(&key).await?;
        tracing::info!(kid = %key.kid, "generated the tool's first signing key");
    }
    Ok(())
}

/// The key to sign with now.
pub async fn signing_key(store: &Store) -> StoreResult<SigningKey> {
    let stored = store
        .current_signing_key()
        .await?
        .ok_or(StoreError::NotFound("tool signing key"))?;
    let encoding_key = EncodingKey::from_rsa_pem(stored.private_key.as_bytes()).map_err(|e| {
        StoreError::Conflict(format!(
            "stored signing key {} is unreadable: {e}",
            stored.kid
        ))
    })?;
    Ok(SigningKey {
        kid: stored.kid,
        encoding_key,
    })
}

/// The public keys to publish: the current key and retired keys not yet expired.
pub async fn public_jwks(store: &Store) -> StoreResult<JwkSet> {
    let keys = store
        .published_signing_keys(EpochMs::now())
        .await?
        .into_iter()
        .filter_map(|k| serde_json::from_str::<Jwk>(&k.public_jwk).ok())
        .collect();
    Ok(JwkSet { keys })
}

/// Publishes and starts signing with a new key; the old ones stay published for a day.
pub async fn rotate(store: &Store) -> StoreResult<StoredKey> {
    let key = generate().map_err(StoreError::Conflict)?;
    store.insert_signing_key(&key).await?;
    let now = EpochMs::now();
    store
        .retire_signing_keys_except(&key.kid, now, now.plus_secs(RETIRED_KEY_PUBLISHED_SECS))
        .await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_key_never_prints_its_private_key() {
        let stored = generate().unwrap();
        let printed = format!("{stored:?}");
        let body = stored.private_key.lines().nth(1).unwrap();
        assert!(
            !printed.contains(body) && !printed.contains("PRIVATE KEY"),
            "{printed}"
        );
        assert!(printed.contains("[redacted]") && printed.contains(&stored.kid));
    }

    #[test]
    fn generated_key_signs_tokens_its_jwk_verifies() {
        let stored = generate().unwrap();
        let jwk: Jwk = serde_json::from_str(&stored.public_jwk).unwrap();
        assert_eq!(jwk.common.key_id.as_deref(), Some(stored.kid.as_str()));
        assert_eq!(jwk.common.public_key_use, Some(PublicKeyUse::Signature));
        let encoding = EncodingKey::from_rsa_pem(stored.private_key.as_bytes()).unwrap();
        let key = SigningKey {
            kid: stored.kid.clone(),
            encoding_key: encoding,
        };
        let token = jsonwebtoken::encode(
            &key.header(),
            &serde_json::json!({"sub": "x", "exp": 4_000_000_000u64}),
            &key.encoding_key,
        )
        .unwrap();
        let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
        let data = jsonwebtoken::decode::<serde_json::Value>(
            &token,
            &decoding,
            &jsonwebtoken::Validation::new(Algorithm::RS256),
        )
        .unwrap();
        assert_eq!(data.claims["sub"], "x");
        assert_eq!(data.header.kid.as_deref(), Some(stored.kid.as_str()));
    }
}
