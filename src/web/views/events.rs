//! Event management: the list (with hide/show and delete), the three create forms, and
//! the edit form. Events from the gradebook or calendar are edited and hidden like others.

use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::links::{Links, check_csrf, csrf_token};
use super::shell::course_page;
use crate::AppState;
use crate::analytics::CourseView;
use crate::error::Result;
use crate::events::{Calendar, EventForm, EventKind};
use crate::store::course_events::CourseEventRow;
use crate::store::{CourseEventId, CourseId};
use crate::web::session::{CourseSession, StaffSession};

const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

#[derive(Clone, Debug, Default, Deserialize)]
pub struct PostedEvent {
    #[serde(default)]
    csrf: String,
    #[serde(flatten)]
    form: EventForm,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PostedFlag {
    csrf: String,
    hidden: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PostedCsrf {
    csrf: String,
}

pub async fn list(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
) -> Result<Response> {
    let cv = CourseView::load(&state.store, session.course).await?;
    Ok(list_page(&state, &session, &cv, None, &[]).into_response())
}

pub async fn create(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Form(posted): Form<PostedEvent>,
) -> Result<Response> {
    check_csrf(&session, &state.secret, &posted.csrf)?;
    let cv = CourseView::load(&state.store, session.course).await?;
    match posted.form.validate(&cv.cal) {
        Ok(fields) => {
            state
                .store
                .create_course_event(session.course, &fields)
                .await?;
            Ok(back_to_list(&state, &session))
        }
        Err(problems) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            list_page(&state, &session, &cv, Some(&posted.form), &problems),
        )
            .into_response()),
    }
}

pub async fn edit(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Path((_, event)): Path<(CourseId, CourseEventId)>,
) -> Result<Response> {
    let cv = CourseView::load(&state.store, session.course).await?;
    let row = state.store.course_event(session.course, event).await?;
    let form = EventForm::from_row(&row, &cv.cal);
    Ok(edit_page(&state, &session, &cv, &row, &form, &[]).into_response())
}

pub async fn update(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Path((_, event)): Path<(CourseId, CourseEventId)>,
    Form(posted): Form<PostedEvent>,
) -> Result<Response> {
    check_csrf(&session, &state.secret, &posted.csrf)?;
    let cv = CourseView::load(&state.store, session.course).await?;
    let row = state.store.course_event(session.course, event).await?;
    match posted.form.validate(&cv.cal) {
        Ok(fields) => {
            state
                .store
                .update_course_event(session.course, event, &fields)
                .await?;
            Ok(back_to_list(&state, &session))
        }
        Err(problems) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            edit_page(&state, &session, &cv, &row, &posted.form, &problems),
        )
            .into_response()),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Path((_, event)): Path<(CourseId, CourseEventId)>,
    Form(posted): Form<PostedCsrf>,
) -> Result<Response> {
    check_csrf(&session, &state.secret, &posted.csrf)?;
    state
        .store
        .delete_course_event(session.course, event)
        .await?;
    Ok(back_to_list(&state, &session))
}

pub async fn set_hidden(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Path((_, event)): Path<(CourseId, CourseEventId)>,
    Form(posted): Form<PostedFlag>,
) -> Result<Response> {
    check_csrf(&session, &state.secret, &posted.csrf)?;
    let hidden = posted.hidden == "true";
    state
        .store
        .set_course_event_hidden(session.course, event, hidden)
        .await?;
    Ok(back_to_list(&state, &session))
}

fn back_to_list(state: &AppState, session: &CourseSession) -> Response {
    Redirect::to(&Links::new(session, &state.secret).href("/events", &[])).into_response()
}

/// When an event happens, for people.
fn when(row: &CourseEventRow, cal: &Calendar) -> String {
    let t = |t: Option<crate::store::EpochMs>| t.map(|t| cal.format(t)).unwrap_or_default();
    match EventKind::parse(&row.kind) {
        Some(EventKind::Single) => t(row.starts_at),
        Some(EventKind::Submission) => format!("{} to {}", t(row.starts_at), t(row.ends_at)),
        Some(EventKind::Repeating) => format!(
            "{} {:02}:{:02}, weeks {}–{}",
            row.weekday
                .and_then(|w| WEEKDAYS.get(w as usize))
                .unwrap_or(&"?"),
            row.minute_of_day.unwrap_or(0) / 60,
            row.minute_of_day.unwrap_or(0) % 60,
            row.first_week.unwrap_or(1),
            row.last_week.unwrap_or(cal.weeks)
        ),
        None => String::new(),
    }
}

fn problems_box(problems: &[String]) -> Markup {
    html! {
        @if !problems.is_empty() {
            div class="problems" role="alert" {
                p { "The event was not saved:" }
                ul { @for p in problems { li { (p) } } }
            }
        }
    }
}

fn list_page(
    state: &AppState,
    session: &CourseSession,
    cv: &CourseView,
    failed: Option<&EventForm>,
    problems: &[String],
) -> Markup {
    let links = Links::new(session, &state.secret);
    let csrf = csrf_token(session, &state.secret);
    let (s, e) = cv.cal.bounds();
    let body = html! {
        p { "Events are drawn over every chart. The course runs from " (cv.cal.format(s)) " to " (cv.cal.format(e))
            " (" (cv.cal.weeks) " weeks, " (cv.cal.tz_name) "); events must fall inside it. "
            a href=(links.href("/settings", &[])) { "Change the course dates" } "." }
        (problems_box(problems))
        div class="table-wrap" {
            table id="table-events" {
                caption { "Course events" }
                thead { tr { th scope="col" { "Title" } th scope="col" { "Kind" } th scope="col" { "When" } th scope="col" { "Source" } th scope="col" { "Shown" } th scope="col" { "Actions" } } }
                tbody {
                    @for row in &cv.events {
                        tr {
                            th scope="row" { (row.title) }
                            td { (EventKind::parse(&row.kind).map(|k| k.label()).unwrap_or("")) @if let Some(t) = &row.submission_type { " (" (t) ")" } }
                            td { (when(row, &cv.cal)) }
                            td { (row.source) }
                            td { (if row.hidden { "hidden" } else { "shown" }) }
                            td class="actions" {
                                a href=(links.href(&format!("/events/{}", row.id), &[])) { "Edit" }
                                form method="post" action=(links.href(&format!("/events/{}/hidden", row.id), &[])) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    input type="hidden" name="hidden" value=(if row.hidden { "false" } else { "true" });
                                    button type="submit" class="secondary" { (if row.hidden { "Show" } else { "Hide" }) }
                                }
                                form method="post" action=(links.href(&format!("/events/{}/delete", row.id), &[])) {
                                    input type="hidden" name="csrf" value=(csrf);
                                    button type="submit" class="secondary" { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
        }
        @for kind in EventKind::ALL {
            @let blank = EventForm { kind: kind.as_str().into(), ..Default::default() };
            @let form = failed.filter(|f| f.kind == kind.as_str()).unwrap_or(&blank);
            section class="event-form" {
                h2 { "Add a " (kind.label().to_lowercase()) }
                (event_fields(&links.href("/events", &[]), &csrf, kind, form, "Add event"))
            }
        }
    };
    course_page(cv, &links, "/events", "Events", body)
}

fn edit_page(
    state: &AppState,
    session: &CourseSession,
    cv: &CourseView,
    row: &CourseEventRow,
    form: &EventForm,
    problems: &[String],
) -> Markup {
    let links = Links::new(session, &state.secret);
    let csrf = csrf_token(session, &state.secret);
    let kind = EventKind::parse(&row.kind).unwrap_or(EventKind::Single);
    let body = html! {
        @if row.source != "manual" { p class="muted" { "This event came from the LMS " (row.source) "; your changes are kept." } }
        (problems_box(problems))
        (event_fields(&links.href(&format!("/events/{}", row.id), &[]), &csrf, kind, form, "Save event"))
        p { a href=(links.href("/events", &[])) { "Back to events" } }
    };
    course_page(
        cv,
        &links,
        "/events",
        &format!("Edit “{}”", row.title),
        body,
    )
}

fn event_fields(action: &str, csrf: &str, kind: EventKind, f: &EventForm, submit: &str) -> Markup {
    let k = kind.as_str();
    html! {
        form method="post" action=(action) class="stack" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="kind" value=(k);
            label for={(k) "-title"} { "Title" }
            input id={(k) "-title"} name="title" required maxlength="200" value=(f.title);
            @match kind {
                EventKind::Single => {
                    label for={(k) "-at"} { "Date and time" }
                    input id={(k) "-at"} name="at" type="datetime-local" required value=(f.at);
                }
                EventKind::Submission => {
                    label for={(k) "-opens"} { "Opens" }
                    input id={(k) "-opens"} name="opens" type="datetime-local" required value=(f.opens);
                    label for={(k) "-due"} { "Due" }
                    input id={(k) "-due"} name="due" type="datetime-local" required value=(f.due);
                    label for={(k) "-type"} { "Type" }
                    select id={(k) "-type"} name="submission_type" {
                        option value="assignment" selected[f.submission_type != "quiz"] { "Assignment" }
                        option value="quiz" selected[f.submission_type == "quiz"] { "Quiz" }
                    }
                }
                EventKind::Repeating => {
                    label for={(k) "-weekday"} { "Weekday" }
                    select id={(k) "-weekday"} name="weekday" {
                        @for (i, d) in WEEKDAYS.iter().enumerate() {
                            option value=(i) selected[f.weekday == i.to_string()] { (d) }
                        }
                    }
                    label for={(k) "-time"} { "Time" }
                    input id={(k) "-time"} name="time" type="time" required value=(f.time);
                    label for={(k) "-first"} { "First week" }
                    input id={(k) "-first"} name="first_week" type="number" min="1" required value=(f.first_week);
                    label for={(k) "-last"} { "Last week" }
                    input id={(k) "-last"} name="last_week" type="number" min="1" required value=(f.last_week);
                }
            }
            button type="submit" { (submit) }
        }
    }
}
