//! The data-source status staff see on the course page: for each LTI service the course
//! uses, when it was last read and what went wrong, if anything.

use serde::Serialize;

use super::ServiceError;
use crate::store::{CourseId, EpochMs, Store, StoreResult};

/// One service's line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DataSourceStatus {
    /// `nrps` or `ags`.
    pub service: String,
    /// What staff call it.
    pub label: &'static str,
    pub last_run_at: EpochMs,
    pub last_success_at: Option<EpochMs>,
    /// Why the last read failed; none when it worked.
    pub error: Option<String>,
    pub summary: String,
}

impl DataSourceStatus {
    pub fn ok(&self) -> bool {
        self.error.is_none()
    }

    /// The status as one sentence.
    pub fn line(&self) -> String {
        match &self.error {
            None => format!("{}: {}.", self.label, self.summary),
            Some(error) => format!("{}: not updated — {error}", self.label),
        }
    }
}

fn label(service: &str) -> &'static str {
    match service {
        "nrps" => "Class list (LTI Names and Roles)",
        "ags" => "Grade items (LTI Assignment and Grade Services)",
        _ => "LTI service",
    }
}

/// The statuses of the services read for the course, roster first; never fails on a
/// service's own error, only when the database cannot be read.
pub async fn status(store: &Store, course: CourseId) -> StoreResult<Vec<DataSourceStatus>> {
    let mut runs = store.service_runs(course).await?;
    runs.sort_by_key(|r| r.service != "nrps");
    Ok(runs
        .into_iter()
        .map(|r| DataSourceStatus {
            label: label(&r.service),
            service: r.service,
            last_run_at: r.last_run_at,
            last_success_at: r.last_success_at,
            error: r.error,
            summary: r.summary,
        })
        .collect())
}

/// A service read that worked: its result, the status summary, and where to read only the
/// differences next time (NRPS).
pub(super) type ReadOutcome<T> = Result<(T, String, Option<String>), ServiceError>;

/// Records how a service read ended as the course's status line for `service`: the
/// summary when it worked, the error otherwise; hands the result back.
pub(super) async fn record_read<T>(
    store: &Store,
    course: CourseId,
    service: &str,
    outcome: ReadOutcome<T>,
) -> Result<T, ServiceError> {
    match outcome {
        Ok((value, summary, differences_url)) => {
            store
                .record_service_success(course, service, &summary, differences_url.as_deref())
                .await?;
            Ok(value)
        }
        Err(e) => {
            store
                .record_service_failure(course, service, &e.to_string())
                .await?;
            Err(e)
        }
    }
}
