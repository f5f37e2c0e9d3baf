//! Daily campaign metrics, derived on every read from the campaign's profile, its status and
//! budget histories, the seed and the clock.
//!
//! - Spend follows the budget in force while the campaign was enabled, scaled by a pacing
//!   factor with weekly seasonality and daily noise; a pause stops spend from that instant and
//!   a budget change scales it from that instant.
//! - "Today" only counts the part of the account's local day that has elapsed.
//! - Conversions arrive late: a day's reported conversions start at 55 % of the final number
//!   when the day ends and reach 100 % after 7 days, rising hour by hour. They depend on time
//!   only (not on how often they are read), so the truth endpoint and the APIs agree whenever
//!   they are read at the same sandbox time.
//! - Money is whole minor units (cents, yen) held as micros, so every platform's encoding
//!   (micros, decimal strings, minor units) is exact.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::rng;
use super::world::{Account, Budget, Campaign, CampaignStatus, World, micros_per_minor};

/// Per mille of final conversions reported at the moment a day ends.
const LATE_START_PERMILLE: i64 = 550;
/// Hours after the day's end at which conversions are final.
const LATE_WINDOW_HOURS: i64 = 7 * 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DayMetrics {
    pub date: NaiveDate,
    pub impressions: i64,
    pub clicks: i64,
    pub spend_micros: i64,
    /// As reported now (late attribution applied).
    pub conversions: i64,
    pub revenue_micros: i64,
    /// What the day will settle at once attribution is complete.
    pub final_conversions: i64,
    pub final_revenue_micros: i64,
}

impl DayMetrics {
    pub fn is_empty(&self) -> bool {
        self.impressions == 0 && self.spend_micros == 0
    }

    /// Adds another day's numbers (for aggregated queries).
    pub fn add(&mut self, o: &DayMetrics) {
        self.impressions += o.impressions;
        self.clicks += o.clicks;
        self.spend_micros += o.spend_micros;
        self.conversions += o.conversions;
        self.revenue_micros += o.revenue_micros;
        self.final_conversions += o.final_conversions;
        self.final_revenue_micros += o.final_revenue_micros;
    }

    pub fn zero(date: NaiveDate) -> Self {
        DayMetrics {
            date,
            impressions: 0,
            clicks: 0,
            spend_micros: 0,
            conversions: 0,
            revenue_micros: 0,
            final_conversions: 0,
            final_revenue_micros: 0,
        }
    }
}

/// Weekly shape, per mille, Monday first: weekdays busy, weekends quieter.
const WEEKDAY_PERMILLE: [i64; 7] = [1000, 1030, 1020, 1000, 950, 820, 780];

fn noise(h: u64, lo: i64, hi: i64) -> i64 {
    rng::range(h, lo, hi)
}

/// Reported share of final conversions, per mille, for a day ending at `day_end`.
pub fn attribution_permille(day_end: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    if now <= day_end {
        return LATE_START_PERMILLE;
    }
    let hours = (now - day_end).num_hours().min(LATE_WINDOW_HOURS);
    LATE_START_PERMILLE + (1000 - LATE_START_PERMILLE) * hours / LATE_WINDOW_HOURS
}

/// Budget-seconds the campaign was enabled for within `[from, to)`, as micros × seconds.
fn enabled_budget_seconds(
    c: &Campaign,
    budget: Option<&Budget>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> i128 {
    let Some(budget) = budget else {
        return 0;
    };
    let from = from.max(c.created_at);
    if to <= from {
        return 0;
    }
    let mut cuts: Vec<DateTime<Utc>> = vec![from, to];
    cuts.extend(c.status_history.iter().map(|s| s.at));
    cuts.extend(budget.history.iter().map(|b| b.at));
    cuts.retain(|t| *t >= from && *t <= to);
    cuts.sort();
    cuts.dedup();
    let mut total: i128 = 0;
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if c.status_at(a) == Some(CampaignStatus::Enabled) {
            let secs = (b - a).num_seconds();
            total += i128::from(budget.amount_at(a)) * i128::from(secs);
        }
    }
    total
}

fn budget_of<'a>(world: &'a World, c: &Campaign) -> Option<&'a Budget> {
    c.budget_id
        .as_deref()
        .and_then(|id| world.budget(c.platform, id))
}

/// The campaign's metrics for one local day of its account, as reported at `now`.
#[cfg(test)]
pub fn day_metrics(
    world: &World,
    account: &Account,
    c: &Campaign,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> DayMetrics {
    day_metrics_with(world.seed, account, c, budget_of(world, c), date, now)
}

fn day_metrics_with(
    seed: u64,
    account: &Account,
    c: &Campaign,
    budget: Option<&Budget>,
    date: NaiveDate,
    now: DateTime<Utc>,
) -> DayMetrics {
    let start = account.day_start(date);
    let end = account.day_start(date + Duration::days(1));
    let day_secs = (end - start).num_seconds().max(1);
    let budget_secs = enabled_budget_seconds(c, budget, start, end.min(now));
    if budget_secs == 0 {
        return DayMetrics::zero(date);
    }
    let p = &c.profile;
    let day = i64::from(date.num_days_from_ce());
    let key = rng::label(&format!("{}/{}", c.platform, c.id));
    let h = |n: u64| rng::hash(seed, &[key, day as u64, n]);
    let weekday = WEEKDAY_PERMILLE[date.weekday().num_days_from_monday() as usize];

    let pacing = (p.pacing_permille * weekday / 1000 * noise(h(1), 880, 1120) / 1000).min(1000);
    let minor = micros_per_minor(account.currency);
    let raw_spend = budget_secs * i128::from(pacing) / (1000 * i128::from(day_secs));
    let spend = i64::try_from(raw_spend).unwrap_or(i64::MAX / 4) / minor * minor;

    let cpc = (p.cpc_micros * noise(h(2), 900, 1100) / 1000).max(1);
    let clicks = spend / cpc;
    let ctr = (p.ctr_bp * noise(h(3), 850, 1150) / 1000).max(1);
    let mut impressions = clicks * 10_000 / ctr + noise(h(4), 0, 40);
    if spend == 0 && clicks == 0 {
        impressions = 0;
    }
    let cvr = p.cvr_bp * weekday / 1000 * noise(h(5), 800, 1200) / 1000;
    let final_conversions = (clicks * cvr + noise(h(6), 0, 9_999)) / 10_000;
    let value_per_conv =
        (p.value_per_conversion_micros * noise(h(7), 920, 1080) / 1000 / minor * minor).max(minor);

    let share = attribution_permille(end, now);
    let conversions = final_conversions * share / 1000;
    DayMetrics {
        date,
        impressions,
        clicks,
        spend_micros: spend,
        conversions,
        revenue_micros: conversions * value_per_conv,
        final_conversions,
        final_revenue_micros: final_conversions * value_per_conv,
    }
}

/// Non-empty days of the campaign within `from..=to`, clipped to what exists at `now`.
pub fn campaign_days(
    world: &World,
    account: &Account,
    c: &Campaign,
    from: NaiveDate,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<DayMetrics> {
    let first = account.local_date(c.created_at).max(from);
    let last = account.local_date(now).min(to);
    let budget = budget_of(world, c);
    let mut out = Vec::new();
    let mut d = first;
    while d <= last {
        let m = day_metrics_with(world.seed, account, c, budget, d, now);
        if !m.is_empty() {
            out.push(m);
        }
        d += Duration::days(1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::world::Tier;
    use crate::types::Platform;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 18, 0, 0)
            .single()
            .expect("time")
    }

    fn world() -> World {
        World::generate(5, now().date_naive())
    }

    fn totals(w: &World, c: &Campaign, days: i64, at: DateTime<Utc>) -> DayMetrics {
        let a = w.account(c.platform, &c.account_id).expect("account");
        let to = a.local_date(at) - Duration::days(1);
        let mut t = DayMetrics::zero(to);
        for m in campaign_days(w, a, c, to - Duration::days(days), to, at) {
            t.add(&m);
        }
        t
    }

    #[test]
    fn winners_earn_more_than_they_spend_and_losers_less() {
        let w = world();
        for c in w
            .campaigns
            .iter()
            .filter(|c| c.status() == CampaignStatus::Enabled)
        {
            let t = totals(&w, c, 60, now());
            if t.spend_micros < 500_000_000 {
                continue;
            }
            let roas = t.final_revenue_micros as f64 / t.spend_micros as f64;
            match c.profile.tier {
                Tier::Winner => assert!(roas > 2.0, "{} roas {roas}", c.name),
                Tier::Loser => assert!(roas < 0.9, "{} roas {roas}", c.name),
                Tier::Average => {}
            }
        }
    }

    #[test]
    fn weekends_spend_less_than_weekdays_over_a_year() {
        let w = world();
        let (mut weekday, mut weekend) = (0_i64, 0_i64);
        for c in w
            .campaigns
            .iter()
            .filter(|c| c.platform == Platform::Google)
        {
            let a = w.account(c.platform, &c.account_id).expect("account");
            let to = a.local_date(now()) - Duration::days(1);
            for m in campaign_days(&w, a, c, to - Duration::days(364), to, now()) {
                if m.date.weekday().num_days_from_monday() >= 5 {
                    weekend += m.spend_micros;
                } else {
                    weekday += m.spend_micros;
                }
            }
        }
        // Per day: 5 weekdays vs 2 weekend days.
        assert!(weekend / 2 < weekday / 5);
    }

    #[test]
    fn today_grows_as_the_day_goes_on_and_late_conversions_rise() {
        let w = world();
        let c = w
            .campaigns
            .iter()
            .find(|c| c.status() == CampaignStatus::Enabled && c.profile.tier == Tier::Winner)
            .expect("an enabled winner");
        let a = w.account(c.platform, &c.account_id).expect("account");
        let today = a.local_date(now());
        let morning = a.day_start(today) + Duration::hours(6);
        let evening = a.day_start(today) + Duration::hours(20);
        let m1 = day_metrics(&w, a, c, today, morning);
        let m2 = day_metrics(&w, a, c, today, evening);
        assert!(m2.spend_micros > m1.spend_micros * 3, "{m1:?} {m2:?}");

        let yesterday = today - Duration::days(1);
        let early = day_metrics(&w, a, c, yesterday, a.day_start(today) + Duration::hours(1));
        let later = day_metrics(&w, a, c, yesterday, a.day_start(today) + Duration::days(5));
        assert_eq!(early.spend_micros, later.spend_micros);
        assert_eq!(early.final_conversions, later.final_conversions);
        assert!(later.conversions > early.conversions, "{early:?} {later:?}");
        let settled = day_metrics(&w, a, c, yesterday, a.day_start(today) + Duration::days(8));
        assert_eq!(settled.conversions, settled.final_conversions);
    }

    #[test]
    fn money_is_whole_minor_units() {
        let w = world();
        for c in w.campaigns.iter().take(40) {
            let a = w.account(c.platform, &c.account_id).expect("account");
            let minor = micros_per_minor(a.currency);
            for m in campaign_days(
                &w,
                a,
                c,
                a.local_date(now()) - Duration::days(10),
                a.local_date(now()),
                now(),
            ) {
                assert_eq!(m.spend_micros % minor, 0);
                assert_eq!(m.revenue_micros % minor, 0);
            }
        }
    }

    #[test]
    fn pausing_stops_spend_from_that_moment() {
        let mut w = world();
        let c = w
            .campaigns
            .iter()
            .find(|c| c.status() == CampaignStatus::Enabled)
            .expect("enabled")
            .clone();
        let a = w
            .account(c.platform, &c.account_id)
            .expect("account")
            .clone();
        let today = a.local_date(now());
        let noon = a.day_start(today) + Duration::hours(12);
        let full_day_later = a.day_start(today) + Duration::hours(23);
        let before = day_metrics(&w, &a, &c, today, full_day_later);
        w.set_status(c.platform, &c.id, CampaignStatus::Paused, noon);
        let c2 = w.campaign(c.platform, &c.id).expect("campaign").clone();
        let after = day_metrics(&w, &a, &c2, today, full_day_later);
        let at_noon = day_metrics(&w, &a, &c2, today, noon);
        assert!(after.spend_micros < before.spend_micros);
        assert_eq!(after.spend_micros, at_noon.spend_micros);
        let tomorrow = day_metrics(
            &w,
            &a,
            &c2,
            today + Duration::days(1),
            full_day_later + Duration::days(1),
        );
        assert!(tomorrow.is_empty());
    }
}
