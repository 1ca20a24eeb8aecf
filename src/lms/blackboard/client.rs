//! A Learn REST client for one platform: a cached two-legged token refetched once on 401,
//! `paging.nextPage` followed to the end, every call counted per platform and day, a daily
//! budget, `Retry-After` honoured on 429, jittered retries on 5xx and timeouts, and at
//! most `concurrency` calls in flight per platform.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;
use url::Url;

use super::user_auth::{self, TOKEN_PATH, TokenEndpoint};
use crate::secret::SecretKey;
use crate::store::{PlatformId, Store, StoreError, UserId};

/// How the client paces itself; the defaults suit production, tests shorten the waits.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Calls per platform per UTC day after which syncs pause until the next day.
    pub daily_budget: i64,
    /// Pause as well when the API reports fewer remaining calls than this.
    pub remaining_floor: i64,
    /// Retries of one request after 5xx, timeouts, connection errors or malformed JSON.
    pub max_retries: u32,
    /// 429 answers honoured in a row before the sync pauses.
    pub max_rate_limited: u32,
    /// First backoff delay; doubled per retry, with up to as much again of jitter.
    pub backoff: Duration,
    /// Longest `Retry-After` waited in place; a longer one pauses the sync.
    pub max_retry_after: Duration,
    /// Scale applied to `Retry-After` (1.0 in production; tests use less).
    pub retry_after_scale: f64,
    pub timeout: Duration,
    /// Calls in flight at once per platform.
    pub concurrency: usize,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            daily_budget: 8000,
            remaining_floor: 50,
            max_retries: 4,
            max_rate_limited: 8,
            backoff: Duration::from_millis(500),
            max_retry_after: Duration::from_secs(120),
            retry_after_scale: 1.0,
            timeout: Duration::from_secs(30),
            concurrency: 4,
        }
    }
}

/// Why a REST call did not produce data.
#[derive(Debug, thiserror::Error)]
pub enum BbError {
    #[error(
        "Blackboard rejected the REST application key and secret ({0}); check them under System Admin → REST API Integrations and set them again with `cloop platform rest`"
    )]
    BadCredentials(String),
    #[error("the platform has no Blackboard REST credentials; set them with `cloop platform rest`")]
    NoCredentials,
    #[error(
        "Blackboard did not accept the staff member's authorisation ({0}); authorise cloop again from the course page"
    )]
    UserGrant(String),
    #[error(
        "the stored REST secret cannot be opened with this instance's secret key; set it again"
    )]
    SecretUnreadable,
    #[error("Blackboard answered {status} for {path}: {message}")]
    Api {
        status: u16,
        path: String,
        message: String,
    },
    #[error("daily REST budget reached ({used} of {budget} calls today); the sync resumes later")]
    BudgetExhausted { used: i64, budget: i64 },
    #[error("Blackboard rate limit: retry after {0:?}; the sync resumes later")]
    RateLimited(Duration),
    #[error("cannot reach Blackboard at {path}: {detail}")]
    Transport { path: String, detail: String },
    #[error("Blackboard sent an unreadable response for {path}: {detail}")]
    Malformed { path: String, detail: String },
    #[error("REST base URL {0:?} is not a URL")]
    BadBaseUrl(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl BbError {
    /// True when the sync should stop for now and resume later rather than fail.
    pub fn is_pause(&self) -> bool {
        matches!(self, Self::BudgetExhausted { .. } | Self::RateLimited(_))
    }
}

/// One page of a list endpoint.
#[derive(Deserialize)]
struct Page<T> {
    #[serde(default = "Vec::new")]
    results: Vec<T>,
    paging: Option<Paging>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Paging {
    next_page: Option<String>,
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
    expires_in: Option<u64>,
}

/// Learn's error body; `status` is a number or a string depending on the endpoint.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    status: Option<serde_json::Value>,
    message: Option<String>,
    #[serde(rename = "error_description")]
    error_description: Option<String>,
    extra_info: Option<String>,
}

impl ErrorBody {
    fn parse(text: &str) -> Self {
        serde_json::from_str(text).unwrap_or_default()
    }

    fn describe(&self, fallback: &str) -> String {
        let message = self
            .message
            .clone()
            .or_else(|| self.error_description.clone())
            .unwrap_or_else(|| fallback.chars().take(200).collect());
        match (&self.status, &self.extra_info) {
            (Some(status), Some(id)) => format!("{message} (status {status}, correlation id {id})"),
            (_, Some(id)) => format!("{message} (correlation id {id})"),
            _ => message,
        }
    }
}

/// Semaphores shared by every client of one Learn site and application in this process
/// (a platform's REST credentials name exactly one).
static PLATFORM_PERMITS: LazyLock<Mutex<HashMap<SiteApp, Arc<Semaphore>>>> =
    LazyLock::new(Default::default);

/// A Learn base URL and REST application key.
type SiteApp = (String, String);

fn platform_permits(base: &Url, key: &str, concurrency: usize) -> Arc<Semaphore> {
    let mut map = PLATFORM_PERMITS.lock().expect("permit map lock");
    map.entry((base.as_str().to_string(), key.to_string()))
        .or_insert_with(|| Arc::new(Semaphore::new(concurrency.max(1))))
        .clone()
}

/// A client of one platform's Learn REST API.
pub struct LearnClient {
    http: reqwest::Client,
    base: Url,
    key: String,
    secret: SecretString,
    platform: PlatformId,
    store: Store,
    options: ClientOptions,
    token: tokio::sync::Mutex<Option<(String, Instant)>>,
    permits: Arc<Semaphore>,
    calls: AtomicI64,
    /// Call as this user (a three-legged grant) instead of as the application.
    user: Option<(UserId, SecretKey)>,
}

enum Attempt<T> {
    Done(T),
    /// The token was refused: fetch a new one and try again (once per request).
    Reauthenticate,
    /// Try again; after the server's delay on 429, else after a backoff.
    Retry(Option<Duration>),
}

impl LearnClient {
    pub fn new(
        store: Store,
        platform: PlatformId,
        base_url: &str,
        key: &str,
        secret: SecretString,
        options: ClientOptions,
    ) -> Result<Self, BbError> {
        let base = Url::parse(base_url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .ok_or_else(|| BbError::BadBaseUrl(base_url.to_string()))?;
        let http = reqwest::Client::builder()
            .timeout(options.timeout)
            .user_agent(concat!("cloop/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| BbError::Transport {
                path: base_url.to_string(),
                detail: e.to_string(),
            })?;
        Ok(Self {
            permits: platform_permits(&base, key, options.concurrency),
            http,
            base,
            key: key.to_string(),
            secret,
            platform,
            store,
            options,
            token: tokio::sync::Mutex::new(None),
            calls: AtomicI64::new(0),
            user: None,
        })
    }

    /// Calls with the user's own rights, from their stored grant (opened with `sealing`),
    /// for sites where the application has no institution-wide REST integration.
    pub fn for_user(mut self, user: UserId, sealing: SecretKey) -> Self {
        self.user = Some((user, sealing));
        self
    }

    /// Calls made by this client so far (token requests included).
    pub fn calls(&self) -> i64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Fetches a token now: checks the key and secret.
    pub async fn authenticate(&self) -> Result<(), BbError> {
        self.bearer(true).await.map(|_| ())
    }

    /// GETs one object.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, BbError> {
        self.request(path).await
    }

    /// GETs every page of a list, following `paging.nextPage` until it is absent.
    pub async fn get_all<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, BbError> {
        let mut items = Vec::new();
        let mut next = Some(path.to_string());
        while let Some(path) = next.take() {
            let page: Page<T> = self.request(&path).await?;
            items.extend(page.results);
            next = page
                .paging
                .and_then(|p| p.next_page)
                .filter(|p| !p.is_empty());
        }
        Ok(items)
    }

    async fn request<T: DeserializeOwned>(&self, path: &str) -> Result<T, BbError> {
        let mut failures = 0u32;
        let mut rate_limited = 0u32;
        let mut refetched_token = false;
        loop {
            self.check_budget().await?;
            let result = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .expect("semaphore never closes");
                self.attempt(path, &mut refetched_token).await
            };
            match result? {
                Attempt::Done(value) => return Ok(value),
                Attempt::Reauthenticate => {}
                Attempt::Retry(Some(retry_after)) => {
                    rate_limited += 1;
                    if rate_limited > self.options.max_rate_limited
                        || retry_after > self.options.max_retry_after
                    {
                        return Err(BbError::RateLimited(retry_after));
                    }
                    tokio::time::sleep(retry_after.mul_f64(self.options.retry_after_scale)).await;
                }
                Attempt::Retry(None) => {
                    failures += 1;
                    if failures > self.options.max_retries {
                        return Err(BbError::Transport {
                            path: path.to_string(),
                            detail: format!("gave up after {failures} attempts"),
                        });
                    }
                    tokio::time::sleep(self.backoff(failures)).await;
                }
            }
        }
    }

    /// One HTTP exchange.
    async fn attempt<T: DeserializeOwned>(
        &self,
        path: &str,
        refetched_token: &mut bool,
    ) -> Result<Attempt<T>, BbError> {
        let token = self.bearer(false).await?;
        let url = self.url(path)?;
        let sent = self.http.get(url).bearer_auth(&token).send().await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                self.count(None).await?;
                tracing::warn!(path, error = %e, "Blackboard request failed; retrying");
                return Ok(Attempt::Retry(None));
            }
        };
        let remaining = header_i64(&response, "x-rate-limit-remaining");
        self.count(remaining).await?;
        let status = response.status();
        let retry_after = header_i64(&response, "retry-after");
        let body = match response.text().await {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(path, error = %e, "Blackboard response cut off; retrying");
                return Ok(Attempt::Retry(None));
            }
        };
        if status.is_success() {
            let value = serde_json::from_str(&body).and_then(|mut value| {
                crate::store::text::strip_nul(&mut value);
                serde_json::from_value(value)
            });
            return match value {
                Ok(value) => Ok(Attempt::Done(value)),
                Err(e) => {
                    tracing::warn!(path, error = %e, "malformed JSON from Blackboard; retrying");
                    Ok(Attempt::Retry(None))
                }
            };
        }
        match status {
            StatusCode::UNAUTHORIZED if !*refetched_token => {
                *refetched_token = true;
                *self.token.lock().await = None;
                if let Some((user, _)) = &self.user {
                    user_auth::forget(&self.base, self.platform, *user).await;
                }
                Ok(Attempt::Reauthenticate)
            }
            StatusCode::TOO_MANY_REQUESTS => {
                let secs = retry_after.unwrap_or(1).max(0) as u64;
                Ok(Attempt::Retry(Some(Duration::from_secs(secs))))
            }
            s if s.is_server_error() => {
                tracing::warn!(
                    path,
                    status = s.as_u16(),
                    "Blackboard server error; retrying"
                );
                Ok(Attempt::Retry(None))
            }
            s => Err(BbError::Api {
                status: s.as_u16(),
                path: path.to_string(),
                message: ErrorBody::parse(&body).describe(&body),
            }),
        }
    }

    /// The cached bearer token, fetched when missing, expired, or `fresh` is asked for.
    async fn bearer(&self, fresh: bool) -> Result<String, BbError> {
        let mut cached = self.token.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && !fresh
            && Instant::now() < *expires
        {
            return Ok(token.clone());
        }
        let mut failures = 0;
        let mut rate_limited = 0;
        let (token, lifetime) = loop {
            self.check_budget().await?;
            match self.fetch_token().await {
                Err(BbError::Transport { .. }) if failures < self.options.max_retries => {
                    failures += 1;
                    tokio::time::sleep(self.backoff(failures)).await;
                }
                Err(BbError::RateLimited(wait))
                    if rate_limited < self.options.max_rate_limited
                        && wait <= self.options.max_retry_after =>
                {
                    rate_limited += 1;
                    tokio::time::sleep(wait.mul_f64(self.options.retry_after_scale)).await;
                }
                other => break other?,
            }
        };
        // Renew a little early so a token never expires between check and use.
        let margin = Duration::from_secs(30).min(lifetime / 10);
        *cached = Some((token.clone(), Instant::now() + lifetime - margin));
        Ok(token)
    }

    async fn fetch_token(&self) -> Result<(String, Duration), BbError> {
        if let Some((user, sealing)) = &self.user {
            let endpoint = TokenEndpoint {
                http: &self.http,
                base: &self.base,
                key: &self.key,
                secret: &self.secret,
            };
            let (token, lifetime, requested) =
                user_auth::access_token(&endpoint, &self.store, sealing, self.platform, *user)
                    .await?;
            if requested {
                self.count(None).await?;
            }
            return Ok((token, lifetime));
        }
        let url = self.url(TOKEN_PATH)?;
        let sent = self
            .http
            .post(url)
            .basic_auth(&self.key, Some(self.secret.expose_secret()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => {
                self.count(None).await?;
                return Err(BbError::Transport {
                    path: TOKEN_PATH.into(),
                    detail: e.to_string(),
                });
            }
        };
        self.count(header_i64(&response, "x-rate-limit-remaining"))
            .await?;
        let status = response.status();
        if status == StatusCode::TOO_MANY_REQUESTS {
            let secs = header_i64(&response, "retry-after").unwrap_or(1).max(0) as u64;
            return Err(BbError::RateLimited(Duration::from_secs(secs)));
        }
        let body = response.text().await.unwrap_or_default();
        if matches!(
            status,
            StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN
        ) {
            return Err(BbError::BadCredentials(
                ErrorBody::parse(&body).describe(&format!("HTTP {}", status.as_u16())),
            ));
        }
        if !status.is_success() {
            return Err(BbError::Transport {
                path: TOKEN_PATH.into(),
                detail: format!("HTTP {}", status.as_u16()),
            });
        }
        let token: Token = serde_json::from_str(&body).map_err(|e| BbError::Malformed {
            path: TOKEN_PATH.into(),
            detail: e.to_string(),
        })?;
        let lifetime = Duration::from_secs(token.expires_in.unwrap_or(3600).max(1));
        Ok((token.access_token, lifetime))
    }

    async fn check_budget(&self) -> Result<(), BbError> {
        let (used, remaining) = self.store.api_usage_today(self.platform).await?;
        let low_remaining = remaining.is_some_and(|r| r < self.options.remaining_floor);
        if used >= self.options.daily_budget || low_remaining {
            return Err(BbError::BudgetExhausted {
                used,
                budget: self.options.daily_budget,
            });
        }
        Ok(())
    }

    async fn count(&self, remaining: Option<i64>) -> Result<(), BbError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.store
            .count_api_calls(self.platform, 1, remaining)
            .await?;
        Ok(())
    }

    fn backoff(&self, failures: u32) -> Duration {
        let base = self.options.backoff * 2u32.saturating_pow(failures.saturating_sub(1));
        let base = base.min(Duration::from_secs(30));
        let jitter_ms = rand::rng().random_range(0..=base.as_millis().max(1) as u64);
        base + Duration::from_millis(jitter_ms)
    }

    fn url(&self, path: &str) -> Result<Url, BbError> {
        self.base
            .join(path)
            .map_err(|_| BbError::BadBaseUrl(path.to_string()))
    }
}

fn header_i64(response: &reqwest::Response, name: &str) -> Option<i64> {
    response
        .headers()
        .get(name)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_parse_with_numeric_or_text_status() {
        let numeric =
            ErrorBody::parse(r#"{"status":404,"message":"Course not found","extraInfo":"abc"}"#);
        assert_eq!(
            numeric.describe(""),
            "Course not found (status 404, correlation id abc)"
        );
        let text = ErrorBody::parse(r#"{"status":"403","message":"App disabled"}"#);
        assert_eq!(text.describe(""), "App disabled");
        assert_eq!(
            ErrorBody::parse("<html>oops").describe("<html>oops"),
            "<html>oops"
        );
    }
}
