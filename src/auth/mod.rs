//! Users, organizations, memberships and roles, sessions, invitations.

pub mod accounts;
pub mod limits;
pub mod password;
pub mod routes;
pub mod scope;
pub mod sessions;
pub mod signup;
pub mod tokens;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A member's role in an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read-only dashboards and reports, for an agency's customers.
    Client,
    Member,
    Admin,
    Owner,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Client => "client",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Member => "Member",
            Role::Client => "Client (read-only)",
        }
    }

    /// May change anything at all (campaigns, rules, connections...).
    pub fn can_write(self) -> bool {
        self >= Role::Member
    }

    /// May manage members, connections' secrets, billing-adjacent settings, jobs.
    pub fn is_admin(self) -> bool {
        self >= Role::Admin
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            "client" => Ok(Role::Client),
            other => Err(format!(
                "unknown role \"{other}\": choose admin, member or client"
            )),
        }
    }
}

/// Errors of the accounts services, each with a message a person can act on.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("The email or password is not right.")]
    BadCredentials,
    #[error(
        "This invitation link is not valid any more: it expired, was used or was revoked. Ask for a new one."
    )]
    BadInvite,
    #[error("not found")]
    NotFound,
    #[error("you do not have permission to do that")]
    Forbidden,
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("{0}")]
    Internal(String),
}

impl From<diesel::result::Error> for AuthError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => AuthError::NotFound,
            e => AuthError::Db(crate::db::DbError::Query(e)),
        }
    }
}

impl AuthError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        AuthError::Invalid {
            field,
            message: message.into(),
        }
    }
}
