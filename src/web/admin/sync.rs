//! `/admin/sync`: each course's last sync run (status, counts, calls, error), REST calls
//! used today per platform, and the form that sets a platform's REST credentials.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::error::Result;
use crate::jobs::{JobsOptions, enqueue_course_sync};
use crate::lms::blackboard::{BbError, set_rest_credentials};
use crate::store::{CourseId, EpochMs, PlatformId};
use crate::web::layout;
use crate::web::session::AdminSession;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sync", get(page))
        .route("/admin/sync/credentials", post(set_credentials))
        .route("/admin/sync/now", post(sync_now))
}

async fn page(admin: AdminSession, State(state): State<AppState>) -> Result<Markup> {
    render(&state, &admin, None, None).await
}

#[derive(Deserialize)]
struct CredentialsForm {
    #[serde(default)]
    csrf: String,
    platform: PlatformId,
    base_url: String,
    key: String,
    secret: String,
}

async fn set_credentials(
    admin: AdminSession,
    State(state): State<AppState>,
    Form(form): Form<CredentialsForm>,
) -> Result<Response> {
    admin.check_csrf(&state.secret, &form.csrf)?;
    let checked = crate::lti::registration::check_url("Base URL", &form.base_url)
        .map_err(BbError::BadCredentials);
    let options = JobsOptions::from_config(&state.config).client;
    let outcome = match checked {
        Ok(_) => {
            set_rest_credentials(
                &state.store,
                &state.secret,
                form.platform,
                &form.base_url,
                &form.key,
                &form.secret,
                &options,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => {
            let notice = "REST credentials checked with Blackboard and saved.";
            Ok(render(&state, &admin, None, Some(notice))
                .await?
                .into_response())
        }
        Err(BbError::Store(e)) => Err(e.into()),
        Err(e) => {
            tracing::warn!(platform = %form.platform, error = %e, "REST credentials rejected");
            let page = render(&state, &admin, Some(&e.to_string()), None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
    }
}

#[derive(Deserialize)]
struct SyncNowForm {
    #[serde(default)]
    csrf: String,
    course: CourseId,
}

async fn sync_now(
    admin: AdminSession,
    State(state): State<AppState>,
    Form(form): Form<SyncNowForm>,
) -> Result<Redirect> {
    admin.check_csrf(&state.secret, &form.csrf)?;
    state.store.course(form.course).await?;
    enqueue_course_sync(&state.store, form.course).await?;
    Ok(Redirect::to("/admin/sync"))
}

async fn render(
    state: &AppState,
    admin: &AdminSession,
    error: Option<&str>,
    notice: Option<&str>,
) -> Result<Markup> {
    let csrf = admin.csrf_token(&state.secret);
    let platforms = state.store.platforms().await?;
    let mut usage = Vec::new();
    for platform in &platforms {
        usage.push(state.store.api_usage_today(platform.id).await?);
    }
    let courses = state.store.course_sync_statuses().await?;
    let budget = state.config.blackboard_daily_budget;
    Ok(layout::page(
        "Blackboard sync",
        html! {
            h1 { "Blackboard sync" }
            @if let Some(error) = error {
                div class="error" role="alert" { p { strong { "Not saved: " } (error) } }
            }
            @if let Some(notice) = notice {
                div class="notice" role="status" { p { (notice) } }
            }
            h2 { "Platforms" }
            table {
                thead { tr { th { "Platform" } th { "REST site" } th { "Calls today" } th { "Remaining (reported)" } } }
                tbody {
                    @for (platform, (calls, remaining)) in platforms.iter().zip(&usage) {
                        tr {
                            td { (platform.name) }
                            td { (platform.rest_base_url.as_deref().unwrap_or("not set")) }
                            td { (calls) " of " (budget) }
                            td { (remaining.map(|r| r.to_string()).unwrap_or_else(|| "—".into())) }
                        }
                    }
                }
            }
            h2 { "Courses" }
            table {
                thead { tr {
                    th { "Course" } th { "Last run" } th { "Started" } th { "Took" } th { "Calls" }
                    th { "Inserted" } th { "Updated" } th { "Removed" } th { "Error" } th {}
                } }
                tbody {
                    @for c in &courses {
                        tr {
                            td { (c.title) " " small { (c.code) } }
                            td { (c.run_status.as_deref().unwrap_or("never")) " " small { (c.kind.as_deref().unwrap_or("")) } }
                            td { (c.started_at.map(|t| t.to_string()).unwrap_or_default()) }
                            td { (took(c.started_at, c.finished_at)) }
                            td { (c.calls.unwrap_or(0)) }
                            td { (c.inserted.unwrap_or(0)) }
                            td { (c.updated.unwrap_or(0)) }
                            td { (c.removed.unwrap_or(0)) }
                            td class="error" { (c.error.as_deref().unwrap_or("")) }
                            td {
                                form method="post" action="/admin/sync/now" {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="course" value=(c.course_id);
                                    button type="submit" { "Sync now" }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Set REST credentials" }
            p { "The application key and secret from the Anthology Developer Portal, registered by the Learn administrator under System Admin → REST API Integrations. They are checked with Blackboard before they are saved; the secret is stored encrypted and never shown again." }
            form method="post" action="/admin/sync/credentials" {
                input type="hidden" name="csrf" value=(csrf);
                label { "Platform " select name="platform" {
                    @for platform in &platforms { option value=(platform.id) { (platform.name) } }
                } }
                label { "Learn base URL " input type="url" name="base_url" placeholder="https://learn.example.edu" required; }
                label { "Application key " input type="text" name="key" required autocomplete="off"; }
                label { "Secret " input type="password" name="secret" required autocomplete="off"; }
                button type="submit" { "Check and save" }
            }
        },
    ))
}

fn took(started: Option<EpochMs>, finished: Option<EpochMs>) -> String {
    match (started, finished) {
        (Some(s), Some(f)) => format!("{:.1} s", (f.0 - s.0) as f64 / 1000.0),
        (Some(_), None) => "running".into(),
        _ => String::new(),
    }
}
