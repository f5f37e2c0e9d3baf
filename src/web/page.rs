//! The one way a handler answers with a page or an htmx fragment: wrap the askama template in
//! [`Page`]. A template that fails to render answers as the error page, exactly as returning the
//! render error from the handler would.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};

use super::error::AppError;

/// An askama template as a response: `Ok(Page(page).into_response())`, or inside a tuple with a
/// status and headers, `(StatusCode::UNPROCESSABLE_ENTITY, Page(page))`.
pub struct Page<T>(pub T);

impl<T: Template> IntoResponse for Page<T> {
    fn into_response(self) -> Response {
        match self.0.render() {
            Ok(body) => Html(body).into_response(),
            Err(e) => AppError::from(e).into_response(),
        }
    }
}
