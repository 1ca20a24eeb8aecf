//! The one shape every view's numbers take: drawn as an HTML table, a chart and a CSV file
//! from the same rows, so the three always agree.

use crate::store::{ContentItemId, CourseId, UserId};

/// One value of a table.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A number shown with the given decimals; `None` is blank.
    Num(Option<f64>, usize),
    /// A share of a total, in percent.
    Pct(f64),
    /// A resource, linked to its detail page.
    Item(ContentItemId, String),
    /// A student, linked to their detail page.
    Student(UserId, String),
    /// A course, linked to its dashboard.
    Course(CourseId, String),
}

impl Cell {
    /// The text shown and exported.
    pub fn text(&self) -> String {
        self.to_string()
    }

    /// The value a chart plots.
    pub fn value(&self) -> f64 {
        match self {
            Self::Int(n) => *n as f64,
            Self::Num(x, _) => x.unwrap_or(0.0),
            Self::Pct(p) => *p,
            _ => 0.0,
        }
    }
}

/// The text shown and exported, written straight into a page or a file.
impl std::fmt::Display for Cell {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(s) | Self::Item(_, s) | Self::Student(_, s) | Self::Course(_, s) => {
                f.write_str(s)
            }
            Self::Int(n) => write!(f, "{n}"),
            Self::Num(Some(x), d) => write!(f, "{x:.d$}"),
            Self::Num(None, _) => Ok(()),
            Self::Pct(p) => write!(f, "{p:.1}%"),
        }
    }
}

/// A resource row's place in the content tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreePos {
    pub id: i64,
    pub parent: Option<i64>,
    pub depth: usize,
    pub folder: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub cells: Vec<Cell>,
    /// The first day this row covers, for rows of a time series.
    pub day: Option<i64>,
    pub tree: Option<TreePos>,
}

impl Row {
    pub fn new(cells: Vec<Cell>) -> Self {
        Self {
            cells,
            day: None,
            tree: None,
        }
    }

    pub fn on_day(day: i64, cells: Vec<Cell>) -> Self {
        Self {
            cells,
            day: Some(day),
            tree: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// Unique on its page; names the CSV download.
    pub id: String,
    pub caption: String,
    pub columns: Vec<String>,
    pub rows: Vec<Row>,
    pub totals: Option<Vec<Cell>>,
    /// Columns from this index up to (not including) `heat_to` are shaded as a heat map.
    pub heat: Option<(usize, usize)>,
}

impl Table {
    pub fn new(id: &str, caption: impl Into<String>, columns: Vec<String>) -> Self {
        Self {
            id: id.to_string(),
            caption: caption.into(),
            columns,
            rows: Vec::new(),
            totals: None,
            heat: None,
        }
    }

    /// The largest value in the shaded columns (the heat map's scale).
    pub fn heat_max(&self) -> f64 {
        let Some((from, to)) = self.heat else {
            return 0.0;
        };
        self.rows
            .iter()
            .flat_map(|r| r.cells[from..to.min(r.cells.len())].iter())
            .map(Cell::value)
            .fold(0.0, f64::max)
    }

    /// RFC 4180 CSV: header, rows, then the totals row. Text is guarded against formula
    /// injection; numbers (which cloop computes) are written as they are, minus sign and all.
    pub fn to_csv(&self) -> String {
        let mut out = String::new();
        let mut line = |fields: Vec<String>| {
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        };
        line(self.columns.iter().map(|c| csv_text(c)).collect());
        for row in &self.rows {
            line(row.cells.iter().map(csv_cell).collect());
        }
        if let Some(totals) = &self.totals {
            line(totals.iter().map(csv_cell).collect());
        }
        out
    }
}

fn csv_cell(cell: &Cell) -> String {
    match cell {
        Cell::Int(_) | Cell::Num(..) | Cell::Pct(_) => csv_quoted(cell.text()),
        Cell::Text(_) | Cell::Item(..) | Cell::Student(..) | Cell::Course(..) => {
            csv_text(&cell.text())
        }
    }
}

/// Text that a spreadsheet would run as a formula (OWASP's CSV injection: a leading `=`,
/// `+`, `-`, `@`, tab or carriage return, also after leading blanks) gets a `'` in front.
fn csv_text(text: &str) -> String {
    let trigger = |c: char| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r');
    let first = text.trim_start_matches([' ', '\n']).chars().next();
    if text.starts_with(['\t', '\r']) || first.is_some_and(trigger) {
        csv_quoted(format!("'{text}"))
    } else {
        csv_quoted(text.to_string())
    }
}

fn csv_quoted(field: String) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field
    }
}

/// `part` as a percentage of `whole` (0 when the whole is 0).
pub fn pct(part: f64, whole: f64) -> Cell {
    Cell::Pct(if whole > 0.0 {
        100.0 * part / whole
    } else {
        0.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut t = Table::new("t", "T", vec!["name".into(), "views".into()]);
        t.rows
            .push(Row::new(vec![Cell::Text("a, \"b\"".into()), Cell::Int(3)]));
        t.rows
            .push(Row::new(vec![Cell::Text("=cmd()".into()), Cell::Int(-1)]));
        assert_eq!(
            t.to_csv(),
            "name,views\r\n\"a, \"\"b\"\"\",3\r\n'=cmd(),-1\r\n"
        );
    }

    #[test]
    fn every_formula_trigger_in_text_is_guarded_and_numbers_stay_numbers() {
        let guarded = [
            ("=1+1", "'=1+1"),
            ("+1", "'+1"),
            ("-1", "'-1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("\rx", "\"'\rx\""),
            ("  =1", "'  =1"),
            ("\n=1", "\"'\n=1\""),
            ("plain", "plain"),
            ("a-b", "a-b"),
            ("", ""),
        ];
        for (text, csv) in guarded {
            assert_eq!(csv_cell(&Cell::Text(text.into())), csv, "{text:?}");
            assert_eq!(csv_cell(&Cell::Student(UserId(1), text.into())), csv);
        }
        assert_eq!(csv_text("=title"), "'=title");
        assert_eq!(csv_cell(&Cell::Int(-3)), "-3");
        assert_eq!(csv_cell(&Cell::Num(Some(-1.5), 1)), "-1.5");
        assert_eq!(csv_cell(&Cell::Pct(-2.0)), "-2.0%");
    }
}
