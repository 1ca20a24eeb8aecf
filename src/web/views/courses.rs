//! The course list: every course the person teaches now, each linked with a session of its
//! own that ends when the current one ends.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::links::Links;
use super::shell::course_page;
use super::{ViewQuery, csv_response};
use crate::AppState;
use crate::analytics::{Cell, CourseView, course_list};
use crate::error::Result;
use crate::web::session::StaffSession;

pub async fn list(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Query(q): Query<ViewQuery>,
) -> Result<Response> {
    let (table, courses) = course_list(&state.store, session.user).await?;
    let cv = CourseView::load(&state.store, session.course).await?;
    if let Some(id) = &q.csv {
        return csv_response(&[&table], id, "courses");
    }
    let links = Links::new(&session, &state.secret);
    let body = html! {
        p { "The courses in which you hold a staff role." }
        div class="table-wrap" {
            table id="table-courses" {
                caption { (table.caption) }
                thead { tr { @for c in &table.columns { th scope="col" { (c) } } } }
                tbody {
                    // `course_list` makes one row per course, in the order of `courses`.
                    @for (row, course) in table.rows.iter().zip(&courses) {
                        tr {
                            @for cell in &row.cells {
                                @match cell {
                                    Cell::Course(id, title) => {
                                        // The person is active staff there too (the list holds
                                        // only such courses), so the link carries a staff session
                                        // for it that expires with this one.
                                        @let token = session.in_course(course).token(&state.secret);
                                        td { a href={"/courses/" (id) "?s=" (token)} { (if title.is_empty() { "(untitled)" } else { title }) } }
                                    }
                                    other => td { (other.text()) },
                                }
                            }
                        }
                    }
                }
            }
        }
        p class="downloads" { a href=(links.href("/courses", &[("csv", "courses")])) download { "Download CSV" } }
    };
    Ok(course_page(&cv, &links, "/courses", "Your courses", body).into_response())
}
