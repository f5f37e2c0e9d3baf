//! Stripe settings. Billing exists only when a Stripe secret key is configured; otherwise every
//! organization is on the "self-hosted" plan, nothing is limited and no billing route exists.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::plans::Plans;

#[derive(Debug, Clone, clap::Args)]
pub struct StripeArgs {
    /// Stripe secret key (sk_live_… / sk_test_…). Unset: self-hosted, no billing, no limits.
    #[arg(long, env = "ADPILOT_STRIPE_SECRET_KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<String>,
    /// Signing secret of the webhook endpoint (whsec_…), for POST /webhooks/stripe.
    #[arg(long, env = "ADPILOT_STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    pub stripe_webhook_secret: Option<String>,
    /// Stripe API origin (tests point it at a local server).
    #[arg(
        long,
        env = "ADPILOT_STRIPE_API_URL",
        default_value = "https://api.stripe.com"
    )]
    pub stripe_api_url: String,
    /// How old a webhook's signed timestamp may be, in seconds (Stripe's libraries use 300).
    #[arg(
        long,
        env = "ADPILOT_STRIPE_WEBHOOK_TOLERANCE_SECS",
        default_value_t = 300
    )]
    pub stripe_webhook_tolerance_secs: u64,
    /// JSON file with the plans, their limits and Stripe price ids. Unset: built-in defaults.
    #[arg(long, env = "ADPILOT_PLANS_FILE")]
    pub plans_file: Option<PathBuf>,
}

/// Validated billing settings.
#[derive(Clone)]
pub struct BillingConfig {
    pub secret_key: String,
    pub webhook_secret: String,
    pub api_url: Url,
    pub tolerance: Duration,
    pub plans: Plans,
}

impl std::fmt::Debug for BillingConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The keys stay out of logs.
        f.debug_struct("BillingConfig")
            .field("api_url", &self.api_url.as_str())
            .field("tolerance", &self.tolerance)
            .finish_non_exhaustive()
    }
}

impl BillingConfig {
    /// `None` when Stripe is not configured; problems are added one line each.
    pub fn from_args(a: &StripeArgs, problems: &mut Vec<String>) -> Option<BillingConfig> {
        let set = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
        };
        let plans = match &a.plans_file {
            Some(path) => match Plans::load(path) {
                Ok(p) => Some(p),
                Err(e) => {
                    problems.push(format!("ADPILOT_PLANS_FILE ({}) {e}", path.display()));
                    None
                }
            },
            None => Some(Plans::defaults()),
        };
        let api_url = match Url::parse(a.stripe_api_url.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Some(u),
            _ => {
                problems.push(format!(
                    "ADPILOT_STRIPE_API_URL=\"{}\" is not an http(s) URL",
                    a.stripe_api_url
                ));
                None
            }
        };
        if a.stripe_webhook_tolerance_secs == 0 {
            problems.push("ADPILOT_STRIPE_WEBHOOK_TOLERANCE_SECS must be at least 1".into());
        }
        let secret_key = set(&a.stripe_secret_key)?;
        let Some(webhook_secret) = set(&a.stripe_webhook_secret) else {
            problems.push(
                "ADPILOT_STRIPE_WEBHOOK_SECRET must be set with ADPILOT_STRIPE_SECRET_KEY: copy the endpoint's signing secret (whsec_…) from Stripe"
                    .into(),
            );
            return None;
        };
        Some(BillingConfig {
            secret_key,
            webhook_secret,
            api_url: api_url?,
            tolerance: Duration::from_secs(a.stripe_webhook_tolerance_secs),
            plans: plans?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        s: StripeArgs,
    }

    fn parse(args: &[&str]) -> (Option<BillingConfig>, Vec<String>) {
        let mut v = vec!["t"];
        v.extend_from_slice(args);
        let a = T::parse_from(v).s;
        let mut problems = Vec::new();
        (BillingConfig::from_args(&a, &mut problems), problems)
    }

    #[test]
    fn no_key_means_no_billing_and_a_key_needs_the_webhook_secret() {
        let (b, p) = parse(&[]);
        assert!(b.is_none() && p.is_empty());
        let (b, p) = parse(&["--stripe-secret-key", "sk_test_1"]);
        assert!(b.is_none());
        assert!(p[0].contains("ADPILOT_STRIPE_WEBHOOK_SECRET"), "{p:?}");
        let (b, p) = parse(&[
            "--stripe-secret-key",
            "sk_test_1",
            "--stripe-webhook-secret",
            "whsec_1",
        ]);
        assert!(p.is_empty(), "{p:?}");
        let b = b.expect("billing");
        assert_eq!(b.tolerance, Duration::from_secs(300));
        assert_eq!(b.api_url.as_str(), "https://api.stripe.com/");
    }

    #[test]
    fn an_unreadable_plans_file_is_reported() {
        let (_, p) = parse(&["--plans-file", "/nonexistent/plans.json"]);
        assert!(p[0].contains("ADPILOT_PLANS_FILE"), "{p:?}");
    }
}
