//! Connections to ad platforms: the OAuth connect flow, the encrypted token vault, token
//! refresh and account picking. Owns `connections`, `ad_accounts`, `oauth_states` and
//! `vault_keys`.

pub mod jobs;
pub mod routes;
pub mod service;
pub mod vault;

use std::fmt;
use std::str::FromStr;

/// A connection's health as people see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// Tokens stored, accounts not chosen yet.
    Pending,
    Healthy,
    Refreshing,
    NeedsReconnect,
    RateLimited,
    Removed,
}

impl ConnectionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStatus::Pending => "pending",
            ConnectionStatus::Healthy => "healthy",
            ConnectionStatus::Refreshing => "refreshing",
            ConnectionStatus::NeedsReconnect => "needs_reconnect",
            ConnectionStatus::RateLimited => "rate_limited",
            ConnectionStatus::Removed => "removed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ConnectionStatus::Pending => "Choose accounts",
            ConnectionStatus::Healthy => "Healthy",
            ConnectionStatus::Refreshing => "Refreshing",
            ConnectionStatus::NeedsReconnect => "Needs reconnecting",
            ConnectionStatus::RateLimited => "Rate limited",
            ConnectionStatus::Removed => "Removed",
        }
    }

    pub fn badge(self) -> &'static str {
        match self {
            ConnectionStatus::Healthy => "ok",
            ConnectionStatus::NeedsReconnect => "bad",
            _ => "warn",
        }
    }
}

impl fmt::Display for ConnectionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ConnectionStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "pending" => ConnectionStatus::Pending,
            "healthy" => ConnectionStatus::Healthy,
            "refreshing" => ConnectionStatus::Refreshing,
            "needs_reconnect" => ConnectionStatus::NeedsReconnect,
            "rate_limited" => ConnectionStatus::RateLimited,
            "removed" => ConnectionStatus::Removed,
            other => return Err(format!("unknown connection status {other}")),
        })
    }
}

/// Why a connect attempt or a connection operation failed, in words for the user.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    #[error(
        "This sign-in link is not valid: {0}. Start connecting again from the Connections page."
    )]
    BadState(&'static str),
    #[error(
        "You declined access at {0}, so nothing was connected. Connect again whenever you are ready."
    )]
    Denied(&'static str),
    #[error("{platform} did not accept the sign-in: {message}. Start connecting again.")]
    Exchange {
        platform: &'static str,
        message: String,
    },
    #[error(
        "The {0} login you used reaches no ad accounts. Sign in with a user who has access to an ad account, then connect again."
    )]
    NoAccounts(&'static str),
    #[error(
        "{0} is not set up on this server: the operator must configure its app credentials (see the README)."
    )]
    NotConfigured(&'static str),
    #[error("Choose at least one ad account to manage.")]
    NothingChosen,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Platform(#[from] crate::platforms::PlatformError),
    #[error(transparent)]
    Vault(#[from] vault::VaultError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

impl From<diesel::result::Error> for ConnError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => ConnError::NotFound,
            e => ConnError::Db(crate::db::DbError::Query(e)),
        }
    }
}

impl From<ConnError> for crate::web::error::AppError {
    fn from(e: ConnError) -> Self {
        use crate::web::error::AppError;
        match e {
            ConnError::NotFound => AppError::NotFound,
            ConnError::Db(d) => d.into(),
            ConnError::Vault(v) => AppError::Internal(v.to_string()),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}
