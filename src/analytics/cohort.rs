//! Cohorts: the filter every course view takes (an LMS group or section, a role, whether
//! students who left count), resolved against the roster to whom it counts.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use crate::store::item_students::{ItemBucketStudents, StudentSet};
use crate::store::reports::{AttemptRow, Person, PostRow, StudentDay, StudentTotals};
use crate::store::{ContentItemId, CourseGroupId, CourseId, Store, StoreResult, UserId};

/// Which roles the roster gives count: everyone, learners, or everyone but learners.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RoleChoice {
    #[default]
    Any,
    Learners,
    Others,
}

impl RoleChoice {
    pub const ALL: [Self; 3] = [Self::Any, Self::Learners, Self::Others];

    /// The `role` query value (empty for the default).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "",
            Self::Learners => "learner",
            Self::Others => "other",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Any => "All roles",
            Self::Learners => "Learners",
            Self::Others => "Other roles (staff, guests)",
        }
    }

    fn parse(text: &str) -> Self {
        Self::ALL
            .into_iter()
            .find(|r| !r.as_str().is_empty() && r.as_str() == text)
            .unwrap_or_default()
    }

    fn admits(self, p: &Person) -> bool {
        let learner = p
            .roles
            .split_whitespace()
            .any(|r| r == "Learner" || r.starts_with("Learner#"));
        match self {
            Self::Any => true,
            Self::Learners => learner,
            Self::Others => !learner,
        }
    }
}

/// The cohort chosen on a page: the `group`, `role` and `left` query parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CohortFilter {
    pub group: Option<CourseGroupId>,
    pub role: RoleChoice,
    /// Count students whose enrolment ended ("left"); by default they are left out.
    pub include_left: bool,
}

impl CohortFilter {
    /// Reads the parameters; what names nothing is read as the default.
    pub fn parse(group: Option<&str>, role: Option<&str>, left: Option<&str>) -> Self {
        Self {
            group: group.and_then(|g| g.trim().parse().ok()),
            role: role.map(RoleChoice::parse).unwrap_or_default(),
            include_left: left.is_some_and(|l| matches!(l, "1" | "true" | "on" | "yes")),
        }
    }

    /// The query pairs that carry the filter from page to page (none for the default).
    pub fn params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        if let Some(g) = self.group {
            params.push(("group", g.to_string()));
        }
        if self.role != RoleChoice::Any {
            params.push(("role", self.role.as_str().to_string()));
        }
        if self.include_left {
            params.push(("left", "1".to_string()));
        }
        params
    }
}

/// Who a filter leaves in.
#[derive(Clone, Debug)]
enum Members {
    /// Everyone with activity counts: the course-wide rollups serve as they are.
    Everyone,
    /// Everyone but these (students who left).
    Without(HashSet<UserId>),
    /// Only these people.
    Only(HashSet<UserId>),
}

/// A filter resolved against the course's roster and groups.
#[derive(Clone, Debug)]
pub struct Cohort {
    pub filter: CohortFilter,
    /// The course's groups (id, name), for the filter form; empty when none were synced.
    pub groups: Vec<(CourseGroupId, String)>,
    /// How many enrolled people left the course.
    pub leavers: usize,
    members: Members,
    /// Everyone the roster has for the course, as read for this page.
    roster: Arc<Vec<Person>>,
    /// The student-days of the people the filter names (the leavers it leaves out, or the
    /// only ones it keeps) over the last range asked for, read once per page.
    pub(super) days_share: DaysShare,
}

/// Some students' student-days over a range, each with its views per item.
pub(super) type StudentDaysOf = Vec<(StudentDay, Vec<(ContentItemId, i64)>)>;

/// A page's one read of the student-days of the people its filter names, kept for the range
/// it was read for.
#[derive(Clone, Debug, Default)]
pub(super) struct DaysShare(Arc<Mutex<Option<KeptShare>>>);

/// A range and the share read for it.
type KeptShare = ((i64, i64), Arc<StudentDaysOf>);

impl DaysShare {
    pub(super) async fn get(
        &self,
        store: &Store,
        course: CourseId,
        out: &[UserId],
        range: (i64, i64),
    ) -> StoreResult<Arc<StudentDaysOf>> {
        if let Some((kept, share)) = self.0.lock().expect("days share").as_ref()
            && *kept == range
        {
            return Ok(share.clone());
        }
        let share = Arc::new(store.student_days_of(course, out, range.0, range.1).await?);
        *self.0.lock().expect("days share") = Some((range, share.clone()));
        Ok(share)
    }
}

impl Cohort {
    /// Resolves `filter` for the course. A group that no longer exists is dropped from it.
    pub async fn load(
        store: &Store,
        course: CourseId,
        mut filter: CohortFilter,
    ) -> StoreResult<Self> {
        let people = store.course_people(course).await?;
        let groups = store.course_group_names(course).await?;
        let chosen = match filter.group.filter(|id| groups.iter().any(|g| g.0 == *id)) {
            Some(id) => Some(store.group_members(course, id).await?),
            None => None,
        };
        if chosen.is_none() {
            filter.group = None;
        }
        let leavers: HashSet<UserId> = people
            .iter()
            .filter(|p| !p.active)
            .map(|p| p.user_id)
            .collect();
        let members = match chosen {
            None if filter.role == RoleChoice::Any => {
                if filter.include_left || leavers.is_empty() {
                    Members::Everyone
                } else {
                    Members::Without(leavers.clone())
                }
            }
            _ => Members::Only(
                people
                    .iter()
                    .filter(|p| chosen.as_ref().is_none_or(|g| g.contains(&p.user_id)))
                    .filter(|p| filter.role.admits(p))
                    .filter(|p| filter.include_left || p.active)
                    .map(|p| p.user_id)
                    .collect(),
            ),
        };
        Ok(Self {
            filter,
            groups,
            leavers: leavers.len(),
            members,
            roster: Arc::new(people),
            days_share: DaysShare::default(),
        })
    }

    /// Everyone counts: no filter narrows the course-wide numbers.
    pub fn everyone(&self) -> bool {
        matches!(self.members, Members::Everyone)
    }

    /// The people left out of an otherwise whole course (students who left), when that is
    /// all the filter does: their share is taken out of the course-wide rollups.
    pub(super) fn left_out(&self) -> Option<Vec<UserId>> {
        match &self.members {
            Members::Without(out) => Some(out.iter().copied().collect()),
            _ => None,
        }
    }

    /// The people a group or role filter keeps, when it keeps a list of them.
    pub(super) fn only(&self) -> Option<Vec<UserId>> {
        match &self.members {
            Members::Only(only) => Some(only.iter().copied().collect()),
            _ => None,
        }
    }

    pub fn has(&self, user: UserId) -> bool {
        match &self.members {
            Members::Everyone => true,
            Members::Without(out) => !out.contains(&user),
            Members::Only(only) => only.contains(&user),
        }
    }

    fn has_some(&self, user: Option<UserId>) -> bool {
        user.map_or(self.everyone(), |u| self.has(u))
    }

    /// Everyone the roster has for the course, staff and leavers included.
    pub fn roster(&self) -> &[Person] {
        &self.roster
    }

    /// The course's staff, whoever the filter counts: their posts are not a student's.
    pub fn staff(&self) -> HashSet<UserId> {
        self.roster
            .iter()
            .filter(|p| p.is_staff)
            .map(|p| p.user_id)
            .collect()
    }

    /// The people of the roster in the cohort.
    pub fn counted_people(&self) -> Vec<Person> {
        self.people(self.roster.to_vec())
    }

    /// The people of `people` in the cohort.
    pub fn people(&self, mut people: Vec<Person>) -> Vec<Person> {
        people.retain(|p| self.has(p.user_id));
        people
    }

    /// The course's posts written by people in the cohort: read by author when the cohort
    /// is a list of people (a group, a role), else the course's less those it leaves out.
    pub async fn posts(&self, store: &Store, course: CourseId) -> StoreResult<Vec<PostRow>> {
        let only = self.only();
        let mut posts = store.course_posts(course, only.as_deref()).await?;
        posts.retain(|p| self.has_some(p.user_id));
        Ok(posts)
    }

    /// The attempts of people in the cohort.
    pub fn attempts(&self, mut attempts: Vec<AttemptRow>) -> Vec<AttemptRow> {
        attempts.retain(|a| self.has(a.user_id));
        attempts
    }

    /// The cohort's views per student on each of `days` (ascending), as (student, day,
    /// views); days a student viewed nothing are left out.
    pub async fn student_views_on_days(
        &self,
        store: &Store,
        course: CourseId,
        days: &[i64],
    ) -> StoreResult<Vec<(UserId, i64, i64)>> {
        let (Some(&first), Some(&last)) = (days.first(), days.last()) else {
            return Ok(Vec::new());
        };
        if let Some(only) = self.only() {
            let read = self
                .days_share
                .get(store, course, &only, (first, last + 1))
                .await?;
            return Ok(read
                .iter()
                .filter(|(d, _)| days.binary_search(&d.day).is_ok())
                .map(|(d, _)| (d.user_id, d.day, d.views))
                .collect());
        }
        let mut views = store.student_views_on_days(course, days).await?;
        views.retain(|&(user, _, _)| self.has(user));
        Ok(views)
    }

    /// The cohort's totals per student over a range: for a group or role filter, from
    /// their own student-days (read once a page), else the course's less the others.
    pub async fn student_totals(
        &self,
        store: &Store,
        course: CourseId,
        (from, to): (i64, i64),
    ) -> StoreResult<Vec<StudentTotals>> {
        if let Some(only) = self.only() {
            let days = self
                .days_share
                .get(store, course, &only, (from, to))
                .await?;
            let mut totals: foldhash::HashMap<UserId, StudentTotals> = Default::default();
            for (d, _) in days.iter() {
                let t = totals.entry(d.user_id).or_insert(StudentTotals {
                    user_id: d.user_id,
                    views: 0,
                    sessions: 0,
                    active_ms: 0,
                });
                t.views += d.views;
                t.sessions += d.sessions;
                t.active_ms += d.active_ms;
            }
            let mut totals: Vec<StudentTotals> = totals
                .into_values()
                .filter(|t| t.views != 0 || t.sessions != 0 || t.active_ms != 0)
                .collect();
            totals.sort_by_key(|t| t.user_id);
            return Ok(totals);
        }
        let mut totals = store.student_totals(course, from, to).await?;
        totals.retain(|t| self.has(t.user_id));
        Ok(totals)
    }

    /// Per resource and bucket, the cohort's students who opened it, as
    /// [`Store::item_bucket_students`] gives them.
    pub async fn item_bucket_students(
        &self,
        store: &Store,
        course: CourseId,
        items: &[ContentItemId],
        days: (i64, i64),
        buckets: (i64, usize),
    ) -> StoreResult<ItemBucketStudents> {
        let mut sets = store
            .item_bucket_students(course, items, days, buckets)
            .await?;
        let mut kept = StudentSet::default();
        for n in (0..sets.students.len()).filter(|n| self.has(sets.students.user(*n))) {
            kept.insert(n);
        }
        for per in sets.items.values_mut() {
            per.iter_mut().for_each(|s| s.intersect_with(&kept));
        }
        Ok(sets)
    }

    /// One line saying whom the numbers count.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(name) = self
            .filter
            .group
            .and_then(|g| self.groups.iter().find(|(id, _)| *id == g))
            .map(|(_, name)| name.as_str())
        {
            parts.push(format!("group {name}"));
        }
        if self.filter.role != RoleChoice::Any {
            parts.push(self.filter.role.label().to_lowercase());
        }
        let who = if parts.is_empty() {
            "everyone".to_string()
        } else {
            parts.join(", ")
        };
        if self.filter.include_left || self.leavers == 0 {
            format!("Counting {who}.")
        } else {
            format!(
                "Counting {who}, without the {} {} who left the course.",
                self.leavers,
                if self.leavers == 1 {
                    "person"
                } else {
                    "people"
                }
            )
        }
    }
}
