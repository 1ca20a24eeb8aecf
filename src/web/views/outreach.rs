//! The outreach page: four lists of students to contact, each with how it was computed,
//! chosen through one GET form, each a table with its CSV.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::links::Links;
use super::shell::course_page;
use super::tables::figure;
use super::{CohortQuery, TableQuery, csv_response};
use crate::AppState;
use crate::analytics::{CourseView, OutreachParams, OutreachQuery, outreach};
use crate::error::Result;
use crate::store::EpochMs;
use crate::web::session::StaffSession;

#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct PageQuery {
    #[serde(flatten)]
    choices: OutreachQuery,
    /// Download this list as CSV.
    csv: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    StaffSession(session): StaffSession,
    Query(q): Query<PageQuery>,
    Query(cq): Query<CohortQuery>,
    page: TableQuery,
) -> Result<Response> {
    let cv = CourseView::load_for(&state.store, session.course, cq.filter()).await?;
    let now = EpochMs::now();
    let p = OutreachParams::parse(&q.choices, &cv, cv.cal.day_of(now));
    let found = outreach(&state.store, &cv, p, now).await?;
    if let Some(id) = &q.csv {
        let tables: Vec<_> = found.lists.iter().map(|l| &l.table).collect();
        return csv_response(&tables, id, &cv.course.code, &page);
    }
    let links = Links::new(&session, &state.secret)
        .with_cohort(&cv.cohort.filter)
        .on_page(page);
    let days = p.inactive_days.to_string();
    let item = p.item.map(|i| i.to_string()).unwrap_or_default();
    let due = p.due_days.to_string();
    let week = p.week.map(|w| w.to_string()).unwrap_or_default();
    let drop = p.drop_pct.to_string();
    let left = if p.include_left { "1" } else { "" };
    let params = [
        ("days", days.as_str()),
        ("item", item.as_str()),
        ("due", due.as_str()),
        ("week", week.as_str()),
        ("drop", drop.as_str()),
        ("left", left),
    ];
    let max = OutreachParams::MAX_DAYS;
    let body = html! {
        p { "Students to contact, from the activity rollups, the roster and the gradebook. "
            "Each list can be downloaded as CSV for a mail merge." }
        form class="picker" method="get" action={"/courses/" (cv.course.id) "/outreach"} {
            (links.hidden_fields(&["left"]))
            p {
                label for="days" { "No activity in the last (days) " }
                input id="days" name="days" type="number" min="1" max=(max) value=(days);
            }
            p {
                label for="item" { "Has not opened " }
                select id="item" name="item" {
                    option value="" selected[p.item.is_none()] { "choose a resource or folder" }
                    @for (id, label) in &found.choices {
                        option value=(id) selected[p.item == Some(*id)] { (label) }
                    }
                }
            }
            p {
                label for="due" { "Assessments due within (days) " }
                input id="due" name="due" type="number" min="1" max=(max) value=(due);
            }
            p {
                label for="week" { "Views in week " }
                input id="week" name="week" type="number" min="2" max=(cv.cal.weeks) value=(week);
                " "
                label for="drop" { "fell by more than (%) " }
                input id="drop" name="drop" type="number" min="1" max="100" value=(drop);
            }
            p {
                input id="left" name="left" type="checkbox" value="1" checked[p.include_left];
                " "
                label for="left" { "Include students who left the course" }
            }
            button type="submit" { "Show the lists" }
        }
        @for list in &found.lists {
            section aria-labelledby={"h-" (list.table.id)} {
                h2 id={"h-" (list.table.id)} { (list.table.caption) }
                p class="how" { (list.how) }
                (figure(&list.table, None, &links, "/outreach", &params))
            }
        }
    };
    Ok(course_page(&cv, &links, "/outreach", "Outreach", body).into_response())
}
