//! Course groups and sections from the LMS, with their members: replaced by a full read of
//! their source (Blackboard REST or NRPS), added to by a partial one.

use std::collections::{HashMap, HashSet};

use super::sync_runs::SyncCounts;
use super::{CourseGroupId, CourseId, EpochMs, PlatformId, Store, StoreResult, UserId, on_pool};
use crate::store::BeginWrite;

/// Where a course's groups came from; each source's groups are replaced only by its own
/// reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupSource {
    /// Blackboard Learn course groups over REST; members named by Learn primary key.
    Rest,
    /// NRPS `group_enrollments`; members named by their LTI `sub`.
    Nrps,
}

impl GroupSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rest => "rest",
            Self::Nrps => "nrps",
        }
    }

    /// The platform's users by the key this source names members by.
    fn users_sql(self) -> &'static str {
        match self {
            Self::Rest => {
                "SELECT lms_user_pk, id FROM users WHERE platform_id = $1 AND lms_user_pk IS NOT NULL"
            }
            Self::Nrps => "SELECT lms_sub, id FROM users WHERE platform_id = $1",
        }
    }
}

/// One group as the LMS lists it, members by the source's user key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupRow {
    pub lms_id: String,
    pub name: String,
    pub members: Vec<String>,
}

/// A stored group with its members.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CourseGroup {
    pub id: CourseGroupId,
    pub name: String,
    pub members: HashSet<UserId>,
}

impl Store {
    /// Stores a read of one source's groups. With `complete`, `groups` is every group of
    /// that source: groups it leaves out are deleted and each group's members become
    /// exactly those listed. A partial read adds groups and members and removes nobody.
    /// Members the course's platform does not know yet are skipped; a group listed by its
    /// id alone (its name unknown this time) keeps the name it has.
    pub async fn sync_groups(
        &self,
        platform: PlatformId,
        course: CourseId,
        source: GroupSource,
        groups: &[GroupRow],
        complete: bool,
    ) -> StoreResult<SyncCounts> {
        let now = EpochMs::now();
        let counts = on_pool!(self, pool => {
            let mut tx = pool.begin_write().await?;
            let users: HashMap<String, UserId> = sqlx::query_as::<_, (String, UserId)>(source.users_sql())
                .bind(platform)
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
            let existing: HashMap<String, CourseGroupId> = sqlx::query_as::<_, (String, CourseGroupId)>(
                "SELECT lms_id, id FROM course_groups WHERE course_id = $1 AND source = $2",
            )
            .bind(course)
            .bind(source.as_str())
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let mut counts = SyncCounts::default();
            let mut seen = HashSet::new();
            for g in groups {
                let changed = sqlx::query(
                    "INSERT INTO course_groups (course_id, source, lms_id, name, updated_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (course_id, source, lms_id) \
                     DO UPDATE SET name = excluded.name, updated_at = excluded.updated_at \
                     WHERE course_groups.name <> excluded.name AND excluded.name <> excluded.lms_id",
                )
                .bind(course)
                .bind(source.as_str())
                .bind(&g.lms_id)
                .bind(&g.name)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                counts.upserted(changed, existing.contains_key(&g.lms_id));
                let id: CourseGroupId = sqlx::query_scalar(
                    "SELECT id FROM course_groups WHERE course_id = $1 AND source = $2 AND lms_id = $3",
                )
                .bind(course)
                .bind(source.as_str())
                .bind(&g.lms_id)
                .fetch_one(&mut *tx)
                .await?;
                seen.insert(id);
                let members: HashSet<UserId> =
                    g.members.iter().filter_map(|m| users.get(m).copied()).collect();
                if complete {
                    let stored: Vec<UserId> = sqlx::query_scalar(
                        "SELECT user_id FROM course_group_members WHERE group_id = $1",
                    )
                    .bind(id)
                    .fetch_all(&mut *tx)
                    .await?;
                    for gone in stored.iter().filter(|u| !members.contains(u)) {
                        sqlx::query(
                            "DELETE FROM course_group_members WHERE group_id = $1 AND user_id = $2",
                        )
                        .bind(id)
                        .bind(gone)
                        .execute(&mut *tx)
                        .await?;
                    }
                }
                for user in &members {
                    sqlx::query(
                        "INSERT INTO course_group_members (group_id, user_id) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(id)
                    .bind(user)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            if complete {
                for gone in existing.values().filter(|id| !seen.contains(id)) {
                    counts.removed += sqlx::query("DELETE FROM course_groups WHERE id = $1")
                        .bind(gone)
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

    /// Remembers where the LMS lists the course's groups (the LTI Course Groups service).
    pub async fn set_course_groups_url(&self, course: CourseId, url: &str) -> StoreResult<()> {
        on_pool!(self, pool => {
            sqlx::query("UPDATE courses SET groups_url = $2 WHERE id = $1")
                .bind(course)
                .bind(url)
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    /// Where the LMS lists the course's groups, if a launch said.
    pub async fn course_groups_url(&self, course: CourseId) -> StoreResult<Option<String>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar("SELECT groups_url FROM courses WHERE id = $1")
                .bind(course)
                .fetch_one(pool)
                .await
        })?)
    }

    /// The course's groups of every source, by name: (id, name).
    pub async fn course_group_names(
        &self,
        course: CourseId,
    ) -> StoreResult<Vec<(CourseGroupId, String)>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name FROM course_groups WHERE course_id = $1 ORDER BY name, id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The members of one of the course's groups.
    pub async fn group_members(
        &self,
        course: CourseId,
        group: CourseGroupId,
    ) -> StoreResult<HashSet<UserId>> {
        let members: Vec<UserId> = on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT m.user_id FROM course_group_members m \
                 JOIN course_groups g ON g.id = m.group_id WHERE g.course_id = $1 AND g.id = $2",
            )
            .bind(course)
            .bind(group)
            .fetch_all(pool)
            .await
        })?;
        Ok(members.into_iter().collect())
    }

    /// The course's groups of every source, by name, with their members.
    pub async fn course_groups(&self, course: CourseId) -> StoreResult<Vec<CourseGroup>> {
        let groups: Vec<(CourseGroupId, String)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT id, name FROM course_groups WHERE course_id = $1 ORDER BY name, id",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?;
        let members: Vec<(CourseGroupId, UserId)> = on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT m.group_id, m.user_id FROM course_group_members m \
                 JOIN course_groups g ON g.id = m.group_id WHERE g.course_id = $1",
            )
            .bind(course)
            .fetch_all(pool)
            .await
        })?;
        let mut by_group: HashMap<CourseGroupId, HashSet<UserId>> = HashMap::new();
        for (group, user) in members {
            by_group.entry(group).or_default().insert(user);
        }
        Ok(groups
            .into_iter()
            .map(|(id, name)| CourseGroup {
                id,
                name,
                members: by_group.remove(&id).unwrap_or_default(),
            })
            .collect())
    }
}
