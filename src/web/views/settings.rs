//! Course settings: start date, number of weeks and time zone (set by staff, then kept
//! over what the LMS or a sync says), and the previous offering to compare with.

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::links::{Links, check_csrf, csrf_token};
use super::offerings::choice_form;
use super::shell::course_page;
use crate::AppState;
use crate::analytics::{CourseView, OfferingChoices, offering_choices};
use crate::error::Result;
use crate::events::{Calendar, CourseDate, MAX_WEEKS};
use crate::store::courses::CourseCalendar;
use crate::web::session::{CourseSession, StaffSession};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct SettingsForm {
    csrf: String,
    start_date: String,
    weeks: String,
    time_zone: String,
}

#[derive(Deserialize)]
pub struct Saved {
    saved: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Query(q): Query<Saved>,
) -> Result<Response> {
    let cv = CourseView::load(&state.store, session.course).await?;
    let form = SettingsForm {
        csrf: String::new(),
        start_date: cv
            .course
            .start_date
            .map(|d| d.to_string())
            .unwrap_or_default(),
        weeks: cv.course.weeks.to_string(),
        time_zone: cv.course.time_zone.clone(),
    };
    let saved = q.saved.is_some().then(|| "Settings saved.".to_string());
    let choices = offering_choices(&state.store, &cv, session.user).await?;
    Ok(render(&state, &session, &cv, &choices, &form, &[], saved).into_response())
}

pub async fn save(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Form(form): Form<SettingsForm>,
) -> Result<Response> {
    check_csrf(&session, &state.secret, &form.csrf)?;
    let mut problems = Vec::new();
    let start = CourseDate::parse(&form.start_date)
        .map_err(|e| problems.push(format!("The start date: {e}.")))
        .ok();
    let weeks = form
        .weeks
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|w| (1..=MAX_WEEKS).contains(w));
    if weeks.is_none() {
        problems.push(format!(
            "The number of weeks must be a whole number from 1 to {MAX_WEEKS}, not {:?}.",
            form.weeks.trim()
        ));
    }
    if let (Some(start), Some(weeks)) = (start, weeks)
        && let Err(e) = Calendar::new(start, weeks, form.time_zone.trim())
    {
        problems.push(e.to_string());
    }
    match (start, weeks, problems.is_empty()) {
        (Some(start), Some(weeks), true) => {
            let calendar = CourseCalendar {
                start_date: start.to_stored(),
                weeks,
                time_zone: form.time_zone.trim().to_string(),
            };
            state
                .store
                .set_course_calendar(session.course, &calendar)
                .await?;
            let links = Links::new(&session, &state.secret);
            Ok(Redirect::to(&links.href("/settings", &[("saved", "1")])).into_response())
        }
        _ => {
            let cv = CourseView::load(&state.store, session.course).await?;
            let choices = offering_choices(&state.store, &cv, session.user).await?;
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                render(&state, &session, &cv, &choices, &form, &problems, None),
            )
                .into_response())
        }
    }
}

fn render(
    state: &AppState,
    session: &CourseSession,
    cv: &CourseView,
    choices: &OfferingChoices,
    form: &SettingsForm,
    problems: &[String],
    saved: Option<String>,
) -> Markup {
    let links = Links::new(session, &state.secret);
    let body = html! {
        @if let Some(msg) = saved { p class="saved" role="status" { (msg) } }
        @if !problems.is_empty() {
            div class="problems" role="alert" {
                p { "The settings were not saved:" }
                ul { @for p in problems { li { (p) } } }
            }
        }
        form method="post" action=(links.href("/settings", &[])) class="stack" {
            input type="hidden" name="csrf" value=(csrf_token(session, &state.secret));
            label for="start_date" { "Start date (the Monday of week 1)" }
            input id="start_date" name="start_date" type="date" required value=(form.start_date);
            label for="weeks" { "Number of weeks" }
            input id="weeks" name="weeks" type="number" min="1" max="104" required value=(form.weeks);
            label for="time_zone" { "Time zone" }
            input id="time_zone" name="time_zone" list="zones" required value=(form.time_zone);
            datalist id="zones" {
                @for z in jiff::tz::db().available() { option value=(z) {} }
            }
            p class="muted" { "Days and weeks in every view are counted in this time zone." }
            button type="submit" { "Save settings" }
        }
        (choice_form(session, state, choices))
    };
    course_page(cv, &links, "/settings", "Course settings", body)
}
