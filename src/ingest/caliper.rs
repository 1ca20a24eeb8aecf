//! IMS Caliper 1.1 and 1.2 as Blackboard Learn sends them: an envelope of events, each
//! mapped to one activity of cloop's vocabulary, keyed by the event's own id.

use serde_json::Value;

use super::{ActivityKind, ActivitySource, ContentRef, CourseRef, ItemGroup, LmsEvent, Mapped};
use crate::store::EpochMs;
use crate::store::forums::discussion_item_lms_id;

/// The `dataVersion`s accepted (Learn sends 1.1; 1.2 envelopes have the same shape).
const DATA_VERSIONS: &[&str] = &[
    "http://purl.imsglobal.org/ctx/caliper/v1p1",
    "http://purl.imsglobal.org/ctx/caliper/v1p2",
];

/// A parsed envelope: the events in it, each as raw JSON.
#[derive(Debug)]
pub struct Envelope {
    pub sensor: String,
    pub data: Vec<Value>,
}

/// Reads an envelope; an error names what is wrong with it as a whole.
pub fn parse_envelope(body: &[u8]) -> Result<Envelope, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("the body is not JSON: {e}"))?;
    let Value::Object(mut envelope) = value else {
        return Err(
            "a Caliper envelope is a JSON object with sensor, sendTime, dataVersion and data"
                .into(),
        );
    };
    let sensor = match envelope.get("sensor") {
        Some(Value::String(s)) => s.clone(),
        _ => return Err("the envelope has no `sensor` string".into()),
    };
    match envelope.get("dataVersion").and_then(Value::as_str) {
        Some(v) if DATA_VERSIONS.contains(&v) => {}
        Some(v) => {
            return Err(format!(
                "dataVersion {v:?} is not Caliper 1.1 or 1.2 ({})",
                DATA_VERSIONS.join(" or ")
            ));
        }
        None => return Err("the envelope has no `dataVersion`".into()),
    }
    if envelope.get("sendTime").and_then(Value::as_str).is_none() {
        return Err("the envelope has no `sendTime`".into());
    }
    let data = match envelope.remove("data") {
        Some(Value::Array(items)) => items,
        _ => return Err("the envelope's `data` is not an array of events".into()),
    };
    Ok(Envelope { sensor, data })
}

/// Maps every event of an envelope: each with its id (for the report) and the mapping.
pub fn map_envelope(envelope: Envelope) -> Vec<(Option<String>, Mapped)> {
    envelope
        .data
        .into_iter()
        .map(|event| {
            let id = event.get("id").and_then(Value::as_str).map(str::to_string);
            let mapped = map_event(&event).map(|e| (e, event));
            (id, mapped)
        })
        .collect()
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut at = value;
    for key in path {
        at = at.get(key)?;
    }
    at.as_str().filter(|s| !s.is_empty())
}

/// The id after `/content/` in a Caliper object id, if any (`…/unknown/unknown` has none).
pub fn content_id_in(object_id: &str) -> Option<&str> {
    let (_, rest) = object_id.split_once("/content/")?;
    let id = rest.split(['/', '?', '#']).next()?;
    (!id.is_empty() && id != "unknown").then_some(id)
}

/// The discussion id after `/discussions/` or `/forums/` in a Caliper object id, if any:
/// how an object names an Ultra discussion, which has no content item.
pub fn discussion_id_in(object_id: &str) -> Option<&str> {
    ["/discussions/", "/forums/"]
        .into_iter()
        .find_map(|segment| {
            let (_, rest) = object_id.split_once(segment)?;
            let id = rest.split(['/', '?', '#']).next()?;
            (!id.is_empty() && id != "unknown").then_some(id)
        })
}

/// Maps one Caliper event to an activity, or says why it cannot be stored.
pub fn map_event(event: &Value) -> Result<LmsEvent, String> {
    let kind_name = text(event, &["type"]).ok_or("the event has no `type`")?;
    let id = text(event, &["id"]).ok_or("the event has no `id`")?;
    let action = text(event, &["action"]).ok_or("the event has no `action`")?;
    let time = text(event, &["eventTime"]).ok_or("the event has no `eventTime`")?;
    let occurred_at: jiff::Timestamp = time
        .parse()
        .map_err(|e| format!("eventTime {time:?} is not an ISO 8601 instant: {e}"))?;

    let (kind, group) = match (kind_name, action) {
        ("ViewEvent", _) | ("NavigationEvent", _) => (ActivityKind::View, ItemGroup::Content),
        ("SessionEvent", "LoggedIn") => (ActivityKind::Login, ItemGroup::Content),
        ("SessionEvent", "LoggedOut" | "TimedOut") => (ActivityKind::Logout, ItemGroup::Content),
        ("AssessmentEvent" | "AssignableEvent", "Started" | "Restarted" | "Resumed") => {
            (ActivityKind::Attempt, ItemGroup::Assessment)
        }
        ("AssessmentEvent" | "AssignableEvent", "Submitted" | "Completed") => {
            (ActivityKind::Submission, ItemGroup::Assessment)
        }
        ("MessageEvent", "Posted") => (ActivityKind::Post, ItemGroup::Communication),
        ("MessageEvent", "MarkedAsRead") | ("ForumEvent" | "ThreadEvent", "MarkedAsRead") => {
            (ActivityKind::View, ItemGroup::Communication)
        }
        ("GradeEvent", "Graded") => (ActivityKind::Grade, ItemGroup::Assessment),
        (kind, action) => {
            return Err(format!(
                "{kind} with action {action} is not activity cloop records"
            ));
        }
    };

    let course = CourseRef {
        pk: text(event, &["group", "extensions", "bb:course.id"])
            .or_else(|| text(event, &["membership", "extensions", "bb:course.id"]))
            .map(str::to_string),
        external_id: text(event, &["group", "courseNumber"])
            .or_else(|| text(event, &["membership", "extensions", "bb:course.externalId"]))
            .map(str::to_string),
    };
    if course.key().is_none() {
        return Err(format!(
            "{kind_name} names no course (no group with bb:course.id or courseNumber)"
        ));
    }
    // A grade belongs to the student graded (the attempt's assignee), not the grader.
    let user_pk = text(event, &["object", "assignee", "extensions", "bb:user.id"])
        .filter(|_| kind == ActivityKind::Grade)
        .or_else(|| text(event, &["actor", "extensions", "bb:user.id"]))
        .or_else(|| text(event, &["membership", "extensions", "bb:user.id"]))
        .map(str::to_string);

    // The item: the object itself, or what it is part of (a message's forum, an attempt's
    // assignable); Learn names items only by `/content/{id}`.
    let candidates = [
        text(event, &["object", "id"]),
        text(event, &["object", "assignable", "id"]),
        text(event, &["object", "isPartOf", "id"]),
        text(event, &["object", "isPartOf", "isPartOf", "id"]),
        text(event, &["target", "id"]),
    ];
    // A discussion outside the tree is counted on its own item (see
    // `forums::discussion_item_lms_id`), in the communication group.
    let content = match candidates.into_iter().flatten().find_map(content_id_in) {
        Some(lms_id) => Some(ContentRef {
            lms_id: lms_id.to_string(),
            group,
        }),
        None => candidates
            .into_iter()
            .flatten()
            .find_map(discussion_id_in)
            .map(|id| ContentRef {
                lms_id: discussion_item_lms_id(id),
                group: ItemGroup::Communication,
            }),
    };

    let session_ref = text(event, &["federatedSession", "name"])
        .or_else(|| text(event, &["session", "id"]))
        .map(str::to_string);
    Ok(LmsEvent {
        course,
        user_pk,
        content,
        kind,
        occurred_at: EpochMs(occurred_at.as_millisecond()),
        source: ActivitySource::Caliper,
        idempotency_key: format!("caliper:{}", id.trim_start_matches("urn:uuid:")),
        session_ref,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ids_are_found_and_unknown_objects_are_course_level() {
        assert_eq!(
            content_id_in("https://x/v1/sites/s/content/_123_1"),
            Some("_123_1")
        );
        assert_eq!(content_id_in("https://x/v1/sites/s/unknown/unknown"), None);
        assert_eq!(
            content_id_in("https://x/content/_9_1/files/a.pdf"),
            Some("_9_1")
        );
    }

    #[test]
    fn discussion_ids_are_found_where_no_content_id_is() {
        let site = "https://x/v1/sites/s";
        assert_eq!(
            discussion_id_in(&format!("{site}/discussions/_7_1")),
            Some("_7_1")
        );
        assert_eq!(
            discussion_id_in(&format!("{site}/forums/_7_1/threads/t")),
            Some("_7_1")
        );
        assert_eq!(discussion_id_in(&format!("{site}/forums/unknown")), None);
        assert_eq!(discussion_id_in(&format!("{site}/threads/t1")), None);
        let event = |object: Value| {
            serde_json::json!({"type": "NavigationEvent", "id": "e", "action": "NavigatedTo",
                "eventTime": "2026-03-03T01:00:00Z", "object": object,
                "group": {"extensions": {"bb:course.id": "_1_1"}}})
        };
        let thread = serde_json::json!({"id": format!("{site}/threads/t1"), "type": "Thread",
            "isPartOf": {"id": format!("{site}/discussions/_7_1"), "type": "Forum"}});
        let mapped = map_event(&event(thread)).unwrap().content.unwrap();
        assert_eq!(mapped.lms_id, "discussion:_7_1");
        assert_eq!(mapped.group, ItemGroup::Communication);
        // A content id anywhere in the chain wins: the forum is then in the tree.
        let in_tree = serde_json::json!({"id": format!("{site}/forums/_7_1"), "type": "Forum",
            "isPartOf": {"id": format!("{site}/content/_9_1")}});
        assert_eq!(
            map_event(&event(in_tree)).unwrap().content.unwrap().lms_id,
            "_9_1"
        );
    }

    #[test]
    fn blackboards_example_view_event_maps_to_a_course_level_view() {
        let raw = include_str!("../../tests/fixtures/caliper/viewevent-example.json");
        let event = map_event(&serde_json::from_str(raw).unwrap()).unwrap();
        assert_eq!(event.kind, ActivityKind::View);
        assert_eq!(event.course.pk.as_deref(), Some("_1358_1"));
        assert_eq!(
            event.course.external_id.as_deref(),
            Some("04650987_bbtest_ignore")
        );
        assert_eq!(event.user_pk.as_deref(), Some("_1_1"));
        assert_eq!(event.content, None);
        assert_eq!(event.occurred_at, EpochMs(1_608_843_881_359));
        assert_eq!(
            event.idempotency_key,
            "caliper:788e0326-c12c-4c23-be39-27b446992b79"
        );
        assert_eq!(
            event.session_ref.as_deref(),
            Some("0D8663C4ABF729F1B7B9CA8B93A5AE0D")
        );
    }
}
