//! The frame of every course page: title, navigation, range controls, data freshness and
//! the metric definitions one click away.

use axum::extract::State;
use maud::{Markup, html};

use super::links::Links;
use crate::AppState;
use crate::analytics::{CourseView, Range};
use crate::error::Result;
use crate::web::layout;
use crate::web::session::StaffSession;

/// The pages in the navigation: path, label.
const NAV: [(&str, &str); 10] = [
    ("", "Dashboard"),
    ("/content", "Content"),
    ("/communication", "Communication"),
    ("/assessment", "Assessment"),
    ("/students", "Students"),
    ("/outreach", "Outreach"),
    ("/comparison", "Event comparison"),
    ("/events", "Events"),
    ("/settings", "Settings"),
    ("/courses", "All courses"),
];

/// What each metric means, in one sentence each.
pub const DEFINITIONS: [(&str, &str); 9] = [
    (
        "Page views",
        "each time a student or staff member opened a page or resource of the course in the LMS.",
    ),
    (
        "Unique students",
        "how many different people opened it in the period (someone who opens it ten times counts once).",
    ),
    (
        "Session",
        "a run of one person's activity with no gap over 40 minutes, counted on the day it started.",
    ),
    (
        "Average session",
        "the total length of sessions divided by their number, in minutes.",
    ),
    (
        "Active students",
        "people with at least one page view that day.",
    ),
    (
        "Unique pages viewed",
        "how many different resources were opened that day.",
    ),
    (
        "Before / from the event",
        "page views in the N days before each occurrence of an event, against the N days from its day on; days are local days in the course time zone.",
    ),
    (
        "Views in N h before / from the event",
        "students' page views from exactly N hours before each occurrence (a submission's due time) up to it, against those from it to just before N hours after; exact to the millisecond at any event time, 23:59 too.",
    ),
    (
        "% of total",
        "the row's total as a share of all page views (or students) in the table.",
    ),
];

/// A complete course page.
pub fn course_page(
    cv: &CourseView,
    links: &Links,
    active: &str,
    title: &str,
    body: Markup,
) -> Markup {
    let c = &cv.course;
    let page_title = format!(
        "{title} — {}",
        if c.title.is_empty() {
            &c.code
        } else {
            &c.title
        }
    );
    layout::page(
        &page_title,
        html! {
            header class="course-head" {
                p class="course-name" { (c.code) @if !c.code.is_empty() && !c.title.is_empty() { " · " } (c.title) }
                nav aria-label="cloop pages" {
                    ul {
                        @for (path, label) in NAV {
                            li { a href=(links.href(path, &[])) aria-current=[(path == active).then_some("page")] { (label) } }
                        }
                    }
                }
            }
            h1 { (title) }
            (freshness(cv))
            (data_sources(&cv.data_sources))
            @if !cv.dates_known {
                p class="notice" {
                    @if let Some(stored) = cv.course.start_date {
                        "The stored start date " (stored) " is outside the dates cloop accepts ("
                        (crate::events::FIRST_DATE) " to " (crate::events::LAST_DATE)
                        "), so weeks are counted from the first recorded activity. "
                    } @else {
                        "The course start date is not set, so weeks are counted from the first recorded activity. "
                    }
                    a href=(links.href("/settings", &[])) { "Set the course dates" } "."
                }
            }
            (body)
            (definitions(links))
            script src="/static/cloop.js" defer {}
        },
    )
}

fn freshness(cv: &CourseView) -> Markup {
    let when = |t: Option<crate::store::EpochMs>| {
        t.map(|t| cv.cal.format(t))
            .unwrap_or_else(|| "never".into())
    };
    html! {
        p class="freshness muted" {
            "Data: last sync " (when(cv.last_sync)) ", last event received " (when(cv.last_event))
            " (times in " (cv.cal.tz_name) ")."
        }
    }
}

/// The LTI services' status lines (roster, gradebook); nothing when none was read.
fn data_sources(sources: &[crate::lti::services::DataSourceStatus]) -> Markup {
    html! {
        @if !sources.is_empty() {
            section class="data-sources" {
                h2 { "Data sources" }
                ul {
                    @for source in sources {
                        li class=(if source.ok() { "ok" } else { "failed" }) { (source.line()) }
                    }
                }
            }
        }
    }
}

fn definitions(links: &Links) -> Markup {
    html! {
        details class="definitions" {
            summary { "What these numbers mean" }
            dl {
                @for (term, def) in DEFINITIONS { dt { (term) } dd { (def) } }
            }
            p { a href=(links.href("/help", &[])) { "All definitions" } }
        }
    }
}

/// Links to all weeks and each week, keeping the page's other parameters.
pub fn range_controls(
    cv: &CourseView,
    links: &Links,
    path: &str,
    range: Range,
    keep: &[(&str, &str)],
) -> Markup {
    let link = |week: &str| {
        let mut params = keep.to_vec();
        params.push(("week", week));
        links.href(path, &params)
    };
    html! {
        nav class="range" aria-label="Weeks" {
            span class="muted" { "Show: " }
            a href=(link("")) aria-current=[(range == Range::All).then_some("true")] { "All weeks" }
            @for n in 1..=cv.cal.weeks {
                @let w = n.to_string();
                " " a href=(link(&w)) aria-current=[(range == Range::Week(n)).then_some("true")] { "W" (n) }
            }
        }
    }
}

/// The metric definitions page.
pub async fn help(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
) -> Result<Markup> {
    let cv = CourseView::load(&state.store, session.course).await?;
    let links = Links::new(&session, &state.secret);
    Ok(course_page(
        &cv,
        &links,
        "/help",
        "What the numbers mean",
        html! {
            dl class="glossary" {
                @for (term, def) in DEFINITIONS { dt { (term) } dd { (def) } }
            }
            p { "Weeks run from the course start date: week N is the 7 days starting "
                "7 × (N − 1) days after it. Charts draw single events and deadlines as labelled "
                "markers, submission windows as shaded bands and repeating events as dashed lines; "
                "the checkboxes above each chart hide or show each kind." }
        },
    ))
}
