//! Assignment and Grade Services, read side: the course's line items (every page) become
//! assessments and, when they carry an `endDateTime`, submission events; each line item's
//! results become grades. Line items that disappear are marked removed.

use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::container::{ServiceError, get_page, merge_query};
use super::token::{AccessTokens, SCOPE_LINEITEM_READ, SCOPE_RESULT_READ, TokenError};
use crate::store::ags::{AgsResultRow, LineItemRow};
use crate::store::platforms::Platform;
use crate::store::sync_runs::SyncCounts;
use crate::store::{CourseId, EpochMs, Store};

pub const LINEITEMS_MEDIA_TYPE: &str = "application/vnd.ims.lis.v2.lineitemcontainer+json";
pub const RESULTS_MEDIA_TYPE: &str = "application/vnd.ims.lis.v2.resultcontainer+json";
/// The read-write line item scope; it also allows reading.
pub const SCOPE_LINEITEM: &str = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem";
/// The service name in the data-source status.
pub const SERVICE: &str = "ags";
/// A container of more pages than this is taken to be a paging loop.
const MAX_PAGES: usize = 1000;

/// What one gradebook read did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GradebookReport {
    /// Line items as assessments: new, changed, removed.
    pub line_items: SyncCounts,
    /// Results as grades: new and changed.
    pub grades: SyncCounts,
    pub line_item_count: usize,
    pub result_count: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LineItem {
    id: String,
    #[serde(default)]
    label: Option<String>,
    #[serde(default)]
    score_maximum: Option<f64>,
    #[serde(default)]
    start_date_time: Option<String>,
    #[serde(default)]
    end_date_time: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AgsResult {
    user_id: String,
    #[serde(default)]
    result_score: Option<f64>,
    #[serde(default)]
    result_maximum: Option<f64>,
    #[serde(default)]
    timestamp: Option<String>,
}

/// A date-time from the platform, or `None` when absent, unreadable or outside the dates
/// cloop accepts (logged with the `record` it came from).
fn instant(text: Option<&str>, record: &str) -> Option<EpochMs> {
    let text = text?;
    let at = OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(EpochMs::from)?;
    crate::events::checked_instant(at)
        .map_err(|e| tracing::warn!(record, value = text, "dropped a date from AGS: {e}"))
        .ok()
}

impl LineItem {
    fn into_row(self) -> LineItemRow {
        let due_at = instant(self.end_date_time.as_deref(), &self.id);
        LineItemRow {
            name: self.label.unwrap_or_default(),
            points_possible: self.score_maximum,
            opens_at: instant(self.start_date_time.as_deref(), &self.id),
            due_at,
            lms_id: self.id,
        }
    }
}

impl AgsResult {
    /// The score on the line item's own scale (AGS scores are relative to `resultMaximum`).
    fn into_row(self, score_maximum: Option<f64>) -> AgsResultRow {
        let score = match (self.result_score, self.result_maximum, score_maximum) {
            (Some(s), Some(max), Some(of)) if max > 0.0 && (max - of).abs() > f64::EPSILON => {
                Some(s / max * of)
            }
            (score, _, _) => score,
        };
        AgsResultRow {
            graded_at: instant(self.timestamp.as_deref(), &self.user_id),
            lms_sub: self.user_id,
            score,
        }
    }
}

/// Reads line items and results and records the outcome as the course's AGS status.
pub async fn sync_gradebook(
    store: &Store,
    tokens: &AccessTokens,
    course: CourseId,
) -> Result<GradebookReport, ServiceError> {
    let outcome = read_gradebook(store, tokens, course).await.map(|report| {
        let summary = format!(
            "{} line items, {} results",
            report.line_item_count, report.result_count
        );
        (report, summary, None)
    });
    super::status::record_read(store, course, SERVICE, outcome).await
}

/// The scopes to ask for, from those the launch's AGS claim granted: reading line items
/// (read-only, else read-write) and reading results.
fn scopes(granted: Option<&str>) -> Result<[&'static str; 2], ServiceError> {
    let granted: Vec<&str> = granted.unwrap_or_default().split_whitespace().collect();
    let line_items = [SCOPE_LINEITEM_READ, SCOPE_LINEITEM]
        .into_iter()
        .find(|s| granted.contains(s));
    let results = granted
        .contains(&SCOPE_RESULT_READ)
        .then_some(SCOPE_RESULT_READ);
    match (line_items, results) {
        (Some(l), Some(r)) => Ok([l, r]),
        (l, r) => {
            let missing: Vec<&str> = [
                l.is_none().then_some(SCOPE_LINEITEM_READ),
                r.is_none().then_some(SCOPE_RESULT_READ),
            ]
            .into_iter()
            .flatten()
            .collect();
            Err(ServiceError::Token(TokenError::ScopeNotGranted(format!(
                "{} (the launch's grade service claim lacks it)",
                missing.join(" ")
            ))))
        }
    }
}

/// The results URL of a line item: `/results` appended to its path, before any query.
pub fn results_url(line_item: &str) -> Result<String, ServiceError> {
    let mut url = url::Url::parse(line_item)
        .map_err(|e| ServiceError::Malformed(format!("line item id {line_item:?}: {e}")))?;
    let path = format!("{}/results", url.path().trim_end_matches('/'));
    url.set_path(&path);
    Ok(url.into())
}

/// Every item of a paged container whose body is a JSON array.
async fn read_all<T: serde::de::DeserializeOwned>(
    store: &Store,
    tokens: &AccessTokens,
    platform: &Platform,
    scopes: &[&str],
    first: &str,
    accept: &str,
    what: &str,
) -> Result<Vec<T>, ServiceError> {
    let mut items = Vec::new();
    let mut url = first.to_string();
    for _ in 0..MAX_PAGES {
        let page = get_page(tokens, store, platform, scopes, &url, accept).await?;
        let batch: Vec<T> = serde_json::from_value(page.body).map_err(|e| {
            ServiceError::Malformed(format!("the {what} container is not valid: {e}"))
        })?;
        items.extend(batch);
        match page.next {
            Some(next) => url = merge_query(&next, first),
            None => return Ok(items),
        }
    }
    Err(ServiceError::Malformed(format!(
        "the {what} container has more than {MAX_PAGES} pages"
    )))
}

async fn read_gradebook(
    store: &Store,
    tokens: &AccessTokens,
    course_id: CourseId,
) -> Result<GradebookReport, ServiceError> {
    let course = store.course(course_id).await?;
    let platform = store.platform(course.platform_id).await?;
    let line_items_url = store
        .course_service_urls(course_id)
        .await?
        .1
        .ok_or(ServiceError::NoEndpoint)?;
    let scopes = scopes(store.course_ags_scopes(course_id).await?.as_deref())?;
    let items: Vec<LineItem> = read_all(
        store,
        tokens,
        &platform,
        &scopes,
        &line_items_url,
        LINEITEMS_MEDIA_TYPE,
        "line item",
    )
    .await?;
    let rows: Vec<LineItemRow> = items.into_iter().map(LineItem::into_row).collect();
    let mut results = Vec::with_capacity(rows.len());
    for row in &rows {
        let fetched: Vec<AgsResult> = read_all(
            store,
            tokens,
            &platform,
            &scopes,
            &results_url(&row.lms_id)?,
            RESULTS_MEDIA_TYPE,
            "result",
        )
        .await?;
        results.push(
            fetched
                .into_iter()
                .map(|r| r.into_row(row.points_possible))
                .collect::<Vec<_>>(),
        );
    }
    let line_items = store.sync_ags_line_items(course_id, &rows).await?;
    let mut grades = SyncCounts::default();
    for (row, rows_results) in rows.iter().zip(&results) {
        grades += store
            .sync_ags_results(platform.id, course_id, &row.lms_id, rows_results)
            .await?;
    }
    Ok(GradebookReport {
        line_items,
        grades,
        line_item_count: rows.len(),
        result_count: results.iter().map(Vec::len).sum(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_go_before_the_query_string() {
        assert_eq!(
            results_url(
                "https://moodle.example/mod/lti/services.php/2/lineitems/7/lineitem?type_id=1"
            )
            .unwrap(),
            "https://moodle.example/mod/lti/services.php/2/lineitems/7/lineitem/results?type_id=1"
        );
        assert_eq!(
            results_url("https://lms.example/li/7/").unwrap(),
            "https://lms.example/li/7/results"
        );
    }

    #[test]
    fn read_only_scopes_are_preferred_and_missing_ones_named() {
        let both = format!("{SCOPE_LINEITEM} {SCOPE_LINEITEM_READ} {SCOPE_RESULT_READ}");
        assert_eq!(
            scopes(Some(&both)).unwrap(),
            [SCOPE_LINEITEM_READ, SCOPE_RESULT_READ]
        );
        let write = format!("{SCOPE_LINEITEM} {SCOPE_RESULT_READ}");
        assert_eq!(
            scopes(Some(&write)).unwrap(),
            [SCOPE_LINEITEM, SCOPE_RESULT_READ]
        );
        let error = scopes(Some(SCOPE_LINEITEM_READ)).unwrap_err().to_string();
        assert!(error.contains("scope not granted") && error.contains(SCOPE_RESULT_READ));
        assert!(!error.contains(SCOPE_LINEITEM_READ), "{error}");
        assert!(scopes(None).is_err());
    }

    #[test]
    fn scores_are_put_on_the_line_items_scale() {
        let result = |score, max| AgsResult {
            user_id: "u".into(),
            result_score: score,
            result_maximum: max,
            timestamp: Some("2026-04-01T10:00:00+00:00".into()),
        };
        assert_eq!(
            result(Some(5.0), Some(10.0)).into_row(Some(20.0)).score,
            Some(10.0)
        );
        assert_eq!(
            result(Some(5.0), None).into_row(Some(20.0)).score,
            Some(5.0)
        );
        let row = result(None, Some(10.0)).into_row(Some(10.0));
        assert_eq!(row.score, None);
        assert!(row.graded_at.is_some());
    }
}
