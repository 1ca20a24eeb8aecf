//! Resolving LMS ids to cloop's rows, with caches so a file of millions of events asks the
//! database once per distinct course, user and content item.
//!
//! Unknown users and content items become placeholder rows (users: `lms_sub` =
//! `lms-pk:<pk>`; content: untitled, in the event's group) so per-student and per-item
//! numbers are complete from the first event; launches and syncs fill them in later.

use foldhash::{HashMap, HashMapExt};

use super::{ContentRef, CourseRef, LmsEvent, NewActivity};
use crate::store::ingest::CourseLookup;
use crate::store::{ContentItemId, CourseId, PlatformId, Store, StoreResult, UserId};

pub struct Resolver {
    platform: PlatformId,
    courses: HashMap<CourseRef, CourseLookup>,
    users: HashMap<String, UserId>,
    content: HashMap<CourseId, HashMap<String, ContentItemId>>,
}

impl Resolver {
    pub fn new(platform: PlatformId) -> Self {
        Self {
            platform,
            courses: HashMap::new(),
            users: HashMap::new(),
            content: HashMap::new(),
        }
    }

    pub async fn course(&mut self, store: &Store, course: &CourseRef) -> StoreResult<CourseLookup> {
        if let Some(found) = self.courses.get(course) {
            return Ok(*found);
        }
        let found = store.course_by_ref(self.platform, course).await?;
        self.courses.insert(course.clone(), found);
        Ok(found)
    }

    pub async fn user(&mut self, store: &Store, pk: &str) -> StoreResult<UserId> {
        if let Some(id) = self.users.get(pk) {
            return Ok(*id);
        }
        let id = store.user_by_lms_pk(self.platform, pk).await?;
        self.users.insert(pk.to_string(), id);
        Ok(id)
    }

    pub async fn content(
        &mut self,
        store: &Store,
        course: CourseId,
        item: &ContentRef,
    ) -> StoreResult<ContentItemId> {
        if let Some(id) = self.content.get(&course).and_then(|m| m.get(&item.lms_id)) {
            return Ok(*id);
        }
        let id = store
            .content_item_by_lms_id(course, &item.lms_id, item.group.as_str())
            .await?;
        self.content
            .entry(course)
            .or_default()
            .insert(item.lms_id.clone(), id);
        Ok(id)
    }

    /// Resolves, in bulk, the users and content items these events name that are not
    /// cached yet, creating placeholders for those the database lacks, so resolving the
    /// events afterwards asks the database nothing.
    pub async fn prefetch(
        &mut self,
        store: &Store,
        course: CourseId,
        events: &[LmsEvent],
    ) -> StoreResult<()> {
        let mut users: Vec<&str> = events
            .iter()
            .filter_map(|e| e.user_pk.as_deref())
            .filter(|pk| !self.users.contains_key(*pk))
            .collect();
        users.sort_unstable();
        users.dedup();
        if !users.is_empty() {
            for (pk, id) in store.users_by_lms_pks_or_new(self.platform, &users).await? {
                self.users.entry(pk).or_insert(id);
            }
        }
        let known = self.content.entry(course).or_default();
        let mut items: Vec<(&str, &str)> = events
            .iter()
            .filter_map(|e| e.content.as_ref())
            .filter(|c| !known.contains_key(&c.lms_id))
            .map(|c| (c.lms_id.as_str(), c.group.as_str()))
            .collect();
        // One group per item: the first event's, as when items are created one by one.
        items.sort_by_key(|(id, _)| *id);
        items.dedup_by_key(|(id, _)| *id);
        if !items.is_empty() {
            for (lms_id, id) in store
                .content_items_by_lms_ids_or_new(course, &items)
                .await?
            {
                known.insert(lms_id, id);
            }
        }
        Ok(())
    }

    /// The event with its user and content resolved for `course`.
    pub async fn activity(
        &mut self,
        store: &Store,
        course: CourseId,
        event: LmsEvent,
    ) -> StoreResult<NewActivity> {
        let user = match &event.user_pk {
            Some(pk) => Some(self.user(store, pk).await?),
            None => None,
        };
        let content_item = match &event.content {
            Some(item) => Some(self.content(store, course, item).await?),
            None => None,
        };
        Ok(NewActivity {
            user,
            content_item,
            kind: event.kind,
            occurred_at: event.occurred_at,
            source: event.source,
            idempotency_key: event.idempotency_key,
            session_ref: event.session_ref,
        })
    }
}
