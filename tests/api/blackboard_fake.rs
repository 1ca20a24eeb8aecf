//! A fake Blackboard Learn REST server for tests: an axum app on 127.0.0.1:0 serving a
//! realistic course shaped like Anthology's docs — two-legged OAuth, paging with
//! `nextPage` and per-endpoint page sizes, `fields=`, `modified`/`lastAccessed`/
//! `changeIndex` filters, rate-limit headers — and faults on demand: expired tokens
//! (401), 429 with Retry-After, 500s, slow responses, malformed JSON. Three-legged OAuth
//! too: the authorization code endpoint (consent given or denied, the LTI one-time session
//! token standing for the login), the code exchange checking PKCE S256, and refresh tokens
//! that rotate (only the latest one is valid).

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};
use sha2::Digest;

pub const KEY: &str = "app-key-1";
pub const SECRET: &str = "app-secret-1";
pub const COURSE_PK: &str = "_10_1";
pub const COURSE_UUID: &str = "0123456789abcdef0123456789abcdef";

/// A fault the server applies to the next matching request.
#[derive(Clone, Debug)]
pub enum Fault {
    ServerError,
    RateLimited {
        retry_after: u64,
    },
    Malformed,
    Slow(Duration),
    /// Revokes every token before answering (the request then gets 401).
    ExpireTokens,
}

#[derive(Default)]
pub struct Data {
    pub course: Value,
    pub term: Value,
    pub contents: Vec<Value>,
    pub memberships: Vec<Value>,
    pub columns: Vec<Value>,
    pub attempts: HashMap<String, Vec<Value>>,
    pub grades: HashMap<String, Vec<Value>>,
    pub discussions: Vec<Value>,
    pub messages: HashMap<String, Vec<Value>>,
    pub calendar: Vec<Value>,
    pub reviews: Vec<Value>,
    /// Course groups (`GroupV2`), group sets, and each group's members.
    pub groups: Vec<Value>,
    pub group_sets: Vec<Value>,
    pub group_members: HashMap<String, Vec<Value>>,
}

#[derive(Default)]
pub struct State {
    pub data: Data,
    pub tokens: Vec<String>,
    pub calls: usize,
    pub log: Vec<String>,
    pub faults: VecDeque<Fault>,
    /// Fail every request whose path contains this text with a 500.
    pub broken_path: Option<String>,
    pub quota_remaining: i64,
    pub in_flight: usize,
    pub max_in_flight: usize,
    /// The application has no REST integration on this site: client credentials refused.
    pub two_legged_disabled: bool,
    /// One-time session tokens of LTI launches, and the Learn user (uuid) each stands for.
    pub session_tokens: HashMap<String, String>,
    /// The user refuses consent on the authorization page.
    pub deny: bool,
    /// Every authorization request's query.
    pub authorize_requests: Vec<HashMap<String, String>>,
    /// Live authorization codes: (code challenge, redirect_uri, user).
    pub codes: HashMap<String, (String, String, String)>,
    /// The valid refresh token of each user (Learn keeps one at a time).
    pub refresh_tokens: HashMap<String, String>,
    /// Access tokens issued to users, by token.
    pub user_tokens: HashMap<String, String>,
    /// Grant types of every token request, in order.
    pub grants: Vec<String>,
    /// API calls made with a user's token.
    pub user_calls: usize,
    /// Delay of each token request (to make concurrent refreshes overlap).
    pub token_delay: Option<Duration>,
}

/// The running fake; the server stops with the test's runtime.
#[derive(Clone)]
pub struct FakeLearn {
    pub address: SocketAddr,
    pub state: Arc<Mutex<State>>,
}

/// When the seeded course's content was last changed: long before any test runs.
pub const SEEDED: &str = "2026-03-01T10:00:00.000Z";

impl FakeLearn {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State {
            data: seed(),
            quota_remaining: 10_000,
            ..State::default()
        }));
        let shared = state.clone();
        let app = Router::new().fallback(
            move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
                let state = shared.clone();
                async move { handle(state, method, uri, headers, body).await }
            },
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { address, state }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn calls(&self) -> usize {
        self.state.lock().unwrap().calls
    }

    pub fn fault(&self, fault: Fault) {
        self.state.lock().unwrap().faults.push_back(fault);
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut Data) -> R) -> R {
        f(&mut self.state.lock().unwrap().data)
    }
}

pub fn now_iso() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

fn user_pk(i: usize) -> String {
    format!("_{}_1", 1000 + i)
}

pub fn user_uuid(i: usize) -> String {
    format!("{:032x}", 0xabc0_0000_u64 + i as u64)
}

/// 300 students and 2 instructors, 200 content items, 10 test columns with attempts and
/// grades, 3 discussions of 20 messages, 6 calendar items, review status of 5 items, and
/// groups: 25 tutorials of 12 in a "Tutorials" set, and a "Peer mentors" group of 30 that
/// overlaps them.
fn seed() -> Data {
    let mut data = Data {
        course: json!({
            "id": COURSE_PK, "uuid": COURSE_UUID, "externalId": "BIO101-2026-S1",
            "courseId": "BIO101", "name": "Cell Biology", "termId": "_5_1", "ultraStatus": "Ultra",
            "created": "2026-01-10T00:00:00.000Z", "modified": SEEDED,
            "availability": {"available": "Yes", "duration": {"type": "Term"}}
        }),
        term: json!({
            "id": "_5_1", "name": "Semester 1 2026",
            "availability": {"available": "Yes", "duration": {"type": "DateRange",
                "start": "2026-03-02T00:00:00.000Z", "end": "2026-05-29T00:00:00.000Z"}}
        }),
        ..Data::default()
    };
    for i in 0..302 {
        let role = if i < 300 { "Student" } else { "Instructor" };
        data.memberships.push(json!({
            "id": format!("_{}_1", 9000 + i), "userId": user_pk(i), "courseId": COURSE_PK,
            "courseRoleId": role, "availability": {"available": "Yes"},
            "created": "2026-02-01T00:00:00.000Z", "modified": SEEDED,
            "lastAccessed": format!("2026-03-{:02}T09:{:02}:00.000Z", 2 + i % 20, i % 60),
            "user": {"id": user_pk(i), "uuid": user_uuid(i), "userName": format!("s{i}"),
                "externalId": format!("EXT{i}"), "name": {"given": format!("Given{i}"), "family": format!("Family{i}")},
                "contact": {"email": format!("s{i}@example.edu")}, "created": "2026-01-01T00:00:00.000Z"}
        }));
    }
    for f in 0..10 {
        data.contents.push(content(
            &format!("_{}_1", 100 + f),
            "_1_1",
            &format!("Week {}", f + 1),
            f,
            "resource/x-bb-folder",
            false,
        ));
    }
    let mut n = 10;
    for f in 0..10 {
        for k in 0..19 {
            let (handler, reviewable) = match (f, k) {
                (_, 0) => ("resource/x-bb-asmt-test-link", false),
                (0..=2, 1) => ("resource/x-bb-forumlink", false),
                (0..=4, 2) => ("resource/x-bb-document", true),
                (_, k) if k % 3 == 0 => ("resource/x-bb-file", false),
                _ => ("resource/x-bb-document", false),
            };
            let id = format!("_{}_1", 200 + n);
            data.contents.push(content(
                &id,
                &format!("_{}_1", 100 + f),
                &format!("Item {n}"),
                k,
                handler,
                reviewable,
            ));
            n += 1;
        }
    }
    for j in 0..10usize {
        let column = format!("_{}_1", 500 + j);
        // The test link of week j+1 is the first child of that folder.
        let test_item = format!("_{}_1", 200 + 10 + j * 19);
        data.columns.push(json!({
            "id": column, "name": format!("Quiz {}", j + 1), "contentId": test_item,
            "score": {"possible": 10.0}, "availability": {"available": "Yes"},
            "grading": {"type": "Attempts", "due": format!("2026-03-{:02}T13:00:00.000Z", 6 + j), "attemptsAllowed": 1},
            "created": "2026-02-01T00:00:00.000Z", "modified": SEEDED
        }));
        let mut attempts = Vec::new();
        let mut grades = Vec::new();
        for i in (0..300).filter(|i| (i + j) % 5 != 0) {
            attempts.push(json!({
                "id": format!("_{}_1", 100_000 + j * 1000 + i), "userId": user_pk(i), "groupAttemptId": null,
                "status": "Completed", "displayGrade": {"scaleType": "Score", "score": 7.0},
                "score": (i % 11) as f64, "created": format!("2026-03-{:02}T10:00:00.000Z", 5 + j),
                "attemptDate": format!("2026-03-{:02}T10:00:00.000Z", 5 + j), "modified": SEEDED,
                "attemptReceipt": {"receiptId": "r", "submissionDate": format!("2026-03-{:02}T10:30:00.000Z", 5 + j)}
            }));
            grades.push(json!({"userId": user_pk(i), "columnId": column, "status": "Graded",
                "score": (i % 11) as f64, "text": format!("{}", i % 11), "changeIndex": 1000 + i as i64}));
        }
        data.attempts.insert(column.clone(), attempts);
        data.grades.insert(column, grades);
    }
    for d in 0..3 {
        let id = format!("_{}_1", 60 + d);
        data.discussions.push(
            json!({"id": id, "title": format!("Discussion {}", d + 1), "available": true,
            "gradable": false, "createdDate": "2026-02-01T00:00:00.000Z", "modifiedDate": SEEDED}),
        );
        let messages = (0..20)
            .map(|m| json!({"id": format!("_{}_1", 7000 + d * 100 + m), "discussionId": id,
                "parentId": if m == 0 { Value::Null } else { json!(format!("_{}_1", 7000 + d * 100)) },
                "threadId": format!("_{}_1", 7000 + d * 100), "userId": user_pk(m * 7), "status": "Published",
                "postDate": format!("2026-03-{:02}T12:00:00.000Z", 3 + m), "createdDate": format!("2026-03-{:02}T12:00:00.000Z", 3 + m),
                "modifiedDate": SEEDED}))
            .collect();
        data.messages.insert(id, messages);
    }
    for w in 0..6 {
        data.calendar.push(json!({"id": format!("_{}_1", 800 + w), "type": "Course", "calendarId": COURSE_PK,
            "title": format!("Lecture {}", w + 1), "start": format!("2026-03-{:02}T09:00:00.000Z", 3 + 7 * w.min(3)),
            "end": format!("2026-03-{:02}T10:00:00.000Z", 3 + 7 * w.min(3)), "modified": null, "disableResizing": false}));
    }
    data.calendar.push(json!({"id": "_890_1", "type": "GradebookColumn", "calendarId": COURSE_PK, "title": "Quiz 1",
        "start": "2026-03-06T13:00:00.000Z", "end": "2026-03-06T13:00:00.000Z",
        "dynamicCalendarItemProps": {"attemptable": true, "eventType": "Test", "gradable": true}}));
    for r in 0..5 {
        for i in 0..300 {
            data.reviews.push(json!({"contentId": format!("_{}_1", 200 + 10 + r * 19 + 2), "userId": user_pk(i),
                "reviewed": (i + r) % 2 == 0, "reviewDate": if (i + r) % 2 == 0 { json!("2026-03-10T08:00:00.000Z") } else { Value::Null }}));
        }
    }
    data.group_sets
        .push(json!({"id": "_40_1", "name": "Tutorials", "created": SEEDED, "modified": SEEDED}));
    for t in 0..25usize {
        let id = format!("_{}_1", 41 + t);
        data.groups.push(json!({"id": id, "externalId": format!("TUT{t}"), "groupSetId": "_40_1",
            "name": format!("Tutorial {:02}", t + 1), "availability": {"available": "Yes"},
            "enrollment": {"type": "InstructorOnly"}, "uuid": format!("{:032x}", 0x6000 + t), "created": SEEDED, "modified": SEEDED}));
        let members = (t * 12..t * 12 + 12)
            .map(|i| json!({"userId": user_pk(i)}))
            .collect();
        data.group_members.insert(id, members);
    }
    data.groups.push(
        json!({"id": "_90_1", "externalId": "MENTORS", "name": "Peer mentors",
        "availability": {"available": "Yes"}, "enrollment": {"type": "InstructorOnly"},
        "uuid": format!("{:032x}", 0x7000), "created": SEEDED, "modified": SEEDED}),
    );
    data.group_members.insert(
        "_90_1".into(),
        (0..30)
            .map(|i| json!({"userId": user_pk(i * 10)}))
            .collect(),
    );
    data
}

fn content(
    id: &str,
    parent: &str,
    title: &str,
    position: usize,
    handler: &str,
    reviewable: bool,
) -> Value {
    json!({"id": id, "parentId": parent, "title": title, "body": "<p>…</p>", "created": "2026-02-01T00:00:00.000Z",
        "modified": SEEDED, "position": position, "hasChildren": handler.ends_with("folder"),
        "reviewable": reviewable, "launchInNewWindow": false,
        "availability": {"available": "Yes", "allowGuests": true, "adaptiveRelease": {}},
        "contentHandler": {"id": handler}})
}

fn error(status: StatusCode, message: &str) -> Response {
    // Learn sends `status` as a number on most endpoints and as text on some.
    let body = if status == StatusCode::NOT_FOUND {
        json!({"status": "404", "message": message, "extraInfo": "c0ffee"})
    } else {
        json!({"status": status.as_u16(), "message": message, "extraInfo": "c0ffee"})
    };
    (status, axum::Json(body)).into_response()
}

async fn handle(
    state: Arc<Mutex<State>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let query: HashMap<String, String> = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect()
        })
        .unwrap_or_default();
    let (fault, remaining) = {
        let mut s = state.lock().unwrap();
        s.calls += 1;
        s.quota_remaining -= 1;
        s.log.push(uri.to_string());
        let broken = s
            .broken_path
            .as_ref()
            .is_some_and(|b| path.contains(b.as_str()));
        (
            if broken {
                Some(Fault::ServerError)
            } else {
                s.faults.pop_front()
            },
            s.quota_remaining,
        )
    };
    let token_delay = state.lock().unwrap().token_delay;
    if let Some(delay) = token_delay.filter(|_| path.ends_with("/oauth2/token")) {
        tokio::time::sleep(delay).await;
    }
    let mut response = match fault {
        Some(Fault::ServerError) => error(StatusCode::INTERNAL_SERVER_ERROR, "Internal error"),
        Some(Fault::RateLimited { retry_after }) => {
            let mut r = error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded");
            r.headers_mut()
                .insert("retry-after", retry_after.to_string().parse().unwrap());
            r
        }
        Some(Fault::Malformed) => (
            StatusCode::OK,
            [("content-type", "application/json")],
            "{\"results\": [{\"id\": ",
        )
            .into_response(),
        Some(Fault::Slow(delay)) => {
            {
                let mut s = state.lock().unwrap();
                s.in_flight += 1;
                s.max_in_flight = s.max_in_flight.max(s.in_flight);
            }
            tokio::time::sleep(delay).await;
            state.lock().unwrap().in_flight -= 1;
            route(&state, &method, &path, &query, &headers, &body)
        }
        Some(Fault::ExpireTokens) => {
            state.lock().unwrap().tokens.clear();
            route(&state, &method, &path, &query, &headers, &body)
        }
        None => route(&state, &method, &path, &query, &headers, &body),
    };
    let h = response.headers_mut();
    h.insert("x-rate-limit-limit", "10000".parse().unwrap());
    h.insert(
        "x-rate-limit-remaining",
        remaining.to_string().parse().unwrap(),
    );
    response
}

fn route(
    state: &Arc<Mutex<State>>,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    let mut s = state.lock().unwrap();
    if path == "/learn/api/public/v1/oauth2/token" {
        return token(&mut s, method, query, headers, body);
    }
    if path == "/learn/api/public/v1/oauth2/authorizationcode" {
        return authorize(&mut s, query);
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if bearer.is_some_and(|t| s.user_tokens.contains_key(t)) {
        s.user_calls += 1;
    } else if !bearer.is_some_and(|t| s.tokens.iter().any(|k| k == t)) {
        return error(StatusCode::UNAUTHORIZED, "Bearer token is invalid");
    }
    let course_ok = |id: &str| {
        id == COURSE_PK
            || id == format!("uuid:{COURSE_UUID}")
            || id == "courseId:BIO101"
            || id == "externalId:BIO101-2026-S1"
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let d = &s.data;
    let since = |field: &str| query.get(field).cloned();
    let modified_filter = |items: &[Value], field: &str, json_field: &str| -> Vec<Value> {
        match since(field) {
            Some(at) => items
                .iter()
                .filter(|i| i[json_field].as_str().is_some_and(|m| m >= at.as_str()))
                .cloned()
                .collect(),
            None => items.to_vec(),
        }
    };
    let list = |items: Vec<Value>, size: usize| paged(path, query, items, size);
    match parts.as_slice() {
        ["learn", "api", "public", "v3", "courses", id] if course_ok(id) => one(&d.course, query),
        ["learn", "api", "public", "v1", "terms", "_5_1"] => one(&d.term, query),
        ["learn", "api", "public", "v1", "courses", id, "contents"] if *id == COURSE_PK => {
            if query.get("recursive").map(String::as_str) != Some("true") {
                let top = d
                    .contents
                    .iter()
                    .filter(|c| c["parentId"] == "_1_1")
                    .cloned()
                    .collect();
                return list(top, 200);
            }
            list(modified_filter(&d.contents, "modified", "modified"), 200)
        }
        ["learn", "api", "public", "v1", "courses", id, "users"] if *id == COURSE_PK => {
            let mut items = modified_filter(&d.memberships, "modified", "modified");
            if let Some(at) = since("lastAccessed") {
                items.retain(|m| m["lastAccessed"].as_str().is_some_and(|l| l >= at.as_str()));
            }
            if query.get("expand").map(String::as_str) != Some("user") {
                for m in &mut items {
                    m.as_object_mut().unwrap().remove("user");
                }
            }
            list(items, 200)
        }
        [
            "learn",
            "api",
            "public",
            "v2",
            "courses",
            id,
            "gradebook",
            "columns",
        ] if *id == COURSE_PK => list(modified_filter(&d.columns, "modified", "modified"), 200),
        [
            "learn",
            "api",
            "public",
            "v2",
            "courses",
            id,
            "gradebook",
            "columns",
            col,
            "attempts",
        ] if *id == COURSE_PK => match d.attempts.get(*col) {
            Some(items) => list(modified_filter(items, "modified", "modified"), 100),
            None => error(StatusCode::NOT_FOUND, "Column not found"),
        },
        [
            "learn",
            "api",
            "public",
            "v2",
            "courses",
            id,
            "gradebook",
            "columns",
            col,
            "users",
        ] if *id == COURSE_PK => {
            let Some(items) = d.grades.get(*col) else {
                return error(StatusCode::NOT_FOUND, "Column not found");
            };
            let after: i64 = query
                .get("changeIndex")
                .and_then(|c| c.parse().ok())
                .unwrap_or(i64::MIN);
            list(
                items
                    .iter()
                    .filter(|g| g["changeIndex"].as_i64().unwrap_or(0) > after)
                    .cloned()
                    .collect(),
                100,
            )
        }
        [
            "learn",
            "api",
            "public",
            "v2",
            "courses",
            id,
            "gradebook",
            "columns",
            col,
            "users",
            "lastChanged",
        ] if *id == COURSE_PK => {
            match d
                .grades
                .get(*col)
                .and_then(|g| g.iter().max_by_key(|g| g["changeIndex"].as_i64()))
            {
                Some(grade) => one(grade, query),
                None => error(StatusCode::NOT_FOUND, "No grades"),
            }
        }
        ["learn", "api", "public", "v1", "courses", id, "discussions"] if *id == COURSE_PK => {
            list(d.discussions.clone(), 50)
        }
        [
            "learn",
            "api",
            "public",
            "v1",
            "courses",
            id,
            "discussions",
            disc,
            "messages",
        ] if *id == COURSE_PK => match d.messages.get(*disc) {
            Some(items) => list(modified_filter(items, "modified", "modifiedDate"), 100),
            None => error(StatusCode::NOT_FOUND, "Discussion not found"),
        },
        ["learn", "api", "public", "v1", "calendars", "items"] => {
            let Some(course) = query.get("courseId") else {
                return error(StatusCode::BAD_REQUEST, "courseId is required");
            };
            let (Some(since), Some(until)) = (query.get("since"), query.get("until")) else {
                return error(StatusCode::BAD_REQUEST, "since and until are required");
            };
            let span = |t: &str| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
                    .unwrap()
            };
            if span(until) - span(since) > time::Duration::weeks(16) {
                return error(
                    StatusCode::BAD_REQUEST,
                    "The date range may not exceed 16 weeks",
                );
            }
            let items = d
                .calendar
                .iter()
                .filter(|c| {
                    course == COURSE_PK
                        && c["start"]
                            .as_str()
                            .is_some_and(|st| st >= since.as_str() && st < until.as_str())
                })
                .cloned()
                .collect();
            list(items, 100)
        }
        [
            "learn",
            "api",
            "public",
            "v1",
            "courses",
            id,
            "performance",
            "contentReviewStatus",
        ] if *id == COURSE_PK => list(d.reviews.clone(), 200),
        ["learn", "api", "public", "v2", "courses", id, "groups"] if *id == COURSE_PK => {
            list(d.groups.clone(), 20)
        }
        [
            "learn",
            "api",
            "public",
            "v2",
            "courses",
            id,
            "groups",
            "sets",
        ] if *id == COURSE_PK => list(d.group_sets.clone(), 20),
        [
            "learn",
            "api",
            "public",
            "v2",
            "courses",
            id,
            "groups",
            group,
            "users",
        ] if *id == COURSE_PK => match d.group_members.get(*group) {
            Some(items) => list(items.clone(), 20),
            None => error(StatusCode::NOT_FOUND, "Group not found"),
        },
        _ => error(StatusCode::NOT_FOUND, "Resource not found"),
    }
}

/// The authorization code endpoint: the one-time session token stands for a login; the
/// user consents (or not) and the browser goes back to `redirect_uri` with the code.
fn authorize(s: &mut State, query: &HashMap<String, String>) -> Response {
    s.authorize_requests.push(query.clone());
    let param = |k: &str| query.get(k).cloned().unwrap_or_default();
    if param("client_id") != KEY || param("response_type") != "code" {
        return error(StatusCode::BAD_REQUEST, "Invalid client or response type");
    }
    if param("code_challenge_method") != "S256" || param("code_challenge").is_empty() {
        return error(
            StatusCode::BAD_REQUEST,
            "Only S256 code challenges are supported",
        );
    }
    let Some(user) = s.session_tokens.remove(&param("one_time_session_token")) else {
        // No usable session: Learn shows its login page.
        return (
            StatusCode::OK,
            [("content-type", "text/html")],
            "<form>Sign in to Blackboard</form>",
        )
            .into_response();
    };
    let mut back = url::Url::parse(&param("redirect_uri")).unwrap();
    if s.deny {
        back.query_pairs_mut()
            .append_pair("error", "access_denied")
            .append_pair("state", &param("state"));
    } else {
        let code = format!("code-{}", s.calls);
        s.codes.insert(
            code.clone(),
            (param("code_challenge"), param("redirect_uri"), user),
        );
        back.query_pairs_mut()
            .append_pair("code", &code)
            .append_pair("state", &param("state"));
    }
    (StatusCode::FOUND, [("location", back.to_string())]).into_response()
}

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Issues a user's access token and a fresh refresh token, which replaces their last one.
fn user_token(s: &mut State, user: String) -> Response {
    let n = s.calls;
    let access = format!("utok-{n}");
    let refresh = format!("rtok-{n}-{}", user.len());
    s.user_tokens.insert(access.clone(), user.clone());
    s.refresh_tokens.insert(user.clone(), refresh.clone());
    axum::Json(
        json!({"access_token": access, "token_type": "bearer", "expires_in": 3599,
        "refresh_token": refresh, "scope": "read offline", "user_id": user}),
    )
    .into_response()
}

fn token(
    s: &mut State,
    method: &Method,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Response {
    // Learn reads the parameters from the query string or the form body.
    let mut params = query.clone();
    params.extend(url::form_urlencoded::parse(body).into_owned());
    let grant = params.get("grant_type").cloned().unwrap_or_default();
    s.grants.push(grant.clone());
    if method != Method::POST {
        return error(StatusCode::BAD_REQUEST, "unsupported grant");
    }
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{KEY}:{SECRET}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_client", "error_description": "Invalid client credentials"}))).into_response();
    }
    let param = |k: &str| params.get(k).cloned().unwrap_or_default();
    match grant.as_str() {
        "client_credentials" if s.two_legged_disabled => (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_client", "error_description": "The application is not authorized on this site"}))).into_response(),
        "client_credentials" => {
            // One token per app per site: asking again returns the same one.
            if s.tokens.is_empty() {
                s.tokens.push(format!("tok-{}", s.calls));
            }
            axum::Json(json!({"access_token": s.tokens[0], "token_type": "bearer", "expires_in": 3444}))
                .into_response()
        }
        "authorization_code" => {
            let Some((challenge, redirect_uri, user)) = s.codes.remove(&param("code")) else {
                return oauth_error("invalid_grant", "Unknown or used authorization code");
            };
            if param("redirect_uri") != redirect_uri {
                return oauth_error("invalid_grant", "redirect_uri does not match");
            }
            let verified = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(sha2::Sha256::digest(param("code_verifier").as_bytes()));
            if verified != challenge {
                return oauth_error("invalid_grant", "PKCE verification failed");
            }
            user_token(s, user)
        }
        "refresh_token" => {
            let spent = param("refresh_token");
            let Some(user) = s.refresh_tokens.iter().find(|(_, t)| **t == spent).map(|(u, _)| u.clone()) else {
                return oauth_error("invalid_grant", "Invalid refresh token");
            };
            user_token(s, user)
        }
        _ => error(StatusCode::BAD_REQUEST, "unsupported grant"),
    }
}

fn one(item: &Value, query: &HashMap<String, String>) -> Response {
    axum::Json(project(item, query.get("fields"))).into_response()
}

fn paged(path: &str, query: &HashMap<String, String>, items: Vec<Value>, size: usize) -> Response {
    let offset: usize = query
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let limit: usize = query
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(size)
        .min(size);
    let page: Vec<Value> = items
        .iter()
        .skip(offset)
        .take(limit)
        .map(|i| project(i, query.get("fields")))
        .collect();
    let mut body = json!({"results": page});
    if offset + limit < items.len() {
        let mut next: Vec<(String, String)> = query
            .iter()
            .filter(|(k, _)| *k != "offset" && *k != "limit")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        next.sort();
        next.push(("offset".into(), (offset + limit).to_string()));
        next.push(("limit".into(), limit.to_string()));
        let q = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(next)
            .finish();
        body["paging"] = json!({"nextPage": format!("{path}?{q}")});
    }
    axum::Json(body).into_response()
}

/// Keeps only the listed fields (`a,b.c`), as Learn's `fields=` does.
fn project(item: &Value, fields: Option<&String>) -> Value {
    let Some(fields) = fields else {
        return item.clone();
    };
    let mut out = json!({});
    for field in fields.split(',') {
        let parts: Vec<&str> = field.split('.').collect();
        let mut source = item;
        let mut found = true;
        for part in &parts {
            match source.get(part) {
                Some(v) => source = v,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if !found {
            continue;
        }
        let mut target = &mut out;
        for part in &parts[..parts.len() - 1] {
            target = target
                .as_object_mut()
                .unwrap()
                .entry(part.to_string())
                .or_insert_with(|| json!({}));
        }
        target[parts[parts.len() - 1]] = source.clone();
    }
    out
}
