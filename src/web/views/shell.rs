//! The frame of every course page: title, navigation, the cohort filter, range controls,
//! data freshness and the metric definitions one click away.

use axum::extract::State;
use maud::{Markup, html};

use super::links::Links;
use crate::AppState;
use crate::analytics::{CourseView, Range, RoleChoice};
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

/// The pages whose numbers the cohort filter narrows (detail pages name their own path).
const COUNTED: [&str; 7] = [
    "",
    "/content",
    "/communication",
    "/assessment",
    "/students",
    "/outreach",
    "/comparison",
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
    let filter = COUNTED.contains(&active).then_some(active);
    course_page_at(cv, links, active, filter, title, body)
}

/// A complete course page whose cohort filter form (if `filter_path` is given) applies to
/// the page at that path.
pub fn course_page_at(
    cv: &CourseView,
    links: &Links,
    active: &str,
    filter_path: Option<&str>,
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
            @if let Some(path) = filter_path { (cohort_form(cv, links, path)) }
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
            (layout::Roomy(&body))
            (definitions(links))
            script src="/static/cloop.js" defer {}
        },
    )
}

/// The GET form choosing whom the page counts: a group (when the LMS sent any), a role,
/// and whether students who left count; with the sentence saying whom it counts now. The
/// page's other choices (week, tab, event, sorts and searches) are kept.
fn cohort_form(cv: &CourseView, links: &Links, path: &str) -> Markup {
    let cohort = &cv.cohort;
    let f = &cohort.filter;
    let own = ["group", "role", "left"];
    html! {
        form class="picker cohort" method="get" action={"/courses/" (cv.course.id) (path)} aria-label="Whom to count" {
            (links.hidden_fields(&own))
            @for (k, v) in links.page.pairs_except(&own) {
                input type="hidden" name=(k) value=(v);
            }
            @if !cohort.groups.is_empty() {
                label for="cohort-group" { "Group " }
                select id="cohort-group" name="group" {
                    option value="" selected[f.group.is_none()] { "All groups" }
                    @for (id, name) in &cohort.groups {
                        option value=(id) selected[f.group == Some(*id)] { (name) }
                    }
                }
                " "
            }
            label for="cohort-role" { "Role " }
            select id="cohort-role" name="role" {
                @for role in RoleChoice::ALL {
                    option value=(role.as_str()) selected[f.role == role] { (role.label()) }
                }
            }
            " "
            input id="cohort-left" name="left" type="checkbox" value="1" checked[f.include_left];
            " "
            label for="cohort-left" { "Include students who left" }
            " "
            button type="submit" { "Apply" }
            p class="muted cohort-now" { (cohort.describe()) }
        }
    }
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
            p { "Click a column header to sort its table (click again to reverse): numbers by value, "
                "text ignoring case, blanks last, equal values in the table’s own order; periods of a "
                "time series by date; a sorted or searched content tree is shown as a flat list. The "
                "search box above a table keeps the rows holding every word typed, each in any column; "
                "the totals row stays the totals of all rows. A table’s CSV is the table as shown." }
        },
    ))
}
