//! Fuzzes the OAuth callback's pure parts: the callback query string, the state checks, the
//! authorization code it yields, and each platform's token response. Any input must give an
//! answer (never a panic), and a state is accepted only when every check holds.
//!
//! cargo fuzz run oauth_callback -- -max_total_time=600

#![no_main]

use adpilot::connections::service::{
    StoredState, authorization_code, check_state, parse_callback_query,
};
use adpilot::platforms::parse_token_response;
use adpilot::types::Platform;
use chrono::{DateTime, TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use uuid::Uuid;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let platform = Platform::ALL[usize::from(selector) % Platform::ALL.len()];
    let text = String::from_utf8_lossy(rest);
    let now: DateTime<Utc> = match Utc.timestamp_opt(1_800_000_000, 0).single() {
        Some(t) => t,
        None => return,
    };

    // The callback's query string.
    if let Ok(params) = parse_callback_query(&text) {
        if let Ok(code) = authorization_code(&params, platform) {
            assert!(!code.is_empty());
            assert!(params.error.is_none());
        }
    }

    // The state checks, driven by the input's bytes.
    let session = Uuid::from_u128(7);
    let bits = rest.first().copied().unwrap_or(0);
    let stored = StoredState {
        session_id: if bits & 1 == 0 { session } else { Uuid::from_u128(8) },
        platform: Platform::ALL[usize::from(bits >> 1) % Platform::ALL.len()]
            .as_str()
            .to_string(),
        expires_at: now + chrono::TimeDelta::seconds(i64::from(bits >> 3) - 16),
        used_at: (bits & 0x80 != 0).then_some(now),
    };
    let accepted = check_state(&stored, session, platform, now).is_ok();
    let should = stored.used_at.is_none()
        && stored.session_id == session
        && stored.platform == platform.as_str()
        && stored.expires_at >= now;
    assert_eq!(accepted, should, "{stored:?}");

    // The code exchange's answer.
    if let Ok(tokens) = parse_token_response(platform, &text, now) {
        assert!(!tokens.access_token.is_empty());
        if let Some(at) = tokens.expires_at {
            assert!(at > now, "{tokens:?}");
        }
    }
});
