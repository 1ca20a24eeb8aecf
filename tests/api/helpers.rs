//! Test helpers: fresh databases on both backends, and `spawn_app` that runs the real
//! server on a free loopback port until the test drops it.

use std::io::Write;
use std::net::SocketAddr;

use cloop::{App, Config, Store};
use tempfile::TempDir;
use tokio::sync::oneshot;

/// Which database a test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database: a SQLite file in its own folder, or a new PostgreSQL database.
pub struct TestDatabase {
    pub url: String,
    _dir: Option<TempDir>,
}

const POSTGRES_ENV: &str = "CLOOP_TEST_POSTGRES_URL";

impl TestDatabase {
    /// `None` when the backend is PostgreSQL and no server was given; that is announced
    /// on stderr past the test harness's capture, and is a failure under CI.
    pub async fn fresh(backend: Backend, test: &str) -> Option<Self> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("cloop.db").display());
                Some(Self {
                    url,
                    _dir: Some(dir),
                })
            }
            Backend::Postgres => Some(Self {
                url: create_postgres_database(&postgres_server(test)?).await,
                _dir: None,
            }),
        }
    }

    /// A database the test made itself, at `url`.
    pub fn at(url: String) -> Self {
        Self { url, _dir: None }
    }

    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url)
            .await
            .expect("connect to test database");
        store.migrate().await.expect("migrate test database");
        store
    }
}

/// The PostgreSQL server the tests may use (`CLOOP_TEST_POSTGRES_URL`), or `None` when
/// none was given; that is announced on stderr past the test harness's capture, and is a
/// failure under CI.
pub fn postgres_server(test: &str) -> Option<String> {
    let Ok(admin_url) = std::env::var(POSTGRES_ENV) else {
        if std::env::var_os("CI").is_some() {
            panic!("{POSTGRES_ENV} is not set under CI: the PostgreSQL half of {test} cannot run");
        }
        let _ = writeln!(
            std::io::stderr(),
            "\n!!! PostgreSQL half of `{test}` DID NOT RUN: set {POSTGRES_ENV} (see README) !!!\n"
        );
        return None;
    };
    Some(admin_url)
}

/// Test databases are named `cloop_test_{pid}_{random}`, so a later run can drop those of
/// test processes that have ended instead of letting them fill the disk.
const DATABASE_PREFIX: &str = "cloop_test_";

async fn create_postgres_database(admin_url: &str) -> String {
    static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
    let name = format!("{DATABASE_PREFIX}{}_{}", std::process::id(), uuid_like());
    let admin = Store::connect(admin_url)
        .await
        .expect("connect to the PostgreSQL test server");
    let Store::Postgres(cloop::store::PostgresDb { pool, .. }) = &admin else {
        panic!("{POSTGRES_ENV} must be a postgres:// URL");
    };
    SWEPT.get_or_init(|| drop_ended_runs_databases(pool)).await;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(pool)
        .await
        .expect("create test database");
    admin.close().await;
    let mut url = url::Url::parse(admin_url).expect("valid PostgreSQL URL");
    url.set_path(&name);
    url.to_string()
}

/// Drops the test databases of processes that are no longer running. One still in use by
/// another run is left alone.
async fn drop_ended_runs_databases(pool: &sqlx::PgPool) {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'cloop\\_test\\_%'")
            .fetch_all(pool)
            .await
            .expect("list test databases");
    for name in names {
        let pid = name
            .strip_prefix(DATABASE_PREFIX)
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok());
        let ended = pid.is_none_or(|pid| {
            pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        });
        if ended {
            let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name}"
            )))
            .execute(pool)
            .await;
        }
    }
}

fn uuid_like() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..16)
        .map(|_| char::from(b'a' + rng.random_range(0..26)))
        .collect()
}

/// A running cloop server for one test; stops when dropped.
pub struct TestApp {
    pub address: SocketAddr,
    pub store: Store,
    pub client: reqwest::Client,
    pub state: cloop::AppState,
    pub _database: TestDatabase,
    shutdown: Option<oneshot::Sender<()>>,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the real server on 127.0.0.1:0 over a fresh database of the given backend. The
/// mock LMSs run on loopback too, so URLs they send may lead to private addresses.
pub async fn spawn_app(backend: Backend, test: &str) -> Option<TestApp> {
    spawn_app_with(backend, test, |_| {}).await
}

/// `spawn_app` with the test's changes to the configuration (limits, intervals, the
/// outbound guard).
pub async fn spawn_app_with(
    backend: Backend,
    test: &str,
    adjust: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    let database = TestDatabase::fresh(backend, test).await?;
    Some(spawn_app_over(database, adjust).await)
}

/// The real server over a database the test has already filled.
pub async fn spawn_app_over(database: TestDatabase, adjust: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config::for_database(&database.url);
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    // The tests' mock LMSs listen on loopback.
    config.allow_private_urls = true;
    adjust(&mut config);
    let app = App::build(config).await.expect("build app");
    let address = app.local_addr();
    let store = app.state().store.clone();
    let state = app.state().clone();
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        app.run(async {
            let _ = rx.await;
        })
        .await
        .expect("server runs");
    });
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp {
        address,
        store,
        client,
        state,
        _database: database,
        shutdown: Some(tx),
    }
}

/// A `TestApp` for a server that runs in another process on `port` over `database`: the
/// store, the instance secret and the signing key are made here first, and the process
/// reads them from the database. Nothing is served in this process.
pub async fn app_beside_process(database: TestDatabase, port: u16) -> TestApp {
    let mut config = Config::for_database(&database.url);
    config.listen = SocketAddr::from(([127, 0, 0, 1], 0));
    config.public_url = url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    config.allow_private_urls = true;
    let app = App::build(config).await.expect("build app");
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    TestApp {
        address: SocketAddr::from(([127, 0, 0, 1], port)),
        store: app.state().store.clone(),
        state: app.state().clone(),
        client,
        _database: database,
        shutdown: None,
    }
}

/// Declares one async test per backend: `NAME::sqlite` and `NAME::postgres`. The body gets
/// the backend as `$backend`.
#[macro_export]
macro_rules! on_both_backends {
    ($(#[$meta:meta])* async fn $name:ident($backend:ident: Backend) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            use $crate::helpers::Backend;

            async fn run($backend: Backend) $body

            #[tokio::test]
            $(#[$meta])*
            async fn sqlite() {
                run(Backend::Sqlite).await
            }

            #[tokio::test]
            $(#[$meta])*
            async fn postgres() {
                run(Backend::Postgres).await
            }
        }
    };
}

/// The fresh, migrated store for a test, or return early when its backend cannot run.
#[macro_export]
macro_rules! fresh_store {
    ($backend:expr) => {{
        let Some(db) = $crate::helpers::TestDatabase::fresh($backend, module_path!()).await else {
            return;
        };
        let store = db.store().await;
        (db, store)
    }};
}

/// The running app for a test, or return early when its backend cannot run.
#[macro_export]
macro_rules! app_on {
    ($backend:expr) => {{
        let Some(app) = $crate::helpers::spawn_app($backend, module_path!()).await else {
            return;
        };
        app
    }};
}

/// Activity events stored, over all courses.
pub async fn count_activity(store: &Store) -> usize {
    let sql = "SELECT id FROM courses";
    let courses: Vec<i64> = match store {
        Store::Sqlite(db) => sqlx::query_scalar(sql).fetch_all(&db.pool).await.unwrap(),
        Store::Postgres(cloop::store::PostgresDb { pool, .. }) => {
            sqlx::query_scalar(sql).fetch_all(pool).await.unwrap()
        }
    };
    let mut events = 0;
    for course in courses {
        events += store
            .activity_of_course(cloop::store::CourseId(course))
            .await
            .unwrap()
            .len();
    }
    events
}

/// Rows in a table, to show a rejected request created nothing.
pub async fn count_rows(store: &Store, table: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
    match store {
        Store::Sqlite(db) => sqlx::query_scalar(sql).fetch_one(&db.pool).await.unwrap(),
        Store::Postgres(cloop::store::PostgresDb { pool, .. }) => {
            sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
        }
    }
}

/// The platform's deployment `deployment-1` (registered if missing), for tests that make
/// courses directly: a course is a context of one deployment.
pub async fn deployment(
    store: &Store,
    platform: cloop::store::PlatformId,
) -> cloop::store::DeploymentId {
    store
        .add_deployment(platform, "deployment-1")
        .await
        .unwrap()
}
