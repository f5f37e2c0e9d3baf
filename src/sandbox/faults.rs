//! Fault injection: rate limits, server errors, slow responses and dead tokens, for the next N
//! calls or a share of calls, optionally for one platform or paths containing a string.
//!
//! Which calls a "fraction" fault hits is decided by hashing the seed, the fault id and the
//! call's position, so a test run is repeatable.

use serde::{Deserialize, Serialize};

use super::rng;
use crate::types::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The platform's own rate-limit answer with its retry hint.
    RateLimit,
    /// A transient server error (Google 503, Meta code 2, TikTok code 50000).
    ServerError,
    /// The answer is held back for `delay_ms` (longer than a client's timeout), then served.
    Timeout,
    /// The call is carried out at once, then its answer is held back for `delay_ms`: the
    /// client times out on a write that did land (the case that makes creates unsafe to
    /// repeat blindly).
    LostResponse,
    /// The platform's "access token expired" answer.
    ExpiredToken,
    /// The platform's "token revoked / invalid" answer.
    RevokedToken,
    /// A refusal that no retry changes, with words for the user (Meta code 1 with a subcode,
    /// `is_transient: false`, `error_user_title`/`error_user_msg`; Google INVALID_ARGUMENT;
    /// TikTok 40002).
    PermanentError,
    /// The token lacks a permission (Meta code 200 naming `ads_read`; Google
    /// USER_PERMISSION_DENIED; TikTok 40001).
    MissingPermission,
    /// The call is carried out and its answer comes back in another shape: Google a
    /// searchStream array instead of a search page, Meta an object without `data`, TikTok a
    /// `data` without `list`.
    WrongShape,
    /// TikTok `campaign/get` rows carry `secondary_status` only (no `operation_status`).
    SecondaryStatusOnly,
    /// TikTok `advertiser/info` as some accounts answer it: no `currency` unless `fields`
    /// asks for it, and `timezone` as a fixed offset (`Etc/GMT+8`) beside the region in
    /// `display_timezone`.
    LegacyAdvertiserInfo,
    /// Meta: the ad account is on hold (`account_status` 3, unsettled) and its ACTIVE
    /// campaigns have `effective_status` PENDING_BILLING_INFO.
    AccountOnHold,
}

impl FaultKind {
    /// Kinds that let the call through and change the shape of its answer (see
    /// `sandbox::shapes`), rather than answering in its place.
    pub fn reshapes(self) -> bool {
        matches!(
            self,
            FaultKind::WrongShape
                | FaultKind::SecondaryStatusOnly
                | FaultKind::LegacyAdvertiserInfo
                | FaultKind::AccountOnHold
        )
    }
}

/// What to inject; the JSON body of `POST /_sandbox/faults`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultSpec {
    pub kind: FaultKind,
    /// Only calls to this platform; all platforms when absent.
    #[serde(default)]
    pub platform: Option<Platform>,
    /// Only the next `count` matching calls.
    #[serde(default)]
    pub count: Option<u32>,
    /// Only this share (0.0–1.0) of matching calls. With `count` too, stops after `count` hits.
    #[serde(default)]
    pub fraction: Option<f64>,
    /// Only calls whose path contains this text.
    #[serde(default)]
    pub path_contains: Option<String>,
    /// Only calls whose path ends with this text (`/ads` without `/adsets`).
    #[serde(default)]
    pub path_ends_with: Option<String>,
    /// Only calls whose query string (`k=v` pairs joined by `&`, decoded) contains this text,
    /// e.g. `level=ad&` to hit one level of a report that shares its path with the others.
    #[serde(default)]
    pub query_contains: Option<String>,
    /// Only calls with this HTTP method (`GET`, `POST`), whatever its case.
    #[serde(default)]
    pub method: Option<String>,
    /// Retry hint sent with rate limits (Google retryDelay, Meta regain-access minutes rounded
    /// up, which the adapters should read). Default 1 s.
    #[serde(default)]
    pub retry_after_secs: Option<u64>,
    /// Delay for `timeout` and `lost_response`; default 30 s.
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Also hit the OAuth token endpoints (off by default so a fault aimed at API calls does
    /// not break the connect flow).
    #[serde(default)]
    pub include_oauth: bool,
}

impl FaultSpec {
    pub fn new(kind: FaultKind) -> Self {
        FaultSpec {
            kind,
            platform: None,
            count: None,
            fraction: None,
            path_contains: None,
            path_ends_with: None,
            query_contains: None,
            method: None,
            retry_after_secs: None,
            delay_ms: None,
            include_oauth: false,
        }
    }

    pub fn platform(mut self, p: Platform) -> Self {
        self.platform = Some(p);
        self
    }

    pub fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    pub fn fraction(mut self, f: f64) -> Self {
        self.fraction = Some(f);
        self
    }

    pub fn retry_after_secs(mut self, s: u64) -> Self {
        self.retry_after_secs = Some(s);
        self
    }

    pub fn delay_ms(mut self, ms: u64) -> Self {
        self.delay_ms = Some(ms);
        self
    }

    pub fn path_contains(mut self, s: &str) -> Self {
        self.path_contains = Some(s.to_string());
        self
    }

    pub fn path_ends_with(mut self, s: &str) -> Self {
        self.path_ends_with = Some(s.to_string());
        self
    }

    pub fn query_contains(mut self, q: &str) -> Self {
        self.query_contains = Some(q.to_string());
        self
    }

    pub fn method(mut self, m: &str) -> Self {
        self.method = Some(m.to_string());
        self
    }

    pub fn validate(&self) -> Result<(), String> {
        if let Some(f) = self.fraction
            && !(0.0..=1.0).contains(&f)
        {
            return Err(format!("fraction must be between 0 and 1, got {f}"));
        }
        if self.count == Some(0) {
            return Err("count must be at least 1".into());
        }
        Ok(())
    }
}

/// A fault as stored, with its counters.
#[derive(Debug, Clone, Serialize)]
pub struct Fault {
    pub id: u64,
    pub spec: FaultSpec,
    /// Matching calls seen so far.
    pub seen: u64,
    /// Calls it was applied to.
    pub fired: u64,
}

impl Fault {
    fn exhausted(&self) -> bool {
        self.spec.count.is_some_and(|n| self.fired >= u64::from(n))
    }
}

/// What the dispatcher must do to one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Injected {
    pub kind: FaultKind,
    pub retry_after_secs: u64,
    pub delay_ms: u64,
}

#[derive(Debug, Default)]
pub struct FaultBook {
    next_id: u64,
    pub faults: Vec<Fault>,
}

impl FaultBook {
    pub fn add(&mut self, spec: FaultSpec) -> u64 {
        self.next_id += 1;
        self.faults.push(Fault {
            id: self.next_id,
            spec,
            seen: 0,
            fired: 0,
        });
        self.next_id
    }

    pub fn clear(&mut self) {
        self.faults.clear();
    }

    /// Picks the first fault that applies to this call and counts it.
    pub fn take(
        &mut self,
        seed: u64,
        platform: Platform,
        method: &str,
        path: &str,
        is_oauth: bool,
    ) -> Option<Injected> {
        self.take_with_query(seed, platform, method, path, "", is_oauth)
    }

    /// [`Self::take`] for a call with a query string.
    pub fn take_with_query(
        &mut self,
        seed: u64,
        platform: Platform,
        method: &str,
        path: &str,
        query: &str,
        is_oauth: bool,
    ) -> Option<Injected> {
        self.faults.retain(|f| !f.exhausted());
        for f in &mut self.faults {
            let s = &f.spec;
            if s.platform.is_some_and(|p| p != platform)
                || (is_oauth && !s.include_oauth)
                || s.path_contains
                    .as_deref()
                    .is_some_and(|p| !path.contains(p))
                || s.path_ends_with
                    .as_deref()
                    .is_some_and(|p| !path.ends_with(p))
                || s.query_contains
                    .as_deref()
                    .is_some_and(|q| !query.contains(q))
                || s.method
                    .as_deref()
                    .is_some_and(|m| !m.eq_ignore_ascii_case(method))
            {
                continue;
            }
            f.seen += 1;
            if let Some(share) = s.fraction {
                let roll = rng::hash(seed, &[rng::label("fault"), f.id, f.seen]) % 1_000_000;
                if roll as f64 >= share * 1_000_000.0 {
                    continue;
                }
            }
            f.fired += 1;
            return Some(Injected {
                kind: s.kind,
                retry_after_secs: s.retry_after_secs.unwrap_or(1),
                delay_ms: s.delay_ms.unwrap_or(30_000),
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_faults_stop_after_n_and_respect_platform() {
        let mut b = FaultBook::default();
        b.add(
            FaultSpec::new(FaultKind::RateLimit)
                .platform(Platform::Meta)
                .count(2),
        );
        assert!(
            b.take(1, Platform::Google, "GET", "/v21/x", false)
                .is_none()
        );
        assert!(
            b.take(1, Platform::Meta, "GET", "/v25.0/x", false)
                .is_some()
        );
        assert!(
            b.take(1, Platform::Meta, "GET", "/v25.0/x", false)
                .is_some()
        );
        assert!(
            b.take(1, Platform::Meta, "GET", "/v25.0/x", false)
                .is_none()
        );
        assert!(b.faults.is_empty());
    }

    #[test]
    fn fraction_hits_about_that_share_and_is_repeatable() {
        let run = || {
            let mut b = FaultBook::default();
            b.add(FaultSpec::new(FaultKind::ServerError).fraction(0.3));
            (0..1000)
                .map(|_| {
                    b.take(7, Platform::Tiktok, "GET", "/open_api", false)
                        .is_some()
                })
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let hits = a.iter().filter(|h| **h).count();
        assert!((230..370).contains(&hits), "{hits}");
    }

    #[test]
    fn oauth_calls_are_spared_unless_asked() {
        let mut b = FaultBook::default();
        b.add(FaultSpec::new(FaultKind::ServerError));
        assert!(b.take(1, Platform::Google, "GET", "/token", true).is_none());
        assert!(
            b.take(1, Platform::Google, "GET", "/v21/customers", false)
                .is_some()
        );
    }

    #[test]
    fn a_method_filter_spares_other_methods_on_the_same_path() {
        let mut b = FaultBook::default();
        b.add(
            FaultSpec::new(FaultKind::LostResponse)
                .method("post")
                .count(1),
        );
        assert!(
            b.take(1, Platform::Meta, "GET", "/v25.0/act_1/campaigns", false)
                .is_none()
        );
        let hit = b.take(1, Platform::Meta, "POST", "/v25.0/act_1/campaigns", false);
        assert_eq!(hit.map(|i| i.kind), Some(FaultKind::LostResponse));
    }
}
