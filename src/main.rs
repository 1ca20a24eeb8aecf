//! The `cloop` command line: parses arguments and calls into the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cloop::{App, Config, Store};
use tracing_subscriber::EnvFilter;

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
    /// SIGTERM, finishing in-flight requests before it exits.
    Serve,
    /// Apply pending database migrations and exit.
    ///
    /// `serve` does this too; run it alone to upgrade the schema before starting several
    /// instances against one PostgreSQL database.
    Migrate,
    /// Tool administrators (LMS roles never make one).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
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
    let config = Config::load(cli.config.as_deref()).map_err(|e| e.to_string())?;
    match cli.command {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            let store = open_store(&config).await?;
            store.close().await;
            println!(
                "database is up to date ({})",
                cloop::store::redact_url(&config.database_url)
            );
            Ok(())
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
    }
}

/// The migrated store, for commands that work on the database directly.
async fn open_store(config: &Config) -> Result<Store, String> {
    let store = Store::connect(&config.database_url)
        .await
        .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    Ok(store)
}

async fn serve(config: Config) -> Result<(), String> {
    let app = App::build(config).await.map_err(|e| e.to_string())?;
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

/// Completes on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
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
