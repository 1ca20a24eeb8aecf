//! A `Table` as HTML (plain, heat map or tree) with sorting headers and a search box, inside
//! a figure with its chart, a toggle to show the numbers, and a CSV download.

use std::fmt::Write;

use maud::{Markup, Render, html};

use super::links::Links;
use super::table_query::search_key;
use crate::analytics::{Cell, Search, Sort, Table, TableView};

/// The table as the page's query sorts and searches it, under its search form and a note
/// saying what the sort and search did (`chart`: a chart above shows the same rows).
fn arranged(t: &Table, links: &Links, chart: bool) -> Markup {
    let view = links.page.view(&t.id);
    let shown = view.apply(t);
    html! {
        (search(t, links, &view))
        (notes(t, links, &view, shown.rows.len(), chart))
        (table(t, &shown, links, view.sort_of(t)))
    }
}

/// Renders the rows of `shown` (`t` sorted and searched); tree rows get expand/collapse
/// buttons (enabled by the script). The heat map keeps the scale of all rows.
fn table(t: &Table, shown: &Table, links: &Links, sort: Option<Sort>) -> Markup {
    let max = t.heat_max();
    let tree = shown.rows.iter().any(|r| r.tree.is_some());
    html! {
        div class="table-wrap" {
            table id={"table-" (t.id)} class=[tree.then_some("tree")] {
                caption { (t.caption) }
                (header(t, links, sort))
                tbody {
                    @for row in &shown.rows {
                        @let (node, parent, depth, folder) = row.tree.as_ref().map(|p| (Some(p.id), p.parent, p.depth, p.folder)).unwrap_or((None, None, 0, false));
                        tr data-node=[node] data-parent=[parent] {
                            @for (i, cell) in row.cells.iter().enumerate() {
                                @if i == 0 {
                                    th scope="row" class={"depth-" (depth.min(8))} {
                                        @if folder {
                                            button type="button" class="twisty" aria-expanded="true" hidden aria-label="Collapse or expand" { "▾" }
                                        }
                                        (CellMarkup(cell, links))
                                    }
                                } @else {
                                    td class=(heat_class(t, i, cell, max)) { (CellMarkup(cell, links)) }
                                }
                            }
                        }
                    }
                }
                @if let Some(totals) = &shown.totals {
                    tfoot { tr {
                        @for (i, cell) in totals.iter().enumerate() {
                            @if i == 0 { th scope="row" { (cell) } } @else { td class="num" { (cell) } }
                        }
                    } }
                }
            }
        }
    }
}

/// The header row: each column's name links to the table sorted by it, ascending first and
/// descending on a second click; the sorted column carries `aria-sort`.
pub fn header(t: &Table, links: &Links, sort: Option<Sort>) -> Markup {
    html! {
        thead { tr {
            @for (i, c) in t.columns.iter().enumerate() {
                @let state = sort.filter(|s| s.column == i).map(|s| if s.descending { "descending" } else { "ascending" });
                th scope="col" class=[(i > 0).then_some("num")] aria-sort=[state] {
                    a href=(links.page.sort_href(links, &t.id, Some(Sort::after_click(sort, i)))) { (c) }
                }
            }
        } }
    }
}

/// A GET form searching the table, no script needed.
pub fn search(t: &Table, links: &Links, view: &TableView) -> Markup {
    let (action, fields) = links.page.search_form(links, &t.id);
    let input = format!("q-{}", t.id);
    html! {
        form class="search" method="get" action=(action) role="search" aria-label={"Search " (t.caption)} {
            @for (name, value) in &fields { input type="hidden" name=(name) value=(value); }
            label for=(input) { "Search this table " }
            input type="search" id=(input) name=(search_key(&t.id)) value=(view.search.text()) maxlength=(Search::MAX_CHARS);
            " "
            button type="submit" { "Search" }
            @if !view.search.is_empty() {
                " " a href=(links.page.clear_search_href(links, &t.id)) { "Clear the search" }
            }
        }
    }
}

/// What the sort and search did, and the rules they follow.
pub fn notes(t: &Table, links: &Links, view: &TableView, shown: usize, chart: bool) -> Markup {
    if view.is_plain(t) {
        return html! {};
    }
    let tree = t.rows.iter().any(|r| r.tree.is_some());
    let series = t.rows.iter().any(|r| r.day.is_some());
    html! {
        p class="note" {
            @if let Some(sort) = view.sort_of(t) {
                "Sorted by “" (t.columns[sort.column]) "”, " (if sort.descending { "descending" } else { "ascending" })
                ": numbers by value, text ignoring case, blanks last, equal values in the table’s own order"
                (if series && sort.column == 0 { "; periods by date" } else { "" }) ". "
                a href=(links.page.sort_href(links, &t.id, None)) { "Show in the table’s own order" } ". "
            }
            @if !view.search.is_empty() {
                (shown) " of " (t.rows.len()) " rows hold every word of “" (view.search.text()) "” (each word in any column)"
                (if t.totals.is_some() { "; the totals row is still of all rows" } else { "" }) ". "
            }
            @if tree { "A sorted or searched tree is shown as a flat list; a folder’s numbers include all it holds. " }
            @if chart { "The chart shows every row in the table’s own order." }
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

/// A cell as shown in a table: a resource or a student as a link to their page. Written
/// straight into the table's markup, as a table can hold thousands of them.
struct CellMarkup<'a>(&'a Cell, &'a Links);

impl Render for CellMarkup<'_> {
    fn render_to(&self, buffer: &mut String) {
        let CellMarkup(cell, links) = *self;
        let link = |buffer: &mut String, path: String, text: &str| {
            html! { a href=(links.href(&path, &[])) { (text) } }.render_to(buffer)
        };
        match cell {
            Cell::Item(id, title) => link(buffer, format!("/resources/{id}"), title),
            Cell::Student(id, name) => link(buffer, format!("/students/{id}"), name),
            other => {
                // Writing to a `String` cannot fail.
                let _ = write!(maud::Escaper::new(buffer), "{other}");
            }
        }
    }
}

/// A figure: caption, the chart (if any), the table behind a toggle (open while sorted or
/// searched), and a CSV link that carries the table's sort and search.
pub fn figure(
    t: &Table,
    chart: Option<Markup>,
    links: &Links,
    path: &str,
    params: &[(&str, &str)],
) -> Markup {
    let open = !links.page.view(&t.id).is_plain(t);
    let own = links.page.own_params(&t.id);
    let mut csv: Vec<(&str, &str)> = params.to_vec();
    csv.push(("csv", &t.id));
    csv.extend(own.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    html! {
        figure class="figure" id={"fig-" (t.id)} {
            @if let Some(chart) = chart {
                figcaption { (t.caption) }
                (chart)
                details class="numbers" open[open] {
                    summary { "Show the numbers as a table" }
                    (arranged(t, links, true))
                }
            } @else {
                (arranged(t, links, false))
            }
            p class="downloads" {
                a href=(links.href(path, &csv)) download { "Download CSV" }
            }
        }
    }
}
