//! `/admin/platforms`: the registered LMSs and their deployments, the values to paste into
//! each LMS, the Canvas developer-key JSON, the dynamic registration URL, and forms to
//! register a platform or add a deployment.

use axum::extract::{Path, State};
use axum::response::Redirect;
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::error::{Error, Result};
use crate::lti::ToolUrls;
use crate::lti::invite::{INVITE_SECS, invite};
use crate::lti::registration::{Preset, RegistrationRequest};
use crate::lti::tool_config::canvas_developer_key;
use crate::store::{EpochMs, PlatformId};
use crate::web::layout;
use crate::web::session::AdminSession;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/platforms", get(list).post(add_platform))
        .route(
            "/admin/platforms/{platform}/deployments",
            post(add_deployment),
        )
}

fn value_row(label: &str, value: &str) -> Markup {
    html! {
        tr { th scope="row" { (label) } td { code { (value) } } }
    }
}

async fn list(State(state): State<AppState>, admin: AdminSession) -> Result<Markup> {
    let platforms = state.store.platforms().await?;
    let mut rows = Vec::with_capacity(platforms.len());
    for platform in platforms {
        let deployments = state.store.deployments(platform.id).await?;
        rows.push((platform, deployments));
    }
    let urls = ToolUrls::new(&state.config);
    let csrf = admin.csrf_token(&state.secret);
    let registration_url = format!(
        "{}?invite={}",
        urls.registration,
        invite(&state.secret, EpochMs::now().plus_secs(INVITE_SECS))
    );
    let canvas_json =
        serde_json::to_string_pretty(&canvas_developer_key(&state.config)).unwrap_or_default();
    Ok(layout::page(
        "LMS platforms",
        html! {
            p { a href="/admin" { "← cloop administration" } }
            h1 { "LMS platforms" }
            @if rows.is_empty() {
                p { "No LMS is registered yet. Register one below, with " code { "cloop platform add" } ", or through dynamic registration." }
            } @else {
                div class="table-wrap" {
                    table {
                        thead { tr { th { "Name" } th { "LMS" } th { "Issuer" } th { "Client id" } th { "Deployments" } th { "Login URL for this registration" } } }
                        tbody {
                            @for (platform, deployments) in &rows {
                                tr {
                                    td { (platform.name) }
                                    td { (platform.product) }
                                    td { code { (platform.issuer) } }
                                    td { code { (platform.client_id) } }
                                    td {
                                        @if deployments.is_empty() { span class="muted" { "none: launches will be refused" } }
                                        @for d in deployments { code { (d) } " " }
                                        form method="post" action=(format!("/admin/platforms/{}/deployments", platform.id)) {
                                            input type="hidden" name="csrf" value=(csrf);
                                            label { "Add deployment id " input name="deployment" required size="12"; }
                                            " " button type="submit" { "Add" }
                                        }
                                    }
                                    td { code { (urls.login) "/" (platform.name) } }
                                }
                            }
                        }
                    }
                }
            }

            h2 { "Values to paste into the LMS" }
            table {
                tbody {
                    (value_row("Login initiation URL (OIDC)", &urls.login))
                    (value_row("Redirect (launch) URL", &urls.launch))
                    (value_row("Target link URI", &urls.target_link))
                    (value_row("Public keyset (JWKS) URL", &urls.jwks))
                    (value_row("Dynamic registration URL (Moodle, Canvas, D2L, Sakai; valid 24 hours, for one registration)", &registration_url))
                }
            }
            p class="muted" {
                "Blackboard Learn: these go into the application at the Anthology Developer Portal; the institution admin then registers its Application ID under "
                "Admin Panel → Integrations → LTI Tool Providers → Register LTI 1.3/Advantage Tool, and the Deployment ID it shows is added here. "
                "When several registrations share one issuer and the LMS sends no client id, use the per-registration login URL from the table."
            }

            h2 { "Canvas developer key JSON" }
            p { "Canvas: Admin → Developer Keys → + Developer Key → LTI Key → Method: Paste JSON." }
            pre { (canvas_json) }

            h2 { "Register an LMS" }
            form method="post" action="/admin/platforms" class="stack" {
                input type="hidden" name="csrf" value=(csrf);
                p { label { "Name " input name="name" required placeholder="uni-learn"; } }
                p {
                    label { "LMS " select name="preset" {
                        option value="blackboard" { "Blackboard Learn (Developer Portal)" }
                        option value="canvas" { "Canvas (Instructure cloud)" }
                        option value="moodle" { "Moodle" }
                        option value="d2l" { "D2L Brightspace" }
                        option value="" { "Other (enter every URL)" }
                    } }
                }
                p { label { "Client id (Blackboard: Application ID) " input name="client_id" required; } }
                p { label { "LMS address (Moodle, D2L) " input name="base_url" type="url" placeholder="https://lms.example.edu"; } }
                p { label { "Deployment id " input name="deployment"; } }
                details {
                    summary { "Other LMS: endpoints" }
                    p { label { "Issuer " input name="issuer" type="url"; } }
                    p { label { "OIDC auth URL " input name="auth_url" type="url"; } }
                    p { label { "JWKS URL " input name="jwks_url" type="url"; } }
                    p { label { "Token URL " input name="token_url" type="url"; } }
                }
                p { button type="submit" { "Register" } }
            }
        },
    ))
}

fn filled(value: Option<String>) -> Option<String> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

#[derive(Deserialize)]
struct PlatformForm {
    #[serde(default)]
    csrf: String,
    name: String,
    preset: Option<String>,
    client_id: String,
    base_url: Option<String>,
    deployment: Option<String>,
    issuer: Option<String>,
    auth_url: Option<String>,
    jwks_url: Option<String>,
    token_url: Option<String>,
}

async fn add_platform(
    State(state): State<AppState>,
    admin: AdminSession,
    Form(form): Form<PlatformForm>,
) -> Result<Redirect> {
    admin.check_csrf(&state.secret, &form.csrf)?;
    let preset = match filled(form.preset) {
        Some(p) => Some(p.parse::<Preset>().map_err(Error::BadRequest)?),
        None => None,
    };
    let request = RegistrationRequest {
        name: form.name,
        preset,
        base_url: filled(form.base_url),
        issuer: filled(form.issuer),
        client_id: form.client_id,
        auth_url: filled(form.auth_url),
        jwks_url: filled(form.jwks_url),
        token_url: filled(form.token_url),
    };
    let new = request.resolve().map_err(Error::BadRequest)?;
    let platform = state.store.create_platform(&new).await?;
    if let Some(deployment) = filled(form.deployment) {
        state.store.add_deployment(platform.id, &deployment).await?;
    }
    state.frame_ancestors.invalidate();
    Ok(Redirect::to("/admin/platforms"))
}

#[derive(Deserialize)]
struct DeploymentForm {
    #[serde(default)]
    csrf: String,
    deployment: String,
}

async fn add_deployment(
    State(state): State<AppState>,
    admin: AdminSession,
    Path(platform): Path<PlatformId>,
    Form(form): Form<DeploymentForm>,
) -> Result<Redirect> {
    admin.check_csrf(&state.secret, &form.csrf)?;
    let deployment = form.deployment.trim();
    if deployment.is_empty() {
        return Err(Error::BadRequest(
            "Enter the deployment id the LMS shows.".into(),
        ));
    }
    state.store.platform(platform).await?;
    state.store.add_deployment(platform, deployment).await?;
    Ok(Redirect::to("/admin/platforms"))
}
