//! Categorical bar charts: histograms (one series) and before/after pairs (two series
//! side by side).

use maud::{Markup, html};

use super::{BOTTOM, H, LEFT, RIGHT, TOP, W, nice_max, swatch, y_axis};
use crate::analytics::Table;

/// Bars for each row of `table`, labelled by column 0, one bar per value column.
pub fn bar_chart(id: &str, title: &str, table: &Table, columns: &[(usize, &str)]) -> Markup {
    let plot_h = H - TOP - BOTTOM;
    let n = table.rows.len().max(1) as f64;
    let slot = (W - LEFT - RIGHT) / n;
    let bar = slot * 0.8 / columns.len() as f64;
    let max = table
        .rows
        .iter()
        .flat_map(|r| columns.iter().map(|(c, _)| r.cells[*c].value()))
        .fold(0.0, f64::max);
    let top = nice_max(max);
    let every = (table.rows.len() / 12).max(1);
    let names: Vec<&str> = columns
        .iter()
        .map(|(c, _)| table.columns[*c].as_str())
        .collect();
    let desc = format!(
        "{} for {} groups ({}), the largest value {}.",
        names.join(" and "),
        table.rows.len(),
        table.columns[0],
        max
    );
    html! {
        div class="chart" {
            span class="series-key" {
                @for ((_, color), name) in columns.iter().zip(&names) { (swatch(color, name)) }
            }
            svg viewBox={"0 0 " (W) " " (H)} role="img" aria-labelledby={(id) "-title " (id) "-desc"} class="bar-chart" {
                title id={(id) "-title"} { (title) }
                desc id={(id) "-desc"} { (desc) }
                (y_axis(top))
                @for (i, row) in table.rows.iter().enumerate() {
                    @let x0 = LEFT + slot * i as f64 + slot * 0.1;
                    @for (j, (c, color)) in columns.iter().enumerate() {
                        @let v = row.cells[*c].value();
                        @let h = v / top * plot_h;
                        rect x=(x0 + bar * j as f64) y=(TOP + plot_h - h) width=(bar) height=(h.max(0.5)) fill=(color) {
                            title { (row.cells[0].text()) ": " (names[j]) " " (row.cells[*c].text()) }
                        }
                    }
                    @if i % every == 0 {
                        text x=(LEFT + slot * (i as f64 + 0.5)) y=(H - BOTTOM + 16.0) text-anchor="middle" font-size="12" fill="#57606a" {
                            (short(&row.cells[0].text()))
                        }
                    }
                }
                line x1=(LEFT) x2=(W - RIGHT) y1=(H - BOTTOM) y2=(H - BOTTOM) stroke="#57606a" {}
            }
        }
    }
}

fn short(label: &str) -> String {
    label.split(" (").next().unwrap_or(label).to_string()
}
