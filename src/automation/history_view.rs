//! Labels for the rule history and activity pages: amounts rounded to their currency with its
//! code, and each campaign's ad account.

use std::collections::HashMap;

use rust_decimal::Decimal;
use uuid::Uuid;

use super::history::Entry;
use crate::db::Conn;
use crate::types::{Currency, Money};

#[derive(Debug, Default)]
pub struct Labels {
    campaigns: HashMap<Uuid, (Currency, String)>,
}

/// Metrics whose values are money (the rules language's vocabulary).
const MONEY: [&str; 7] = [
    "spend",
    "cpa",
    "cpc",
    "cpm",
    "revenue",
    "daily_budget",
    "budget",
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
                let name = accounts
                    .iter()
                    .find(|a| a.id == account)
                    .map(|a| format!("{} ({})", a.name, a.platform.label()))
                    .unwrap_or_else(|| "–".into());
                Some((id, (currency, name)))
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

    /// A value the condition saw: money metrics as "1,234.57 USD", counts and ratios as stored.
    pub fn seen(&self, campaign: &Uuid, key: &str, value: &str) -> String {
        let first = key.split_whitespace().next().unwrap_or("");
        let plain_metric = !key.contains(['*', '/', '+']) && MONEY.contains(&first);
        match (
            plain_metric,
            self.campaigns.get(campaign),
            value.parse::<Decimal>(),
        ) {
            (true, Some((currency, _)), Ok(d)) => match Money::from_major(d, *currency) {
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
