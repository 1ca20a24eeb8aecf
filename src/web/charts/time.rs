//! Bars or lines over a range of days (daily or weekly buckets), with course events over
//! them: single events and deadlines as labelled markers, submission windows as bands,
//! repeating events as dashed lines. A legend of checkboxes toggles each kind (CSS only).

use maud::{Markup, html};

use super::{BOTTOM, H, LEFT, RIGHT, TOP, W, nice_max, swatch, y_axis};
use crate::analytics::{CourseView, Table};
use crate::events::{EventKind, Occurrence};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// Stacked bars, one per row.
    Bars,
    Lines,
}

/// A table column drawn as a series.
#[derive(Clone, Copy, Debug)]
pub struct Series {
    pub column: usize,
    pub color: &'static str,
}

/// A chart of a time-series table (rows carry their first day).
pub struct TimeChart<'a> {
    pub id: &'a str,
    pub title: &'a str,
    pub table: &'a Table,
    pub series: &'a [Series],
    pub mark: Mark,
    pub from_day: i64,
    pub to_day: i64,
    /// Days per row: 1 for daily rows, 7 for weekly rows.
    pub bucket_days: i64,
    pub cv: &'a CourseView,
}

impl TimeChart<'_> {
    fn x(&self, day: f64) -> f64 {
        let span = (self.to_day - self.from_day).max(1) as f64;
        LEFT + (day - self.from_day as f64) / span * (W - LEFT - RIGHT)
    }

    pub fn render(&self) -> Markup {
        let plot_h = H - TOP - BOTTOM;
        let values: Vec<Vec<f64>> = self
            .table
            .rows
            .iter()
            .map(|r| {
                self.series
                    .iter()
                    .map(|s| r.cells[s.column].value())
                    .collect()
            })
            .collect();
        let max = values
            .iter()
            .map(|v| match self.mark {
                Mark::Bars => v.iter().sum::<f64>(),
                Mark::Lines => v.iter().copied().fold(0.0, f64::max),
            })
            .fold(0.0, f64::max);
        let top = nice_max(max);
        let y = |v: f64| TOP + plot_h - v / top * plot_h;
        let slot = self.x(self.bucket_days as f64 + self.from_day as f64) - LEFT;
        let names: Vec<&str> = self
            .series
            .iter()
            .map(|s| self.table.columns[s.column].as_str())
            .collect();
        let events = self.events();
        let peak = self
            .table
            .rows
            .iter()
            .zip(&values)
            .max_by(|a, b| a.1.iter().sum::<f64>().total_cmp(&b.1.iter().sum::<f64>()));
        let desc = match peak {
            Some((row, v)) if max > 0.0 => format!(
                "{} from {} to {}; the highest is {} on {}. {} course events drawn.",
                names.join(", "),
                self.table
                    .rows
                    .first()
                    .map(|r| r.cells[0].text())
                    .unwrap_or_default(),
                self.table
                    .rows
                    .last()
                    .map(|r| r.cells[0].text())
                    .unwrap_or_default(),
                v.iter().sum::<f64>(),
                row.cells[0].text(),
                events.len()
            ),
            _ => format!(
                "No {} in this period. {} course events drawn.",
                names.join(", "),
                events.len()
            ),
        };
        let id = self.id;
        html! {
            div class="chart" {
                @for kind in EventKind::ALL {
                    input type="checkbox" id={(id) "-" (kind.as_str())} class={"t-" (kind.as_str())} checked;
                    label for={(id) "-" (kind.as_str())} class={"ev-key ev-key-" (kind.as_str())} { (kind.label()) "s" }
                }
                span class="series-key" {
                    @for (s, name) in self.series.iter().zip(&names) { (swatch(s.color, name)) }
                }
                svg viewBox={"0 0 " (W) " " (H)} role="img" aria-labelledby={(id) "-title " (id) "-desc"} class="time-chart" {
                    title id={(id) "-title"} { (self.title) }
                    desc id={(id) "-desc"} { (desc) }
                    (y_axis(top))
                    g class="ev-submission" {
                        @for o in events.iter().filter(|o| o.kind == EventKind::Submission) {
                            @if let Some(until) = o.until {
                                @let (x1, x2) = (self.x(self.day_pos(o.at)), self.x(self.day_pos(until)));
                                rect class="ev-window" x=(x1.max(LEFT)) y=(TOP) width=((x2.min(W - RIGHT) - x1.max(LEFT)).max(1.0)) height=(plot_h) fill="#e69f00" fill-opacity="0.16" {
                                    title { (o.title) " — open " (self.cv.cal.format(o.at)) " to " (self.cv.cal.format(until)) }
                                }
                            }
                        }
                    }
                    g class="marks" {
                        @for (i, (row, v)) in self.table.rows.iter().zip(&values).enumerate() {
                            @let x0 = self.x(row.day.unwrap_or(self.from_day) as f64);
                            @if self.mark == Mark::Bars {
                                                                @for (j, s) in self.series.iter().enumerate() {
                                    @let base: f64 = v[..j].iter().sum();
                                    @let h = v[j] / top * plot_h;
                                    @if v[j] > 0.0 {
                                        rect x=(x0 + slot * 0.1) y=(y(base + v[j])) width=(slot * 0.8) height=(h) fill=(s.color) {
                                            title { (row.cells[0].text()) ": " (names[j]) " " (row.cells[s.column].text()) }
                                        }
                                    }
                                }
                            } @else {
                                @for (j, s) in self.series.iter().enumerate() {
                                    @if let Some(next) = values.get(i + 1) {
                                        line x1=(x0 + slot / 2.0) y1=(y(v[j])) x2=(x0 + slot * 1.5) y2=(y(next[j])) stroke=(s.color) stroke-width="2" {}
                                    }
                                    circle cx=(x0 + slot / 2.0) cy=(y(v[j])) r="3" fill=(s.color) {
                                        title { (row.cells[0].text()) ": " (names[j]) " " (row.cells[s.column].text()) }
                                    }
                                }
                            }
                        }
                    }
                    (self.x_axis())
                    g class="ev-repeating" {
                        @for o in events.iter().filter(|o| o.kind == EventKind::Repeating) {
                            @let x = self.x(self.day_pos(o.at));
                            line x1=(x) x2=(x) y1=(TOP) y2=(TOP + plot_h) stroke="#4d4d4d" stroke-width="1.5" stroke-dasharray="4 3" {
                                title { (o.title) " — " (self.cv.cal.format(o.at)) }
                            }
                        }
                    }
                    @for (k, o) in events.iter().filter(|o| o.kind != EventKind::Repeating).enumerate() {
                        @let at = o.until.unwrap_or(o.at);
                        @let x = self.x(self.day_pos(at));
                        @let label_y = 12.0 + (k % 2) as f64 * 11.0;
                        @let color = if o.kind == EventKind::Single { "#8f2d6b" } else { "#8a5a00" };
                        g class={"ev-" (o.kind.as_str()) " ev-marker"} {
                            line x1=(x) x2=(x) y1=(label_y + 3.0) y2=(TOP + plot_h) stroke=(color) stroke-width="2" {}
                            path d={"M" (x - 5.0) " " (TOP - 2.0) " L" (x + 5.0) " " (TOP - 2.0) " L" (x) " " (TOP + 6.0) " Z"} fill=(color) {}
                            text x=(x.min(W - 60.0)) y=(label_y) font-size="11" fill=(color) text-anchor="middle" { (truncate(&o.title, 18)) }
                            title {
                                (o.title) " — "
                                @if o.kind == EventKind::Submission { "due " }
                                (self.cv.cal.format(at))
                            }
                        }
                    }
                }
            }
        }
    }

    /// The events that touch the chart's range.
    fn events(&self) -> Vec<&Occurrence> {
        self.cv
            .occurrences
            .iter()
            .filter(|o| {
                let first = self.cv.cal.day_of(o.at);
                let last = self.cv.cal.day_of(o.until.unwrap_or(o.at));
                last >= self.from_day && first < self.to_day
            })
            .collect()
    }

    /// An instant as a fractional day number, clamped to the chart.
    fn day_pos(&self, t: crate::store::EpochMs) -> f64 {
        let d = self.cv.cal.day_of(t) as f64 + self.cv.cal.day_fraction(t);
        d.clamp(self.from_day as f64, self.to_day as f64)
    }

    fn x_axis(&self) -> Markup {
        let base = H - BOTTOM;
        let weekly = self.to_day - self.from_day > 14;
        let ticks: Vec<(i64, String)> = if weekly {
            (self.from_day..self.to_day)
                .step_by(7)
                .map(|d| (d, format!("W{}", self.cv.cal.week_of(d))))
                .collect()
        } else {
            (self.from_day..self.to_day)
                .map(|d| (d, crate::analytics::day_label(d)[..3].to_string()))
                .collect()
        };
        html! {
            g class="axis" {
                line x1=(LEFT) x2=(W - RIGHT) y1=(base) y2=(base) stroke="#57606a" {}
                @for (d, label) in &ticks {
                    text x=(self.x(*d as f64 + if weekly { 3.5 } else { 0.5 })) y=(base + 16.0) text-anchor="middle" font-size="12" fill="#57606a" { (label) }
                }
            }
        }
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}
