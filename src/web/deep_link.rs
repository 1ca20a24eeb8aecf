//! The placement page of a deep-linking launch: staff pick the cloop view to add to the
//! course, and the browser carries the signed response back to the LMS.

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::error::{Error, Result};
use crate::lti::deep_linking::{DeepLinkRequest, PLACEMENTS, response_jwt};
use crate::web::layout;
use crate::web::session::StaffSession;
use crate::web::views::{check_csrf, csrf_token};

pub fn router() -> Router<AppState> {
    Router::new().route("/courses/{course}/deep-link", get(choose).post(answer))
}

#[derive(Deserialize)]
struct Sealed {
    request: String,
    s: String,
}

fn open(state: &AppState, session: &StaffSession, sealed: &str) -> Result<DeepLinkRequest> {
    DeepLinkRequest::open(&state.secret, sealed)
        .filter(|r| r.course == session.0.course)
        .ok_or_else(|| {
            Error::BadRequest(
                "This placement request has expired. Start adding cloop from the LMS again.".into(),
            )
        })
}

async fn choose(
    State(state): State<AppState>,
    session: StaffSession,
    Query(sealed): Query<Sealed>,
) -> Result<Markup> {
    open(&state, &session, &sealed.request)?;
    let course = state.store.course(session.0.course).await?;
    Ok(layout::page(
        "Add cloop to the course",
        html! {
            h1 { "Add cloop to " (course.title) }
            p { "Choose the view the link opens. Course staff see it; students who follow it see a page saying cloop is for staff." }
            form method="post" action=(format!("/courses/{}/deep-link?s={}", course.id, sealed.s)) {
                input type="hidden" name="csrf" value=(csrf_token(&session.0, &state.secret));
                input type="hidden" name="request" value=(sealed.request);
                fieldset {
                    legend { "Open cloop at" }
                    @for (i, (name, title)) in PLACEMENTS.iter().enumerate() {
                        p { label { input type="radio" name="view" value=(name) checked[i == 0]; " " (title) } }
                    }
                }
                p { button type="submit" { "Add to course" } }
            }
        },
    ))
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    csrf: String,
    request: String,
    view: String,
}

async fn answer(
    State(state): State<AppState>,
    session: StaffSession,
    Form(choice): Form<Choice>,
) -> Result<Markup> {
    check_csrf(&session.0, &state.secret, &choice.csrf)?;
    let request = open(&state, &session, &choice.request)?;
    if !PLACEMENTS.iter().any(|(name, _)| *name == choice.view) {
        return Err(Error::BadRequest(format!(
            "cloop has no view called {:?}.",
            choice.view
        )));
    }
    let platform = state.store.platform(request.platform).await?;
    let jwt = response_jwt(
        &state.store,
        &state.config,
        &platform,
        &request,
        &choice.view,
    )
    .await?;
    Ok(layout::page(
        "Returning to the LMS",
        html! {
            p { "Returning to your LMS…" }
            form id="auto-submit" method="post" action=(request.return_url) {
                input type="hidden" name="JWT" value=(jwt);
                noscript { button type="submit" { "Return to the LMS" } }
            }
            script src="/static/auto-submit.js" {}
        },
    ))
}
