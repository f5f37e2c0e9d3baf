//! TikTok answers errors with HTTP 200 and a non-zero `code` (codes from the official SDK's
//! `tiktok_code.py`).

use crate::platforms::errors::PlatformError;

pub(crate) fn classify(code: i64, message: String) -> PlatformError {
    match code {
        // Request too frequent, frequency limited, blacklisted for too many requests. No hint
        // is given, so the backoff decides the wait.
        40100 | 40132 | 61000 => PlatformError::RateLimited {
            retry_after: None,
            message,
        },
        // Access/refresh token expired, empty or invalid token, invalid user, refresh token,
        // grant, decrypt or auth_code; scope not authorized. Advertiser tokens cannot be
        // refreshed, so each one needs a new authorization.
        40102..=40110 | 40130 => PlatformError::Auth {
            needs_reconnect: true,
            message,
        },
        // Permission error, app forbidden, method forbidden, not whitelisted, no permission,
        // blocked: a reconnect with the same user will not change these.
        40001 | 40113 | 40117 | 40118 | 40125 | 41000 => PlatformError::Auth {
            needs_reconnect: false,
            message,
        },
        // Our clock is off: nothing the user can fix.
        40115 => PlatformError::Unexpected {
            message: format!("code {code}: {message}"),
        },
        // Invalid parameters, advertiser does not exist, role error, RPC validation, and other
        // client errors: TikTok's message says what to change.
        40000..=49999 => PlatformError::Invalid { message },
        50000..=59999 | 60001 => PlatformError::Temporary { message },
        _ => PlatformError::Unexpected {
            message: format!("code {code}: {message}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_classes() {
        let k = |c| classify(c, "m".into()).kind();
        for c in [40100, 40132, 61000] {
            assert_eq!(k(c), "rate_limited", "{c}");
        }
        for c in [40102, 40104, 40105, 40110, 40130] {
            assert_eq!(
                classify(c, "m".into()),
                PlatformError::Auth {
                    needs_reconnect: true,
                    message: "m".into()
                },
                "{c}"
            );
        }
        assert_eq!(
            classify(40001, "m".into()),
            PlatformError::Auth {
                needs_reconnect: false,
                message: "m".into()
            }
        );
        for c in [40000, 40002, 40300, 40301, 40700] {
            assert_eq!(k(c), "invalid", "{c}");
        }
        for c in [50000, 50002, 51000, 52204, 60001] {
            assert_eq!(k(c), "temporary", "{c}");
        }
        assert_eq!(k(40115), "unexpected");
        assert_eq!(k(12345), "unexpected");
    }
}
