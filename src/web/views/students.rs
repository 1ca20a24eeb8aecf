//! The students heat map (with the per-student event split) and the event comparison, by
//! days and by hours.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

use super::access::{event_picker, over_time_chart};
use super::links::Links;
use super::shell::{course_page, range_controls};
use super::tables::figure;
use super::{CohortQuery, TableQuery, ViewQuery, csv_response};
use crate::AppState;
use crate::analytics::{
    AccessTab, CourseView, EventWindow, HourWindow, Hours, Range, Table, comparison as compare,
    hour_windows, students,
};
use crate::error::Result;
use crate::events::EventKind;
use crate::web::charts::{NEUTRAL, SECOND, bar_chart};
use crate::web::session::StaffSession;

pub async fn list(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Query(q): Query<ViewQuery>,
    Query(cq): Query<CohortQuery>,
    page: TableQuery,
) -> Result<Response> {
    let cv = CourseView::load_for(&state.store, session.course, cq.filter()).await?;
    let range = Range::parse(q.week.as_deref(), cv.cal.weeks);
    let events_tab = q.tab.as_deref() == Some("events");
    let window = EventWindow::parse(q.event.as_deref(), q.window.as_deref(), &cv);
    let tables = students(&state.store, &cv, range, window.filter(|_| events_tab)).await?;
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
    let week = range.query_value();
    let (event, days) = window
        .map(|w| (w.event.to_string(), w.days.to_string()))
        .unwrap_or_default();
    let params: Vec<(&str, &str)> = if events_tab {
        vec![("tab", "events"), ("event", &event), ("window", &days)]
    } else {
        vec![("week", &week)]
    };
    let body = html! {
        nav class="tabs" aria-label="Tabs" {
            a href=(links.href("/students", &[("week", &week)])) aria-current=[(!events_tab).then_some("page")] { "Page views" }
            a href=(links.href("/students", &[("tab", "events")])) aria-current=[events_tab.then_some("page")] { "Events" }
        }
        @if events_tab {
            @if window.is_none() {
                p { "This course has no events yet. " a href=(links.href("/events", &[])) { "Add events" } "." }
            }
            (event_picker(&cv, &links, "/students", Some(AccessTab::Events), window))
        } @else {
            (range_controls(&cv, &links, "/students", range, &[]))
        }
        @for t in &tables {
            @if t.id == "over-time" {
                (figure(t, Some(over_time_chart(t, &cv, range)), &links, "/students", &params))
            } @else {
                (figure(t, None, &links, "/students", &params))
            }
        }
    };
    Ok(course_page(&cv, &links, "/students", "Students", body).into_response())
}

pub async fn comparison(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Query(q): Query<ViewQuery>,
    Query(cq): Query<CohortQuery>,
    page: TableQuery,
) -> Result<Response> {
    let cv = CourseView::load_for(&state.store, session.course, cq.filter()).await?;
    let window = EventWindow::parse(q.event.as_deref(), q.window.as_deref(), &cv);
    let hours = HourWindow::parse(
        q.event.as_deref(),
        q.before.as_deref(),
        q.after.as_deref(),
        &cv,
    );
    let by_day = match window {
        Some(w) => Some(compare(&state.store, &cv, w).await?),
        None => None,
    };
    let by_hour = match hours {
        Some(h) => hour_windows(&state.store, &cv, h).await?,
        None => Vec::new(),
    };
    if let Some(id) = &q.csv {
        let tables: Vec<&Table> = by_day.iter().chain(&by_hour).collect();
        return csv_response(&tables, id, &cv.course.code, &page);
    }
    let links = Links::new(&session, &state.secret)
        .with_cohort(&cv.cohort.filter)
        .on_page(page);
    let unlinked_submission = hours.is_some_and(|h| {
        cv.occurrences
            .iter()
            .any(|o| o.event == h.event && o.kind == EventKind::Submission)
    }) && !by_hour.iter().any(|t| t.id == "opened-after-due");
    let (event, days) = window
        .map(|w| (w.event.to_string(), w.days.to_string()))
        .unwrap_or_default();
    let (before, after) = hours
        .map(|h| {
            (
                format!("{}h", h.before.get()),
                format!("{}h", h.after.get()),
            )
        })
        .unwrap_or_default();
    let params = [
        ("event", event.as_str()),
        ("window", days.as_str()),
        ("before", before.as_str()),
        ("after", after.as_str()),
    ];
    let body = html! {
        p { "For each occurrence of an event: page views in the days before it, against the days from it on, "
            "and by the hour: the students' views in the hours before it against the hours from it on. "
            "For a submission, the due time is the event." }
        @if window.is_none() {
            p { "This course has no events yet. " a href=(links.href("/events", &[])) { "Add events" } " to compare activity around them." }
        }
        (event_picker(&cv, &links, "/comparison", None, window))
        @if let Some(t) = &by_day {
            (figure(t, Some(bar_chart("comparison-chart", &t.caption, t, &[(1, NEUTRAL), (2, SECOND)])), &links, "/comparison", &params))
        }
        @if let Some(h) = hours {
            h2 { "In hours" }
            (hours_picker(&cv, &links, h, &days))
            p class="note" { "Windows are half-open: “" (h.before.get()) " h before” runs from exactly "
                (h.before.get()) " h before the event up to, not including, the event; “"
                (h.after.get()) " h from the event” starts at the event itself and ends just before "
                (h.after.get()) " h after it. A view in the windows of two occurrences counts for each." }
        }
        @if unlinked_submission {
            p class="note" { "This submission is not linked to an assessment in the gradebook, so who first opened it after it was due cannot be told." }
        }
        @for t in &by_hour {
            @if t.id == "hours" {
                (figure(t, Some(bar_chart("hours-chart", &t.caption, t, &[(1, NEUTRAL), (2, SECOND)])), &links, "/comparison", &params))
            } @else {
                (figure(t, None, &links, "/comparison", &params))
            }
        }
    };
    Ok(course_page(&cv, &links, "/comparison", "Event comparison", body).into_response())
}

/// A GET form choosing the hours before and from the event (the event stays chosen).
fn hours_picker(cv: &CourseView, links: &Links, h: HourWindow, days: &str) -> Markup {
    html! {
        form class="picker" method="get" action={"/courses/" (cv.course.id) "/comparison"} {
            (links.hidden_fields(&[]))
            input type="hidden" name="event" value=(h.event);
            input type="hidden" name="window" value=(days);
            label for="before" { "Hours before " }
            input id="before" name="before" type="number" min="1" max=(Hours::MAX) value=(h.before.get());
            " "
            label for="after" { "Hours from the event " }
            input id="after" name="after" type="number" min="1" max=(Hours::MAX) value=(h.after.get());
            " "
            button type="submit" { "Compare" }
        }
    }
}
