//! The course dashboard — and, for a learner, the page explaining cloop is for staff.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::links::Links;
use super::offerings::comparison_section;
use super::shell::{course_page, range_controls};
use super::tables::figure;
use super::{CohortQuery, TableQuery, ViewQuery, csv_response};
use crate::AppState;
use crate::analytics::{CourseView, Range, dashboard, offering_comparison};
use crate::error::Result;
use crate::web::charts::{
    ASSESSMENT, COMMUNICATION, CONTENT, Mark, NEUTRAL, Series, TimeChart, bar_chart,
};
use crate::web::layout;
use crate::web::session::CourseSession;

pub async fn page(
    State(state): State<AppState>,
    session: CourseSession,
    Query(q): Query<ViewQuery>,
    Query(cq): Query<CohortQuery>,
    page: TableQuery,
) -> Result<Response> {
    if !session.staff {
        return Ok((StatusCode::FORBIDDEN, learner_page()).into_response());
    }
    let cv = CourseView::load_for(&state.store, session.course, cq.filter()).await?;
    let range = Range::parse(q.week.as_deref(), cv.cal.weeks);
    let d = dashboard(&state.store, &cv, range).await?;
    let offerings = offering_comparison(&state.store, &cv, session.user).await?;
    if let Some(id) = &q.csv {
        let mut tables = vec![
            &d.daily,
            &d.histogram,
            &d.top_content,
            &d.top_communication,
            &d.visitors,
            &d.top_assessment,
        ];
        tables.extend(offerings.as_ref().map(|o| &o.table));
        return csv_response(&tables, id, &cv.course.code, &page);
    }
    let links = Links::new(&session, &state.secret)
        .with_cohort(&cv.cohort.filter)
        .on_page(page);
    let week = range.query_value();
    let params = [("week", week.as_str())];
    let (from, to) = cv.days(range);
    let views_chart = TimeChart {
        id: "daily-views",
        title: "Daily page views by group, with course events",
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
    let active_chart = TimeChart {
        id: "daily-students",
        title: "Active students per day, with course events",
        table: &d.daily,
        series: &[Series {
            column: 5,
            color: NEUTRAL,
        }],
        mark: Mark::Lines,
        from_day: from,
        to_day: to,
        bucket_days: 1,
        cv: &cv,
    }
    .render();
    let rest_grant = crate::web::blackboard_auth::notice(
        &state,
        &session,
        &links.href("/blackboard/authorize", &[]),
    )
    .await?;
    let body = html! {
        (rest_grant)
        (range_controls(&cv, &links, "", range, &[]))
        (figure(&d.daily, Some(html! { (views_chart) (active_chart) }), &links, "", &params))
        (figure(&d.histogram, Some(bar_chart("histogram-chart", "Students by page views", &d.histogram, &[(1, NEUTRAL)])), &links, "", &params))
        div class="grid" {
            (figure(&d.top_content, None, &links, "", &params))
            (figure(&d.top_communication, None, &links, "", &params))
            (figure(&d.visitors, None, &links, "", &params))
            (figure(&d.top_assessment, None, &links, "", &params))
        }
        @if let Some(o) = &offerings { (comparison_section(o, &links, "", &params, None)) }
    };
    Ok(course_page(&cv, &links, "", "Course dashboard", body).into_response())
}

fn learner_page() -> maud::Markup {
    layout::page(
        "For course staff",
        html! {
            div class="error" {
                h1 { "cloop is for course staff" }
                p { "cloop shows instructors and tutors how the course is used, so they can improve it. "
                    "It has no pages for students, and shows no course data to them." }
                p { "If you teach this course, ask your LMS administrator to give you an instructor or "
                    "teaching assistant role, then open cloop again from the course." }
            }
        },
    )
}
