//! Content, communication and assessment access pages: tabs, week range, tree heat map,
//! the totals over time with events, the event split and the grades matrix.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::links::Links;
use super::shell::{course_page, range_controls};
use super::tables::figure;
use super::{CohortQuery, TableQuery, ViewQuery, csv_response};
use crate::AppState;
use crate::analytics::{AccessTab, CourseView, EventWindow, Group, Range, access};
use crate::error::Result;
use crate::web::charts::{Mark, NEUTRAL, SECOND, Series, TimeChart, bar_chart};
use crate::web::session::StaffSession;

pub async fn content(
    s: State<AppState>,
    session: StaffSession,
    q: Query<ViewQuery>,
    cq: Query<CohortQuery>,
    t: TableQuery,
) -> Result<Response> {
    page(s, session, q, cq, t, Group::Content).await
}

pub async fn communication(
    s: State<AppState>,
    session: StaffSession,
    q: Query<ViewQuery>,
    cq: Query<CohortQuery>,
    t: TableQuery,
) -> Result<Response> {
    page(s, session, q, cq, t, Group::Communication).await
}

pub async fn assessment(
    s: State<AppState>,
    session: StaffSession,
    q: Query<ViewQuery>,
    cq: Query<CohortQuery>,
    t: TableQuery,
) -> Result<Response> {
    page(s, session, q, cq, t, Group::Assessment).await
}

async fn page(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Query(q): Query<ViewQuery>,
    Query(cq): Query<CohortQuery>,
    page: TableQuery,
    group: Group,
) -> Result<Response> {
    let cv = CourseView::load_for(&state.store, session.course, cq.filter()).await?;
    let range = Range::parse(q.week.as_deref(), cv.cal.weeks);
    let tab = AccessTab::parse(q.tab.as_deref(), group);
    let window = EventWindow::parse(q.event.as_deref(), q.window.as_deref(), &cv);
    let tables = access(&state.store, &cv, group, tab, range, window).await?;
    if let Some(id) = &q.csv {
        return csv_response(
            &tables.iter().collect::<Vec<_>>(),
            id,
            &cv.course.code,
            &page,
        );
    }
    let links = Links::new(&session, &state.secret)
        .with_cohort(&cv.cohort.filter)
        .on_page(page);
    let path = format!("/{}", group.as_str());
    let week = range.query_value();
    let (event, days) = window
        .map(|w| (w.event.to_string(), w.days.to_string()))
        .unwrap_or_default();
    let mut params = vec![("tab", tab.as_str()), ("week", week.as_str())];
    if tab == AccessTab::Events {
        params.extend([("event", event.as_str()), ("window", days.as_str())]);
    }
    let body = html! {
        nav class="tabs" aria-label="Tabs" {
            @for t in group.tabs() {
                a href=(links.href(&path, &[("tab", t.as_str()), ("week", &week)])) aria-current=[(*t == tab).then_some("page")] { (t.label()) }
            }
        }
        @match tab {
            AccessTab::Grades => {}
            AccessTab::Events => { (event_picker(&cv, &links, &path, Some(tab), window)) }
            _ => { (range_controls(&cv, &links, &path, range, &[("tab", tab.as_str())])) }
        }
        @if tables.is_empty() {
            p { "This course has no events yet. " a href=(links.href("/events", &[])) { "Add events" } " to compare activity before and after them." }
        }
        @for t in &tables {
            @if t.id == "over-time" {
                (figure(t, Some(over_time_chart(t, &cv, range)), &links, &path, &params))
            } @else if t.id == "event-split" {
                (figure(t, Some(bar_chart("split-chart", &t.caption, &top_level(t), &[(1, NEUTRAL), (2, SECOND)])), &links, &path, &params))
            } @else {
                (figure(t, None, &links, &path, &params))
            }
        }
    };
    Ok(course_page(&cv, &links, &path, group.title(), body).into_response())
}

/// The chart of a table's top-level rows only (folders stand for their contents).
pub fn top_level(t: &crate::analytics::Table) -> crate::analytics::Table {
    let mut top = t.clone();
    top.rows
        .retain(|r| r.tree.as_ref().is_none_or(|p| p.depth == 0));
    top
}

pub fn over_time_chart(t: &crate::analytics::Table, cv: &CourseView, range: Range) -> Markup {
    let (from, to) = cv.days(range);
    TimeChart {
        id: "over-time-chart",
        title: &t.caption,
        table: t,
        series: &[Series {
            column: 1,
            color: NEUTRAL,
        }],
        mark: Mark::Bars,
        from_day: from,
        to_day: to,
        bucket_days: if range == Range::All { 7 } else { 1 },
        cv,
    }
    .render()
}

/// A small GET form choosing the event and the window in days.
pub fn event_picker(
    cv: &CourseView,
    links: &Links,
    path: &str,
    tab: Option<AccessTab>,
    window: Option<EventWindow>,
) -> Markup {
    let Some(w) = window else { return html! {} };
    let mut choices: Vec<&crate::events::Occurrence> = Vec::new();
    for o in &cv.occurrences {
        if !choices.iter().any(|c| c.event == o.event) {
            choices.push(o);
        }
    }
    html! {
        form class="picker" method="get" action={"/courses/" (cv.course.id) (path)} {
            (links.hidden_fields(&[]))
            @if let Some(tab) = tab { input type="hidden" name="tab" value=(tab.as_str()); }
            label for="event" { "Event " }
            select id="event" name="event" {
                @for o in &choices {
                    option value=(o.event) selected[o.event == w.event] { (o.title) " (" (o.kind.label().to_lowercase()) ")" }
                }
            }
            " "
            label for="window" { "Days on each side " }
            input id="window" name="window" type="number" min="1" max=(EventWindow::MAX_DAYS) value=(w.days);
            " "
            button type="submit" { "Compare" }
        }
    }
}
