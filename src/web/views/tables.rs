//! A `Table` as HTML (plain, heat map or tree), inside a figure with its chart, a toggle
//! to show the numbers, and a CSV download.

use maud::{Markup, html};

use super::links::Links;
use crate::analytics::{Cell, Table};

/// Renders a table; tree rows get expand/collapse buttons (enabled by the script).
pub fn table(t: &Table, links: &Links) -> Markup {
    let max = t.heat_max();
    let tree = t.rows.iter().any(|r| r.tree.is_some());
    html! {
        div class="table-wrap" {
            table id={"table-" (t.id)} class=[tree.then_some("tree")] {
                caption { (t.caption) }
                thead { tr {
                    @for (i, c) in t.columns.iter().enumerate() {
                        th scope="col" class=[(i > 0).then_some("num")] { (c) }
                    }
                } }
                tbody {
                    @for row in &t.rows {
                        @let (node, parent, depth, folder) = row.tree.as_ref().map(|p| (Some(p.id), p.parent, p.depth, p.folder)).unwrap_or((None, None, 0, false));
                        tr data-node=[node] data-parent=[parent] {
                            @for (i, cell) in row.cells.iter().enumerate() {
                                @if i == 0 {
                                    th scope="row" class={"depth-" (depth.min(8))} {
                                        @if folder {
                                            button type="button" class="twisty" aria-expanded="true" hidden aria-label="Collapse or expand" { "▾" }
                                        }
                                        (cell_markup(cell, links))
                                    }
                                } @else {
                                    td class=(heat_class(t, i, cell, max)) { (cell_markup(cell, links)) }
                                }
                            }
                        }
                    }
                }
                @if let Some(totals) = &t.totals {
                    tfoot { tr {
                        @for (i, cell) in totals.iter().enumerate() {
                            @if i == 0 { th scope="row" { (cell.text()) } } @else { td class="num" { (cell.text()) } }
                        }
                    } }
                }
            }
        }
    }
}

fn heat_class(t: &Table, col: usize, cell: &Cell, max: f64) -> String {
    let mut class = String::from("num");
    if let Some((from, to)) = t.heat
        && (from..to).contains(&col)
        && max > 0.0
    {
        let level = ((cell.value() / max) * 5.0).ceil() as i64;
        class.push_str(&format!(" heat-{}", level.clamp(0, 5)));
    }
    class
}

pub fn cell_markup(cell: &Cell, links: &Links) -> Markup {
    match cell {
        Cell::Item(id, title) => {
            html! { a href=(links.href(&format!("/resources/{id}"), &[])) { (title) } }
        }
        Cell::Student(id, name) => {
            html! { a href=(links.href(&format!("/students/{id}"), &[])) { (name) } }
        }
        other => html! { (other.text()) },
    }
}

/// A figure: caption, the chart (if any), the table behind a toggle, and a CSV link.
pub fn figure(
    t: &Table,
    chart: Option<Markup>,
    links: &Links,
    path: &str,
    params: &[(&str, &str)],
) -> Markup {
    let mut csv: Vec<(&str, &str)> = params.to_vec();
    csv.push(("csv", &t.id));
    html! {
        figure class="figure" id={"fig-" (t.id)} {
            @if let Some(chart) = chart {
                figcaption { (t.caption) }
                (chart)
                details class="numbers" {
                    summary { "Show the numbers as a table" }
                    (table(t, links))
                }
            } @else {
                (table(t, links))
            }
            p class="downloads" {
                a href=(links.href(path, &csv)) download { "Download CSV" }
            }
        }
    }
}
