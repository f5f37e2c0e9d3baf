//! The web kit every feature's routes use: request context extractors (which enforce roles),
//! the one error type and its pages, form errors, cookies and flash messages, request metrics.
//! The router and the request middleware sit above the features (`crate::router`,
//! [`middleware`]); no feature imports them.

pub mod client_addr;
pub mod context;
pub mod cookies;
pub mod error;
pub mod form;
pub mod frame;
pub mod metrics;
pub mod middleware;
pub mod money;
pub mod page;
pub mod redirect;
