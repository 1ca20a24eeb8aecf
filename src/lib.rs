//! cloop: learning analytics for instructors, an LTI 1.3 tool fed by the Blackboard Learn
//! REST API, Caliper and xAPI. `App::build` wires the store and the HTTP server together.

pub mod analytics;
pub mod config;
pub mod error;
pub mod events;
pub mod lti;
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
}

/// Why cloop could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] store::StoreError),
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
}

impl App {
    /// Opens and migrates the database, loads or creates the secret key and binds the
    /// listen address.
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let store = Store::connect(&config.database_url).await?;
        store.migrate().await?;
        let secret = SecretKey::load_or_create(&store, config.secret_key.as_ref()).await?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: config.listen,
                    source,
                })?;
        Ok(Self {
            state: AppState {
                store,
                config: Arc::new(config),
                secret: Arc::new(secret),
            },
            listener,
        })
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

    /// Serves until `shutdown` completes, then finishes in-flight requests and closes the store.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let store = self.state.store.clone();
        let router = web::router(self.state);
        let result = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        store.close().await;
        result
    }
}
