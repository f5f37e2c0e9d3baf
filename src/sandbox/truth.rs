//! What the sandbox holds, in plain terms, for tests to compare adapters against: accounts,
//! campaigns with status and budget, and exact daily metrics as the APIs would report them now.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::hierarchy::{self, ad_days, ad_group_days};
use super::metrics::campaign_days;
use super::wire::major_str;
use super::world::{Campaign, CampaignStatus, World};
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
    /// A lifetime budget, shown by the platform in place of a daily one (`daily_budget_micros`
    /// is then 0).
    pub lifetime_budget_micros: Option<i64>,
    /// The lifetime budget minus everything the campaign spent up to now (Meta's
    /// `budget_remaining`).
    pub budget_remaining_micros: Option<i64>,
    /// The end of the flight, and the account-local day it falls on.
    pub ends_at: Option<DateTime<Utc>>,
    pub end_date: Option<NaiveDate>,
}

/// What is left of a campaign's lifetime budget at `now`: the budget minus all its spend.
pub fn budget_remaining(world: &World, c: &Campaign, now: DateTime<Utc>) -> Option<i64> {
    let total = world.lifetime_budget(c)?;
    let a = world.account(c.platform, &c.account_id)?;
    let spent: i64 = campaign_days(world, a, c, NaiveDate::MIN, NaiveDate::MAX, now)
        .iter()
        .map(|m| m.spend_micros)
        .sum();
    Some(total - spent)
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
    /// Ad-group and ad truth only: one ad group's objects.
    pub ad_group_id: Option<String>,
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

pub fn campaigns(world: &World, q: &TruthQuery, now: DateTime<Utc>) -> Vec<TruthCampaign> {
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
                // A campaign whose budget lives on its ad groups has none of its own.
                daily_budget_micros: if c.budget_on_ad_groups || world.lifetime_budget(c).is_some()
                {
                    0
                } else {
                    world.daily_budget(c)
                },
                currency: a.currency,
                budget_id: c.budget_id.clone(),
                objective: c.objective.clone(),
                created_at: c.created_at,
                lifetime_budget_micros: world.lifetime_budget(c),
                budget_remaining_micros: budget_remaining(world, c, now),
                ends_at: c.ends_at,
                end_date: c.ends_at.map(|t| a.local_date(t)),
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthAdGroup {
    pub platform: Platform,
    pub account_id: String,
    pub campaign_id: String,
    pub ad_group_id: String,
    pub name: String,
    pub status: CampaignStatus,
    /// The platform's word for the status.
    pub platform_status: String,
    /// Only where the budget lives on the ad group.
    pub daily_budget_micros: Option<i64>,
    pub bid_strategy: String,
    pub bid_micros: Option<i64>,
    pub currency: Currency,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthAd {
    pub platform: Platform,
    pub account_id: String,
    pub campaign_id: String,
    pub ad_group_id: String,
    pub ad_id: String,
    pub name: String,
    pub status: CampaignStatus,
    pub platform_status: String,
    pub ad_type: String,
    pub headlines: Vec<String>,
    pub descriptions: Vec<String>,
    pub primary_text: Option<String>,
    pub final_url: String,
    pub created_at: DateTime<Utc>,
}

/// One ad-group-day (`ad_id` None) or ad-day, as the APIs report it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TruthLevelMetric {
    pub platform: Platform,
    pub account_id: String,
    pub campaign_id: String,
    pub ad_group_id: String,
    pub ad_id: Option<String>,
    pub date: NaiveDate,
    pub currency: Currency,
    pub impressions: i64,
    pub clicks: i64,
    pub spend_micros: i64,
    pub conversions: i64,
    pub revenue_micros: i64,
    pub final_conversions: i64,
    pub final_revenue_micros: i64,
}

fn campaign_matches(q: &TruthQuery, platform: Platform, account: &str, campaign: &str) -> bool {
    q.platform.is_none_or(|p| p == platform)
        && q.account_id
            .as_deref()
            .is_none_or(|a| strip_act(a) == account)
        && q.campaign_id.as_deref().is_none_or(|id| id == campaign)
}

pub fn ad_groups(world: &World, q: &TruthQuery) -> Vec<TruthAdGroup> {
    world
        .ad_groups
        .iter()
        .filter(|g| campaign_matches(q, g.platform, &g.account_id, &g.campaign_id))
        .filter(|g| q.ad_group_id.as_deref().is_none_or(|id| id == g.id))
        .filter_map(|g| {
            let a = world.account(g.platform, &g.account_id)?;
            Some(TruthAdGroup {
                platform: g.platform,
                account_id: g.account_id.clone(),
                campaign_id: g.campaign_id.clone(),
                ad_group_id: g.id.clone(),
                name: g.name.clone(),
                status: g.status(),
                platform_status: g.status().wire(g.platform).to_string(),
                daily_budget_micros: g.daily_budget_micros,
                bid_strategy: g.bid.strategy.clone(),
                bid_micros: g.bid.amount_micros,
                currency: a.currency,
                created_at: g.created_at,
            })
        })
        .collect()
}

pub fn ads(world: &World, q: &TruthQuery) -> Vec<TruthAd> {
    world
        .ads
        .iter()
        .filter(|x| campaign_matches(q, x.platform, &x.account_id, &x.campaign_id))
        .filter(|x| {
            q.ad_group_id
                .as_deref()
                .is_none_or(|id| id == x.ad_group_id)
        })
        .map(|x| TruthAd {
            platform: x.platform,
            account_id: x.account_id.clone(),
            campaign_id: x.campaign_id.clone(),
            ad_group_id: x.ad_group_id.clone(),
            ad_id: x.id.clone(),
            name: x.name.clone(),
            status: x.status(),
            platform_status: x.status().wire(x.platform).to_string(),
            ad_type: x.ad_type.clone(),
            headlines: x.headlines.clone(),
            descriptions: x.descriptions.clone(),
            primary_text: x.primary_text.clone(),
            final_url: x.final_url.clone(),
            created_at: x.created_at,
        })
        .collect()
}

/// Daily metrics at ad-group level (`ads` false) or ad level, every object with delivery.
pub fn level_metrics(
    world: &World,
    q: &TruthQuery,
    ads: bool,
    now: DateTime<Utc>,
) -> Vec<TruthLevelMetric> {
    let mut out = Vec::new();
    for c in world
        .campaigns
        .iter()
        .filter(|c| campaign_matches(q, c.platform, &c.account_id, &c.id))
        .filter(|c| hierarchy::has_ad_groups(c))
    {
        let Some(a) = world.account(c.platform, &c.account_id) else {
            continue;
        };
        let from = q.from.unwrap_or(NaiveDate::MIN);
        let to = q.to.unwrap_or(NaiveDate::MAX);
        let days = campaign_days(world, a, c, from, to, now);
        let groups = ad_group_days(world, a, c, &days, now);
        let row = |g: &hierarchy::AdGroup, ad: Option<&str>, m: &super::metrics::DayMetrics| {
            TruthLevelMetric {
                platform: c.platform,
                account_id: c.account_id.clone(),
                campaign_id: c.id.clone(),
                ad_group_id: g.id.clone(),
                ad_id: ad.map(str::to_string),
                date: m.date,
                currency: a.currency,
                impressions: m.impressions,
                clicks: m.clicks,
                spend_micros: m.spend_micros,
                conversions: m.conversions,
                revenue_micros: m.revenue_micros,
                final_conversions: m.final_conversions,
                final_revenue_micros: m.final_revenue_micros,
            }
        };
        if ads {
            for (g, ad, m) in ad_days(world, a, &groups, now) {
                if q.ad_group_id.as_deref().is_none_or(|id| id == g.id) {
                    out.push(row(g, Some(&ad.id), &m));
                }
            }
        } else {
            for (g, m) in &groups {
                if q.ad_group_id.as_deref().is_none_or(|id| id == g.id) {
                    out.push(row(g, None, m));
                }
            }
        }
    }
    out
}
