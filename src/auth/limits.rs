//! Rate limits: login and signup per client address, login failures per account, and the
//! expensive on-demand work (backtests, "send now") per user or organization.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Wrong passwords an account takes before it is locked, and how fast that budget refills.
const ACCOUNT_FAILURES: u32 = 10;
const ACCOUNT_REFILL: Duration = Duration::from_secs(90);
/// Old keys are dropped every this many checks (and the maps' memory given back).
const PRUNE_EVERY: u64 = 512;

pub struct RateLimits {
    login_ip: DefaultKeyedRateLimiter<String>,
    login_failures: FailureCounter,
    signup_ip: DefaultKeyedRateLimiter<String>,
    backtest_user: DefaultKeyedRateLimiter<String>,
    send_now_org: DefaultKeyedRateLimiter<String>,
    checks: AtomicU64,
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

fn burst_every(burst: u32, period: Duration) -> Quota {
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_minute(nz(1)))
        .allow_burst(nz(burst))
}

/// Failed logins per account, as a leaky bucket that only failures fill.
///
/// governor cannot look at a key without spending from it, and a login must be refused
/// *before* the password is checked when the account is locked, yet only a failure may count;
/// so this one counter is our own (a map of level and last update, pruned like the others).
struct FailureCounter {
    capacity: u32,
    refill: Duration,
    state: Mutex<HashMap<String, (f64, Instant)>>,
}

impl FailureCounter {
    fn level(&self, entry: &(f64, Instant), now: Instant) -> f64 {
        let drained = now.duration_since(entry.1).as_secs_f64() / self.refill.as_secs_f64();
        (entry.0 - drained).max(0.0)
    }

    /// Refused while the account has used up its failures.
    fn check(&self, key: &str, now: Instant) -> Result<(), RetryAfter> {
        let map = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(key) {
            Some(e) => {
                let level = self.level(e, now);
                let over = level - (f64::from(self.capacity) - 1.0);
                if over > 0.0 {
                    Err(RetryAfter(self.refill.mul_f64(over)))
                } else {
                    Ok(())
                }
            }
            None => Ok(()),
        }
    }

    fn fail(&self, key: &str, now: Instant) {
        let mut map = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let level = map.get(key).map(|e| self.level(e, now)).unwrap_or(0.0);
        let capped = (level + 1.0).min(f64::from(self.capacity));
        map.insert(key.to_string(), (capped, now));
    }

    fn prune(&self, now: Instant) {
        let mut map = self.state.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, e| self.level(e, now) > 0.0);
        map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.state.lock().map(|m| m.len()).unwrap_or(0)
    }
}

fn account_key(email: &str) -> String {
    email.trim().to_lowercase()
}

impl RateLimits {
    pub fn new(login_per_minute: u32) -> RateLimits {
        RateLimits {
            login_ip: RateLimiter::keyed(Quota::per_minute(nz(login_per_minute))),
            login_failures: FailureCounter {
                capacity: ACCOUNT_FAILURES,
                refill: ACCOUNT_REFILL,
                state: Mutex::new(HashMap::new()),
            },
            signup_ip: RateLimiter::keyed(burst_every(10, Duration::from_secs(120))),
            // A 365-day backtest costs seconds of CPU: a few in a row, then one per 20 s.
            backtest_user: RateLimiter::keyed(burst_every(5, Duration::from_secs(20))),
            // "Send now" mails every recipient: a few in a row, then one per two minutes.
            send_now_org: RateLimiter::keyed(burst_every(5, Duration::from_secs(120))),
            checks: AtomicU64::new(0),
        }
    }

    fn check(
        &self,
        limiter: &DefaultKeyedRateLimiter<String>,
        key: String,
    ) -> Result<(), RetryAfter> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.prune();
        }
        limiter.check_key(&key).map_err(|not_until| {
            RetryAfter(not_until.wait_time_from(DefaultClock::default().now()))
        })
    }

    /// Before checking a password: the client's address has tries left and the account is
    /// not locked by earlier failures. Only [`RateLimits::login_failed`] counts against the
    /// account, so its owner logging in successfully never uses up its budget.
    pub fn login(&self, ip: &str, email: &str) -> Result<(), RetryAfter> {
        self.check(&self.login_ip, ip.to_string())?;
        self.login_failures
            .check(&account_key(email), Instant::now())
    }

    /// A wrong password for `email`.
    pub fn login_failed(&self, email: &str) {
        self.login_failures
            .fail(&account_key(email), Instant::now());
    }

    pub fn signup(&self, ip: &str) -> Result<(), RetryAfter> {
        self.check(&self.signup_ip, ip.to_string())
    }

    /// A backtest run by `user`.
    pub fn backtest(&self, user: uuid::Uuid) -> Result<(), RetryAfter> {
        self.check(&self.backtest_user, user.to_string())
    }

    /// A report sent on demand in organization `org`.
    pub fn send_now(&self, org: uuid::Uuid) -> Result<(), RetryAfter> {
        self.check(&self.send_now_org, org.to_string())
    }

    /// Forgets keys whose limit has fully refilled (they behave as new keys anyway).
    pub fn prune(&self) {
        for l in [
            &self.login_ip,
            &self.signup_ip,
            &self.backtest_user,
            &self.send_now_org,
        ] {
            l.retain_recent();
            l.shrink_to_fit();
        }
        self.login_failures.prune(Instant::now());
    }

    /// How many keys the limiters remember (to see that pruning works).
    pub fn tracked_keys(&self) -> usize {
        self.login_ip.len()
            + self.signup_ip.len()
            + self.backtest_user.len()
            + self.send_now_org.len()
            + self.login_failures.len()
    }
}
