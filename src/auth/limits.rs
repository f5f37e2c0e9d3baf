//! Rate limits on login and signup, per IP address and per account.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct RateLimits {
    login_ip: DefaultKeyedRateLimiter<String>,
    login_account: DefaultKeyedRateLimiter<String>,
    signup_ip: DefaultKeyedRateLimiter<String>,
}

/// The request was refused; try again after this long.
#[derive(Debug, Clone, Copy)]
pub struct RetryAfter(pub Duration);

impl RetryAfter {
    pub fn message(&self) -> String {
        let secs = self.0.as_secs().max(1);
        if secs < 90 {
            format!("Too many attempts. Try again in {secs} seconds.")
        } else {
            format!(
                "Too many attempts. Try again in {} minutes.",
                secs.div_ceil(60)
            )
        }
    }
}

fn nz(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN)
}

impl RateLimits {
    pub fn new(login_per_minute: u32) -> RateLimits {
        RateLimits {
            login_ip: RateLimiter::keyed(Quota::per_minute(nz(login_per_minute))),
            // 10 tries per account, refilled one every 90 seconds.
            login_account: RateLimiter::keyed(
                Quota::with_period(Duration::from_secs(90))
                    .unwrap_or_else(|| Quota::per_minute(nz(1)))
                    .allow_burst(nz(10)),
            ),
            signup_ip: RateLimiter::keyed(
                Quota::with_period(Duration::from_secs(120))
                    .unwrap_or_else(|| Quota::per_minute(nz(1)))
                    .allow_burst(nz(10)),
            ),
        }
    }

    fn check(limiter: &DefaultKeyedRateLimiter<String>, key: String) -> Result<(), RetryAfter> {
        limiter.check_key(&key).map_err(|not_until| {
            RetryAfter(not_until.wait_time_from(DefaultClock::default().now()))
        })
    }

    pub fn login(&self, ip: &str, email: &str) -> Result<(), RetryAfter> {
        Self::check(&self.login_ip, ip.to_string())?;
        Self::check(&self.login_account, email.trim().to_lowercase())
    }

    pub fn signup(&self, ip: &str) -> Result<(), RetryAfter> {
        Self::check(&self.signup_ip, ip.to_string())
    }
}
