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
    Ok(layout::page(
        &course.title,
        html! {
            h1 { (course.title) }
            p class="muted" { (course.code) }
        },
    ))
}
