//! Tool administration pages (`/admin/…`): reached with a one-time login link from
//! `cloop admin create`, never through an LMS role.

mod import;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use axum_extra::extract::CookieJar;
use maud::{Markup, html};
use serde::Deserialize;

mod sync;

use crate::AppState;
use crate::error::{Error, Result};
use crate::secret::SecretKey;
use crate::store::EpochMs;
use crate::web::layout;
use crate::web::session::AdminSession;

mod platforms;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(platforms::router())
        .route("/admin", get(overview))
        .route("/admin/login", get(login))
        .merge(sync::router())
        .merge(import::router())
}

/// How long a login link from `cloop admin create` stays valid.
const LOGIN_LINK_SECS: i64 = 24 * 3600;

/// Creates (or finds) the administrator `name` and returns a one-time login link for them.
pub async fn create_login_link(
    store: &crate::Store,
    config: &crate::Config,
    name: &str,
) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::BadRequest("an administrator needs a name".into()));
    }
    let admin = store.create_admin(name).await?;
    let token = SecretKey::random_token();
    store
        .add_admin_login_token(
            admin,
            &SecretKey::hash_token(&token),
            EpochMs::now().plus_secs(LOGIN_LINK_SECS),
        )
        .await?;
    Ok(config.url(&format!("/admin/login?token={token}")))
}

#[derive(Deserialize)]
struct LoginLink {
    token: String,
}

/// Exchanges a one-time login link for an admin session cookie.
async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    Query(link): Query<LoginLink>,
) -> Result<impl IntoResponse> {
    let admin = state
        .store
        .use_admin_login_token(&SecretKey::hash_token(&link.token))
        .await?
        .ok_or_else(|| {
            Error::Unauthorized(
                "This login link has been used or has expired. Run `cloop admin create` for a new one."
                    .into(),
            )
        })?;
    tracing::info!(admin = %admin, "administrator signed in with a login link");
    let session = AdminSession::new(admin);
    let secure = !state.config.public_url_is_insecure();
    Ok((
        jar.add(session.cookie(&state.secret, secure)),
        Redirect::to("/admin"),
    ))
}

async fn overview(_admin: AdminSession) -> Markup {
    layout::page(
        "cloop administration",
        html! {
            h1 { "cloop administration" }
            ul {
                li { a href="/admin/platforms" { "LMS platforms" } " — registrations, deployments and the values to paste into each LMS" }
                li { a href="/admin/sync" { "Blackboard sync" } " — REST credentials, each course's last sync, calls used today" }
                li { a href="/admin/import" { "Import activity" } " — Blackboard accumulator, Loop, Moodle log, Caliper or xAPI files" }
            }
        },
    )
}
