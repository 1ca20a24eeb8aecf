//! `cloop demo`: cloop on an embedded SQLite database with a seeded demo semester, and a
//! built-in LMS simulator that launches it through the real LTI 1.3 flow.

pub mod seed;
pub mod semester;
pub mod simulator;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use axum::Router;
use tokio::net::TcpListener;

use crate::store::StoreError;
use crate::{App, AppState, Config, StartError};

/// The simulator's LTI identity, as cloop registers it. The issuer is a fixed name (like
/// Blackboard's `https://blackboard.com`) so the registration survives a change of port.
pub const ISSUER: &str = "https://demo-lms.cloop.invalid";
pub const CLIENT_ID: &str = "cloop-demo";
pub const DEPLOYMENT_ID: &str = "demo-deployment-1";
pub const PLATFORM_NAME: &str = "demo-lms";

/// A course of the demo semester, as the simulated LMS knows it.
#[derive(Clone, Copy, Debug)]
pub struct DemoCourse {
    pub context_id: &'static str,
    pub code: &'static str,
    pub title: &'static str,
    pub term: &'static str,
    /// The Monday teaching starts, as (year, month, day).
    pub start: (i32, u8, u8),
}

/// The offering the simulator opens by default.
pub const CURRENT: DemoCourse = DemoCourse {
    context_id: "demo-ecol2001-2026-s1",
    code: "ECOL2001",
    title: "Ecology and Evolution (2026)",
    term: "Semester 1, 2026",
    start: (2026, 3, 2),
};

/// The same course a year earlier: the comparison baseline.
pub const PREVIOUS: DemoCourse = DemoCourse {
    context_id: "demo-ecol2001-2025-s1",
    code: "ECOL2001",
    title: "Ecology and Evolution (2025)",
    term: "Semester 1, 2025",
    start: (2025, 3, 3),
};

pub const COURSES: [DemoCourse; 2] = [CURRENT, PREVIOUS];

/// Where `cloop demo` listens and keeps its data.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    pub listen: SocketAddr,
    /// The folder holding the database; a fresh temporary one when `None`.
    pub data_dir: Option<PathBuf>,
    /// Students in the current offering (the generator's size parameter).
    pub students: u32,
}

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot use data folder {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot create the simulator's signing key: {0}")]
    Key(String),
    #[error("server failed: {0}")]
    Serve(std::io::Error),
}

/// cloop with the LMS simulator mounted, bound and ready to serve.
pub struct DemoServer {
    state: AppState,
    listener: TcpListener,
    simulator: Router,
}

impl DemoServer {
    /// Builds cloop over `config` and registers the simulator as a platform (or points the
    /// existing registration at this run's address).
    pub async fn build(config: Config) -> Result<Self, DemoError> {
        let (state, listener) = App::build(config).await?.into_parts();
        let simulator = simulator::Simulator::install(&state).await?;
        Ok(Self {
            state,
            listener,
            simulator,
        })
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// The page to open: the simulator's course page.
    pub fn url(&self) -> String {
        self.state.config.url(simulator::HOME)
    }

    /// Serves cloop and the simulator until `shutdown` completes.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let store = self.state.store.clone();
        let header_read_timeout = self.state.config.limits.header_read_timeout;
        let router = crate::web::router(self.state).merge(self.simulator);
        let result =
            crate::web::serve::serve(self.listener, router, header_read_timeout, shutdown).await;
        store.close().await;
        result
    }
}

/// The configuration of a demo run: SQLite in `dir`, reachable at the listen address.
pub fn config(listen: SocketAddr, dir: &Path) -> Config {
    let database = dir.join("cloop-demo.db");
    let mut config = Config::for_database(&format!("sqlite://{}", database.display()));
    config.listen = listen;
    // The LMS simulator runs on this machine.
    config.allow_private_urls = true;
    // A wildcard address is not one a browser can open; loopback is.
    let host = if listen.ip().is_unspecified() {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        listen.ip()
    };
    config.public_url =
        url::Url::parse(&format!("http://{}", SocketAddr::new(host, listen.port())))
            .expect("an address and port make a URL");
    config
}

/// `cloop demo`: seeds the semester on the first run in a folder, prints the URL to open
/// and serves until `shutdown`.
pub async fn run(
    options: DemoOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), DemoError> {
    let (dir, temporary) = match options.data_dir {
        Some(dir) => (dir, false),
        None => (
            std::env::temp_dir().join(format!("cloop-demo-{}", crate::SecretKey::random_token())),
            true,
        ),
    };
    std::fs::create_dir_all(&dir).map_err(|source| DemoError::DataDir {
        path: dir.display().to_string(),
        source,
    })?;
    let server = DemoServer::build(config(options.listen, &dir)).await?;
    let seeded = seed::seed_once(&server.state().store, options.students).await?;
    println!(
        "cloop demo: {} in {}",
        if seeded {
            "seeded a demo semester"
        } else {
            "reusing the demo data"
        },
        dir.display()
    );
    println!("Open this URL in your browser:\n{}", server.url());
    let result = server.run(shutdown).await.map_err(DemoError::Serve);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}
