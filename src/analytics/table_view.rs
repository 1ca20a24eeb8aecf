//! A table as a reader asked to see it: sorted by one column (numbers as numbers, text
//! without case, blanks last, ties in the table's own order) and searched for words.

use std::borrow::Cow;
use std::cmp::Ordering;

use super::table::{Cell, Row, Table};

/// A sort on one column, ascending or descending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sort {
    /// Counted from 0 here; from 1 in [`Sort::parse`] and [`Sort::param`].
    pub column: usize,
    pub descending: bool,
}

impl Sort {
    /// `3` sorts by the third column ascending, `-3` descending; anything else is no sort.
    pub fn parse(text: &str) -> Option<Self> {
        let (descending, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let column = digits.parse::<usize>().ok()?.checked_sub(1)?;
        Some(Self { column, descending })
    }

    /// The form [`Sort::parse`] reads.
    pub fn param(self) -> String {
        let sign = if self.descending { "-" } else { "" };
        format!("{sign}{}", self.column + 1)
    }

    /// What a click on `column`'s header asks for: ascending, then descending on a second
    /// click, then ascending again.
    pub fn after_click(current: Option<Sort>, column: usize) -> Self {
        Self {
            column,
            descending: current.is_some_and(|s| s.column == column && !s.descending),
        }
    }
}

/// The words every kept row must contain, each in any of its cells, ignoring case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    text: String,
    words: Vec<String>,
}

impl Search {
    /// Longer search text is cut here (the search box allows no more).
    pub const MAX_CHARS: usize = 200;

    pub fn parse(text: &str) -> Self {
        let text: String = text.trim().chars().take(Self::MAX_CHARS).collect();
        let words = text.split_whitespace().map(str::to_lowercase).collect();
        Self { text, words }
    }

    /// The text as typed (trimmed), for the search box and links.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    fn matches(&self, row: &Row) -> bool {
        let cells: Vec<String> = row.cells.iter().map(|c| c.text().to_lowercase()).collect();
        self.words
            .iter()
            .all(|w| cells.iter().any(|c| c.contains(w.as_str())))
    }
}

/// How one table is to be shown: its sort and its search.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TableView {
    pub sort: Option<Sort>,
    pub search: Search,
}

impl TableView {
    /// The sort, if `table` has that column.
    pub fn sort_of(&self, table: &Table) -> Option<Sort> {
        self.sort.filter(|s| s.column < table.columns.len())
    }

    /// True when the table is shown as it came.
    pub fn is_plain(&self, table: &Table) -> bool {
        self.sort_of(table).is_none() && self.search.is_empty()
    }

    /// The table with only the rows the search finds, in the sort's order. A sorted or
    /// searched tree is shown flat (a folder's numbers still include its contents). The
    /// totals row stays the totals of all rows, and says so once rows are left out.
    pub fn apply<'a>(&self, table: &'a Table) -> Cow<'a, Table> {
        if self.is_plain(table) {
            return Cow::Borrowed(table);
        }
        let mut shown = table.clone();
        shown.rows.retain(|r| self.search.matches(r));
        if let Some(sort) = self.sort_of(table) {
            let keys: Vec<Key> = shown.rows.iter().map(|r| Key::of(r, sort.column)).collect();
            let mut order: Vec<usize> = (0..shown.rows.len()).collect();
            // `sort_by` is stable: equal keys keep the table's own order either way.
            order.sort_by(|&a, &b| Key::compare(&keys[a], &keys[b], sort.descending));
            let mut rows: Vec<Option<Row>> = shown.rows.into_iter().map(Some).collect();
            shown.rows = order.into_iter().filter_map(|i| rows[i].take()).collect();
        }
        for row in &mut shown.rows {
            row.tree = None;
        }
        if shown.rows.len() < table.rows.len()
            && let Some(Cell::Text(label)) = shown.totals.as_mut().and_then(|t| t.first_mut())
        {
            *label = format!("{label} (all {} rows)", table.rows.len());
        }
        Cow::Owned(shown)
    }
}

/// What a cell sorts by. A time series sorts its first column (the period) by date.
enum Key {
    Number(f64),
    Text(String),
    Blank,
}

impl Key {
    fn of(row: &Row, column: usize) -> Self {
        if let (0, Some(day)) = (column, row.day) {
            return Self::Number(day as f64);
        }
        match row.cells.get(column) {
            None | Some(Cell::Num(None, _)) => Self::Blank,
            Some(c @ (Cell::Int(_) | Cell::Num(..) | Cell::Pct(_))) => Self::Number(c.value()),
            Some(c) => {
                let text = c.text();
                if text.trim().is_empty() {
                    Self::Blank
                } else {
                    Self::Text(text.to_lowercase())
                }
            }
        }
    }

    /// Blanks come last both ways; numbers come before text.
    fn compare(a: &Self, b: &Self, descending: bool) -> Ordering {
        let order = match (a, b) {
            (Self::Blank, Self::Blank) => return Ordering::Equal,
            (Self::Blank, _) => return Ordering::Greater,
            (_, Self::Blank) => return Ordering::Less,
            (Self::Number(x), Self::Number(y)) => x.total_cmp(y),
            (Self::Text(x), Self::Text(y)) => x.cmp(y),
            (Self::Number(_), Self::Text(_)) => Ordering::Less,
            (Self::Text(_), Self::Number(_)) => Ordering::Greater,
        };
        if descending { order.reverse() } else { order }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::TreePos;

    fn table() -> Table {
        let mut t = Table::new("t", "T", vec!["Name".into(), "Views".into()]);
        for (name, views) in [
            ("bea", Some(2.0)),
            ("Al", None),
            ("Cy", Some(10.0)),
            ("al", Some(2.0)),
            ("", Some(1.0)),
        ] {
            t.rows
                .push(Row::new(vec![Cell::Text(name.into()), Cell::Num(views, 0)]));
        }
        t.totals = Some(vec![Cell::Text("Total".into()), Cell::Num(Some(15.0), 0)]);
        t
    }

    fn names(t: &Table) -> Vec<String> {
        t.rows.iter().map(|r| r.cells[0].text()).collect()
    }

    fn view(sort: &str, search: &str) -> TableView {
        TableView {
            sort: Sort::parse(sort),
            search: Search::parse(search),
        }
    }

    #[test]
    fn numbers_sort_as_numbers_with_blanks_last_and_ties_in_order() {
        assert_eq!(
            names(&view("2", "").apply(&table())),
            ["", "bea", "al", "Cy", "Al"]
        );
        assert_eq!(
            names(&view("-2", "").apply(&table())),
            ["Cy", "bea", "al", "", "Al"]
        );
    }

    #[test]
    fn text_sorts_without_case_with_blanks_last_and_ties_in_order() {
        assert_eq!(
            names(&view("1", "").apply(&table())),
            ["Al", "al", "bea", "Cy", ""]
        );
        assert_eq!(
            names(&view("-1", "").apply(&table())),
            ["Cy", "bea", "Al", "al", ""]
        );
    }

    #[test]
    fn a_time_series_sorts_its_period_by_date() {
        let mut t = Table::new("s", "S", vec!["Period".into(), "Views".into()]);
        for (day, label) in [(1, "Week 2"), (8, "Week 10"), (0, "Week 1")] {
            t.rows.push(Row::on_day(
                day,
                vec![Cell::Text(label.into()), Cell::Int(0)],
            ));
        }
        assert_eq!(
            names(&view("1", "").apply(&t)),
            ["Week 1", "Week 2", "Week 10"]
        );
    }

    #[test]
    fn every_word_must_match_some_cell_and_the_totals_say_they_are_of_all_rows() {
        let t = table();
        let found = view("", "AL 2").apply(&t);
        assert_eq!(names(&found), ["al"]);
        let totals = found.totals.clone().unwrap();
        assert_eq!(totals[0], Cell::Text("Total (all 5 rows)".into()));
        assert_eq!(totals[1], Cell::Num(Some(15.0), 0));
        assert!(view("", "al zed").apply(&table()).rows.is_empty());
        assert_eq!(*view("", "  ").apply(&table()), table());
    }

    #[test]
    fn a_sorted_tree_is_flat() {
        let mut t = table();
        t.rows[0].tree = Some(TreePos {
            id: 1,
            parent: None,
            depth: 0,
            folder: true,
        });
        assert!(
            view("1", "")
                .apply(&t)
                .rows
                .iter()
                .all(|r| r.tree.is_none())
        );
        assert_eq!(*view("", "").apply(&t), t);
    }

    #[test]
    fn junk_and_out_of_range_sorts_are_no_sort() {
        for junk in [
            "",
            "0",
            "-0",
            "+1",
            "1.5",
            "x",
            "--1",
            "99999999999999999999999",
        ] {
            assert_eq!(Sort::parse(junk), None, "{junk:?}");
        }
        assert_eq!(*view("3", "").apply(&table()), table());
        assert_eq!(Sort::parse("-2").map(Sort::param).as_deref(), Some("-2"));
    }

    #[test]
    fn a_second_click_reverses_and_a_third_restores() {
        let first = Sort::after_click(None, 1);
        assert!(!first.descending);
        let second = Sort::after_click(Some(first), 1);
        assert!(second.descending);
        assert!(!Sort::after_click(Some(second), 1).descending);
        assert!(!Sort::after_click(Some(second), 0).descending);
    }

    #[test]
    fn search_text_is_bounded() {
        let long = "a".repeat(500);
        assert_eq!(Search::parse(&long).text().len(), Search::MAX_CHARS);
    }
}
