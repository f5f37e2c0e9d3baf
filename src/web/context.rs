//! What every handler knows about the request: who is logged in, in which organization and
//! with which role, the CSRF token for forms, and a flash message. Built by
//! `middleware::context`; handlers take one of the extractors below, which enforce roles.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use uuid::Uuid;

use super::error::AppError;
use crate::auth::Role;
use crate::auth::accounts::OrgMembership;
use crate::auth::sessions::SessionInfo;

#[derive(Debug, Clone)]
pub struct Flash {
    pub kind: FlashKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlashKind {
    Success,
    Error,
    Info,
}

impl FlashKind {
    pub fn class(self) -> &'static str {
        match self {
            FlashKind::Success => "flash-success",
            FlashKind::Error => "flash-error",
            FlashKind::Info => "flash-info",
        }
    }
}

/// Per-request context, in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestCtx {
    pub request_id: String,
    pub session: Option<SessionInfo>,
    pub orgs: Vec<OrgMembership>,
    pub current: Option<OrgMembership>,
    pub csrf_token: String,
    pub flash: Option<Flash>,
    pub client_ip: String,
    pub user_agent: Option<String>,
    /// Platforms whose connection needs reconnecting (a banner on every page).
    pub reconnect: Vec<crate::types::Platform>,
    /// Payment overdue (a banner on every page, when billing is configured).
    pub billing_notice: Option<crate::billing::enforce::Notice>,
    /// Stripe billing is configured (the menu shows Billing to owners).
    pub billing_enabled: bool,
    /// The ad accounts a restricted member (a client) may see; `None`: every account.
    pub account_scope: Option<Vec<Uuid>>,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestCtx {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<RequestCtx>()
            .cloned()
            .ok_or_else(|| AppError::internal("request context missing"))
    }
}

/// A logged-in member of the current organization, any role (client included): read access.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub ctx: RequestCtx,
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub org_id: Uuid,
    pub role: Role,
    pub org_name: String,
    pub time_zone: String,
}

impl Viewer {
    pub fn shell(&self, nav: &'static str) -> Shell {
        Shell::from_ctx(&self.ctx, nav)
    }

    pub fn tz(&self) -> chrono_tz::Tz {
        self.time_zone.parse().unwrap_or(chrono_tz::UTC)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Viewer {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let ctx = RequestCtx::from_request_parts(parts, s).await?;
        let session = ctx.session.clone().ok_or(AppError::LoginRequired)?;
        let current = ctx.current.clone().ok_or(AppError::NoOrganization)?;
        Ok(Viewer {
            user_id: session.user_id,
            session_id: session.id,
            org_id: current.org_id,
            role: current.role,
            org_name: current.org_name,
            time_zone: current.time_zone,
            ctx,
        })
    }
}

macro_rules! role_extractor {
    ($name:ident, $check:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone)]
        pub struct $name(pub Viewer);

        impl std::ops::Deref for $name {
            type Target = Viewer;
            fn deref(&self) -> &Viewer {
                &self.0
            }
        }

        impl<S: Send + Sync> FromRequestParts<S> for $name {
            type Rejection = AppError;
            async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
                let v = Viewer::from_request_parts(parts, s).await?;
                let check: fn(Role) -> bool = $check;
                if check(v.role) {
                    Ok($name(v))
                } else {
                    Err(AppError::Forbidden)
                }
            }
        }
    };
}

role_extractor!(
    Writer,
    |r| r.can_write(),
    "A member who may change things (not a client)."
);
role_extractor!(
    Admin,
    |r| r.is_admin(),
    "An owner or admin of the current organization."
);
role_extractor!(
    Owner,
    |r| r == Role::Owner,
    "An owner of the current organization."
);

/// A logged-in user, whether or not they belong to any organization.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub ctx: RequestCtx,
    pub session: SessionInfo,
}

impl<S: Send + Sync> FromRequestParts<S> for LoggedIn {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, s: &S) -> Result<Self, Self::Rejection> {
        let ctx = RequestCtx::from_request_parts(parts, s).await?;
        let session = ctx.session.clone().ok_or(AppError::LoginRequired)?;
        Ok(LoggedIn { ctx, session })
    }
}

/// What the base layout needs: navigation, the organization switcher, flash, CSRF token.
#[derive(Debug, Clone)]
pub struct Shell {
    pub nav: &'static str,
    pub csrf_token: String,
    pub flash: Option<Flash>,
    pub user_name: Option<String>,
    pub org_id: Option<Uuid>,
    pub org_name: Option<String>,
    pub role: Option<Role>,
    pub orgs: Vec<(Uuid, String)>,
    pub request_id: String,
    pub reconnect: Vec<crate::types::Platform>,
    pub billing_notice: Option<crate::billing::enforce::Notice>,
    pub billing_enabled: bool,
}

impl Shell {
    pub fn from_ctx(ctx: &RequestCtx, nav: &'static str) -> Shell {
        Shell {
            nav,
            csrf_token: ctx.csrf_token.clone(),
            flash: ctx.flash.clone(),
            user_name: ctx.session.as_ref().map(|s| s.user_name.clone()),
            org_id: ctx.current.as_ref().map(|c| c.org_id),
            org_name: ctx.current.as_ref().map(|c| c.org_name.clone()),
            role: ctx.current.as_ref().map(|c| c.role),
            orgs: ctx
                .orgs
                .iter()
                .map(|o| (o.org_id, o.org_name.clone()))
                .collect(),
            request_id: ctx.request_id.clone(),
            reconnect: ctx.reconnect.clone(),
            billing_notice: ctx.billing_notice.clone(),
            billing_enabled: ctx.billing_enabled,
        }
    }

    pub fn logged_in(&self) -> bool {
        self.user_name.is_some()
    }

    pub fn can_write(&self) -> bool {
        self.role.is_some_and(Role::can_write)
    }

    pub fn is_owner(&self) -> bool {
        self.role == Some(Role::Owner)
    }

    pub fn is_admin(&self) -> bool {
        self.role.is_some_and(Role::is_admin)
    }

    /// `hx-headers` value carrying the CSRF token for htmx requests.
    pub fn hx_headers(&self) -> String {
        format!("{{\"X-CSRF-Token\": \"{}\"}}", self.csrf_token)
    }

    pub fn is_current_org(&self, id: &Uuid) -> bool {
        self.org_id.as_ref() == Some(id)
    }
}
