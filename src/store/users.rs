//! People known through a platform, and their enrolments (roles) in courses.

use serde::Serialize;

use super::{CourseId, DeploymentId, EpochMs, PlatformId, Store, StoreResult, UserId, on_pool};

/// What a launch or a roster sync knows about a person.
#[derive(Clone, Debug, Default)]
pub struct UserUpsert {
    pub lms_sub: String,
    pub lms_user_pk: Option<String>,
    pub name: String,
    pub given_name: String,
    pub family_name: String,
    pub email: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: UserId,
    pub platform_id: PlatformId,
    pub lms_sub: String,
    pub lms_user_pk: Option<String>,
    pub name: String,
    pub email: Option<String>,
}

/// A person's place in a course: normalised role names and whether they make them staff.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Enrolment {
    pub course_id: CourseId,
    pub user_id: UserId,
    pub roles: String,
    pub is_staff: bool,
    pub active: bool,
    pub source: String,
}

/// What the LMS last said of a person in a course (launch or roster read): whether they
/// are still enrolled, and whether their role makes them staff.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Standing {
    pub active: bool,
    pub is_staff: bool,
}

impl Enrolment {
    pub fn role_names(&self) -> impl Iterator<Item = &str> {
        self.roles.split_whitespace()
    }
}

impl Store {
    /// Creates the user or refreshes the fields the LMS sent; fields it left out are kept.
    pub async fn upsert_user(&self, platform: PlatformId, user: &UserUpsert) -> StoreResult<User> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "INSERT INTO users (platform_id, lms_sub, lms_user_pk, name, given_name, family_name, \
                 email, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
                 ON CONFLICT (platform_id, lms_sub) DO UPDATE SET \
                 lms_user_pk = COALESCE(excluded.lms_user_pk, users.lms_user_pk), \
                 name = CASE WHEN excluded.name = '' THEN users.name ELSE excluded.name END, \
                 given_name = CASE WHEN excluded.given_name = '' THEN users.given_name ELSE excluded.given_name END, \
                 family_name = CASE WHEN excluded.family_name = '' THEN users.family_name ELSE excluded.family_name END, \
                 email = COALESCE(excluded.email, users.email), updated_at = excluded.updated_at \
                 RETURNING id, platform_id, lms_sub, lms_user_pk, name, email",
            )
            .bind(platform)
            .bind(&user.lms_sub)
            .bind(&user.lms_user_pk)
            .bind(&user.name)
            .bind(&user.given_name)
            .bind(&user.family_name)
            .bind(&user.email)
            .bind(EpochMs::now())
            .fetch_one(pool)
            .await
        })?)
    }

    /// Records the user's roles in the course (replacing what an earlier source said).
    pub async fn enrol(
        &self,
        course: CourseId,
        user: UserId,
        roles: &[&str],
        is_staff: bool,
        source: &str,
    ) -> StoreResult<()> {
        let roles = roles.join(" ");
        on_pool!(self, pool => {
            sqlx::query(
                "INSERT INTO enrolments (course_id, user_id, roles, is_staff, active, source, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, TRUE, $5, $6, $6) \
                 ON CONFLICT (course_id, user_id) DO UPDATE SET roles = excluded.roles, \
                 is_staff = excluded.is_staff, active = TRUE, source = excluded.source, \
                 updated_at = excluded.updated_at",
            )
            .bind(course)
            .bind(user)
            .bind(&roles)
            .bind(is_staff)
            .bind(source)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(())
    }

    pub async fn enrolment(
        &self,
        course: CourseId,
        user: UserId,
    ) -> StoreResult<Option<Enrolment>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT course_id, user_id, roles, is_staff, active, source FROM enrolments \
                 WHERE course_id = $1 AND user_id = $2",
            )
            .bind(course)
            .bind(user)
            .fetch_optional(pool)
            .await
        })?)
    }

    /// The person's standing in the course, provided the course is of that platform and
    /// deployment and the person of that platform: the check every course request makes,
    /// one read by three primary keys.
    pub async fn standing(
        &self,
        user: UserId,
        course: CourseId,
        platform: PlatformId,
        deployment: DeploymentId,
    ) -> StoreResult<Option<Standing>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_as(
                "SELECT e.active, e.is_staff FROM enrolments e \
                 JOIN courses c ON c.id = e.course_id JOIN users u ON u.id = e.user_id \
                 WHERE e.course_id = $1 AND e.user_id = $2 AND c.platform_id = $3 \
                 AND c.deployment_id = $4 AND u.platform_id = $3",
            )
            .bind(course)
            .bind(user)
            .bind(platform)
            .bind(deployment)
            .fetch_optional(pool)
            .await
        })?)
    }
}
