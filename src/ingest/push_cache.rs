//! What pushed events name again and again, remembered across requests: the cloop ids of
//! their users and content items (fixed once made), and the courses their LMS ids name
//! (for a minute, so a course's new LMS ids take effect within one).

use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use foldhash::HashMap;

use crate::store::ingest::{CourseLookup, CourseRef};
use crate::store::{ContentItemId, CourseId, PlatformId, UserId};

/// How long a course found by its LMS ids is taken as read.
const COURSE_TTL: Duration = Duration::from_secs(60);

/// Entries a map holds at most; past that it starts again empty, so memory stays bounded
/// whatever the senders name.
const MAX_ENTRIES: usize = 500_000;

/// Shared by every push the server answers (see [`super::Resolver::remembering`]).
#[derive(Debug, Default)]
pub struct PushCache {
    users: Mutex<IdsOf<PlatformId, UserId>>,
    content: Mutex<IdsOf<CourseId, ContentItemId>>,
    courses: Mutex<HashMap<(PlatformId, CourseRef), (CourseId, Instant)>>,
}

/// Ids by owner (a platform's users, a course's items) and LMS id, looked up by `&str`.
type IdsOf<O, I> = HashMap<O, HashMap<String, I>>;

impl PushCache {
    pub fn user(&self, platform: PlatformId, pk: &str) -> Option<UserId> {
        lookup(&self.users, platform, pk)
    }

    pub fn remember_users(&self, platform: PlatformId, found: &[(String, UserId)]) {
        remember(&self.users, platform, found);
    }

    pub fn content(&self, course: CourseId, lms_id: &str) -> Option<ContentItemId> {
        lookup(&self.content, course, lms_id)
    }

    pub fn remember_content(&self, course: CourseId, found: &[(String, ContentItemId)]) {
        remember(&self.content, course, found);
    }

    /// The course the LMS ids name, if found within the last minute.
    pub fn course(&self, platform: PlatformId, course: &CourseRef) -> Option<CourseId> {
        let courses = self.courses.lock().expect("push cache");
        let (id, at) = courses.get(&(platform, course.clone()))?;
        (at.elapsed() < COURSE_TTL).then_some(*id)
    }

    /// Remembers a course found by its LMS ids (only found ones: a course cloop does not
    /// know yet is looked for again at the next push).
    pub fn remember_course(&self, platform: PlatformId, course: &CourseRef, found: CourseLookup) {
        if let CourseLookup::Found(id) = found {
            let mut courses = self.courses.lock().expect("push cache");
            make_room(&mut courses, 1);
            courses.insert((platform, course.clone()), (id, Instant::now()));
        }
    }
}

fn lookup<O: Eq + Hash, I: Copy>(ids: &Mutex<IdsOf<O, I>>, owner: O, lms_id: &str) -> Option<I> {
    let ids = ids.lock().expect("push cache");
    ids.get(&owner)?.get(lms_id).copied()
}

fn remember<O: Eq + Hash, I: Copy>(ids: &Mutex<IdsOf<O, I>>, owner: O, found: &[(String, I)]) {
    let mut ids = ids.lock().expect("push cache");
    let owned = ids.entry(owner).or_default();
    make_room(owned, found.len());
    owned.extend(found.iter().map(|(lms_id, id)| (lms_id.clone(), *id)));
}

fn make_room<K, V>(map: &mut HashMap<K, V>, adding: usize) {
    if map.len() + adding > MAX_ENTRIES {
        map.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_remembered_per_platform_and_course() {
        let cache = PushCache::default();
        cache.remember_users(PlatformId(1), &[("_1_1".into(), UserId(7))]);
        assert_eq!(cache.user(PlatformId(1), "_1_1"), Some(UserId(7)));
        assert_eq!(cache.user(PlatformId(2), "_1_1"), None);
        cache.remember_content(CourseId(3), &[("_9_1".into(), ContentItemId(4))]);
        assert_eq!(cache.content(CourseId(3), "_9_1"), Some(ContentItemId(4)));
        assert_eq!(cache.content(CourseId(5), "_9_1"), None);
    }

    #[test]
    fn only_found_courses_are_remembered() {
        let cache = PushCache::default();
        let known = CourseRef {
            pk: Some("_1_1".into()),
            external_id: None,
        };
        let unknown = CourseRef {
            pk: Some("_2_1".into()),
            external_id: None,
        };
        cache.remember_course(PlatformId(1), &known, CourseLookup::Found(CourseId(9)));
        cache.remember_course(PlatformId(1), &unknown, CourseLookup::Unknown);
        assert_eq!(cache.course(PlatformId(1), &known), Some(CourseId(9)));
        assert_eq!(cache.course(PlatformId(1), &unknown), None);
        assert_eq!(cache.course(PlatformId(2), &known), None);
    }
}
