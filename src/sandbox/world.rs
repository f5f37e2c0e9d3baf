//! The sandbox's ad accounts, campaigns and budgets, and how a seed turns into them.
//!
//! Only the facts that cannot be recomputed are stored (who exists, status and budget changes
//! with their times); daily metrics are derived from these on every read (see `metrics.rs`), so
//! writes change later metrics without any bookkeeping and the state file stays small.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::rng::{self, Seq};
use crate::types::{Currency, Platform};

/// Days of generated history, ending at the sandbox's "today".
pub const HISTORY_DAYS: i64 = 400;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Enabled,
    Paused,
    Removed,
}

impl CampaignStatus {
    /// The platform's own word for the status.
    pub fn wire(self, platform: Platform) -> &'static str {
        match (platform, self) {
            (Platform::Google, CampaignStatus::Enabled) => "ENABLED",
            (Platform::Google, CampaignStatus::Paused) => "PAUSED",
            (Platform::Google, CampaignStatus::Removed) => "REMOVED",
            (Platform::Meta, CampaignStatus::Enabled) => "ACTIVE",
            (Platform::Meta, CampaignStatus::Paused) => "PAUSED",
            (Platform::Meta, CampaignStatus::Removed) => "DELETED",
            (Platform::Tiktok, CampaignStatus::Enabled) => "ENABLE",
            (Platform::Tiktok, CampaignStatus::Paused) => "DISABLE",
            (Platform::Tiktok, CampaignStatus::Removed) => "DELETE",
        }
    }

    pub fn from_wire(platform: Platform, s: &str) -> Option<Self> {
        [
            CampaignStatus::Enabled,
            CampaignStatus::Paused,
            CampaignStatus::Removed,
        ]
        .into_iter()
        .find(|st| st.wire(platform) == s)
        .or(match (platform, s) {
            (Platform::Meta, "ARCHIVED") => Some(CampaignStatus::Removed),
            _ => None,
        })
    }
}

/// A value that took effect at a moment; histories are kept sorted by `at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change<T> {
    pub at: DateTime<Utc>,
    pub value: T,
}

/// The value in force at `t` (None before the first change).
pub fn value_at<T: Copy>(history: &[Change<T>], t: DateTime<Utc>) -> Option<T> {
    history
        .iter()
        .take_while(|c| c.at <= t)
        .last()
        .map(|c| c.value)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Account {
    pub platform: Platform,
    pub id: String,
    pub name: String,
    pub currency: Currency,
    pub time_zone: String,
}

impl Account {
    pub fn tz(&self) -> Tz {
        self.time_zone.parse().unwrap_or(Tz::UTC)
    }

    /// The account's local date at `t`.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz()).date_naive()
    }

    /// The UTC instant at which local `date` begins (the first instant if a DST gap or overlap
    /// makes midnight ambiguous).
    pub fn day_start(&self, date: NaiveDate) -> DateTime<Utc> {
        let tz = self.tz();
        let mut local = date.and_time(NaiveTime::MIN);
        // Some zones skip midnight on DST days; walk forward to the first existing minute.
        for _ in 0..180 {
            if let Some(t) = tz.from_local_datetime(&local).earliest() {
                return t.with_timezone(&Utc);
            }
            local += Duration::minutes(1);
        }
        Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
    }
}

/// How a campaign performs; fixed at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tier {
    Winner,
    Average,
    Loser,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub tier: Tier,
    /// Average cost per click.
    pub cpc_micros: i64,
    /// Click-through rate in basis points (1/100 %).
    pub ctr_bp: i64,
    /// Conversions per click in basis points.
    pub cvr_bp: i64,
    /// Revenue per conversion, a whole number of the currency's minor units.
    pub value_per_conversion_micros: i64,
    /// Share of the daily budget the campaign usually spends, per mille.
    pub pacing_permille: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Budget {
    pub platform: Platform,
    pub account_id: String,
    pub id: String,
    pub name: String,
    pub explicitly_shared: bool,
    /// Daily amount in micros over time. With a lifetime budget it is the pace the flight
    /// spends at (what the metrics follow), not a figure the platform shows.
    pub history: Vec<Change<i64>>,
    /// A lifetime budget in micros (Google total budget of a custom period, Meta
    /// `lifetime_budget`, TikTok `BUDGET_MODE_TOTAL`), shown in place of the daily amount.
    #[serde(default)]
    pub lifetime_micros: Option<i64>,
}

impl Budget {
    pub fn amount_at(&self, t: DateTime<Utc>) -> i64 {
        value_at(&self.history, t).unwrap_or(0)
    }

    pub fn current(&self) -> i64 {
        self.history.last().map(|c| c.value).unwrap_or(0)
    }
}

/// A campaign created through the API, as [`World::add_campaign`] takes it.
pub struct NewCampaign {
    pub id: String,
    pub name: String,
    pub objective: String,
    pub budget_id: Option<String>,
    pub status: CampaignStatus,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Campaign {
    pub platform: Platform,
    pub account_id: String,
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// Google: channel type; Meta: objective; TikTok: objective_type.
    pub objective: String,
    /// None when the campaign has no campaign-level budget (Meta ad-set budgets, TikTok
    /// BUDGET_MODE_INFINITE); such campaigns have no ad groups in the sandbox and spend nothing.
    pub budget_id: Option<String>,
    pub status_history: Vec<Change<CampaignStatus>>,
    pub profile: Profile,
    /// The budget is set on the campaign's ad groups (Meta ad-set budgets, TikTok ad-group
    /// budgets) rather than the campaign; `budget_id` then holds their sum over time, which
    /// is what the campaign spends against.
    #[serde(default)]
    pub budget_on_ad_groups: bool,
    /// The end of the campaign's flight (Google `end_date_time`, Meta `stop_time`); TikTok
    /// campaigns have none.
    #[serde(default)]
    pub ends_at: Option<DateTime<Utc>>,
}

impl Campaign {
    pub fn status(&self) -> CampaignStatus {
        self.status_history
            .last()
            .map(|c| c.value)
            .unwrap_or(CampaignStatus::Paused)
    }

    pub fn status_at(&self, t: DateTime<Utc>) -> Option<CampaignStatus> {
        value_at(&self.status_history, t)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct World {
    pub seed: u64,
    pub accounts: Vec<Account>,
    pub budgets: Vec<Budget>,
    pub campaigns: Vec<Campaign>,
    /// Ad groups and ads (see `hierarchy.rs`); empty in a state file written before they
    /// existed, and seeded on load.
    #[serde(default)]
    pub ad_groups: Vec<super::hierarchy::AdGroup>,
    #[serde(default)]
    pub ads: Vec<super::hierarchy::Ad>,
    /// Criteria and keywords made by creates (see `create_store.rs`).
    #[serde(default)]
    pub created: super::create_store::Created,
    /// Ids handed out so far; new ids are derived from the seed and this counter.
    pub ids_issued: u64,
}

struct AccountSeed {
    name: &'static str,
    currency: &'static str,
    time_zone: &'static str,
}

fn account_seeds(platform: Platform) -> [AccountSeed; 3] {
    let s = |name, currency, time_zone| AccountSeed {
        name,
        currency,
        time_zone,
    };
    match platform {
        Platform::Google => [
            s("Acme Outdoor US", "USD", "America/New_York"),
            s("Acme Outdoor DE", "EUR", "Europe/Berlin"),
            s("Acme Outdoor JP", "JPY", "Asia/Tokyo"),
        ],
        Platform::Meta => [
            s("Northwind Shop", "USD", "America/Los_Angeles"),
            s("Northwind EU", "EUR", "Europe/Paris"),
            s("Northwind Japan", "JPY", "Asia/Tokyo"),
        ],
        Platform::Tiktok => [
            s("Globex Apparel", "USD", "America/Chicago"),
            s("Globex Europe", "EUR", "Europe/Madrid"),
            s("Globex Japan", "JPY", "Asia/Tokyo"),
        ],
    }
}

fn campaign_names(platform: Platform) -> &'static [(&'static str, &'static str)] {
    match platform {
        Platform::Google => &[
            ("Brand - Exact", "SEARCH"),
            ("Search - Generic", "SEARCH"),
            ("Search - Competitors", "SEARCH"),
            ("Shopping - All Products", "SHOPPING"),
            ("PMax - Catalog", "PERFORMANCE_MAX"),
            ("Display - Remarketing", "DISPLAY"),
            ("YouTube - Awareness", "VIDEO"),
            ("Search - DSA", "SEARCH"),
        ],
        Platform::Meta => &[
            ("Prospecting - Broad", "OUTCOME_SALES"),
            ("Retargeting - 30d", "OUTCOME_SALES"),
            ("Lookalike 1%", "OUTCOME_SALES"),
            ("Advantage+ Shopping", "OUTCOME_SALES"),
            ("Traffic - Blog", "OUTCOME_TRAFFIC"),
            ("Lead Gen - Webinar", "OUTCOME_LEADS"),
        ],
        Platform::Tiktok => &[
            ("Spark Ads - Creators", "CONVERSIONS"),
            ("In-Feed - Traffic", "TRAFFIC"),
            ("Smart+ Catalog", "PRODUCT_SALES"),
            ("TopView Launch", "REACH"),
            ("Retargeting - Video Viewers", "CONVERSIONS"),
        ],
    }
}

/// How many of the currency's units buy what one US dollar buys, for plausible amounts.
fn unit_scale(currency: Currency) -> i64 {
    match currency.as_str() {
        "JPY" => 150,
        _ => 1,
    }
}

/// Micros per minor unit of `currency` (10,000 for cents, 1,000,000 for whole yen).
pub fn micros_per_minor(currency: Currency) -> i64 {
    1_000_000 / 10_i64.pow(currency.minor_unit_exponent())
}

fn round_to_minor(micros: i64, currency: Currency) -> i64 {
    let m = micros_per_minor(currency);
    (micros / m) * m
}

fn id_digits(platform: Platform, kind: IdKind) -> (u32, &'static str) {
    match (platform, kind) {
        (Platform::Google, IdKind::Account) => (10, ""),
        (Platform::Google, _) => (11, ""),
        (Platform::Meta, IdKind::Account) => (15, ""),
        (Platform::Meta, _) => (18, "120"),
        (Platform::Tiktok, IdKind::Account) => (19, "7"),
        (Platform::Tiktok, _) => (16, "17"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    Account,
    Campaign,
    Budget,
}

/// A profile for a campaign, drawn from `h`-seeded randomness.
pub fn draw_profile(seq: &mut Seq, tier: Tier, currency: Currency) -> Profile {
    let scale = unit_scale(currency);
    let cpc_micros = round_to_minor(seq.range(300_000, 2_500_000) * scale, currency).max(10_000);
    let cvr_bp = seq.range(80, 700);
    let roas_pct = match tier {
        Tier::Winner => seq.range(350, 650),
        Tier::Average => seq.range(120, 250),
        Tier::Loser => seq.range(10, 60),
    };
    let value = i128::from(roas_pct) * i128::from(cpc_micros) * 100 / i128::from(cvr_bp);
    let value = i64::try_from(value).unwrap_or(i64::MAX / 4);
    Profile {
        tier,
        cpc_micros,
        ctr_bp: seq.range(80, 600),
        cvr_bp,
        value_per_conversion_micros: round_to_minor(value, currency)
            .max(micros_per_minor(currency)),
        pacing_permille: seq.range(650, 950),
    }
}

impl World {
    /// Generates the accounts and campaigns for `seed`, with history ending on `today` (UTC).
    pub fn generate(seed: u64, today: NaiveDate) -> World {
        let mut world = World {
            seed,
            accounts: Vec::new(),
            budgets: Vec::new(),
            campaigns: Vec::new(),
            ad_groups: Vec::new(),
            ads: Vec::new(),
            created: Default::default(),
            ids_issued: 0,
        };
        for platform in Platform::ALL {
            for (ai, a) in account_seeds(platform).into_iter().enumerate() {
                let mut seq = Seq::new(seed, rng::label(&format!("{platform}/account/{ai}")));
                let (digits, prefix) = id_digits(platform, IdKind::Account);
                let id = format!("{prefix}{}", seq.digits(digits - prefix.len() as u32));
                // The table above holds only valid codes.
                let Ok(currency) = a.currency.parse::<Currency>() else {
                    continue;
                };
                let account = Account {
                    platform,
                    id,
                    name: a.name.to_string(),
                    currency,
                    time_zone: a.time_zone.to_string(),
                };
                world.seed_campaigns(&account, &mut seq, today);
                world.accounts.push(account);
            }
        }
        world.seed_levels(Utc.from_utc_datetime(&today.and_time(NaiveTime::MIN)));
        world.seed_flights(today);
        world
    }

    /// Gives some generated campaigns a flight, each decided by its own hash so that nothing
    /// else in the world changes: an end date 2 to 45 days after `today` (Google and Meta),
    /// and on about a quarter a lifetime budget in place of the daily one (over the whole flight,
    /// 70 % to 130 % of what the daily pace would spend). Google's total budgets go only to
    /// paused campaigns, so "every active Google campaign" still has a daily budget to change.
    /// Removed campaigns, campaigns budgeted on their ad groups and shared budgets keep none.
    pub fn seed_flights(&mut self, today: NaiveDate) {
        for i in 0..self.campaigns.len() {
            let c = &self.campaigns[i];
            let Some(budget_id) = c.budget_id.clone() else {
                continue;
            };
            let shared = self
                .budget(c.platform, &budget_id)
                .is_none_or(|b| b.explicitly_shared);
            if c.status() == CampaignStatus::Removed || c.budget_on_ad_groups || shared {
                continue;
            }
            let Some(account) = self.account(c.platform, &c.account_id).cloned() else {
                continue;
            };
            let h = rng::hash(
                self.seed,
                &[rng::label(&format!("flight/{}/{}", c.platform, c.id))],
            );
            let roll = rng::range(h, 0, 99);
            let lifetime = roll < 25
                && (c.platform != Platform::Google || c.status() == CampaignStatus::Paused);
            let ends = c.platform != Platform::Tiktok && (lifetime || roll < 45);
            let end_day = today + Duration::days(rng::range(rng::hash(h, &[1]), 2, 45));
            let ends_at =
                ends.then(|| account.day_start(end_day + Duration::days(1)) - Duration::seconds(1));
            let created = account.local_date(c.created_at);
            let factor = rng::range(rng::hash(h, &[2]), 70, 130);
            let pace = self.daily_budget(c);
            let flight_days = (end_day - created).num_days() + 1;
            let unit = 1_000_000 * unit_scale(account.currency);
            let total = i128::from(pace) * i128::from(flight_days) * i128::from(factor) / 100;
            let total = i64::try_from(total / i128::from(unit) * i128::from(unit)).unwrap_or(0);
            if let Some(cm) = self.campaigns.get_mut(i) {
                cm.ends_at = ends_at;
            }
            if lifetime
                && total > 0
                && let Some(b) = self.budget_mut(account.platform, &budget_id)
            {
                b.lifetime_micros = Some(total);
            }
        }
    }

    fn seed_campaigns(&mut self, account: &Account, seq: &mut Seq, today: NaiveDate) {
        let count = seq.range(5, 40);
        let names = campaign_names(account.platform);
        let first_day = today - Duration::days(HISTORY_DAYS - 1);
        for i in 0..count {
            let tier = match i {
                0 => Tier::Winner,
                1 => Tier::Loser,
                _ => match seq.range(0, 3) {
                    0 => Tier::Winner,
                    1 => Tier::Loser,
                    _ => Tier::Average,
                },
            };
            let (base, objective) = seq.pick(names);
            let name = format!("{base} {:02}", i + 1);
            let created_day = if seq.range(0, 9) < 7 {
                first_day
            } else {
                today - Duration::days(seq.range(14, 300))
            };
            let created_at = account.day_start(created_day);
            let profile = draw_profile(seq, tier, account.currency);

            let budget_history = seeded_budget_history(seq, account, today, created_day);
            let status_history = seeded_status_history(seq, account, (i, tier), today, created_day);

            let campaign_id = self.new_id_with(seq, account.platform, IdKind::Campaign);
            let budget_id = match account.platform {
                // Meta and TikTok budgets live on the campaign; the id is shared with it.
                Platform::Google => self.new_id_with(seq, account.platform, IdKind::Budget),
                _ => campaign_id.clone(),
            };
            self.budgets.push(Budget {
                platform: account.platform,
                account_id: account.id.clone(),
                id: budget_id.clone(),
                name: format!("{name} budget"),
                explicitly_shared: false,
                history: budget_history,
                lifetime_micros: None,
            });
            self.campaigns.push(Campaign {
                platform: account.platform,
                account_id: account.id.clone(),
                id: campaign_id,
                name,
                created_at,
                objective: (*objective).to_string(),
                budget_id: Some(budget_id),
                status_history,
                profile,
                budget_on_ad_groups: false,
                ends_at: None,
            });
        }
    }

    pub(super) fn new_id_with(
        &mut self,
        seq: &mut Seq,
        platform: Platform,
        kind: IdKind,
    ) -> String {
        let (digits, prefix) = id_digits(platform, kind);
        format!("{prefix}{}", seq.digits(digits - prefix.len() as u32))
    }

    /// A fresh id for a created object; deterministic for a given seed and creation order.
    pub fn new_id(&mut self, platform: Platform, kind: IdKind) -> String {
        loop {
            self.ids_issued += 1;
            let mut seq = Seq::new(self.seed, rng::label("created") ^ self.ids_issued);
            let id = self.new_id_with(&mut seq, platform, kind);
            let taken = self.campaigns.iter().any(|c| c.id == id)
                || self.budgets.iter().any(|b| b.id == id)
                || self.ad_groups.iter().any(|g| g.id == id)
                || self.ads.iter().any(|a| a.id == id);
            if !taken {
                return id;
            }
        }
    }

    pub fn accounts_of(&self, platform: Platform) -> impl Iterator<Item = &Account> {
        self.accounts.iter().filter(move |a| a.platform == platform)
    }

    pub fn account(&self, platform: Platform, id: &str) -> Option<&Account> {
        self.accounts
            .iter()
            .find(|a| a.platform == platform && a.id == id)
    }

    pub fn campaigns_of<'a>(
        &'a self,
        platform: Platform,
        account_id: &'a str,
    ) -> impl Iterator<Item = &'a Campaign> + 'a {
        self.campaigns
            .iter()
            .filter(move |c| c.platform == platform && c.account_id == account_id)
    }

    pub fn campaign(&self, platform: Platform, id: &str) -> Option<&Campaign> {
        self.campaigns
            .iter()
            .find(|c| c.platform == platform && c.id == id)
    }

    pub fn campaign_mut(&mut self, platform: Platform, id: &str) -> Option<&mut Campaign> {
        self.campaigns
            .iter_mut()
            .find(|c| c.platform == platform && c.id == id)
    }

    pub fn budget(&self, platform: Platform, id: &str) -> Option<&Budget> {
        self.budgets
            .iter()
            .find(|b| b.platform == platform && b.id == id)
    }

    pub fn budget_mut(&mut self, platform: Platform, id: &str) -> Option<&mut Budget> {
        self.budgets
            .iter_mut()
            .find(|b| b.platform == platform && b.id == id)
    }

    /// The campaign's current daily budget in micros (0 without a campaign budget).
    pub fn daily_budget(&self, c: &Campaign) -> i64 {
        c.budget_id
            .as_deref()
            .and_then(|id| self.budget(c.platform, id))
            .map(Budget::current)
            .unwrap_or(0)
    }

    /// The campaign's lifetime budget in micros, if its budget is one.
    pub fn lifetime_budget(&self, c: &Campaign) -> Option<i64> {
        c.budget_id
            .as_deref()
            .and_then(|id| self.budget(c.platform, id))
            .and_then(|b| b.lifetime_micros)
    }

    /// Adds a budget (Google's separate budget resource, or a campaign's own budget).
    pub fn add_budget(
        &mut self,
        platform: Platform,
        account_id: &str,
        id: String,
        name: String,
        amount_micros: i64,
        now: DateTime<Utc>,
    ) {
        self.budgets.push(Budget {
            platform,
            account_id: account_id.to_string(),
            id,
            name,
            explicitly_shared: false,
            history: vec![Change {
                at: now,
                value: amount_micros,
            }],
            lifetime_micros: None,
        });
    }

    /// After an ad group (a Meta ad set) with a daily budget of `micros` joins `campaign_id`,
    /// the campaign spends against the sum of its ad groups' budgets: set that sum, creating the
    /// campaign's budget (named `budget_name`) with the first such ad group.
    pub fn add_ad_group_budget(
        &mut self,
        platform: Platform,
        account_id: &str,
        campaign_id: &str,
        budget_name: String,
        micros: i64,
        now: DateTime<Utc>,
    ) {
        let total = micros
            + self
                .ad_groups_of(platform, campaign_id)
                .filter_map(|g| g.daily_budget_micros)
                .sum::<i64>();
        let budget_id = self
            .campaign(platform, campaign_id)
            .and_then(|c| c.budget_id.clone());
        if let Some(bid) = budget_id {
            self.set_budget(platform, &bid, total, now);
            return;
        }
        self.add_budget(
            platform,
            account_id,
            campaign_id.to_string(),
            budget_name,
            total,
            now,
        );
        if let Some(c) = self
            .campaigns
            .iter_mut()
            .find(|c| c.platform == platform && c.id == campaign_id)
        {
            c.budget_id = Some(campaign_id.to_string());
            c.budget_on_ad_groups = true;
        }
    }

    /// Creates a campaign that starts spending from `now` when enabled.
    pub fn add_campaign(
        &mut self,
        account: &Account,
        new: NewCampaign,
        now: DateTime<Utc>,
    ) -> &Campaign {
        let NewCampaign {
            id,
            name,
            objective,
            budget_id,
            status,
        } = new;
        let mut seq = Seq::new(self.seed, rng::label(&format!("{}/{id}", account.platform)));
        let tier = match seq.range(0, 2) {
            0 => Tier::Winner,
            1 => Tier::Average,
            _ => Tier::Loser,
        };
        let profile = draw_profile(&mut seq, tier, account.currency);
        self.campaigns.push(Campaign {
            platform: account.platform,
            account_id: account.id.clone(),
            id,
            name,
            created_at: now,
            objective,
            budget_id,
            status_history: vec![Change {
                at: now,
                value: status,
            }],
            profile,
            budget_on_ad_groups: false,
            ends_at: None,
        });
        let last = self.campaigns.len() - 1;
        &self.campaigns[last]
    }

    /// Records a status change at `now`; false if the campaign does not exist.
    pub fn set_status(
        &mut self,
        platform: Platform,
        id: &str,
        status: CampaignStatus,
        now: DateTime<Utc>,
    ) -> bool {
        match self.campaign_mut(platform, id) {
            Some(c) => {
                if c.status() != status {
                    push_change(&mut c.status_history, now, status);
                }
                true
            }
            None => false,
        }
    }

    /// Records a budget change at `now`; false if the budget does not exist.
    pub fn set_budget(
        &mut self,
        platform: Platform,
        budget_id: &str,
        amount_micros: i64,
        now: DateTime<Utc>,
    ) -> bool {
        match self.budget_mut(platform, budget_id) {
            Some(b) => {
                push_change(&mut b.history, now, amount_micros);
                true
            }
            None => false,
        }
    }
}

/// Appends a change, replacing one made at the same instant (a fixed test clock makes that
/// common) and keeping the history sorted even if the clock was moved backwards.
pub(super) fn push_change<T: Copy>(history: &mut Vec<Change<T>>, at: DateTime<Utc>, value: T) {
    history.retain(|c| c.at != at);
    history.push(Change { at, value });
    history.sort_by_key(|c| c.at);
}

/// A seeded campaign's daily budget: an amount in whole units, changed once on some.
fn seeded_budget_history(
    seq: &mut Seq,
    account: &Account,
    today: NaiveDate,
    created_day: NaiveDate,
) -> Vec<Change<i64>> {
    let scale = unit_scale(account.currency);
    let created_at = account.day_start(created_day);
    // Budgets in whole units (hundreds of yen) as people set them.
    let unit = 1_000_000 * scale.min(100);
    let amount = seq.range(20, 500) * scale / scale.min(100) * unit;
    let mut budget_history = vec![Change {
        at: created_at,
        value: amount,
    }];
    if seq.range(0, 9) < 3 {
        let day = today - Duration::days(seq.range(20, 200));
        if day > created_day {
            let factor = seq.range(60, 160);
            budget_history.push(Change {
                at: account.day_start(day) + Duration::hours(seq.range(8, 17)),
                value: (amount * factor / 100 / unit).max(1) * unit,
            });
        }
    }
    budget_history
}

/// A seeded campaign's status: enabled when created, then paused (and back) or removed on
/// some. `(i, tier)`: the campaign's place in its account and its performance tier.
fn seeded_status_history(
    seq: &mut Seq,
    account: &Account,
    (i, tier): (i64, Tier),
    today: NaiveDate,
    created_day: NaiveDate,
) -> Vec<Change<CampaignStatus>> {
    let created_at = account.day_start(created_day);
    let mut status_history = vec![Change {
        at: created_at,
        value: CampaignStatus::Enabled,
    }];
    // Losers mostly keep running so that rules have something to pause.
    let roll = seq.range(0, 99);
    let paused_share = if tier == Tier::Loser { 10 } else { 25 };
    if i >= 2 && roll < paused_share {
        let day = today - Duration::days(seq.range(3, 200));
        if day > created_day {
            status_history.push(Change {
                at: account.day_start(day) + Duration::hours(seq.range(9, 18)),
                value: CampaignStatus::Paused,
            });
            if roll < paused_share / 3 {
                let back = day + Duration::days(seq.range(1, 30));
                if back < today {
                    status_history.push(Change {
                        at: account.day_start(back) + Duration::hours(10),
                        value: CampaignStatus::Enabled,
                    });
                }
            }
        }
    }
    if i >= 2 && (30..32).contains(&roll) {
        let day = today - Duration::days(seq.range(30, 300));
        if day > created_day {
            status_history.push(Change {
                at: account.day_start(day) + Duration::hours(11),
                value: CampaignStatus::Removed,
            });
        }
    }
    status_history.sort_by_key(|c| c.at);
    status_history
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 10).expect("date")
    }

    #[test]
    fn every_platform_has_accounts_in_three_currencies_with_5_to_40_campaigns() {
        let w = World::generate(1, today());
        for p in Platform::ALL {
            let currencies: Vec<&str> = w.accounts_of(p).map(|a| a.currency.as_str()).collect();
            assert_eq!(currencies, ["USD", "EUR", "JPY"]);
            for a in w.accounts_of(p) {
                let n = w.campaigns_of(p, &a.id).count();
                assert!((5..=40).contains(&n), "{n} campaigns");
                let tiers: Vec<Tier> = w.campaigns_of(p, &a.id).map(|c| c.profile.tier).collect();
                assert!(tiers.contains(&Tier::Winner) && tiers.contains(&Tier::Loser));
            }
        }
    }

    #[test]
    fn same_seed_gives_same_world_and_other_seed_differs() {
        let a = serde_json::to_string(&World::generate(9, today())).expect("json");
        let b = serde_json::to_string(&World::generate(9, today())).expect("json");
        let c = serde_json::to_string(&World::generate(10, today())).expect("json");
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn new_ids_have_platform_shapes() {
        let mut w = World::generate(3, today());
        let g = w.new_id(Platform::Google, IdKind::Campaign);
        let t = w.new_id(Platform::Tiktok, IdKind::Campaign);
        assert_eq!(g.len(), 11);
        assert!(t.starts_with("17") && t.len() == 16);
    }
}
