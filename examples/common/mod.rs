//! What the benchmarks share: a scratch database on the `DATABASE_URL` server, migrated, with
//! the application built on it exactly as `adpilot serve` builds it.

// Each benchmark compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use clap::Parser;

#[path = "../../tests/shared/scratch_db.rs"]
mod scratch_db;
pub use scratch_db::Res;
use scratch_db::ScratchDb;

#[derive(Parser)]
struct SettingsOnly {
    #[command(flatten)]
    s: adpilot::config::Settings,
}

/// A database created for one benchmark run.
pub struct Scratch {
    pub name: String,
    /// The server's URL as given (a superuser).
    pub admin_url: String,
    /// The scratch database as its owner (row-level security does not apply to it).
    pub owner_url: String,
    db: ScratchDb,
}

impl Scratch {
    pub async fn create() -> Res<Scratch> {
        let admin_url = std::env::var("DATABASE_URL").map_err(
            |_| "set DATABASE_URL to a PostgreSQL superuser URL (a scratch database is created)",
        )?;
        let db = ScratchDb::create(&admin_url, "adpilot_bench", None).await?;
        Ok(Scratch {
            name: db.name.clone(),
            admin_url,
            owner_url: db.owner_url.clone(),
            db,
        })
    }

    /// Migrates the database and builds the application on it (16 pooled connections).
    pub async fn app(&self) -> Res<(adpilot::app::AppState, adpilot::config::Config)> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let password = "benchpassword0000";
        adpilot::db::migrate::run(&self.owner_url, Some(password)).await?;
        let app_url = adpilot::db::url_with_role(
            &self.owner_url,
            adpilot::db::APP_ROLE,
            Some(password),
            None,
        )?;
        let data = self.data_dir();
        let settings = SettingsOnly::try_parse_from([
            "bench",
            "--database-url",
            &self.owner_url,
            "--app-database-url",
            &app_url,
            "--data-dir",
            &data.to_string_lossy(),
            "--db-pool-size",
            "16",
            "--secret-key",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        ])?
        .s;
        let config = adpilot::config::Config::from_settings(&settings).map_err(|p| p.join("; "))?;
        let database = adpilot::server::Database {
            admin_url: self.owner_url.clone(),
            app_url,
            app_password: password.into(),
            embedded: None,
        };
        let app = adpilot::server::build_app(config.clone(), &database).await?;
        Ok((app, config))
    }

    /// The application's data directory (outbox, generated files), removed by [`Scratch::finish`].
    fn data_dir(&self) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("{}-data", self.name))
    }

    /// Drops the database, or with `keep` prints its name and leaves it for a closer look.
    pub async fn finish(self, keep: bool) -> Res<()> {
        let _ = std::fs::remove_dir_all(self.data_dir());
        if keep {
            println!("kept database {}", self.name);
            return Ok(());
        }
        self.db.drop_now().await
    }
}
