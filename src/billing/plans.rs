//! Plans and their limits: a JSON file (ADPILOT_PLANS_FILE) or the defaults embedded below.
//!
//! Operators selling adpilot set each plan's Stripe price id in their file; a plan without one
//! cannot be bought through Checkout. A limit of `null` means unlimited.

use serde::Deserialize;

/// The plan every organization is on when Stripe is not configured.
pub const SELF_HOSTED: &str = "self-hosted";

const DEFAULTS: &str = include_str!("plans.json");

/// What a plan limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Limit {
    AdAccounts,
    LiveRules,
    Members,
    ReportSchedules,
    AiTokensPerMonth,
}

impl Limit {
    pub const ALL: [Limit; 5] = [
        Limit::AdAccounts,
        Limit::LiveRules,
        Limit::Members,
        Limit::ReportSchedules,
        Limit::AiTokensPerMonth,
    ];

    /// How people call `n` of it, e.g. "3 connected ad accounts", "1 member (…)".
    pub fn count_label(self, n: u64) -> String {
        let (one, many, note) = match self {
            Limit::AdAccounts => ("connected ad account", "connected ad accounts", ""),
            Limit::LiveRules => ("live rule", "live rules", ""),
            Limit::Members => ("member", "members", " (pending invitations included)"),
            Limit::ReportSchedules => ("report schedule", "report schedules", ""),
            Limit::AiTokensPerMonth => ("AI token per month", "AI tokens per month", ""),
        };
        format!("{n} {}{note}", if n == 1 { one } else { many })
    }

    pub fn title(self) -> &'static str {
        match self {
            Limit::AdAccounts => "Connected ad accounts",
            Limit::LiveRules => "Live rules",
            Limit::Members => "Members and pending invitations",
            Limit::ReportSchedules => "Report schedules",
            Limit::AiTokensPerMonth => "AI tokens this month",
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
pub struct Limits {
    pub ad_accounts: Option<u64>,
    pub live_rules: Option<u64>,
    pub members: Option<u64>,
    pub report_schedules: Option<u64>,
    pub ai_tokens_per_month: Option<u64>,
}

impl Limits {
    /// The allowance for `limit`; `None` is unlimited.
    pub fn get(&self, limit: Limit) -> Option<u64> {
        match limit {
            Limit::AdAccounts => self.ad_accounts,
            Limit::LiveRules => self.live_rules,
            Limit::Members => self.members,
            Limit::ReportSchedules => self.report_schedules,
            Limit::AiTokensPerMonth => self.ai_tokens_per_month,
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Plan {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub stripe_price_id: Option<String>,
    #[serde(default)]
    pub limits: Limits,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Plans {
    /// The plan of organizations without a subscription, or whose subscription ended.
    pub free_plan: String,
    pub plans: Vec<Plan>,
}

impl Plans {
    pub fn defaults() -> Plans {
        // The embedded file is checked by a unit test, so this cannot fail in a release.
        Plans::parse(DEFAULTS).unwrap_or_else(|_| Plans {
            free_plan: SELF_HOSTED.into(),
            plans: vec![Plan {
                id: SELF_HOSTED.into(),
                name: "Self-hosted".into(),
                stripe_price_id: None,
                limits: Limits::default(),
            }],
        })
    }

    /// Parses and validates a plans file; every problem is one message.
    pub fn parse(text: &str) -> Result<Plans, String> {
        let plans: Plans =
            serde_json::from_str(text).map_err(|e| format!("is not a valid plans file: {e}"))?;
        let mut seen = std::collections::HashSet::new();
        for p in &plans.plans {
            if p.id.trim().is_empty() || !seen.insert(p.id.as_str()) {
                return Err(format!("has an empty or repeated plan id \"{}\"", p.id));
            }
        }
        if plans.get(&plans.free_plan).is_none() {
            return Err(format!(
                "names free_plan \"{}\", which is not one of its plans",
                plans.free_plan
            ));
        }
        Ok(plans)
    }

    pub fn load(path: &std::path::Path) -> Result<Plans, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot be read: {e}"))?;
        Plans::parse(&text)
    }

    pub fn get(&self, id: &str) -> Option<&Plan> {
        self.plans.iter().find(|p| p.id == id)
    }

    pub fn free(&self) -> Option<&Plan> {
        self.get(&self.free_plan)
    }

    /// The plan a Stripe price belongs to (subscription events name prices, not plans).
    pub fn by_price(&self, price: &str) -> Option<&Plan> {
        self.plans
            .iter()
            .find(|p| p.stripe_price_id.as_deref() == Some(price))
    }

    /// Plans that can be bought through Checkout.
    pub fn purchasable(&self) -> impl Iterator<Item = &Plan> {
        self.plans.iter().filter(|p| p.stripe_price_id.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_parse_and_name_every_plan() {
        let p = Plans::parse(DEFAULTS).expect("defaults");
        for id in ["free", "starter", "pro", "agency", SELF_HOSTED] {
            assert!(p.get(id).is_some(), "{id}");
        }
        assert_eq!(
            p.get(SELF_HOSTED).map(|p| &p.limits),
            Some(&Limits::default())
        );
    }

    #[test]
    fn a_free_plan_that_does_not_exist_is_refused() {
        let e = Plans::parse(r#"{"free_plan":"x","plans":[]}"#).expect_err("bad");
        assert!(e.contains("free_plan"));
    }
}
