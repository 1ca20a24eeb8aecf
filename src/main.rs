//! The `cloop` command line: parses arguments and calls into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cloop::{App, Config, Store};
use tracing_subscriber::EnvFilter;

/// mimalloc: an import allocates each event's strings on the reading thread and frees them
/// on the writing one, which glibc's allocator does slowly (about 10 % of an import).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cloop",
    version,
    about = "Learning analytics for instructors: an LTI 1.3 tool for Blackboard Learn, Moodle, Canvas, D2L and Sakai",
    long_about = "cloop shows instructors how students use their course, with the course's lectures, \
                  due dates and exams drawn over every chart. It opens inside the LMS as an LTI 1.3 tool \
                  and fills itself from the Blackboard Learn REST API, Caliper and xAPI events, and imports.\n\n\
                  Configuration comes from built-in defaults, then cloop.toml (or --config), then \
                  CLOOP_<KEY> environment variables."
)]
struct Cli {
    /// Configuration file (TOML); defaults to ./cloop.toml when it exists.
    #[arg(long, global = true, env = "CLOOP_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server: LTI launch, dashboards, event endpoints, admin pages.
    ///
    /// Applies pending database migrations first, then listens on `listen` until SIGINT or
    /// SIGTERM, finishing in-flight requests before it exits. The sync scheduler and
    /// workers run in the same process unless --no-jobs is given.
    Serve {
        /// Serve HTTP only; run `cloop worker` elsewhere for background syncs.
        #[arg(long)]
        no_jobs: bool,
    },
    /// Run the sync scheduler and workers only (no HTTP), until SIGINT or SIGTERM.
    Worker,
    /// Sync courses from the Blackboard Learn REST API now, in the foreground.
    Sync {
        /// cloop's course id, or an LMS course id (context id, `_123_1`, uuid, code).
        #[arg(long, conflicts_with = "all", required_unless_present = "all")]
        course: Option<String>,
        /// Every course whose platform has REST credentials.
        #[arg(long)]
        all: bool,
    },
    /// Write a consistent copy of the SQLite database to FILE (a new file) while cloop
    /// keeps serving. For PostgreSQL use pg_dump (see README, "Backups").
    Backup {
        /// The file to write the copy to; it must not exist yet.
        file: PathBuf,
    },
    /// Replace the SQLite database with the backup FILE, after checking the backup.
    /// Refuses while any cloop process (serve, worker, import, sync) has the database open.
    Restore {
        /// The backup to restore (made by `cloop backup`).
        file: PathBuf,
    },
    /// Apply pending database migrations and exit.
    ///
    /// `serve` does this too; run it alone to upgrade the schema before starting several
    /// instances against one PostgreSQL database.
    Migrate,
    /// LMS platforms registered with cloop (LTI 1.3 issuer + client id) and their deployments.
    Platform {
        #[command(subcommand)]
        command: PlatformCommand,
    },
    /// The tool's own signing keys (published at /.well-known/jwks.json).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Create (or revoke) the key an LMS pushes Caliper events with (`--xapi`: the Basic
    /// credentials for xAPI statements). The key is printed once and stored hashed.
    CaliperKey {
        /// The platform's name (see `cloop platform list`).
        #[arg(long)]
        platform: String,
        /// Create xAPI credentials instead of a Caliper key.
        #[arg(long)]
        xapi: bool,
        /// Revoke the key with this id instead of creating one.
        #[arg(long, value_name = "KEY_ID")]
        revoke: Option<i64>,
        /// List the platform's keys (ids, kinds, dates; never the keys).
        #[arg(long)]
        list: bool,
    },
    /// Import an activity file into a course, streamed, with a progress bar. Formats:
    /// bb-accumulator, loop, moodle-log, caliper-jsonl, xapi-jsonl. Rows that cannot be
    /// read are summarised by reason, with the first few line numbers of each; the exit
    /// status is non-zero only when nothing could be read.
    Import {
        /// cloop's id of the course.
        #[arg(long)]
        course: cloop::store::CourseId,
        /// The file's format.
        #[arg(long, value_parser = clap::value_parser!(cloop::ingest::import::Format))]
        format: cloop::ingest::import::Format,
        /// The year of times written without one (Moodle's "11 May, 09:44"); by default
        /// the year that puts them within the course's dates.
        #[arg(long)]
        year: Option<i16>,
        /// Write every rejected row (line number and reason, tab-separated) to this file.
        #[arg(long, value_name = "FILE")]
        rejections: Option<PathBuf>,
        /// The file to import.
        file: PathBuf,
    },
    /// Tool administrators (LMS roles never make one).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Try cloop with no LMS: a seeded demo semester on an embedded SQLite database and a
    /// built-in LMS simulator that launches cloop through the real LTI 1.3 flow.
    ///
    /// Prints the URL to open. Ignores cloop.toml and CLOOP_* settings. A second run with
    /// the same --data-dir reuses its data.
    Demo {
        /// Address and port to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// Folder for the demo database (created if missing); a temporary folder, removed
        /// on exit, when not given.
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Students in the current offering of the seeded course (first run only).
        #[arg(long, default_value_t = cloop::demo::seed::STUDENTS, hide = true)]
        students: u32,
    },
}

#[derive(Subcommand)]
enum PlatformCommand {
    /// Register an LMS. With --preset, the LMS's fixed URLs are filled in:
    /// blackboard (Developer Portal; --client-id is the Application ID),
    /// canvas (Instructure cloud), moodle and d2l (derived from --base-url).
    Add {
        #[command(flatten)]
        registration: cloop::lti::registration::RegistrationRequest,
        /// A deployment id the LMS created for cloop; repeat for several.
        #[arg(long = "deployment")]
        deployments: Vec<String>,
    },
    /// List registered platforms with their deployments.
    List,
    /// Remove a platform and everything cloop holds through it.
    Remove {
        /// The platform's name.
        name: String,
    },
    /// Blackboard Learn REST credentials of a platform (checked against Learn first). The
    /// secret is stored sealed and never shown again.
    Rest {
        /// The platform's name.
        #[arg(long)]
        platform: String,
        /// The Learn site, e.g. https://learn.example.edu.
        #[arg(long)]
        base_url: String,
        /// The REST application key (Developer Portal).
        #[arg(long)]
        key: String,
        /// The REST application secret (or set CLOOP_REST_SECRET to keep it off the command line).
        #[arg(long, env = "CLOOP_REST_SECRET", hide_env_values = true)]
        secret: String,
    },
    /// Deployment ids of a platform.
    Deployment {
        #[command(subcommand)]
        command: DeploymentCommand,
    },
}

#[derive(Subcommand)]
enum DeploymentCommand {
    /// Add a deployment id to a platform.
    Add {
        /// The platform's name.
        #[arg(long)]
        platform: String,
        /// The deployment id the LMS shows.
        #[arg(long)]
        deployment: String,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// List keys: which one signs, which are still published and until when.
    List,
    /// Publish a new key and sign with it; older keys stay published for 24 hours so
    /// tokens they signed still verify.
    Rotate,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an administrator (or reuse one of that name) and print a one-time login link,
    /// valid for 24 hours.
    Create {
        /// Who the administrator is, e.g. an email address.
        #[arg(long)]
        name: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cloop: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    if let Command::Demo {
        listen,
        data_dir,
        students,
    } = cli.command
    {
        let options = cloop::demo::DemoOptions {
            listen,
            data_dir,
            students,
        };
        return cloop::demo::run(options, shutdown_signal())
            .await
            .map_err(|e| e.to_string());
    }
    let config = Config::load(cli.config.as_deref()).map_err(|e| e.to_string())?;
    match cli.command {
        Command::Serve { no_jobs } => serve(config, !no_jobs).await,
        Command::Worker => worker(config).await,
        Command::Sync { course, all } => sync(&config, course.as_deref(), all).await,
        Command::Migrate => {
            let store = open_store(&config).await?;
            store.close().await;
            println!(
                "database is up to date ({})",
                cloop::store::redact_url(&config.database_url)
            );
            Ok(())
        }
        Command::Platform { command } => platform(&config, command).await,
        Command::Keys { command } => {
            let store = open_store(&config).await?;
            let result = keys(&store, command).await;
            store.close().await;
            result
        }
        Command::CaliperKey {
            platform,
            xapi,
            revoke,
            list,
        } => ingest_key(&config, &platform, xapi, revoke, list).await,
        Command::Backup { file } => backup(&config, &file).await,
        Command::Restore { file } => {
            cloop::store::backup::restore(&config.database_url, &file)
                .map_err(|e| e.to_string())?;
            println!(
                "restored the database from {}; `cloop serve` applies any newer migrations",
                file.display()
            );
            Ok(())
        }
        Command::Import {
            course,
            format,
            year,
            rejections,
            file,
        } => {
            let options = cloop::ingest::import::ImportOptions {
                session_gap: config.session_gap,
                year,
                rejections_file: rejections,
            };
            import(&config, course, format, &options, &file).await
        }
        Command::Admin {
            command: AdminCommand::Create { name },
        } => {
            let store = open_store(&config).await?;
            let link = cloop::web::admin::create_login_link(&store, &config, &name)
                .await
                .map_err(|e| e.to_string())?;
            store.close().await;
            println!("One-time login link for {name} (valid 24 hours):\n{link}");
            Ok(())
        }
        Command::Demo { .. } => unreachable!("handled before the configuration is read"),
    }
}

async fn platform(config: &Config, command: PlatformCommand) -> Result<(), String> {
    let store = open_store(config).await?;
    let result = match command {
        PlatformCommand::Add {
            registration,
            deployments,
        } => {
            let new = registration.resolve()?;
            let platform = store
                .create_platform(&new)
                .await
                .map_err(|e| e.to_string())?;
            for deployment in &deployments {
                store
                    .add_deployment(platform.id, deployment)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            println!(
                "registered {} (issuer {}, client id {}) with {} deployment(s)",
                platform.name,
                platform.issuer,
                platform.client_id,
                deployments.len()
            );
            println!("{}", cloop::lti::tool_urls_text(config));
            Ok(())
        }
        PlatformCommand::List => {
            let platforms = store.platforms().await.map_err(|e| e.to_string())?;
            if platforms.is_empty() {
                println!("no platforms registered; add one with `cloop platform add`");
            }
            for platform in platforms {
                let deployments = store
                    .deployments(platform.id)
                    .await
                    .map_err(|e| e.to_string())?;
                println!(
                    "{}\t{}\tissuer={}\tclient_id={}\tdeployments={}",
                    platform.name,
                    platform.product,
                    platform.issuer,
                    platform.client_id,
                    if deployments.is_empty() {
                        "(none)".to_string()
                    } else {
                        deployments.join(",")
                    }
                );
            }
            Ok(())
        }
        PlatformCommand::Remove { name } => {
            let platform = find_platform(&store, &name).await?;
            store
                .remove_platform(platform.id)
                .await
                .map_err(|e| e.to_string())?;
            println!("removed {name}");
            Ok(())
        }
        PlatformCommand::Rest {
            platform,
            base_url,
            key,
            secret,
        } => {
            let found = find_platform(&store, &platform).await?;
            cloop::lti::registration::check_url("--base-url", &base_url)?;
            let instance_key = cloop::SecretKey::load_or_create(&store, config.secret_key.as_ref())
                .await
                .map_err(|e| e.to_string())?;
            let options = cloop::jobs::JobsOptions::from_config(config).client;
            cloop::lms::blackboard::set_rest_credentials(
                &store,
                &instance_key,
                found.id,
                &base_url,
                &key,
                &secret,
                &options,
            )
            .await
            .map_err(|e| e.to_string())?;
            println!(
                "REST credentials for {platform} checked and saved (key {key}); the secret is stored sealed"
            );
            Ok(())
        }
        PlatformCommand::Deployment {
            command:
                DeploymentCommand::Add {
                    platform,
                    deployment,
                },
        } => {
            let found = find_platform(&store, &platform).await?;
            store
                .add_deployment(found.id, deployment.trim())
                .await
                .map_err(|e| e.to_string())?;
            println!("deployment {deployment} added to {platform}");
            Ok(())
        }
    };
    store.close().await;
    result
}

async fn find_platform(
    store: &Store,
    name: &str,
) -> Result<cloop::store::platforms::Platform, String> {
    store
        .platform_by_name(name)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("no platform named {name:?}; `cloop platform list` shows them"))
}

async fn keys(store: &Store, command: KeysCommand) -> Result<(), String> {
    use cloop::lti::keys;
    match command {
        KeysCommand::List => {
            keys::ensure_signing_key(store)
                .await
                .map_err(|e| e.to_string())?;
            let now = cloop::store::EpochMs::now();
            for key in store.all_signing_keys().await.map_err(|e| e.to_string())? {
                let status = match (key.retired_at, key.unpublish_at) {
                    (None, _) => "signing".to_string(),
                    (Some(_), Some(until)) if until > now => format!("published until {until}"),
                    _ => "withdrawn".to_string(),
                };
                println!(
                    "{}\t{}\tcreated {}\t{status}",
                    key.kid, key.alg, key.created_at
                );
            }
            Ok(())
        }
        KeysCommand::Rotate => {
            let key = keys::rotate(store).await.map_err(|e| e.to_string())?;
            println!(
                "now signing with {}; older keys stay published for {} hours",
                key.kid,
                keys::RETIRED_KEY_PUBLISHED_SECS / 3600
            );
            Ok(())
        }
    }
}

async fn ingest_key(
    config: &Config,
    platform: &str,
    xapi: bool,
    revoke: Option<i64>,
    list: bool,
) -> Result<(), String> {
    use cloop::store::ingest::IngestKeyKind;
    let store = open_store(config).await?;
    let found = find_platform(&store, platform).await?;
    let result = if list {
        let keys = store
            .ingest_keys(found.id)
            .await
            .map_err(|e| e.to_string())?;
        if keys.is_empty() {
            println!("{platform} has no ingest keys");
        }
        for key in keys {
            println!(
                "{}\t{}\tcreated {}\t{}",
                key.id,
                key.kind,
                key.created_at,
                key.revoked_at
                    .map_or("live".to_string(), |at| format!("revoked {at}"))
            );
        }
        Ok(())
    } else if let Some(id) = revoke {
        store
            .revoke_ingest_key(found.id, id)
            .await
            .map_err(|e| e.to_string())?;
        println!("key {id} of {platform} is revoked");
        Ok(())
    } else {
        let kind = if xapi {
            IngestKeyKind::Xapi
        } else {
            IngestKeyKind::Caliper
        };
        let (id, key) = cloop::ingest::new_ingest_key(&store, found.id, kind, "cli")
            .await
            .map_err(|e| e.to_string())?;
        if xapi {
            println!(
                "xAPI endpoint: {}\nusername: {platform}\npassword: {key}\n(key id {id}; shown once, revoke with `cloop caliper-key --platform {platform} --revoke {id}`)",
                config.url("/xapi")
            );
        } else {
            println!(
                "Caliper event store URL: {}\nAPI key: {key}\n(key id {id}; shown once, revoke with `cloop caliper-key --platform {platform} --revoke {id}`)",
                config.url("/caliper")
            );
        }
        Ok(())
    };
    store.close().await;
    result
}

async fn import(
    config: &Config,
    course: cloop::store::CourseId,
    format: cloop::ingest::import::Format,
    options: &cloop::ingest::import::ImportOptions,
    file: &std::path::Path,
) -> Result<(), String> {
    let store = open_store(config).await?;
    let size = std::fs::metadata(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?
        .len();
    let bar = indicatif::ProgressBar::new(size).with_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .map_err(|e| e.to_string())?,
    );
    let started = std::time::Instant::now();
    let result =
        cloop::ingest::import::import_file_with(&store, course, format, file, options, &|bytes| {
            bar.set_position(bytes)
        })
        .await;
    bar.finish_and_clear();
    store.close().await;
    let report = result.map_err(|e| e.to_string())?;
    print!("{}", cloop::ingest::import::summary(&report));
    println!(
        "{} rows in {:.1}s: {} new, {} already stored, {} rejected",
        report.rows,
        started.elapsed().as_secs_f64(),
        report.report.new,
        report.report.duplicate,
        report.report.rejected
    );
    if report.nothing_readable() {
        return Err(format!(
            "nothing could be imported from {}: every row was rejected",
            file.display()
        ));
    }
    Ok(())
}

async fn backup(config: &Config, file: &std::path::Path) -> Result<(), String> {
    let db = cloop::store::backup::sqlite_path(&config.database_url).map_err(|e| e.to_string())?;
    if !db.is_file() {
        return Err(format!(
            "there is no database at {} to back up",
            db.display()
        ));
    }
    let store = Store::connect(&config.database_url)
        .await
        .map_err(|e| e.to_string())?;
    let result = store.backup(file).await;
    store.close().await;
    let bytes = result.map_err(|e| e.to_string())?;
    println!(
        "backed up {} to {} ({:.1} MB)",
        db.display(),
        file.display(),
        bytes as f64 / 1e6
    );
    Ok(())
}

/// The migrated store, for commands that work on the database directly.
async fn open_store(config: &Config) -> Result<Store, String> {
    let store = Store::connect(&config.database_url)
        .await
        .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    Ok(store)
}

async fn serve(config: Config, jobs: bool) -> Result<(), String> {
    let jobs_options = cloop::jobs::JobsOptions::from_config(&config);
    let mut app = App::build(config).await.map_err(|e| e.to_string())?;
    if jobs {
        app = app.with_jobs(jobs_options);
    }
    if app.state().config.public_url_is_insecure() {
        tracing::warn!(
            public_url = %app.state().config.public_url,
            "public_url is plain http: fine on this machine, but an LMS needs https to launch cloop"
        );
    }
    tracing::info!(
        address = %app.local_addr(),
        public_url = %app.state().config.public_url,
        database = ?app.state().store.backend(),
        "cloop is serving"
    );
    app.run(shutdown_signal())
        .await
        .map_err(|e| format!("server failed: {e}"))
}

async fn worker(config: Config) -> Result<(), String> {
    let store = open_store(&config).await?;
    let secret = cloop::SecretKey::load_or_create(&store, config.secret_key.as_ref())
        .await
        .map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut tasks = cloop::jobs::spawn(
        store.clone(),
        std::sync::Arc::new(secret),
        cloop::jobs::JobsOptions::from_config(&config),
        stopped,
    );
    tracing::info!(database = ?store.backend(), "cloop worker is running");
    shutdown_signal().await;
    let _ = stop.send(true);
    while tasks.join_next().await.is_some() {}
    store.close().await;
    Ok(())
}

async fn sync(config: &Config, course: Option<&str>, all: bool) -> Result<(), String> {
    use cloop::lms::blackboard::{SyncProgress, sync::STAGES};
    let store = open_store(config).await?;
    let secret = cloop::SecretKey::load_or_create(&store, config.secret_key.as_ref())
        .await
        .map_err(|e| e.to_string())?;
    let courses = if all {
        store.syncable_courses().await.map_err(|e| e.to_string())?
    } else {
        let reference = course.unwrap_or_default();
        let found = store
            .find_courses(reference)
            .await
            .map_err(|e| e.to_string())?;
        match found.len() {
            0 => {
                return Err(format!(
                    "no course {reference:?}; give cloop's course id or the LMS course id"
                ));
            }
            1 => found,
            n => {
                return Err(format!(
                    "{n} courses match {reference:?}; give cloop's course id instead"
                ));
            }
        }
    };
    if courses.is_empty() {
        println!("no course has Blackboard REST credentials; set them with `cloop platform rest`");
    }
    let options = cloop::jobs::JobsOptions::from_config(config).client;
    let mut failures = Vec::new();
    for course in courses {
        let bar = indicatif::ProgressBar::new(STAGES.len() as u64);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        bar.set_prefix(format!("course {} {}", course.id, course.title));
        let show = |p: SyncProgress| {
            bar.set_position(p.done as u64);
            bar.set_message(p.stage);
        };
        let result =
            cloop::jobs::sync_course_now(&store, &secret, course.id, &options, &show).await;
        bar.finish_and_clear();
        match result {
            Ok(run) => println!(
                "course {} {}: {} ({}) — {} calls, {} inserted, {} updated, {} removed{}",
                course.id,
                course.title,
                run.status,
                run.kind,
                run.calls,
                run.inserted,
                run.updated,
                run.removed,
                run.error.map(|e| format!(" — {e}")).unwrap_or_default()
            ),
            Err(e) => failures.push(format!("course {}: {e}", course.id)),
        }
    }
    store.close().await;
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
fn shutdown_signal() -> impl std::future::Future<Output = ()> + Send + 'static {
    // Registered now, not when first polled: a SIGTERM during start-up work (the demo's
    // seeding) must still end the process cleanly.
    #[cfg(unix)]
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    async move {
        let interrupt = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        #[cfg(unix)]
        let terminate = async {
            match terminate {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let terminate = std::future::pending::<()>();
        tokio::select! {
            () = interrupt => {},
            () = terminate => {},
        }
        tracing::info!("shutting down: finishing in-flight requests");
    }
}
