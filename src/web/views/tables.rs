//! A `Table` as HTML (plain, heat map or tree) with sorting headers and a search box, inside
//! a figure with its chart, a toggle to show the numbers, and a CSV download.

use std::fmt::Write;

use maud::{Markup, Render, html};

use super::links::Links;
use super::table_query::search_key;
use crate::analytics::{Cell, Search, Sort, Table, TableView};

/// The table as the page's query sorts and searches it, under its search form and a note
/// saying what the sort and search did (`chart`: a chart above shows the same rows).
/// Written straight into the figure's markup, as are the table and its rows: a table can
/// hold thousands of rows, and each markup made on its own is copied into the next.
struct Arranged<'a> {
    t: &'a Table,
    links: &'a Links,
    chart: bool,
}

impl Render for Arranged<'_> {
    fn render_to(&self, out: &mut String) {
        let Self { t, links, chart } = *self;
        let view = links.page.view(&t.id);
        let shown = view.apply(t);
        search(t, links, &view).render_to(out);
        notes(t, links, &view, shown.rows.len(), chart).render_to(out);
        TableMarkup {
            t,
            shown: &shown,
            links,
            sort: view.sort_of(t),
        }
        .render_to(out);
    }
}

/// The rows of `shown` (`t` sorted and searched); tree rows get expand/collapse buttons
/// (enabled by the script). The heat map keeps the scale of all rows.
struct TableMarkup<'a> {
    t: &'a Table,
    shown: &'a Table,
    links: &'a Links,
    sort: Option<Sort>,
}

impl Render for TableMarkup<'_> {
    fn render_to(&self, out: &mut String) {
        let Self {
            t,
            shown,
            links,
            sort,
        } = *self;
        let tree = shown.rows.iter().any(|r| r.tree.is_some());
        out.push_str("<div class=\"table-wrap\"><table id=\"table-");
        escaped(out, &t.id);
        out.push_str(if tree { "\" class=\"tree\">" } else { "\">" });
        html! { caption { (t.caption) } (header(t, links, sort)) }.render_to(out);
        out.push_str("<tbody>");
        let max = t.heat_max();
        // Every link of a cell has the same query: escaped once.
        let mut query = String::from("?");
        escaped(&mut query, links.plain_query());
        let rows_start = out.len();
        for (n, row) in shown.rows.iter().enumerate() {
            if n == 1 {
                // Room for the rest, by the first row's length: one allocation for a table
                // of thousands of rows rather than one per doubling, each copying it all.
                let first = out.len() - rows_start;
                out.reserve(first * (shown.rows.len() - 1) * 9 / 8);
            }
            out.push_str("<tr");
            if let Some(pos) = &row.tree {
                let _ = write!(out, " data-node=\"{}\"", pos.id);
                if let Some(parent) = pos.parent {
                    let _ = write!(out, " data-parent=\"{parent}\"");
                }
            }
            out.push('>');
            for (i, cell) in row.cells.iter().enumerate() {
                if i == 0 {
                    let (depth, folder) = row
                        .tree
                        .as_ref()
                        .map_or((0, false), |p| (p.depth, p.folder));
                    out.push_str("<th scope=\"row\" class=\"depth-");
                    out.push_str(itoa::Buffer::new().format(depth.min(8)));
                    out.push_str("\">");
                    if folder {
                        out.push_str(TWISTY);
                    }
                    cell_markup(out, cell, links, &query);
                    out.push_str("</th>");
                } else {
                    out.push_str("<td class=\"");
                    out.push_str(heat_class(t, i, cell, max));
                    out.push_str("\">");
                    cell_markup(out, cell, links, &query);
                    out.push_str("</td>");
                }
            }
            out.push_str("</tr>");
        }
        out.push_str("</tbody>");
        if let Some(totals) = &shown.totals {
            html! {
                tfoot { tr {
                    @for (i, cell) in totals.iter().enumerate() {
                        @if i == 0 { th scope="row" { (cell) } } @else { td class="num" { (cell) } }
                    }
                } }
            }
            .render_to(out);
        }
        out.push_str("</table></div>");
    }
}

/// A tree row's expand/collapse button.
const TWISTY: &str = "<button type=\"button\" class=\"twisty\" aria-expanded=\"true\" hidden \
    aria-label=\"Collapse or expand\">▾</button>";

/// `text` escaped for HTML, onto `out`.
fn escaped(out: &mut String, text: &str) {
    // Writing to a `String` cannot fail.
    let _ = maud::Escaper::new(out).write_str(text);
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

fn heat_class(t: &Table, col: usize, cell: &Cell, max: f64) -> &'static str {
    const LEVELS: [&str; 6] = [
        "num heat-0",
        "num heat-1",
        "num heat-2",
        "num heat-3",
        "num heat-4",
        "num heat-5",
    ];
    match t.heat {
        Some((from, to)) if (from..to).contains(&col) && max > 0.0 => {
            let level = ((cell.value() / max) * 5.0).ceil() as i64;
            LEVELS[level.clamp(0, 5) as usize]
        }
        _ => "num",
    }
}

/// A cell as shown in a table: a resource or a student as a link to their page (`query`:
/// the escaped query every such link carries).
fn cell_markup(out: &mut String, cell: &Cell, links: &Links, query: &str) {
    let (kind, id, text) = match cell {
        Cell::Item(id, title) => ("resources", id.0, title),
        Cell::Student(id, name) => ("students", id.0, name),
        Cell::Text(text) | Cell::Course(_, text) => return escaped(out, text),
        // Numbers hold nothing to escape.
        Cell::Int(n) => return out.push_str(itoa::Buffer::new().format(*n)),
        other => {
            // Writing to a `String` cannot fail.
            let _ = write!(out, "{other}");
            return;
        }
    };
    let mut number = itoa::Buffer::new();
    out.push_str("<a href=\"/courses/");
    out.push_str(number.format(links.course.0));
    out.push('/');
    out.push_str(kind);
    out.push('/');
    out.push_str(number.format(id));
    out.push_str(query);
    out.push_str("\">");
    escaped(out, text);
    out.push_str("</a>");
}

/// A figure: caption, the chart (if any), the table behind a toggle (open while sorted or
/// searched), and a CSV link that carries the table's sort and search. Written where the
/// page puts it, not made on its own and copied there: its table can be megabytes.
pub fn figure<'a>(
    t: &'a Table,
    chart: Option<Markup>,
    links: &'a Links,
    path: &'a str,
    params: &'a [(&'a str, &'a str)],
) -> Figure<'a> {
    Figure {
        t,
        chart,
        links,
        path,
        params,
    }
}

/// See [`figure`].
pub struct Figure<'a> {
    t: &'a Table,
    chart: Option<Markup>,
    links: &'a Links,
    path: &'a str,
    params: &'a [(&'a str, &'a str)],
}

impl Render for Figure<'_> {
    fn render_to(&self, out: &mut String) {
        let Self {
            t,
            links,
            path,
            params,
            ..
        } = *self;
        out.push_str("<figure class=\"figure\" id=\"fig-");
        escaped(out, &t.id);
        out.push_str("\">");
        match &self.chart {
            Some(chart) => {
                let open = !links.page.view(&t.id).is_plain(t);
                html! {
                    figcaption { (t.caption) }
                    (chart)
                }
                .render_to(out);
                out.push_str(if open {
                    "<details class=\"numbers\" open>"
                } else {
                    "<details class=\"numbers\">"
                });
                out.push_str("<summary>Show the numbers as a table</summary>");
                Arranged {
                    t,
                    links,
                    chart: true,
                }
                .render_to(out);
                out.push_str("</details>");
            }
            None => Arranged {
                t,
                links,
                chart: false,
            }
            .render_to(out),
        }
        let own = links.page.own_params(&t.id);
        let mut csv: Vec<(&str, &str)> = params.to_vec();
        csv.push(("csv", &t.id));
        csv.extend(own.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        html! {
            p class="downloads" {
                a href=(links.href(path, &csv)) download { "Download CSV" }
            }
        }
        .render_to(out);
        out.push_str("</figure>");
    }
}
