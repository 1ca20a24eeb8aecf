//! One resource: its daily views, students by views, and who has not opened it.

use std::collections::HashMap;

use super::table::{Cell, Row, Table};
use super::who::{IDENTIFIER, person_cells};
use super::{CourseView, Range, day_label};
use crate::store::reports::TreeItem;
use crate::store::{ContentItemId, Store, StoreError, StoreResult, UserId};

#[derive(Clone, Debug)]
pub struct ResourceDetail {
    pub item: TreeItem,
    pub daily: Table,
    pub histogram: Table,
    pub not_opened: Table,
}

pub async fn resource_detail(
    store: &Store,
    cv: &CourseView,
    item: ContentItemId,
) -> StoreResult<ResourceDetail> {
    let id = cv.course.id;
    let item = store
        .content_tree(id)
        .await?
        .into_iter()
        .find(|t| t.id == item)
        .ok_or(StoreError::NotFound("resource"))?;
    let (from, to) = cv.days(Range::All);
    let mut per_day: HashMap<i64, (i64, i64)> = HashMap::new();
    for r in cv
        .cohort
        .days_of_item(store, id, item.id, (from, to))
        .await?
    {
        per_day.insert(r.day, (r.views, r.unique_students));
    }
    let mut daily = Table::new(
        "daily",
        "Views of this resource per day",
        ["Date", "Page views", "Unique students"]
            .map(String::from)
            .to_vec(),
    );
    for day in from..to {
        let (v, u) = per_day.get(&day).copied().unwrap_or_default();
        daily.rows.push(Row::on_day(
            day,
            vec![Cell::Text(day_label(day)), Cell::Int(v), Cell::Int(u)],
        ));
    }

    let people = cv.cohort.counted_people();
    let viewers: HashMap<UserId, i64> =
        store.item_viewers(id, item.id).await?.into_iter().collect();
    let students: Vec<_> = people.iter().filter(|p| !p.is_staff).collect();
    let mut bins: Vec<(String, i64)> = ["0", "1", "2", "3–5", "6–10", "11–20", "over 20"]
        .iter()
        .map(|l| (l.to_string(), 0))
        .collect();
    for p in &students {
        let v = viewers.get(&p.user_id).copied().unwrap_or(0);
        let bin = match v {
            0 => 0,
            1 => 1,
            2 => 2,
            3..=5 => 3,
            6..=10 => 4,
            11..=20 => 5,
            _ => 6,
        };
        bins[bin].1 += 1;
    }
    let mut histogram = Table::new(
        "histogram",
        "Students by how often they opened this resource",
        ["Page views", "Students"].map(String::from).to_vec(),
    );
    for (label, n) in bins {
        histogram
            .rows
            .push(Row::new(vec![Cell::Text(label), Cell::Int(n)]));
    }
    let mut not_opened = Table::new(
        "not-opened",
        "Students who have not opened this resource",
        vec!["Student".into(), IDENTIFIER.into()],
    );
    for p in students
        .iter()
        .filter(|p| !viewers.contains_key(&p.user_id))
    {
        not_opened.rows.push(Row::new(Vec::from(person_cells(p))));
    }
    Ok(ResourceDetail {
        item,
        daily,
        histogram,
        not_opened,
    })
}
