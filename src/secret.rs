//! The instance secret: configured, or generated once and kept in the database. It keys
//! the HMAC of session tokens and the sealing of stored secrets; it is never logged.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::Aead;
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::Sha256;

use crate::store::{Store, StoreResult};

const SETTING: &str = "secret_key";

/// Marks the format of sealed values, so the scheme can change without guessing.
const SEALED_PREFIX: &str = "v1.";
const NONCE_LEN: usize = 24;

#[derive(Clone)]
pub struct SecretKey(SecretString);

/// Why a signed token was not opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClaimsProblem {
    /// Not a token of this form, or not claims of the expected shape.
    Malformed,
    /// Altered, made for another purpose or under another key.
    BadSignature,
}

/// What `Debug` prints in place of a secret.
pub const REDACTED: &str = "[redacted]";

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SecretKey")
            .field(&format_args!("{REDACTED}"))
            .finish()
    }
}

impl SecretKey {
    /// The configured key, or the one stored in the database, generating it on first use.
    pub async fn load_or_create(
        store: &Store,
        configured: Option<&SecretString>,
    ) -> StoreResult<Self> {
        if let Some(key) = configured {
            return Ok(Self::from_secret(key.clone()));
        }
        let stored = store.setting_or_insert(SETTING, Self::random_token).await?;
        Ok(Self(SecretString::from(stored)))
    }

    pub fn from_secret(secret: SecretString) -> Self {
        Self(secret)
    }

    /// SHA-256 of a token, hex-encoded: what is stored in place of one-time tokens and keys.
    pub fn hash_token(token: &str) -> String {
        use sha2::Digest;
        Sha256::digest(token.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// A fresh random token, URL-safe.
    pub fn random_token() -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// HMAC-SHA256 of `message` under a key derived for `purpose`, so one secret can serve
    /// several uses without their tags being interchangeable.
    pub fn sign(&self, purpose: &str, message: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    /// Encrypts a secret for storage (XChaCha20-Poly1305 under a key derived from this
    /// one, random nonce); only [`SecretKey::unseal`] with the same key reads it back.
    pub fn seal(&self, plaintext: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher()
            .encrypt(&XNonce::from(nonce), plaintext.as_bytes())
            .expect("encrypting into a Vec cannot fail");
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// The secret sealed by [`SecretKey::seal`], or `None` when it was sealed under
    /// another key or has been altered.
    pub fn unseal(&self, sealed: &str) -> Option<SecretString> {
        let bytes = URL_SAFE_NO_PAD
            .decode(sealed.strip_prefix(SEALED_PREFIX)?)
            .ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
        let plaintext = self
            .cipher()
            .decrypt(&XNonce::from(nonce), ciphertext)
            .ok()?;
        String::from_utf8(plaintext).ok().map(SecretString::from)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new_from_slice(&self.sign("seal", b"stored secrets"))
            .expect("a 32-byte key")
    }

    /// `claims` as `payload.tag` (both base64url): readable by anyone, made only with this
    /// key, for the stateless tokens cloop hands out (sessions, login state, deep-link
    /// requests).
    pub fn sign_claims<T: Serialize>(&self, purpose: &str, claims: &T) -> String {
        let payload = serde_json::to_vec(claims).expect("claims serialise");
        let tag = self.sign(purpose, &payload);
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The claims of a token made by [`SecretKey::sign_claims`] for `purpose`.
    pub fn open_claims<T: DeserializeOwned>(
        &self,
        purpose: &str,
        token: &str,
    ) -> Result<T, ClaimsProblem> {
        let (payload, tag) = token.split_once('.').ok_or(ClaimsProblem::Malformed)?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| ClaimsProblem::Malformed)?;
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| ClaimsProblem::Malformed)?;
        if !self.verify(purpose, &payload, &tag) {
            return Err(ClaimsProblem::BadSignature);
        }
        serde_json::from_slice(&payload).map_err(|_| ClaimsProblem::Malformed)
    }

    /// Checks a tag made by [`SecretKey::sign`] in constant time.
    pub fn verify(&self, purpose: &str, message: &[u8], tag: &[u8]) -> bool {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(message);
        mac.verify_slice(tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_verify_only_for_their_purpose_and_message() {
        let key = SecretKey(SecretString::from("k".repeat(40)));
        let tag = key.sign("session", b"course=1");
        assert!(key.verify("session", b"course=1", &tag));
        assert!(!key.verify("session", b"course=2", &tag));
        assert!(!key.verify("admin", b"course=1", &tag));
        assert_eq!(format!("{key:?}"), "SecretKey([redacted])");
    }

    #[test]
    fn signed_claims_open_only_unaltered_and_for_their_purpose() {
        let key = SecretKey(SecretString::from("k".repeat(40)));
        let token = key.sign_claims("login", &vec![1, 2, 3]);
        assert_eq!(
            key.open_claims::<Vec<i32>>("login", &token),
            Ok(vec![1, 2, 3])
        );
        let bad = Err(ClaimsProblem::BadSignature);
        assert_eq!(key.open_claims::<Vec<i32>>("session", &token), bad);
        let (_, tag) = token.split_once('.').unwrap();
        let forged = format!("{}.{tag}", URL_SAFE_NO_PAD.encode(b"[1,2,4]"));
        assert_eq!(key.open_claims::<Vec<i32>>("login", &forged), bad);
        let other = SecretKey(SecretString::from("o".repeat(40)));
        assert_eq!(other.open_claims::<Vec<i32>>("login", &token), bad);
        assert_eq!(
            key.open_claims::<Vec<i32>>("login", "no-dot"),
            Err(ClaimsProblem::Malformed)
        );
    }

    #[test]
    fn sealed_secrets_open_only_under_their_key() {
        let key = SecretKey(SecretString::from("k".repeat(40)));
        let sealed = key.seal("rest-secret");
        assert!(sealed.starts_with("v1.") && !sealed.contains("rest-secret"));
        assert_ne!(sealed, key.seal("rest-secret"), "a fresh nonce each time");
        assert_eq!(
            key.unseal(&sealed).map(|s| s.expose_secret().to_string()),
            Some("rest-secret".to_string())
        );
        let other = SecretKey(SecretString::from("o".repeat(40)));
        assert!(other.unseal(&sealed).is_none());
        let mut tampered = sealed.clone();
        tampered.push('A');
        assert!(key.unseal(&tampered).is_none());
        assert!(key.unseal("plain").is_none());
    }
}
