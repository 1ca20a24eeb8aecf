//! xAPI statements as Moodle's logstore_xapi plugin and Learning Locker send or export
//! them, mapped by verb; Moodle names courses and modules by `view.php?id=N` URLs.

use serde_json::Value;

use super::{
    ActivityKind, ActivitySource, ContentRef, CourseRef, ItemGroup, LmsEvent, Mapped, hashed_key,
};
use crate::store::EpochMs;

/// Splits a request body (one statement or an array of them) into statements.
pub fn parse_statements(body: &[u8]) -> Result<Vec<Value>, String> {
    match serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))? {
        Value::Array(items) => Ok(items),
        object @ Value::Object(_) => Ok(vec![object]),
        _ => Err("an xAPI request body is a statement object or an array of statements".into()),
    }
}

/// Maps statements, each with its id (for the report) and the mapping.
pub fn map_statements(statements: Vec<Value>) -> Vec<(Option<String>, Mapped)> {
    statements
        .into_iter()
        .map(|statement| {
            let statement = unwrap_stored(statement);
            let id = statement
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_string);
            let mapped = map_statement(&statement).map(|e| (e, statement));
            (id, mapped)
        })
        .collect()
}

/// Learning Locker exports wrap each statement as `{"statement": {…}, …}`.
pub fn unwrap_stored(value: Value) -> Value {
    match value {
        Value::Object(mut map) if map.get("statement").is_some_and(Value::is_object) => {
            map.remove("statement").unwrap_or_default()
        }
        other => other,
    }
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = value;
    for key in path {
        at = at.get(key)?;
    }
    at.as_str().filter(|s| !s.is_empty())
}

/// The `N` of a Moodle URL `…/{marker}…?id=N`.
fn moodle_id<'a>(url: &'a str, marker: &str) -> Option<&'a str> {
    let (_, rest) = url.split_once(marker)?;
    let (_, query) = rest.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("id="))
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
}

/// The module kind and id of a Moodle activity URL `…/mod/{module}/view.php?id=N`.
fn moodle_module(url: &str) -> Option<(&str, &str)> {
    let (_, rest) = url.split_once("/mod/")?;
    let module = rest.split('/').next()?;
    Some((module, moodle_id(url, "/mod/")?))
}

fn group_of_module(module: &str) -> ItemGroup {
    match module {
        "forum" | "chat" | "hsuforum" | "oublog" | "wiki" => ItemGroup::Communication,
        "quiz" | "assign" | "lesson" | "workshop" | "feedback" | "survey" | "scorm" => {
            ItemGroup::Assessment
        }
        _ => ItemGroup::Content,
    }
}

fn kind_of_verb(verb_id: &str) -> Option<ActivityKind> {
    let verb = verb_id.rsplit('/').next().unwrap_or(verb_id);
    Some(match verb {
        "viewed" | "experienced" | "accessed" | "launched" | "read" => ActivityKind::View,
        "attempted" | "started" | "initialized" => ActivityKind::Attempt,
        "completed" | "submitted" | "passed" | "failed" => ActivityKind::Submission,
        "commented" | "replied" | "posted" | "responded" => ActivityKind::Post,
        "scored" | "graded" | "received" => ActivityKind::Grade,
        "logged-in" | "loggedin" => ActivityKind::Login,
        "logged-out" | "loggedout" => ActivityKind::Logout,
        _ => return None,
    })
}

/// Maps one statement to an activity, or says why it cannot be stored.
pub fn map_statement(statement: &Value) -> Result<LmsEvent, String> {
    let verb_id = text(statement, &["verb", "id"]).ok_or("the statement has no verb id")?;
    let kind = kind_of_verb(verb_id)
        .ok_or_else(|| format!("verb {verb_id} is not activity cloop records"))?;
    let object_id = text(statement, &["object", "id"]).ok_or("the statement has no object id")?;
    let time = text(statement, &["timestamp"]).ok_or("the statement has no timestamp")?;
    let occurred_at: jiff::Timestamp = time
        .parse()
        .map_err(|e| format!("timestamp {time:?} is not an ISO 8601 instant: {e}"))?;

    let mut related: Vec<&str> = vec![object_id];
    for list in ["parent", "grouping", "other"] {
        if let Some(Value::Array(items)) = statement
            .get("context")
            .and_then(|c| c.get("contextActivities"))
            .and_then(|c| c.get(list))
        {
            related.extend(items.iter().filter_map(|i| text(i, &["id"])));
        }
    }
    let course_id = related
        .iter()
        .find_map(|url| moodle_id(url, "/course/view.php"))
        .ok_or(
            "the statement names no Moodle course (no …/course/view.php?id=N in object or context)",
        )?;
    let content = related
        .iter()
        .find_map(|url| moodle_module(url))
        .map(|(module, id)| ContentRef {
            lms_id: id.to_string(),
            group: group_of_module(module),
        });
    let user_pk = text(statement, &["actor", "account", "name"])
        .or_else(|| text(statement, &["actor", "mbox"]).map(|m| m.trim_start_matches("mailto:")))
        .map(str::to_string);
    let idempotency_key = match text(statement, &["id"]) {
        Some(id) => format!("xapi:{id}"),
        None => hashed_key(
            "xapi",
            &[user_pk.as_deref().unwrap_or(""), verb_id, object_id, time],
        ),
    };
    Ok(LmsEvent {
        course: CourseRef {
            pk: Some(course_id.to_string()),
            external_id: None,
        },
        user_pk,
        content,
        kind,
        occurred_at: EpochMs(occurred_at.as_millisecond()),
        source: ActivitySource::Xapi,
        idempotency_key,
        session_ref: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moodle_urls_give_course_and_module_ids() {
        assert_eq!(
            moodle_id(
                "https://m.example.edu/course/view.php?id=5",
                "/course/view.php"
            ),
            Some("5")
        );
        assert_eq!(
            moodle_module("https://m.example.edu/mod/forum/view.php?id=12"),
            Some(("forum", "12"))
        );
        assert_eq!(
            moodle_module("https://m.example.edu/course/view.php?id=5"),
            None
        );
    }

    #[test]
    fn verbs_map_to_kinds() {
        assert_eq!(
            kind_of_verb("http://id.tincanapi.com/verb/viewed"),
            Some(ActivityKind::View)
        );
        assert_eq!(
            kind_of_verb("http://adlnet.gov/expapi/verbs/attempted"),
            Some(ActivityKind::Attempt)
        );
        assert_eq!(
            kind_of_verb("http://adlnet.gov/expapi/verbs/completed"),
            Some(ActivityKind::Submission)
        );
        assert_eq!(
            kind_of_verb("http://adlnet.gov/expapi/verbs/commented"),
            Some(ActivityKind::Post)
        );
        assert_eq!(
            kind_of_verb("http://id.tincanapi.com/verb/replied"),
            Some(ActivityKind::Post)
        );
        assert_eq!(kind_of_verb("http://adlnet.gov/expapi/verbs/voided"), None);
    }
}
