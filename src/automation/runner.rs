//! Checking saved rules: one facts query for the batch, the shared evaluator, then each matched
//! campaign's actions in order through the one audited action path, under the organization's
//! safety limits, with everything recorded in `rule_runs` / `rule_run_items`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use uuid::Uuid;

use super::eval::{self, BudgetPlan, Detail, Evaluation, PlannedAction, Step, WindowKey};
use super::facts::{self, Loaded, Source};
use super::language::Rule;
use super::language::ast::{Direction, Level, NotifyTarget};
use super::schema::{rule_run_items, rule_runs, rules};
use super::store::{self, Mode, Settings, StoredRule};
use crate::app::App;
use crate::campaigns::actions::{self, ActionKind, ActionRequest, ActionState};
use crate::db::Conn;
use crate::jobs::{Lease, LeaseError};
use crate::types::Platform;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("rule not found")]
    NotFound,
    #[error("this rule is being checked right now; its results show in the history when done")]
    Busy,
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Lease(#[from] LeaseError),
}

impl From<diesel::result::Error> for RunError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => RunError::NotFound,
            e => RunError::Db(crate::db::DbError::Query(e)),
        }
    }
}

impl From<RunError> for crate::jobs::JobError {
    fn from(e: RunError) -> Self {
        match e {
            RunError::NotFound => crate::jobs::JobError::permanent(e),
            RunError::Busy => crate::jobs::JobError::retry(e),
            RunError::Db(d) => crate::jobs::JobError::retry(d),
            RunError::Lease(l) => l.into(),
        }
    }
}

/// What one check of one rule did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSummary {
    pub rule_id: Uuid,
    pub run_id: Uuid,
    pub evaluated: usize,
    pub matched: usize,
    pub executed: usize,
    pub skipped: usize,
    pub failed: usize,
    pub error: Option<String>,
}

/// Checks one rule.
pub async fn check_rule(
    app: &App,
    org_id: Uuid,
    rule_id: Uuid,
    slot: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<CheckSummary, RunError> {
    let (mut done, busy) = check_unless_busy(app, org_id, &[(rule_id, slot)], now, None).await?;
    if !busy.is_empty() {
        return Err(RunError::Busy);
    }
    done.pop().ok_or(RunError::NotFound)
}

/// Advisory-lock namespace of rule checks ("rulc"); the second key is the rule's.
const CHECK_LOCK_NAMESPACE: i32 = 0x7275_6c63;

/// Checks several rules of one organization, each for its slot, with a single facts query for
/// all of them (the union of their windows); each rule still gets its own run record. Draft
/// and paused rules are left out. A job passes its `lease`, renewed before every platform
/// change, so a check that another worker has taken over stops instead of changing campaigns
/// twice.
///
/// A rule that another run is checking right now (another slot's job, or a retry of a job
/// whose worker is still alive) is left to that run: two runs of one rule would each see the
/// other's changes too late and act twice.
pub async fn check_rules(
    app: &App,
    org_id: Uuid,
    checks: &[(Uuid, DateTime<Utc>)],
    now: DateTime<Utc>,
    lease: Option<&Lease>,
) -> Result<Vec<CheckSummary>, RunError> {
    let (done, busy) = check_unless_busy(app, org_id, checks, now, lease).await?;
    if !busy.is_empty() {
        tracing::info!(%org_id, busy = ?busy, "rules already being checked by another run are left to it");
    }
    Ok(done)
}

/// Checks the rules no other run holds; returns their summaries and the ids of the busy ones.
async fn check_unless_busy(
    app: &App,
    org_id: Uuid,
    checks: &[(Uuid, DateTime<Utc>)],
    now: DateTime<Utc>,
    lease: Option<&Lease>,
) -> Result<(Vec<CheckSummary>, Vec<Uuid>), RunError> {
    let ids: Vec<Uuid> = checks.iter().map(|(id, _)| *id).collect();
    // Held until the check ends; a process that dies frees them with its connection.
    let (held, free) =
        crate::db::locks::SessionLocks::try_take(&app.db, CHECK_LOCK_NAMESPACE, &ids).await?;
    let busy: Vec<Uuid> = ids
        .iter()
        .filter(|id| !free.contains(id))
        .copied()
        .collect();
    let checks: Vec<(Uuid, DateTime<Utc>)> = checks
        .iter()
        .filter(|(id, _)| free.contains(id))
        .copied()
        .collect();
    let done = check_held(app, org_id, &checks, now, lease).await;
    held.release().await?;
    Ok((done?, busy))
}

/// The rules of one check, each with its new run's id, the organization's limits and the
/// facts the rules read.
type LoadedBatch = (Vec<(Uuid, StoredRule, Option<Rule>)>, Settings, Vec<Loaded>);

async fn check_held(
    app: &App,
    org_id: Uuid,
    checks: &[(Uuid, DateTime<Utc>)],
    now: DateTime<Utc>,
    lease: Option<&Lease>,
) -> Result<Vec<CheckSummary>, RunError> {
    let started = std::time::Instant::now();
    let slots: HashMap<Uuid, DateTime<Utc>> = checks.iter().copied().collect();
    let slot_of = |id: &Uuid| slots.get(id).copied().unwrap_or(now);
    let wanted = slots.clone();
    let (loaded_rules, settings, campaigns) = app
        .db
        .tenant(org_id, async move |c| {
            load_batch(c, org_id, &wanted, now).await
        })
        .await?;

    let loaded_in = started.elapsed();
    let rules_only: Vec<Option<&Rule>> = loaded_rules.iter().map(|r| r.2.as_ref()).collect();
    let evaluated = evaluate_all(&rules_only, &campaigns);
    let evaluated_in = started.elapsed() - loaded_in;
    let mut memory = preload(app, org_id, &loaded_rules, &evaluated, &campaigns, now).await?;
    let mut out = Vec::with_capacity(loaded_rules.len());
    // Records of rules that called no platform are written together at the end (one
    // transaction for the batch); a rule that called a platform is recorded at once.
    let mut pending: Vec<Finished> = Vec::new();
    let batch = Batch {
        app,
        org_id,
        settings: &settings,
        campaigns: &campaigns,
        now,
        lease,
    };
    for ((run_id, stored, rule), matches) in loaded_rules.iter().zip(evaluated) {
        let done = run_one(
            &batch,
            *run_id,
            slot_of(&stored.id),
            stored,
            rule.as_ref(),
            matches,
            &mut memory,
        )
        .await?;
        out.push(done.summary.clone());
        if done.called_platform {
            finish(app, org_id, vec![done], now).await?;
        } else {
            pending.push(done);
        }
    }
    finish(app, org_id, pending, now).await?;
    // Where a slow check spends its time: loading rules and facts, evaluating, or acting and
    // recording.
    tracing::info!(
        %org_id,
        rules = out.len(),
        campaigns = campaigns.len(),
        load_ms = loaded_in.as_millis() as u64,
        evaluate_ms = evaluated_in.as_millis() as u64,
        total_ms = started.elapsed().as_millis() as u64,
        "rules checked"
    );
    Ok(out)
}

/// Reads the wanted rules that may run, starts a run of each and loads the facts they read,
/// in the organization's transaction.
async fn load_batch(
    c: &mut Conn,
    org_id: Uuid,
    wanted: &HashMap<Uuid, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<LoadedBatch, RunError> {
    let all: Vec<StoredRule> = store::list(c)
        .await?
        .into_iter()
        .filter(|r| wanted.contains_key(&r.id) && !r.paused && r.mode != Mode::Draft)
        .collect();
    let settings = store::settings(c).await?;
    let mut parsed: Vec<(StoredRule, Option<Rule>)> = Vec::with_capacity(all.len());
    let mut windows = BTreeSet::new();
    // `None` once a rule reads every platform.
    let mut platforms: Option<BTreeSet<Platform>> = Some(BTreeSet::new());
    for r in all {
        let rule = r.parsed();
        if let Some(rule) = &rule {
            windows.extend(rule.required_windows());
            match (
                rule.scope.as_ref().map(|s| &s.platforms),
                platforms.as_mut(),
            ) {
                (Some(p), Some(set)) if !p.is_empty() => set.extend(p.iter().copied()),
                _ => platforms = None,
            }
        }
        parsed.push((r, rule));
    }
    let run_ids = start_runs(c, org_id, &parsed, wanted, now).await?;
    let parsed: Vec<(Uuid, StoredRule, Option<Rule>)> = parsed
        .into_iter()
        .filter_map(|(r, p)| run_ids.get(&r.id).map(|run| (*run, r, p)))
        .collect();
    let campaigns = if parsed.iter().any(|p| p.2.is_some()) {
        let zones = facts::zones(c, now).await?;
        let rules: Vec<&Rule> = parsed.iter().filter_map(|p| p.2.as_ref()).collect();
        super::level_facts::load_for(
            c,
            &zones,
            &windows,
            platforms.map(|p| p.into_iter().collect()),
            Source::Current,
            &rules,
        )
        .await?
    } else {
        Vec::new()
    };
    Ok((parsed, settings, campaigns))
}

/// Writes a run row for each rule and marks each rule as run at its slot; the run ids by rule.
async fn start_runs(
    c: &mut Conn,
    org_id: Uuid,
    parsed: &[(StoredRule, Option<Rule>)],
    wanted: &HashMap<Uuid, DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<HashMap<Uuid, Uuid>, RunError> {
    let slot_of = |id: &Uuid| wanted.get(id).copied().unwrap_or(now);
    // Every run row in one statement: a check of many rules costs few round trips.
    let runs: Vec<_> = parsed
        .iter()
        .map(|(r, _)| {
            (
                rule_runs::id.eq(Uuid::now_v7()),
                rule_runs::org_id.eq(org_id),
                rule_runs::rule_id.eq(r.id),
                rule_runs::mode.eq(r.mode.as_str()),
                rule_runs::slot.eq(slot_of(&r.id)),
                rule_runs::started_at.eq(now),
            )
        })
        .collect();
    if runs.is_empty() {
        return Ok(HashMap::new());
    }
    let run_ids: HashMap<Uuid, Uuid> = diesel::insert_into(rule_runs::table)
        .values(runs)
        .returning((rule_runs::rule_id, rule_runs::id))
        .load::<(Uuid, Uuid)>(c)
        .await?
        .into_iter()
        .collect();
    // One statement per distinct slot (a tick's checks share a few).
    let mut by_slot: BTreeMap<DateTime<Utc>, Vec<Uuid>> = BTreeMap::new();
    for id in run_ids.keys() {
        by_slot.entry(slot_of(id)).or_default().push(*id);
    }
    for (slot, ids) in by_slot {
        diesel::update(rules::table.filter(rules::id.eq_any(ids)))
            .set(rules::last_run_at.eq(Some(now.max(slot))))
            .execute(c)
            .await?;
    }
    Ok(run_ids)
}

/// The platform's answer to a change, written into the item's action and, when it took, into
/// the item's amounts.
fn record_outcome(
    ia: &mut ItemAction,
    item: &mut NewItem,
    kind: ActionKind,
    o: &actions::ActionOutcome,
) {
    ia.platform_action_id = Some(o.id);
    ia.platform_answer = o.platform_response.clone();
    ia.reason = o.message.clone();
    ia.status = match o.state {
        ActionState::Succeeded => "executed",
        ActionState::Skipped => "skipped",
        ActionState::Failed => "failed",
        ActionState::Pending | ActionState::Executing => "pending",
    }
    .into();
    if o.state != ActionState::Succeeded {
        return;
    }
    item.acted = true;
    // The amounts the platform moved from and to (budget or bid); only budgets count toward
    // the increase limit.
    if matches!(kind, ActionKind::SetBudget | ActionKind::SetBid) {
        ia.from = o.from_budget.map(|m| m.to_major().to_string());
        ia.to = o.to_budget.map(|m| m.to_major().to_string());
        ia.currency = o
            .from_budget
            .or(o.to_budget)
            .map(|m| m.currency.to_string())
            .or(ia.currency.take());
    }
    if kind == ActionKind::SetBudget {
        item.budget_from = o.from_budget.map(|m| m.micros);
        item.budget_to = o.to_budget.map(|m| m.micros);
    }
}

/// What the batch knows about past actions, kept current as rules act: when each rule last
/// acted on each campaign (cooldowns), and each campaign's budget before the first raise of
/// the last 24 hours (the increase limit). Keyed by dry-run or live, which never mix.
#[derive(Default)]
struct Memory {
    last_acted: HashMap<(Uuid, Uuid, bool), DateTime<Utc>>,
    budget_base: HashMap<(Uuid, bool), i64>,
    /// For rules with `at most N times`: when each acted on each campaign.
    acted: super::counts::Acted,
}

/// Loads [`Memory`] for every matched campaign of the batch in two queries.
async fn preload(
    app: &App,
    org_id: Uuid,
    rules_: &[(Uuid, StoredRule, Option<Rule>)],
    evaluated: &[Matches],
    campaigns: &[Loaded],
    now: DateTime<Utc>,
) -> Result<Memory, RunError> {
    let mut ids: Vec<Uuid> = evaluated
        .iter()
        .flat_map(|(_, m)| {
            m.iter()
                .filter_map(|(i, _)| campaigns.get(*i).map(|l| l.id))
        })
        .collect();
    ids.sort();
    ids.dedup();
    if ids.is_empty() {
        return Ok(Memory::default());
    }
    let rule_ids: Vec<Uuid> = rules_.iter().map(|r| r.1.id).collect();
    let longest = rules_
        .iter()
        .filter_map(|r| r.2.as_ref().and_then(Rule::cooldown_minutes))
        .max()
        .unwrap_or(0);
    let since = now - Duration::minutes(i64::try_from(longest).unwrap_or(i64::MAX / 120));
    // `at most N times`: the history back to the longest period (ever, if one says so).
    let limits: Vec<_> = rules_
        .iter()
        .filter_map(|r| r.2.as_ref().and_then(|p| p.times).map(|t| (r.1.id, t)))
        .collect();
    let times_rules: Vec<Uuid> = limits.iter().map(|l| l.0).collect();
    let times_since = limits
        .iter()
        .map(|l| super::counts::since(&l.1, now))
        .try_fold(now, |acc, s| s.map(|s| acc.min(s)));
    app.db
        .tenant(org_id, async move |c| {
            let rows: Vec<(Uuid, Uuid, bool, Option<DateTime<Utc>>)> = rule_run_items::table
                .filter(rule_run_items::acted.eq(true))
                .filter(rule_run_items::rule_id.eq_any(&rule_ids))
                .filter(rule_run_items::object_id.eq_any(&ids))
                .filter(rule_run_items::created_at.gt(since))
                .group_by((
                    rule_run_items::rule_id,
                    rule_run_items::object_id,
                    rule_run_items::dry_run,
                ))
                .select((
                    rule_run_items::rule_id,
                    rule_run_items::object_id,
                    rule_run_items::dry_run,
                    diesel::dsl::max(rule_run_items::created_at),
                ))
                .load(c)
                .await?;
            let last_acted = rows
                .into_iter()
                .filter_map(|(r, cmp, d, at)| at.map(|a| ((r, cmp, d), a)))
                .collect();
            let rows: Vec<(Uuid, bool, Option<i64>)> = rule_run_items::table
                .filter(rule_run_items::object_id.eq_any(&ids))
                .filter(rule_run_items::budget_from_micros.is_not_null())
                .filter(rule_run_items::created_at.gt(now - Duration::hours(24)))
                .order(rule_run_items::created_at.desc())
                .select((
                    rule_run_items::object_id,
                    rule_run_items::dry_run,
                    rule_run_items::budget_from_micros,
                ))
                .load(c)
                .await?;
            // Newest first, so the last insert per campaign is the earliest raise.
            let budget_base = rows
                .into_iter()
                .filter_map(|(cmp, d, b)| b.map(|b| ((cmp, d), b)))
                .collect();
            let acted = super::counts::acted(c, &times_rules, &ids, times_since).await?;
            Ok::<_, RunError>(Memory {
                last_acted,
                budget_base,
                acted,
            })
        })
        .await
}

/// One rule's check, ready to record.
struct Finished {
    summary: CheckSummary,
    items: Vec<NewItem>,
    dry: bool,
    called_platform: bool,
}

/// Per rule: campaigns in scope, and the matched ones (index into `campaigns`, evaluation).
type Matches = (usize, Vec<(usize, Evaluation)>);

fn evaluate_rule(rule: Option<&Rule>, campaigns: &[Loaded]) -> Matches {
    let Some(rule) = rule.filter(|r| r.live_blocker().is_none()) else {
        return (0, Vec::new());
    };
    let mut in_scope = 0;
    let mut matched = Vec::new();
    let platforms = rule
        .scope
        .as_ref()
        .map(|s| s.platforms.as_slice())
        .unwrap_or(&[]);
    let currencies = super::language::checker::rule_currencies(rule);
    for (i, l) in campaigns.iter().enumerate() {
        // The cheap scope test first: evaluate() allocates its result even for campaigns
        // outside the scope, which adds up over a batch of many rules.
        if (!platforms.is_empty() && !platforms.contains(&l.facts.platform))
            || !in_live_scope(rule, &l.facts)
        {
            continue;
        }
        // Fast path, same decision as evaluate(): a campaign whose currency fits the rule and
        // whose condition does not hold needs no Evaluation built (most campaigns, most checks).
        in_scope += 1;
        if currencies.iter().all(|c| *c == l.facts.currency)
            && !eval::condition::evaluate_condition(&rule.condition, &l.facts, l.as_of, None)
        {
            continue;
        }
        if let Some(e) = eval::evaluate(rule, &l.facts, l.as_of, Detail::MatchedOnly)
            && e.matched
        {
            matched.push((i, e));
        }
    }
    (in_scope, matched)
}

/// The rule's scope as the server applies it: removed objects only for rules that name them.
pub fn in_live_scope(rule: &Rule, facts: &eval::CampaignFacts) -> bool {
    (facts.status != super::language::ast::CampaignStatus::Removed || rule.reaches_removed())
        && eval::in_rule_scope(rule, facts)
}

/// Evaluates every rule over every campaign. Pure CPU work: for a big batch (a check of many
/// rules over many campaigns) it is spread over the machine's cores with scoped threads; a
/// single rule stays on the caller's thread.
fn evaluate_all(rules: &[Option<&Rule>], campaigns: &[Loaded]) -> Vec<Matches> {
    let work = rules.len().saturating_mul(campaigns.len());
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(rules.len());
    if work < 200_000 || threads < 2 {
        return rules.iter().map(|r| evaluate_rule(*r, campaigns)).collect();
    }
    let chunk = rules.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = rules
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|r| evaluate_rule(*r, campaigns))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            // A panic in the evaluator is a bug: pass it on rather than misalign the results.
            .flat_map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// One action as a run item records it.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct ItemAction {
    pub kind: String,
    /// executed | would_execute (dry run) | skipped | failed | pending
    pub status: String,
    pub reason: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub currency: Option<String>,
    pub target: Option<String>,
    pub platform_action_id: Option<Uuid>,
    pub platform_answer: Option<String>,
}

impl ItemAction {
    /// The action's target as `role` may see it: webhook URLs are credentials, so a client
    /// sees only their host.
    pub fn target_for(&self, role: &Option<crate::auth::Role>) -> Option<String> {
        let t = self.target.as_ref()?;
        if role.is_some_and(|r| r.can_write()) {
            return Some(t.clone());
        }
        Some(crate::reports::webhooks::redact_urls(t))
    }

    /// The status in words for the history pages (the stored value stays machine-readable).
    pub fn status_label(&self) -> &'static str {
        match self.status.as_str() {
            "executed" => "done",
            "would_execute" => "would run (dry run)",
            "skipped" => "skipped",
            "failed" => "failed",
            "pending" => "pending at the platform",
            _ => "unknown",
        }
    }
}

struct NewItem {
    /// The campaign, ad group or ad the rule was evaluated on.
    object_id: Uuid,
    level: super::language::ast::Level,
    /// The object's campaign.
    campaign_id: Uuid,
    /// The object's name.
    campaign_name: String,
    acted: bool,
    seen: serde_json::Value,
    actions: Vec<ItemAction>,
    budget_from: Option<i64>,
    budget_to: Option<i64>,
}

/// What every rule of one batch check shares.
struct Batch<'a> {
    app: &'a App,
    org_id: Uuid,
    settings: &'a Settings,
    campaigns: &'a [Loaded],
    now: DateTime<Utc>,
    lease: Option<&'a Lease>,
}

/// One rule's check in progress: evaluated objects go through [`RuleCheck::held_back`]
/// (cooldown, `at most N times`), then [`RuleCheck::act`] plans and applies each action
/// ([`RuleCheck::notify`], [`RuleCheck::change`]), then [`RuleCheck::remember`] records
/// what the next objects and rules of the batch must know.
struct RuleCheck<'a> {
    batch: &'a Batch<'a>,
    run_id: Uuid,
    stored: &'a StoredRule,
    rule: &'a Rule,
    slot: DateTime<Utc>,
    dry: bool,
    cooldown: Option<u64>,
    summary: CheckSummary,
    called_platform: bool,
    platform_actions_used: i32,
}

async fn run_one(
    batch: &Batch<'_>,
    run_id: Uuid,
    slot: DateTime<Utc>,
    stored: &StoredRule,
    rule: Option<&Rule>,
    (in_scope, matched): Matches,
    memory: &mut Memory,
) -> Result<Finished, RunError> {
    let mut summary = CheckSummary {
        rule_id: stored.id,
        run_id,
        ..CheckSummary::default()
    };
    // Saving and activation refuse such rules; a run records why rather than skipping quietly.
    let blocked = match rule {
        None => Some("the saved text no longer checks; edit and save the rule".to_string()),
        Some(r) => r.live_blocker(),
    };
    let (Some(rule), None) = (rule, blocked.clone()) else {
        summary.error = blocked;
        return Ok(Finished {
            summary,
            items: Vec::new(),
            dry: true,
            called_platform: false,
        });
    };
    let matched: Vec<(&Loaded, Evaluation)> = matched
        .into_iter()
        .filter_map(|(i, e)| batch.campaigns.get(i).map(|l| (l, e)))
        .collect();
    summary.evaluated = in_scope;
    summary.matched = matched.len();
    let mut check = RuleCheck {
        batch,
        run_id,
        stored,
        rule,
        slot,
        dry: stored.mode != Mode::Live,
        cooldown: rule.cooldown_minutes().filter(|m| *m > 0),
        summary,
        called_platform: false,
        platform_actions_used: 0,
    };
    let mut items = Vec::with_capacity(matched.len());
    for (l, e) in &matched {
        let seen = e.to_json().get("values").cloned().unwrap_or(json!({}));
        let mut item = NewItem {
            object_id: l.id,
            level: l.facts.level(),
            campaign_id: l.campaign,
            campaign_name: l.facts.name.clone(),
            acted: false,
            seen,
            actions: Vec::with_capacity(e.actions.len()),
            budget_from: None,
            budget_to: None,
        };
        if let Some(skipped) = check.held_back(memory, l, e) {
            check.summary.skipped += skipped.len();
            item.actions = skipped;
        } else {
            check.act(memory, l, e, &mut item).await?;
            check.remember(memory, l, &item);
        }
        items.push(item);
    }
    Ok(Finished {
        summary: check.summary,
        items,
        dry: check.dry,
        called_platform: check.called_platform,
    })
}

impl RuleCheck<'_> {
    /// The object's actions, all skipped with the reason, while the rule may not act on it
    /// again yet (cooling down, or `at most N times` reached).
    fn held_back(&self, memory: &Memory, l: &Loaded, e: &Evaluation) -> Option<Vec<ItemAction>> {
        let key = (self.stored.id, l.id, self.dry);
        let now = self.batch.now;
        let cooling = match (memory.last_acted.get(&key).copied(), self.cooldown) {
            (Some(last), Some(m)) => {
                let until = last + Duration::minutes(i64::try_from(m).unwrap_or(0));
                (until > now).then(|| {
                    format!(
                        "cooling down until {} UTC (at most once per {} for this rule)",
                        until.format("%Y-%m-%d %H:%M"),
                        minutes_label(m)
                    )
                })
            }
            _ => None,
        };
        let why = cooling.or_else(|| {
            self.rule.times.and_then(|t| {
                let times = memory.acted.get(&key).map(Vec::as_slice).unwrap_or(&[]);
                super::counts::reached(&t, times, now)
            })
        })?;
        Some(
            e.actions
                .iter()
                .map(|a| {
                    let mut ia = planned(a);
                    ia.status = "skipped".into();
                    ia.reason = Some(why.clone());
                    ia
                })
                .collect(),
        )
    }

    /// The time window an action's intent key names: one per cooldown period, else the
    /// rule's slot, so a retried check reuses the key and changes nothing twice.
    fn window(&self) -> i64 {
        match self.cooldown {
            Some(m) => {
                let step = i64::try_from(m).unwrap_or(1).max(1) * 60;
                let t = self.batch.now.timestamp();
                t - t.rem_euclid(step)
            }
            None => self.slot.timestamp(),
        }
    }

    /// Runs (or, in a dry run, plans) each action of the evaluation on one object.
    async fn act(
        &mut self,
        memory: &Memory,
        l: &Loaded,
        e: &Evaluation,
        item: &mut NewItem,
    ) -> Result<(), RunError> {
        let window = self.window();
        let mut ran_or_failed = false;
        for (idx, a) in e.actions.iter().enumerate() {
            let ia = match &a.step {
                Step::Notify(target) => self.notify(target, a, l, item, ran_or_failed).await,
                Step::Pause | Step::Resume | Step::Budget(_) | Step::Bid(_) => {
                    let ia = self.change(memory, a, idx, l, window, item).await?;
                    if matches!(ia.status.as_str(), "executed" | "failed" | "would_execute") {
                        ran_or_failed = true;
                    }
                    ia
                }
            };
            match ia.status.as_str() {
                "executed" | "would_execute" | "pending" => self.summary.executed += 1,
                "failed" => self.summary.failed += 1,
                _ => self.summary.skipped += 1,
            }
            item.actions.push(ia);
        }
        Ok(())
    }

    /// A webhook or email notice. A `notify` line after changes is sent only when one of
    /// them ran (or failed).
    async fn notify(
        &self,
        target: &NotifyTarget,
        a: &PlannedAction,
        l: &Loaded,
        item: &mut NewItem,
        ran_or_failed: bool,
    ) -> ItemAction {
        let mut ia = planned(a);
        if a.notify_line && !ran_or_failed {
            ia.status = "skipped".into();
            ia.reason = Some("no action of the rule ran".into());
            return ia;
        }
        if self.dry {
            ia.status = "would_execute".into();
            ia.reason = Some(
                match target {
                    NotifyTarget::Webhook { .. } => "dry run: no webhook called",
                    NotifyTarget::Email { .. } => "dry run: no email sent",
                }
                .into(),
            );
            return ia;
        }
        let (app, name) = (self.batch.app, &self.stored.name);
        let sent = match target {
            NotifyTarget::Webhook { url, .. } => {
                let text = notice_text(name, &l.facts, &item.actions);
                crate::reports::webhooks::notify(app, self.batch.org_id, url, &text)
                    .await
                    .map_err(|e| e.to_string())
            }
            NotifyTarget::Email { address, .. } => {
                send_notice(app, address, name, &l.facts, &item.actions).await
            }
        };
        match sent {
            Ok(()) => {
                ia.status = "executed".into();
                // So `at most once per` also spaces out notify-only rules.
                item.acted = true;
            }
            Err(why) => {
                ia.status = "failed".into();
                ia.reason = Some(why);
            }
        }
        ia
    }

    /// Why a change must not be made now, if it must not: skipped by the evaluator, the kill
    /// switch, the per-check limit or the increase limit.
    fn hold_reason(&self, memory: &Memory, a: &PlannedAction, l: &Loaded) -> Option<String> {
        let settings = self.batch.settings;
        if let Some(why) = &a.skipped {
            Some(why.clone())
        } else if !self.dry && settings.kill_switch {
            Some("the kill switch is on: rules change nothing".into())
        } else if self.platform_actions_used >= settings.max_actions_per_check {
            Some(format!(
                "safety limit: at most {} changes per check",
                settings.max_actions_per_check
            ))
        } else {
            over_increase_limit(
                a,
                memory.budget_base.get(&(l.id, self.dry)).copied(),
                settings,
            )
        }
    }

    /// A pause, resume, budget or bid change, through the one audited action path; held back
    /// by the kill switch, the per-check limit and the increase limit.
    async fn change(
        &mut self,
        memory: &Memory,
        a: &PlannedAction,
        idx: usize,
        l: &Loaded,
        window: i64,
        item: &mut NewItem,
    ) -> Result<ItemAction, RunError> {
        let mut ia = planned(a);
        let held = self.hold_reason(memory, a, l);
        if let Some(why) = held {
            ia.status = "skipped".into();
            ia.reason = Some(why);
            return Ok(ia);
        }
        self.platform_actions_used += 1;
        if self.dry {
            ia.status = "would_execute".into();
            ia.reason = Some("dry run: nothing changed on the platform".into());
            item.acted = true;
            if let Step::Budget(_) = a.step {
                item.budget_from = a.from.map(|m| m.micros);
                item.budget_to = a.to.map(|m| m.micros);
            }
            return Ok(ia);
        }
        let (kind, budget, bid) = match &a.step {
            Step::Pause => (ActionKind::Pause, None, None),
            Step::Resume => (ActionKind::Resume, None, None),
            Step::Budget(p) => (ActionKind::SetBudget, Some(p.clone()), None),
            Step::Bid(p) => (ActionKind::SetBid, None, Some(p.clone())),
            Step::Notify(_) => return Ok(ia),
        };
        // The object the rule was evaluated on: the campaign, ad group (Meta: ad set) or ad.
        // The key names that object, so each is changed at most once per rule, window and
        // action, whatever retries happen.
        let target = match l.facts.level() {
            Level::AdGroup => actions::Target::AdGroup(l.id),
            Level::Ad => actions::Target::Ad(l.id),
            Level::Campaign | Level::Account => actions::Target::Campaign(l.id),
        };
        let rule_id = self.stored.id;
        let req = ActionRequest {
            target,
            kind,
            source: actions::Source::Rule {
                rule_id,
                run_id: Some(self.run_id),
            },
            intent_key: format!("rule:{rule_id}:{}:{window}:{idx}", l.id),
            budget,
            bid,
        };
        if let Some(lease) = self.batch.lease {
            lease.renew().await?;
        }
        self.called_platform = true;
        match actions::request(self.batch.app, self.batch.org_id, req).await {
            Ok(o) => record_outcome(&mut ia, item, kind, &o),
            // The database failed, not the platform: the whole check is retried, and the
            // intent key leads the retry to what this attempt may have sent.
            Err(actions::ActionError::Db(e)) => return Err(RunError::Db(e)),
            Err(err) => {
                ia.status = "failed".into();
                ia.reason = Some(err.to_string());
            }
        }
        Ok(ia)
    }

    /// What the rest of the batch must know after the object was handled: when the rule last
    /// acted on it, and its budget before the first raise.
    fn remember(&self, memory: &mut Memory, l: &Loaded, item: &NewItem) {
        let key = (self.stored.id, l.id, self.dry);
        if item.acted {
            memory.last_acted.insert(key, self.batch.now);
            if self.rule.times.is_some() {
                memory.acted.entry(key).or_default().push(self.batch.now);
            }
        }
        if let Some(from) = item.budget_from {
            memory.budget_base.entry((l.id, self.dry)).or_insert(from);
        }
    }
}

fn minutes_label(m: u64) -> String {
    if m % (24 * 60) == 0 {
        format!("{} days", m / (24 * 60))
    } else if m % 60 == 0 {
        format!("{} hours", m / 60)
    } else {
        format!("{m} minutes")
    }
}

/// The limit on budget increases within 24 hours, from the budget before the first raise.
fn over_increase_limit(a: &PlannedAction, base: Option<i64>, s: &Settings) -> Option<String> {
    let (Step::Budget(plan), Some(from), Some(to)) = (&a.step, a.from, a.to) else {
        return None;
    };
    let raises = match plan {
        BudgetPlan::Set(_) => to.micros > from.micros,
        BudgetPlan::Change { direction, .. } => *direction == Direction::Increase,
    };
    if !raises {
        return None;
    }
    let base = base.unwrap_or(from.micros);
    let cap = i128::from(base) * (100 + i128::from(s.max_budget_increase_pct)) / 100;
    (i128::from(to.micros) > cap).then(|| {
        format!(
            "safety limit: rules may raise a budget by at most {}% a day",
            s.max_budget_increase_pct
        )
    })
}

fn planned(a: &PlannedAction) -> ItemAction {
    let v = a.to_json();
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    ItemAction {
        kind: a.kind().to_string(),
        status: "skipped".into(),
        reason: a.skipped.clone(),
        from: s("from"),
        to: s("to"),
        currency: s("currency"),
        target: s("target"),
        platform_action_id: None,
        platform_answer: None,
    }
}

async fn send_notice(
    app: &App,
    to: &str,
    rule: &str,
    object: &eval::CampaignFacts,
    done: &[ItemAction],
) -> Result<(), String> {
    let email = crate::mailer::Email {
        to: to.to_string(),
        subject: format!("adpilot: rule \"{rule}\" on {}", object.name),
        text: notice_text(rule, object, done),
        html: None,
        headers: Vec::new(),
    };
    app.mailer.send(&email).await.map_err(|e| e.to_string())
}

/// The object's kind in the platform's words ("ad set" on Meta, "ad group" elsewhere).
fn object_word(object: &eval::CampaignFacts) -> &'static str {
    match (object.level(), object.platform) {
        (Level::AdGroup, Platform::Meta) => "ad set",
        (Level::AdGroup, _) => "ad group",
        (Level::Ad, _) => "ad",
        (Level::Campaign | Level::Account, _) => "campaign",
    }
}

/// What a rule's notification says, by email or webhook.
fn notice_text(rule: &str, object: &eval::CampaignFacts, done: &[ItemAction]) -> String {
    let mut text = format!(
        "adpilot rule \"{rule}\" matched {} \"{}\".\n\n",
        object_word(object),
        object.name
    );
    if let Some(campaign) = object.details.campaign_name.as_deref() {
        text.push_str(&format!("Campaign: \"{campaign}\"\n\n"));
    }
    for a in done {
        text.push_str(&format!(
            "- {}: {}{}\n",
            a.kind,
            a.status,
            a.reason
                .as_ref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
    }
    if done.is_empty() {
        text.push_str("The rule asked to be told.\n");
    }
    text
}

/// Items per insert statement: bounds the statement's memory, not a bind-parameter limit
/// (one array per column).
const ITEMS_PER_INSERT: usize = 20_000;

/// Writes matched items in one `unnest` statement: thirteen array parameters rather than a
/// row of fifteen parameters per item (a check of 200 ad rules writes 145,000 items, and the
/// per-row `VALUES` form spent its time building, sending and parsing the statement).
async fn insert_items(
    c: &mut Conn,
    org_id: Uuid,
    now: DateTime<Utc>,
    chunk: &[(&CheckSummary, bool, &NewItem)],
) -> Result<(), RunError> {
    use diesel::sql_types::{Array, BigInt, Bool, Jsonb, Nullable, Text, Timestamptz};
    type Uuids = Array<diesel::sql_types::Uuid>;
    let n = chunk.len();
    let mut ids = Vec::with_capacity(n);
    let (mut runs, mut rule_ids, mut campaigns, mut objects) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut levels, mut names, mut dry, mut acted) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    let (mut seen, mut actions, mut from, mut to) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for (s, d, i) in chunk {
        ids.push(Uuid::now_v7());
        runs.push(s.run_id);
        rule_ids.push(s.rule_id);
        campaigns.push(i.campaign_id);
        objects.push(i.object_id);
        levels.push(i.level.as_str());
        names.push(i.campaign_name.as_str());
        dry.push(*d);
        acted.push(i.acted);
        seen.push(&i.seen);
        actions.push(serde_json::to_value(&i.actions).unwrap_or(json!([])));
        from.push(i.budget_from);
        to.push(i.budget_to);
    }
    diesel::sql_query(
        "INSERT INTO rule_run_items (id, org_id, run_id, rule_id, campaign_id, object_id, level, \
             campaign_name, dry_run, acted, seen, actions, budget_from_micros, budget_to_micros, \
             created_at) \
         SELECT u.id, $1, u.run_id, u.rule_id, u.campaign_id, u.object_id, u.level, u.name, \
             u.dry_run, u.acted, u.seen, u.actions, u.budget_from, u.budget_to, $2 \
         FROM unnest($3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::uuid[], $8::text[], \
             $9::text[], $10::bool[], $11::bool[], $12::jsonb[], $13::jsonb[], $14::int8[], \
             $15::int8[]) \
           AS u(id, run_id, rule_id, campaign_id, object_id, level, name, dry_run, acted, seen, \
             actions, budget_from, budget_to)",
    )
    .bind::<diesel::sql_types::Uuid, _>(org_id)
    .bind::<Timestamptz, _>(now)
    .bind::<Uuids, _>(&ids)
    .bind::<Uuids, _>(&runs)
    .bind::<Uuids, _>(&rule_ids)
    .bind::<Uuids, _>(&campaigns)
    .bind::<Uuids, _>(&objects)
    .bind::<Array<Text>, _>(&levels)
    .bind::<Array<Text>, _>(&names)
    .bind::<Array<Bool>, _>(&dry)
    .bind::<Array<Bool>, _>(&acted)
    .bind::<Array<Jsonb>, _>(&seen)
    .bind::<Array<Jsonb>, _>(&actions)
    .bind::<Array<Nullable<BigInt>>, _>(&from)
    .bind::<Array<Nullable<BigInt>>, _>(&to)
    .execute(c)
    .await?;
    Ok(())
}

async fn finish(
    app: &App,
    org_id: Uuid,
    done: Vec<Finished>,
    now: DateTime<Utc>,
) -> Result<(), RunError> {
    if done.is_empty() {
        return Ok(());
    }
    app.db
        .tenant(org_id, async move |c| {
            let all: Vec<(&CheckSummary, bool, &NewItem)> = done
                .iter()
                .flat_map(|f| f.items.iter().map(move |i| (&f.summary, f.dry, i)))
                .collect();
            for chunk in all.chunks(ITEMS_PER_INSERT) {
                insert_items(c, org_id, now, chunk).await?;
            }
            // Changes this check found still open (another run of the same slot was sending
            // them when its database connection was lost, or the platform asked to wait) are
            // finished by a job of their own, not left to the periodic sweep.
            let mut open: Vec<Uuid> = all
                .iter()
                .filter(|(_, dry, _)| !dry)
                .flat_map(|(_, _, i)| &i.actions)
                .filter(|a| a.status == "pending")
                .filter_map(|a| a.platform_action_id)
                .collect();
            // And what earlier runs of these rules left open, matched now or not.
            let live: Vec<Uuid> = done
                .iter()
                .filter(|f| !f.dry)
                .map(|f| f.summary.rule_id)
                .collect();
            if !live.is_empty() {
                let runs: Vec<Uuid> = done.iter().map(|f| f.summary.run_id).collect();
                for id in crate::campaigns::actions::open_of_rules(c, &live, &runs).await? {
                    if !open.contains(&id) {
                        open.push(id);
                    }
                }
            }
            if !open.is_empty() {
                crate::jobs::enqueue(
                    c,
                    Some(org_id),
                    &crate::campaigns::jobs::FinishActions { ids: open },
                )
                .await?;
            }
            let n = |x: usize| i32::try_from(x).unwrap_or(i32::MAX);
            let finished = Utc::now();
            for f in &done {
                let s = &f.summary;
                diesel::update(rule_runs::table.find(s.run_id))
                    .set((
                        rule_runs::finished_at.eq(Some(finished)),
                        rule_runs::campaigns_evaluated.eq(n(s.evaluated)),
                        rule_runs::campaigns_matched.eq(n(s.matched)),
                        rule_runs::actions_executed.eq(n(s.executed)),
                        rule_runs::actions_skipped.eq(n(s.skipped)),
                        rule_runs::actions_failed.eq(n(s.failed)),
                        rule_runs::error.eq(&s.error),
                    ))
                    .execute(c)
                    .await?;
            }
            Ok::<_, RunError>(())
        })
        .await
}

/// One campaign in an editor preview.
#[derive(Debug, Clone)]
pub struct PreviewRow {
    pub campaign_id: Uuid,
    pub campaign_name: String,
    pub platform: Platform,
    pub evaluation: Evaluation,
}

/// Which campaigns `rule` matches right now and what it would do (cooldowns and safety limits
/// not applied; nothing recorded). Also returns how many campaigns were in scope.
pub async fn preview(
    app: &App,
    org_id: Uuid,
    rule: &Rule,
    now: DateTime<Utc>,
) -> Result<(usize, Vec<PreviewRow>), RunError> {
    let windows: BTreeSet<WindowKey> = rule.required_windows();
    let platforms = rule
        .scope
        .as_ref()
        .map(|s| s.platforms.clone())
        .filter(|p| !p.is_empty());
    let loaded = app
        .db
        .tenant(org_id, async move |c| {
            let zones = facts::zones(c, now).await?;
            Ok::<_, RunError>(
                super::level_facts::load_for(
                    c,
                    &zones,
                    &windows,
                    platforms,
                    Source::Current,
                    &[rule],
                )
                .await?,
            )
        })
        .await?;
    let mut in_scope = 0;
    let mut out = Vec::new();
    for l in &loaded {
        if !in_live_scope(rule, &l.facts) {
            continue;
        }
        if let Some(e) = eval::evaluate(rule, &l.facts, l.as_of, Detail::MatchedOnly) {
            in_scope += 1;
            if e.matched || e.skipped.is_some() {
                out.push(PreviewRow {
                    campaign_id: l.id,
                    campaign_name: l.facts.name.clone(),
                    platform: l.facts.platform,
                    evaluation: e,
                });
            }
        }
    }
    Ok((in_scope, out))
}

/// Ids of the organization's rules due at `now`, with the slot each check stands for.
pub async fn due(
    c: &mut Conn,
    now: DateTime<Utc>,
) -> diesel::QueryResult<Vec<(Uuid, DateTime<Utc>)>> {
    let tz = crate::auth::accounts::current_org_time_zone(c).await?;
    let list = store::list(c).await?;
    Ok(list
        .into_iter()
        .filter(|r| r.is_due(now, tz))
        .map(|r| (r.id, r.slot(now, tz)))
        .collect())
}
