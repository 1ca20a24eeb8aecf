//! Event windows in hours: views in the exact hours before each occurrence of an event
//! against the hours from it on, for the cohort, per resource and per student.

use std::collections::HashMap;

use foldhash::{HashMap as FastMap, HashSet as FastSet};

use super::comparison::EventWindow;
use super::discussions::resource_nodes;
use super::table::{Cell, Row, Table};
use super::tree::Node;
use super::who::{IDENTIFIER, person_cells};
use super::{CourseView, day_label};
use crate::activity::hours::HOUR_MS;
use crate::events::{EventKind, Occurrence};
use crate::store::reports::Person;
use crate::store::windows::{UncountedHours, WindowViews};
use crate::store::{ContentItemId, CourseEventId, EpochMs, Store, StoreResult, UserId};

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

    /// The two windows of the split at `t`, half-open: [t − before, t) before, and
    /// [t, t + after) from the event on.
    fn sides(self, t: EpochMs) -> [(EpochMs, EpochMs); 2] {
        [
            (EpochMs(t.0 - self.before.ms()), t),
            (t, EpochMs(t.0 + self.after.ms())),
        ]
    }
}

/// The students' views in one occurrence's two windows.
struct OccurrenceViews<'a> {
    occurrence: &'a Occurrence,
    at: EpochMs,
    sides: [WindowViews; 2],
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
/// Each window is counted from the hour rollups, exactly to the millisecond (see
/// [`Store::window_views`]), its students' views only.
pub async fn hour_windows(
    store: &Store,
    cv: &CourseView,
    w: HourWindow,
) -> StoreResult<Vec<Table>> {
    let id = cv.course.id;
    let students: Vec<Person> = cv
        .cohort
        .counted_people()
        .into_iter()
        .filter(|p| !p.is_staff)
        .collect();
    let is_student: FastSet<UserId> = students.iter().map(|p| p.user_id).collect();
    let chosen: Vec<&Occurrence> = cv
        .occurrences
        .iter()
        .filter(|o| o.event == w.event)
        .collect();
    let mut uncounted = UncountedHours::default();
    let mut occurrences = Vec::new();
    for occurrence in chosen {
        let at = HourWindow::instant(occurrence);
        let mut sides: [WindowViews; 2] = Default::default();
        for (side, (from, to)) in sides.iter_mut().zip(w.sides(at)) {
            *side = store
                .window_views(id, from, to, &is_student, &mut uncounted)
                .await?;
        }
        occurrences.push(OccurrenceViews {
            occurrence,
            at,
            sides,
        });
    }
    let nodes = resource_nodes(store, id).await?;
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

/// Every window of the occurrences with the side it falls on.
fn sided<'a>(
    occurrences: &'a [OccurrenceViews<'a>],
) -> impl Iterator<Item = (&'a WindowViews, usize)> + 'a {
    occurrences
        .iter()
        .flat_map(|o| o.sides.iter().enumerate().map(|(side, v)| (v, side)))
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
        for (v, side) in sided(std::slice::from_ref(o)) {
            let views: i64 = v.by_user.values().sum();
            split[side] += views;
            total[side] += views;
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
    let mut per_item: FastMap<ContentItemId, Split> = FastMap::default();
    for (v, side) in sided(occurrences) {
        for (item, views) in &v.by_item {
            per_item.entry(*item).or_default()[side] += views;
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
            cells: split_cells(node.label(), split),
            day: None,
            tree: Some(node.pos.clone()),
        });
    }
    table.totals = Some(split_cells(Cell::Text("Total".into()), total));
    table
}

fn by_student(w: HourWindow, occurrences: &[OccurrenceViews], students: &[Person]) -> Table {
    let mut per_student: FastMap<UserId, Split> = FastMap::default();
    for (v, side) in sided(occurrences) {
        for (user, views) in &v.by_user {
            per_student.entry(*user).or_default()[side] += views;
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
/// come from the student-day rollup; the due day up to the due time from the student-hour
/// rollup, exactly.
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
    let mut early = store
        .item_students_on_days(id, item, (i64::MIN, due_day))
        .await?;
    // Of those who opened it on the due day and not before, the times tell who did before
    // the due time.
    let due_day_only: Vec<UserId> = store
        .item_students_on_days(id, item, (due_day, due_day + 1))
        .await?
        .into_iter()
        .filter(|user| !early.contains(user))
        .collect();
    early.extend(
        store
            .views_in(id, (cv.day_start(due_day), due), &due_day_only)
            .await?
            .into_iter()
            .filter(|v| v.content_item_id == Some(item))
            .map(|v| v.user_id),
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
            let mut cells = Vec::from(person_cells(p));
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
    fn the_windows_meet_at_the_event_instant() {
        let w = HourWindow {
            event: CourseEventId(1),
            before: Hours(48),
            after: Hours(1),
        };
        let t = EpochMs(1_000 * HOUR_MS + 59 * 60_000);
        let [before, after] = w.sides(t);
        assert_eq!(before, (EpochMs(t.0 - 48 * HOUR_MS), t));
        assert_eq!(after, (t, EpochMs(t.0 + HOUR_MS)));
    }
}
