//! The platforms' public keys, fetched from each registered JWKS URL (never a URL from a
//! token), cached, and refetched once — single-flight, with a cooldown — when a token
//! names a `kid` the cache does not hold, because platforms rotate keys.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{Jwk, JwkSet};

use crate::store::PlatformId;
use crate::store::platforms::Platform;

/// A cached key set older than this is refreshed on the next launch.
const MAX_AGE: Duration = Duration::from_secs(3600);
/// After an unknown-kid refetch, another waits this long (a flood of made-up kids must
/// not turn into a flood of requests to the platform).
const UNKNOWN_KID_COOLDOWN: Duration = Duration::from_secs(10);
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "the LMS signed this launch with key {kid:?}, which is not in its key set at {jwks_url}"
    )]
    UnknownKid { kid: String, jwks_url: String },
    #[error("the launch token names no key (kid) and the LMS publishes several keys")]
    NoKid,
    #[error("cloop could not fetch the LMS's public keys from {jwks_url}: {reason}")]
    Unavailable { jwks_url: String, reason: String },
}

#[derive(Default)]
struct Cached {
    jwks_url: String,
    set: Option<JwkSet>,
    fetched_at: Option<Instant>,
    last_unknown_kid_refetch: Option<Instant>,
}

/// Per-platform key sets; one fetch at a time per platform.
pub struct PlatformKeys {
    http: reqwest::Client,
    entries: Mutex<HashMap<PlatformId, Arc<tokio::sync::Mutex<Cached>>>>,
}

impl PlatformKeys {
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entry(&self, platform: PlatformId) -> Arc<tokio::sync::Mutex<Cached>> {
        let mut entries = self.entries.lock().expect("key cache lock");
        entries.entry(platform).or_default().clone()
    }

    /// The platform's key named `kid` (or its only key when the token names none).
    pub async fn key(
        &self,
        platform: &Platform,
        kid: Option<&str>,
    ) -> Result<(Jwk, DecodingKey), KeyError> {
        let entry = self.entry(platform.id);
        // Holding this lock across the fetch is what makes refetches single-flight:
        // concurrent launches wait for the one fetch and then read its result.
        let mut cached = entry.lock().await;
        if cached.jwks_url != platform.jwks_url {
            *cached = Cached {
                jwks_url: platform.jwks_url.clone(),
                ..Cached::default()
            };
        }
        let stale = cached.fetched_at.is_none_or(|t| t.elapsed() > MAX_AGE);
        if stale {
            self.fetch(&mut cached).await?;
        }
        if let Some(found) = find(&cached, kid)? {
            return Ok(found);
        }
        let cooling = cached
            .last_unknown_kid_refetch
            .is_some_and(|t| t.elapsed() < UNKNOWN_KID_COOLDOWN);
        let kid = kid.unwrap_or_default().to_string();
        if stale || cooling {
            return Err(KeyError::UnknownKid {
                kid,
                jwks_url: platform.jwks_url.clone(),
            });
        }
        cached.last_unknown_kid_refetch = Some(Instant::now());
        self.fetch(&mut cached).await?;
        find(&cached, Some(&kid))?.ok_or(KeyError::UnknownKid {
            kid,
            jwks_url: platform.jwks_url.clone(),
        })
    }

    async fn fetch(&self, cached: &mut Cached) -> Result<(), KeyError> {
        let unavailable = |reason: String| KeyError::Unavailable {
            jwks_url: cached.jwks_url.clone(),
            reason,
        };
        let response = self
            .http
            .get(&cached.jwks_url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("HTTP {}", response.status())));
        }
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| unavailable(format!("not a JSON key set: {e}")))?;
        tracing::info!(jwks_url = %cached.jwks_url, keys = set.keys.len(), "fetched platform keys");
        cached.set = Some(set);
        cached.fetched_at = Some(Instant::now());
        Ok(())
    }
}

fn find(cached: &Cached, kid: Option<&str>) -> Result<Option<(Jwk, DecodingKey)>, KeyError> {
    let Some(set) = &cached.set else {
        return Ok(None);
    };
    let jwk = match kid {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => return Err(KeyError::NoKid),
    };
    Ok(jwk.and_then(|jwk| {
        DecodingKey::from_jwk(jwk)
            .ok()
            .map(|key| (jwk.clone(), key))
    }))
}
