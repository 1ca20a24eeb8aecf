//! Layered configuration: built-in defaults < `cloop.toml` < `CLOOP_<KEY>` environment
//! variables, parsed once at start into typed values, each bad value named with an example.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use secrecy::SecretString;
use serde::{Deserialize, Deserializer, Serialize};
use url::Url;

mod limits;

pub use limits::Limits;

/// The configuration file read when `--config` is not given, if it exists.
const DEFAULT_FILE: &str = "cloop.toml";

/// The shortest accepted `secret_key`, in characters.
const MIN_SECRET_LEN: usize = 32;

/// Blackboard REST calls a day, leaving room under the default 10,000 quota for others.
const DEFAULT_DAILY_BUDGET: i64 = 8000;

/// cloop's validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Base URL that browsers and the LMS reach; every URL cloop hands out starts with it.
    pub public_url: Url,
    pub database_url: String,
    pub listen: SocketAddr,
    /// A second address serving only `GET /metrics` (for a scraper on another host);
    /// without it, `/metrics` on `listen` answers loopback clients only.
    pub metrics_listen: Option<SocketAddr>,
    pub sync_interval: Duration,
    /// How often a course's roster and gradebook are read over LTI (NRPS, AGS), on launch
    /// and on schedule.
    pub roster_interval: Duration,
    /// Blackboard REST calls per platform per UTC day after which syncs pause until the
    /// next day (the default developer quota is 10,000 a day across all sites).
    pub blackboard_daily_budget: i64,
    /// The longest pause inside one student session; a longer one starts a new session.
    pub session_gap: Duration,
    /// Signs session tokens and seals stored secrets; generated and stored in the
    /// database when not configured.
    pub secret_key: Option<SecretString>,
    /// Lets URLs an LMS sends in-band (dynamic registration, service URLs in launches)
    /// lead to loopback, link-local and private addresses: for a development LMS only.
    pub allow_private_urls: bool,
    /// What strangers and ingest keys can make cloop hold or do.
    pub limits: Limits,
}

/// A configuration value that cannot be used, reported as one line.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config key `{key}`: {problem} (example: {key} = {example})")]
    Invalid {
        key: &'static str,
        problem: String,
        example: &'static str,
    },
    #[error("config file {path}: {message}")]
    File { path: String, message: String },
}

impl ConfigError {
    fn invalid(key: &'static str, problem: impl Into<String>, example: &'static str) -> Self {
        Self::Invalid {
            key,
            problem: problem.into(),
            example,
        }
    }
}

/// Values as written, before parsing. Environment variables arrive as TOML scalars, so a
/// number or boolean is accepted wherever text is.
#[derive(Debug, Deserialize, Serialize)]
struct RawConfig {
    #[serde(default, deserialize_with = "scalar_text")]
    public_url: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    database_url: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    listen: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    metrics_listen: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    sync_interval: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    roster_interval: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    blackboard_daily_budget: Option<String>,
    session_gap: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    secret_key: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    allow_private_urls: Option<String>,
    #[serde(flatten)]
    limits: limits::RawLimits,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            database_url: Some("sqlite://cloop.db".into()),
            listen: Some("127.0.0.1:8080".into()),
            metrics_listen: None,
            sync_interval: Some("6h".into()),
            roster_interval: Some("6h".into()),
            blackboard_daily_budget: Some(DEFAULT_DAILY_BUDGET.to_string()),
            session_gap: Some("40m".into()),
            secret_key: None,
            allow_private_urls: Some("false".into()),
            limits: limits::RawLimits::default(),
        }
    }
}

fn scalar_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }
    Ok(Option::<Scalar>::deserialize(d)?.map(|s| match s {
        Scalar::Text(t) => t,
        Scalar::Int(i) => i.to_string(),
        Scalar::Float(f) => f.to_string(),
        Scalar::Bool(b) => b.to_string(),
    }))
}

impl Config {
    /// Loads the configuration from `file` (or `cloop.toml` when it exists) and the
    /// environment. A named file that is missing is an error; the default one is optional.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(RawConfig::default()));
        match file {
            Some(path) if !path.exists() => {
                return Err(ConfigError::File {
                    path: path.display().to_string(),
                    message: "no such file".into(),
                });
            }
            Some(path) => figment = figment.merge(Toml::file_exact(path)),
            None if Path::new(DEFAULT_FILE).exists() => {
                figment = figment.merge(Toml::file_exact(DEFAULT_FILE));
            }
            None => {}
        }
        let raw: RawConfig = figment
            .merge(Env::prefixed("CLOOP_").ignore(&["config"]))
            .extract()
            .map_err(|e| ConfigError::File {
                path: file.map_or(DEFAULT_FILE.into(), |p| p.display().to_string()),
                message: e.to_string().replace('\n', "; "),
            })?;
        Self::parse(raw)
    }

    /// Configuration for one test or tool run, without files or environment.
    pub fn for_database(database_url: &str) -> Self {
        Self {
            public_url: Url::parse("http://127.0.0.1:0").expect("static URL"),
            database_url: database_url.to_string(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            metrics_listen: None,
            sync_interval: Duration::from_secs(6 * 3600),
            roster_interval: Duration::from_secs(6 * 3600),
            blackboard_daily_budget: DEFAULT_DAILY_BUDGET,
            session_gap: Duration::from_secs(40 * 60),
            secret_key: None,
            allow_private_urls: false,
            limits: Limits::default(),
        }
    }

    fn parse(raw: RawConfig) -> Result<Self, ConfigError> {
        let listen_text = raw.listen.unwrap_or_default();
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigError::invalid(
                "listen",
                format!("{listen_text:?} is not an address and port"),
                "\"127.0.0.1:8080\"",
            )
        })?;

        let metrics_listen = match raw.metrics_listen.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(text) => Some(text.parse::<SocketAddr>().map_err(|_| {
                ConfigError::invalid(
                    "metrics_listen",
                    format!("{text:?} is not an address and port"),
                    "\"10.0.0.5:9464\"",
                )
            })?),
        };

        let public_url = match raw.public_url {
            Some(text) => parse_public_url(&text)?,
            None => Url::parse(&format!("http://{listen}")).map_err(|e| {
                ConfigError::invalid("public_url", e.to_string(), "\"https://cloop.example.edu\"")
            })?,
        };

        let database_url = raw.database_url.unwrap_or_default();
        if !(database_url.starts_with("sqlite:")
            || database_url.starts_with("postgres://")
            || database_url.starts_with("postgresql://"))
        {
            return Err(ConfigError::invalid(
                "database_url",
                format!(
                    "{:?} is not a SQLite or PostgreSQL URL",
                    crate::store::redact_url(&database_url)
                ),
                "\"sqlite://cloop.db\" or \"postgres://cloop@localhost/cloop\"",
            ));
        }

        let interval_text = raw.sync_interval.unwrap_or_default();
        let sync_interval = humantime::parse_duration(&interval_text)
            .ok()
            .filter(|d| *d >= Duration::from_secs(60))
            .ok_or_else(|| {
                ConfigError::invalid(
                    "sync_interval",
                    format!("{interval_text:?} is not a duration of at least one minute"),
                    "\"6h\"",
                )
            })?;

        let roster_text = raw.roster_interval.unwrap_or_default();
        let roster_interval = humantime::parse_duration(&roster_text)
            .ok()
            .filter(|d| *d >= Duration::from_secs(60))
            .ok_or_else(|| {
                ConfigError::invalid(
                    "roster_interval",
                    format!("{roster_text:?} is not a duration of at least one minute"),
                    "\"6h\"",
                )
            })?;

        let budget_text = raw.blackboard_daily_budget.unwrap_or_default();
        let blackboard_daily_budget = budget_text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 1)
            .ok_or_else(|| {
                ConfigError::invalid(
                    "blackboard_daily_budget",
                    format!("{budget_text:?} is not a positive number of calls per day"),
                    "8000",
                )
            })?;

        let gap_text = raw.session_gap.unwrap_or_default();
        let session_gap = humantime::parse_duration(&gap_text)
            .ok()
            .filter(|d| *d >= Duration::from_secs(60))
            .ok_or_else(|| {
                ConfigError::invalid(
                    "session_gap",
                    format!("{gap_text:?} is not a duration of at least one minute"),
                    "\"40m\"",
                )
            })?;

        let secret_key = match raw.secret_key {
            Some(key) if key.chars().count() < MIN_SECRET_LEN => {
                return Err(ConfigError::invalid(
                    "secret_key",
                    format!(
                        "is {} characters long; it needs at least {MIN_SECRET_LEN}",
                        key.chars().count()
                    ),
                    "\"<the output of: openssl rand -base64 48>\"",
                ));
            }
            Some(key) => Some(SecretString::from(key)),
            None => None,
        };

        let private_text = raw.allow_private_urls.unwrap_or_default();
        let allow_private_urls = match private_text.trim() {
            "true" => true,
            "false" => false,
            _ => {
                return Err(ConfigError::invalid(
                    "allow_private_urls",
                    format!("{private_text:?} is not true or false"),
                    "false",
                ));
            }
        };

        Ok(Self {
            public_url,
            database_url,
            listen,
            metrics_listen,
            sync_interval,
            roster_interval,
            blackboard_daily_budget,
            session_gap,
            secret_key,
            allow_private_urls,
            limits: Limits::parse(raw.limits)?,
        })
    }

    /// True when the public URL is plain HTTP, which LMSs and browsers only tolerate locally.
    pub fn public_url_is_insecure(&self) -> bool {
        self.public_url.scheme() != "https"
    }

    /// The absolute URL of a path on this tool.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.public_url.as_str().trim_end_matches('/'), path)
    }
}

fn parse_public_url(text: &str) -> Result<Url, ConfigError> {
    const EXAMPLE: &str = "\"https://cloop.example.edu\"";
    let url = Url::parse(text).map_err(|e| {
        ConfigError::invalid("public_url", format!("{text:?} is not a URL: {e}"), EXAMPLE)
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(ConfigError::invalid(
            "public_url",
            format!("{text:?} must be an http(s) URL with a host"),
            EXAMPLE,
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::invalid(
            "public_url",
            format!("{text:?} must not carry a query or fragment"),
            EXAMPLE,
        ));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawConfig {
        RawConfig::default()
    }

    #[test]
    fn defaults_are_local_sqlite() {
        let config = Config::parse(raw()).unwrap();
        assert_eq!(config.database_url, "sqlite://cloop.db");
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.public_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(config.sync_interval, Duration::from_secs(6 * 3600));
        assert_eq!(config.session_gap, Duration::from_secs(40 * 60));
        assert!(config.public_url_is_insecure());
        assert!(!config.allow_private_urls);
    }

    #[test]
    fn bad_listen_names_the_key_and_an_example() {
        let err = Config::parse(RawConfig {
            listen: Some("localhost".into()),
            ..raw()
        })
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "config key `listen`: \"localhost\" is not an address and port (example: listen = \"127.0.0.1:8080\")"
        );
    }

    #[test]
    fn mysql_is_rejected() {
        let err = Config::parse(RawConfig {
            database_url: Some("mysql://x".into()),
            ..raw()
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("config key `database_url`: \"mysql://x\""),
            "{err}"
        );
    }

    #[test]
    fn short_secret_is_rejected_without_echoing_it() {
        let err = Config::parse(RawConfig {
            secret_key: Some("hunter2".into()),
            ..raw()
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("secret_key") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn sync_interval_takes_human_durations() {
        let config = Config::parse(RawConfig {
            sync_interval: Some("90m".into()),
            ..raw()
        })
        .unwrap();
        assert_eq!(config.sync_interval, Duration::from_secs(5400));
        assert!(
            Config::parse(RawConfig {
                sync_interval: Some("soon".into()),
                ..raw()
            })
            .is_err()
        );
    }

    #[test]
    fn daily_budget_must_be_a_positive_number() {
        assert_eq!(Config::parse(raw()).unwrap().blackboard_daily_budget, 8000);
        let err = Config::parse(RawConfig {
            blackboard_daily_budget: Some("lots".into()),
            ..raw()
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("config key `blackboard_daily_budget`"),
            "{err}"
        );
    }

    #[test]
    fn public_url_must_be_http() {
        assert!(
            Config::parse(RawConfig {
                public_url: Some("ftp://x".into()),
                ..raw()
            })
            .is_err()
        );
        let config = Config::parse(RawConfig {
            public_url: Some("https://cloop.example.edu/".into()),
            ..raw()
        })
        .unwrap();
        assert!(!config.public_url_is_insecure());
        assert_eq!(
            config.url("/lti/launch"),
            "https://cloop.example.edu/lti/launch"
        );
    }
}
