//! Retrying platform calls that failed for reasons that pass: rate limits and transient errors.

use std::future::Future;
use std::time::Duration;

use rand::Rng;

use super::errors::PlatformError;

/// How hard to try before giving the error to the caller. The defaults suit a background sync;
/// tests shrink the delays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total tries, the first one included. 1 disables retrying.
    pub max_attempts: u32,
    /// First backoff; doubles on every further attempt.
    pub base_delay: Duration,
    /// Cap on one computed backoff (a platform's own hint may be longer).
    pub max_delay: Duration,
    /// The sum of all waits for one call. A hint that would exceed it makes us give up at once
    /// and hand the `RateLimited { retry_after }` to the caller (a job can be rescheduled; a
    /// request handler should not hang for 40,000 seconds).
    pub max_total_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_total_wait: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The wait before attempt `attempt + 1`, after `attempt` failed with `error`.
    fn delay_after(&self, attempt: u32, error: &PlatformError) -> Duration {
        if let PlatformError::RateLimited {
            retry_after: Some(hint),
            ..
        } = error
        {
            // The hint is a minimum: never earlier, and a little spread so that many workers
            // throttled together do not return in lock-step.
            let spread = (*hint / 10).min(Duration::from_secs(1));
            return *hint + jitter(spread);
        }
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)));
        let capped = exp.min(self.max_delay);
        // "Equal jitter": at least half the backoff, so the growth stays visible.
        capped / 2 + jitter(capped / 2)
    }
}

fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let nanos = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rand::rng().random_range(0..=nanos))
}

/// Runs `op` until it succeeds, fails for good, or the policy's budget is spent.
pub async fn with_retry<T, F, Fut>(policy: &RetryPolicy, op: F) -> Result<T, PlatformError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, PlatformError>>,
{
    with_retry_when(policy, PlatformError::is_retryable, op).await
}

/// Retries only the requests a failure proves were not carried out. Use for writes that are
/// not idempotent (creates): a 5xx or timeout may hide a success, and sending the create again
/// would make a second campaign; a rate-limit refusal did nothing.
pub async fn with_retry_refused<T, F, Fut>(policy: &RetryPolicy, op: F) -> Result<T, PlatformError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, PlatformError>>,
{
    with_retry_when(
        policy,
        |e| matches!(e, PlatformError::RateLimited { .. }),
        op,
    )
    .await
}

async fn with_retry_when<T, F, Fut>(
    policy: &RetryPolicy,
    retryable: fn(&PlatformError) -> bool,
    mut op: F,
) -> Result<T, PlatformError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, PlatformError>>,
{
    let mut waited = Duration::ZERO;
    let mut attempt = 1u32;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if retryable(&e) && attempt < policy.max_attempts => {
                let delay = policy.delay_after(attempt, &e);
                if waited + delay > policy.max_total_wait {
                    return Err(e);
                }
                tracing::debug!(
                    kind = e.kind(),
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    "platform call failed, retrying"
                );
                tokio::time::sleep(delay).await;
                waited += delay;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(40),
            max_total_wait: Duration::from_secs(5),
        }
    }

    #[tokio::test]
    async fn temporary_errors_are_retried_until_success() {
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let out = with_retry(&fast(), || {
            let c = c.clone();
            async move {
                if c.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(PlatformError::Temporary {
                        message: "503".into(),
                    })
                } else {
                    Ok(7)
                }
            }
        })
        .await;
        assert_eq!(out, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn invalid_is_not_retried_and_attempts_are_bounded() {
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let out: Result<(), _> = with_retry(&fast(), || {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                Err(PlatformError::invalid("no"))
            }
        })
        .await;
        assert_eq!(out.map_err(|e| e.kind()), Err("invalid"));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let out: Result<(), _> = with_retry(&fast(), || {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                Err(PlatformError::Temporary {
                    message: "down".into(),
                })
            }
        })
        .await;
        assert!(out.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 4);
    }

    #[tokio::test]
    async fn a_hint_longer_than_the_budget_is_returned_at_once() {
        // Ready at the first poll: a wait (a tokio sleep) would leave it pending.
        let out: Result<(), _> =
            futures_util::FutureExt::now_or_never(with_retry(&fast(), || async {
                Err(PlatformError::RateLimited {
                    retry_after: Some(Duration::from_secs(40591)),
                    message: "quota".into(),
                })
            }))
            .expect("returned without waiting");
        assert_eq!(
            out,
            Err(PlatformError::RateLimited {
                retry_after: Some(Duration::from_secs(40591)),
                message: "quota".into()
            })
        );
    }

    #[test]
    fn hints_are_minimums_and_backoff_grows() {
        let p = fast();
        let hint = Duration::from_millis(200);
        for _ in 0..50 {
            let d = p.delay_after(
                1,
                &PlatformError::RateLimited {
                    retry_after: Some(hint),
                    message: String::new(),
                },
            );
            assert!(d >= hint && d <= hint + Duration::from_millis(20), "{d:?}");
            let t = PlatformError::Temporary {
                message: String::new(),
            };
            let d1 = p.delay_after(1, &t);
            let d3 = p.delay_after(3, &t);
            assert!(d1 >= Duration::from_millis(5) && d1 <= Duration::from_millis(10));
            assert!(d3 >= Duration::from_millis(20) && d3 <= Duration::from_millis(40));
        }
    }
}
