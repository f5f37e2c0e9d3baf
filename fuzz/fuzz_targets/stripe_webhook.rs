//! Fuzzes the Stripe webhook's pure half: the `Stripe-Signature` header parser and verifier,
//! the event JSON, and what an event would change in an organization's billing row. Any input
//! must give an answer (never a panic), a body signed with the secret must verify, and the
//! billing row an event produces must name a plan that exists.
//!
//! cargo fuzz run stripe_webhook -- -max_total_time=600

#![no_main]

use adpilot::billing::plans::Plans;
use adpilot::billing::webhook::{SignatureError, parse_event, preview, sign, verify};
use adpilot::billing::{Account, Status};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "whsec_fuzz";

fn plans() -> Plans {
    match Plans::parse(include_str!("../../src/billing/plans.json")) {
        Ok(p) => p,
        Err(e) => panic!("the shipped plans must parse: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    // The first line is the signature header, the rest the body.
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let header = String::from_utf8_lossy(&data[..split]);
    let body = data.get(split + 1..).unwrap_or(&[]);
    let now = 1_800_000_000;

    // An arbitrary header: any outcome but a panic; a signature that checks out is rare but
    // legal only if it really is the HMAC of this body.
    if verify(&header, body, SECRET, 300, now).is_ok() {
        let t = header
            .split(',')
            .filter_map(|p| p.trim().split_once('='))
            .filter(|(k, _)| *k == "t")
            .last()
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        let good = hex_encode(&sign(SECRET, &t, body));
        assert!(header.to_ascii_lowercase().contains(&good), "{header}");
    }
    // The same body, signed properly, verifies; a tampered one does not.
    let t = (now - 10).to_string();
    let signed = format!("t={t},v1={}", hex_encode(&sign(SECRET, &t, body)));
    assert_eq!(verify(&signed, body, SECRET, 300, now), Ok(()));
    let mut tampered = body.to_vec();
    tampered.push(b' ');
    assert_eq!(
        verify(&signed, &tampered, SECRET, 300, now),
        Err(SignatureError::Mismatch)
    );

    let Ok(event) = parse_event(body) else {
        return;
    };
    let plans = plans();
    let existing = Account {
        plan: "pro".into(),
        status: Status::PastDue,
        stripe_customer_id: Some("cus_1".into()),
        stripe_subscription_id: Some("sub_1".into()),
        current_period_end: None,
        past_due_since: None,
        last_event_created: None,
    };
    for current in [None, Some(&existing)] {
        let p = preview(&plans, &event, current);
        if let Some(next) = &p.next {
            assert!(plans.get(&next.plan).is_some(), "{next:?}");
            if next.status == Status::PastDue {
                assert!(next.past_due_since.is_some() || current.is_some(), "{next:?}");
            }
        }
    }
});

fn hex_encode(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
