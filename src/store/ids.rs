//! Typed identifiers and instants used across the store API, so a course id can never be
//! passed where a user id is expected and every time is UTC epoch milliseconds.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

macro_rules! row_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type)]
        #[sqlx(transparent)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                value: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                i64::column_result(value).map($name)
            }
        }

        impl FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }
    };
}

row_id!(
    /// A registered LTI platform (one issuer + client_id registration).
    PlatformId
);
row_id!(
    /// A registered deployment of a platform (cloop's row; the LTI `deployment_id` text is
    /// kept beside it).
    DeploymentId
);
row_id!(
    /// A course (LTI context of one deployment) known to cloop.
    CourseId
);
row_id!(
    /// A person known to cloop through one platform.
    UserId
);
row_id!(
    /// A content item in a course's content tree.
    ContentItemId
);
row_id!(
    /// A course event: single, repeating or submission.
    CourseEventId
);
row_id!(
    /// An assessment (grade column or line item).
    AssessmentId
);
row_id!(
    /// A discussion forum.
    ForumId
);
row_id!(
    /// A tool administrator.
    AdminId
);
row_id!(
    /// A course group or section from the LMS.
    CourseGroupId
);
row_id!(
    /// A durable background job.
    JobId
);
row_id!(
    /// One run of a course sync.
    SyncRunId
);

/// An instant as UTC milliseconds since the Unix epoch, the only way times are stored.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, sqlx::Type,
)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct EpochMs(pub i64);

impl EpochMs {
    pub fn now() -> Self {
        Self::from(OffsetDateTime::now_utc())
    }

    pub fn plus_secs(self, secs: i64) -> Self {
        Self(self.0 + secs * 1000)
    }

    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

impl rusqlite::types::FromSql for EpochMs {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        i64::column_result(value).map(Self)
    }
}

impl From<OffsetDateTime> for EpochMs {
    fn from(t: OffsetDateTime) -> Self {
        Self((t.unix_timestamp_nanos() / 1_000_000) as i64)
    }
}

impl fmt::Display for EpochMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self
            .to_datetime()
            .format(&time::format_description::well_known::Rfc3339)
        {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{}ms", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_ms_round_trips_through_datetime() {
        let t = EpochMs(1_700_000_000_123);
        assert_eq!(EpochMs::from(t.to_datetime()), t);
        assert_eq!(t.to_string(), "2023-11-14T22:13:20.123Z");
    }

    #[test]
    fn ids_parse_from_text() {
        assert_eq!("42".parse::<CourseId>().unwrap(), CourseId(42));
        assert!("x".parse::<CourseId>().is_err());
    }
}
