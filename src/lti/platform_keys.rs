//! The platforms' public keys, fetched from each registered JWKS URL (never a URL from a
//! token) and cached; a `kid` the cache does not hold is looked up by a refetch, because
//! platforms rotate keys, yet made-up kids can neither block a rotation nor flood the LMS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{Jwk, JwkSet};

use crate::store::PlatformId;
use crate::store::platforms::Platform;

/// A cached key set older than this is refreshed on the next launch.
const MAX_AGE: Duration = Duration::from_secs(3600);
/// Refetches of one platform's keys start at least this far apart, however many launches
/// name unknown kids: at most two requests a second reach the platform.
const MIN_REFETCH_INTERVAL: Duration = Duration::from_millis(500);
/// A kid a refetch did not find is refused at once, without a new fetch, for this long;
/// short, so a kid guessed before the platform publishes it is not blocked for longer.
const MISSING_KID_TTL: Duration = Duration::from_secs(1);
/// The most missing kids remembered per platform (a flood of distinct ones is bounded
/// by the refetch interval instead).
const MAX_MISSING_KIDS: usize = 1024;
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

/// A published key, decoded once when its set is fetched.
pub struct PlatformKey {
    pub jwk: Jwk,
    pub key: DecodingKey,
}

/// A fetched key set: each key's kid, and the key unless it could not be decoded.
type DecodedSet = Vec<(Option<String>, Option<Arc<PlatformKey>>)>;

fn decode(set: JwkSet) -> DecodedSet {
    set.keys
        .into_iter()
        .map(|jwk| {
            let kid = jwk.common.key_id.clone();
            let key = DecodingKey::from_jwk(&jwk).ok();
            (kid, key.map(|key| Arc::new(PlatformKey { jwk, key })))
        })
        .collect()
}

/// One platform's keys as last fetched.
#[derive(Default)]
struct Cached {
    jwks_url: String,
    set: Option<DecodedSet>,
    /// When the fetch that produced `set` started.
    fetched_at: Option<Instant>,
    /// When the last fetch started, and why it failed if it did.
    attempted_at: Option<Instant>,
    failure: Option<String>,
    /// Kids a fetch did not find, with when that fetch started.
    missing: HashMap<String, Instant>,
}

#[derive(Default)]
struct Entry {
    cached: Mutex<Cached>,
    /// Held across a fetch so that refetches are single-flight; lookups never wait on it.
    fetching: tokio::sync::Mutex<()>,
}

/// A key, or why there is none.
type KeyAnswer = Result<Arc<PlatformKey>, KeyError>;

/// Per-platform key sets.
pub struct PlatformKeys {
    http: reqwest::Client,
    entries: Mutex<HashMap<PlatformId, Arc<Entry>>>,
}

impl PlatformKeys {
    pub fn new(http: reqwest::Client) -> Self {
        Self {
            http,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entry(&self, platform: PlatformId) -> Arc<Entry> {
        let mut entries = self.entries.lock().expect("key cache lock");
        entries.entry(platform).or_default().clone()
    }

    /// The platform's key named `kid` (or its only key when the token names none). An
    /// unknown kid waits for the next refetch (at most [`MIN_REFETCH_INTERVAL`] away), so a
    /// genuinely rotated key is found within a second whatever else was asked for.
    pub async fn key(&self, platform: &Platform, kid: Option<&str>) -> KeyAnswer {
        let entry = self.entry(platform.id);
        let asked = Instant::now();
        if let Some(answer) = lookup(&entry, platform, kid, asked) {
            return answer;
        }
        let _flight = entry.fetching.lock().await;
        // A fetch may have run while this launch waited for its turn.
        if let Some(answer) = lookup(&entry, platform, kid, asked) {
            return answer;
        }
        let last = entry.cached.lock().expect("key cache lock").attempted_at;
        if let Some(wait) = last.and_then(|t| MIN_REFETCH_INTERVAL.checked_sub(t.elapsed())) {
            tokio::time::sleep(wait).await;
        }
        let started = Instant::now();
        let fetched = self.fetch(&platform.jwks_url).await;
        {
            let mut cached = entry.cached.lock().expect("key cache lock");
            cached.attempted_at = Some(started);
            match fetched {
                Ok(set) => {
                    cached.set = Some(decode(set));
                    cached.fetched_at = Some(started);
                    cached.failure = None;
                }
                Err(reason) => cached.failure = Some(reason),
            }
        }
        // Only a JWKS URL changed during the fetch leaves nothing to answer from.
        lookup(&entry, platform, kid, asked).unwrap_or_else(|| {
            Err(KeyError::UnknownKid {
                kid: kid.unwrap_or_default().to_string(),
                jwks_url: platform.jwks_url.clone(),
            })
        })
    }

    async fn fetch(&self, jwks_url: &str) -> Result<JwkSet, String> {
        let response = self
            .http
            .get(jwks_url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("HTTP {}", response.status()));
        }
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| format!("not a JSON key set: {e}"))?;
        tracing::info!(jwks_url, keys = set.keys.len(), "fetched platform keys");
        Ok(set)
    }
}

/// Answers from the cache when it can: the key, or a refusal backed by a fetch that
/// started after `asked` (or a recent one that missed the same kid); `None` when only a
/// fetch can tell.
fn lookup(
    entry: &Entry,
    platform: &Platform,
    kid: Option<&str>,
    asked: Instant,
) -> Option<KeyAnswer> {
    let mut cached = entry.cached.lock().expect("key cache lock");
    if cached.jwks_url != platform.jwks_url {
        *cached = Cached {
            jwks_url: platform.jwks_url.clone(),
            ..Cached::default()
        };
    }
    let fresh = cached.fetched_at.is_some_and(|t| t.elapsed() <= MAX_AGE);
    if fresh {
        match find(cached.set.as_ref(), kid) {
            Ok(Some(found)) => return Some(Ok(found)),
            Err(e) => return Some(Err(e)),
            Ok(None) => {}
        }
    }
    let unknown = || KeyError::UnknownKid {
        kid: kid.unwrap_or_default().to_string(),
        jwks_url: platform.jwks_url.clone(),
    };
    if let Some(started) = cached.attempted_at.filter(|t| *t >= asked) {
        if let Some(reason) = &cached.failure {
            return Some(Err(KeyError::Unavailable {
                jwks_url: platform.jwks_url.clone(),
                reason: reason.clone(),
            }));
        }
        remember_missing(&mut cached.missing, kid.unwrap_or_default(), started);
        return Some(Err(unknown()));
    }
    let recently_missed = kid
        .and_then(|k| cached.missing.get(k))
        .is_some_and(|t| t.elapsed() < MISSING_KID_TTL);
    (fresh && recently_missed).then(|| Err(unknown()))
}

fn remember_missing(missing: &mut HashMap<String, Instant>, kid: &str, at: Instant) {
    if missing.len() >= MAX_MISSING_KIDS {
        missing.retain(|_, t| t.elapsed() < MISSING_KID_TTL);
    }
    if missing.len() < MAX_MISSING_KIDS {
        missing.insert(kid.to_string(), at);
    }
}

fn find(set: Option<&DecodedSet>, kid: Option<&str>) -> Result<Option<Arc<PlatformKey>>, KeyError> {
    let Some(set) = set else {
        return Ok(None);
    };
    let found = match kid {
        Some(kid) => set.iter().find(|(k, _)| k.as_deref() == Some(kid)),
        None if set.len() == 1 => set.first(),
        None => return Err(KeyError::NoKid),
    };
    Ok(found.and_then(|(_, key)| key.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_kids_are_remembered_up_to_the_bound() {
        let mut missing = HashMap::new();
        let now = Instant::now();
        for i in 0..MAX_MISSING_KIDS + 100 {
            remember_missing(&mut missing, &format!("forged-{i}"), now);
        }
        assert_eq!(missing.len(), MAX_MISSING_KIDS);
        // Once the remembered ones are older than their use, room is made.
        let old = now - MISSING_KID_TTL - Duration::from_millis(1);
        missing.values_mut().for_each(|t| *t = old);
        remember_missing(&mut missing, "forged-new", now);
        assert_eq!(missing.len(), 1);
    }
}
