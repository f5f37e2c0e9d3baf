//! The `adpilot` command: serve, migrate, user, and operator tools.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use adpilot::config::{Config, LogFormat, Settings};
use adpilot::server;

#[derive(Parser)]
#[command(name = "adpilot", version, about = "Self-hosted ad automation server")]
struct Cli {
    #[command(flatten)]
    settings: Settings,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server and background jobs (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate {
        /// Revert every migration instead (drops all adpilot tables and their data).
        #[arg(long)]
        revert_all: bool,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Background jobs: list them, retry a dead one.
    Jobs {
        #[command(subcommand)]
        command: adpilot::jobs::cli::JobsCommand,
    },
    /// Database backups (pg_dump, custom format) into ADPILOT_BACKUP_DIR.
    Backup {
        #[command(subcommand)]
        command: adpilot::jobs::cli::BackupCommand,
    },
    /// Replace the database's contents with a backup (stop every adpilot server first).
    Restore { file: std::path::PathBuf },
}

#[derive(clap::Args, Default)]
struct ServeArgs {
    /// Do not apply migrations at start (run `adpilot migrate` separately).
    #[arg(long)]
    no_migrate: bool,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user with their own organization.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Read from ADPILOT_NEW_PASSWORD when not given.
        #[arg(long, env = "ADPILOT_NEW_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "My organization")]
        org: String,
    },
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new("info,tower_http=warn,tokio_cron_scheduler=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut config = match Config::from_settings(&cli.settings) {
        Ok(c) => c,
        Err(problems) => {
            eprintln!("adpilot cannot start; fix these settings:");
            for p in problems {
                eprintln!("  - {p}");
            }
            return ExitCode::from(2);
        }
    };
    init_tracing(config.log_format);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("adpilot: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let command = cli.command.unwrap_or(Command::Serve(ServeArgs::default()));
    match config.load_or_create_secret_key() {
        Ok(true) => tracing::warn!(
            path = %config.data_dir.join("secret.key").display(),
            "no ADPILOT_SECRET_KEY set: generated one into the data directory; back it up, tokens are encrypted with it"
        ),
        Ok(false) => {}
        Err(e) => {
            eprintln!(
                "adpilot: cannot read or create the secret key in {}: {e}",
                config.data_dir.display()
            );
            return ExitCode::FAILURE;
        }
    }
    runtime.block_on(async move {
        match command {
            Command::Serve(args) => run_serve(config, args).await,
            Command::Migrate { revert_all } => run_migrate(config, revert_all).await,
            Command::User {
                command:
                    UserCommand::Create {
                        email,
                        name,
                        password,
                        org,
                    },
            } => run_user_create(config, &email, &name, &password, &org).await,
            Command::Jobs { command } => adpilot::jobs::cli::jobs(config, command).await,
            Command::Backup { command } => adpilot::jobs::cli::backup(config, command).await,
            Command::Restore { file } => adpilot::jobs::cli::restore(config, file).await,
        }
    })
}

async fn run_serve(config: Config, args: ServeArgs) -> ExitCode {
    let database = match server::open_database(&config, !args.no_migrate).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("adpilot: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bind = config.bind;
    let base = config.base_url.clone();
    let result = async {
        let app = server::build_app(config, &database)?;
        let listener = tokio::net::TcpListener::bind(bind).await?;
        let jobs = adpilot::jobs::start(app.clone())
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        tracing::info!(url = %base, "adpilot is listening");
        eprintln!("adpilot is running at {base}");
        let served = server::serve(app, listener).await;
        // The listener has stopped; now stop claiming jobs and let running ones finish.
        jobs.shutdown().await;
        served?;
        Ok::<_, server::StartError>(())
    }
    .await;
    database.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("adpilot: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_migrate(config: Config, revert_all: bool) -> ExitCode {
    let database = match server::open_database(&config, !revert_all).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("adpilot: {e}");
            return ExitCode::FAILURE;
        }
    };
    let code = if revert_all {
        match adpilot::db::migrate::revert_all(&database.admin_url).await {
            Ok(n) => {
                println!("reverted {n} migrations");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("adpilot: {e}");
                ExitCode::FAILURE
            }
        }
    } else {
        println!("database is up to date");
        ExitCode::SUCCESS
    };
    database.shutdown();
    code
}

async fn run_user_create(
    config: Config,
    email: &str,
    name: &str,
    password: &str,
    org: &str,
) -> ExitCode {
    let database = match server::open_database(&config, true).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("adpilot: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = async {
        let app = server::build_app(config, &database)?;
        adpilot::auth::accounts::create_user_cli(&app.db, email, name, password, org)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok::<_, server::StartError>(())
    }
    .await;
    database.shutdown();
    match result {
        Ok(()) => {
            println!("created {email} with organization \"{org}\"");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("adpilot: {e}");
            ExitCode::FAILURE
        }
    }
}
