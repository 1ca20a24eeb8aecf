//! The LTI endpoints: login initiation, launch, the tool's JWKS, and the small pages that
//! bind state through platform storage when the browser blocks cookies in frames.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::Cookie;
use maud::html;
use serde::Deserialize;

use crate::AppState;
use crate::error::{Error, Result};
use crate::lti::claims::DEEP_LINKING_REQUEST;
use crate::lti::deep_linking::{self, DeepLinkRequest};
use crate::lti::dynamic_registration::{self, RegistrationError};
use crate::lti::error::LaunchError;
use crate::lti::keys;
use crate::lti::launch::{self, StateProof};
use crate::lti::login::{self, LoginRequest, LoginState};
use crate::lti::record;
use crate::web::layout;
use crate::web::session::{CourseSession, frame_cookie};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/lti/login", get(login_get).post(login_post))
        .route(
            "/lti/login/{registration}",
            get(login_named_get).post(login_named_post),
        )
        .route("/lti/launch", axum::routing::post(launch))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/lti/register", get(register))
}

#[derive(Deserialize)]
struct RegistrationStart {
    invite: Option<String>,
    openid_configuration: Option<String>,
    registration_token: Option<String>,
}

/// LTI Dynamic Registration, opened by the LMS in a window or frame.
async fn register(
    State(state): State<AppState>,
    Query(start): Query<RegistrationStart>,
) -> Result<Response> {
    let platform = dynamic_registration::register_with_invite(
        &state.store,
        &state.config,
        &state.secret,
        start.invite.as_deref(),
        start.openid_configuration.as_deref(),
        start.registration_token.as_deref(),
    )
    .await
    .map_err(|e| match e {
        RegistrationError::Store(s) => Error::Store(s),
        RegistrationError::InvalidInvite | RegistrationError::InviteUsed => {
            Error::Forbidden(e.to_string())
        }
        other => Error::BadRequest(other.to_string()),
    })?;
    state.frame_ancestors.invalidate();
    Ok(layout::page(
        "cloop registered",
        html! {
            h1 { "cloop is registered" }
            p { "cloop is now registered with " (platform.issuer) " (client id " code { (platform.client_id) } "). You can close this window." }
            script src="/static/lti-close.js" {}
        },
    )
    .into_response())
}

/// Browser-bound state cookies are named after the state, so parallel logins in several
/// tabs do not overwrite each other.
fn state_cookie_name(state: &str) -> String {
    format!("cloop_state_{state}")
}

/// Cookies that must survive a cross-site iframe need `Secure`, which browsers accept on
/// https and on loopback hosts.
pub fn cookies_can_be_secure(state: &AppState) -> bool {
    let url = &state.config.public_url;
    url.scheme() == "https" || matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
}

async fn login_get(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(request): Query<LoginRequest>,
) -> Result<Response> {
    begin_login(state, jar, request, None).await
}

async fn login_post(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(request): Form<LoginRequest>,
) -> Result<Response> {
    begin_login(state, jar, request, None).await
}

async fn login_named_get(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(registration): Path<String>,
    Query(request): Query<LoginRequest>,
) -> Result<Response> {
    begin_login(state, jar, request, Some(registration)).await
}

async fn login_named_post(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(registration): Path<String>,
    Form(request): Form<LoginRequest>,
) -> Result<Response> {
    begin_login(state, jar, request, Some(registration)).await
}

async fn begin_login(
    state: AppState,
    jar: CookieJar,
    request: LoginRequest,
    registration: Option<String>,
) -> Result<Response> {
    let auth = login::begin(
        &state.store,
        &state.config,
        &state.secret,
        &request,
        registration.as_deref(),
    )
    .await?;
    let secure = cookies_can_be_secure(&state);
    let mut cookie = frame_cookie(
        state_cookie_name(&auth.state),
        "1".into(),
        "/lti/launch",
        secure,
    );
    cookie.set_max_age(time::Duration::seconds(login::STATE_TTL_SECS));
    let jar = jar.add(cookie);

    let Some(target) = auth.storage_target else {
        return Ok((jar, Redirect::to(&auth.url)).into_response());
    };
    // Platform storage: put the state in the LMS's frame, then go on to the platform.
    let page = layout::page(
        "Opening cloop",
        html! {
            div id="lti-storage" data-mode="put" data-target=(target) data-origin=(auth.platform_origin)
                data-key=(format!("cloop_state_{}", auth.state)) data-value=(auth.state) data-redirect=(auth.url) {
                p { "Opening cloop…" }
                noscript { p { a href=(auth.url) { "Continue to your LMS" } } }
            }
            script src="/static/lti-storage.js" {}
        },
    );
    Ok((jar, page).into_response())
}

#[derive(Deserialize)]
struct LaunchForm {
    id_token: Option<String>,
    state: Option<String>,
    /// The state read back from platform storage by the launch bridge page.
    platform_state: Option<String>,
    /// An OIDC error response from the platform instead of a token.
    error: Option<String>,
    error_description: Option<String>,
}

/// The launch, counted by outcome for `/metrics`: accepted, refused (the request's fault:
/// a bad token, an unknown LMS, a replay) or failed (cloop's).
async fn launch(
    state: State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    form: Form<LaunchForm>,
) -> Result<Response> {
    let outcome = open_launch(state, jar, headers, form).await;
    let label = match &outcome {
        Ok(_) => "accepted",
        Err(e) if e.status().is_client_error() => "refused",
        Err(_) => "failed",
    };
    metrics::counter!("cloop_lti_launches_total", "outcome" => label).increment(1);
    outcome
}

async fn open_launch(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<LaunchForm>,
) -> Result<Response> {
    if let Some(error) = form.error {
        return Err(Error::BadRequest(format!(
            "The LMS refused to launch cloop ({error}{}). Ask your LMS administrator to check cloop's registration.",
            form.error_description
                .map(|d| format!(": {d}"))
                .unwrap_or_default()
        )));
    }
    let id_token = form
        .id_token
        .filter(|t| !t.is_empty())
        .ok_or(LaunchError::MissingParameter("id_token"))?;
    let sent_state = form.state.as_deref().filter(|s| !s.is_empty());
    let cookie_bound = sent_state.is_some_and(|s| jar.get(&state_cookie_name(s)).is_some());

    if let Some(sent) = sent_state
        && !cookie_bound
        && form.platform_state.is_none()
        && let Some(login) = LoginState::open(&state.secret, sent)
        && let Some(target) = login.storage_target
    {
        let platform = state.store.platform(login.platform_id).await?;
        return Ok(storage_bridge(&platform.auth_url, &target, sent, &id_token).into_response());
    }

    let valid = launch::validate(
        &state.store,
        &state.config,
        &state.secret,
        &state.platform_keys,
        &id_token,
        StateProof {
            state: sent_state,
            cookie: cookie_bound,
            platform_storage: form
                .platform_state
                .as_deref()
                .filter(|_| posted_by_our_page(&state, &headers)),
        },
    )
    .await?;
    let opened = record::record(&state.store, &state.config, &state.secret, &valid).await?;
    if opened.new_origin {
        state.frame_ancestors.invalidate();
    }
    tracing::info!(
        platform = %valid.registration.platform.name,
        course = %opened.course,
        user = %opened.user,
        staff = opened.staff,
        user_agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or(""),
        "launch accepted"
    );

    let session = CourseSession::new(
        opened.user,
        opened.platform,
        opened.deployment,
        opened.course,
        opened.staff,
    );
    let token = session.token(&state.secret);
    let mut jar = jar.add(session.cookie(&state.secret, cookies_can_be_secure(&state)));
    if let Some(sent) = sent_state {
        jar = jar.remove(Cookie::build(state_cookie_name(sent)).path("/lti/launch"));
    }
    let claims = &valid.claims;
    let landing = if claims.message_type.as_deref() == Some(DEEP_LINKING_REQUEST) {
        let settings = claims.deep_linking_settings.as_ref();
        let request = DeepLinkRequest::new(
            valid.registration.platform.id,
            opened.course,
            claims.deployment_id.as_deref().unwrap_or_default(),
            settings
                .and_then(|s| s.deep_link_return_url.as_deref())
                .unwrap_or_default(),
            settings.and_then(|s| s.data.clone()),
        );
        format!(
            "/courses/{}/deep-link?s={token}&request={}",
            opened.course,
            request.seal(&state.secret)
        )
    } else {
        match claims
            .target_link_uri
            .as_deref()
            .and_then(deep_linking::view_of)
        {
            Some(view) => format!("/courses/{}/{view}?s={token}", opened.course),
            None => format!("/courses/{}?s={token}", opened.course),
        }
    };
    Ok((jar, Redirect::to(&landing)).into_response())
}

/// True unless the browser says the post came from another site: the bridge page posts
/// from cloop's own origin, a forged form from the attacker's. Browsers send
/// `Sec-Fetch-Site` (or at least `Origin`) on every cross-site POST.
fn posted_by_our_page(state: &AppState, headers: &HeaderMap) -> bool {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    match header("sec-fetch-site") {
        Some(site) => site == "same-origin",
        None => header(header::ORIGIN.as_str())
            .is_none_or(|origin| origin == state.config.public_url.origin().ascii_serialization()),
    }
}

/// A page that reads the state back from platform storage and re-posts the launch with it.
fn storage_bridge(auth_url: &str, target: &str, state: &str, id_token: &str) -> maud::Markup {
    let origin = url::Url::parse(auth_url)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default();
    layout::page(
        "Opening cloop",
        html! {
            div id="lti-storage" data-mode="get" data-target=(target) data-origin=(origin)
                data-key=(format!("cloop_state_{state}")) {
                p { "Opening cloop…" }
            }
            form id="lti-launch-form" method="post" action="/lti/launch" {
                input type="hidden" name="id_token" value=(id_token);
                input type="hidden" name="state" value=(state);
                input type="hidden" name="platform_state" value="";
                noscript { button type="submit" { "Continue" } }
            }
            script src="/static/lti-storage.js" {}
        },
    )
}

async fn jwks(State(state): State<AppState>) -> Result<Response> {
    let set = keys::public_jwks(&state.store).await?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=300")], Json(set)).into_response())
}
