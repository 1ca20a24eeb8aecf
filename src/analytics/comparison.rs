//! Event comparison: activity in the days before each occurrence of an event against the
//! days from it on, for the cohort, per resource and per student.

use foldhash::{HashMap, HashMapExt};

use super::table::{Cell, Row, Table};
use super::tree::Node;
use super::who::{IDENTIFIER, person_cells};
use super::{CourseView, day_label};
use crate::events::Occurrence;
use crate::store::{ContentItemId, CourseEventId, Store, StoreResult, UserId};

/// Which event to split around and how many days on each side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventWindow {
    pub event: CourseEventId,
    pub days: i64,
}

impl EventWindow {
    pub const MAX_DAYS: i64 = 7;

    /// From the `event` and `window` query parameters; defaults to the first repeating
    /// event (else the first event) and 2 days. `None` when the course has no events.
    pub fn parse(event: Option<&str>, days: Option<&str>, cv: &CourseView) -> Option<Self> {
        let visible: Vec<&Occurrence> = cv.occurrences.iter().collect();
        let chosen = event
            .and_then(|e| e.parse::<CourseEventId>().ok())
            .filter(|e| visible.iter().any(|o| o.event == *e))
            .or_else(|| {
                visible
                    .iter()
                    .find(|o| o.kind == crate::events::EventKind::Repeating)
                    .or(visible.first())
                    .map(|o| o.event)
            })?;
        let days = days
            .and_then(|d| d.parse::<i64>().ok())
            .unwrap_or(2)
            .clamp(1, Self::MAX_DAYS);
        Some(Self {
            event: chosen,
            days,
        })
    }
}

/// Each occurrence's day and its before/after day ranges.
fn windows(cv: &CourseView, w: EventWindow) -> Vec<(&Occurrence, i64)> {
    cv.occurrences
        .iter()
        .filter(|o| o.event == w.event)
        .map(|o| (o, cv.cal.day_of(o.until.unwrap_or(o.at))))
        .collect()
}

fn split_columns(first: &str, w: EventWindow) -> Vec<String> {
    vec![
        first.into(),
        format!("Views in {} days before", w.days),
        format!("Views in {} days from the event", w.days),
        "After / before".into(),
    ]
}

fn ratio(before: i64, after: i64) -> Cell {
    Cell::Num((before > 0).then(|| after as f64 / before as f64), 2)
}

fn split_cells(label: Cell, before: i64, after: i64) -> Vec<Cell> {
    vec![
        label,
        Cell::Int(before),
        Cell::Int(after),
        ratio(before, after),
    ]
}

/// Sums `value(day)` over the before and after windows of every occurrence.
fn sum_windows(
    days: &[(&Occurrence, i64)],
    w: EventWindow,
    per_day: impl Fn(i64) -> i64,
) -> (i64, i64) {
    let mut before = 0;
    let mut after = 0;
    for &(_, d) in days {
        before += (d - w.days..d).map(&per_day).sum::<i64>();
        after += (d..d + w.days).map(&per_day).sum::<i64>();
    }
    (before, after)
}

/// The span of days the windows touch.
fn span(days: &[(&Occurrence, i64)], w: EventWindow) -> (i64, i64) {
    let from = days.iter().map(|d| d.1).min().unwrap_or(0) - w.days;
    let to = days.iter().map(|d| d.1).max().unwrap_or(0) + w.days;
    (from, to)
}

/// One row per occurrence: the cohort's views before and from the event.
pub async fn comparison(store: &Store, cv: &CourseView, w: EventWindow) -> StoreResult<Table> {
    let days = windows(cv, w);
    let (from, to) = span(&days, w);
    let mut per_day: HashMap<i64, i64> = HashMap::new();
    for d in cv.cohort.course_days(store, cv.course.id, from, to).await? {
        *per_day.entry(d.day).or_default() +=
            d.content_views + d.communication_views + d.assessment_views;
    }
    let mut table = Table::new(
        "comparison",
        "Views before and from each occurrence",
        split_columns("Occurrence", w),
    );
    let (mut tb, mut ta) = (0, 0);
    for &(o, d) in &days {
        let (b, a) = sum_windows(&[(o, d)], w, |day| per_day.get(&day).copied().unwrap_or(0));
        tb += b;
        ta += a;
        let label = match o.week {
            Some(n) => format!("Week {n} ({})", day_label(d)),
            None => day_label(d),
        };
        table
            .rows
            .push(Row::on_day(d, split_cells(Cell::Text(label), b, a)));
    }
    table.totals = Some(split_cells(Cell::Text("All occurrences".into()), tb, ta));
    Ok(table)
}

/// Per resource (tree rows summing their subtree): views before and from the event, each
/// item-day weighed by the windows it lies in.
pub async fn event_split_by_item(
    store: &Store,
    cv: &CourseView,
    nodes: &[Node],
    w: EventWindow,
) -> StoreResult<Table> {
    let days = windows(cv, w);
    let weights = DayWeights::of(&days, w);
    let (from, to) = span(&days, w);
    // Each resource's views before and from the event, each item-day weighed once.
    let mut split: HashMap<ContentItemId, (i64, i64)> = HashMap::new();
    for r in cv.cohort.item_days(store, cv.course.id, from, to).await? {
        let (before, after) = weights.on(r.day);
        let s = split.entry(r.content_item_id).or_default();
        s.0 += r.views * before;
        s.1 += r.views * after;
    }
    let mut table = Table::new(
        "event-split",
        "Views around the event, per resource",
        split_columns("Resource", w),
    );
    let (mut tb, mut ta) = (0, 0);
    for node in nodes {
        let (b, a) = node
            .subtree
            .iter()
            .filter_map(|item| split.get(item))
            .fold((0, 0), |(b, a), (before, after)| (b + before, a + after));
        if node.pos.depth == 0 {
            tb += b;
            ta += a;
        }
        table.rows.push(Row {
            cells: split_cells(node.label(), b, a),
            day: None,
            tree: Some(node.pos.clone()),
        });
    }
    table.totals = Some(split_cells(Cell::Text("Total".into()), tb, ta));
    Ok(table)
}

/// How many before and after windows each day of the span lies in (windows of close
/// occurrences can overlap, and a day then counts in each, as `sum_windows` counts it).
struct DayWeights {
    from: i64,
    /// (before, after) for each day from `from` on.
    weights: Vec<(i64, i64)>,
}

impl DayWeights {
    /// For occurrences on `days` and `w`'s windows.
    fn of(days: &[(&Occurrence, i64)], w: EventWindow) -> Self {
        let (from, to) = span(days, w);
        let mut weights = vec![(0, 0); usize::try_from(to - from).unwrap_or(0)];
        for &(_, d) in days {
            for day in d - w.days..d {
                weights[(day - from) as usize].0 += 1;
            }
            for day in d..d + w.days {
                weights[(day - from) as usize].1 += 1;
            }
        }
        Self { from, weights }
    }

    /// The days in some window, ascending.
    fn days(&self) -> Vec<i64> {
        (self.from..)
            .zip(&self.weights)
            .filter(|(_, (before, after))| before + after > 0)
            .map(|(day, _)| day)
            .collect()
    }

    fn on(&self, day: i64) -> (i64, i64) {
        usize::try_from(day - self.from)
            .ok()
            .and_then(|i| self.weights.get(i))
            .copied()
            .unwrap_or((0, 0))
    }
}

/// Per student: views before and from the event, from the student-days of the window
/// days only.
pub async fn event_split_by_student(
    store: &Store,
    cv: &CourseView,
    w: EventWindow,
) -> StoreResult<Table> {
    let weights = DayWeights::of(&windows(cv, w), w);
    let people = cv.cohort.counted_people();
    let mut split: HashMap<UserId, (i64, i64)> = HashMap::with_capacity(people.len());
    for (user, day, views) in cv
        .cohort
        .student_views_on_days(store, cv.course.id, &weights.days())
        .await?
    {
        let (before, after) = weights.on(day);
        let s = split.entry(user).or_default();
        s.0 += views * before;
        s.1 += views * after;
    }
    let mut cols = split_columns("Student", w);
    cols.insert(1, IDENTIFIER.into());
    let mut table = Table::new("event-split", "Views around the event, per student", cols);
    let (mut tb, mut ta) = (0, 0);
    for p in people.iter().filter(|p| !p.is_staff) {
        let (b, a) = split.get(&p.user_id).copied().unwrap_or_default();
        tb += b;
        ta += a;
        let [name, identifier] = person_cells(p);
        let mut cells = split_cells(name, b, a);
        cells.insert(1, identifier);
        table.rows.push(Row::new(cells));
    }
    let mut totals = split_cells(Cell::Text("All students".into()), tb, ta);
    totals.insert(1, Cell::Text(String::new()));
    table.totals = Some(totals);
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every student-day weighed by its windows sums to what `sum_windows` adds up day by
    /// day, overlapping windows included.
    #[test]
    fn day_weights_count_a_day_once_per_window_it_lies_in() {
        let occurrence = Occurrence {
            event: CourseEventId(1),
            kind: crate::events::EventKind::Repeating,
            title: "Lecture".into(),
            at: crate::store::EpochMs(0),
            until: None,
            week: None,
        };
        let w = EventWindow {
            event: occurrence.event,
            days: 3,
        };
        let days = [(&occurrence, 10), (&occurrence, 12), (&occurrence, 30)];
        let weights = DayWeights::of(&days, w);
        assert_eq!(weights.on(9), (2, 0), "in both occurrences' before windows");
        assert_eq!(weights.on(10), (1, 1));
        assert_eq!(weights.on(12), (0, 2));
        assert_eq!(
            (weights.on(6), weights.on(15), weights.on(20)),
            ((0, 0), (0, 0), (0, 0))
        );
        assert_eq!(
            weights.days(),
            [7, 8, 9, 10, 11, 12, 13, 14, 27, 28, 29, 30, 31, 32]
        );
        let views = |day: i64| day * day % 7;
        let weighed = weights.days().into_iter().fold((0, 0), |(b, a), day| {
            let (wb, wa) = weights.on(day);
            (b + views(day) * wb, a + views(day) * wa)
        });
        assert_eq!(weighed, sum_windows(&days, w, views));
    }
}
