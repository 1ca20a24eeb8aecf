//! A cohort's course numbers from the rollups: as stored for everyone; the stored ones less
//! the leavers' share when only leavers are left out; else recounted from the cohort's own
//! per-student rollups (student-days and their views per item).

use foldhash::{HashMap, HashMapExt, HashSet};
use std::sync::Arc;

use super::cohort::{Cohort, StudentDaysOf};
use crate::store::reports::{CourseDay, ItemDay, StudentDay};
use crate::store::{ContentItemId, CourseId, Store, StoreResult, UserId};

/// Per resource over a range: views and, when known, distinct students.
pub type ItemTotals = Vec<(ContentItemId, i64, Option<i64>)>;

impl Cohort {
    /// The course day rollup over a range, for the cohort.
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
        if let Some(out) = self.left_out() {
            let share = self.days_share.get(store, course, &out, (from, to)).await?;
            return course_days_without(store, course, &share, (from, to)).await;
        }
        let mut days: HashMap<i64, CourseDay> = HashMap::new();
        // Each item's group column and its number among the course's items, looked up once
        // per item a student-day viewed (hundreds of thousands a page).
        let groups: HashMap<ContentItemId, (GroupColumn, usize)> = store
            .item_groups(course)
            .await?
            .into_iter()
            .enumerate()
            .map(|(n, (item, group))| (item, (GroupColumn::of(Some(&group)), n)))
            .collect();
        // day → the items viewed that day, as bits by item number.
        let mut pages: HashMap<i64, Vec<u64>> = HashMap::new();
        for (s, items) in self.own_days(store, course, (from, to)).await?.iter() {
            let d = day_entry(&mut days, s.day);
            d.active_students += 1;
            d.views += s.views;
            d.sessions += s.sessions;
            d.active_ms += s.active_ms;
            let viewed = pages
                .entry(s.day)
                .or_insert_with(|| vec![0; groups.len().div_ceil(64)]);
            for &(item, views) in items {
                let (column, n) = groups.get(&item).copied().unzip();
                *column.unwrap_or(GroupColumn::Content).of_day(d) += views;
                if let Some(n) = n.filter(|_| item.0 != 0 && views > 0) {
                    viewed[n / 64] |= 1 << (n % 64);
                }
            }
        }
        let mut days: Vec<CourseDay> = days
            .into_values()
            .map(|mut d| {
                d.pages_viewed = pages.get(&d.day).map_or(0, |bits| {
                    bits.iter().map(|w| i64::from(w.count_ones())).sum()
                });
                d
            })
            .collect();
        days.sort_by_key(|d| d.day);
        Ok(days)
    }

    /// The item-day rollup over a range, for the cohort.
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
        if let Some(out) = self.left_out() {
            let stored = store.item_days(course, from, to).await?;
            let share = self.days_share.get(store, course, &out, (from, to)).await?;
            return Ok(item_days_without(stored, &share, None));
        }
        let mut days: HashMap<(i64, ContentItemId), ItemDay> = HashMap::new();
        for (s, items) in self.own_days(store, course, (from, to)).await?.iter() {
            for &(item, views) in items {
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

    /// One resource's days over a range, for the cohort.
    pub async fn days_of_item(
        &self,
        store: &Store,
        course: CourseId,
        item: ContentItemId,
        (from, to): (i64, i64),
    ) -> StoreResult<Vec<ItemDay>> {
        if self.everyone() {
            return store.days_of_item(course, item, from, to).await;
        }
        if let Some(out) = self.left_out() {
            let stored = store.days_of_item(course, item, from, to).await?;
            let share = self.days_share.get(store, course, &out, (from, to)).await?;
            return Ok(item_days_without(stored, &share, Some(item)));
        }
        let mut days = self.item_days(store, course, from, to).await?;
        days.retain(|d| d.content_item_id == item);
        Ok(days)
    }

    /// Each resource's views over a range and, when the range is `whole` (every recorded
    /// day lies in it) or the cohort is recounted, its distinct students (views tied to no
    /// item left out).
    pub async fn item_totals(
        &self,
        store: &Store,
        course: CourseId,
        (from, to): (i64, i64),
        whole: bool,
    ) -> StoreResult<ItemTotals> {
        let stored = |rows: Vec<(ContentItemId, i64, i64)>| {
            rows.into_iter()
                .map(|(item, views, students)| (item, views, Some(students)))
                .collect::<ItemTotals>()
        };
        let out = self.left_out();
        if self.everyone() || out.is_some() {
            let mut totals = if whole {
                stored(store.item_course_totals(course).await?)
            } else {
                store
                    .item_totals(course, from, to)
                    .await?
                    .into_iter()
                    .map(|(item, views)| (item, views, None))
                    .collect()
            };
            if let Some(out) = out {
                let share = self.days_share.get(store, course, &out, (from, to)).await?;
                take_out_item_totals(&mut totals, &share);
            }
            return Ok(totals);
        }
        // Views, students, and the last student counted: the days come by student, so a
        // student is new to an item when they are not the last one counted for it.
        let mut totals: HashMap<ContentItemId, (i64, i64, UserId)> = HashMap::new();
        for (s, items) in self.own_days(store, course, (from, to)).await?.iter() {
            for &(item, views) in items.iter().filter(|(i, _)| i.0 != 0) {
                let t = totals.entry(item).or_insert((0, 0, UserId(i64::MIN)));
                t.0 += views;
                if t.2 != s.user_id {
                    t.1 += 1;
                    t.2 = s.user_id;
                }
            }
        }
        Ok(totals
            .into_iter()
            .map(|(item, (views, students, _))| (item, views, Some(students)))
            .collect())
    }

    /// The student-days of the people a group or role filter keeps, with their views per
    /// item, read by student once a page (only called once the course-wide paths are ruled
    /// out).
    async fn own_days(
        &self,
        store: &Store,
        course: CourseId,
        range: (i64, i64),
    ) -> StoreResult<Arc<StudentDaysOf>> {
        let only = self.only().unwrap_or_default();
        self.days_share.get(store, course, &only, range).await
    }

    /// Distinct students of each of `items` over a range, for the cohort (the ones
    /// [`Self::item_totals`] left unknown).
    pub async fn items_unique_students(
        &self,
        store: &Store,
        course: CourseId,
        items: &[ContentItemId],
        (from, to): (i64, i64),
    ) -> StoreResult<HashMap<ContentItemId, i64>> {
        let mut counted = store.items_unique_students(course, items, from, to).await?;
        if let Some(out) = self.left_out().filter(|_| !items.is_empty()) {
            let mut theirs: HashMap<ContentItemId, HashSet<UserId>> = HashMap::new();
            let share = self.days_share.get(store, course, &out, (from, to)).await?;
            for (s, viewed) in share.iter() {
                for (item, _) in viewed {
                    theirs.entry(*item).or_default().insert(s.user_id);
                }
            }
            for (item, n) in &mut counted {
                *n -= theirs.get(item).map_or(0, |who| who.len() as i64);
            }
        }
        Ok(counted)
    }
}

type Share = [(StudentDay, Vec<(ContentItemId, i64)>)];

fn day_entry(days: &mut HashMap<i64, CourseDay>, day: i64) -> &mut CourseDay {
    days.entry(day).or_insert_with(|| CourseDay {
        day,
        ..CourseDay::default()
    })
}

/// The column of a day's views an item's group counts in (no item or no group: content).
fn group_views<'a>(d: &'a mut CourseDay, group: Option<&str>) -> &'a mut i64 {
    GroupColumn::of(group).of_day(d)
}

/// Which of a course day's view columns an item's views count in.
#[derive(Clone, Copy)]
enum GroupColumn {
    Content,
    Communication,
    Assessment,
}

impl GroupColumn {
    fn of(group: Option<&str>) -> Self {
        match group {
            Some("communication") => Self::Communication,
            Some("assessment") => Self::Assessment,
            _ => Self::Content,
        }
    }

    fn of_day(self, d: &mut CourseDay) -> &mut i64 {
        match self {
            Self::Content => &mut d.content_views,
            Self::Communication => &mut d.communication_views,
            Self::Assessment => &mut d.assessment_views,
        }
    }
}

/// The stored course days less what `out` added: their student-days, their views per
/// group, and each resource only they viewed on a day.
async fn course_days_without(
    store: &Store,
    course: CourseId,
    share: &Share,
    (from, to): (i64, i64),
) -> StoreResult<Vec<CourseDay>> {
    let stored = store.course_days(course, from, to).await?;
    if share.is_empty() {
        return Ok(stored);
    }
    let mut days: HashMap<i64, CourseDay> = stored.into_iter().map(|d| (d.day, d)).collect();
    let groups = store.item_groups(course).await?;
    let mut viewers: HashMap<(i64, ContentItemId), i64> = HashMap::new();
    for (s, items) in share {
        let d = day_entry(&mut days, s.day);
        d.active_students -= 1;
        d.views -= s.views;
        d.sessions -= s.sessions;
        d.active_ms -= s.active_ms;
        for (item, views) in items {
            *group_views(d, groups.get(item).map(String::as_str)) -= views;
            if item.0 != 0 && *views > 0 {
                *viewers.entry((s.day, *item)).or_default() += 1;
            }
        }
    }
    // A resource only leavers viewed on a day has no more viewers than leavers who did.
    if let Some(most) = viewers.values().max() {
        for r in store
            .item_days_viewed_by_few(course, from, to, *most)
            .await?
        {
            let only_theirs = viewers
                .get(&(r.day, r.content_item_id))
                .is_some_and(|n| r.unique_students <= *n);
            if only_theirs {
                day_entry(&mut days, r.day).pages_viewed -= 1;
            }
        }
    }
    let mut days: Vec<CourseDay> = days.into_values().collect();
    days.sort_by_key(|d| d.day);
    Ok(days)
}

/// Stored item-days less the share of `share`'s students (one student fewer on each day
/// and item they viewed); `only` keeps one item.
fn item_days_without(
    stored: Vec<ItemDay>,
    share: &Share,
    only: Option<ContentItemId>,
) -> Vec<ItemDay> {
    let mut taken: HashMap<(i64, ContentItemId), (i64, i64)> = HashMap::new();
    for (s, items) in share {
        for (item, views) in items {
            if only.is_none_or(|o| o == *item) {
                let t = taken.entry((s.day, *item)).or_default();
                t.0 += views;
                t.1 += 1;
            }
        }
    }
    stored
        .into_iter()
        .filter_map(|mut d| {
            if let Some((views, students)) = taken.get(&(d.day, d.content_item_id)) {
                d.views -= views;
                d.unique_students -= students;
            }
            (d.views > 0).then_some(d)
        })
        .collect()
}

/// Item totals less `share`'s views and, where known, one student fewer per student of
/// `share` who viewed the item.
fn take_out_item_totals(totals: &mut ItemTotals, share: &Share) {
    let mut taken: HashMap<ContentItemId, (i64, HashSet<UserId>)> = HashMap::new();
    for (s, items) in share {
        for (item, views) in items {
            let t = taken.entry(*item).or_default();
            t.0 += views;
            t.1.insert(s.user_id);
        }
    }
    for (item, views, students) in totals.iter_mut() {
        if let Some((v, who)) = taken.get(item) {
            *views -= v;
            if let Some(n) = students {
                *n -= who.len() as i64;
            }
        }
    }
    totals.retain(|(_, views, _)| *views > 0);
}
