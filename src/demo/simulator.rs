//! The LMS simulator mounted by `cloop demo` (never by `cloop serve`): a minimal LTI 1.3
//! platform with its own RSA key and JWKS, an OIDC authorisation endpoint that answers
//! cloop's auth request with a signed id_token, and a course page that launches cloop in a
//! frame as an instructor, a teaching assistant or a student. It also offers LTI platform
//! storage, so the launch works where the browser drops cookies in frames.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use jsonwebtoken::EncodingKey;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use maud::{DOCTYPE, Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_http::set_header::SetResponseHeaderLayer;

use super::{CLIENT_ID, COURSES, CURRENT, DEPLOYMENT_ID, DemoCourse, DemoError, ISSUER};
use crate::lti::keys::{self, SigningKey};
use crate::store::platforms::NewPlatform;
use crate::{AppState, Config};

/// The simulator's course page: the URL `cloop demo` prints.
pub const HOME: &str = "/demo-lms";
const AUTH: &str = "/demo-lms/auth";
const JWKS: &str = "/demo-lms/jwks.json";
const TOKEN: &str = "/demo-lms/token";
const SCRIPT: &str = include_str!("../../static/demo-lms.js");
const STYLESHEET: &str = include_str!("../../static/demo-lms.css");
/// The frame cloop opens in; the buttons target it.
const FRAME: &str = "cloop-frame";
/// How long the simulator's id_tokens live (Blackboard's are an hour too).
const TOKEN_TTL_SECS: i64 = 3600;

/// Someone the simulator can launch cloop as.
#[derive(Clone, Copy, Debug)]
pub struct Persona {
    /// The `login_hint` the simulator sends and reads back.
    pub hint: &'static str,
    pub button: &'static str,
    pub sub: &'static str,
    pub given_name: &'static str,
    pub family_name: &'static str,
    pub email: &'static str,
    /// The LTI context role, as a full URI.
    pub role: &'static str,
}

pub const INSTRUCTOR: Persona = Persona {
    hint: "instructor",
    button: "Open as instructor",
    sub: "demo-instructor",
    given_name: "Ada",
    family_name: "Lovelace",
    email: "ada.lovelace@demo.example.edu",
    role: "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor",
};

pub const TEACHING_ASSISTANT: Persona = Persona {
    hint: "ta",
    button: "Open as teaching assistant",
    sub: "demo-ta",
    given_name: "Sam",
    family_name: "Okafor",
    email: "sam.okafor@demo.example.edu",
    role: "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant",
};

/// A student of the seeded roster (the first one), so their launch meets their own data.
pub const STUDENT: Persona = Persona {
    hint: "student",
    button: "Open as student",
    sub: "demo-student-0001",
    given_name: "Noah",
    family_name: "Tan",
    email: "noah.tan@student.demo.example.edu",
    role: "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
};

pub const PERSONAS: [Persona; 3] = [INSTRUCTOR, TEACHING_ASSISTANT, STUDENT];

#[derive(Clone)]
pub struct Simulator {
    config: Arc<Config>,
    key: Arc<SigningKey>,
    jwks: Arc<JwkSet>,
}

impl Simulator {
    /// Makes the simulator's key, registers it with cloop (one deployment) or points the
    /// existing registration at this run's address, and returns its routes.
    pub async fn install(state: &AppState) -> Result<Router, DemoError> {
        let stored = keys::generate().map_err(DemoError::Key)?;
        let jwk: Jwk =
            serde_json::from_str(&stored.public_jwk).map_err(|e| DemoError::Key(e.to_string()))?;
        let encoding_key = EncodingKey::from_rsa_pem(stored.private_key.as_bytes())
            .map_err(|e| DemoError::Key(e.to_string()))?;
        let config = &state.config;
        let (auth_url, jwks_url, token_url) =
            (config.url(AUTH), config.url(JWKS), config.url(TOKEN));
        let store = &state.store;
        let platform = match store.platform_by_name(super::PLATFORM_NAME).await? {
            Some(platform) => {
                store
                    .set_platform_endpoints(platform.id, &auth_url, &jwks_url, &token_url)
                    .await?;
                platform
            }
            None => {
                store
                    .create_platform(&NewPlatform {
                        name: super::PLATFORM_NAME.into(),
                        product: "other".into(),
                        issuer: ISSUER.into(),
                        client_id: CLIENT_ID.into(),
                        auth_url,
                        jwks_url,
                        token_url,
                        token_audience: None,
                    })
                    .await?
            }
        };
        store.add_deployment(platform.id, DEPLOYMENT_ID).await?;
        state.frame_ancestors.invalidate();

        let simulator = Self {
            config: state.config.clone(),
            key: Arc::new(SigningKey {
                kid: stored.kid,
                encoding_key,
            }),
            jwks: Arc::new(JwkSet { keys: vec![jwk] }),
        };
        Ok(Router::new()
            .route(HOME, get(course_page))
            .route(AUTH, get(authorize_get).post(authorize_post))
            .route(JWKS, get(jwks))
            .route("/demo-lms/static/demo-lms.js", get(script))
            .route("/demo-lms/static/demo-lms.css", get(stylesheet))
            .with_state(simulator)
            .layer(SetResponseHeaderLayer::if_not_present(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                     frame-src 'self'; frame-ancestors 'self'; object-src 'none'; base-uri 'none'",
                ),
            )))
    }
}

#[derive(Deserialize)]
struct CoursePick {
    course: Option<String>,
}

fn demo_course(context_id: &str) -> Option<DemoCourse> {
    COURSES.into_iter().find(|c| c.context_id == context_id)
}

/// The OIDC login initiation URL the LMS opens for a persona in a course.
fn login_url(config: &Config, course: &DemoCourse, persona: &Persona) -> String {
    let mut url = url::Url::parse(&config.url("/lti/login")).expect("cloop's URL is a URL");
    url.query_pairs_mut()
        .append_pair("iss", ISSUER)
        .append_pair("login_hint", persona.hint)
        .append_pair("target_link_uri", &config.url("/lti/launch"))
        .append_pair("client_id", CLIENT_ID)
        .append_pair("lti_deployment_id", DEPLOYMENT_ID)
        .append_pair("lti_message_hint", course.context_id)
        .append_pair("lti_storage_target", "_parent");
    url.to_string()
}

fn shell(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — LMS simulator" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/demo-lms/static/demo-lms.css";
            }
            body { (body) script src="/demo-lms/static/demo-lms.js" {} }
        }
    }
}

/// An error page of the simulator's own (cloop's error middleware does not wrap its routes).
fn refuse(status: StatusCode, message: String) -> Response {
    (
        status,
        shell(
            "Error",
            html! {
                main class="lms-main" {
                    h1 { "The LMS simulator cannot do that" }
                    p { (message) }
                }
            },
        ),
    )
        .into_response()
}

async fn course_page(State(sim): State<Simulator>, Query(pick): Query<CoursePick>) -> Response {
    let course = match pick.course.as_deref() {
        None => CURRENT,
        Some(id) => match demo_course(id) {
            Some(course) => course,
            None => {
                return refuse(
                    StatusCode::NOT_FOUND,
                    format!("There is no course {id:?} here."),
                );
            }
        },
    };
    shell(
        course.title,
        html! {
            header class="lms-bar" {
                span class="lms-name" { "Demo University LMS" }
                span class="lms-badge" { "LMS simulator" }
                span class="lms-note" { "Built into " code { "cloop demo" } ": it launches cloop through the real LTI 1.3 flow, as Blackboard, Canvas or Moodle would." }
            }
            div class="lms-layout" {
                nav class="lms-nav" aria-label="Courses" {
                    h2 { "My courses" }
                    ul {
                        @for other in COURSES {
                            li {
                                a href=(format!("{HOME}?course={}", other.context_id))
                                  aria-current=[(other.context_id == course.context_id).then_some("page")] {
                                    (other.code) " " (other.term)
                                }
                            }
                        }
                    }
                }
                main id="lms-course" class="lms-main" {
                    h1 { (course.title) }
                    p class="lms-muted" { (course.code) " · " (course.term) }
                    section class="lms-tool" {
                        h2 { "cloop — course analytics" }
                        p { "An LTI 1.3 tool placed in this course. Open it as:" }
                        div class="lms-buttons" {
                            @for persona in PERSONAS {
                                a class="lms-button" data-persona=(persona.hint)
                                  href=(login_url(&sim.config, &course, &persona)) target=(FRAME) {
                                    (persona.button)
                                }
                            }
                        }
                    }
                    iframe name=(FRAME) id=(FRAME) title="cloop" class="lms-frame"
                        allow="clipboard-write" {}
                }
            }
        },
    )
    .into_response()
}

/// The authorisation request cloop sends the browser to (OIDC implicit flow, form_post).
#[derive(Debug, Default, Deserialize)]
struct AuthRequest {
    scope: Option<String>,
    response_type: Option<String>,
    response_mode: Option<String>,
    prompt: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    login_hint: Option<String>,
    lti_message_hint: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
}

async fn authorize_get(
    State(sim): State<Simulator>,
    Query(request): Query<AuthRequest>,
) -> Response {
    authorize(&sim, request)
}

async fn authorize_post(
    State(sim): State<Simulator>,
    Form(request): Form<AuthRequest>,
) -> Response {
    authorize(&sim, request)
}

/// Checks the request as a platform must, then answers with an auto-posted id_token (or
/// an OIDC error, posted back the same way once the redirect URI is known to be cloop's).
fn authorize(sim: &Simulator, request: AuthRequest) -> Response {
    if request.client_id.as_deref() != Some(CLIENT_ID) {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "The LMS simulator does not know client id {:?}; cloop's demo registration uses {CLIENT_ID:?}.",
                request.client_id.unwrap_or_default()
            ),
        );
    }
    let redirect_uri = sim.config.url("/lti/launch");
    if request.redirect_uri.as_deref() != Some(redirect_uri.as_str()) {
        return refuse(
            StatusCode::BAD_REQUEST,
            format!(
                "The redirect URI {:?} is not the one registered for cloop ({redirect_uri}).",
                request.redirect_uri.unwrap_or_default()
            ),
        );
    }
    let state = request.state.clone().unwrap_or_default();
    let fields = match check(&request) {
        Ok((persona, course, nonce)) => match sim.id_token(&persona, &course, nonce) {
            Ok(token) => vec![("id_token", token), ("state", state)],
            Err(e) => return refuse(StatusCode::INTERNAL_SERVER_ERROR, e),
        },
        Err(description) => vec![
            ("error", "invalid_request".to_string()),
            ("error_description", description),
            ("state", state),
        ],
    };
    shell(
        "Opening cloop",
        html! {
            form id="lti-autopost" method="post" action=(redirect_uri) {
                @for (name, value) in &fields {
                    input type="hidden" name=(name) value=(value);
                }
                p class="lms-muted" { "Opening cloop…" }
                noscript { button type="submit" { "Continue to cloop" } }
            }
        },
    )
    .into_response()
}

/// The persona, course and nonce of a well-formed request, or what is wrong with it.
fn check(request: &AuthRequest) -> Result<(Persona, DemoCourse, &str), String> {
    let scopes = request.scope.as_deref().unwrap_or_default();
    if !scopes.split_whitespace().any(|s| s == "openid") {
        return Err("scope must include openid".into());
    }
    if request.response_type.as_deref() != Some("id_token") {
        return Err("response_type must be id_token".into());
    }
    if request.response_mode.as_deref() != Some("form_post") {
        return Err("response_mode must be form_post".into());
    }
    if request.prompt.as_deref().is_some_and(|p| p != "none") {
        return Err("prompt must be none".into());
    }
    if request.state.as_deref().is_none_or(str::is_empty) {
        return Err("state is missing".into());
    }
    let nonce = request
        .nonce
        .as_deref()
        .filter(|n| !n.is_empty())
        .ok_or("nonce is missing")?;
    let hint = request.login_hint.as_deref().unwrap_or_default();
    let persona = PERSONAS
        .into_iter()
        .find(|p| p.hint == hint)
        .ok_or_else(|| format!("login_hint {hint:?} names no user of the simulator"))?;
    let context = request.lti_message_hint.as_deref().unwrap_or_default();
    let course = demo_course(context)
        .ok_or_else(|| format!("lti_message_hint {context:?} names no course of the simulator"))?;
    Ok((persona, course, nonce))
}

impl Simulator {
    fn claims(&self, persona: &Persona, course: &DemoCourse, nonce: &str) -> Value {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let lti = |name: &str| format!("https://purl.imsglobal.org/spec/lti/claim/{name}");
        let mut claims = json!({
            "iss": ISSUER,
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "sub": persona.sub,
            "exp": now + TOKEN_TTL_SECS,
            "iat": now,
            "nonce": nonce,
            "name": format!("{} {}", persona.given_name, persona.family_name),
            "given_name": persona.given_name,
            "family_name": persona.family_name,
            "email": persona.email,
        });
        let fields = [
            (lti("message_type"), json!("LtiResourceLinkRequest")),
            (lti("version"), json!("1.3.0")),
            (lti("deployment_id"), json!(DEPLOYMENT_ID)),
            (
                lti("target_link_uri"),
                json!(self.config.url("/lti/launch")),
            ),
            (
                lti("resource_link"),
                json!({ "id": format!("{}-cloop", course.context_id), "title": "cloop — course analytics" }),
            ),
            (lti("roles"), json!([persona.role])),
            (
                lti("context"),
                json!({
                    "id": course.context_id,
                    "label": course.code,
                    "title": course.title,
                    "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]
                }),
            ),
            (
                lti("tool_platform"),
                json!({
                    "guid": "cloop-demo-lms",
                    "name": "LMS simulator",
                    "product_family_code": "cloop-lms-simulator",
                    "url": self.config.url(HOME)
                }),
            ),
            (
                lti("launch_presentation"),
                json!({
                    "document_target": "iframe",
                    "return_url": self.config.url(&format!("{HOME}?course={}", course.context_id))
                }),
            ),
        ];
        for (name, value) in fields {
            claims[name] = value;
        }
        claims
    }

    fn id_token(
        &self,
        persona: &Persona,
        course: &DemoCourse,
        nonce: &str,
    ) -> Result<String, String> {
        jsonwebtoken::encode(
            &self.key.header(),
            &self.claims(persona, course, nonce),
            &self.key.encoding_key,
        )
        .map_err(|e| format!("The simulator cannot sign its id_token: {e}"))
    }
}

async fn jwks(State(sim): State<Simulator>) -> Json<JwkSet> {
    Json((*sim.jwks).clone())
}

async fn script() -> impl IntoResponse {
    static_file("text/javascript; charset=utf-8", SCRIPT)
}

async fn stylesheet() -> impl IntoResponse {
    static_file("text/css; charset=utf-8", STYLESHEET)
}

fn static_file(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}
