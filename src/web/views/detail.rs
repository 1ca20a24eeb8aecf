//! One student's and one resource's detail pages.

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::links::Links;
use super::offerings::{comparison_section, matched_note};
use super::shell::course_page_at;
use super::tables::figure;
use super::{CohortQuery, TableQuery, ViewQuery, csv_response};
use crate::AppState;
use crate::analytics::{CourseView, Range, resource_comparison, resource_detail, student_detail};
use crate::error::Result;
use crate::store::{ContentItemId, CourseId, UserId};
use crate::web::charts::{
    ASSESSMENT, COMMUNICATION, CONTENT, Mark, NEUTRAL, SECOND, Series, TimeChart, bar_chart,
};
use crate::web::session::StaffSession;

pub async fn student(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Path((_, user)): Path<(CourseId, UserId)>,
    Query(q): Query<ViewQuery>,
    Query(cq): Query<CohortQuery>,
    page: TableQuery,
) -> Result<Response> {
    let cv = CourseView::load_for(&state.store, session.course, cq.filter()).await?;
    let d = student_detail(&state.store, &cv, user).await?;
    if let Some(id) = &q.csv {
        return csv_response(
            &[&d.daily, &d.forums, &d.assessments],
            id,
            &format!("{}-student-{}", cv.course.code, user),
            &page,
        );
    }
    let links = Links::new(&session, &state.secret)
        .with_cohort(&cv.cohort.filter)
        .on_page(page);
    let path = format!("/students/{}", user);
    let (from, to) = cv.days(Range::All);
    let chart = TimeChart {
        id: "student-daily",
        title: "This student's daily page views by group, with course events",
        table: &d.daily,
        series: &[
            Series {
                column: 1,
                color: CONTENT,
            },
            Series {
                column: 2,
                color: COMMUNICATION,
            },
            Series {
                column: 3,
                color: ASSESSMENT,
            },
        ],
        mark: Mark::Bars,
        from_day: from,
        to_day: to,
        bucket_days: 1,
        cv: &cv,
    }
    .render();
    let body = html! {
        p { "Identifier: " (d.identifier) }
        p { "Roles: " (if d.roles.is_empty() { "none recorded" } else { &d.roles }) }
        (figure(&d.daily, Some(chart), &links, &path, &[]))
        (figure(&d.forums, None, &links, &path, &[]))
        (figure(&d.assessments, None, &links, &path, &[]))
    };
    // One student's own numbers: the filter has nothing to narrow, its links keep it.
    Ok(course_page_at(&cv, &links, "/students", None, &d.name, body).into_response())
}

pub async fn resource(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Path((_, item)): Path<(CourseId, ContentItemId)>,
    Query(q): Query<ViewQuery>,
    Query(cq): Query<CohortQuery>,
    page: TableQuery,
) -> Result<Response> {
    let cv = CourseView::load_for(&state.store, session.course, cq.filter()).await?;
    let d = resource_detail(&state.store, &cv, item).await?;
    let offerings = resource_comparison(&state.store, &cv, item, session.user).await?;
    if let Some(id) = &q.csv {
        let mut tables = vec![&d.daily, &d.histogram, &d.not_opened];
        tables.extend(offerings.as_ref().map(|o| &o.comparison.table));
        return csv_response(
            &tables,
            id,
            &format!("{}-resource-{}", cv.course.code, item),
            &page,
        );
    }
    let links = Links::new(&session, &state.secret)
        .with_cohort(&cv.cohort.filter)
        .on_page(page);
    let path = format!("/resources/{}", item);
    let (from, to) = cv.days(Range::All);
    let chart = TimeChart {
        id: "resource-daily",
        title: "Daily page views and unique students of this resource, with course events",
        table: &d.daily,
        series: &[
            Series {
                column: 1,
                color: NEUTRAL,
            },
            Series {
                column: 2,
                color: SECOND,
            },
        ],
        mark: Mark::Lines,
        from_day: from,
        to_day: to,
        bucket_days: 1,
        cv: &cv,
    }
    .render();
    let back = format!("/{}", d.item.item_group);
    let body = html! {
        p { "Group: " a href=(links.href(&back, &[])) { (d.item.item_group) } }
        (figure(&d.daily, Some(chart), &links, &path, &[]))
        (figure(&d.histogram, Some(bar_chart("resource-histogram", &d.histogram.caption, &d.histogram, &[(1, NEUTRAL)])), &links, &path, &[]))
        (figure(&d.not_opened, None, &links, &path, &[]))
        @if let Some(o) = &offerings {
            (comparison_section(&o.comparison, &links, &path, &[], Some(matched_note(o))))
        }
    };
    Ok(course_page_at(&cv, &links, &back, Some(&path), &d.item.title, body).into_response())
}
