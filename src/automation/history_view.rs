//! Labels for the rule history and activity pages: amounts rounded to their currency with its
//! code, and each campaign's ad account.

use std::collections::HashMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::history::Entry;
use crate::db::Conn;
use crate::types::{Currency, Money, Platform};

#[derive(Debug, Default)]
pub struct Labels {
    /// Per campaign: its currency, its ad account's label and platform.
    campaigns: HashMap<Uuid, (Currency, String, Option<Platform>)>,
}

/// Metrics whose values are money (the rules language's vocabulary).
const MONEY: [&str; 15] = [
    "spend",
    "cpa",
    "cpc",
    "cpm",
    "revenue",
    "daily_budget",
    "budget",
    "bid",
    "lifetime_budget",
    "budget_remaining",
    "purchase_value",
    "cost_per_purchase",
    "cost_per_lead",
    "cost_per_install",
    "cost_per_registration",
];

impl Labels {
    pub async fn load(c: &mut Conn, items: &[Entry]) -> diesel::QueryResult<Labels> {
        let mut ids: Vec<Uuid> = items.iter().map(|i| i.campaign_id).collect();
        ids.sort();
        ids.dedup();
        let rows = crate::campaigns::labels::currency_and_account(c, &ids).await?;
        let accounts = crate::connections::service::managed_accounts(c).await?;
        let campaigns = rows
            .into_iter()
            .filter_map(|(id, account, currency)| {
                let currency: Currency = currency.parse().ok()?;
                let found = accounts.iter().find(|a| a.id == account);
                let name = found
                    .map(|a| format!("{} ({})", a.name, a.platform.label()))
                    .unwrap_or_else(|| "–".into());
                Some((id, (currency, name, found.map(|a| a.platform))))
            })
            .collect();
        Ok(Labels { campaigns })
    }

    pub fn account(&self, campaign: &Uuid) -> String {
        self.campaigns
            .get(campaign)
            .map(|c| c.1.clone())
            .unwrap_or_else(|| "–".into())
    }

    /// What a matched object below the campaign is, in its platform's words ("Ad set" on
    /// Meta); `None` for a campaign.
    pub fn level_word(&self, item: &Entry) -> Option<&'static str> {
        let platform = self.campaigns.get(&item.campaign_id).and_then(|c| c.2);
        match item.level.as_str() {
            "ad_group" if platform == Some(Platform::Meta) => Some("Ad set"),
            "ad_group" => Some("Ad group"),
            "ad" => Some("Ad"),
            _ => None,
        }
    }

    /// A value the condition saw: money metrics as "1,234.57 USD", counts and ratios as stored.
    pub fn seen(&self, campaign: &Uuid, key: &str, value: &str) -> String {
        // `campaign cpa ...`, `ad set spend ...`, `account spend ...`: the metric after the prefix.
        let first = key
            .split_whitespace()
            .find(|w| !matches!(*w, "campaign" | "account" | "ad" | "group" | "set"))
            .unwrap_or("");
        let plain_metric = !key.contains(['*', '/', '+']) && MONEY.contains(&first);
        match (
            plain_metric,
            self.campaigns.get(campaign),
            value.parse::<Decimal>(),
        ) {
            (true, Some((currency, _, _)), Ok(d)) => match Money::from_major(d, *currency) {
                Some(m) => m.display(),
                None => value.to_string(),
            },
            (false, _, Ok(d)) if d.scale() > 2 => d.round_dp(2).normalize().to_string(),
            _ => value.to_string(),
        }
    }

    /// An action's budget amount (stored as major units) in its currency.
    pub fn amount(&self, value: &Option<String>, currency: &Option<String>) -> String {
        let Some(v) = value else {
            return String::new();
        };
        match (
            currency.as_deref().and_then(|c| c.parse::<Currency>().ok()),
            v.parse::<Decimal>(),
        ) {
            (Some(c), Ok(d)) => Money::from_major(d, c)
                .map(|m| m.display())
                .unwrap_or_else(|| v.clone()),
            _ => v.clone(),
        }
    }
}
