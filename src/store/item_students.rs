//! Which students opened each resource in each bucket of days, from the item-days' lists
//! of students: as bit sets over the students seen, since a big course has millions of them.

use foldhash::HashMap;

use super::{ContentItemId, CourseId, Store, StoreResult, UserId, numbered_params};
use crate::activity::student_list::listed_students;

/// Students numbered densely in the order first seen, so sets of them can be bits.
#[derive(Debug, Default)]
pub struct StudentIndex {
    ids: Vec<UserId>,
    /// The numbers of the students known up front, by id less `base` (`NONE` for ids that
    /// are not): a lookup per student of a list, millions a page, without hashing.
    table: Vec<u32>,
    base: i64,
    of: HashMap<UserId, usize>,
}

/// A slot of [`StudentIndex`]'s table with no student.
const NONE: u32 = u32::MAX;

impl StudentIndex {
    /// An index numbering `known` first. They are found through a table over their span
    /// of ids when that is at most a few times their number (a course's students are
    /// mostly created together), through a map otherwise.
    pub fn with_known(known: &[UserId]) -> Self {
        let mut index = Self::default();
        let (Some(low), Some(high)) = (known.iter().min(), known.iter().max()) else {
            return index;
        };
        let span = usize::try_from(high.0 - low.0 + 1).unwrap_or(usize::MAX);
        if span <= 16 * known.len() + 4096 {
            index.base = low.0;
            index.table = vec![NONE; span];
        }
        for user in known {
            index.number(*user);
        }
        index
    }

    /// The student's number, given the next one when first seen.
    #[inline]
    pub fn number(&mut self, user: UserId) -> usize {
        match self.slot(user).map(|at| self.table[at]) {
            Some(n) if n != NONE => n as usize,
            _ => self.number_unlisted(user),
        }
    }

    /// The student's place in the table, if its span holds them.
    fn slot(&self, user: UserId) -> Option<usize> {
        usize::try_from(user.0.wrapping_sub(self.base))
            .ok()
            .filter(|at| *at < self.table.len())
    }

    /// [`StudentIndex::number`] for a student not in the table: numbered through the
    /// map, and written into the table when its span holds them.
    #[inline(never)]
    fn number_unlisted(&mut self, user: UserId) -> usize {
        let next = self.ids.len();
        let n = *self.of.entry(user).or_insert(next);
        if n == next {
            self.ids.push(user);
            if let Some(at) = self.slot(user) {
                self.table[at] = n as u32;
            }
        }
        n
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
    #[inline]
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
    /// Per resource of `items`, the students who opened it in each of `buckets` buckets of
    /// `width` days counted from `from_day`.
    pub async fn item_bucket_students(
        &self,
        course: CourseId,
        items: &[ContentItemId],
        (from_day, to_day): (i64, i64),
        (width, buckets): (i64, usize),
    ) -> StoreResult<ItemBucketStudents> {
        let wanted: foldhash::HashSet<ContentItemId> = items.iter().copied().collect();
        let rows: Vec<(i64, i64, String)> = self
            .read_rows(
                "SELECT day, content_item_id, students FROM rollup_content_day \
                 WHERE course_id = $1 AND day >= $2 AND day < $3 AND content_item_id <> 0 \
                 AND students <> ''",
                &[course.0, from_day, to_day],
            )
            .await?;
        let mut out = ItemBucketStudents {
            students: self.student_index(course).await?,
            items: HashMap::default(),
        };
        for (day, item, students) in rows {
            let Some(bucket) = usize::try_from((day - from_day) / width)
                .ok()
                .filter(|b| *b < buckets && wanted.contains(&ContentItemId(item)))
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

    /// How many distinct students opened each of `items` in a range of days.
    pub async fn items_unique_students(
        &self,
        course: CourseId,
        items: &[ContentItemId],
        from_day: i64,
        to_day: i64,
    ) -> StoreResult<HashMap<ContentItemId, i64>> {
        let mut counts: HashMap<ContentItemId, i64> = items.iter().map(|i| (*i, 0)).collect();
        if items.is_empty() || from_day >= to_day {
            return Ok(counts);
        }
        let mut students = self.student_index(course).await?;
        let mut sets: HashMap<i64, StudentSet> = HashMap::default();
        for chunk in items.chunks(ITEMS_PER_READ) {
            let sql = format!(
                "SELECT content_item_id, students FROM rollup_content_day WHERE course_id = $1 \
                 AND day >= $2 AND day < $3 AND content_item_id IN ({})",
                numbered_params(4, chunk.len())
            );
            let mut args = vec![course.0, from_day, to_day];
            args.extend(chunk.iter().map(|item| item.0));
            let rows: Vec<(i64, String)> = self.read_built_rows(&sql, &args).await?;
            for (item, list) in rows {
                let set = sets.entry(item).or_default();
                for user in listed_students(&list) {
                    set.insert(students.number(UserId(user)));
                }
            }
        }
        for (item, set) in sets {
            counts.insert(ContentItemId(item), set.len() as i64);
        }
        Ok(counts)
    }

    /// An index numbering the course's students who viewed anything first.
    async fn student_index(&self, course: CourseId) -> StoreResult<StudentIndex> {
        let known: Vec<(UserId,)> = self
            .read_rows(
                "SELECT user_id FROM rollup_student_items WHERE course_id = $1",
                &[course.0],
            )
            .await?;
        let known: Vec<UserId> = known.into_iter().map(|(user,)| user).collect();
        Ok(StudentIndex::with_known(&known))
    }
}

/// Items named in one read (each a statement parameter).
const ITEMS_PER_READ: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn students_are_numbered_once_in_order_known_first() {
        for known in [
            vec![UserId(10), UserId(12)],
            vec![UserId(10), UserId(1 << 40)],
        ] {
            let mut index = StudentIndex::with_known(&known);
            assert_eq!(index.len(), 2);
            assert_eq!(index.number(known[1]), 1);
            assert_eq!(index.number(UserId(11)), 2, "unknown, inside the span");
            assert_eq!(index.number(UserId(-5)), 3, "unknown, below the span");
            assert_eq!(index.number(UserId(11)), 2);
            assert_eq!(index.number(known[0]), 0);
            assert_eq!(index.user(3), UserId(-5));
            assert_eq!(index.len(), 4);
        }
        let mut empty = StudentIndex::with_known(&[]);
        assert_eq!(empty.number(UserId(7)), 0);
        assert_eq!(empty.number(UserId(7)), 0);
    }

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
