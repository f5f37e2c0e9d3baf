//! What the sandbox holds, in plain terms, for tests to compare adapters against: accounts,
//! campaigns with status and budget, and exact daily metrics as the APIs would report them now.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::metrics::campaign_days;
use super::wire::major_str;
use super::world::{CampaignStatus, World};
use crate::types::{Currency, Platform};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthAccount {
    pub platform: Platform,
    /// As the platform spells it (Meta without the `act_` prefix).
    pub id: String,
    pub name: String,
    pub currency: Currency,
    pub time_zone: String,
    pub campaigns: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthCampaign {
    pub platform: Platform,
    pub account_id: String,
    pub campaign_id: String,
    pub name: String,
    pub status: CampaignStatus,
    /// The platform's word for the status (ENABLED, ACTIVE, ENABLE, ...).
    pub platform_status: String,
    pub daily_budget_micros: i64,
    pub currency: Currency,
    /// Google's budget resource id (equal to the campaign id on Meta and TikTok).
    pub budget_id: Option<String>,
    pub objective: String,
    pub created_at: DateTime<Utc>,
}

/// One campaign-day. `conversions`/`revenue*` are what the APIs report at the time of the
/// read (late attribution applied); `final_*` is what the day settles at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthMetric {
    pub platform: Platform,
    pub account_id: String,
    pub campaign_id: String,
    pub campaign_name: String,
    pub date: NaiveDate,
    pub currency: Currency,
    pub impressions: i64,
    pub clicks: i64,
    pub spend_micros: i64,
    /// Major units with the currency's decimals ("14.35", "1234" for JPY).
    pub spend: String,
    pub conversions: i64,
    pub revenue_micros: i64,
    pub revenue: String,
    pub final_conversions: i64,
    pub final_revenue_micros: i64,
}

/// Filters for truth reads; everything optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthQuery {
    pub platform: Option<Platform>,
    /// Meta ids may carry `act_`.
    pub account_id: Option<String>,
    pub campaign_id: Option<String>,
    /// Local dates of the account, inclusive; default: the whole history.
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

fn strip_act(s: &str) -> &str {
    s.strip_prefix("act_").unwrap_or(s)
}

pub fn accounts(world: &World, platform: Option<Platform>) -> Vec<TruthAccount> {
    world
        .accounts
        .iter()
        .filter(|a| platform.is_none_or(|p| p == a.platform))
        .map(|a| TruthAccount {
            platform: a.platform,
            id: a.id.clone(),
            name: a.name.clone(),
            currency: a.currency,
            time_zone: a.time_zone.clone(),
            campaigns: world.campaigns_of(a.platform, &a.id).count(),
        })
        .collect()
}

pub fn campaigns(world: &World, q: &TruthQuery) -> Vec<TruthCampaign> {
    world
        .campaigns
        .iter()
        .filter(|c| q.platform.is_none_or(|p| p == c.platform))
        .filter(|c| {
            q.account_id
                .as_deref()
                .is_none_or(|a| strip_act(a) == c.account_id)
        })
        .filter(|c| q.campaign_id.as_deref().is_none_or(|id| id == c.id))
        .filter_map(|c| {
            let a = world.account(c.platform, &c.account_id)?;
            Some(TruthCampaign {
                platform: c.platform,
                account_id: c.account_id.clone(),
                campaign_id: c.id.clone(),
                name: c.name.clone(),
                status: c.status(),
                platform_status: c.status().wire(c.platform).to_string(),
                daily_budget_micros: world.daily_budget(c),
                currency: a.currency,
                budget_id: c.budget_id.clone(),
                objective: c.objective.clone(),
                created_at: c.created_at,
            })
        })
        .collect()
}

pub fn metrics(world: &World, q: &TruthQuery, now: DateTime<Utc>) -> Vec<TruthMetric> {
    let mut out = Vec::new();
    for c in world
        .campaigns
        .iter()
        .filter(|c| q.platform.is_none_or(|p| p == c.platform))
        .filter(|c| {
            q.account_id
                .as_deref()
                .is_none_or(|a| strip_act(a) == c.account_id)
        })
        .filter(|c| q.campaign_id.as_deref().is_none_or(|id| id == c.id))
    {
        let Some(a) = world.account(c.platform, &c.account_id) else {
            continue;
        };
        let from = q.from.unwrap_or(NaiveDate::MIN);
        let to = q.to.unwrap_or(NaiveDate::MAX);
        for m in campaign_days(world, a, c, from, to, now) {
            out.push(TruthMetric {
                platform: c.platform,
                account_id: c.account_id.clone(),
                campaign_id: c.id.clone(),
                campaign_name: c.name.clone(),
                date: m.date,
                currency: a.currency,
                impressions: m.impressions,
                clicks: m.clicks,
                spend_micros: m.spend_micros,
                spend: major_str(m.spend_micros, a.currency),
                conversions: m.conversions,
                revenue_micros: m.revenue_micros,
                revenue: major_str(m.revenue_micros, a.currency),
                final_conversions: m.final_conversions,
                final_revenue_micros: m.final_revenue_micros,
            });
        }
    }
    out
}
