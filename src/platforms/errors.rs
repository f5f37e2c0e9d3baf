//! The one error type every adapter returns, and the classification shared by the platforms.

use std::time::Duration;

/// What went wrong when talking to an ad platform, sorted by what the caller should do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    /// The platform asked us to slow down. `retry_after` is its hint when it gave one.
    #[error("rate limited: {message}")]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    /// The token is missing, expired, revoked or lacks a permission. With `needs_reconnect` the
    /// user has to authorize again; without it a token refresh or a permission fix may do.
    #[error("authorization failed: {message}")]
    Auth {
        needs_reconnect: bool,
        message: String,
    },
    /// The platform rejected what we sent; `message` is meant for the user.
    #[error("{message}")]
    Invalid { message: String },
    /// A transient failure (5xx, timeout, maintenance): trying again later should work.
    #[error("temporary platform failure: {message}")]
    Temporary { message: String },
    /// Anything we did not expect: an unknown error code or a body we cannot read.
    #[error("unexpected platform response: {message}")]
    Unexpected { message: String },
}

impl PlatformError {
    /// A short stable name for logs, the CLI and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            PlatformError::RateLimited { .. } => "rate_limited",
            PlatformError::Auth { .. } => "auth",
            PlatformError::Invalid { .. } => "invalid",
            PlatformError::Temporary { .. } => "temporary",
            PlatformError::Unexpected { .. } => "unexpected",
        }
    }

    /// The platform's own message (or ours when the platform gave none).
    pub fn message(&self) -> &str {
        match self {
            PlatformError::RateLimited { message, .. }
            | PlatformError::Auth { message, .. }
            | PlatformError::Invalid { message }
            | PlatformError::Temporary { message }
            | PlatformError::Unexpected { message } => message,
        }
    }

    /// Whether waiting and sending the same request again can succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            PlatformError::RateLimited { .. } | PlatformError::Temporary { .. }
        )
    }

    /// Whether a write that failed this way may still have been carried out: a timeout, a
    /// dropped connection, a server error or an answer we cannot read can hide a success. A
    /// refusal (rate limit, authorization, invalid input) proves nothing was done.
    pub fn may_have_landed(&self) -> bool {
        matches!(
            self,
            PlatformError::Temporary { .. } | PlatformError::Unexpected { .. }
        )
    }

    pub(crate) fn unexpected(message: impl Into<String>) -> Self {
        PlatformError::Unexpected {
            message: message.into(),
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        PlatformError::Invalid {
            message: message.into(),
        }
    }

    /// Classification by HTTP status alone, for bodies that carry no platform error object
    /// (proxies, load balancers, HTML error pages).
    pub(crate) fn from_status(
        status: reqwest::StatusCode,
        retry_after: Option<Duration>,
        message: String,
    ) -> Self {
        match status.as_u16() {
            429 => PlatformError::RateLimited {
                retry_after,
                message,
            },
            401 => PlatformError::Auth {
                needs_reconnect: false,
                message,
            },
            403 => PlatformError::Auth {
                needs_reconnect: false,
                message,
            },
            408 | 500..=599 => PlatformError::Temporary { message },
            _ => PlatformError::Unexpected { message },
        }
    }
}

/// Network-level failures: timeouts and refused connections are worth retrying, the rest
/// (bad URL, TLS setup) is not.
impl From<reqwest::Error> for PlatformError {
    fn from(e: reqwest::Error) -> Self {
        let message = e.to_string();
        if e.is_timeout() || e.is_connect() || e.is_request() {
            PlatformError::Temporary { message }
        } else {
            PlatformError::Unexpected { message }
        }
    }
}

/// `Retry-After` in its delta-seconds form; the HTTP-date form is rare on these APIs and is
/// treated as absent.
pub(crate) fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    let secs: f64 = v.trim().parse().ok()?;
    if secs.is_finite() && secs >= 0.0 {
        Some(Duration::from_secs_f64(secs))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_stable_names() {
        let e = PlatformError::RateLimited {
            retry_after: None,
            message: "slow".into(),
        };
        assert_eq!(e.kind(), "rate_limited");
        assert!(e.is_retryable());
        assert!(!PlatformError::invalid("bad").is_retryable());
        assert_eq!(
            PlatformError::invalid("budget too low").to_string(),
            "budget too low"
        );
    }

    #[test]
    fn bare_statuses_map_to_classes() {
        let s = |c: u16| reqwest::StatusCode::from_u16(c).expect("status");
        assert_eq!(
            PlatformError::from_status(s(503), None, "x".into()).kind(),
            "temporary"
        );
        assert_eq!(
            PlatformError::from_status(s(429), Some(Duration::from_secs(2)), "x".into()),
            PlatformError::RateLimited {
                retry_after: Some(Duration::from_secs(2)),
                message: "x".into()
            }
        );
        assert_eq!(
            PlatformError::from_status(s(401), None, "x".into()).kind(),
            "auth"
        );
        assert_eq!(
            PlatformError::from_status(s(418), None, "x".into()).kind(),
            "unexpected"
        );
    }
}
