//! Replaying a rule over past days with what adpilot knew on each day: for every day, the
//! latest metric revision observed before the replay time (conversions arrive late, so today's
//! numbers would flatter a rule). Simulates cooldowns and the rule's own pauses and budget
//! changes from day to day, and shows the spend the campaigns had afterwards.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::sql_types::{BigInt, Date, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::eval::{self, Detail, PlannedAction, Step};
use super::facts::{self, Loaded, Source};
use super::language::Rule;
use super::language::ast::{CampaignStatus, Level};
use super::runner::RunError;
use crate::app::App;
use crate::types::Money;

pub const DEFAULT_DAYS: u32 = 30;
pub const MAX_DAYS: u32 = 365;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Hit {
    /// The account-local day the rule would have acted on.
    pub day: NaiveDate,
    /// The campaign, ad group or ad (the rule's level).
    pub campaign_id: Uuid,
    pub campaign_name: String,
    /// The page of that object.
    pub href: String,
    /// `kind from→to` per action, with the reason when it would have been skipped.
    pub actions: Vec<String>,
    /// Spend of the campaign on the days after `day`, through yesterday (current numbers).
    pub spend_after: String,
    #[serde(skip)]
    currency: crate::types::Currency,
}

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Backtest {
    pub days: u32,
    pub campaigns_in_scope: usize,
    pub hits: Vec<Hit>,
}

#[derive(diesel::QueryableByName)]
struct SpendRow {
    #[diesel(sql_type = SqlUuid)]
    campaign_id: Uuid,
    #[diesel(sql_type = Date)]
    date: NaiveDate,
    #[diesel(sql_type = BigInt)]
    spend_micros: i64,
}

/// Replays `rule` over the `days` days before `now` (one facts query per day).
pub async fn run(
    app: &App,
    org_id: Uuid,
    rule: &Rule,
    days: u32,
    now: DateTime<Utc>,
) -> Result<Backtest, RunError> {
    let days = days.clamp(1, MAX_DAYS);
    let windows = rule.required_windows();
    let platforms = rule
        .scope
        .as_ref()
        .map(|s| s.platforms.clone())
        .filter(|p| !p.is_empty());
    let mut out = Backtest {
        days,
        ..Backtest::default()
    };
    let mut replay = Replay {
        rule,
        cooldown: rule
            .cooldown_minutes()
            .map(|m| Duration::minutes(i64::try_from(m).unwrap_or(0))),
        status: HashMap::new(),
        budget: HashMap::new(),
        last_acted: HashMap::new(),
        acted_times: HashMap::new(),
    };
    for k in (1..=days).rev() {
        // The end of each past day, as the replay time.
        let at = now - Duration::days(i64::from(k));
        let (w, p) = (windows.clone(), platforms.clone());
        let loaded = app
            .db
            .tenant(org_id, async move |c| {
                let zones = facts::zones(c, at).await?;
                // Who paused what is read as it is now (the replay carries its own pauses
                // forward through `status`, not through the rule history).
                Ok::<_, RunError>(
                    super::level_facts::load_for(c, &zones, &w, p, Source::KnownAt(at), &[rule])
                        .await?,
                )
            })
            .await?;
        out.campaigns_in_scope = out.campaigns_in_scope.max(
            loaded
                .iter()
                .filter(|l| l.facts.level() == rule.level())
                .count(),
        );
        for l in loaded {
            out.hits.extend(replay.object(l, at));
        }
    }
    // Spend afterwards, from today's numbers: one query for every campaign hit.
    let ids: Vec<Uuid> = out.hits.iter().map(|h| h.campaign_id).collect();
    if !ids.is_empty() {
        let from = now.date_naive() - Duration::days(i64::from(days) + 1);
        let rows = spend_since(app, org_id, rule.level(), ids, from).await?;
        for h in &mut out.hits {
            let spent: i64 = rows
                .iter()
                .filter(|r| {
                    r.campaign_id == h.campaign_id && r.date > h.day && r.date < now.date_naive()
                })
                .map(|r| r.spend_micros)
                .sum();
            h.spend_after = Money::new(spent, h.currency).to_string();
        }
    }
    Ok(out)
}

/// The replay's state: what the rule itself would have changed, carried into later days.
struct Replay<'r> {
    rule: &'r Rule,
    cooldown: Option<Duration>,
    status: HashMap<Uuid, CampaignStatus>,
    budget: HashMap<Uuid, Money>,
    last_acted: HashMap<Uuid, DateTime<Utc>>,
    /// `at most N times`: the replay's own actions only (the days replayed start afresh).
    acted_times: HashMap<Uuid, Vec<DateTime<Utc>>>,
}

impl Replay<'_> {
    /// One object on one replayed day: a hit if the rule would have acted on it.
    fn object(&mut self, mut l: Loaded, at: DateTime<Utc>) -> Option<Hit> {
        let rule = self.rule;
        if let Some(s) = self.status.get(&l.id) {
            l.facts.status = *s;
        }
        if let Some(b) = self.budget.get(&l.id) {
            l.facts.daily_budget = *b;
        }
        if !super::runner::in_live_scope(rule, &l.facts) {
            return None;
        }
        let e = eval::evaluate(rule, &l.facts, l.as_of, Detail::MatchedOnly)?;
        if !e.matched {
            return None;
        }
        if let (Some(cd), Some(last)) = (self.cooldown, self.last_acted.get(&l.id))
            && *last + cd > at
        {
            return None;
        }
        if let Some(t) = rule.times
            && super::counts::reached(
                &t,
                self.acted_times.get(&l.id).map_or(&[], Vec::as_slice),
                at,
            )
            .is_some()
        {
            return None;
        }
        let mut acted = false;
        let actions = e
            .actions
            .iter()
            .map(|a| {
                acted |= self.carry(l.id, a);
                describe_action(a)
            })
            .collect();
        if acted {
            self.last_acted.insert(l.id, at);
            if rule.times.is_some() {
                self.acted_times.entry(l.id).or_default().push(at);
            }
        }
        Some(Hit {
            day: l.as_of,
            campaign_id: l.id,
            campaign_name: l.facts.name.clone(),
            href: match rule.level() {
                Level::AdGroup => format!("/ad-groups/{}", l.id),
                Level::Ad => format!("/ads/{}", l.id),
                _ => format!("/campaigns/{}", l.id),
            },
            actions,
            spend_after: String::new(),
            currency: l.facts.currency,
        })
    }

    /// Carries a taken action into later days; whether it counts as acting.
    fn carry(&mut self, id: Uuid, a: &PlannedAction) -> bool {
        if a.skipped.is_some() {
            return false;
        }
        match &a.step {
            Step::Pause => {
                self.status.insert(id, CampaignStatus::Paused);
                true
            }
            Step::Resume => {
                self.status.insert(id, CampaignStatus::Active);
                true
            }
            Step::Budget(_) => {
                if let Some(to) = a.to {
                    self.budget.insert(id, to);
                }
                true
            }
            Step::Bid(_) | Step::Notify(_) => false,
        }
    }
}

/// "set budget 10 EUR → 12 EUR (skipped: ...)".
fn describe_action(a: &PlannedAction) -> String {
    let mut s = a.kind().to_string();
    if let (Some(f), Some(t)) = (a.from, a.to) {
        s.push_str(&format!(" {f} → {t}"));
    }
    if let Some(why) = &a.skipped {
        s.push_str(&format!(" (skipped: {why})"));
    }
    s
}

/// Daily spend since `from` of the rule's objects: campaigns, ad groups or ads.
async fn spend_since(
    app: &App,
    org_id: Uuid,
    level: Level,
    ids: Vec<Uuid>,
    from: NaiveDate,
) -> Result<Vec<SpendRow>, RunError> {
    let sql = match level {
        Level::AdGroup => {
            "SELECT ad_group_id AS campaign_id, date, spend_micros \
             FROM ad_group_metrics_daily \
             WHERE ad_group_id = ANY($1) AND date >= $2"
        }
        Level::Ad => {
            "SELECT ad_id AS campaign_id, date, spend_micros \
             FROM ad_metrics_daily WHERE ad_id = ANY($1) AND date >= $2"
        }
        Level::Campaign | Level::Account => {
            "SELECT campaign_id, date, spend_micros FROM metrics_daily \
             WHERE campaign_id = ANY($1) AND date >= $2"
        }
    };
    app.db
        .tenant(org_id, async move |c| {
            Ok::<_, RunError>(
                diesel::sql_query(sql)
                    .bind::<diesel::sql_types::Array<SqlUuid>, _>(&ids)
                    .bind::<Date, _>(from)
                    .load(c)
                    .await?,
            )
        })
        .await
}
