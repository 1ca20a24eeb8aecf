//! A cohort's course numbers recounted from the per-student rollups (student-days and
//! their views per item) when the filter leaves anyone out; as stored otherwise.

use std::collections::{HashMap, HashSet};

use super::cohort::Cohort;
use crate::store::reports::{CourseDay, ItemDay};
use crate::store::{ContentItemId, CourseId, Store, StoreResult, UserId};

impl Cohort {
    /// The course day rollup over a range, for the cohort: as stored for everyone, else
    /// summed from the cohort's student-days and their views per item.
    pub async fn course_days(
        &self,
        store: &Store,
        course: CourseId,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<CourseDay>> {
        if self.everyone() {
            return store.course_days(course, from, to).await;
        }
        let mut days: HashMap<i64, CourseDay> = HashMap::new();
        for s in self.student_days(store, course, from, to).await? {
            let d = days.entry(s.day).or_insert_with(|| CourseDay {
                day: s.day,
                ..CourseDay::default()
            });
            d.active_students += 1;
            d.views += s.views;
            d.sessions += s.sessions;
            d.active_ms += s.active_ms;
        }
        let groups = store.item_groups(course).await?;
        let mut pages: HashMap<i64, HashSet<ContentItemId>> = HashMap::new();
        for s in store.student_day_items(course, from, to).await? {
            if !self.has(s.user_id) {
                continue;
            }
            let d = days.entry(s.day).or_insert_with(|| CourseDay {
                day: s.day,
                ..CourseDay::default()
            });
            for (item, views) in s.items {
                match groups.get(&item).map(String::as_str) {
                    Some("communication") => d.communication_views += views,
                    Some("assessment") => d.assessment_views += views,
                    _ => d.content_views += views,
                }
                if item.0 != 0 && views > 0 {
                    pages.entry(s.day).or_default().insert(item);
                }
            }
        }
        let mut days: Vec<CourseDay> = days
            .into_values()
            .map(|mut d| {
                d.pages_viewed = pages.get(&d.day).map_or(0, |p| p.len() as i64);
                d
            })
            .collect();
        days.sort_by_key(|d| d.day);
        Ok(days)
    }

    /// The item-day rollup over a range, for the cohort: as stored for everyone, else
    /// counted from the cohort's student-days.
    pub async fn item_days(
        &self,
        store: &Store,
        course: CourseId,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<ItemDay>> {
        if self.everyone() {
            return store.item_days(course, from, to).await;
        }
        let mut days: HashMap<(i64, ContentItemId), ItemDay> = HashMap::new();
        for s in store.student_day_items(course, from, to).await? {
            if !self.has(s.user_id) {
                continue;
            }
            for (item, views) in s.items {
                let d = days.entry((s.day, item)).or_insert(ItemDay {
                    day: s.day,
                    content_item_id: item,
                    views: 0,
                    unique_students: 0,
                });
                d.views += views;
                d.unique_students += 1;
            }
        }
        let mut days: Vec<ItemDay> = days.into_values().collect();
        days.sort_by_key(|d| (d.day, d.content_item_id));
        Ok(days)
    }

    /// Each resource's views and distinct students over a range, for the cohort (views
    /// tied to no item left out).
    pub async fn item_totals(
        &self,
        store: &Store,
        course: CourseId,
        from: i64,
        to: i64,
    ) -> StoreResult<Vec<(ContentItemId, i64, i64)>> {
        let mut totals: HashMap<ContentItemId, (i64, HashSet<UserId>)> = HashMap::new();
        for s in store.student_day_items(course, from, to).await? {
            if !self.has(s.user_id) {
                continue;
            }
            for (item, views) in s.items.into_iter().filter(|(i, _)| i.0 != 0) {
                let t = totals.entry(item).or_default();
                t.0 += views;
                t.1.insert(s.user_id);
            }
        }
        Ok(totals
            .into_iter()
            .map(|(item, (views, students))| (item, views, students.len() as i64))
            .collect())
    }
}
