//! cloop: learning analytics for instructors, an LTI 1.3 tool fed by the Blackboard Learn
//! REST API, Caliper and xAPI. `App::build` wires the store and the HTTP server together.

pub mod activity;
pub mod analytics;
pub mod config;
pub mod demo;
pub mod error;
pub mod events;
pub mod ingest;
pub mod jobs;
pub mod lms;
pub mod lti;
pub mod metrics;
pub mod outbound;
pub mod secret;
pub mod store;
pub mod web;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use config::Config;
pub use secret::SecretKey;
pub use store::Store;

/// What every request handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<Config>,
    pub secret: Arc<SecretKey>,
    /// Outbound HTTP (platform keys, LMS services).
    pub http: reqwest::Client,
    pub platform_keys: Arc<lti::platform_keys::PlatformKeys>,
    pub frame_ancestors: Arc<web::csp::FrameAncestors>,
    /// The ids pushed events name, remembered across requests.
    pub push_cache: Arc<ingest::PushCache>,
}

/// Why cloop could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A migrated store, the shared state and a bound listener, ready to serve.
pub struct App {
    state: AppState,
    listener: TcpListener,
    /// `metrics_listen`'s listener, serving `/metrics` alone.
    metrics_listener: Option<TcpListener>,
    jobs: Option<jobs::JobsOptions>,
}

impl App {
    /// Opens and migrates the database, loads or creates the secret key and binds the
    /// listen address.
    /// A `public_url` with port 0 (as in tests and `listen = "127.0.0.1:0"`) is completed
    /// with the port actually bound.
    pub async fn build(mut config: Config) -> Result<Self, StartError> {
        let store =
            Store::connect_with_queue(&config.database_url, config.limits.activity_queue_events)
                .await?;
        store.migrate().await?;
        let secret = SecretKey::load_or_create(&store, config.secret_key.as_ref()).await?;
        lti::keys::ensure_signing_key(&store).await?;
        let http = reqwest::Client::builder()
            .user_agent(concat!("cloop/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| StartError::Http(e.to_string()))?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartError::Listen { addr, source })?,
            ),
            None => None,
        };
        metrics::handle();
        if config.public_url.port() == Some(0) {
            let port = listener
                .local_addr()
                .map_err(|source| StartError::Listen {
                    addr: config.listen,
                    source,
                })?
                .port();
            let _ = config.public_url.set_port(Some(port));
        }
        Ok(Self {
            state: AppState {
                store,
                config: Arc::new(config),
                secret: Arc::new(secret),
                platform_keys: Arc::new(lti::platform_keys::PlatformKeys::new(http.clone())),
                http,
                frame_ancestors: Arc::default(),
                push_cache: Arc::default(),
            },
            listener,
            metrics_listener,
            jobs: None,
        })
    }

    /// Runs the sync scheduler and workers beside the server (`cloop serve` without
    /// `--no-jobs`); they stop on the same shutdown signal.
    pub fn with_jobs(mut self, options: jobs::JobsOptions) -> Self {
        self.jobs = Some(options);
        self
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The state and the bound listener, for a caller that serves extra routes beside
    /// cloop's (the demo's LMS simulator).
    pub fn into_parts(self) -> (AppState, TcpListener) {
        (self.state, self.listener)
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests and closes the store.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let store = self.state.store.clone();
        let maintenance = tokio::spawn(purge_expired_records(
            store.clone(),
            self.state.config.limits.pending_event_ttl,
        ));
        let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
        let mut background = self.jobs.map(|options| {
            jobs::spawn(
                store.clone(),
                self.state.secret.clone(),
                options,
                jobs_stopped,
            )
        });
        let header_read_timeout = self.state.config.limits.header_read_timeout;
        let (stop_metrics, metrics_stopped) = tokio::sync::watch::channel(false);
        let metrics_server = self.metrics_listener.map(|listener| {
            let router = web::metrics_router(self.state.clone());
            let mut stopped = metrics_stopped;
            tokio::spawn(web::serve::serve(
                listener,
                router,
                header_read_timeout,
                async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                },
            ))
        });
        let router = web::router(self.state);
        let result = web::serve::serve(self.listener, router, header_read_timeout, async move {
            shutdown.await;
            let _ = stop_jobs.send(true);
            let _ = stop_metrics.send(true);
        })
        .await;
        if let Some(server) = metrics_server {
            let _ = server.await;
        }
        maintenance.abort();
        if let Some(tasks) = background.as_mut() {
            // Give a running sync a moment to finish; one cut short resumes on its next run.
            let drained = tokio::time::timeout(std::time::Duration::from_secs(10), async {
                while tasks.join_next().await.is_some() {}
            })
            .await;
            if drained.is_err() {
                tasks.abort_all();
            }
        }
        store.close().await;
        result
    }
}

/// Every quarter hour, forgets the nonces of tokens that can no longer be used, used
/// invites past their expiry and the events of unknown courses older than `pending_ttl`.
async fn purge_expired_records(store: Store, pending_ttl: std::time::Duration) {
    let pending_ttl_secs = i64::try_from(pending_ttl.as_secs()).unwrap_or(i64::MAX / 1000);
    let mut every = tokio::time::interval(std::time::Duration::from_secs(15 * 60));
    loop {
        every.tick().await;
        let now = store::EpochMs::now();
        match store.purge_expired_nonces(now).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "purged expired nonces"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired nonces"),
        }
        match store
            .purge_pending_events(now.plus_secs(-pending_ttl_secs))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(events = n, "deleted expired events of unknown courses"),
            Err(e) => tracing::warn!(error = %e, "could not delete expired pending events"),
        }
        match store.purge_used_invites(now).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(rows = n, "purged expired used invites"),
            Err(e) => tracing::warn!(error = %e, "could not purge used invites"),
        }
    }
}
