//! The one way an adapter talks to its platform: wait for a rate-limit slot, build the request,
//! send it, read the answer, turn it into a value or a [`PlatformError`], and retry by the
//! settings' policy. Each platform passes in only what is its own (its "dialect"): how to wait
//! for a slot, how to build the request, how to read the answer.

use std::future::{Future, Ready, ready};

use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::errors::PlatformError;
use super::retry::{RetryPolicy, with_retry, with_retry_refused};
use super::{Shared, read_response};

/// A platform's answer, read in full.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: String,
}

impl Answer {
    /// The JSON of a successful answer, or the dialect's error for any other status.
    /// `unreadable` starts the message of a success whose body is not JSON.
    pub(crate) fn json_or(
        self,
        unreadable: &str,
        classify: impl FnOnce(StatusCode, &HeaderMap, &str) -> PlatformError,
    ) -> Result<serde_json::Value, PlatformError> {
        if self.status.is_success() {
            serde_json::from_str(&self.body)
                .map_err(|e| PlatformError::unexpected(format!("{unreadable}: {e}")))
        } else {
            Err(classify(self.status, &self.headers, &self.body))
        }
    }
}

/// For endpoints with no client-side rate limit (the OAuth ones).
pub(crate) fn no_slot() -> Ready<Result<(), PlatformError>> {
    ready(Ok(()))
}

/// One platform call with retries. Every try waits for a slot (which may refuse, as Google's
/// operation quota does), builds a fresh request, sends it and reads the answer.
///
/// `idempotent` allows retrying failures that might hide a success (5xx, timeouts); without it
/// only refusals that prove nothing was done (rate limits) are retried, so a create is never
/// sent twice.
pub(crate) async fn platform_call<T, Slot, SlotFut, Build, Read>(
    shared: &Shared,
    idempotent: bool,
    wait_for_slot: Slot,
    build: Build,
    read: Read,
) -> Result<T, PlatformError>
where
    Slot: Fn() -> SlotFut,
    SlotFut: Future<Output = Result<(), PlatformError>>,
    Build: Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    Read: Fn(Answer) -> Result<T, PlatformError>,
{
    call_with(
        &shared.settings.retry,
        idempotent,
        wait_for_slot,
        || async {
            let resp = build(&shared.http).send().await?;
            let (status, headers, body) = read_response(resp).await?;
            Ok(Answer {
                status,
                headers,
                body,
            })
        },
        read,
    )
    .await
}

/// The skeleton without the network, so the retry choice can be tested on its own.
async fn call_with<T, Slot, SlotFut, Send, SendFut, Read>(
    policy: &RetryPolicy,
    idempotent: bool,
    wait_for_slot: Slot,
    send: Send,
    read: Read,
) -> Result<T, PlatformError>
where
    Slot: Fn() -> SlotFut,
    SlotFut: Future<Output = Result<(), PlatformError>>,
    Send: Fn() -> SendFut,
    SendFut: Future<Output = Result<Answer, PlatformError>>,
    Read: Fn(Answer) -> Result<T, PlatformError>,
{
    let (wait_for_slot, send, read) = (&wait_for_slot, &send, &read);
    let attempt = || async move {
        wait_for_slot().await?;
        read(send().await?)
    };
    if idempotent {
        with_retry(policy, attempt).await
    } else {
        with_retry_refused(policy, attempt).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(4),
            max_total_wait: Duration::from_secs(5),
        }
    }

    fn answer(status: u16) -> Result<Answer, PlatformError> {
        Ok(Answer {
            status: StatusCode::from_u16(status).expect("status"),
            headers: HeaderMap::new(),
            body: "{\"ok\":true}".into(),
        })
    }

    /// Sends `statuses` in turn (the last one repeats) and counts the tries.
    async fn run(idempotent: bool, statuses: &[u16]) -> (Result<serde_json::Value, String>, u32) {
        let tries = AtomicU32::new(0);
        let out = call_with(
            &fast(),
            idempotent,
            no_slot,
            || {
                let i = tries.fetch_add(1, Ordering::SeqCst) as usize;
                ready(answer(statuses[i.min(statuses.len() - 1)]))
            },
            |a| {
                a.json_or("unreadable", |s, h, b| {
                    PlatformError::from_status(
                        s,
                        crate::platforms::errors::retry_after_header(h),
                        b.into(),
                    )
                })
            },
        )
        .await;
        (
            out.map_err(|e| e.kind().to_string()),
            tries.load(Ordering::SeqCst),
        )
    }

    #[tokio::test]
    async fn a_write_that_is_not_idempotent_is_retried_only_when_refused() {
        let (out, tries) = run(false, &[429, 200]).await;
        assert!(out.is_ok(), "{out:?}");
        assert_eq!(tries, 2);
        // A 5xx may hide a success: sending the create again could make a second one.
        let (out, tries) = run(false, &[503, 200]).await;
        assert_eq!(out, Err("temporary".to_string()));
        assert_eq!(tries, 1);
    }

    #[tokio::test]
    async fn an_idempotent_call_is_retried_on_transient_failures_too() {
        let (out, tries) = run(true, &[503, 429, 200]).await;
        assert!(out.is_ok(), "{out:?}");
        assert_eq!(tries, 3);
        let (out, tries) = run(true, &[400]).await;
        assert_eq!(out, Err("unexpected".to_string()));
        assert_eq!(tries, 1);
    }

    #[tokio::test]
    async fn a_refused_slot_is_retried_like_a_rate_limit_and_sends_nothing() {
        let slots = AtomicU32::new(0);
        let sent = AtomicU32::new(0);
        let out = call_with(
            &fast(),
            false,
            || {
                ready(if slots.fetch_add(1, Ordering::SeqCst) == 0 {
                    Err(PlatformError::RateLimited {
                        retry_after: Some(Duration::from_millis(1)),
                        message: "quota".into(),
                    })
                } else {
                    Ok(())
                })
            },
            || {
                sent.fetch_add(1, Ordering::SeqCst);
                ready(answer(200))
            },
            |a| a.json_or("unreadable", |_, _, _| unreachable!()),
        )
        .await;
        assert!(out.is_ok());
        assert_eq!(slots.load(Ordering::SeqCst), 2);
        assert_eq!(sent.load(Ordering::SeqCst), 1);
    }
}
