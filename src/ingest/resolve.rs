//! Resolving LMS ids to cloop's rows, with caches so a file of millions of events asks the
//! database once per distinct course, user and content item (and pushes, with the
//! server's [`PushCache`], once per such id across requests).
//!
//! Unknown users and content items become placeholder rows (users: `lms_sub` =
//! `lms-pk:<pk>`; content: untitled, in the event's group) so per-student and per-item
//! numbers are complete from the first event; launches and syncs fill them in later.

use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};

use super::push_cache::PushCache;
use super::{ContentRef, CourseRef, LmsEvent, NewActivity};
use crate::store::ingest::CourseLookup;
use crate::store::{ContentItemId, CourseId, PlatformId, Store, StoreResult, UserId};

pub struct Resolver {
    platform: PlatformId,
    courses: HashMap<CourseRef, CourseLookup>,
    users: HashMap<String, UserId>,
    content: HashMap<CourseId, HashMap<String, ContentItemId>>,
    shared: Option<Arc<PushCache>>,
}

impl Resolver {
    pub fn new(platform: PlatformId) -> Self {
        Self {
            platform,
            courses: HashMap::new(),
            users: HashMap::new(),
            content: HashMap::new(),
            shared: None,
        }
    }

    /// A resolver that also reads and fills what the server remembers across pushes.
    pub fn remembering(platform: PlatformId, shared: Arc<PushCache>) -> Self {
        Self {
            shared: Some(shared),
            ..Self::new(platform)
        }
    }

    pub async fn course(&mut self, store: &Store, course: &CourseRef) -> StoreResult<CourseLookup> {
        if let Some(found) = self.courses.get(course) {
            return Ok(*found);
        }
        let remembered = self
            .shared
            .as_ref()
            .and_then(|s| s.course(self.platform, course));
        let found = match remembered {
            Some(id) => CourseLookup::Found(id),
            None => {
                let found = store.course_by_ref(self.platform, course).await?;
                if let Some(shared) = &self.shared {
                    shared.remember_course(self.platform, course, found);
                }
                found
            }
        };
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
        if let Some(shared) = &self.shared {
            users.retain(|pk| match shared.user(self.platform, pk) {
                Some(id) => {
                    self.users.insert(pk.to_string(), id);
                    false
                }
                None => true,
            });
        }
        if !users.is_empty() {
            let found = store.users_by_lms_pks_or_new(self.platform, &users).await?;
            if let Some(shared) = &self.shared {
                shared.remember_users(self.platform, &found);
            }
            for (pk, id) in found {
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
        if let Some(shared) = &self.shared {
            items.retain(|(lms_id, _)| match shared.content(course, lms_id) {
                Some(id) => {
                    known.insert(lms_id.to_string(), id);
                    false
                }
                None => true,
            });
        }
        if !items.is_empty() {
            let found = store
                .content_items_by_lms_ids_or_new(course, &items)
                .await?;
            if let Some(shared) = &self.shared {
                shared.remember_content(course, &found);
            }
            for (lms_id, id) in found {
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
