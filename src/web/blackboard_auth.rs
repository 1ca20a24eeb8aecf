//! Blackboard 3-legged REST authorisation for staff: the offer on the course page after a
//! launch that carried a one-time session token, the start of the authorization code flow
//! (PKCE, a single-use state bound to this browser by a cookie), and the callback that
//! exchanges the code, seals the refresh token and queues a course sync.

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use axum_extra::extract::cookie::{Cookie, SameSite};
use maud::{Markup, html};
use secrecy::ExposeSecret;
use serde::Deserialize;

use crate::AppState;
use crate::error::{Error, Result};
use crate::lms::blackboard::user_auth::{self, Pkce, TokenEndpoint};
use crate::secret::SecretKey;
use crate::store::EpochMs;
use crate::store::rest_grants::RestGrantState;
use crate::web::layout;
use crate::web::session::{CourseSession, StaffSession};

pub const CALLBACK_PATH: &str = "/lti/blackboard/callback";
const STATE_COOKIE: &str = "cloop_bb_state";
/// How long the consent may take.
const STATE_TTL_SECS: i64 = 600;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/courses/{course}/blackboard/authorize", get(authorize))
        .route(CALLBACK_PATH, get(callback))
}

/// The course page's line about the staff member's own Blackboard authorisation, if any.
/// `authorize_href` is the session's link to start the authorisation.
pub async fn notice(
    state: &AppState,
    session: &CourseSession,
    authorize_href: &str,
) -> Result<Markup> {
    let course = state.store.course(session.course).await?;
    if state
        .store
        .platform_rest(course.platform_id)
        .await?
        .is_none()
    {
        return Ok(html! {});
    }
    if let Some(grant) = state
        .store
        .rest_grant(course.platform_id, session.user)
        .await?
    {
        let when = grant.updated_at.to_datetime().date();
        return Ok(html! {
            p class="rest-grant ok" { "cloop may read Blackboard course data with your account (authorised " (when) ")." }
        });
    }
    let Some(offer) = state
        .store
        .rest_grant_offer(session.course, session.user)
        .await?
    else {
        return Ok(html! {});
    };
    let live = offer.expires_at.0 > EpochMs::now().0;
    Ok(html! {
        section class="rest-grant" {
            @if let Some(error) = &offer.error {
                p class="failed" { "Blackboard authorisation: not completed — " (error) }
            }
            @if live {
                p {
                    a href=(authorize_href) target="_blank" rel="noopener" {
                        "Authorise cloop to read this course with your Blackboard account"
                    }
                    " — for when your institution has not set up cloop's REST integration."
                }
            } @else if offer.error.is_some() {
                p { "Open cloop from the course in Blackboard again to retry." }
            }
        }
    })
}

async fn authorize(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    jar: CookieJar,
) -> Result<Response> {
    let course = state.store.course(session.course).await?;
    let credentials = state.store.platform_rest(course.platform_id).await?.ok_or_else(|| {
        Error::Conflict(
            "This platform has no Blackboard REST application key; ask the cloop administrator to set it (`cloop platform rest`).".into(),
        )
    })?;
    let offer = state
        .store
        .rest_grant_offer(session.course, session.user)
        .await?
        .filter(|o| o.expires_at.0 > EpochMs::now().0)
        .ok_or_else(|| {
            Error::Forbidden(
                "This authorisation offer has expired. Open cloop from the course in Blackboard again, then click “Authorise” on the course page.".into(),
            )
        })?;
    let one_time = state.secret.unseal(&offer.session_token);
    let pkce = Pkce::new();
    let st = SecretKey::random_token();
    state
        .store
        .create_rest_grant_state(
            &SecretKey::hash_token(&st),
            &RestGrantState {
                platform_id: course.platform_id,
                user_id: session.user,
                course_id: session.course,
                code_verifier: state.secret.seal(&pkce.verifier),
            },
            EpochMs::now().plus_secs(STATE_TTL_SECS),
        )
        .await?;
    let target = user_auth::authorization_url(
        &credentials.base_url,
        &credentials.key,
        &redirect_uri(&state),
        &st,
        &pkce.challenge,
        one_time.as_ref().map(|t| t.expose_secret()),
    )
    .map_err(|e| Error::Internal(e.to_string()))?;
    let mut cookie = Cookie::new(STATE_COOKIE, st);
    cookie.set_path(CALLBACK_PATH);
    cookie.set_http_only(true);
    cookie.set_secure(crate::web::lti::cookies_can_be_secure(&state));
    cookie.set_same_site(SameSite::Lax);
    cookie.set_max_age(time::Duration::seconds(STATE_TTL_SECS));
    Ok((jar.add(cookie), Redirect::to(target.as_str())).into_response())
}

/// Records why the authorisation failed (shown on the course page) and says it.
async fn failed(state: &AppState, flow: &RestGrantState, message: String) -> Result<Response> {
    state
        .store
        .fail_rest_grant_offer(flow.course_id, flow.user_id, &message)
        .await?;
    Err(Error::Forbidden(format!(
        "Blackboard authorisation not completed: {message}"
    )))
}

fn redirect_uri(state: &AppState) -> String {
    state
        .config
        .public_url
        .join(CALLBACK_PATH)
        .map(String::from)
        .unwrap_or_else(|_| CALLBACK_PATH.to_string())
}

#[derive(Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(answer): Query<Callback>,
) -> Result<Response> {
    let expired = || {
        Error::BadRequest(
            "This Blackboard authorisation has expired, was already used, or did not start in this browser. Open cloop from the course in Blackboard again and click “Authorise” once more.".into(),
        )
    };
    let sent = answer
        .state
        .as_deref()
        .filter(|s| !s.is_empty())
        .ok_or_else(expired)?;
    if jar.get(STATE_COOKIE).map(Cookie::value) != Some(sent) {
        return Err(expired());
    }
    let flow = state
        .store
        .take_rest_grant_state(&SecretKey::hash_token(sent))
        .await?
        .ok_or_else(expired)?;
    let jar = jar.remove(Cookie::build(STATE_COOKIE).path(CALLBACK_PATH));
    // The consent took up to STATE_TTL_SECS: the person must still be staff of the course
    // now, as every course request checks.
    let course = state.store.course(flow.course_id).await?;
    let still_staff = state
        .store
        .standing(
            flow.user_id,
            course.id,
            course.platform_id,
            course.deployment_id,
        )
        .await?
        .is_some_and(|s| s.active && s.is_staff);
    if !still_staff {
        return Err(Error::Forbidden(
            "The LMS no longer lists you as staff of this course, so cloop did not store the authorisation. If you still teach it, open cloop again from the course in Blackboard.".into(),
        ));
    }
    if let Some(error) = answer.error {
        let message = if error == "access_denied" {
            "you declined cloop's access in Blackboard, so cloop cannot read the course with your account.".to_string()
        } else {
            format!(
                "Blackboard refused the authorisation ({error}{}).",
                answer
                    .error_description
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            )
        };
        return failed(&state, &flow, message).await;
    }
    let Some(code) = answer.code.filter(|c| !c.is_empty()) else {
        return failed(
            &state,
            &flow,
            "Blackboard sent no authorisation code.".into(),
        )
        .await;
    };
    let credentials = state
        .store
        .platform_rest(flow.platform_id)
        .await?
        .ok_or_else(|| {
            Error::Conflict("This platform's Blackboard REST credentials were removed.".into())
        })?;
    let (Some(rest_secret), Some(verifier)) = (
        state.secret.unseal(&credentials.sealed_secret),
        state.secret.unseal(&flow.code_verifier),
    ) else {
        return Err(Error::Internal(
            "stored secrets cannot be opened with this instance's key".into(),
        ));
    };
    let base = url::Url::parse(&credentials.base_url)
        .map_err(|_| Error::Internal(format!("bad REST base URL {:?}", credentials.base_url)))?;
    let endpoint = TokenEndpoint {
        http: &state.http,
        base: &base,
        key: &credentials.key,
        secret: &rest_secret,
    };
    let token = match endpoint
        .exchange_code(&code, &redirect_uri(&state), verifier.expose_secret())
        .await
    {
        Ok(token) => token,
        Err(e) => {
            let message = format!("the token exchange with Blackboard failed: {e}.");
            return failed(&state, &flow, message).await;
        }
    };
    let refresh = token.refresh_token.as_deref().unwrap_or_default();
    state
        .store
        .save_rest_grant(
            flow.platform_id,
            flow.user_id,
            &state.secret.seal(refresh),
            &token.scope,
        )
        .await?;
    crate::jobs::enqueue_course_sync(&state.store, flow.course_id).await?;
    tracing::info!(platform = %flow.platform_id, user = %flow.user_id, course = %flow.course_id, "Blackboard user grant stored");
    let page = layout::page(
        "cloop authorised",
        html! {
            h1 { "cloop is authorised" }
            p { "cloop can now read this course in Blackboard with your account. A sync of the course has been queued; you can close this window." }
        },
    );
    Ok((jar, page).into_response())
}
