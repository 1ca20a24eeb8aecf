//! `/admin/import`: upload an activity file into a course, with the same formats and the
//! same report as `cloop import`.

use std::io::Write;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::routing::get;
use maud::{Markup, html};

use crate::AppState;
use crate::error::{Error, Result};
use crate::ingest::import::{Format, ImportError, ImportReport, import_file};
use crate::store::CourseId;
use crate::web::layout;
use crate::web::session::AdminSession;

/// Largest upload; bigger files go through `cloop import`, which streams from disk. (The
/// server-wide request limit may be lower.)
const MAX_UPLOAD_BYTES: usize = 512 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/admin/import",
        get(form)
            .post(upload)
            .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
    )
}

fn form_markup(csrf: &str, report: Option<Markup>) -> Markup {
    layout::page(
        "Import activity",
        html! {
            h1 { "Import activity" }
            @if let Some(report) = report { (report) }
            p { "Files are read row by row; rows that cannot be read are listed with their line number and the rest is stored. Importing the same file twice stores nothing new. For files over a few hundred megabytes use " code { "cloop import" } "." }
            form method="post" action="/admin/import" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(csrf);
                p {
                    label for="course" { "Course id (cloop's number for the course)" }
                    br;
                    input id="course" name="course" type="number" min="1" required;
                }
                p {
                    label for="format" { "Format" }
                    br;
                    select id="format" name="format" {
                        @for format in Format::ALL {
                            option value=(format.as_str()) { (format.as_str()) " — " (format.describe()) }
                        }
                    }
                }
                p {
                    label for="file" { "File" }
                    br;
                    input id="file" name="file" type="file" required;
                }
                button type="submit" { "Import" }
            }
        },
    )
}

async fn form(State(state): State<AppState>, admin: AdminSession) -> Markup {
    form_markup(&admin.csrf_token(&state.secret), None)
}

/// The report as a page section.
pub fn report_markup(report: &ImportReport) -> Markup {
    html! {
        section class="report" {
            h2 { "Imported" }
            table {
                tr { th { "rows read" } td { (report.rows) } }
                tr { th { "new events" } td { (report.report.new) } }
                tr { th { "already stored" } td { (report.report.duplicate) } }
                tr { th { "rejected" } td { (report.report.rejected) } }
            }
            @for note in &report.notes {
                p class="note" { (note) }
            }
            @if !report.reasons.is_empty() {
                h3 { "Rejected rows, by reason" }
                table {
                    tr { th { "rows" } th { "reason (the first such row's)" } th { "first lines" } }
                    @for tally in &report.reasons {
                        tr {
                            td { (tally.rows) }
                            td { (tally.reason) }
                            td { (tally.first_lines.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")) }
                        }
                    }
                }
            }
        }
    }
}

async fn upload(
    State(state): State<AppState>,
    admin: AdminSession,
    mut multipart: Multipart,
) -> Result<Markup> {
    let mut csrf_checked = false;
    let mut course = None;
    let mut format = None;
    let mut file = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| Error::BadRequest(format!("the upload could not be read: {e}")))?
    {
        let name = field.name().unwrap_or_default().to_string();
        // The token comes first in the form, so nothing of a forged upload is read.
        if !csrf_checked && name != "csrf" {
            return Err(Error::forged_form());
        }
        match name.as_str() {
            "csrf" => {
                let token = field
                    .text()
                    .await
                    .map_err(|e| Error::BadRequest(e.to_string()))?;
                admin.check_csrf(&state.secret, &token)?;
                csrf_checked = true;
            }
            "course" => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| Error::BadRequest(e.to_string()))?;
                course = Some(text.trim().parse::<CourseId>().map_err(|_| {
                    Error::BadRequest(format!("course {text:?} is not a course number"))
                })?);
            }
            "format" => {
                let text = field
                    .text()
                    .await
                    .map_err(|e| Error::BadRequest(e.to_string()))?;
                format = Some(text.trim().parse::<Format>().map_err(Error::BadRequest)?);
            }
            "file" => {
                // Streamed to a temporary file, so the upload never sits in memory.
                let mut temp = tempfile::NamedTempFile::new()
                    .map_err(|e| Error::Internal(format!("temporary file: {e}")))?;
                while let Some(chunk) = field.chunk().await.map_err(|e| {
                    Error::PayloadTooLarge(format!("the upload stopped or is too large: {e}"))
                })? {
                    temp.write_all(&chunk)
                        .map_err(|e| Error::Internal(format!("temporary file: {e}")))?;
                }
                file = Some(temp);
            }
            _ => {}
        }
    }
    let (Some(course), Some(format), Some(file)) = (course, format, file) else {
        return Err(Error::BadRequest(
            "choose a course, a format and a file".into(),
        ));
    };
    state.store.course(course).await?;
    let report = import_file(
        &state.store,
        course,
        format,
        file.path(),
        state.config.session_gap,
        &|_| {},
    )
    .await
    .map_err(|e| match e {
        ImportError::Store(e) => Error::Store(e),
        other => Error::Unprocessable(other.to_string()),
    })?;
    Ok(form_markup(
        &admin.csrf_token(&state.secret),
        Some(report_markup(&report)),
    ))
}
