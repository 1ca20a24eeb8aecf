//! The bounds on what anonymous or key-authenticated senders can make cloop hold or do:
//! pending events' age and count, the ingest routes' time and concurrency, header time.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, scalar_text};
use crate::activity::DEFAULT_QUEUE_EVENTS;

/// Bounds on what strangers and ingest keys can create or occupy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Events kept for an unknown course are deleted after this long (`pending_event_ttl`).
    pub pending_event_ttl: Duration,
    /// Events kept for unknown courses per platform; past it new ones are rejected
    /// (`pending_events_per_platform`).
    pub pending_events_per_platform: u64,
    /// Longest a `/caliper` or `/xapi/statements` request may take, body included
    /// (`ingest_timeout`).
    pub ingest_timeout: Duration,
    /// Ingest requests handled at once; more are answered 503 with `Retry-After`
    /// (`ingest_concurrency`).
    pub ingest_concurrency: usize,
    /// Events waiting to be written (pushed, imported) at most; a pushed batch that does not
    /// fit is answered 503 with `Retry-After`, an import waits (`activity_queue_events`).
    pub activity_queue_events: usize,
    /// Longest a client may take to send a request's headers on any route, and longest an
    /// idle connection stays open (`header_read_timeout`).
    pub header_read_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            pending_event_ttl: Duration::from_secs(30 * 86_400),
            pending_events_per_platform: 100_000,
            ingest_timeout: Duration::from_secs(30),
            ingest_concurrency: 64,
            activity_queue_events: DEFAULT_QUEUE_EVENTS,
            header_read_timeout: Duration::from_secs(30),
        }
    }
}

/// The limits as written (flattened into the config file's top level).
#[derive(Debug, Deserialize, Serialize)]
pub(super) struct RawLimits {
    #[serde(default, deserialize_with = "scalar_text")]
    pending_event_ttl: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    pending_events_per_platform: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    ingest_timeout: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    ingest_concurrency: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    activity_queue_events: Option<String>,
    #[serde(default, deserialize_with = "scalar_text")]
    header_read_timeout: Option<String>,
}

impl Default for RawLimits {
    fn default() -> Self {
        Self {
            pending_event_ttl: Some("30d".into()),
            pending_events_per_platform: Some("100000".into()),
            ingest_timeout: Some("30s".into()),
            ingest_concurrency: Some("64".into()),
            activity_queue_events: Some(DEFAULT_QUEUE_EVENTS.to_string()),
            header_read_timeout: Some("30s".into()),
        }
    }
}

impl Limits {
    pub(super) fn parse(raw: RawLimits) -> Result<Self, ConfigError> {
        Ok(Self {
            pending_event_ttl: duration_at_least(
                "pending_event_ttl",
                raw.pending_event_ttl,
                (Duration::from_secs(3600), "an hour"),
                "\"30d\"",
            )?,
            pending_events_per_platform: positive(
                "pending_events_per_platform",
                raw.pending_events_per_platform,
                "100000",
            )?,
            ingest_timeout: duration_at_least(
                "ingest_timeout",
                raw.ingest_timeout,
                (Duration::from_secs(1), "a second"),
                "\"30s\"",
            )?,
            ingest_concurrency: positive("ingest_concurrency", raw.ingest_concurrency, "64")?,
            activity_queue_events: positive(
                "activity_queue_events",
                raw.activity_queue_events,
                "50000",
            )?,
            header_read_timeout: duration_at_least(
                "header_read_timeout",
                raw.header_read_timeout,
                (Duration::from_secs(1), "a second"),
                "\"30s\"",
            )?,
        })
    }
}

fn duration_at_least(
    key: &'static str,
    text: Option<String>,
    (min, min_words): (Duration, &str),
    example: &'static str,
) -> Result<Duration, ConfigError> {
    let text = text.unwrap_or_default();
    humantime::parse_duration(&text)
        .ok()
        .filter(|d| *d >= min)
        .ok_or_else(|| {
            ConfigError::invalid(
                key,
                format!("{text:?} is not a duration of at least {min_words}"),
                example,
            )
        })
}

fn positive<N: std::str::FromStr + PartialOrd + From<u8>>(
    key: &'static str,
    text: Option<String>,
    example: &'static str,
) -> Result<N, ConfigError> {
    let text = text.unwrap_or_default();
    text.trim()
        .parse::<N>()
        .ok()
        .filter(|n| *n >= N::from(1))
        .ok_or_else(|| {
            ConfigError::invalid(key, format!("{text:?} is not a positive number"), example)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw() -> RawLimits {
        RawLimits::default()
    }

    #[test]
    fn defaults_are_bounded() {
        let limits = Limits::parse(raw()).unwrap();
        assert_eq!(limits, Limits::default());
        assert_eq!(limits.pending_event_ttl, Duration::from_secs(30 * 86_400));
        assert_eq!(limits.pending_events_per_platform, 100_000);
    }

    #[test]
    fn a_config_file_sets_limits_at_its_top_level() {
        use figment::Figment;
        use figment::providers::{Format, Serialized, Toml};
        let raw: super::super::RawConfig =
            Figment::from(Serialized::defaults(super::super::RawConfig::default()))
                .merge(Toml::string(
                    "ingest_concurrency = 8\npending_event_ttl = \"2d\"",
                ))
                .extract()
                .unwrap();
        let limits = Limits::parse(raw.limits).unwrap();
        assert_eq!(limits.ingest_concurrency, 8);
        assert_eq!(limits.pending_event_ttl, Duration::from_secs(2 * 86_400));
        assert_eq!(limits.ingest_timeout, Duration::from_secs(30));
    }

    #[test]
    fn human_values_parse_and_zero_is_refused_by_name() {
        let limits = Limits::parse(RawLimits {
            pending_event_ttl: Some("7d".into()),
            ingest_concurrency: Some("8".into()),
            ..raw()
        })
        .unwrap();
        assert_eq!(limits.pending_event_ttl, Duration::from_secs(7 * 86_400));
        assert_eq!(limits.ingest_concurrency, 8);
        let err = Limits::parse(RawLimits {
            pending_events_per_platform: Some("0".into()),
            ..raw()
        })
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("config key `pending_events_per_platform`"),
            "{err}"
        );
        let err = Limits::parse(RawLimits {
            ingest_timeout: Some("10ms".into()),
            ..raw()
        })
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("config key `ingest_timeout`"), "{err}");
    }
}
