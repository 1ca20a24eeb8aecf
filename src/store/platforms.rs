//! LTI platform registrations (issuer + client_id) and their deployment ids.

use serde::Serialize;

use super::{
    DeploymentId, EpochMs, PlatformId, Store, StoreError, StoreResult, is_unique_violation, on_pool,
};

/// A platform as the admin registers it.
#[derive(Clone, Debug)]
pub struct NewPlatform {
    pub name: String,
    pub product: String,
    pub issuer: String,
    pub client_id: String,
    pub auth_url: String,
    pub jwks_url: String,
    pub token_url: String,
    pub token_audience: Option<String>,
}

/// A registered platform.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Platform {
    pub id: PlatformId,
    pub name: String,
    pub product: String,
    pub issuer: String,
    pub client_id: String,
    pub auth_url: String,
    pub jwks_url: String,
    pub token_url: String,
    pub token_audience: Option<String>,
    pub rest_base_url: Option<String>,
    /// Space-separated origins seen framing cloop in launches from this platform.
    pub frame_origins: String,
    pub created_at: EpochMs,
}

impl Platform {
    /// Origins allowed to frame cloop for this platform: its issuer and endpoints (Moodle,
    /// D2L, self-hosted LMSs) and the sites seen in launches (Blackboard, Canvas).
    pub fn framing_origins(&self) -> Vec<String> {
        let mut origins: Vec<String> = [&self.issuer, &self.auth_url]
            .into_iter()
            .chain(self.rest_base_url.as_ref())
            .filter_map(|u| url::Url::parse(u).ok())
            .map(|u| u.origin().ascii_serialization())
            .chain(self.frame_origins.split_whitespace().map(str::to_string))
            .filter(|o| o != "null")
            .collect();
        origins.sort();
        origins.dedup();
        origins
    }
}

macro_rules! platform_columns {
    () => {
        "id, name, product, issuer, client_id, auth_url, jwks_url, token_url, token_audience, \
         rest_base_url, frame_origins, created_at"
    };
}

impl Store {
    /// Registers a platform; a second one with the same name or the same issuer and
    /// client_id is a conflict.
    pub async fn create_platform(&self, new: &NewPlatform) -> StoreResult<Platform> {
        let now = EpochMs::now();
        let sql = concat!(
            "INSERT INTO platforms (name, product, issuer, client_id, auth_url, jwks_url, \
             token_url, token_audience, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING ",
            platform_columns!()
        );
        let result = on_pool!(self, pool => {
            sqlx::query_as::<_, Platform>(sql)
                .bind(&new.name)
                .bind(&new.product)
                .bind(&new.issuer)
                .bind(&new.client_id)
                .bind(&new.auth_url)
                .bind(&new.jwks_url)
                .bind(&new.token_url)
                .bind(&new.token_audience)
                .bind(now)
                .fetch_one(pool)
                .await
        });
        self.registry().clear();
        result.map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict(format!(
                    "a platform named {:?} or with issuer {} and client id {} is already registered",
                    new.name, new.issuer, new.client_id
                ))
            } else {
                e.into()
            }
        })
    }

    pub async fn platforms(&self) -> StoreResult<Vec<Platform>> {
        let sql = concat!(
            "SELECT ",
            platform_columns!(),
            " FROM platforms ORDER BY name"
        );
        Ok(on_pool!(self, pool => sqlx::query_as(sql).fetch_all(pool).await)?)
    }

    pub async fn platform(&self, id: PlatformId) -> StoreResult<Platform> {
        let sql = concat!(
            "SELECT ",
            platform_columns!(),
            " FROM platforms WHERE id = $1"
        );
        on_pool!(self, pool => sqlx::query_as(sql).bind(id).fetch_optional(pool).await)?
            .ok_or(StoreError::NotFound("platform"))
    }

    pub async fn platform_by_name(&self, name: &str) -> StoreResult<Option<Platform>> {
        let sql = concat!(
            "SELECT ",
            platform_columns!(),
            " FROM platforms WHERE name = $1"
        );
        Ok(on_pool!(self, pool => sqlx::query_as(sql).bind(name).fetch_optional(pool).await)?)
    }

    /// Every registration under one issuer (Blackboard and Canvas share issuers).
    pub async fn platforms_by_issuer(&self, issuer: &str) -> StoreResult<Vec<Platform>> {
        let sql = concat!(
            "SELECT ",
            platform_columns!(),
            " FROM platforms WHERE issuer = $1 ORDER BY id"
        );
        Ok(on_pool!(self, pool => sqlx::query_as(sql).bind(issuer).fetch_all(pool).await)?)
    }

    /// Remembers an origin that framed a launch from this platform; true if it was new.
    pub async fn add_frame_origin(&self, id: PlatformId, origin: &str) -> StoreResult<bool> {
        let platform = self.platform(id).await?;
        if platform
            .frame_origins
            .split_whitespace()
            .any(|o| o == origin)
        {
            return Ok(false);
        }
        let updated = format!("{} {origin}", platform.frame_origins)
            .trim()
            .to_string();
        on_pool!(self, pool => {
            sqlx::query("UPDATE platforms SET frame_origins = $2, updated_at = $3 WHERE id = $1")
                .bind(id)
                .bind(&updated)
                .bind(EpochMs::now())
                .execute(pool)
                .await
                .map(|r| r.rows_affected())
        })?;
        self.registry().clear();
        Ok(true)
    }

    /// Points a registration at new endpoints (a platform that moved, or the demo's LMS
    /// simulator on another port); its courses and deployments stay.
    pub async fn set_platform_endpoints(
        &self,
        id: PlatformId,
        auth_url: &str,
        jwks_url: &str,
        token_url: &str,
    ) -> StoreResult<()> {
        let done = on_pool!(self, pool => {
            sqlx::query(
                "UPDATE platforms SET auth_url = $2, jwks_url = $3, token_url = $4, updated_at = $5 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(auth_url)
            .bind(jwks_url)
            .bind(token_url)
            .bind(EpochMs::now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        self.registry().clear();
        if done == 0 {
            return Err(StoreError::NotFound("platform"));
        }
        Ok(())
    }

    /// Removes a platform and everything cloop holds through it.
    pub async fn remove_platform(&self, id: PlatformId) -> StoreResult<()> {
        let done = on_pool!(self, pool => {
            sqlx::query("DELETE FROM platforms WHERE id = $1").bind(id).execute(pool).await.map(|r| r.rows_affected())
        })?;
        self.registry().clear();
        if done == 0 {
            return Err(StoreError::NotFound("platform"));
        }
        Ok(())
    }

    /// Adds a deployment id to a platform (adding one that exists changes nothing) and
    /// returns its row.
    pub async fn add_deployment(
        &self,
        platform: PlatformId,
        deployment_id: &str,
    ) -> StoreResult<DeploymentId> {
        let id = on_pool!(self, pool => {
            sqlx::query_scalar(
                "INSERT INTO deployments (platform_id, deployment_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (platform_id, deployment_id) DO UPDATE SET deployment_id = excluded.deployment_id \
                 RETURNING id",
            )
            .bind(platform)
            .bind(deployment_id)
            .bind(EpochMs::now())
            .fetch_one(pool)
            .await
        })?;
        self.registry().clear();
        Ok(id)
    }

    pub async fn deployments(&self, platform: PlatformId) -> StoreResult<Vec<String>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT deployment_id FROM deployments WHERE platform_id = $1 ORDER BY id",
            )
            .bind(platform)
            .fetch_all(pool)
            .await
        })?)
    }

    /// The registered deployment with this LTI `deployment_id`, if the platform has it.
    pub async fn deployment(
        &self,
        platform: PlatformId,
        deployment_id: &str,
    ) -> StoreResult<Option<DeploymentId>> {
        Ok(on_pool!(self, pool => {
            sqlx::query_scalar(
                "SELECT id FROM deployments WHERE platform_id = $1 AND deployment_id = $2",
            )
            .bind(platform)
            .bind(deployment_id)
            .fetch_optional(pool)
            .await
        })?)
    }
}
