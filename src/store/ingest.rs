//! What event ingestion needs besides the activity rows: the keys LMSs push with, and
//! finding (or creating) the rows that LMS ids name.

use std::collections::HashMap;

use serde::Serialize;

use super::{
    ContentItemId, CourseId, EpochMs, PlatformId, Store, StoreError, StoreResult, UserId, on_pool,
};

/// Which endpoint a key opens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum IngestKeyKind {
    Caliper,
    Xapi,
}

impl IngestKeyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Caliper => "caliper",
            Self::Xapi => "xapi",
        }
    }
}

/// A key as listed (never the key itself, which is only stored hashed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct IngestKey {
    pub id: i64,
    pub platform_id: PlatformId,
    pub kind: String,
    pub label: String,
    pub created_at: EpochMs,
    pub revoked_at: Option<EpochMs>,
}

/// Course references an event carries, any of which may name a course cloop knows.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct CourseRef {
    /// Learn's primary key (`_123_1`), or the LMS's course id as the launch carries it.
    pub pk: Option<String>,
    /// Learn's batch uid / course number (`courseNumber`, `bb:course.externalId`).
    pub external_id: Option<String>,
}

/// Which course of a platform an event's references name. An ingest key speaks for a
/// whole platform, and an event names no deployment, so when two deployments of one
/// registration hold courses with the same reference cloop cannot tell which course the
/// event belongs to, and says so rather than guess.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CourseLookup {
    Found(CourseId),
    Unknown,
    /// The reference names courses of more than one deployment (or two courses).
    Ambiguous,
}

impl CourseLookup {
    fn of(ids: &[CourseId]) -> Self {
        match ids {
            [] => Self::Unknown,
            [one] => Self::Found(*one),
            _ => Self::Ambiguous,
        }
    }
}

impl CourseRef {
    /// The text pending events are filed under: the pk when there is one.
    pub fn key(&self) -> Option<&str> {
        self.pk.as_deref().or(self.external_id.as_deref())
    }
}

impl Store {
    /// Stores a new key's hash for a platform; returns the key's id.
    pub async fn add_ingest_key(
        &self,
        platform: PlatformId,
        kind: IngestKeyKind,
        key_hash: &str,
        label: &str,
    ) -> StoreResult<i64> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO ingest_keys (platform_id, kind, key_hash, label, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(platform)
            .bind(kind.as_str())
            .bind(key_hash)
            .bind(label)
            .bind(EpochMs::now())
            .fetch_one(pool)
            .await
        })?)
    }

    /// The platform a live key of this kind belongs to.
    pub async fn platform_for_ingest_key(
        &self,
        kind: IngestKeyKind,
        key_hash: &str,
    ) -> StoreResult<Option<PlatformId>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT platform_id FROM ingest_keys WHERE key_hash = $1 AND kind = $2 \
                 AND revoked_at IS NULL",
            )
            .bind(key_hash)
            .bind(kind.as_str())
            .fetch_optional(pool)
            .await
        })?)
    }

    pub async fn ingest_keys(&self, platform: PlatformId) -> StoreResult<Vec<IngestKey>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, platform_id, kind, label, created_at, revoked_at FROM ingest_keys \
                 WHERE platform_id = $1 ORDER BY id",
            )
            .bind(platform)
            .fetch_all(pool)
            .await
        })?)
    }

    /// Revokes a key of the platform; it stops working at once.
    pub async fn revoke_ingest_key(&self, platform: PlatformId, id: i64) -> StoreResult<()> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE ingest_keys SET revoked_at = $3 WHERE id = $1 AND platform_id = $2 \
                 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(platform)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        if done == 0 {
            return Err(StoreError::NotFound("live ingest key"));
        }
        Ok(())
    }

    /// The course a reference names: by LMS primary key (or context id), else by external
    /// id; ambiguous when either names more than one course of the platform.
    pub async fn course_by_ref(
        &self,
        platform: PlatformId,
        course: &CourseRef,
    ) -> StoreResult<CourseLookup> {
        if let Some(pk) = &course.pk {
            let found: Vec<CourseId> = on_pool!(self, pool => {
                sqlx::query_scalar(
                    "SELECT id FROM courses WHERE platform_id = $1 \
                     AND (lms_course_pk = $2 OR lms_context_id = $2) ORDER BY id LIMIT 2",
                )
                .bind(platform)
                .bind(pk)
                .fetch_all(pool)
                .await
            })?;
            if !found.is_empty() {
                return Ok(CourseLookup::of(&found));
            }
        }
        let Some(external) = &course.external_id else {
            return Ok(CourseLookup::Unknown);
        };
        let found: Vec<CourseId> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM courses WHERE platform_id = $1 AND lms_external_id = $2 \
                 ORDER BY id LIMIT 2",
            )
            .bind(platform)
            .bind(external)
            .fetch_all(pool)
            .await
        })?;
        Ok(CourseLookup::of(&found))
    }

    /// The user with this LMS primary key (`_123_1`, or the LMS's user id), created as a
    /// placeholder (`lms_sub` = `lms-pk:<pk>`, no name) when nobody has it yet; a later
    /// launch or roster sync fills in the name.
    pub async fn user_by_lms_pk(&self, platform: PlatformId, pk: &str) -> StoreResult<UserId> {
        let found = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM users WHERE platform_id = $1 AND (lms_user_pk = $2 OR lms_sub = $2) \
                 ORDER BY id LIMIT 1",
            )
            .bind(platform)
            .bind(pk)
            .fetch_optional(pool)
            .await
        })?;
        if let Some(id) = found {
            return Ok(id);
        }
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO users (platform_id, lms_sub, lms_user_pk, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (platform_id, lms_sub) \
                 DO UPDATE SET updated_at = excluded.updated_at RETURNING id",
            )
            .bind(platform)
            .bind(format!("lms-pk:{pk}"))
            .bind(pk)
            .bind(EpochMs::now())
            .fetch_one(pool)
            .await
        })?)
    }

    /// The users of the platform known by these LMS primary keys, as (pk, id) pairs; a
    /// bulk lookup so a batch of events costs one query, not one per person.
    async fn users_by_lms_pks(
        &self,
        platform: PlatformId,
        pks: &[&str],
    ) -> StoreResult<Vec<(String, UserId)>> {
        let rows = self
            .ids_by_text_keys(
                "SELECT lms_user_pk, id FROM users WHERE platform_id = $1 AND lms_user_pk IN (",
                platform.0,
                pks,
            )
            .await?;
        Ok(rows.into_iter().map(|(pk, id)| (pk, UserId(id))).collect())
    }

    /// The content items of the course with these LMS ids, as (lms id, id) pairs.
    async fn content_items_by_lms_ids(
        &self,
        course: CourseId,
        lms_ids: &[&str],
    ) -> StoreResult<Vec<(String, ContentItemId)>> {
        let rows = self
            .ids_by_text_keys(
                "SELECT lms_id, id FROM content_items WHERE course_id = $1 AND lms_id IN (",
                course.0,
                lms_ids,
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(key, id)| (key, ContentItemId(id)))
            .collect())
    }

    /// Runs `insert` (`INSERT INTO t (scope, a, b, created_at, updated_at) VALUES `) with a
    /// row per (a, b) pair, then `rest` (a conflict clause returning key and id), 500 rows a
    /// statement; the scope is `$1`, the time `$2`.
    async fn insert_by_text_pairs(
        &self,
        insert: &str,
        rest: &str,
        scope: i64,
        pairs: &[(String, String)],
    ) -> StoreResult<Vec<(String, i64)>> {
        let mut created = Vec::with_capacity(pairs.len());
        for chunk in pairs.chunks(IN_LIST_CHUNK) {
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("($1, ${}, ${}, $2, $2)", 3 + 2 * i, 4 + 2 * i))
                .collect();
            let sql = format!("{insert}{} {rest}", rows.join(", "));
            let now = EpochMs::now();
            let rows: Vec<(String, i64)> = on_pool!(self, pool => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(scope)
                    .bind(now);
                for (a, b) in chunk {
                    query = query.bind(a.as_str()).bind(b.as_str());
                }
                query.fetch_all(pool).await
            })?;
            created.extend(rows);
        }
        Ok(created)
    }

    /// Runs `select` (`… WHERE scope = $1 AND key IN (`, selecting key and id) for every
    /// key, 500 keys a statement.
    async fn ids_by_text_keys(
        &self,
        select: &str,
        scope: i64,
        keys: &[&str],
    ) -> StoreResult<Vec<(String, i64)>> {
        let mut found = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(IN_LIST_CHUNK) {
            let sql = in_list(select, 2, chunk.len());
            let rows: Vec<(String, i64)> = on_pool!(self, pool => {
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(scope);
                for key in chunk {
                    query = query.bind(*key);
                }
                query.fetch_all(pool).await
            })?;
            found.extend(rows);
        }
        Ok(found)
    }

    /// The users of the platform with these LMS primary keys (no key twice), as (pk, id)
    /// pairs for every key: found as [`Self::user_by_lms_pk`] finds them, and those nobody
    /// has yet created as placeholders, all in a few statements.
    pub async fn users_by_lms_pks_or_new(
        &self,
        platform: PlatformId,
        pks: &[&str],
    ) -> StoreResult<Vec<(String, UserId)>> {
        let mut found: HashMap<String, UserId> = HashMap::with_capacity(pks.len());
        for (pk, id) in self.users_by_lms_pks(platform, pks).await? {
            found.entry(pk).or_insert(id);
        }
        let missing: Vec<&str> = pks
            .iter()
            .copied()
            .filter(|pk| !found.contains_key(*pk))
            .collect();
        let by_sub = self
            .ids_by_text_keys(
                "SELECT lms_sub, id FROM users WHERE platform_id = $1 AND lms_sub IN (",
                platform.0,
                &missing,
            )
            .await?;
        for (pk, id) in by_sub {
            found.entry(pk).or_insert(UserId(id));
        }
        let placeholders: Vec<(String, String)> = missing
            .into_iter()
            .filter(|pk| !found.contains_key(*pk))
            .map(|pk| (format!("lms-pk:{pk}"), pk.to_string()))
            .collect();
        let created = self
            .insert_by_text_pairs(
                "INSERT INTO users (platform_id, lms_sub, lms_user_pk, created_at, updated_at) \
                 VALUES ",
                "ON CONFLICT (platform_id, lms_sub) DO UPDATE SET updated_at = excluded.updated_at \
                 RETURNING lms_user_pk, id",
                platform.0,
                &placeholders,
            )
            .await?;
        found.extend(created.into_iter().map(|(pk, id)| (pk, UserId(id))));
        Ok(found.into_iter().collect())
    }

    /// The content items of the course with these LMS ids (no id twice) and groups, as
    /// (lms id, id) pairs for every id: those the course lacks are created as untitled
    /// placeholders (see [`Self::content_item_by_lms_id`]), all in a few statements.
    pub async fn content_items_by_lms_ids_or_new(
        &self,
        course: CourseId,
        items: &[(&str, &str)],
    ) -> StoreResult<Vec<(String, ContentItemId)>> {
        let ids: Vec<&str> = items.iter().map(|(id, _)| *id).collect();
        let mut found: HashMap<String, ContentItemId> = self
            .content_items_by_lms_ids(course, &ids)
            .await?
            .into_iter()
            .collect();
        let placeholders: Vec<(String, String)> = items
            .iter()
            .filter(|(id, _)| !found.contains_key(*id))
            .map(|(id, group)| (id.to_string(), group.to_string()))
            .collect();
        let created = self
            .insert_by_text_pairs(
                "INSERT INTO content_items (course_id, lms_id, item_group, created_at, updated_at) \
                 VALUES ",
                "ON CONFLICT (course_id, lms_id) DO UPDATE SET updated_at = content_items.updated_at \
                 RETURNING lms_id, id",
                course.0,
                &placeholders,
            )
            .await?;
        found.extend(
            created
                .into_iter()
                .map(|(id, item)| (id, ContentItemId(item))),
        );
        Ok(found.into_iter().collect())
    }

    /// The content item with this LMS id in the course, created as an untitled placeholder
    /// when the content sync has not brought it yet (the sync's upsert then fills it in).
    pub async fn content_item_by_lms_id(
        &self,
        course: CourseId,
        lms_id: &str,
        group: &str,
    ) -> StoreResult<ContentItemId> {
        let found = on_pool!(self, pool => {
            sqlx::query_scalar("SELECT id FROM content_items WHERE course_id = $1 AND lms_id = $2")
                .bind(course)
                .bind(lms_id)
                .fetch_optional(pool)
                .await
        })?;
        if let Some(id) = found {
            return Ok(id);
        }
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO content_items (course_id, lms_id, item_group, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (course_id, lms_id) \
                 DO UPDATE SET updated_at = content_items.updated_at RETURNING id",
            )
            .bind(course)
            .bind(lms_id)
            .bind(group)
            .bind(EpochMs::now())
            .fetch_one(pool)
            .await
        })?)
    }

    /// Sets the LMS primary key and external id of a course (a REST sync or a test does).
    pub async fn set_course_lms_refs(
        &self,
        course: CourseId,
        pk: Option<&str>,
        external_id: Option<&str>,
    ) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query(
                "UPDATE courses SET lms_course_pk = COALESCE($2, lms_course_pk), \
                 lms_external_id = COALESCE($3, lms_external_id), updated_at = $4 WHERE id = $1",
            )
            .bind(course)
            .bind(pk)
            .bind(external_id)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// The course's members by full name, each with the LMS key an event names them by
    /// (the user's LMS primary key, or their LTI subject): for logs whose ids are hidden.
    pub async fn members_by_name(&self, course: CourseId) -> StoreResult<Vec<(String, String)>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT u.name, COALESCE(u.lms_user_pk, u.lms_sub) FROM enrolments e \
                 JOIN users u ON u.id = e.user_id WHERE e.course_id = $1 AND u.name <> ''",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The course's time zone name.
    pub async fn course_time_zone(&self, course: CourseId) -> StoreResult<String> {
        on_pool!(self, pool => {
            sqlx::query_scalar("SELECT time_zone FROM courses WHERE id = $1")
                .bind(course)
                .fetch_optional(pool)
                .await
        })?
        .ok_or(StoreError::NotFound("course"))
    }
}

/// Values per `IN (…)` list.
pub(super) const IN_LIST_CHUNK: usize = 500;

/// `prefix $first, $first+1, … )` for `n` values.
pub(super) fn in_list(prefix: &str, first: usize, n: usize) -> String {
    let placeholders: Vec<String> = (first..first + n).map(|i| format!("${i}")).collect();
    format!("{prefix}{})", placeholders.join(", "))
}
