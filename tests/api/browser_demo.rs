//! What every Chromium test starts with: Chromium itself (a test that cannot run says so,
//! and fails under CI), and for the demo's tests a seeded `cloop demo` on loopback.

use std::io::Write;
use std::path::Path;

use cloop::demo::{self, DemoServer};
use tokio::sync::oneshot;

use crate::browser::{CHROMEDRIVER, CHROMIUM};

/// True when Chromium or its driver is missing and `test` cannot run: said on stderr, and
/// a panic under CI.
pub fn chromium_missing(test: &str) -> bool {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return false;
    }
    if std::env::var_os("CI").is_some() {
        panic!("chromium and chromium-driver are not installed under CI: the {test} cannot run");
    }
    let _ = writeln!(
        std::io::stderr(),
        "\n!!! {test} DID NOT RUN: install chromium and chromium-driver (apt-get install -y chromium chromium-driver) !!!\n"
    );
    true
}

/// The demo, seeded and serving; it stops when dropped.
pub struct RunningDemo {
    pub url: String,
    _stop: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

/// Starts the seeded demo for `test`, or `None` when Chromium is missing.
pub async fn running_demo(test: &str) -> Option<RunningDemo> {
    if chromium_missing(test) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = DemoServer::build(demo::config(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        dir.path(),
    ))
    .await
    .expect("build the demo server");
    assert!(
        demo::seed::seed_once(&server.state().store, 60)
            .await
            .unwrap()
    );
    let url = server.url();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));
    Some(RunningDemo {
        url,
        _stop: stop,
        _dir: dir,
    })
}
