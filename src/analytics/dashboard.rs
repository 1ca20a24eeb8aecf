//! The course dashboard: daily views by group, daily metrics, the histogram of students by
//! views and the top-10 tables. Reads only rollups and small tables.

use std::collections::HashMap;

use super::discussions::loose_discussions;
use super::table::{Cell, Row, Table};
use super::who::{IDENTIFIER, person_cells};
use super::{CourseView, Range, day_label};
use crate::store::reports::{CourseDay, Person};
use crate::store::{ContentItemId, Store, StoreResult, UserId};

/// Everything the dashboard shows.
#[derive(Clone, Debug)]
pub struct Dashboard {
    /// Date, content, communication, assessment views, then the day metrics.
    pub daily: Table,
    pub histogram: Table,
    pub top_content: Table,
    pub top_communication: Table,
    pub visitors: Table,
    pub top_assessment: Table,
}

const TOP: usize = 10;
const BINS: i64 = 10;

pub async fn dashboard(store: &Store, cv: &CourseView, range: Range) -> StoreResult<Dashboard> {
    let id = cv.course.id;
    let (from, to) = cv.days(range);
    let cohort = &cv.cohort;
    // The course's posts, tree and span are read on other connections while the cohort's
    // days are (the cohort's later figures reuse the days it reads first).
    let (days, recorded, tree, posts) = tokio::try_join!(
        cohort.course_days(store, id, from, to),
        store.course_activity_span(id),
        store.content_tree(id),
        cohort.posts(store, id),
    )?;
    // When every recorded day lies in the range, the all-days totals are the range's.
    let whole = recorded.is_none_or(|(first, last)| first >= from && last < to);
    let per_student = cohort.student_totals(store, id, (from, to)).await?;
    let item_totals = cohort.item_totals(store, id, (from, to), whole).await?;
    let people = cohort.counted_people();

    let span = (to - from) as usize;
    let mut by_day = vec![CourseDay::default(); span];
    for d in days {
        by_day[(d.day - from) as usize] = d;
    }
    let mut daily = Table::new(
        "daily",
        "Page views per day by group, and daily activity metrics",
        [
            "Date",
            "Content views",
            "Communication views",
            "Assessment views",
            "Unique pages viewed",
            "Active students",
            "Sessions",
            "Average session (min)",
            "Page views per session",
        ]
        .map(String::from)
        .to_vec(),
    );
    for (i, d) in by_day.iter().enumerate() {
        let day = from + i as i64;
        let sessions = d.sessions;
        let per_session = |x: f64| (sessions > 0).then(|| x / sessions as f64);
        daily.rows.push(Row::on_day(
            day,
            vec![
                Cell::Text(day_label(day)),
                Cell::Int(d.content_views),
                Cell::Int(d.communication_views),
                Cell::Int(d.assessment_views),
                Cell::Int(d.pages_viewed),
                Cell::Int(d.active_students),
                Cell::Int(sessions),
                Cell::Num(per_session(d.active_ms as f64 / 60_000.0), 1),
                Cell::Num(per_session(d.views as f64), 1),
            ],
        ));
    }

    let by_id: HashMap<UserId, &Person> = people.iter().map(|p| (p.user_id, p)).collect();
    let histogram = histogram(&people, &per_student);

    let mut visitors_sorted = per_student.clone();
    visitors_sorted.sort_by(|a, b| b.views.cmp(&a.views).then(a.user_id.cmp(&b.user_id)));
    let mut visitors = Table::new(
        "visitors",
        "Top 10 visitors by page views",
        ["Name", IDENTIFIER, "Role", "Page views"]
            .map(String::from)
            .to_vec(),
    );
    for s in visitors_sorted.iter().take(TOP) {
        // Views can name someone no longer in the roster: shown by id, with no roles.
        let (mut cells, roles) = match by_id.get(&s.user_id) {
            Some(p) => (Vec::from(person_cells(p)), p.roles.as_str()),
            None => (
                vec![
                    Cell::Student(s.user_id, display_name("", s.user_id)),
                    Cell::Text(String::new()),
                ],
                "",
            ),
        };
        cells.push(Cell::Text(roles.replace(' ', ", ")));
        cells.push(Cell::Int(s.views));
        visitors.rows.push(Row::new(cells));
    }

    let group_of: HashMap<ContentItemId, (&str, &str)> = tree
        .iter()
        .map(|t| (t.id, (t.item_group.as_str(), t.title.as_str())))
        .collect();
    let top_items = |group: &str| {
        let mut items: Vec<(ContentItemId, i64, Option<i64>)> = item_totals
            .iter()
            .filter(|(item, _, _)| group_of.get(item).is_some_and(|(g, _)| *g == group))
            .copied()
            .collect();
        items.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        items.truncate(TOP);
        items
    };

    let mut top_content = Table::new(
        "top-content",
        "Top 10 content by page views",
        ["Resource", "Students", "Page views"]
            .map(String::from)
            .to_vec(),
    );
    // Discussions outside the tree rank with the tree's forums: by page views where
    // activity counted them on their own item, else by posts with views blank.
    let staff = cohort.staff();
    let (from_ms, to_ms) = (cv.day_start(from), cv.day_start(to));
    let loose = loose_discussions(store, id, &posts).await?;
    let totals_of: HashMap<ContentItemId, (i64, Option<i64>)> = item_totals
        .iter()
        .map(|(item, views, students)| (*item, (*views, *students)))
        .collect();
    // Unique students over a part of the course are counted from the student-days, in one
    // read for every listed item (the course's totals hold them for the whole course).
    let (content, communication) = (top_items("content"), top_items("communication"));
    let loose_items = loose
        .iter()
        .filter_map(|d| d.forum.views_item)
        .filter(|item| totals_of.get(item).is_some_and(|(_, s)| s.is_none()));
    let uncounted: Vec<ContentItemId> = content
        .iter()
        .chain(&communication)
        .filter(|(_, _, students)| students.is_none())
        .map(|(item, _, _)| *item)
        .chain(loose_items)
        .collect();
    let counted = cohort
        .items_unique_students(store, id, &uncounted, (from, to))
        .await?;
    let students_of = |item: ContentItemId, students: Option<i64>| {
        students.unwrap_or_else(|| counted.get(&item).copied().unwrap_or(0))
    };
    for (item, views, students) in content {
        let students = students_of(item, students);
        top_content.rows.push(Row::new(vec![
            Cell::Item(item, group_of[&item].1.to_string()),
            Cell::Int(students),
            Cell::Int(views),
        ]));
    }

    let mut posts_by_item: HashMap<ContentItemId, i64> = HashMap::new();
    for p in posts
        .iter()
        .filter(|p| p.posted_at >= from_ms && p.posted_at < to_ms)
    {
        if let Some(item) = p.content_item_id {
            *posts_by_item.entry(item).or_default() += 1;
        }
    }
    let mut top_communication = Table::new(
        "top-communication",
        "Top 10 communication by page views",
        ["Forum", "Students", "Page views", "Posts"]
            .map(String::from)
            .to_vec(),
    );
    // (title, students, page views if known, posts)
    let mut forums: Vec<(Cell, i64, Option<i64>, i64)> = communication
        .into_iter()
        .map(|(item, views, students)| {
            (
                Cell::Item(item, group_of[&item].1.to_string()),
                students_of(item, students),
                Some(views),
                posts_by_item.get(&item).copied().unwrap_or(0),
            )
        })
        .collect();
    for d in loose {
        let posts = d.posts_in(from_ms, to_ms);
        let viewed = d.forum.views_item.and_then(|item| {
            let (views, students) = *totals_of.get(&item)?;
            Some((views, students_of(item, students)))
        });
        let (students, views) = match viewed {
            Some((views, students)) => (students, Some(views)),
            None => (d.posters(from_ms, to_ms, &staff) as i64, None),
        };
        if posts > 0 || views.is_some_and(|v| v > 0) {
            forums.push((Cell::Text(d.forum.title), students, views, posts));
        }
    }
    forums.sort_by_key(|(_, _, views, posts)| std::cmp::Reverse((views.unwrap_or(0), *posts)));
    for (title, students, views, posts) in forums.into_iter().take(TOP) {
        top_communication.rows.push(Row::new(vec![
            title,
            Cell::Int(students),
            views.map_or(Cell::Num(None, 0), Cell::Int),
            Cell::Int(posts),
        ]));
    }

    let assessments = store.course_assessments(id).await?;
    let attempts = cohort.attempts(store.course_attempts(id).await?);
    let mut top_assessment = Table::new(
        "top-assessment",
        "Top 10 assessments by attempts",
        ["Assessment", "Students", "Attempts", "Average score"]
            .map(String::from)
            .to_vec(),
    );
    let mut rows: Vec<(i64, Row)> = Vec::new();
    for a in &assessments {
        let mine: Vec<_> = attempts
            .iter()
            .filter(|t| {
                t.assessment_id == a.id && t.at.is_some_and(|at| at >= from_ms && at < to_ms)
            })
            .collect();
        if mine.is_empty() {
            continue;
        }
        let mut students: Vec<UserId> = mine.iter().map(|t| t.user_id).collect();
        students.sort();
        students.dedup();
        let scores: Vec<f64> = mine.iter().filter_map(|t| t.score).collect();
        let avg = (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64);
        let name = match a.content_item_id {
            Some(item) => Cell::Item(item, a.name.clone()),
            None => Cell::Text(a.name.clone()),
        };
        rows.push((
            mine.len() as i64,
            Row::new(vec![
                name,
                Cell::Int(students.len() as i64),
                Cell::Int(mine.len() as i64),
                Cell::Num(avg, 1),
            ]),
        ));
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    top_assessment.rows = rows.into_iter().take(TOP).map(|(_, r)| r).collect();

    Ok(Dashboard {
        daily,
        histogram,
        top_content,
        top_communication,
        visitors,
        top_assessment,
    })
}

/// Students (non-staff enrolments and anyone else seen) by page views in ten equal bins,
/// with those who viewed nothing in a bin of their own.
fn histogram(
    people: &[crate::store::reports::Person],
    per_student: &[crate::store::reports::StudentTotals],
) -> Table {
    let staff: std::collections::HashSet<UserId> = people
        .iter()
        .filter(|p| p.is_staff)
        .map(|p| p.user_id)
        .collect();
    let mut views: HashMap<UserId, i64> = people
        .iter()
        .filter(|p| !p.is_staff)
        .map(|p| (p.user_id, 0))
        .collect();
    for s in per_student.iter().filter(|s| !staff.contains(&s.user_id)) {
        views.insert(s.user_id, s.views);
    }
    let max = views.values().copied().max().unwrap_or(0);
    let width = ((max + BINS - 1) / BINS).max(1);
    let mut counts = vec![0i64; BINS as usize + 1];
    for &v in views.values() {
        let bin = if v == 0 {
            0
        } else {
            ((v - 1) / width + 1).min(BINS) as usize
        };
        counts[bin] += 1;
    }
    let mut table = Table::new(
        "histogram",
        "Students by page views",
        ["Page views", "Students"].map(String::from).to_vec(),
    );
    for (bin, n) in counts.into_iter().enumerate() {
        let label = if bin == 0 {
            "0".to_string()
        } else {
            let lo = (bin as i64 - 1) * width + 1;
            format!("{lo}–{}", lo + width - 1)
        };
        table
            .rows
            .push(Row::new(vec![Cell::Text(label), Cell::Int(n)]));
    }
    table
}

/// A person's name, or a stable placeholder when the LMS sent none.
pub fn display_name(name: &str, id: UserId) -> String {
    if name.trim().is_empty() {
        format!("User #{id}")
    } else {
        name.to_string()
    }
}
