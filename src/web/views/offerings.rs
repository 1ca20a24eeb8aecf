//! The offering comparison drawn on the dashboard and resource pages, and the Settings
//! form where staff choose the previous offering (or none, or the automatic link).

use axum::extract::{Form, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::links::{Links, check_csrf, csrf_token};
use super::tables::figure;
use crate::AppState;
use crate::analytics::{
    LinkSource, MatchedBy, OfferingChoices, OfferingComparison, ResourceComparison, Table,
    choose_previous,
};
use crate::error::{Error, Result};
use crate::store::CourseId;
use crate::store::courses::{Course, PreviousChoice};
use crate::web::charts::{NEUTRAL, SECOND, bar_chart};
use crate::web::session::{CourseSession, StaffSession};

/// The course's comparison with the previous offering, as a section of a page.
pub fn comparison_section(
    c: &OfferingComparison,
    links: &Links,
    path: &str,
    params: &[(&str, &str)],
    matched: Option<Markup>,
) -> Markup {
    let p = &c.previous;
    let chart = bar_chart(
        "offerings-chart",
        &c.table.caption,
        &c.table,
        &[(2, NEUTRAL), (4, SECOND)],
    );
    html! {
        section class="offerings" id="offering-comparison" {
            h2 { "Compared with the previous offering" }
            p {
                "Previous offering: " strong { (name(&p.course)) }
                @match &p.source {
                    LinkSource::Chosen => { " (chosen by staff" }
                    LinkSource::Automatic(key) => { " (found by its course code " (key) }
                }
                "; change it in " a href=(links.href("/settings", &[])) { "Settings" } ")."
            }
            p class="muted" {
                "Weeks are aligned on teaching week, not date: week 1 is each offering's own first week "
                "(this offering from " (first_day(&c.table, 1)) ", the previous from " (first_day(&c.table, 3)) "). "
                "The difference is this offering's page views minus the previous one's; the % is against the previous offering's week. "
                "The previous offering is shown for all its students, whatever filter this page has."
            }
            @if let Some(m) = matched { (m) }
            (figure(&c.table, Some(chart), links, path, params))
        }
    }
}

/// How a resource was matched in the previous offering, said on its page.
pub fn matched_note(r: &ResourceComparison) -> Markup {
    html! {
        p {
            @match &r.matched {
                Some((MatchedBy::LmsId, _)) => {
                    "The same resource in the previous offering was found by its LMS content id (the course was copied)."
                }
                Some((MatchedBy::TitlePath(path), _)) => {
                    "The same resource in the previous offering was found by its title in the same folders: “" (path) "” (no resource there has its LMS content id)."
                }
                None => {
                    "The previous offering has no resource with this LMS content id, nor with this title in the same folders: its weeks show no views."
                }
            }
        }
    }
}

fn name(c: &Course) -> String {
    let title = if c.title.is_empty() {
        "(untitled)"
    } else {
        &c.title
    };
    match (c.code.is_empty(), c.term.is_empty()) {
        (false, false) => format!("{} · {title} · {}", c.code, c.term),
        (false, true) => format!("{} · {title}", c.code),
        _ => title.to_string(),
    }
}

/// The first day of week 1 of one side of the comparison table.
fn first_day(table: &Table, col: usize) -> String {
    table
        .rows
        .first()
        .map(|r| r.cells[col].text())
        .unwrap_or_default()
}

/// The Settings section choosing the previous offering.
pub fn choice_form(session: &CourseSession, state: &AppState, choices: &OfferingChoices) -> Markup {
    let links = Links::new(session, &state.secret);
    let current = match choices.choice {
        PreviousChoice::Automatic => "auto".to_string(),
        PreviousChoice::NoPrevious => "none".to_string(),
        PreviousChoice::Course(id) => id.to_string(),
    };
    let automatic = match &choices.automatic {
        Some(c) => format!("Automatic, by course code: {}", name(c)),
        None => "Automatic, by course code (none found now)".to_string(),
    };
    html! {
        h2 id="previous-offering" { "Previous offering" }
        form method="post" action=(links.href("/settings/previous", &[])) class="stack" {
            input type="hidden" name="csrf" value=(csrf_token(session, &state.secret));
            label for="previous" { "Compare this offering with" }
            select id="previous" name="previous" {
                option value="auto" selected[current == "auto"] { (automatic) }
                option value="none" selected[current == "none"] { "No previous offering" }
                @for c in &choices.teachable {
                    @let id = c.id.to_string();
                    option value=(id) selected[current == id] { (name(c)) }
                }
            }
            p class="muted" {
                "The automatic link takes the latest offering on this LMS that started earlier and has the same course code "
                "(the part before the year, as in ECOL2001_2025_S1). You can choose only courses you teach."
            }
            button type="submit" { "Save previous offering" }
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PreviousForm {
    csrf: String,
    previous: String,
}

pub async fn save_previous(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Form(form): Form<PreviousForm>,
) -> Result<Response> {
    check_csrf(&session, &state.secret, &form.csrf)?;
    let choice = match form.previous.trim() {
        "auto" => PreviousChoice::Automatic,
        "none" => PreviousChoice::NoPrevious,
        other => PreviousChoice::Course(other.parse::<i64>().map(CourseId).map_err(|_| {
            Error::BadRequest(format!(
                "The previous offering must be auto, none or a course, not {other:?}."
            ))
        })?),
    };
    if !choose_previous(&state.store, session.course, session.user, choice).await? {
        return Err(Error::Forbidden(
            "You can choose as the previous offering only another course you teach now.".into(),
        ));
    }
    let links = Links::new(&session, &state.secret);
    Ok(Redirect::to(&links.href("/settings", &[("saved", "1")])).into_response())
}
