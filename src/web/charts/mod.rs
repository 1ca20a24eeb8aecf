//! Server-rendered SVG charts (no JavaScript chart library): bars and lines over days or
//! weeks with the course events drawn over them, and categorical bar charts (histograms,
//! before/after pairs). Every chart is drawn from an analytics `Table`, has a title and a
//! description for screen readers, and hover titles on its marks.

mod bars;
mod time;

pub use bars::bar_chart;
pub use time::{Mark, Series, TimeChart};

use maud::{Markup, html};

/// Width and height of every chart's coordinate system (it scales to its container).
const W: f64 = 800.0;
const H: f64 = 280.0;
const LEFT: f64 = 52.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 34.0;
const BOTTOM: f64 = 44.0;

/// The series colours (Okabe–Ito, distinguishable with the common colour-vision deficiencies).
pub const CONTENT: &str = "#0072b2";
pub const COMMUNICATION: &str = "#d55e00";
pub const ASSESSMENT: &str = "#009e73";
pub const NEUTRAL: &str = "#0072b2";
pub const SECOND: &str = "#e69f00";

/// A round upper bound for an axis, so that its four grid steps are round numbers.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 {
        return 4.0;
    }
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .find(|s| s * mag >= raw)
        .unwrap_or(10.0);
    4.0 * step * mag
}

/// Horizontal grid lines and their labels.
fn y_axis(max: f64) -> Markup {
    let plot_h = H - TOP - BOTTOM;
    html! {
        g class="axis" {
            @for i in 0..=4 {
                @let v = max * f64::from(i) / 4.0;
                @let y = TOP + plot_h - plot_h * f64::from(i) / 4.0;
                line x1=(LEFT) x2=(W - RIGHT) y1=(y) y2=(y) stroke="#d0d7de" stroke-width="1" {}
                text x=(LEFT - 6.0) y=(y + 4.0) text-anchor="end" font-size="12" fill="#57606a" { (fmt_tick(v)) }
            }
        }
    }
}

fn fmt_tick(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.1}k", v / 1000.0)
    } else if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// One coloured swatch and its label.
fn swatch(color: &str, label: &str) -> Markup {
    html! {
        span class="swatch" {
            svg width="14" height="14" aria-hidden="true" focusable="false" {
                rect width="14" height="14" fill=(color) {}
            }
            " " (label)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn axis_tops_have_round_steps() {
        assert_eq!(super::nice_max(3.0), 4.0);
        assert_eq!(super::nice_max(5.0), 8.0);
        assert_eq!(super::nice_max(170.0), 200.0);
        assert_eq!(super::nice_max(0.0), 4.0);
    }
}
