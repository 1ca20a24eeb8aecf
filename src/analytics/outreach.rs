//! The outreach lists: students to contact because they are inactive, have not opened a
//! resource, have not attempted an assessment, or whose weekly views dropped.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::discussions::resource_nodes;
use super::table::{Cell, Row, Table, pct};
use super::tree::Node;
use super::who::{IDENTIFIER, person_cells};
use super::{CourseView, day_label};
use crate::store::reports::Person;
use crate::store::{ContentItemId, CourseId, EpochMs, Store, StoreResult, UserId};

const DAY_MS: i64 = 86_400_000;

/// The page's choices as they arrive (GET form); anything unusable falls back to a default.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct OutreachQuery {
    pub days: Option<String>,
    pub item: Option<String>,
    pub due: Option<String>,
    pub week: Option<String>,
    pub drop: Option<String>,
    pub left: Option<String>,
}

/// The choices behind the four lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutreachParams {
    /// No activity in the last this many days.
    pub inactive_days: i64,
    /// The resource or folder not opened (a node's item id: the group of discussions
    /// outside the tree has a negative one).
    pub item: Option<ContentItemId>,
    /// Assessments due within this many days.
    pub due_days: i64,
    /// The week whose views are compared with the weeks before it (none before week 2).
    pub week: Option<i64>,
    /// A drop of more than this percentage.
    pub drop_pct: i64,
    pub include_left: bool,
}

impl OutreachParams {
    pub const MAX_DAYS: i64 = 365;

    /// Reads the query; the week defaults to the last complete teaching week.
    pub fn parse(q: &OutreachQuery, cv: &CourseView, today: i64) -> Self {
        let number = |v: &Option<String>, lo: i64, hi: i64| {
            v.as_deref()
                .and_then(|s| s.trim().parse::<i64>().ok())
                .filter(|n| (lo..=hi).contains(n))
        };
        let weeks = cv.cal.weeks;
        let last_complete = (cv.cal.week_of(today) - 1).min(weeks);
        Self {
            inactive_days: number(&q.days, 1, Self::MAX_DAYS).unwrap_or(7),
            item: number(&q.item, i64::MIN, i64::MAX).map(ContentItemId),
            due_days: number(&q.due, 1, Self::MAX_DAYS).unwrap_or(7),
            week: number(&q.week, 2, weeks).or((last_complete >= 2).then_some(last_complete)),
            drop_pct: number(&q.drop, 1, 100).unwrap_or(50),
            include_left: q.left.as_deref().is_some_and(|v| !v.is_empty()),
        }
    }
}

/// One list: its table and the sentence saying how it was computed.
#[derive(Clone, Debug)]
pub struct OutreachList {
    pub table: Table,
    pub how: String,
}

/// The lists, and the resources and folders the page offers to choose from.
#[derive(Clone, Debug)]
pub struct Outreach {
    pub lists: Vec<OutreachList>,
    /// Every resource in tree order, titles indented by depth; folders say so.
    pub choices: Vec<(ContentItemId, String)>,
}

/// The four lists, computed at `now` from the rollups, the roster and the gradebook.
pub async fn outreach(
    store: &Store,
    cv: &CourseView,
    p: OutreachParams,
    now: EpochMs,
) -> StoreResult<Outreach> {
    let id = cv.course.id;
    let nodes = resource_nodes(store, id).await?;
    let students: Vec<Person> = cv
        .cohort
        .counted_people()
        .into_iter()
        .filter(|s| !s.is_staff && (s.active || p.include_left))
        .collect();
    let last: HashMap<UserId, (i64, String)> = store
        .last_active_days(id)
        .await?
        .into_iter()
        .map(|(user, day)| (user, (day, day_label(day))))
        .collect();
    let who = Who {
        last: &last,
        left_note: if p.include_left {
            "Students who left the course are included and marked \u{201c}left\u{201d}."
        } else {
            "Students who left the course are left out."
        },
    };
    let today = cv.cal.day_of(now);
    let lists = vec![
        inactive(&students, &who, p, today),
        not_opened(store, id, &nodes, &students, &who, p).await?,
        assessments(store, cv, &students, &who, p, now).await?,
        weekly_drop(store, cv, &students, &who, p).await?,
    ];
    let choices = nodes
        .iter()
        .map(|n| {
            let folder = if n.pos.folder { " (folder)" } else { "" };
            let indent = "\u{2014} ".repeat(n.pos.depth);
            (n.item.id, format!("{indent}{}{folder}", n.item.title))
        })
        .collect();
    Ok(Outreach { lists, choices })
}

/// The columns every list starts with, and how they are filled.
struct Who<'a> {
    /// Each student's last day with a page view, and its label (a student is in several
    /// lists).
    last: &'a HashMap<UserId, (i64, String)>,
    left_note: &'static str,
}

impl Who<'_> {
    fn table(&self, id: &str, caption: String, extra: &[&str]) -> Table {
        let mut cols: Vec<String> = ["Student", IDENTIFIER, "Email", "Enrolment", "Last activity"]
            .map(String::from)
            .to_vec();
        cols.extend(extra.iter().map(|c| c.to_string()));
        Table::new(id, caption, cols)
    }

    fn cells(&self, s: &Person, extra: Vec<Cell>) -> Row {
        let mut cells = Vec::with_capacity(5 + extra.len());
        cells.extend(person_cells(s));
        cells.extend([
            Cell::Text(s.email.clone().unwrap_or_default()),
            Cell::Text(if s.active { "" } else { "left" }.into()),
            Cell::Text(
                self.last
                    .get(&s.user_id)
                    .map_or("never", |(_, label)| label.as_str())
                    .into(),
            ),
        ]);
        cells.extend(extra);
        Row::new(cells)
    }
}

fn inactive(students: &[Person], who: &Who<'_>, p: OutreachParams, today: i64) -> OutreachList {
    let n = p.inactive_days;
    let mut table = who.table(
        "inactive",
        format!("Students with no activity in the last {n} days"),
        &["Days since last activity"],
    );
    for s in students {
        match who.last.get(&s.user_id) {
            Some(&(day, _)) if day > today - n => {}
            Some(&(day, _)) => table.rows.push(who.cells(s, vec![Cell::Int(today - day)])),
            None => table
                .rows
                .push(who.cells(s, vec![Cell::Text("never".into())])),
        }
    }
    let how = format!(
        "Listed: students with no page view on the {n} local days from {} to today ({}), in the \
         course time zone; days since last activity counts from their last day with a page view. {}",
        day_label(today - n + 1),
        day_label(today),
        who.left_note
    );
    OutreachList { table, how }
}

async fn not_opened(
    store: &Store,
    course: CourseId,
    nodes: &[Node],
    students: &[Person],
    who: &Who<'_>,
    p: OutreachParams,
) -> StoreResult<OutreachList> {
    let chosen = p.item.and_then(|i| nodes.iter().find(|n| n.item.id == i));
    let Some(chosen) = chosen else {
        let table = who.table(
            "not-opened",
            "Students who have not opened a resource".into(),
            &["Page views in the course"],
        );
        let how = "Choose a resource or folder above to list the students who have not opened it.";
        return Ok(OutreachList {
            table,
            how: how.into(),
        });
    };
    let selection: HashSet<ContentItemId> = chosen.subtree.iter().copied().collect();
    let title = &chosen.item.title;
    let mut opened: HashSet<UserId> = HashSet::new();
    let mut course_views: HashMap<UserId, i64> = HashMap::new();
    for (user, items) in store.student_items(course).await? {
        for (item, views) in items {
            *course_views.entry(user).or_default() += views;
            if views > 0 && selection.contains(&ContentItemId(item)) {
                opened.insert(user);
            }
        }
    }
    let mut table = who.table(
        "not-opened",
        format!("Students who have not opened \u{201c}{}\u{201d}", title),
        &["Page views in the course"],
    );
    for s in students.iter().filter(|s| !opened.contains(&s.user_id)) {
        let views = course_views.get(&s.user_id).copied().unwrap_or(0);
        table.rows.push(who.cells(s, vec![Cell::Int(views)]));
    }
    let scope = if selection.len() > 1 {
        format!(
            "the folder \u{201c}{}\u{201d} or any of the {} items under it",
            title,
            selection.len() - 1
        )
    } else {
        format!("\u{201c}{}\u{201d}", title)
    };
    let how = format!(
        "Listed: students with no recorded page view of {scope}, ever; page views in the course \
         are all their recorded views of the course's resources. {}",
        who.left_note
    );
    Ok(OutreachList { table, how })
}

async fn assessments(
    store: &Store,
    cv: &CourseView,
    students: &[Person],
    who: &Who<'_>,
    p: OutreachParams,
    now: EpochMs,
) -> StoreResult<OutreachList> {
    let id = cv.course.id;
    let n = p.due_days;
    let horizon = now.0 + n * DAY_MS;
    let attempted: HashSet<_> = store
        .course_attempts(id)
        .await?
        .into_iter()
        .map(|a| (a.assessment_id, a.user_id))
        .collect();
    let mut due: Vec<_> = store
        .assessments(id)
        .await?
        .into_iter()
        .filter(|a| a.removed_at.is_none())
        .filter_map(|a| a.due_at.filter(|d| d.0 <= horizon).map(|d| (d, a)))
        .collect();
    due.sort_by_key(|(d, a)| (*d, a.id));
    let mut table = who.table(
        "assessments",
        format!("Students with no attempt at an assessment due within {n} days, or missed"),
        &["Assessment", "Due", "Status", "Hours to due"],
    );
    for (at, a) in &due {
        let status = if at.0 > now.0 { "due soon" } else { "missed" };
        let due_at = cv.cal.format(*at);
        for s in students
            .iter()
            .filter(|s| !attempted.contains(&(a.id, s.user_id)))
        {
            table.rows.push(who.cells(
                s,
                vec![
                    Cell::Text(a.name.clone()),
                    Cell::Text(due_at.clone()),
                    Cell::Text(status.into()),
                    Cell::Int((at.0 - now.0).div_euclid(3_600_000)),
                ],
            ));
        }
    }
    let how = format!(
        "Listed: for each gradebook column due from now ({}) to {n} days ahead, the students \
         with no attempt at it (\u{201c}due soon\u{201d}), and for each column already due, \
         the students with no attempt at all (\u{201c}missed\u{201d}); hours to due are \
         negative once past. {}",
        cv.cal.format(now),
        who.left_note
    );
    Ok(OutreachList { table, how })
}

async fn weekly_drop(
    store: &Store,
    cv: &CourseView,
    students: &[Person],
    who: &Who<'_>,
    p: OutreachParams,
) -> StoreResult<OutreachList> {
    let x = p.drop_pct;
    let Some(week) = p.week else {
        let table = who.table(
            "drop",
            format!("Students whose weekly views fell by more than {x}%"),
            &["Average before", "Views that week", "Change"],
        );
        let how = "A drop needs a complete teaching week with at least one week before it; \
                   none has passed yet.";
        return Ok(OutreachList {
            table,
            how: how.into(),
        });
    };
    let earlier = week - 1;
    let (start, _) = cv.cal.week_days(1);
    let (week_from, week_to) = cv.cal.week_days(week);
    let mut before_week = HashMap::new();
    let mut in_week = HashMap::new();
    for (user, before, during) in store
        .student_views_split(cv.course.id, start, week_from, week_to)
        .await?
    {
        before_week.insert(user, before);
        in_week.insert(user, during);
    }
    let mut table = who.table(
        "drop",
        format!("Students whose views in week {week} fell by more than {x}%"),
        &[
            &format!("Average W1\u{2013}W{earlier}"),
            &format!("Views W{week}"),
            "Change",
        ],
    );
    for s in students {
        let before = before_week.get(&s.user_id).copied().unwrap_or(0);
        let this = in_week.get(&s.user_id).copied().unwrap_or(0);
        // (average - this) / average > x / 100, with average = before / earlier, in integers.
        if before > 0 && 100 * (before - this * earlier) > x * before {
            let average = before as f64 / earlier as f64;
            table.rows.push(who.cells(
                s,
                vec![
                    Cell::Num(Some(average), 1),
                    Cell::Int(this),
                    pct(this as f64 - average, average),
                ],
            ));
        }
    }
    let how = format!(
        "Listed: students whose page views in week {week} ({} to {}) are more than {x}% below \
         their own weekly average over weeks 1 to {earlier}; students with no views before \
         week {week} are not listed. {}",
        day_label(week_from),
        day_label(week_to - 1),
        who.left_note
    );
    Ok(OutreachList { table, how })
}
