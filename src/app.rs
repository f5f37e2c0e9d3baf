//! The application: configuration, database pool, mailer and limiters, shared by every handler
//! and job through [`AppState`]. Tests build their own.

use std::sync::Arc;

use crate::auth::limits::RateLimits;
use crate::config::Config;
use crate::connections::vault::Vault;
use crate::db::Db;
use crate::mailer::Mailer;
use crate::platforms::Platforms;
use crate::web::metrics::Metrics;

pub struct App {
    pub config: Config,
    pub db: Db,
    pub platforms: Platforms,
    pub vault: Vault,
    pub mailer: Mailer,
    pub limits: RateLimits,
    pub metrics: Metrics,
    /// How backup jobs reach the database (set by `server::build_app`).
    pub backup: crate::jobs::backup::BackupTarget,
    /// Model router, budgets and cache for AI assistance.
    pub ai: crate::ai::Ai,
    /// Stripe billing, when configured (see `billing`).
    pub billing: Option<crate::billing::Billing>,
}

#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppInitError {
    #[error(transparent)]
    Mail(#[from] crate::mailer::MailError),
    #[error("the token vault cannot start: {0}")]
    Vault(#[from] crate::connections::vault::VaultError),
    #[error("the platform adapters cannot start: {0}")]
    Platforms(#[from] crate::platforms::PlatformError),
    #[error("billing cannot start: {0}")]
    Billing(String),
    #[error("no secret key is configured")]
    NoSecretKey,
}

impl App {
    pub async fn new(config: Config, db: Db, metrics: Metrics) -> Result<App, AppInitError> {
        let mailer = Mailer::from_config(&config)?;
        let limits = RateLimits::new(config.login_per_minute);
        let master = config.secret_key.ok_or(AppInitError::NoSecretKey)?;
        let vault = Vault::load(&db, master).await?;
        let platforms = Platforms::new(config.platforms.clone())?;
        let ai = crate::ai::Ai::new(config.ai.clone());
        let billing = match config.billing.clone() {
            Some(b) => Some(crate::billing::Billing::new(b).map_err(AppInitError::Billing)?),
            None => None,
        };
        Ok(App {
            config,
            db,
            platforms,
            vault,
            mailer,
            limits,
            metrics,
            backup: Default::default(),
            ai,
            billing,
        })
    }
}
