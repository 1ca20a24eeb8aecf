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
    },
}

#[derive(Subcommand)]
enum PlatformCommand {
    /// Register an LMS. With --preset, the LMS's fixed URLs are filled in:
    /// blackboard (Developer Portal; --client-id is the Application ID),
    /// canvas (Instructure cloud), moodle and d2l (derived from --base-url).
    Add {
        /// A short name for this registration, used by the other commands.
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = clap::value_parser!(cloop::lti::registration::Preset))]
        preset: Option<cloop::lti::registration::Preset>,
        /// The LMS's address (Moodle, D2L presets), e.g. https://moodle.example.edu.
        #[arg(long)]
        base_url: Option<String>,
        /// The platform's issuer (`iss` of its id_tokens).
        #[arg(long)]
        issuer: Option<String>,
        /// The client id the LMS assigned to cloop.
        #[arg(long)]
        client_id: String,
        /// The platform's OIDC authorisation endpoint.
        #[arg(long)]
        auth_url: Option<String>,
        /// The platform's public key set.
        #[arg(long)]
        jwks_url: Option<String>,
        /// The platform's OAuth 2 token endpoint (LTI Advantage services).
        #[arg(long)]
        token_url: Option<String>,
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
    if let Command::Demo { listen, data_dir } = cli.command {
        let options = cloop::demo::DemoOptions { listen, data_dir };
        return cloop::demo::run(options, shutdown_signal())
            .await
            .map_err(|e| e.to_string());
    }
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
        Command::Platform { command } => platform(&config, command).await,
        Command::Keys { command } => {
            let store = open_store(&config).await?;
            let result = keys(&store, command).await;
            store.close().await;
            result
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
            name,
            preset,
            base_url,
            issuer,
            client_id,
            auth_url,
            jwks_url,
            token_url,
            deployments,
        } => {
            let request = cloop::lti::registration::RegistrationRequest {
                name,
                preset,
                base_url,
                issuer,
                client_id,
                auth_url,
                jwks_url,
                token_url,
            };
            let new = request.resolve()?;
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
