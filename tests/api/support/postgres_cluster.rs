//! A PostgreSQL cluster of one test's own, in a temporary folder on a free port, that the
//! test may stop and start again without touching the server the other tests share.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use tempfile::TempDir;

/// Where Debian's packages put each PostgreSQL version's server binaries.
const VERSIONS: &str = "/usr/lib/postgresql";

/// The cluster: initialised on creation, stopped (at once) when dropped. Run as the
/// `postgres` user when the tests run as root (as in CI), since PostgreSQL refuses root.
pub struct PostgresCluster {
    bin: PathBuf,
    data: TempDir,
    pub port: u16,
}

impl PostgresCluster {
    /// A new, stopped cluster; `None`, said on stderr past the harness's capture, when this
    /// machine has no PostgreSQL server binaries.
    pub fn create(test: &str) -> Option<Self> {
        let Some(bin) = newest_server_binaries() else {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "\n!!! `{test}` DID NOT RUN: no PostgreSQL server binaries in {VERSIONS}/*/bin !!!\n"
            );
            return None;
        };
        let data = tempfile::tempdir().expect("temp dir");
        if running_as_root() {
            run("chown", &["postgres", &data.path().display().to_string()]);
        }
        let cluster = Self {
            bin,
            data,
            port: crate::cli::free_port(),
        };
        cluster.as_owner(&format!(
            "{} -D {} -U postgres --auth=trust --no-sync -E UTF8 >/dev/null",
            cluster.bin.join("initdb").display(),
            cluster.data.path().display()
        ));
        Some(cluster)
    }

    /// The URL of its `postgres` database.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server and waits until it takes connections. Commits are synchronous,
    /// as in production, so an immediate stop loses nothing that was committed; `fsync`
    /// is off, which only a crash of the machine could tell.
    pub fn start(&self) {
        let data = self.data.path().display();
        self.as_owner(&format!(
            "{} -D {data} -l {data}/server.log -w -o \"-p {} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off\" start >/dev/null",
            self.bin.join("pg_ctl").display(),
            self.port
        ));
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`): open
    /// connections are cut, and the next start recovers from the write-ahead log.
    pub fn stop_immediately(&self) {
        self.as_owner(&self.stop_command());
    }

    fn stop_command(&self) -> String {
        format!(
            "{} -D {} -m immediate -w stop >/dev/null",
            self.bin.join("pg_ctl").display(),
            self.data.path().display()
        )
    }

    /// Runs a shell command as the owner of the cluster's files; panics if it fails.
    fn as_owner(&self, command: &str) {
        let status = owner_shell(command).status().expect("a shell");
        assert!(
            status.success(),
            "`{command}` failed: {status}; see {}",
            self.data.path().join("server.log").display()
        );
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        let _ = owner_shell(&format!("{} 2>/dev/null", self.stop_command()))
            .stderr(Stdio::null())
            .status();
    }
}

fn newest_server_binaries() -> Option<PathBuf> {
    std::fs::read_dir(VERSIONS)
        .ok()?
        .filter_map(|entry| {
            let version: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let bin = Path::new(VERSIONS).join(version.to_string()).join("bin");
            bin.join("pg_ctl").exists().then_some((version, bin))
        })
        .max()
        .map(|(_, bin)| bin)
}

/// `/proc/self` belongs to the process's effective user.
fn running_as_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn owner_shell(command: &str) -> Command {
    let mut shell = if running_as_root() {
        let mut su = Command::new("su");
        su.args(["postgres", "-s", "/bin/bash", "-c", command]);
        su
    } else {
        let mut bash = Command::new("bash");
        bash.args(["-c", command]);
        bash
    };
    shell.stdin(Stdio::null());
    shell
}

fn run(program: &str, args: &[&str]) {
    let status = Command::new(program).args(args).status().expect(program);
    assert!(status.success(), "{program} {args:?}: {status}");
}
