//! What pushed events name again and again, remembered across requests: the cloop ids of
//! their users and content items (fixed once made), and their courses and course clocks
//! (for a minute, so a course's new time zone or LMS ids take effect within one).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use foldhash::HashMap;

use crate::activity::CourseClock;
use crate::store::ingest::{CourseLookup, CourseRef};
use crate::store::{ContentItemId, CourseId, PlatformId, Store, StoreResult, UserId};

/// How long a course found by its LMS ids, and its clock, are taken as read.
const COURSE_TTL: Duration = Duration::from_secs(60);

/// Entries a map holds at most; past that it starts again empty, so memory stays bounded
/// whatever the senders name.
const MAX_ENTRIES: usize = 500_000;

/// Shared by every push the server answers (see [`super::Resolver::remembering`]).
#[derive(Debug, Default)]
pub struct PushCache {
    users: Mutex<HashMap<(PlatformId, String), UserId>>,
    content: Mutex<HashMap<(CourseId, String), ContentItemId>>,
    courses: Mutex<HashMap<(PlatformId, CourseRef), (CourseId, Instant)>>,
    clocks: Mutex<HashMap<CourseId, (CourseClock, Instant)>>,
}

impl PushCache {
    pub fn user(&self, platform: PlatformId, pk: &str) -> Option<UserId> {
        let users = self.users.lock().expect("push cache");
        users.get(&(platform, pk.to_string())).copied()
    }

    pub fn remember_users(&self, platform: PlatformId, found: &[(String, UserId)]) {
        let mut users = self.users.lock().expect("push cache");
        make_room(&mut users, found.len());
        users.extend(found.iter().map(|(pk, id)| ((platform, pk.clone()), *id)));
    }

    pub fn content(&self, course: CourseId, lms_id: &str) -> Option<ContentItemId> {
        let content = self.content.lock().expect("push cache");
        content.get(&(course, lms_id.to_string())).copied()
    }

    pub fn remember_content(&self, course: CourseId, found: &[(String, ContentItemId)]) {
        let mut content = self.content.lock().expect("push cache");
        make_room(&mut content, found.len());
        content.extend(
            found
                .iter()
                .map(|(lms_id, id)| ((course, lms_id.clone()), *id)),
        );
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

    /// The course's clock, read from the database at most once a minute.
    pub async fn clock(&self, store: &Store, course: CourseId) -> StoreResult<CourseClock> {
        let cached = self
            .clocks
            .lock()
            .expect("push cache")
            .get(&course)
            .cloned();
        if let Some((clock, _)) = cached.filter(|(_, at)| at.elapsed() < COURSE_TTL) {
            return Ok(clock);
        }
        let clock = CourseClock::or_utc(&store.course_time_zone(course).await?);
        let mut clocks = self.clocks.lock().expect("push cache");
        make_room(&mut clocks, 1);
        clocks.insert(course, (clock.clone(), Instant::now()));
        Ok(clock)
    }

    /// Forgets what is remembered of a course (its settings changed here).
    pub fn forget_course(&self, course: CourseId) {
        self.clocks.lock().expect("push cache").remove(&course);
        self.courses
            .lock()
            .expect("push cache")
            .retain(|_, (id, _)| *id != course);
    }
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
    fn only_found_courses_are_remembered_and_a_forgotten_one_is_looked_up_again() {
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
        cache.forget_course(CourseId(9));
        assert_eq!(cache.course(PlatformId(1), &known), None);
    }
}
