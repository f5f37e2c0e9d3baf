//! The sandbox's notion of "now". Tests fix it and move it forward by hand so that "today grows"
//! and "late conversions rise" can be checked without waiting; the demo follows the wall clock.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

#[derive(Debug, Clone, Copy)]
enum Base {
    System,
    Fixed(DateTime<Utc>),
}

#[derive(Debug)]
struct Inner {
    base: Base,
    /// Added to the wall clock when not fixed, so `advance` also works on a live sandbox.
    offset: Duration,
}

/// A shared, cloneable clock. Cloning shares the same time source.
#[derive(Debug, Clone)]
pub struct Clock {
    inner: Arc<Mutex<Inner>>,
}

impl Clock {
    /// Follows the system clock.
    pub fn system() -> Self {
        Self::with(Base::System)
    }

    /// Stands still at `now` until `set` or `advance` is called.
    pub fn fixed(now: DateTime<Utc>) -> Self {
        Self::with(Base::Fixed(now))
    }

    fn with(base: Base) -> Self {
        Clock {
            inner: Arc::new(Mutex::new(Inner {
                base,
                offset: Duration::zero(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the two plain fields inconsistent.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn now(&self) -> DateTime<Utc> {
        let g = self.lock();
        let base = match g.base {
            Base::System => Utc::now(),
            Base::Fixed(t) => t,
        };
        base + g.offset
    }

    /// Pins the clock at `now` (a system clock becomes fixed).
    pub fn set(&self, now: DateTime<Utc>) {
        let mut g = self.lock();
        g.base = Base::Fixed(now);
        g.offset = Duration::zero();
    }

    pub fn advance(&self, by: Duration) {
        let mut g = self.lock();
        g.offset += by;
    }

    pub fn is_fixed(&self) -> bool {
        matches!(self.lock().base, Base::Fixed(_))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let t0 = Utc
            .with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
            .single()
            .expect("time");
        let c = Clock::fixed(t0);
        assert_eq!(c.now(), t0);
        c.advance(Duration::hours(2));
        assert_eq!(c.now(), t0 + Duration::hours(2));
        let shared = c.clone();
        shared.set(t0);
        assert_eq!(c.now(), t0);
    }
}
