//! Sliding-window call counting for the platforms' own limits: Meta's per-ad-account hourly
//! usage (reported in headers, optionally enforced), Google's daily operations and TikTok's
//! calls per minute (enforced only when configured). Windows run on the wall clock, not the
//! sandbox clock, so a frozen test clock does not freeze them.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
pub struct Quotas {
    windows: HashMap<String, VecDeque<(Instant, u64)>>,
}

impl Quotas {
    fn window(&mut self, key: &str, span: Duration, now: Instant) -> &mut VecDeque<(Instant, u64)> {
        let w = self.windows.entry(key.to_string()).or_default();
        while w
            .front()
            .is_some_and(|(t, _)| now.duration_since(*t) >= span)
        {
            w.pop_front();
        }
        w
    }

    /// Counts `weight` units if they fit under `limit`; otherwise counts nothing and says how
    /// long until enough of the window has expired.
    pub fn take(
        &mut self,
        key: &str,
        weight: u64,
        limit: u64,
        span: Duration,
        now: Instant,
    ) -> Result<u64, Duration> {
        let w = self.window(key, span, now);
        let used: u64 = w.iter().map(|(_, n)| n).sum();
        if used.saturating_add(weight) <= limit {
            w.push_back((now, weight));
            return Ok(used + weight);
        }
        // Free units oldest-first until the call would fit.
        let mut freed = 0;
        for (t, n) in w.iter() {
            freed += n;
            if used - freed + weight <= limit {
                return Err(span.saturating_sub(now.duration_since(*t)));
            }
        }
        Err(span)
    }
}

/// Whole seconds, rounded up, for retry hints.
pub fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_over_the_limit_and_tells_when_room_returns() {
        let mut q = Quotas::default();
        let t0 = Instant::now();
        let hour = Duration::from_secs(3600);
        assert_eq!(q.take("a", 1, 2, hour, t0), Ok(1));
        assert_eq!(q.take("a", 1, 2, hour, t0 + Duration::from_secs(10)), Ok(2));
        let wait = q
            .take("a", 1, 2, hour, t0 + Duration::from_secs(20))
            .expect_err("over the limit");
        assert_eq!(wait, Duration::from_secs(3580));
        assert_eq!(q.take("b", 1, 2, hour, t0), Ok(1), "keys are separate");
        assert_eq!(
            q.take("a", 1, 2, hour, t0 + hour),
            Ok(2),
            "the first call has expired"
        );
        assert!(q.take("a", 5, 2, hour, t0 + hour).is_err());
    }
}
