//! Event windows in hours: views in the exact hours before each occurrence of an event
//! against the hours from it on, for the cohort, per resource and per student.

use std::collections::{HashMap, HashSet};

use super::comparison::EventWindow;
use super::table::{Cell, Row, Table};
use super::tree::{Node, flatten_all};
use super::who::{IDENTIFIER, person_cells};
use super::{CourseView, day_label};
use crate::events::{EventKind, Occurrence};
use crate::store::reports::Person;
use crate::store::windows::ViewAt;
use crate::store::{ContentItemId, CourseEventId, EpochMs, Store, StoreResult, UserId};

const HOUR_MS: i64 = 3_600_000;

/// A whole number of hours on one side of an event, 1 h to a week.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hours(i64);

impl Hours {
    pub const MAX: i64 = 7 * 24;

    /// "48h", "48" (hours) or "2d" (days); out-of-range or malformed values are `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim().to_ascii_lowercase();
        let (number, per) = match text.strip_suffix('d') {
            Some(days) => (days, 24),
            None => (text.strip_suffix('h').unwrap_or(&text), 1),
        };
        let hours = number.trim().parse::<i64>().ok()?.checked_mul(per)?;
        (1..=Self::MAX).contains(&hours).then_some(Self(hours))
    }

    pub fn get(self) -> i64 {
        self.0
    }

    fn ms(self) -> i64 {
        self.0 * HOUR_MS
    }
}

/// Which event to split around and how many hours before and from each occurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HourWindow {
    pub event: CourseEventId,
    pub before: Hours,
    pub after: Hours,
}

impl HourWindow {
    const DEFAULT: Hours = Hours(48);

    /// From the `event`, `before` and `after` query parameters (48 h each by default);
    /// the event is chosen as [`EventWindow::parse`] chooses it.
    pub fn parse(
        event: Option<&str>,
        before: Option<&str>,
        after: Option<&str>,
        cv: &CourseView,
    ) -> Option<Self> {
        let hours = |t: Option<&str>| t.and_then(Hours::parse).unwrap_or(Self::DEFAULT);
        Some(Self {
            event: EventWindow::parse(event, None, cv)?.event,
            before: hours(before),
            after: hours(after),
        })
    }

    /// The instant an occurrence is split at: a submission's due time, else its start.
    fn instant(o: &Occurrence) -> EpochMs {
        o.until.unwrap_or(o.at)
    }

    /// Both windows of the split at `t`: [t − before, t + after).
    fn span(self, t: EpochMs) -> (EpochMs, EpochMs) {
        (
            EpochMs(t.0 - self.before.ms()),
            EpochMs(t.0 + self.after.ms()),
        )
    }

    /// Which side of the split at `t` a view falls on: [t − before, t) is before,
    /// [t, t + after) is from the event on.
    fn side(self, t: EpochMs, at: EpochMs) -> Option<usize> {
        if at.0 >= t.0 - self.before.ms() && at.0 < t.0 {
            Some(0)
        } else if at.0 >= t.0 && at.0 < t.0 + self.after.ms() {
            Some(1)
        } else {
            None
        }
    }
}

/// The views of one occurrence's two windows.
struct OccurrenceViews<'a> {
    occurrence: &'a Occurrence,
    at: EpochMs,
    views: &'a [ViewAt],
}

/// The union of half-open spans as disjoint spans in time order.
fn merged(mut spans: Vec<(EpochMs, EpochMs)>) -> Vec<(EpochMs, EpochMs)> {
    spans.sort_unstable();
    let mut out: Vec<(EpochMs, EpochMs)> = Vec::new();
    for (from, to) in spans {
        match out.last_mut() {
            Some(last) if from.0 <= last.1.0 => last.1 = EpochMs(last.1.0.max(to.0)),
            _ => out.push((from, to)),
        }
    }
    out
}

/// Before and after counts.
type Split = [i64; 2];

fn split_columns(first: &str, w: HourWindow) -> Vec<String> {
    vec![
        first.into(),
        format!("Views in {} h before", w.before.get()),
        format!("Views in {} h from the event", w.after.get()),
        "After / before".into(),
    ]
}

fn split_cells(label: Cell, [before, after]: Split) -> Vec<Cell> {
    let ratio = (before > 0).then(|| after as f64 / before as f64);
    vec![
        label,
        Cell::Int(before),
        Cell::Int(after),
        Cell::Num(ratio, 2),
    ]
}

/// The tables of the hour windows: per occurrence, per resource, per student, and for a
/// submission linked to its assessment, the students who first opened it after it was due.
/// Each occurrence's windows are read as one bounded stretch of events, its students'
/// views only.
pub async fn hour_windows(
    store: &Store,
    cv: &CourseView,
    w: HourWindow,
) -> StoreResult<Vec<Table>> {
    let id = cv.course.id;
    let students: Vec<Person> = cv
        .cohort
        .people(store.course_people(id).await?)
        .into_iter()
        .filter(|p| !p.is_staff)
        .collect();
    let is_student: HashSet<UserId> = students.iter().map(|p| p.user_id).collect();
    let chosen: Vec<(&Occurrence, EpochMs)> = cv
        .occurrences
        .iter()
        .filter(|o| o.event == w.event)
        .map(|o| (o, HourWindow::instant(o)))
        .collect();
    // Overlapping windows (a weekly lecture with wide windows) are read once; the merged
    // spans are disjoint and in order, so the views come out in time order.
    let mut views = Vec::new();
    for (from, to) in merged(chosen.iter().map(|&(_, at)| w.span(at)).collect()) {
        views.extend(
            store
                .views_between(id, from, to)
                .await?
                .into_iter()
                .filter(|v| v.user_id.is_some_and(|u| is_student.contains(&u))),
        );
    }
    let occurrences: Vec<OccurrenceViews> = chosen
        .into_iter()
        .map(|(occurrence, at)| {
            let (from, to) = w.span(at);
            let lo = views.partition_point(|v| v.occurred_at.0 < from.0);
            let hi = views.partition_point(|v| v.occurred_at.0 < to.0);
            OccurrenceViews {
                occurrence,
                at,
                views: &views[lo..hi],
            }
        })
        .collect();
    let nodes = flatten_all(&store.content_tree(id).await?);
    let mut tables = vec![
        by_occurrence(cv, w, &occurrences),
        by_resource(w, &occurrences, &nodes),
        by_student(w, &occurrences, &students),
    ];
    if let Some(late) = opened_after_due(store, cv, w, &students).await? {
        tables.push(late);
    }
    Ok(tables)
}

/// Every counted view of the windows with the side it falls on.
fn sided<'a>(
    w: HourWindow,
    occurrences: &'a [OccurrenceViews<'a>],
) -> impl Iterator<Item = (&'a ViewAt, usize)> + 'a {
    occurrences.iter().flat_map(move |o| {
        o.views
            .iter()
            .filter_map(move |v| w.side(o.at, v.occurred_at).map(|s| (v, s)))
    })
}

fn by_occurrence(cv: &CourseView, w: HourWindow, occurrences: &[OccurrenceViews]) -> Table {
    let mut table = Table::new(
        "hours",
        "Views before and from each occurrence, in hours",
        split_columns("Occurrence", w),
    );
    let mut total: Split = [0, 0];
    for o in occurrences {
        let mut split: Split = [0, 0];
        for (_, side) in sided(w, std::slice::from_ref(o)) {
            split[side] += 1;
            total[side] += 1;
        }
        let day = cv.cal.day_of(o.at);
        let label = match o.occurrence.week {
            Some(n) => format!("Week {n} ({})", day_label(day)),
            None => day_label(day),
        };
        table
            .rows
            .push(Row::on_day(day, split_cells(Cell::Text(label), split)));
    }
    table.totals = Some(split_cells(Cell::Text("All occurrences".into()), total));
    table
}

fn by_resource(w: HourWindow, occurrences: &[OccurrenceViews], nodes: &[Node]) -> Table {
    let mut per_item: HashMap<ContentItemId, Split> = HashMap::new();
    for (v, side) in sided(w, occurrences) {
        if let Some(item) = v.content_item_id {
            per_item.entry(item).or_default()[side] += 1;
        }
    }
    let mut table = Table::new(
        "hours-by-resource",
        "Views in the hours around the event, per resource",
        split_columns("Resource", w),
    );
    let mut total: Split = [0, 0];
    for node in nodes {
        let mut split: Split = [0, 0];
        for s in node.subtree.iter().filter_map(|i| per_item.get(i)) {
            split[0] += s[0];
            split[1] += s[1];
        }
        if node.pos.depth == 0 {
            total[0] += split[0];
            total[1] += split[1];
        }
        table.rows.push(Row {
            cells: split_cells(Cell::Item(node.item.id, node.item.title.clone()), split),
            day: None,
            tree: Some(node.pos.clone()),
        });
    }
    table.totals = Some(split_cells(Cell::Text("Total".into()), total));
    table
}

fn by_student(w: HourWindow, occurrences: &[OccurrenceViews], students: &[Person]) -> Table {
    let mut per_student: HashMap<UserId, Split> = HashMap::new();
    for (v, side) in sided(w, occurrences) {
        if let Some(user) = v.user_id {
            per_student.entry(user).or_default()[side] += 1;
        }
    }
    let mut cols = split_columns("Student", w);
    cols.insert(1, IDENTIFIER.into());
    let mut table = Table::new(
        "hours-by-student",
        "Views in the hours around the event, per student",
        cols,
    );
    let mut total: Split = [0, 0];
    for p in students {
        let split = per_student.get(&p.user_id).copied().unwrap_or_default();
        total[0] += split[0];
        total[1] += split[1];
        let [name, identifier] = person_cells(p);
        let mut cells = split_cells(name, split);
        cells.insert(1, identifier);
        table.rows.push(Row::new(cells));
    }
    let mut totals = split_cells(Cell::Text("All students".into()), total);
    totals.insert(1, Cell::Text(String::new()));
    table.totals = Some(totals);
    table
}

/// For a submission whose gradebook column is linked to its assessment: the students who
/// opened the assessment, but never before it was due. Views on days before the due day
/// come from the student-day rollup; the due day up to the due time is read exactly.
async fn opened_after_due(
    store: &Store,
    cv: &CourseView,
    w: HourWindow,
    students: &[Person],
) -> StoreResult<Option<Table>> {
    let id = cv.course.id;
    let Some(due) = cv
        .occurrences
        .iter()
        .find(|o| o.event == w.event && o.kind == EventKind::Submission)
        .map(HourWindow::instant)
    else {
        return Ok(None);
    };
    let Some(&item) = store.submission_items(id).await?.get(&w.event) else {
        return Ok(None);
    };
    let due_day = cv.cal.day_of(due);
    let mut early = store.item_students_before_day(id, item, due_day).await?;
    early.extend(
        store
            .views_between(id, cv.day_start(due_day), due)
            .await?
            .into_iter()
            .filter(|v| v.content_item_id == Some(item))
            .filter_map(|v| v.user_id),
    );
    let viewers: HashMap<UserId, i64> = store.item_viewers(id, item).await?.into_iter().collect();
    let mut table = Table::new(
        "opened-after-due",
        "Students who first opened the assessment after it was due",
        vec![
            "Student".into(),
            IDENTIFIER.into(),
            "Views of the assessment".into(),
        ],
    );
    for p in students.iter().filter(|p| !early.contains(&p.user_id)) {
        if let Some(&views) = viewers.get(&p.user_id) {
            let mut cells = person_cells(p).to_vec();
            cells.push(Cell::Int(views));
            table.rows.push(Row::new(cells));
        }
    }
    Ok(Some(table))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_read_as_hours_or_days_within_a_week() {
        assert_eq!(Hours::parse("48h"), Some(Hours(48)));
        assert_eq!(Hours::parse("48"), Some(Hours(48)));
        assert_eq!(Hours::parse(" 2D "), Some(Hours(48)));
        assert_eq!(Hours::parse("7d"), Some(Hours(Hours::MAX)));
        for bad in [
            "0",
            "169",
            "8d",
            "-3h",
            "h",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert_eq!(Hours::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_window_includes_its_start_and_excludes_its_end() {
        let w = HourWindow {
            event: CourseEventId(1),
            before: Hours(48),
            after: Hours(1),
        };
        let t = EpochMs(1_000 * HOUR_MS);
        assert_eq!(w.side(t, EpochMs(t.0 - 48 * HOUR_MS)), Some(0));
        assert_eq!(w.side(t, EpochMs(t.0 - 48 * HOUR_MS - 1)), None);
        assert_eq!(w.side(t, EpochMs(t.0 - 1)), Some(0));
        assert_eq!(w.side(t, t), Some(1));
        assert_eq!(w.side(t, EpochMs(t.0 + HOUR_MS - 1)), Some(1));
        assert_eq!(w.side(t, EpochMs(t.0 + HOUR_MS)), None);
    }

    #[test]
    fn overlapping_spans_are_read_once() {
        let s = |a: i64, b: i64| (EpochMs(a), EpochMs(b));
        assert_eq!(
            merged(vec![s(20, 30), s(0, 10), s(5, 12), s(12, 15)]),
            vec![s(0, 15), s(20, 30)]
        );
    }
}
