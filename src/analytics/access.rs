//! Content, communication and assessment access: resource trees × weeks (or days of one
//! week) as heat maps, with row totals, % of total and a totals row; the event split; and
//! the grades matrix.

use std::collections::{HashMap, HashSet};

use super::comparison::{EventWindow, event_split_by_item};
use super::discussions::{BucketedDiscussions, discussion_nodes, loose_discussions};
use super::table::{Cell, Row, Table, pct};
use super::tree::{Node, flatten};
use super::who::{IDENTIFIER, person_cells};
use super::{Bucket, CourseView, Range};
use crate::store::item_students::{ItemBucketStudents, StudentSet};
use crate::store::{ContentItemId, Store, StoreResult, UserId};

/// The three resource groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Group {
    Content,
    Communication,
    Assessment,
}

impl Group {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Content => "content",
            Self::Communication => "communication",
            Self::Assessment => "assessment",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::Content => "Content access",
            Self::Communication => "Communication access",
            Self::Assessment => "Assessment access",
        }
    }

    /// The tabs this group's page offers, in order.
    pub fn tabs(self) -> &'static [AccessTab] {
        match self {
            Self::Content => &[AccessTab::Views, AccessTab::Students, AccessTab::Events],
            Self::Communication => &[
                AccessTab::Views,
                AccessTab::Posts,
                AccessTab::Students,
                AccessTab::Events,
            ],
            Self::Assessment => &[
                AccessTab::Attempts,
                AccessTab::Views,
                AccessTab::Students,
                AccessTab::Events,
                AccessTab::Grades,
            ],
        }
    }
}

/// What an access page's table counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessTab {
    Views,
    Students,
    Posts,
    Attempts,
    Events,
    Grades,
}

impl AccessTab {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Views => "views",
            Self::Students => "students",
            Self::Posts => "posts",
            Self::Attempts => "attempts",
            Self::Events => "events",
            Self::Grades => "grades",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Views => "Page views",
            Self::Students => "Unique students",
            Self::Posts => "Posts",
            Self::Attempts => "Attempts",
            Self::Events => "Events",
            Self::Grades => "Grades",
        }
    }

    /// The tab named in the query, if this group offers it; else the group's first.
    pub fn parse(text: Option<&str>, group: Group) -> Self {
        group
            .tabs()
            .iter()
            .copied()
            .find(|t| Some(t.as_str()) == text)
            .unwrap_or(group.tabs()[0])
    }
}

/// The tables of one access page: the main one, and (for counts over time) the totals per
/// week or day that the chart draws.
pub async fn access(
    store: &Store,
    cv: &CourseView,
    group: Group,
    tab: AccessTab,
    range: Range,
    window: Option<EventWindow>,
) -> StoreResult<Vec<Table>> {
    let id = cv.course.id;
    let tree = store.content_tree(id).await?;
    let nodes = flatten(&tree, group.as_str());
    let buckets = cv.buckets(range);
    let (from, to) = cv.days(range);
    let width = buckets[0].to - buckets[0].from;
    let bucket_of = |day: i64| -> Option<usize> {
        (day >= from && day < to).then(|| ((day - from) / width) as usize)
    };
    // Discussions outside the tree count their posts and posters on the Communication page
    // (and are listed, blank, where what is counted is not known for them).
    let posts = match tab {
        AccessTab::Views | AccessTab::Posts | AccessTab::Students
            if group == Group::Communication =>
        {
            cv.cohort.posts(store, id).await?
        }
        _ => Vec::new(),
    };
    let discussions = match tab {
        AccessTab::Views | AccessTab::Posts | AccessTab::Students
            if group == Group::Communication =>
        {
            let staff = cv.cohort.staff();
            Some(BucketedDiscussions::new(
                loose_discussions(store, id, &posts).await?,
                buckets.len(),
                |at| bucket_of(cv.cal.day_of(at)),
                &staff,
            ))
        }
        _ => None,
    };
    match tab {
        AccessTab::Grades => return Ok(vec![grades(store, cv).await?]),
        AccessTab::Events => {
            let mut nodes = nodes;
            if group == Group::Communication {
                nodes.extend(discussion_nodes(&store.discussions_outside_tree(id).await?));
            }
            return Ok(match window {
                Some(w) => vec![event_split_by_item(store, cv, &nodes, w).await?],
                None => Vec::new(),
            });
        }
        AccessTab::Students => {
            // The tree's items, and those whose views stand for a discussion outside it.
            let loose = discussions.iter().flat_map(|d| d.viewed_items());
            let items: Vec<ContentItemId> = nodes.iter().map(|n| n.item.id).chain(loose).collect();
            let sets = cv
                .cohort
                .item_bucket_students(store, id, &items, (from, to), (width, buckets.len()))
                .await?;
            return Ok(student_tables(
                &nodes,
                &buckets,
                sets,
                discussions.as_ref(),
                tab,
            ));
        }
        AccessTab::Views | AccessTab::Posts | AccessTab::Attempts => {}
    }
    let mut counts: HashMap<ContentItemId, Vec<i64>> = HashMap::new();
    let mut add = |item: ContentItemId, bucket: usize, n: i64| {
        counts.entry(item).or_insert_with(|| vec![0; buckets.len()])[bucket] += n;
    };
    match tab {
        AccessTab::Views => {
            for r in cv.cohort.item_days(store, id, from, to).await? {
                if let Some(b) = bucket_of(r.day) {
                    add(r.content_item_id, b, r.views);
                }
            }
        }
        AccessTab::Posts => {
            for p in posts {
                if let (Some(item), Some(b)) =
                    (p.content_item_id, bucket_of(cv.cal.day_of(p.posted_at)))
                {
                    add(item, b, 1);
                }
            }
        }
        _ => {
            for a in cv.cohort.attempts(store.course_attempts(id).await?) {
                let day = a.at.map(|t| cv.cal.day_of(t));
                if let (Some(item), Some(b)) = (a.content_item_id, day.and_then(bucket_of)) {
                    add(item, b, 1);
                }
            }
        }
    }
    Ok(count_tables(
        &nodes,
        &buckets,
        &counts,
        discussions.as_ref(),
        tab,
    ))
}

fn columns(first: &str, buckets: &[Bucket]) -> Vec<String> {
    let mut cols = vec![first.to_string()];
    cols.extend(buckets.iter().map(|b| b.label.clone()));
    cols.push("Total".into());
    cols.push("% of total".into());
    cols
}

fn count_tables(
    nodes: &[Node],
    buckets: &[Bucket],
    counts: &HashMap<ContentItemId, Vec<i64>>,
    discussions: Option<&BucketedDiscussions>,
    tab: AccessTab,
) -> Vec<Table> {
    let n = buckets.len();
    let subtree_sum = |node: &Node| -> Vec<i64> {
        let mut v = vec![0; n];
        for item in &node.subtree {
            if let Some(c) = counts.get(item) {
                v.iter_mut().zip(c).for_each(|(a, b)| *a += b);
            }
        }
        v
    };
    let mut bucket_totals = vec![0i64; n];
    for node in nodes.iter().filter(|n| n.pos.depth == 0) {
        bucket_totals
            .iter_mut()
            .zip(subtree_sum(node))
            .for_each(|(a, b)| *a += b);
    }
    if let Some(d) = discussions {
        let own = match tab {
            AccessTab::Posts => d.post_totals(),
            _ => d.view_totals(counts),
        };
        bucket_totals.iter_mut().zip(own).for_each(|(a, b)| *a += b);
    }
    let grand: i64 = bucket_totals.iter().sum();
    let mut table = Table::new("access", tab.label(), columns("Resource", buckets));
    table.heat = Some((1, 1 + n));
    for node in nodes {
        let values = subtree_sum(node);
        let total: i64 = values.iter().sum();
        let mut cells = vec![Cell::Item(node.item.id, node.item.title.clone())];
        cells.extend(values.into_iter().map(Cell::Int));
        cells.push(Cell::Int(total));
        cells.push(pct(total as f64, grand as f64));
        table.rows.push(Row {
            cells,
            day: None,
            tree: Some(node.pos.clone()),
        });
    }
    table
        .rows
        .extend(discussions.map_or_else(Vec::new, |d| match tab {
            AccessTab::Posts => d.post_rows(grand),
            _ => d.view_rows(counts, grand),
        }));
    let mut totals = vec![Cell::Text("Total".into())];
    totals.extend(bucket_totals.iter().map(|&t| Cell::Int(t)));
    totals.push(Cell::Int(grand));
    totals.push(pct(grand as f64, grand as f64));
    table.totals = Some(totals);
    vec![table, series(buckets, &bucket_totals, tab)]
}

fn student_tables(
    nodes: &[Node],
    buckets: &[Bucket],
    mut sets: ItemBucketStudents,
    discussions: Option<&BucketedDiscussions>,
    tab: AccessTab,
) -> Vec<Table> {
    let n = buckets.len();
    // Discussions count their posters with their viewers, as sets of user ids.
    let viewers: HashMap<ContentItemId, Vec<HashSet<UserId>>> = discussions
        .into_iter()
        .flat_map(|d| d.viewed_items())
        .filter_map(|item| {
            let per = sets.items.get(&item)?;
            let ids = |s: &StudentSet| s.iter().map(|i| sets.students.user(i)).collect();
            Some((item, per.iter().map(ids).collect()))
        })
        .collect();
    let mut discussed = vec![StudentSet::default(); n];
    if let Some(d) = discussions {
        for (bucket, students) in discussed.iter_mut().zip(d.student_sets(&viewers)) {
            students
                .into_iter()
                .for_each(|u| bucket.insert(sets.students.number(u)));
        }
    }
    let union = |items: &[ContentItemId]| -> (Vec<StudentSet>, StudentSet) {
        let mut per = vec![StudentSet::default(); n];
        for item in items {
            if let Some(s) = sets.items.get(item) {
                per.iter_mut().zip(s).for_each(|(a, b)| a.union_with(b));
            }
        }
        let mut all = StudentSet::default();
        per.iter().for_each(|s| all.union_with(s));
        (per, all)
    };
    let every: Vec<ContentItemId> = nodes.iter().map(|n| n.item.id).collect();
    let (mut per_all, mut all) = union(&every);
    for (bucket, students) in per_all.iter_mut().zip(&discussed) {
        all.union_with(students);
        bucket.union_with(students);
    }
    let mut table = Table::new("access", tab.label(), columns("Resource", buckets));
    table.heat = Some((1, 1 + n));
    for node in nodes {
        let (per, total) = union(&node.subtree);
        let mut cells = vec![Cell::Item(node.item.id, node.item.title.clone())];
        cells.extend(per.iter().map(|s| Cell::Int(s.len() as i64)));
        cells.push(Cell::Int(total.len() as i64));
        cells.push(pct(total.len() as f64, all.len() as f64));
        table.rows.push(Row {
            cells,
            day: None,
            tree: Some(node.pos.clone()),
        });
    }
    table.rows.extend(
        discussions
            .map(|d| d.student_rows(&viewers, all.len()))
            .unwrap_or_default(),
    );
    let counts: Vec<i64> = per_all.iter().map(|s| s.len() as i64).collect();
    let mut totals = vec![Cell::Text("All resources".into())];
    totals.extend(counts.iter().map(|&c| Cell::Int(c)));
    totals.push(Cell::Int(all.len() as i64));
    totals.push(pct(all.len() as f64, all.len() as f64));
    table.totals = Some(totals);
    vec![table, series(buckets, &counts, tab)]
}

/// The totals row as a time series (one row per week or day) for the chart.
fn series(buckets: &[Bucket], values: &[i64], tab: AccessTab) -> Table {
    let mut t = Table::new(
        "over-time",
        format!("{} over time", tab.label()),
        vec!["Period".into(), tab.label().into()],
    );
    for (b, &v) in buckets.iter().zip(values) {
        t.rows.push(Row::on_day(
            b.from,
            vec![Cell::Text(b.label.clone()), Cell::Int(v)],
        ));
    }
    t
}

/// Student × assessment matrix of latest grades.
async fn grades(store: &Store, cv: &CourseView) -> StoreResult<Table> {
    let id = cv.course.id;
    let assessments = store.course_assessments(id).await?;
    let grades = store.course_grades(id).await?;
    let people = cv.cohort.counted_people();
    let mut cols = vec!["Student".to_string(), IDENTIFIER.to_string()];
    cols.extend(assessments.iter().map(|a| a.name.clone()));
    let mut table = Table::new("grades", "Latest grade per student and assessment", cols);
    let by_key: HashMap<_, _> = grades
        .iter()
        .map(|g| ((g.user_id, g.assessment_id), g))
        .collect();
    for p in people.iter().filter(|p| !p.is_staff) {
        let mut cells = Vec::from(person_cells(p));
        for a in &assessments {
            cells.push(match by_key.get(&(p.user_id, a.id)) {
                Some(g) => match (g.score, &g.text_grade) {
                    (Some(s), _) => Cell::Num(Some(s), 1),
                    (None, Some(t)) => Cell::Text(t.clone()),
                    (None, None) => Cell::Num(None, 1),
                },
                None => Cell::Num(None, 1),
            });
        }
        table.rows.push(Row::new(cells));
    }
    Ok(table)
}
