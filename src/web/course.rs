//! The course landing page a launch redirects to: staff see the course, learners a short
//! explanation that cloop is for course staff.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use maud::{Markup, html};

use crate::AppState;
use crate::error::Result;
use crate::web::layout;
use crate::web::session::CourseSession;

pub fn router() -> Router<AppState> {
    Router::new().route("/courses/{course}", get(course_home))
}

async fn course_home(State(state): State<AppState>, session: CourseSession) -> Result<Markup> {
    let course = state.store.course(session.course).await?;
    if !session.staff {
        return Ok(layout::page(
            "cloop",
            html! {
                h1 { "cloop is for course staff" }
                p { "cloop shows instructors and teaching assistants how the class uses " (course.title) ". It has nothing to show students, so there is nothing more here for you." }
            },
        ));
    }
    let sources = crate::lti::services::status(&state.store, course.id).await?;
    Ok(layout::page(
        &course.title,
        html! {
            h1 { (course.title) }
            p class="muted" { (course.code) }
            (data_source_status(&sources))
        },
    ))
}

/// The LTI services' data-source status lines, for staff; nothing when none was read.
pub fn data_source_status(sources: &[crate::lti::services::DataSourceStatus]) -> Markup {
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
