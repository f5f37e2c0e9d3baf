//! The `adpilot` command: serve, migrate, user, and operator tools.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use adpilot::config::{Config, LogFormat, Settings};
use adpilot::server;

#[derive(Parser)]
#[command(name = "adpilot", version, about = "Self-hosted ad automation server")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server and background jobs (the default; settings from the environment).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        settings: Settings,
        /// Revert every migration instead (drops all adpilot tables and their data).
        #[arg(long)]
        revert_all: bool,
    },
    /// Exit 0 when the server on ADPILOT_BIND answers /healthz (for container health checks).
    Healthcheck {
        #[command(flatten)]
        settings: Settings,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Call an ad platform's API (or the sandbox) with an adapter and print what it normalized.
    Platform {
        #[command(subcommand)]
        command: adpilot::platforms::cli::PlatformCommand,
    },
    /// Check rules files, or evaluate them offline against exported metrics.
    Rules {
        #[command(subcommand)]
        command: adpilot::automation::cli::RulesCommand,
    },
    /// Encryption keys of the token vault.
    Keys {
        #[command(flatten)]
        settings: Settings,
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Serve the local imitation of the Google Ads, Meta and TikTok APIs (demo and tests).
    Sandbox(adpilot::sandbox::SandboxArgs),
    /// Background jobs: list them, retry a dead one.
    Jobs {
        #[command(flatten)]
        settings: Settings,
        #[command(subcommand)]
        command: adpilot::jobs::cli::JobsCommand,
    },
    /// Database backups (pg_dump, custom format) into ADPILOT_BACKUP_DIR.
    Backup {
        #[command(flatten)]
        settings: Settings,
        #[command(subcommand)]
        command: adpilot::jobs::cli::BackupCommand,
    },
    /// Replace the database's contents with a backup (stop every adpilot server first).
    Restore {
        #[command(flatten)]
        settings: Settings,
        file: std::path::PathBuf,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    settings: Settings,
    /// Do not apply migrations at start (run `adpilot migrate` separately).
    #[arg(long)]
    no_migrate: bool,
    /// Demo mode: start the built-in sandbox in-process, point all three platforms at it, and
    /// create a demo organization and login.
    #[arg(long, env = "ADPILOT_DEMO")]
    demo: bool,
    /// Demo mode: where the built-in sandbox listens. Its consent pages must be reachable from
    /// the browser: in a container use 0.0.0.0:8787, publish the port and set
    /// ADPILOT_DEMO_SANDBOX_URL.
    #[arg(long, env = "ADPILOT_DEMO_SANDBOX_BIND", default_value = "127.0.0.1:0")]
    demo_sandbox_bind: std::net::SocketAddr,
    /// Demo mode: the sandbox's URL as the browser reaches it, e.g. http://localhost:8787
    /// (default: its listening address).
    #[arg(long, env = "ADPILOT_DEMO_SANDBOX_URL")]
    demo_sandbox_url: Option<url::Url>,
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Add a new data key and re-encrypt every stored token with it in the background; older
    /// keys stay readable until that finishes.
    Rotate,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user with their own organization.
    Create {
        #[command(flatten)]
        settings: Settings,
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

/// Settings from the environment alone (for `adpilot` with no subcommand).
#[derive(Parser)]
struct EnvOnly {
    #[command(flatten)]
    settings: Settings,
}

fn init_tracing(format: LogFormat) {
    let filter = adpilot::config::log_filter(std::env::var("RUST_LOG").ok().as_deref());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

fn validated(settings: &Settings) -> Result<Config, ExitCode> {
    Config::from_settings(settings).map_err(|problems| {
        eprintln!("adpilot cannot start; fix these settings:");
        for p in problems {
            eprintln!("  - {p}");
        }
        ExitCode::from(2)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    let command = match cli.command {
        Some(c) => c,
        None => Command::Serve(ServeArgs {
            settings: EnvOnly::parse_from(["adpilot"]).settings,
            no_migrate: false,
            demo: false,
            demo_sandbox_bind: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            demo_sandbox_url: None,
        }),
    };
    run_command(&runtime, command)
}

/// Runs one command on the runtime; its exit code is the process's.
fn run_command(runtime: &tokio::runtime::Runtime, command: Command) -> ExitCode {
    match command {
        Command::Platform { command } => runtime.block_on(async move {
            let mut out = std::io::stdout();
            let mut err = std::io::stderr();
            adpilot::platforms::cli::run(command, &mut out, &mut err).await
        }),
        Command::Rules {
            command:
                adpilot::automation::cli::RulesCommand::Backtest {
                    file,
                    org,
                    days,
                    settings,
                },
        } => with_config(runtime, &settings, |config| {
            adpilot::automation::cli::backtest(config, file, org, days)
        }),
        Command::Rules { command } => {
            let mut out = std::io::stdout().lock();
            let mut err = std::io::stderr().lock();
            adpilot::automation::cli::run(command, &mut out, &mut err)
        }
        Command::Sandbox(args) => {
            init_tracing(LogFormat::Pretty);
            runtime.block_on(async move {
                match adpilot::sandbox::run(args).await {
                    Ok(()) => ExitCode::SUCCESS,
                    Err(e) => {
                        eprintln!("adpilot sandbox: {e}");
                        ExitCode::FAILURE
                    }
                }
            })
        }
        Command::Healthcheck { settings } => match validated(&settings) {
            Ok(config) => runtime.block_on(run_healthcheck(&config)),
            Err(code) => code,
        },
        Command::Serve(args) => with_config(runtime, &args.settings, |config| {
            let demo = args.demo.then(|| server::DemoSandbox {
                bind: args.demo_sandbox_bind,
                public_url: args.demo_sandbox_url.as_ref().map(|u| u.to_string()),
            });
            run_serve(config, args.no_migrate, demo)
        }),
        Command::Migrate {
            settings,
            revert_all,
        } => with_config(runtime, &settings, |config| run_migrate(config, revert_all)),
        Command::Jobs { settings, command } => with_config(runtime, &settings, |config| {
            adpilot::jobs::cli::jobs(config, command)
        }),
        Command::Backup { settings, command } => with_config(runtime, &settings, |config| {
            adpilot::jobs::cli::backup(config, command)
        }),
        Command::Restore { settings, file } => with_config(runtime, &settings, |config| {
            adpilot::jobs::cli::restore(config, file)
        }),
        Command::Keys {
            settings,
            command: KeysCommand::Rotate,
        } => with_config(runtime, &settings, run_keys_rotate),
        Command::User {
            command:
                UserCommand::Create {
                    settings,
                    email,
                    name,
                    password,
                    org,
                },
        } => with_config(runtime, &settings, |config| async move {
            run_user_create(config, &email, &name, &password, &org).await
        }),
    }
}

/// Validates settings, starts logging, loads or creates the secret key, then runs `f`.
fn with_config<F, Fut>(runtime: &tokio::runtime::Runtime, settings: &Settings, f: F) -> ExitCode
where
    F: FnOnce(Config) -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    let mut config = match validated(settings) {
        Ok(c) => c,
        Err(code) => return code,
    };
    init_tracing(config.log_format);
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
    runtime.block_on(f(config))
}

async fn run_serve(
    mut config: Config,
    no_migrate: bool,
    demo: Option<server::DemoSandbox>,
) -> ExitCode {
    let sandbox = if let Some(demo) = &demo {
        match server::start_demo_sandbox(&mut config, demo).await {
            Ok(sb) => Some(sb),
            Err(e) => {
                eprintln!("adpilot: the demo sandbox cannot start: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        None
    };
    let database = match server::open_database(&config, !no_migrate).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("adpilot: {e}");
            return ExitCode::FAILURE;
        }
    };
    let bind = config.bind;
    let base = config.base_url.clone();
    let result = async {
        let app = server::build_app(config, &database).await?;
        let demo_login = if demo.is_some() {
            Some(server::seed_demo(&app).await?)
        } else {
            None
        };
        let listener = tokio::net::TcpListener::bind(bind).await?;
        // The bound address, for a port chosen by the system (`ADPILOT_BIND=127.0.0.1:0`).
        let listening = listener.local_addr()?;
        let jobs = adpilot::jobs::catalog::start(app.clone())
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        tracing::info!(url = %base, "adpilot is listening");
        eprintln!("adpilot is running at {base} (listening on {listening})");
        if let Some((email, password)) = demo_login {
            eprintln!("demo login: {email} / {password} (Google Ads, Meta and TikTok are served by the built-in sandbox)");
        }
        let served = server::serve(app, listener).await;
        // The listener has stopped; now stop claiming jobs and let running ones finish.
        jobs.shutdown().await;
        served?;
        Ok::<_, server::StartError>(())
    }
    .await;
    if let Some(sb) = sandbox {
        let _ = sb.shutdown().await;
    }
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
        let app = server::build_app(config, &database).await?;
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

async fn run_healthcheck(config: &Config) -> ExitCode {
    let mut addr = config.bind;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build();
    let ok = match client {
        Ok(c) => c
            .get(format!("http://{addr}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success()),
        Err(_) => false,
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("adpilot at {addr} is not healthy");
        ExitCode::FAILURE
    }
}

async fn run_keys_rotate(config: Config) -> ExitCode {
    let database = match server::open_database(&config, true).await {
        Ok(d) => d,
        Err(e) => {
            eprintln!("adpilot: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = async {
        let app = server::build_app(config, &database).await?;
        let mut conn = app.db.conn().await?;
        let version = app
            .vault
            .add_key(&mut conn)
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        adpilot::jobs::enqueue_system(&app.db, &adpilot::connections::jobs::RotateKeys {}).await?;
        Ok::<_, server::StartError>(version)
    }
    .await;
    database.shutdown();
    match result {
        Ok(v) => {
            println!(
                "added key version {v}; a running `adpilot serve` re-encrypts every token in the background (see `adpilot jobs list`)"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("adpilot: {e}");
            ExitCode::FAILURE
        }
    }
}
