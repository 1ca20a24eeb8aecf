//! A course's content tree as the LMS reports it, and per-student review status. Items
//! the LMS no longer lists are marked removed, never deleted, so their activity stays.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use super::sync_runs::SyncCounts;
use super::{ContentItemId, CourseId, EpochMs, Store, StoreResult, UserId, on_pool};
use crate::store::BeginWrite;

/// The three groups Loop sorted content into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum ItemGroup {
    Content,
    Communication,
    Assessment,
}

impl ItemGroup {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Content => "content",
            Self::Communication => "communication",
            Self::Assessment => "assessment",
        }
    }
}

/// One content item as fetched from the LMS.
#[derive(Clone, Debug)]
pub struct ContentRow {
    pub lms_id: String,
    pub parent_lms_id: Option<String>,
    pub title: String,
    pub handler: String,
    pub group: ItemGroup,
    pub position: i64,
    pub available: bool,
    pub lms_created: Option<EpochMs>,
    pub lms_modified: Option<EpochMs>,
}

/// A content item as cloop holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ContentItem {
    pub id: ContentItemId,
    pub lms_id: String,
    pub parent_id: Option<ContentItemId>,
    pub title: String,
    pub handler: String,
    pub item_group: String,
    pub position: i64,
    pub available: bool,
    pub removed_at: Option<EpochMs>,
}

/// Whether a student has marked a reviewable item as reviewed.
#[derive(Clone, Debug)]
pub struct ReviewRow {
    pub content_item: ContentItemId,
    pub user: UserId,
    pub reviewed: bool,
    pub reviewed_at: Option<EpochMs>,
}

/// Recomputes a course's daily views per group from the item-day rollup and the items'
/// current groups (views tied to no item, or to an item of no other group, are content).
const REGROUP_COURSE_DAYS: &str = "UPDATE rollup_course_day SET \
     content_views = COALESCE((SELECT SUM(r.views) FROM rollup_content_day r \
       LEFT JOIN content_items ci ON ci.id = r.content_item_id \
       WHERE r.course_id = rollup_course_day.course_id AND r.day = rollup_course_day.day \
       AND (ci.item_group IS NULL OR ci.item_group NOT IN ('communication', 'assessment'))), 0), \
     communication_views = COALESCE((SELECT SUM(r.views) FROM rollup_content_day r \
       JOIN content_items ci ON ci.id = r.content_item_id \
       WHERE r.course_id = rollup_course_day.course_id AND r.day = rollup_course_day.day \
       AND ci.item_group = 'communication'), 0), \
     assessment_views = COALESCE((SELECT SUM(r.views) FROM rollup_content_day r \
       JOIN content_items ci ON ci.id = r.content_item_id \
       WHERE r.course_id = rollup_course_day.course_id AND r.day = rollup_course_day.day \
       AND ci.item_group = 'assessment'), 0) \
     WHERE course_id = $1";

impl Store {
    /// Makes the course's content tree match `rows`, the complete tree from the LMS:
    /// new items are inserted, changed ones updated, absent ones marked removed.
    pub async fn sync_content_items(
        &self,
        course: CourseId,
        rows: &[ContentRow],
    ) -> StoreResult<SyncCounts> {
        let rows = parents_first(rows);
        let now = EpochMs::now();
        let counts = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let existing: HashSet<String> = sqlx::query_scalar::<_, String>(
                "SELECT lms_id FROM content_items WHERE course_id = $1",
            )
            .bind(course)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let mut counts = SyncCounts::default();
            for row in &rows {
                let changed = sqlx::query(
                    "INSERT INTO content_items (course_id, lms_id, parent_id, title, handler, \
                     item_group, position, available, lms_created, lms_modified, created_at, updated_at) \
                     VALUES ($1, $2, (SELECT p.id FROM content_items p WHERE p.course_id = $1 AND p.lms_id = $3), \
                     $4, $5, $6, $7, $8, $9, $10, $11, $11) \
                     ON CONFLICT (course_id, lms_id) DO UPDATE SET parent_id = excluded.parent_id, \
                     title = excluded.title, handler = excluded.handler, item_group = excluded.item_group, \
                     position = excluded.position, available = excluded.available, \
                     lms_created = excluded.lms_created, lms_modified = excluded.lms_modified, \
                     removed_at = NULL, updated_at = excluded.updated_at \
                     WHERE content_items.parent_id IS DISTINCT FROM excluded.parent_id \
                     OR content_items.title <> excluded.title OR content_items.handler <> excluded.handler \
                     OR content_items.item_group <> excluded.item_group \
                     OR content_items.position <> excluded.position \
                     OR content_items.available <> excluded.available \
                     OR content_items.lms_modified IS DISTINCT FROM excluded.lms_modified \
                     OR content_items.removed_at IS NOT NULL",
                )
                .bind(course)
                .bind(&row.lms_id)
                .bind(&row.parent_lms_id)
                .bind(&row.title)
                .bind(&row.handler)
                .bind(row.group.as_str())
                .bind(row.position)
                .bind(row.available)
                .bind(row.lms_created)
                .bind(row.lms_modified)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                counts.upserted(changed, existing.contains(&row.lms_id));
            }
            let fetched: HashSet<&str> = rows.iter().map(|r| r.lms_id.as_str()).collect();
            for gone in existing.iter().filter(|id| !fetched.contains(id.as_str())) {
                counts.removed += sqlx::query(
                    "UPDATE content_items SET removed_at = $3, updated_at = $3 \
                     WHERE course_id = $1 AND lms_id = $2 AND removed_at IS NULL",
                )
                .bind(course)
                .bind(gone)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
            }
            if counts.updated > 0 {
                // An item may have changed group: the daily group views follow.
                sqlx::query(REGROUP_COURSE_DAYS).bind(course).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            counts
        });
        Ok(counts)
    }

    /// The course's content items (removed ones included), in tree order of insertion.
    pub async fn content_items(&self, course: CourseId) -> StoreResult<Vec<ContentItem>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, lms_id, parent_id, title, handler, item_group, position, available, \
                 removed_at FROM content_items WHERE course_id = $1 ORDER BY id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }

    /// LMS id → cloop id for every content item of the course.
    pub async fn content_item_ids(
        &self,
        course: CourseId,
    ) -> StoreResult<HashMap<String, ContentItemId>> {
        let rows: Vec<(String, ContentItemId)> = on_pool!(self, pool => {
            sqlx::query_as("SELECT lms_id, id FROM content_items WHERE course_id = $1")
                .bind(course)
                .fetch_all(pool)
                .await
        })?;
        Ok(rows.into_iter().collect())
    }

    /// Records review statuses; returns how many rows were new or changed.
    pub async fn upsert_content_reviews(
        &self,
        course: CourseId,
        rows: &[ReviewRow],
    ) -> StoreResult<i64> {
        let changed = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let mut changed = 0;
            for row in rows {
                changed += sqlx::query(
                    "INSERT INTO content_reviews (course_id, content_item_id, user_id, reviewed, reviewed_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (content_item_id, user_id) DO UPDATE SET \
                     reviewed = excluded.reviewed, reviewed_at = excluded.reviewed_at \
                     WHERE content_reviews.reviewed <> excluded.reviewed \
                     OR content_reviews.reviewed_at IS DISTINCT FROM excluded.reviewed_at",
                )
                .bind(course)
                .bind(row.content_item)
                .bind(row.user)
                .bind(row.reviewed)
                .bind(row.reviewed_at)
                .execute(&mut *tx)
                .await?
                .rows_affected() as i64;
            }
            tx.commit().await?;
            changed
        });
        Ok(changed)
    }

    /// How many (item, student) pairs are marked reviewed in the course.
    pub async fn reviewed_count(&self, course: CourseId) -> StoreResult<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM content_reviews WHERE course_id = $1 AND reviewed = TRUE",
            )
            .bind(course)
            .fetch_one(pool)
            .await
        })?)
    }
}

/// The rows ordered so that each parent comes before its children (the LMS usually sends
/// them so, but paging does not promise it).
fn parents_first(rows: &[ContentRow]) -> Vec<&ContentRow> {
    let ids: HashSet<&str> = rows.iter().map(|r| r.lms_id.as_str()).collect();
    let mut placed: HashSet<&str> = HashSet::new();
    let mut ordered = Vec::with_capacity(rows.len());
    let mut pending: Vec<&ContentRow> = rows.iter().collect();
    while !pending.is_empty() {
        let before = pending.len();
        pending.retain(|row| {
            let ready = match row.parent_lms_id.as_deref() {
                Some(parent) if ids.contains(parent) => placed.contains(parent),
                _ => true,
            };
            if ready {
                placed.insert(row.lms_id.as_str());
                ordered.push(*row);
            }
            !ready
        });
        if pending.len() == before {
            // A cycle in the LMS data: keep the rows; their parents resolve on a later sync.
            ordered.append(&mut pending);
        }
    }
    ordered
}
