//! Discussions (Ultra discussions, forums) and their posts, with author and time.

use std::collections::{HashMap, HashSet};

use super::sync_runs::SyncCounts;
use super::{ContentItemId, CourseId, EpochMs, ForumId, Store, StoreResult, UserId, on_pool};
use crate::store::BeginWrite;

/// One discussion as fetched from the LMS.
#[derive(Clone, Debug)]
pub struct ForumRow {
    pub lms_id: String,
    pub title: String,
    pub content_item: Option<ContentItemId>,
}

/// A discussion that is not in the content tree (Ultra's discussions API names no
/// `contentId`).
#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Discussion {
    pub id: ForumId,
    pub title: String,
    /// The item its page views are counted on, once activity has named it.
    pub views_item: Option<ContentItemId>,
}

/// What content items' ids begin with when they stand for a discussion outside the tree.
pub const DISCUSSION_ITEM_PREFIX: &str = "discussion:";

/// The `lms_id` of the content item that the views of the discussion `forum_lms_id`
/// (outside the tree) are counted on: activity names it, the tree leaves it out.
pub fn discussion_item_lms_id(forum_lms_id: &str) -> String {
    format!("{DISCUSSION_ITEM_PREFIX}{forum_lms_id}")
}

/// One post (message) in a discussion.
#[derive(Clone, Debug)]
pub struct PostRow {
    pub lms_id: String,
    pub parent_lms_id: Option<String>,
    pub thread_lms_id: Option<String>,
    pub user: Option<UserId>,
    pub status: String,
    pub posted_at: EpochMs,
}

impl Store {
    /// Makes the course's discussions match `rows` (the complete list); absent ones are
    /// marked removed. Returns the counts and LMS id → forum id for the listed ones.
    pub async fn sync_forums(
        &self,
        course: CourseId,
        rows: &[ForumRow],
    ) -> StoreResult<(SyncCounts, HashMap<String, ForumId>)> {
        let now = EpochMs::now();
        let result = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let existing: HashMap<String, ForumId> = sqlx::query_as::<_, (String, ForumId)>(
                "SELECT lms_id, id FROM forums WHERE course_id = $1",
            )
            .bind(course)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let mut counts = SyncCounts::default();
            let mut ids = HashMap::new();
            for row in rows {
                let (id, changed): (ForumId, bool) = sqlx::query_as(
                    "INSERT INTO forums (course_id, lms_id, content_item_id, title, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (course_id, lms_id) DO UPDATE SET \
                     content_item_id = excluded.content_item_id, title = excluded.title, removed_at = NULL, \
                     updated_at = CASE WHEN forums.title <> excluded.title \
                       OR forums.content_item_id IS DISTINCT FROM excluded.content_item_id \
                       OR forums.removed_at IS NOT NULL THEN excluded.updated_at ELSE forums.updated_at END \
                     RETURNING id, updated_at = $5",
                )
                .bind(course)
                .bind(&row.lms_id)
                .bind(row.content_item)
                .bind(&row.title)
                .bind(now)
                .fetch_one(&mut *tx)
                .await?;
                counts.upserted(u64::from(changed), existing.contains_key(&row.lms_id));
                ids.insert(row.lms_id.clone(), id);
            }
            let gone = existing.iter().filter(|(lms_id, _)| !ids.contains_key(*lms_id));
            for id in gone.map(|(_, id)| id) {
                counts.removed += sqlx::query(
                    "UPDATE forums SET removed_at = $2, updated_at = $2 WHERE id = $1 AND removed_at IS NULL",
                )
                .bind(id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
            }
            tx.commit().await?;
            (counts, ids)
        });
        Ok(result)
    }

    /// Upserts posts of one discussion. With `complete`, `rows` are all its posts and
    /// those missing are marked removed.
    pub async fn sync_forum_posts(
        &self,
        course: CourseId,
        forum: ForumId,
        rows: &[PostRow],
        complete: bool,
    ) -> StoreResult<SyncCounts> {
        let now = EpochMs::now();
        let counts = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let existing: HashSet<String> = sqlx::query_scalar::<_, String>(
                "SELECT lms_id FROM forum_posts WHERE forum_id = $1",
            )
            .bind(forum)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let mut counts = SyncCounts::default();
            for row in rows {
                let changed = sqlx::query(
                    "INSERT INTO forum_posts (course_id, forum_id, lms_id, parent_lms_id, thread_lms_id, \
                     user_id, status, posted_at, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                     ON CONFLICT (course_id, lms_id) DO UPDATE SET parent_lms_id = excluded.parent_lms_id, \
                     thread_lms_id = excluded.thread_lms_id, user_id = excluded.user_id, \
                     status = excluded.status, posted_at = excluded.posted_at, removed_at = NULL, \
                     updated_at = excluded.updated_at \
                     WHERE forum_posts.status <> excluded.status \
                     OR forum_posts.posted_at <> excluded.posted_at \
                     OR forum_posts.user_id IS DISTINCT FROM excluded.user_id \
                     OR forum_posts.removed_at IS NOT NULL",
                )
                .bind(course)
                .bind(forum)
                .bind(&row.lms_id)
                .bind(&row.parent_lms_id)
                .bind(&row.thread_lms_id)
                .bind(row.user)
                .bind(&row.status)
                .bind(row.posted_at)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                counts.upserted(changed, existing.contains(&row.lms_id));
            }
            if complete {
                let fetched: HashSet<&str> = rows.iter().map(|r| r.lms_id.as_str()).collect();
                for gone in existing.iter().filter(|id| !fetched.contains(id.as_str())) {
                    counts.removed += sqlx::query(
                        "UPDATE forum_posts SET removed_at = $3, updated_at = $3 \
                         WHERE forum_id = $1 AND lms_id = $2 AND removed_at IS NULL",
                    )
                    .bind(forum)
                    .bind(gone)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected() as i64;
                }
            }
            tx.commit().await?;
            counts
        });
        Ok(counts)
    }

    /// Posts in the course that are not removed.
    pub async fn forum_post_count(&self, course: CourseId) -> StoreResult<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM forum_posts WHERE course_id = $1 AND removed_at IS NULL",
            )
            .bind(course)
            .fetch_one(pool)
            .await
        })?)
    }

    /// The course's discussions outside the content tree, by title.
    pub async fn discussions_outside_tree(&self, course: CourseId) -> StoreResult<Vec<Discussion>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT f.id, f.title, i.id AS views_item FROM forums f \
                 LEFT JOIN content_items i ON i.course_id = f.course_id \
                 AND i.lms_id = 'discussion:' || f.lms_id \
                 WHERE f.course_id = $1 AND f.content_item_id IS NULL \
                 AND f.removed_at IS NULL ORDER BY f.title, f.id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }
}
