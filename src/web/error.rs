//! One error type for every handler. It renders as a full page, or as an htmx fragment when
//! the request came from htmx; unexpected errors show only a request id, their detail goes to
//! the log (see `middleware::log_errors`).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::AuthError;
use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("the form was not sent from this site, or the page was open too long")]
    Csrf,
    #[error("login required")]
    LoginRequired,
    #[error("no organization")]
    NoOrganization,
    #[error("{0}")]
    BadRequest(String),
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    #[error("the database is not reachable")]
    Unavailable(String),
    #[error("internal error")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

/// Attached to error responses so middleware can log them and re-render them for htmx.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    pub status: StatusCode,
    pub title: &'static str,
    pub message: String,
    pub detail: Option<String>,
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub status: u16,
    pub title: &'a str,
    pub message: &'a str,
    pub request_id: &'a str,
}

#[derive(Template)]
#[template(path = "error_fragment.html")]
pub struct ErrorFragment<'a> {
    pub title: &'a str,
    pub message: &'a str,
    pub request_id: &'a str,
}

impl AppError {
    pub fn internal(e: impl std::fmt::Display) -> Self {
        AppError::Internal(e.to_string())
    }

    fn info(&self) -> ErrorInfo {
        let (status, title, message, detail) = match self {
            AppError::NotFound => (StatusCode::NOT_FOUND, "Not found", "There is nothing at this address, or you have no access to it.".to_string(), None),
            AppError::Forbidden => (StatusCode::FORBIDDEN, "Not allowed", "Your role in this organization does not allow this. Ask an owner or admin.".to_string(), None),
            AppError::Csrf => (StatusCode::FORBIDDEN, "Form expired", "This form was not sent from adpilot's own page, or the page was open too long. Go back, reload the page and try again.".to_string(), None),
            AppError::NoOrganization => (StatusCode::FORBIDDEN, "No organization", "You are not a member of any organization yet.".to_string(), None),
            AppError::LoginRequired => (StatusCode::UNAUTHORIZED, "Log in", "Please log in to continue.".to_string(), None),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, "Cannot do that", m.clone(), None),
            AppError::RateLimited { message, .. } => (StatusCode::TOO_MANY_REQUESTS, "Slow down", message.clone(), None),
            AppError::Unavailable(d) => (StatusCode::SERVICE_UNAVAILABLE, "Temporarily unavailable", "adpilot cannot reach its database right now. Try again in a minute.".to_string(), Some(d.clone())),
            AppError::Internal(d) => (StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong", "An unexpected error happened. It has been logged; quote the request id if you report it.".to_string(), Some(d.clone())),
        };
        ErrorInfo {
            status,
            title,
            message,
            detail,
        }
    }
}

/// Renders an error as a page (the request id is filled in by the middleware).
pub fn render_error(info: &ErrorInfo, request_id: &str, fragment: bool) -> Response {
    let body = if fragment {
        ErrorFragment {
            title: info.title,
            message: &info.message,
            request_id,
        }
        .render()
    } else {
        ErrorPage {
            status: info.status.as_u16(),
            title: info.title,
            message: &info.message,
            request_id,
        }
        .render()
    };
    let mut resp = match body {
        Ok(html) => (
            info.status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            html,
        )
            .into_response(),
        Err(_) => (info.status, info.title).into_response(),
    };
    if fragment {
        // htmx swaps error responses only when told to.
        resp.headers_mut()
            .insert("HX-Retarget", HeaderValue::from_static("#flash"));
        resp.headers_mut()
            .insert("HX-Reswap", HeaderValue::from_static("innerHTML"));
    }
    resp
}

/// Marks the redirect to the login page, so htmx requests get a 401 instead (an XHR would
/// follow the redirect and swap the login page into a fragment).
#[derive(Debug, Clone, Copy)]
pub struct LoginRedirect;

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        match self {
            AppError::LoginRequired => {
                let mut resp = Redirect::to("/login").into_response();
                resp.extensions_mut().insert(LoginRedirect);
                return resp;
            }
            AppError::NoOrganization => return Redirect::to("/orgs/new").into_response(),
            _ => {}
        }
        let retry = match &self {
            AppError::RateLimited {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            _ => None,
        };
        let info = self.info();
        let mut resp = render_error(&info, "", false);
        if let Some(secs) = retry {
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp.extensions_mut().insert(info);
        resp
    }
}

impl From<DbError> for AppError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Pool(p) => AppError::Unavailable(p.to_string()),
            DbError::Connect(p) => AppError::Unavailable(p),
            DbError::Query(diesel::result::Error::NotFound) => AppError::NotFound,
            DbError::Query(q) => AppError::Internal(q.to_string()),
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::from(DbError::Query(e))
    }
}

impl From<AuthError> for AppError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::NotFound => AppError::NotFound,
            AuthError::Forbidden => AppError::Forbidden,
            AuthError::Db(d) => d.into(),
            AuthError::Internal(m) => AppError::Internal(m),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}
