//! The levels below campaigns: ad groups (Google ad groups, Meta ad sets, TikTok ad groups) and
//! their ads, how a seed turns into them, and how a campaign's daily metrics are divided among
//! them.
//!
//! A campaign's own numbers come from `metrics.rs` as before and are never changed by this
//! module: each campaign-day is split among the ad groups that were enabled that day, in
//! proportion to a weight (a fixed share per ad group, daily noise, and the seconds of the day
//! it was enabled), and each ad-group-day among its ads the same way. Every split is exact
//! (largest remainder on whole counts and whole minor units of money), so ads add up to their
//! ad group and ad groups to their campaign on every day, for every figure.
//!
//! Google Performance Max campaigns have no ad groups (their metrics exist only at campaign
//! level), as on the platform.

use chrono::{DateTime, Datelike, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::metrics::DayMetrics;
use super::rng::{self, Seq};
use super::world::{
    Account, Campaign, CampaignStatus, Change, IdKind, World, micros_per_minor, value_at,
};
use crate::types::Platform;

/// How an ad group bids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bid {
    /// Google: `MANUAL_CPC`; Meta: `bid_strategy`; TikTok: `bid_type`.
    pub strategy: String,
    /// Micros of the account currency, whole minor units; None without a bid amount.
    pub amount_micros: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdGroup {
    pub platform: Platform,
    pub account_id: String,
    pub campaign_id: String,
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub status_history: Vec<Change<CampaignStatus>>,
    /// Relative share of the campaign's delivery.
    pub weight: i64,
    /// Daily budget in micros when the budget lives on the ad group (Meta ad-set budgets,
    /// TikTok ad-group budgets); the campaign's budget is then their sum.
    pub daily_budget_micros: Option<i64>,
    pub bid: Bid,
    /// Google `ad_group.type`, Meta `optimization_goal`, TikTok `optimization_goal`.
    pub kind: String,
}

impl AdGroup {
    pub fn status(&self) -> CampaignStatus {
        self.status_history
            .last()
            .map(|c| c.value)
            .unwrap_or(CampaignStatus::Paused)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Ad {
    pub platform: Platform,
    pub account_id: String,
    pub campaign_id: String,
    pub ad_group_id: String,
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    pub status_history: Vec<Change<CampaignStatus>>,
    pub weight: i64,
    /// Google `ad.type`, Meta creative kind, TikTok `ad_format`.
    pub ad_type: String,
    pub headlines: Vec<String>,
    pub descriptions: Vec<String>,
    /// Meta `message`, TikTok `ad_text`.
    pub primary_text: Option<String>,
    pub final_url: String,
    /// Google policy approval (APPROVED, DISAPPROVED, ...).
    pub approval: String,
}

impl Ad {
    pub fn status(&self) -> CampaignStatus {
        self.status_history
            .last()
            .map(|c| c.value)
            .unwrap_or(CampaignStatus::Paused)
    }
}

fn ad_group_names(platform: Platform, objective: &str) -> &'static [&'static str] {
    match (platform, objective) {
        (Platform::Google, "SHOPPING") => &["All products", "Best sellers", "Clearance"],
        (Platform::Google, "DISPLAY") => &["Cart abandoners", "Site visitors 30d", "Past buyers"],
        (Platform::Google, "VIDEO") => &["In-market outdoor", "Affinity hikers", "Custom intent"],
        (Platform::Google, _) => &[
            "Running shoes - Exact",
            "Trail shoes - Phrase",
            "Hiking boots - Broad",
            "Rain jackets - Exact",
        ],
        (Platform::Meta, _) => &[
            "US 25-44 runners",
            "Lookalike 1% purchasers",
            "Broad - Advantage+ audience",
            "Site visitors 30d",
        ],
        (Platform::Tiktok, _) => &[
            "US 18-24 interest",
            "US 25-34 broad",
            "Lookalike buyers",
            "Video viewers 14d",
        ],
    }
}

const HEADLINES: [&str; 6] = [
    "Running Shoes Sale",
    "Free 30-Day Returns",
    "Shop Top Brands",
    "Trail Gear For Every Season",
    "New Arrivals Weekly",
    "Lightweight & Waterproof",
];
const DESCRIPTIONS: [&str; 4] = [
    "Lightweight trainers for every distance. Order today.",
    "Free shipping over $50. Easy returns.",
    "Gear tested on real trails by real hikers.",
    "Members save 10% on every order.",
];
const PRIMARY_TEXTS: [&str; 4] = [
    "Your next personal best starts here.",
    "Built for the trail, priced for everyone.",
    "Made to move. Shop the new collection.",
    "Don't miss out: the season sale ends Sunday.",
];

fn ad_type(platform: Platform, objective: &str) -> &'static str {
    match (platform, objective) {
        (Platform::Google, "SHOPPING") => "SHOPPING_PRODUCT_AD",
        (Platform::Google, "DISPLAY") => "RESPONSIVE_DISPLAY_AD",
        (Platform::Google, "VIDEO") => "VIDEO_RESPONSIVE_AD",
        (Platform::Google, _) => "RESPONSIVE_SEARCH_AD",
        (Platform::Meta, _) => "LINK_AD",
        (Platform::Tiktok, _) => "SINGLE_VIDEO",
    }
}

fn google_ad_group_type(objective: &str) -> &'static str {
    match objective {
        "SHOPPING" => "SHOPPING_PRODUCT_ADS",
        "DISPLAY" => "DISPLAY_STANDARD",
        "VIDEO" => "VIDEO_RESPONSIVE",
        _ => "SEARCH_STANDARD",
    }
}

/// Whether this campaign has ad groups at all on its platform.
pub fn has_ad_groups(c: &Campaign) -> bool {
    !(c.platform == Platform::Google && c.objective == "PERFORMANCE_MAX")
}

/// Splits `total` into parts proportional to `weights` that add up to it exactly (largest
/// remainder; ties go to the earlier part). All zero weights give all zero parts.
pub fn split(total: i64, weights: &[i128]) -> Vec<i64> {
    let sum: i128 = weights.iter().sum();
    if sum <= 0 || weights.is_empty() {
        return vec![0; weights.len()];
    }
    let t = i128::from(total);
    let mut parts: Vec<i64> = Vec::with_capacity(weights.len());
    let mut rems: Vec<(i128, usize)> = Vec::with_capacity(weights.len());
    let mut given: i128 = 0;
    for (i, w) in weights.iter().enumerate() {
        let q = t * w / sum;
        let r = t * w % sum;
        given += q;
        parts.push(i64::try_from(q).unwrap_or(0));
        rems.push((r, i));
    }
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut left = t - given;
    for (_, i) in rems {
        if left <= 0 {
            break;
        }
        if weights[i] > 0 {
            parts[i] += 1;
            left -= 1;
        }
    }
    parts
}

/// Splits a day's metrics by weight, every figure exactly; money in whole minor units.
pub fn split_day(m: &DayMetrics, weights: &[i128], minor: i64) -> Vec<DayMetrics> {
    let minor = minor.max(1);
    let f = |v: i64| split(v, weights);
    let imp = f(m.impressions);
    let clk = f(m.clicks);
    let spend = f(m.spend_micros / minor);
    let conv = f(m.conversions);
    let fconv = f(m.final_conversions);
    // Revenue follows the conversions it came with: a part without conversions has none
    // (Meta has no action value without its action), and the parts still add up exactly.
    let by = |parts: &[i64]| parts.iter().map(|p| i128::from(*p)).collect::<Vec<i128>>();
    let rev = split(m.revenue_micros / minor, &by(&conv));
    let frev = split(m.final_revenue_micros / minor, &by(&fconv));
    (0..weights.len())
        .map(|i| DayMetrics {
            date: m.date,
            impressions: imp[i],
            clicks: clk[i],
            spend_micros: spend[i] * minor,
            conversions: conv[i],
            revenue_micros: rev[i] * minor,
            final_conversions: fconv[i],
            final_revenue_micros: frev[i] * minor,
        })
        .collect()
}

/// True when every figure is zero: the platforms leave such rows out (Google's "zero metrics"
/// rule; Meta and TikTok report only objects with delivery), and so does the truth.
pub fn is_zero(m: &DayMetrics) -> bool {
    m.impressions == 0
        && m.clicks == 0
        && m.spend_micros == 0
        && m.conversions == 0
        && m.revenue_micros == 0
}

/// Seconds within `[from, to)` during which the status history says enabled.
fn enabled_seconds(
    history: &[Change<CampaignStatus>],
    created_at: DateTime<Utc>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> i64 {
    let from = from.max(created_at);
    if to <= from {
        return 0;
    }
    let mut cuts: Vec<DateTime<Utc>> = vec![from, to];
    cuts.extend(
        history
            .iter()
            .map(|s| s.at)
            .filter(|t| *t > from && *t < to),
    );
    cuts.sort();
    cuts.dedup();
    cuts.windows(2)
        .filter(|w| value_at(history, w[0]) == Some(CampaignStatus::Enabled))
        .map(|w| (w[1] - w[0]).num_seconds())
        .sum()
}

/// An ad group or ad as far as its share of the campaign's delivery goes.
struct Weighted<'a> {
    id: &'a str,
    base: i64,
    history: &'a [Change<CampaignStatus>],
    created_at: DateTime<Utc>,
}

/// The weight of an object on the local day of `m`: its share, the day's noise and how long
/// it was enabled that day (up to `now`).
fn day_weight(
    seed: u64,
    account: &Account,
    object: Weighted,
    m: &DayMetrics,
    now: DateTime<Utc>,
) -> i128 {
    let Weighted {
        id,
        base,
        history,
        created_at,
    } = object;
    let start = account.day_start(m.date);
    let end = account.day_start(m.date + Duration::days(1)).min(now);
    let secs = enabled_seconds(history, created_at, start, end);
    if secs <= 0 {
        return 0;
    }
    let day = u64::try_from(m.date.num_days_from_ce()).unwrap_or(0);
    let noise = rng::range(rng::hash(seed, &[rng::label(id), day]), 700, 1300);
    i128::from(base) * i128::from(noise) * i128::from(secs)
}

/// Ad groups of a campaign with their share of each of the given campaign-days; days on which
/// no ad group was enabled are dropped, as are all-zero rows.
pub fn ad_group_days<'a>(
    world: &'a World,
    account: &Account,
    c: &Campaign,
    campaign_days: &[DayMetrics],
    now: DateTime<Utc>,
) -> Vec<(&'a AdGroup, DayMetrics)> {
    let groups: Vec<&AdGroup> = world.ad_groups_of(c.platform, &c.id).collect();
    let minor = micros_per_minor(account.currency);
    let mut out = Vec::new();
    for m in campaign_days {
        let weights: Vec<i128> = groups
            .iter()
            .map(|g| {
                let object = Weighted {
                    id: &g.id,
                    base: g.weight,
                    history: &g.status_history,
                    created_at: g.created_at,
                };
                day_weight(world.seed, account, object, m, now)
            })
            .collect();
        for (g, part) in groups.iter().zip(split_day(m, &weights, minor)) {
            if !is_zero(&part) {
                out.push((*g, part));
            }
        }
    }
    out
}

/// Ads with their share of each of the given ad-group-days.
pub fn ad_days<'a>(
    world: &'a World,
    account: &Account,
    group_days: &[(&'a AdGroup, DayMetrics)],
    now: DateTime<Utc>,
) -> Vec<(&'a AdGroup, &'a Ad, DayMetrics)> {
    let minor = micros_per_minor(account.currency);
    let mut out = Vec::new();
    for (g, m) in group_days {
        let ads: Vec<&Ad> = world.ads_of(g.platform, &g.id).collect();
        let weights: Vec<i128> = ads
            .iter()
            .map(|a| {
                let object = Weighted {
                    id: &a.id,
                    base: a.weight,
                    history: &a.status_history,
                    created_at: a.created_at,
                };
                day_weight(world.seed, account, object, m, now)
            })
            .collect();
        for (a, part) in ads.iter().zip(split_day(m, &weights, minor)) {
            if !is_zero(&part) {
                out.push((*g, *a, part));
            }
        }
    }
    out
}

impl World {
    pub fn ad_groups_of<'a, 'b>(
        &'a self,
        platform: Platform,
        campaign_id: &'b str,
    ) -> impl Iterator<Item = &'a AdGroup> + 'b
    where
        'a: 'b,
    {
        self.ad_groups
            .iter()
            .filter(move |g| g.platform == platform && g.campaign_id == campaign_id)
    }

    pub fn ads_of<'a, 'b>(
        &'a self,
        platform: Platform,
        ad_group_id: &'b str,
    ) -> impl Iterator<Item = &'a Ad> + 'b
    where
        'a: 'b,
    {
        self.ads
            .iter()
            .filter(move |a| a.platform == platform && a.ad_group_id == ad_group_id)
    }

    pub fn ad_group(&self, platform: Platform, id: &str) -> Option<&AdGroup> {
        self.ad_groups
            .iter()
            .find(|g| g.platform == platform && g.id == id)
    }

    pub fn ad(&self, platform: Platform, id: &str) -> Option<&Ad> {
        self.ads
            .iter()
            .find(|a| a.platform == platform && a.id == id)
    }

    /// Gives every generated campaign its ad groups and ads (also for a state file written
    /// before the levels existed), and the account shapes the demo shows: per platform's first
    /// account, one campaign whose budget lives on its ad groups (Meta ad-set budgets, TikTok
    /// ad-group budgets) and, on Google, one campaign on a shared budget. Campaign-level
    /// numbers do not change: the ad-group budgets add up to the campaign's budget.
    pub fn seed_levels(&mut self, now: DateTime<Utc>) {
        if !self.ad_groups.is_empty() {
            return;
        }
        let campaigns: Vec<Campaign> = self.campaigns.clone();
        for c in &campaigns {
            if !has_ad_groups(c) {
                continue;
            }
            self.seed_campaign_levels(c, now);
        }
        for platform in Platform::ALL {
            let Some(first) = self.accounts_of(platform).next().map(|a| a.id.clone()) else {
                continue;
            };
            match platform {
                Platform::Google => {
                    // A paused campaign whose budget is explicitly shared: the adapters refuse
                    // to change a shared budget, and a paused campaign is not picked by the
                    // "every active campaign" rules people (and tests) run.
                    let pick = self
                        .campaigns
                        .iter()
                        .filter(|c| {
                            c.platform == platform
                                && c.account_id == first
                                && c.status() == CampaignStatus::Paused
                                && has_ad_groups(c)
                        })
                        .min_by_key(|c| (!c.name.starts_with("Search - "), c.id.clone()))
                        .and_then(|c| c.budget_id.clone());
                    if let Some(b) = pick.and_then(|id| self.budget_mut(platform, &id)) {
                        b.explicitly_shared = true;
                        b.name = format!("Shared budget - {}", b.name);
                    }
                }
                Platform::Meta | Platform::Tiktok => {
                    let pick = self
                        .campaigns
                        .iter()
                        .filter(|c| {
                            c.platform == platform
                                && c.account_id == first
                                && c.status() == CampaignStatus::Enabled
                        })
                        .map(|c| c.id.clone())
                        .next_back();
                    if let Some(id) = pick {
                        self.move_budget_to_ad_groups(platform, &id);
                    }
                }
            }
        }
    }

    /// Divides the campaign's current budget among its ad groups (whole units, the first
    /// takes the remainder) and marks the campaign as budgeted per ad group.
    fn move_budget_to_ad_groups(&mut self, platform: Platform, campaign_id: &str) {
        let Some(c) = self.campaign(platform, campaign_id).cloned() else {
            return;
        };
        let Some(a) = self.account(platform, &c.account_id).cloned() else {
            return;
        };
        let total = self.daily_budget(&c);
        let unit = micros_per_minor(a.currency) * 100.min(1_000_000 / micros_per_minor(a.currency));
        // Deleted ad sets hold no budget; the live ones share the campaign's.
        let ids: Vec<String> = self
            .ad_groups_of(platform, campaign_id)
            .filter(|g| g.status() != CampaignStatus::Removed)
            .map(|g| g.id.clone())
            .collect();
        if ids.is_empty() || total <= 0 {
            return;
        }
        let n = ids.len() as i64;
        let each = total / n / unit * unit;
        let first = total - each * (n - 1);
        for (i, id) in ids.iter().enumerate() {
            if let Some(g) = self
                .ad_groups
                .iter_mut()
                .find(|g| g.platform == platform && &g.id == id)
            {
                g.daily_budget_micros = Some(if i == 0 { first } else { each });
            }
        }
        if let Some(cm) = self.campaign_mut(platform, campaign_id) {
            cm.budget_on_ad_groups = true;
        }
    }

    fn seed_campaign_levels(&mut self, c: &Campaign, now: DateTime<Utc>) {
        let mut seq = Seq::new(
            self.seed,
            rng::label(&format!("levels/{}/{}", c.platform, c.id)),
        );
        let Some(currency) = self.account(c.platform, &c.account_id).map(|a| a.currency) else {
            return;
        };
        let minor = micros_per_minor(currency);
        let names = ad_group_names(c.platform, &c.objective);
        let n_groups = seq.range(2, 4) as usize;
        let age_days = (now - c.created_at).num_days();
        for gi in 0..n_groups {
            let id = self.level_id(&mut seq, c.platform);
            let name = names[gi % names.len()].to_string();
            let mut history = vec![Change {
                at: c.created_at,
                value: CampaignStatus::Enabled,
            }];
            // The first ad group always runs, so the campaign's delivery always has a home;
            // some later ones were paused from the start or removed at some point (their
            // history stays).
            let roll = seq.range(0, 99);
            if gi > 0 && roll < 15 {
                history[0].value = CampaignStatus::Paused;
            } else if gi > 0 && roll < 25 && age_days > 20 {
                let at = c.created_at
                    + Duration::days(seq.range(5, age_days - 10))
                    + Duration::hours(seq.range(8, 18));
                history.push(Change {
                    at,
                    value: CampaignStatus::Removed,
                });
            }
            let bid = seeded_bid(&mut seq, c, roll, minor);
            let kind = match c.platform {
                Platform::Google => google_ad_group_type(&c.objective).to_string(),
                Platform::Meta => "OFFSITE_CONVERSIONS".to_string(),
                Platform::Tiktok => "CONVERT".to_string(),
            };
            let group = AdGroup {
                platform: c.platform,
                account_id: c.account_id.clone(),
                campaign_id: c.id.clone(),
                id: id.clone(),
                name,
                created_at: c.created_at,
                status_history: history,
                weight: seq.range(300, 1000),
                daily_budget_micros: None,
                bid,
                kind,
            };
            self.ad_groups.push(group);
            let n_ads = seq.range(2, 3) as usize;
            for ai in 0..n_ads {
                self.seed_ad(&mut seq, c, &id, names[gi % names.len()], ai);
            }
        }
    }

    /// The `ai`th ad of an ad group, drawn from the ad group's sequence.
    fn seed_ad(
        &mut self,
        seq: &mut Seq,
        c: &Campaign,
        group_id: &str,
        group_name: &str,
        ai: usize,
    ) {
        let ad_id = self.level_id(seq, c.platform);
        let mut history = vec![Change {
            at: c.created_at,
            value: CampaignStatus::Enabled,
        }];
        if ai > 0 && seq.range(0, 9) == 0 {
            history[0].value = CampaignStatus::Paused;
        }
        let ty = ad_type(c.platform, &c.objective);
        let text_ad = matches!(ty, "RESPONSIVE_SEARCH_AD" | "LINK_AD" | "SINGLE_VIDEO");
        let h0 = seq.range(0, HEADLINES.len() as i64 - 1) as usize;
        let d0 = seq.range(0, DESCRIPTIONS.len() as i64 - 1) as usize;
        let (headlines, descriptions) = match (c.platform, text_ad) {
            (_, false) => (Vec::new(), Vec::new()),
            (Platform::Google, true) => (
                (0..3)
                    .map(|k| HEADLINES[(h0 + k) % HEADLINES.len()].to_string())
                    .collect(),
                (0..2)
                    .map(|k| DESCRIPTIONS[(d0 + k) % DESCRIPTIONS.len()].to_string())
                    .collect(),
            ),
            (Platform::Meta, true) => (
                vec![HEADLINES[h0].to_string()],
                vec![DESCRIPTIONS[d0].to_string()],
            ),
            (Platform::Tiktok, true) => (Vec::new(), Vec::new()),
        };
        let primary_text = match c.platform {
            Platform::Google => None,
            _ => Some(PRIMARY_TEXTS[(h0 + ai) % PRIMARY_TEXTS.len()].to_string()),
        };
        let approval = if ai == 2 && seq.range(0, 4) == 0 {
            "DISAPPROVED"
        } else {
            "APPROVED"
        };
        self.ads.push(Ad {
            platform: c.platform,
            account_id: c.account_id.clone(),
            campaign_id: c.id.clone(),
            ad_group_id: group_id.to_string(),
            id: ad_id,
            name: format!("{group_name} - ad {}", ai + 1),
            created_at: c.created_at,
            status_history: history,
            weight: seq.range(200, 1000),
            ad_type: ty.to_string(),
            headlines,
            descriptions,
            primary_text,
            final_url: format!(
                "https://shop.example.com/{}?utm_source={}",
                ["shoes", "trail", "boots", "jackets"][ai % 4],
                c.platform.as_str()
            ),
            approval: approval.to_string(),
        });
    }

    fn level_id(&mut self, seq: &mut Seq, platform: Platform) -> String {
        loop {
            let id = self.new_id_with(seq, platform, IdKind::Campaign);
            let taken = self.campaigns.iter().any(|c| c.id == id)
                || self.ad_groups.iter().any(|g| g.id == id)
                || self.ads.iter().any(|a| a.id == id);
            if !taken {
                return id;
            }
        }
    }
}

/// An ad group's bid as the platform's usual strategies set it; `roll` picks a capped bid on
/// a third of Meta's and TikTok's ad groups.
fn seeded_bid(seq: &mut Seq, c: &Campaign, roll: i64, minor: i64) -> Bid {
    match c.platform {
        Platform::Google => Bid {
            strategy: "MANUAL_CPC".into(),
            amount_micros: Some(
                (c.profile.cpc_micros * seq.range(110, 160) / 100 / minor * minor).max(minor),
            ),
        },
        Platform::Meta => {
            if roll % 3 == 0 {
                Bid {
                    strategy: "COST_CAP".into(),
                    amount_micros: Some(
                        (c.profile.cpc_micros * seq.range(200, 400) / 100 / minor * minor)
                            .max(minor),
                    ),
                }
            } else {
                Bid {
                    strategy: "LOWEST_COST_WITHOUT_CAP".into(),
                    amount_micros: None,
                }
            }
        }
        Platform::Tiktok => {
            if roll % 3 == 0 {
                Bid {
                    strategy: "BID_TYPE_CUSTOM".into(),
                    amount_micros: Some(
                        (c.profile.cpc_micros * seq.range(80, 120) / 100 / minor * minor)
                            .max(minor),
                    ),
                }
            } else {
                Bid {
                    strategy: "BID_TYPE_NO_BID".into(),
                    amount_micros: None,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::metrics::campaign_days;
    use chrono::{NaiveDate, TimeZone};

    #[test]
    fn splits_add_up_exactly_and_follow_the_weights() {
        assert_eq!(split(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(split(0, &[5, 1]), vec![0, 0]);
        assert_eq!(split(7, &[0, 0]), vec![0, 0]);
        assert_eq!(split(7, &[0, 3]), vec![0, 7]);
        for total in [1_i64, 99, 12_345, 987_654_321] {
            let p = split(total, &[3, 700, 1300, 1]);
            assert_eq!(p.iter().sum::<i64>(), total);
        }
    }

    #[test]
    fn ad_groups_and_ads_add_up_to_their_campaign_every_day() {
        let now = Utc
            .with_ymd_and_hms(2026, 3, 10, 18, 0, 0)
            .single()
            .expect("time");
        let w = World::generate(5, now.date_naive());
        let mut checked = 0;
        for c in w.campaigns.iter().filter(|c| has_ad_groups(c)) {
            let a = w.account(c.platform, &c.account_id).expect("account");
            let from = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
            let days = campaign_days(&w, a, c, from, a.local_date(now), now);
            let groups = ad_group_days(&w, a, c, &days, now);
            let ads = ad_days(&w, a, &groups, now);
            for d in &days {
                let mut g_sum = DayMetrics::zero(d.date);
                for (_, m) in groups.iter().filter(|(_, m)| m.date == d.date) {
                    g_sum.add(m);
                }
                let mut a_sum = DayMetrics::zero(d.date);
                for (_, _, m) in ads.iter().filter(|(_, _, m)| m.date == d.date) {
                    a_sum.add(m);
                }
                assert_eq!(&g_sum, d, "{} ad groups on {}", c.name, d.date);
                assert_eq!(&a_sum, d, "{} ads on {}", c.name, d.date);
                checked += 1;
            }
        }
        assert!(checked > 1000, "{checked}");
    }

    #[test]
    fn the_demo_shapes_are_there() {
        let w = World::generate(5, NaiveDate::from_ymd_opt(2026, 3, 10).expect("date"));
        assert!(
            w.budgets
                .iter()
                .any(|b| b.platform == Platform::Google && b.explicitly_shared)
        );
        for p in [Platform::Meta, Platform::Tiktok] {
            let abo = w
                .campaigns
                .iter()
                .find(|c| c.platform == p && c.budget_on_ad_groups)
                .expect("a campaign with ad-group budgets");
            let sum: i64 = w
                .ad_groups_of(p, &abo.id)
                .filter_map(|g| g.daily_budget_micros)
                .sum();
            assert_eq!(sum, w.daily_budget(abo));
            assert!(
                w.campaigns
                    .iter()
                    .any(|c| c.platform == p && !c.budget_on_ad_groups && c.budget_id.is_some())
            );
        }
        assert!(w.campaigns.iter().any(|c| c.objective == "PERFORMANCE_MAX"
            && w.ad_groups_of(c.platform, &c.id).next().is_none()));
    }
}
