//! A mock LTI Advantage platform for the services: an OAuth token endpoint (client
//! credentials with a JWT assertion), an NRPS membership container paged two members at
//! a time with `differences` links, and Moodle-style AGS line item and result containers
//! (`?type_id=` on every URL, two per page, exact media types required).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use cloop::store::platforms::{NewPlatform, Platform};
use serde_json::{Value, json};

use crate::helpers::TestApp;

pub const PAGE_SIZE: usize = 2;

/// What the mock holds and records; tests change it between calls.
#[derive(Default)]
pub struct Lms {
    /// Every token request's form fields.
    pub token_requests: Vec<HashMap<String, String>>,
    /// Overrides the token endpoint's answer: (status, body).
    pub token_answer: Option<(u16, Value)>,
    pub expires_in: i64,
    /// Scopes the admin granted; none means every scope asked for.
    pub granted: Option<String>,
    /// Tokens the service endpoints accept.
    pub issued: Vec<String>,
    /// Answers every service request with this status and body instead.
    pub service_fault: Option<(u16, Value)>,
    /// The roster: members in the NRPS container's JSON.
    pub members: Vec<Value>,
    /// The Course Groups service's groups (id, name), served two to a page.
    pub groups: Vec<Value>,
    /// Offer a `differences` link, and the members changed since then.
    pub offer_differences: bool,
    pub changes: Vec<Value>,
    /// Every service request: path and query, and the Accept header.
    pub requests: Vec<(String, String)>,
    /// AGS line items by number (without `id`: the mock gives each its URL) and results
    /// per line item number.
    pub line_items: Vec<(usize, Value)>,
    pub results: HashMap<usize, Vec<Value>>,
    /// Answers AGS requests with this Content-Type instead of the container's.
    pub content_type: Option<String>,
}

#[derive(Clone)]
pub struct MockServices {
    pub base: String,
    pub lms: Arc<Mutex<Lms>>,
}

impl MockServices {
    pub async fn start() -> Self {
        let lms = Arc::new(Mutex::new(Lms {
            expires_in: 3600,
            ..Lms::default()
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mock = Self {
            base,
            lms: lms.clone(),
        };
        let router = Router::new()
            .route("/token", post(token))
            .route("/nrps/{context}/members", get(members))
            .route("/groups/{context}", get(groups))
            .route("/mod/lti/services.php/{context}/lineitems", get(line_items))
            .route(
                "/mod/lti/services.php/{context}/lineitems/{item}/lineitem/results",
                get(results),
            )
            .with_state(mock.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        mock
    }

    /// Registers the mock with cloop; `audience` is a fixed client-assertion audience.
    pub async fn register(&self, app: &TestApp, audience: Option<&str>) -> Platform {
        app.store
            .create_platform(&NewPlatform {
                name: "services-lms".into(),
                product: "moodle".into(),
                issuer: self.base.clone(),
                client_id: "services-client".into(),
                auth_url: format!("{}/auth", self.base),
                jwks_url: format!("{}/jwks", self.base),
                token_url: format!("{}/token", self.base),
                token_audience: audience.map(str::to_string),
            })
            .await
            .unwrap()
    }

    pub fn lms(&self) -> std::sync::MutexGuard<'_, Lms> {
        self.lms.lock().unwrap()
    }

    pub fn token_requests(&self) -> usize {
        self.lms().token_requests.len()
    }

    /// The id (URL) the mock gives line item `n` of context 2.
    pub fn line_item_url(&self, n: usize) -> String {
        format!(
            "{}/mod/lti/services.php/2/lineitems/{n}/lineitem?type_id=3",
            self.base
        )
    }
}

pub fn line_item(label: &str, maximum: f64, end: Option<&str>) -> Value {
    let mut item = json!({"label": label, "scoreMaximum": maximum, "resourceId": format!("res-{label}"), "tag": "grade"});
    if let Some(end) = end {
        item["endDateTime"] = json!(end);
    }
    item
}

pub fn result(sub: &str, score: f64, maximum: f64) -> Value {
    json!({"userId": sub, "resultScore": score, "resultMaximum": maximum, "comment": "ok",
        "timestamp": "2026-04-02T09:30:00+00:00"})
}

pub fn member(sub: &str, role: &str, status: &str) -> Value {
    json!({
        "user_id": sub, "status": status, "name": format!("Person {sub}"),
        "given_name": "Person", "family_name": sub, "email": format!("{sub}@example.edu"),
        "roles": [format!("http://purl.imsglobal.org/vocab/lis/v2/membership#{role}")]
    })
}

async fn token(
    State(mock): State<MockServices>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let mut lms = mock.lms();
    lms.token_requests.push(form.clone());
    if let Some((status, body)) = lms.token_answer.clone() {
        return (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
    }
    let token = format!("token-{}", lms.token_requests.len());
    lms.issued.push(token.clone());
    let scope = lms.granted.clone().unwrap_or_else(|| form["scope"].clone());
    axum::Json(json!({
        "access_token": token, "token_type": "Bearer", "expires_in": lms.expires_in, "scope": scope
    }))
    .into_response()
}

/// Checks the bearer token and records the request; the fault or rejection to answer with.
fn admit(mock: &MockServices, headers: &HeaderMap, path_and_query: String) -> Option<Response> {
    let mut lms = mock.lms();
    let accept = headers
        .get("accept")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    lms.requests.push((path_and_query, accept));
    if let Some((status, body)) = lms.service_fault.clone() {
        return Some((StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response());
    }
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !lms.issued.iter().any(|t| t == bearer) {
        return Some(StatusCode::UNAUTHORIZED.into_response());
    }
    None
}

fn query_text(query: &HashMap<String, String>) -> String {
    let mut pairs: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.sort();
    pairs.join("&")
}

async fn groups(
    State(mock): State<MockServices>,
    Path(context): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = admit(
        &mock,
        &headers,
        format!("/groups/{context}?{}", query_text(&query)),
    ) {
        return refused;
    }
    let lms = mock.lms();
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let slice: Vec<Value> = lms.groups.iter().skip(page * 2).take(2).cloned().collect();
    let mut response =
        axum::Json(json!({ "id": format!("{}/groups/{context}", mock.base), "groups": slice }))
            .into_response();
    response.headers_mut().insert(
        "content-type",
        "application/vnd.ims.lti-gs.v1.contextgroupcontainer+json"
            .parse()
            .unwrap(),
    );
    if (page + 1) * 2 < lms.groups.len() {
        let next = format!(
            "<{}/groups/{context}?page={}>; rel=\"next\"",
            mock.base,
            page + 1
        );
        response.headers_mut().insert("link", next.parse().unwrap());
    }
    response
}

async fn members(
    State(mock): State<MockServices>,
    Path(context): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if let Some(refused) = admit(
        &mock,
        &headers,
        format!("/nrps/{context}/members?{}", query_text(&query)),
    ) {
        return refused;
    }
    if query.get("placement_id").map(String::as_str) != Some("_9_1") {
        return (StatusCode::BAD_REQUEST, "placement_id is required").into_response();
    }
    let lms = mock.lms();
    let this = format!("{}/nrps/{context}/members", mock.base);
    let (page_members, next) = if query.contains_key("since") {
        (lms.changes.clone(), None)
    } else {
        let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
        let start = page * PAGE_SIZE;
        let slice: Vec<Value> = lms
            .members
            .iter()
            .skip(start)
            .take(PAGE_SIZE)
            .cloned()
            .collect();
        // The next link drops placement_id, as a paging LMS may: cloop must merge it back.
        let next =
            (start + PAGE_SIZE < lms.members.len()).then(|| format!("{this}?page={}", page + 1));
        (slice, next)
    };
    let mut links = Vec::new();
    if let Some(next) = next.clone() {
        links.push(format!("<{next}>; rel=\"next\""));
    }
    if next.is_none() && lms.offer_differences {
        links.push(format!(
            "</nrps/{context}/members?since=42&placement_id=_9_1>; rel=\"differences\""
        ));
    }
    let body = json!({
        "id": format!("{this}?placement_id=_9_1"),
        "context": { "id": context, "label": "ECOL101", "title": "Ecology" },
        "members": page_members,
    });
    let mut response = axum::Json(body).into_response();
    response.headers_mut().insert(
        "content-type",
        "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
            .parse()
            .unwrap(),
    );
    if !links.is_empty() {
        response
            .headers_mut()
            .insert("link", links.join(", ").parse().unwrap());
    }
    response
}

/// Admits an AGS request: the `type_id` every Moodle service URL carries, the exact media
/// type, a valid token. The page of `items` asked for, with a `next` link that drops
/// `type_id` (cloop must merge it back).
fn ags_page(
    mock: &MockServices,
    uri: &Uri,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    media_type: &str,
    items: impl Fn(&Lms) -> Vec<Value>,
) -> Response {
    let recorded = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    if let Some(refused) = admit(mock, headers, recorded) {
        return refused;
    }
    if query.get("type_id").map(String::as_str) != Some("3") {
        return (StatusCode::BAD_REQUEST, "type_id is required").into_response();
    }
    if headers.get("accept").and_then(|v| v.to_str().ok()) != Some(media_type) {
        return (StatusCode::NOT_ACCEPTABLE, "wrong media type").into_response();
    }
    let lms = mock.lms();
    let all = items(&lms);
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(0);
    let start = page * PAGE_SIZE;
    let slice: Vec<Value> = all.iter().skip(start).take(PAGE_SIZE).cloned().collect();
    let mut response = axum::Json(Value::Array(slice)).into_response();
    let content_type = lms
        .content_type
        .clone()
        .unwrap_or_else(|| media_type.to_string());
    response
        .headers_mut()
        .insert("content-type", content_type.parse().unwrap());
    if start + PAGE_SIZE < all.len() {
        let next = format!(
            "<{}{}?page={}>; rel=\"next\"",
            mock.base,
            uri.path(),
            page + 1
        );
        response.headers_mut().insert("link", next.parse().unwrap());
    }
    response
}

async fn line_items(
    State(mock): State<MockServices>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    ags_page(
        &mock,
        &uri,
        &query,
        &headers,
        "application/vnd.ims.lis.v2.lineitemcontainer+json",
        |lms| {
            lms.line_items
                .iter()
                .map(|(n, item)| {
                    let mut item = item.clone();
                    item["id"] = json!(mock.line_item_url(*n));
                    item
                })
                .collect()
        },
    )
}

async fn results(
    State(mock): State<MockServices>,
    Path((_context, item)): Path<(String, usize)>,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    ags_page(
        &mock,
        &uri,
        &query,
        &headers,
        "application/vnd.ims.lis.v2.resultcontainer+json",
        |lms| lms.results.get(&item).cloned().unwrap_or_default(),
    )
}
