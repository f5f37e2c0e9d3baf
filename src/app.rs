//! The application: configuration, database pool, mailer and limiters, shared by every handler
//! and job through [`AppState`]. Tests build their own.

use std::sync::Arc;

use crate::auth::limits::RateLimits;
use crate::config::Config;
use crate::db::Db;
use crate::mailer::Mailer;
use crate::web::metrics::Metrics;

pub struct App {
    pub config: Config,
    pub db: Db,
    pub mailer: Mailer,
    pub limits: RateLimits,
    pub metrics: Metrics,
    /// How backup jobs reach the database (set by `server::build_app`).
    pub backup: crate::jobs::backup::BackupTarget,
}

#[derive(Clone)]
pub struct AppState(pub Arc<App>);

impl std::ops::Deref for AppState {
    type Target = App;
    fn deref(&self) -> &App {
        &self.0
    }
}

impl App {
    pub fn new(config: Config, db: Db, metrics: Metrics) -> Result<App, crate::mailer::MailError> {
        let mailer = Mailer::from_config(&config)?;
        let limits = RateLimits::new(config.login_per_minute);
        Ok(App {
            config,
            db,
            mailer,
            limits,
            metrics,
            backup: Default::default(),
        })
    }
}
