//! The course list: every course the person teaches now, each linked with a session of its
//! own that ends when the current one ends.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::links::Links;
use super::shell::course_page;
use super::tables::{header, notes, search};
use super::{TableQuery, ViewQuery, csv_response};
use crate::AppState;
use crate::analytics::{Cell, CourseView, course_list};
use crate::error::Result;
use crate::store::courses::Course;
use crate::web::session::StaffSession;

pub async fn list(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Query(q): Query<ViewQuery>,
    page: TableQuery,
) -> Result<Response> {
    let (table, courses) = course_list(&state.store, session.user).await?;
    let cv = CourseView::load(&state.store, session.course).await?;
    if let Some(id) = &q.csv {
        return csv_response(&[&table], id, "courses", &page);
    }
    let links = Links::new(&session, &state.secret).on_page(page);
    let view = links.page.view(&table.id);
    let shown = view.apply(&table);
    let mut csv = vec![("csv".to_string(), table.id.clone())];
    csv.extend(links.page.own_params(&table.id));
    let csv: Vec<(&str, &str)> = csv.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let body = html! {
        p { "The courses in which you hold a staff role." }
        (search(&table, &links, &view))
        (notes(&table, &links, &view, shown.rows.len(), false))
        div class="table-wrap" {
            table id="table-courses" {
                caption { (table.caption) }
                (header(&table, &links, view.sort_of(&table)))
                tbody {
                    @for row in &shown.rows {
                        tr {
                            @for cell in &row.cells {
                                @match (cell, course_of(cell, &courses)) {
                                    (Cell::Course(id, title), Some(course)) => {
                                        // The person is active staff there too (the list holds
                                        // only such courses), so the link carries a staff session
                                        // for it that expires with this one.
                                        @let token = session.in_course(course).token(&state.secret);
                                        td { a href={"/courses/" (id) "?s=" (token)} { (if title.is_empty() { "(untitled)" } else { title }) } }
                                    }
                                    (other, _) => td { (other.text()) },
                                }
                            }
                        }
                    }
                }
            }
        }
        p class="downloads" { a href=(links.href("/courses", &csv)) download { "Download CSV" } }
    };
    Ok(course_page(&cv, &links, "/courses", "Your courses", body).into_response())
}

/// The course a course cell links to (`course_list` makes one per course of the list).
fn course_of<'a>(cell: &Cell, courses: &'a [Course]) -> Option<&'a Course> {
    match cell {
        Cell::Course(id, _) => courses.iter().find(|c| c.id == *id),
        _ => None,
    }
}
