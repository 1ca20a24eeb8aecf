//! The Learn REST shapes cloop reads (field names from Anthology's OpenAPI spec), with
//! every field optional: what a `fields=` list leaves out is simply absent.

use serde::Deserialize;
use time::OffsetDateTime;

use crate::store::EpochMs;

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Course {
    pub id: String,
    pub uuid: Option<String>,
    pub external_id: Option<String>,
    pub course_id: Option<String>,
    pub name: Option<String>,
    pub term_id: Option<String>,
    pub availability: Option<Availability>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Term {
    pub name: Option<String>,
    pub availability: Option<Availability>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Availability {
    /// `Yes`, `No`, `Disabled`, `Term`, `PartiallyVisible` depending on the object.
    pub available: Option<serde_json::Value>,
    pub duration: Option<Duration>,
}

impl Availability {
    /// Whether students can see it: anything but an explicit no.
    pub fn is_available(&self) -> bool {
        match &self.available {
            Some(serde_json::Value::String(s)) => !matches!(s.as_str(), "No" | "Disabled"),
            Some(serde_json::Value::Bool(b)) => *b,
            _ => true,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Duration {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Content {
    pub id: String,
    pub parent_id: Option<String>,
    pub title: Option<String>,
    pub position: Option<i64>,
    pub created: Option<String>,
    pub modified: Option<String>,
    pub reviewable: Option<bool>,
    pub availability: Option<Availability>,
    pub content_handler: Option<ContentHandler>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ContentHandler {
    pub id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Membership {
    pub user_id: String,
    pub course_role_id: Option<String>,
    pub availability: Option<Availability>,
    pub last_accessed: Option<String>,
    pub user: Option<User>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct User {
    pub uuid: Option<String>,
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    pub name: Option<Name>,
    pub contact: Option<Contact>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Name {
    pub given: Option<String>,
    pub family: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Contact {
    pub email: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Column {
    pub id: String,
    pub name: Option<String>,
    pub content_id: Option<String>,
    pub score: Option<Score>,
    pub grading: Option<Grading>,
    pub modified: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Score {
    pub possible: Option<f64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Grading {
    pub due: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Attempt {
    pub id: String,
    pub user_id: Option<String>,
    pub status: Option<String>,
    pub score: Option<f64>,
    pub created: Option<String>,
    pub attempt_date: Option<String>,
    pub modified: Option<String>,
    pub attempt_receipt: Option<AttemptReceipt>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AttemptReceipt {
    pub submission_date: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Grade {
    pub user_id: Option<String>,
    pub score: Option<f64>,
    pub text: Option<String>,
    pub change_index: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Discussion {
    pub id: String,
    pub title: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Message {
    pub id: String,
    pub parent_id: Option<String>,
    pub thread_id: Option<String>,
    pub user_id: Option<String>,
    pub status: Option<String>,
    pub post_date: Option<String>,
    pub created_date: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CalendarItem {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub title: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ReviewStatus {
    pub content_id: Option<String>,
    pub user_id: Option<String>,
    pub reviewed: Option<bool>,
    pub review_date: Option<String>,
}

/// An ISO 8601 instant from Learn, or `None` when absent, unreadable or outside the dates
/// cloop accepts (logged with the `record` it came from, which is then kept without it).
pub fn instant(text: Option<&str>, record: std::fmt::Arguments<'_>) -> Option<EpochMs> {
    let text = text?;
    let at = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(EpochMs::from)?;
    match crate::events::checked_instant(at) {
        Ok(at) => Some(at),
        Err(e) => {
            tracing::warn!(%record, value = text, "dropped a date from Learn: {e}");
            None
        }
    }
}

/// The ISO 8601 form Learn's filters take.
pub fn iso(at: EpochMs) -> String {
    let t = at.to_datetime();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// A course group (`GroupV2`); `groupSetId` names the group set it belongs to, if any.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Group {
    pub id: String,
    pub name: Option<String>,
    pub group_set_id: Option<String>,
}

/// One member of a course group.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GroupMembership {
    pub user_id: String,
}
