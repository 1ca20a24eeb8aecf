//! The instructor views (every Loop view): course list, dashboard, content, communication
//! and assessment access, event comparison, students, outreach lists, student and resource
//! detail, events and course settings. Handlers ask `analytics` for tables and draw them.

mod access;
mod courses;
mod dashboard;
mod detail;
mod events;
mod links;
mod offerings;
mod outreach;
mod settings;
mod shell;
mod students;
mod table_query;
mod tables;

pub use links::{Links, check_csrf, csrf_token};
use table_query::TableQuery;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use crate::AppState;
use crate::analytics::{CohortFilter, Table};
use crate::error::Error;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/courses/{course}", get(dashboard::page))
        .route("/courses/{course}/courses", get(courses::list))
        .route("/courses/{course}/help", get(shell::help))
        .route("/courses/{course}/content", get(access::content))
        .route(
            "/courses/{course}/communication",
            get(access::communication),
        )
        .route("/courses/{course}/assessment", get(access::assessment))
        .route("/courses/{course}/comparison", get(students::comparison))
        .route("/courses/{course}/students", get(students::list))
        .route("/courses/{course}/outreach", get(outreach::page))
        .route("/courses/{course}/students/{user}", get(detail::student))
        .route("/courses/{course}/resources/{item}", get(detail::resource))
        .route(
            "/courses/{course}/events",
            get(events::list).post(events::create),
        )
        .route(
            "/courses/{course}/events/{event}",
            get(events::edit).post(events::update),
        )
        .route(
            "/courses/{course}/events/{event}/delete",
            post(events::delete),
        )
        .route(
            "/courses/{course}/events/{event}/hidden",
            post(events::set_hidden),
        )
        .route(
            "/courses/{course}/settings",
            get(settings::show).post(settings::save),
        )
        .route(
            "/courses/{course}/settings/previous",
            post(offerings::save_previous),
        )
}

/// The query parameters the views share.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ViewQuery {
    pub week: Option<String>,
    pub tab: Option<String>,
    pub event: Option<String>,
    pub window: Option<String>,
    /// Hours (or `Nd` days) before and from the event on the event comparison.
    pub before: Option<String>,
    pub after: Option<String>,
    /// Download this table of the page as CSV.
    pub csv: Option<String>,
}

/// The cohort filter of a course page (`group`, `role`, `left`), kept on every link.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct CohortQuery {
    pub group: Option<String>,
    pub role: Option<String>,
    pub left: Option<String>,
}

impl CohortQuery {
    pub fn filter(&self) -> CohortFilter {
        CohortFilter::parse(
            self.group.as_deref(),
            self.role.as_deref(),
            self.left.as_deref(),
        )
    }
}

/// The named table of a page as a CSV download, sorted and searched as the page shows it.
fn csv_response(
    tables: &[&Table],
    id: &str,
    name: &str,
    page: &TableQuery,
) -> Result<Response, Error> {
    let table = tables
        .iter()
        .find(|t| t.id == id)
        .ok_or(Error::NotFound("table"))?;
    let shown = page.view(id).apply(table);
    let filename: String = format!("{name}-{}.csv", table.id)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        shown.to_csv(),
    )
        .into_response())
}
