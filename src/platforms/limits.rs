//! Client-side rate limiting, shared by every adapter built from one `Platforms`:
//! TikTok gets a per-advertiser token bucket, Meta slows down per account when its usage
//! headers pass a threshold, Google counts operations against the daily quota of the
//! developer token / Cloud project.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use super::errors::PlatformError;
use super::settings::LimitSettings;

pub struct RateLimits {
    settings: LimitSettings,
    tiktok: DefaultKeyedRateLimiter<String>,
    meta_usage: Mutex<HashMap<String, (f64, Instant)>>,
    google_ops: Mutex<VecDeque<(Instant, u32)>>,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl RateLimits {
    pub fn new(settings: LimitSettings) -> Self {
        RateLimits {
            tiktok: RateLimiter::keyed(Quota::per_minute(settings.tiktok_per_minute)),
            settings,
            meta_usage: Mutex::new(HashMap::new()),
            google_ops: Mutex::new(VecDeque::new()),
        }
    }

    /// Waits for a TikTok request slot for this advertiser.
    pub async fn tiktok_slot(&self, advertiser_id: &str) {
        self.tiktok
            .until_key_ready(&advertiser_id.to_string())
            .await;
    }

    /// Remembers the highest usage percentage Meta reported for an account (or the app, keyed
    /// by the empty string).
    pub fn meta_record_usage(&self, account: &str, pct: f64) {
        if let Ok(mut m) = self.meta_usage.lock() {
            m.insert(account.to_string(), (pct, Instant::now()));
        }
    }

    /// The pause before the next call for `account`, growing linearly from zero at the
    /// threshold to the maximum at 100%.
    pub fn meta_delay(&self, account: &str) -> Duration {
        let Ok(m) = self.meta_usage.lock() else {
            return Duration::ZERO;
        };
        let worst = [account, ""]
            .iter()
            .filter_map(|k| m.get(*k))
            .filter(|(_, at)| at.elapsed() < self.settings.meta_usage_ttl)
            .map(|(pct, _)| *pct)
            .fold(0.0_f64, f64::max);
        let from = self.settings.meta_slowdown_from_pct;
        if worst <= from || from >= 100.0 {
            return Duration::ZERO;
        }
        let share = ((worst - from) / (100.0 - from)).clamp(0.0, 1.0);
        self.settings.meta_max_slowdown.mul_f64(share)
    }

    pub async fn meta_slot(&self, account: &str) {
        let d = self.meta_delay(account);
        if !d.is_zero() {
            tracing::debug!(
                account,
                delay_ms = d.as_millis() as u64,
                "meta usage high, slowing down"
            );
            tokio::time::sleep(d).await;
        }
    }

    /// Counts `ops` Google operations, or refuses when they would pass the quota of the
    /// sliding window (the platform would refuse them anyway, and every refused call counts).
    pub fn google_take(&self, ops: u32) -> Result<(), PlatformError> {
        let Ok(mut q) = self.google_ops.lock() else {
            return Ok(());
        };
        let window = self.settings.google_window;
        while q.front().is_some_and(|(at, _)| at.elapsed() >= window) {
            q.pop_front();
        }
        let used: u64 = q.iter().map(|(_, n)| u64::from(*n)).sum();
        let quota = u64::from(self.settings.google_operations_per_window);
        if used + u64::from(ops) <= quota {
            q.push_back((Instant::now(), ops));
            return Ok(());
        }
        // Free enough of the oldest operations to make room.
        let mut need = used + u64::from(ops) - quota;
        let mut retry_after = window;
        for (at, n) in q.iter() {
            retry_after = window.saturating_sub(at.elapsed());
            need = need.saturating_sub(u64::from(*n));
            if need == 0 {
                break;
            }
        }
        Err(PlatformError::RateLimited {
            retry_after: Some(retry_after),
            message: format!(
                "Google Ads operation quota of {quota} per {} hours reached (counted by adpilot)",
                window.as_secs() / 3600
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::num::NonZeroU32;

    fn settings() -> LimitSettings {
        LimitSettings {
            tiktok_per_minute: NonZeroU32::new(600).expect("nonzero"),
            meta_slowdown_from_pct: 75.0,
            meta_max_slowdown: Duration::from_secs(4),
            meta_usage_ttl: Duration::from_secs(60),
            google_operations_per_window: 3,
            google_window: Duration::from_secs(3600),
        }
    }

    #[test]
    fn google_quota_refuses_past_the_window_total() {
        let l = RateLimits::new(settings());
        assert!(l.google_take(2).is_ok());
        assert!(l.google_take(1).is_ok());
        match l.google_take(1) {
            Err(PlatformError::RateLimited {
                retry_after: Some(d),
                ..
            }) => assert!(d > Duration::from_secs(3500) && d <= Duration::from_secs(3600)),
            other => panic!("expected a quota refusal, got {other:?}"),
        }
    }

    #[test]
    fn meta_slows_down_only_above_the_threshold() {
        let l = RateLimits::new(settings());
        l.meta_record_usage("1", 50.0);
        assert_eq!(l.meta_delay("1"), Duration::ZERO);
        l.meta_record_usage("1", 87.5);
        assert_eq!(l.meta_delay("1"), Duration::from_secs(2));
        l.meta_record_usage("1", 130.0);
        assert_eq!(l.meta_delay("1"), Duration::from_secs(4));
        // Another account is not slowed by this one.
        assert_eq!(l.meta_delay("2"), Duration::ZERO);
        // App-wide usage slows every account.
        l.meta_record_usage("", 100.0);
        assert_eq!(l.meta_delay("2"), Duration::from_secs(4));
    }

    #[tokio::test]
    async fn tiktok_bucket_is_per_advertiser() {
        let mut s = settings();
        s.tiktok_per_minute = NonZeroU32::new(2).expect("nonzero");
        let l = RateLimits::new(s);
        l.tiktok_slot("a").await;
        l.tiktok_slot("a").await;
        // "a" is now out of its burst; "b" is not: its slot is ready at the first poll.
        assert!(
            futures_util::FutureExt::now_or_never(l.tiktok_slot("b")).is_some(),
            "b waited"
        );
        assert!(l.tiktok.check_key(&"a".to_string()).is_err());
    }
}
