//! Which students opened each resource in each bucket of days, from the item-days' lists
//! of students: as bit sets over the students seen, since a big course has millions of them.

use foldhash::HashMap;

use super::{ContentItemId, CourseId, Store, StoreResult, UserId};
use crate::activity::item_views::listed_students;

/// Students numbered densely in the order first seen, so sets of them can be bits.
#[derive(Debug, Default)]
pub struct StudentIndex {
    ids: Vec<UserId>,
    of: HashMap<UserId, usize>,
}

impl StudentIndex {
    /// The student's number, given the next one when first seen.
    pub fn number(&mut self, user: UserId) -> usize {
        *self.of.entry(user).or_insert_with(|| {
            self.ids.push(user);
            self.ids.len() - 1
        })
    }

    /// The student numbered `n`.
    pub fn user(&self, n: usize) -> UserId {
        self.ids[n]
    }

    /// How many students are numbered.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A set of students by their numbers in a [`StudentIndex`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StudentSet(Vec<u64>);

impl StudentSet {
    pub fn insert(&mut self, n: usize) {
        let word = n / 64;
        if self.0.len() <= word {
            self.0.resize(word + 1, 0);
        }
        self.0[word] |= 1 << (n % 64);
    }

    pub fn union_with(&mut self, other: &StudentSet) {
        if self.0.len() < other.0.len() {
            self.0.resize(other.0.len(), 0);
        }
        self.0.iter_mut().zip(&other.0).for_each(|(a, b)| *a |= b);
    }

    pub fn len(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    /// The numbers in the set, in order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.0.iter().enumerate().flat_map(|(i, &word)| {
            (0..64)
                .filter(move |bit| word & (1 << bit) != 0)
                .map(move |bit| i * 64 + bit)
        })
    }

    /// Keeps only the students also in `other`.
    pub fn intersect_with(&mut self, other: &StudentSet) {
        for (i, word) in self.0.iter_mut().enumerate() {
            *word &= other.0.get(i).copied().unwrap_or(0);
        }
    }
}

/// Per resource, per bucket of days, the students who opened it.
#[derive(Debug, Default)]
pub struct ItemBucketStudents {
    pub students: StudentIndex,
    pub items: HashMap<ContentItemId, Vec<StudentSet>>,
}

impl Store {
    /// Per resource, the students who opened it in each of `buckets` buckets of `width`
    /// days counted from `from_day` (views with no item are left out).
    pub async fn item_bucket_students(
        &self,
        course: CourseId,
        from_day: i64,
        to_day: i64,
        (width, buckets): (i64, usize),
    ) -> StoreResult<ItemBucketStudents> {
        let rows: Vec<(i64, i64, String)> = self
            .read_rows(
                "SELECT day, content_item_id, students FROM rollup_content_day \
                 WHERE course_id = $1 AND day >= $2 AND day < $3 AND content_item_id <> 0 \
                 AND students <> ''",
                &[course.0, from_day, to_day],
            )
            .await?;
        let mut out = ItemBucketStudents::default();
        for (day, item, students) in rows {
            let Some(bucket) = usize::try_from((day - from_day) / width)
                .ok()
                .filter(|b| *b < buckets)
            else {
                continue;
            };
            let per = out
                .items
                .entry(ContentItemId(item))
                .or_insert_with(|| vec![StudentSet::default(); buckets]);
            for user in listed_students(&students) {
                per[bucket].insert(out.students.number(UserId(user)));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn student_sets_insert_union_intersect_and_count() {
        let mut a = StudentSet::default();
        a.insert(3);
        a.insert(70);
        let mut b = StudentSet::default();
        b.insert(3);
        b.insert(130);
        a.union_with(&b);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![3, 70, 130]);
        assert_eq!(a.len(), 3);
        let mut keep = StudentSet::default();
        keep.insert(3);
        keep.insert(130);
        keep.insert(200);
        a.intersect_with(&keep);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![3, 130]);
        assert!(StudentSet::default().is_empty());
    }
}
