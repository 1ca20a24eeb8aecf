//! The platform registrations every login and launch looks up by issuer, cached in memory:
//! every write to platforms or deployments through this store clears the cache at once.
//!
//! Other processes (the CLI, other instances on one PostgreSQL) write past this cache, so
//! an entry is re-read after [`REFRESH`]; a lookup that finds nothing always asks the
//! database (a platform or deployment added elsewhere works at once), and a launch's write
//! transaction refers to the platform and deployment by foreign key, so one removed
//! elsewhere refuses the launch even while its entry is cached.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::platforms::Platform;
use super::{DeploymentId, PlatformId, Store, StoreResult, on_pool};

/// How long a cached registration is trusted before it is read again.
pub const REFRESH: Duration = Duration::from_secs(10);

/// A platform as a launch needs it: the row, its deployments and whether it has REST
/// credentials.
#[derive(Debug)]
pub struct Registration {
    pub platform: Platform,
    /// The LTI `deployment_id`s registered for the platform, with cloop's row ids.
    pub deployments: HashMap<String, DeploymentId>,
    /// All three Blackboard REST credentials are set.
    pub has_rest: bool,
}

impl Registration {
    pub fn deployment(&self, deployment_id: &str) -> Option<DeploymentId> {
        self.deployments.get(deployment_id).copied()
    }
}

/// The registrations under one issuer (Blackboard and Canvas share issuers).
pub type Registrations = Arc<[Arc<Registration>]>;

/// Registrations by issuer, each with when it was read.
#[derive(Debug, Default)]
pub struct RegistryCache {
    by_issuer: RwLock<HashMap<String, (Instant, Registrations)>>,
    /// Counts clears, so that a read which overlapped a write is not cached.
    generation: AtomicU64,
}

impl RegistryCache {
    /// Forgets every entry (a platform, deployment or REST credential changed).
    pub fn clear(&self) {
        let mut cached = self.by_issuer.write().expect("registry lock");
        self.generation.fetch_add(1, Ordering::SeqCst);
        cached.clear();
    }

    /// Caches what was read unless the registrations changed since `generation`.
    fn keep(&self, issuer: &str, generation: u64, found: Registrations) {
        let mut cached = self.by_issuer.write().expect("registry lock");
        if self.generation.load(Ordering::SeqCst) == generation {
            cached.insert(issuer.to_string(), (Instant::now(), found));
        }
    }

    fn fresh(&self, issuer: &str) -> Option<Registrations> {
        let cached = self.by_issuer.read().expect("registry lock");
        cached
            .get(issuer)
            .filter(|(at, _)| at.elapsed() < REFRESH)
            .map(|(_, found)| found.clone())
    }
}

impl Store {
    /// The registrations under `issuer`, from the cache while fresh.
    pub async fn registrations(&self, issuer: &str) -> StoreResult<Registrations> {
        match self.registry().fresh(issuer) {
            Some(found) => Ok(found),
            None => self.reload_registrations(issuer).await,
        }
    }

    /// Reads the registrations under `issuer` from the database and caches them when
    /// there are any (an unknown issuer is asked about again next time).
    pub async fn reload_registrations(&self, issuer: &str) -> StoreResult<Registrations> {
        let generation = self.registry().generation.load(Ordering::SeqCst);
        let platforms = self.platforms_by_issuer(issuer).await?;
        if platforms.is_empty() {
            return Ok(Arc::from([]));
        }
        let (deployments, with_rest): (Vec<(PlatformId, String, DeploymentId)>, Vec<PlatformId>) = on_pool!(self, pool => {
            let deployments = sqlx::query_as(
                "SELECT d.platform_id, d.deployment_id, d.id FROM deployments d \
                 JOIN platforms p ON p.id = d.platform_id WHERE p.issuer = $1",
            )
            .bind(issuer)
            .fetch_all(pool)
            .await?;
            let with_rest = sqlx::query_scalar(
                "SELECT id FROM platforms WHERE issuer = $1 AND rest_base_url IS NOT NULL \
                 AND rest_key IS NOT NULL AND rest_secret IS NOT NULL",
            )
            .bind(issuer)
            .fetch_all(pool)
            .await?;
            (deployments, with_rest)
        });
        let found: Registrations = platforms
            .into_iter()
            .map(|platform| {
                let deployments = deployments
                    .iter()
                    .filter(|(p, _, _)| *p == platform.id)
                    .map(|(_, text, id)| (text.clone(), *id))
                    .collect();
                let has_rest = with_rest.contains(&platform.id);
                Arc::new(Registration {
                    platform,
                    deployments,
                    has_rest,
                })
            })
            .collect();
        self.registry().keep(issuer, generation, found.clone());
        Ok(found)
    }
}
