//! Saved rules and the organization's safety settings. Every function takes a tenant
//! transaction: row-level security scopes it to one organization.

use chrono::{DateTime, NaiveTime, TimeZone, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::language::ast::Schedule;
use super::language::{self, Diagnostic, Rule, checker};
use super::schema::{rule_settings, rules};
use crate::db::Conn;

/// A rule's mode, outside its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Saved, never checked.
    Draft,
    /// Checked and logged; nothing is changed on a platform and no email is sent.
    DryRun,
    Live,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::Draft, Mode::DryRun, Mode::Live];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Draft => "draft",
            Mode::DryRun => "dry_run",
            Mode::Live => "live",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Mode::Draft => "draft",
            Mode::DryRun => "dry run",
            Mode::Live => "live",
        }
    }

    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "draft" => Some(Mode::Draft),
            "dry_run" => Some(Mode::DryRun),
            "live" => Some(Mode::Live),
            _ => None,
        }
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Debug, Clone)]
pub struct StoredRule {
    pub id: Uuid,
    pub name: String,
    pub text: String,
    pub mode: Mode,
    pub paused: bool,
    pub check_every_minutes: Option<i32>,
    pub check_daily_at: Option<NaiveTime>,
    pub owner_user_id: Option<Uuid>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl StoredRule {
    /// The parsed rule. Saved text was checked, so `None` only if the language changed since.
    pub fn parsed(&self) -> Option<Rule> {
        language::check_single(&self.text)
            .into_result()
            .ok()
            .and_then(|mut r| r.pop())
    }

    pub fn schedule_label(&self) -> String {
        match (self.check_every_minutes, self.check_daily_at) {
            (_, Some(t)) => format!("daily at {}", t.format("%H:%M")),
            (Some(m), None) if m % 60 == 0 => format!("every {} h", m / 60),
            (Some(m), None) => format!("every {m} min"),
            _ => "every 15 min".into(),
        }
    }

    /// The latest scheduled check time at or before `now` (`tz`: the organization's zone, for
    /// `check daily at`).
    pub fn slot(&self, now: DateTime<Utc>, tz: chrono_tz::Tz) -> DateTime<Utc> {
        match (self.check_every_minutes, self.check_daily_at) {
            (_, Some(at)) => {
                let local = now.with_timezone(&tz);
                let mut day = local.date_naive();
                loop {
                    // A time skipped by a DST change falls back to the earliest valid reading.
                    let candidate = tz
                        .from_local_datetime(&day.and_time(at))
                        .earliest()
                        .map(|d| d.with_timezone(&Utc));
                    match candidate {
                        Some(c) if c <= now => return c,
                        _ => match day.pred_opt() {
                            Some(d) => day = d,
                            None => return now,
                        },
                    }
                }
            }
            (m, None) => {
                let step = i64::from(m.unwrap_or(15).max(5)) * 60;
                let t = now.timestamp();
                DateTime::from_timestamp(t - t.rem_euclid(step), 0).unwrap_or(now)
            }
        }
    }

    /// Due when not yet checked for its current slot.
    pub fn is_due(&self, now: DateTime<Utc>, tz: chrono_tz::Tz) -> bool {
        if self.paused || self.mode == Mode::Draft {
            return false;
        }
        let slot = self.slot(now, tz);
        self.last_run_at.is_none_or(|l| l < slot)
    }
}

type RuleRow = (
    Uuid,
    String,
    String,
    String,
    bool,
    Option<i32>,
    Option<NaiveTime>,
    Option<Uuid>,
    Option<DateTime<Utc>>,
    DateTime<Utc>,
    DateTime<Utc>,
);

macro_rules! rule_columns {
    () => {
        (
            rules::id,
            rules::name,
            rules::text,
            rules::mode,
            rules::paused,
            rules::check_every_minutes,
            rules::check_daily_at,
            rules::owner_user_id,
            rules::last_run_at,
            rules::created_at,
            rules::updated_at,
        )
    };
}

fn from_row(r: RuleRow) -> StoredRule {
    StoredRule {
        id: r.0,
        name: r.1,
        text: r.2,
        mode: Mode::parse(&r.3).unwrap_or(Mode::Draft),
        paused: r.4,
        check_every_minutes: r.5,
        check_daily_at: r.6,
        owner_user_id: r.7,
        last_run_at: r.8,
        created_at: r.9,
        updated_at: r.10,
    }
}

/// Claims each rule's slot for a queued check: returns the (rule, slot) pairs whose slot is
/// later than the one last queued, and records it, so a slot is queued once however often the
/// tick runs. Call in the transaction that enqueues the check.
pub async fn claim_slots(
    c: &mut Conn,
    due: &[(Uuid, DateTime<Utc>)],
) -> QueryResult<Vec<(Uuid, DateTime<Utc>)>> {
    #[derive(QueryableByName)]
    struct Claimed {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        slot: DateTime<Utc>,
    }
    let (ids, slots): (Vec<Uuid>, Vec<DateTime<Utc>>) = due.iter().copied().unzip();
    let claimed: Vec<Claimed> = diesel::sql_query(
        "UPDATE rules r SET queued_slot = d.slot
         FROM unnest($1::uuid[], $2::timestamptz[]) AS d(id, slot)
         WHERE r.id = d.id AND (r.queued_slot IS NULL OR r.queued_slot < d.slot)
         RETURNING r.id, d.slot",
    )
    .bind::<diesel::sql_types::Array<diesel::sql_types::Uuid>, _>(ids)
    .bind::<diesel::sql_types::Array<diesel::sql_types::Timestamptz>, _>(slots)
    .load(c)
    .await?;
    Ok(claimed.into_iter().map(|r| (r.id, r.slot)).collect())
}

pub async fn list(c: &mut Conn) -> QueryResult<Vec<StoredRule>> {
    let rows: Vec<RuleRow> = rules::table
        .select(rule_columns!())
        .order(rules::name.asc())
        .load(c)
        .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

pub async fn get(c: &mut Conn, id: Uuid) -> QueryResult<StoredRule> {
    rules::table
        .find(id)
        .select(rule_columns!())
        .first::<RuleRow>(c)
        .await
        .map(from_row)
}

pub async fn live(c: &mut Conn) -> QueryResult<Vec<StoredRule>> {
    let rows: Vec<RuleRow> = rules::table
        .filter(rules::mode.eq(Mode::Live.as_str()))
        .filter(rules::paused.eq(false))
        .select(rule_columns!())
        .load(c)
        .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// What saving produced: the rule's id, or the diagnostics (nothing saved).
pub type SaveResult = Result<Uuid, Vec<Diagnostic>>;

/// Checks and saves rule text (a new rule when `id` is `None`). The text must hold exactly one
/// valid rule whose name no other rule of the organization uses; otherwise nothing is saved and
/// the errors come back with their positions.
pub async fn save(
    c: &mut Conn,
    org_id: Uuid,
    owner: Uuid,
    id: Option<Uuid>,
    text: &str,
    mode: Mode,
) -> QueryResult<SaveResult> {
    let checked = language::check_single(text);
    if checked.has_errors() {
        return Ok(Err(checked
            .diagnostics
            .into_iter()
            .filter(Diagnostic::is_error)
            .collect()));
    }
    let Some(rule) = checked.rules.into_iter().next() else {
        return Ok(Err(Vec::new()));
    };
    if mode != Mode::Draft
        && let Some(d) = live_blocker_diagnostic(&rule)
    {
        return Ok(Err(vec![d]));
    }
    // Every other rule's name (`id != NULL` would match nothing, hence the two queries).
    let others: Vec<String> = match id {
        Some(id) => {
            rules::table
                .filter(rules::id.ne(id))
                .select(rules::name)
                .load(c)
                .await?
        }
        None => rules::table.select(rules::name).load(c).await?,
    };
    if let Some(d) = checker::check_name_available(&rule, others.iter().map(String::as_str)) {
        return Ok(Err(vec![d]));
    }
    let (every, daily) = match rule.schedule() {
        Schedule::EveryMinutes(m) => (Some(i32::try_from(m).unwrap_or(i32::MAX)), None),
        Schedule::DailyAt(t) => (None, Some(t)),
    };
    let now = Utc::now();
    let result = match id {
        None => {
            let new_id = Uuid::now_v7();
            diesel::insert_into(rules::table)
                .values((
                    rules::id.eq(new_id),
                    rules::org_id.eq(org_id),
                    rules::name.eq(rule.name.trim()),
                    rules::text.eq(text),
                    rules::mode.eq(mode.as_str()),
                    rules::check_every_minutes.eq(every),
                    rules::check_daily_at.eq(daily),
                    rules::owner_user_id.eq(Some(owner)),
                ))
                .execute(c)
                .await
                .map(|_| new_id)
        }
        Some(id) => {
            diesel::update(rules::table.find(id))
                .set((
                    rules::name.eq(rule.name.trim()),
                    rules::text.eq(text),
                    rules::mode.eq(mode.as_str()),
                    rules::check_every_minutes.eq(every),
                    rules::check_daily_at.eq(daily),
                    rules::updated_at.eq(now),
                ))
                .returning(rules::id)
                .get_result(c)
                .await
        }
    };
    match result {
        Ok(id) => Ok(Ok(id)),
        // Two saves racing for one name: the unique index decides, with the checker's message.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(Err(checker::check_name_available(
            &rule,
            [rule.name.as_str()],
        )
        .into_iter()
        .collect())),
        Err(e) => Err(e),
    }
}

/// The organization's managed ad accounts (the ones rules act on) as (platform, external id,
/// currency), for the editor's currency warning.
pub async fn account_currencies(
    c: &mut Conn,
) -> QueryResult<Vec<(crate::types::Platform, String, crate::types::Currency)>> {
    Ok(crate::connections::service::managed_accounts(c)
        .await?
        .into_iter()
        .map(|a| (a.platform, a.external_id, a.currency))
        .collect())
}

/// Version 2 rules the runner cannot run yet (ad-group/ad levels, bids, ...): valid text that
/// may be saved as a draft, evaluated on CSV, but not set to dry run or live.
pub fn live_blocker_diagnostic(rule: &Rule) -> Option<Diagnostic> {
    let why = rule.live_blocker()?;
    let at = rule.scope.as_ref().map_or(rule.pos, |s| s.level_pos);
    Some(
        Diagnostic::error(at, why)
            .with_help("save it as a draft; `adpilot rules eval` runs it on a CSV export"),
    )
}

/// Why `rule` may not be switched to `mode`, if it may not.
pub fn mode_blocker(rule: &Rule, mode: Mode) -> Option<String> {
    match mode {
        Mode::Draft => None,
        Mode::DryRun | Mode::Live => rule.live_blocker(),
    }
}

pub async fn set_mode(c: &mut Conn, id: Uuid, mode: Mode) -> QueryResult<usize> {
    diesel::update(rules::table.find(id))
        .set((
            rules::mode.eq(mode.as_str()),
            rules::updated_at.eq(Utc::now()),
        ))
        .execute(c)
        .await
}

pub async fn set_paused(c: &mut Conn, id: Uuid, paused: bool) -> QueryResult<usize> {
    diesel::update(rules::table.find(id))
        .set((rules::paused.eq(paused), rules::updated_at.eq(Utc::now())))
        .execute(c)
        .await
}

pub async fn delete(c: &mut Conn, id: Uuid) -> QueryResult<usize> {
    diesel::delete(rules::table.find(id)).execute(c).await
}

pub async fn mark_run(c: &mut Conn, id: Uuid, at: DateTime<Utc>) -> QueryResult<usize> {
    diesel::update(rules::table.find(id))
        .set(rules::last_run_at.eq(Some(at)))
        .execute(c)
        .await
}

/// The organization's safety limits for rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Platform changes (pause, resume, budget) one check of one rule may make.
    pub max_actions_per_check: i32,
    /// How far rules may raise one campaign's budget within 24 hours, in percent of the budget
    /// before the first raise.
    pub max_budget_increase_pct: i32,
    /// Stops every live rule's platform changes at once.
    pub kill_switch: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_actions_per_check: 50,
            max_budget_increase_pct: 100,
            kill_switch: false,
        }
    }
}

pub async fn settings(c: &mut Conn) -> QueryResult<Settings> {
    let row: Option<(i32, i32, bool)> = rule_settings::table
        .select((
            rule_settings::max_actions_per_check,
            rule_settings::max_budget_increase_pct,
            rule_settings::kill_switch,
        ))
        .first(c)
        .await
        .optional()?;
    Ok(row.map_or_else(Settings::default, |r| Settings {
        max_actions_per_check: r.0,
        max_budget_increase_pct: r.1,
        kill_switch: r.2,
    }))
}

pub async fn save_settings(c: &mut Conn, org_id: Uuid, by: Uuid, s: Settings) -> QueryResult<()> {
    diesel::insert_into(rule_settings::table)
        .values((
            rule_settings::org_id.eq(org_id),
            rule_settings::max_actions_per_check.eq(s.max_actions_per_check),
            rule_settings::max_budget_increase_pct.eq(s.max_budget_increase_pct),
            rule_settings::kill_switch.eq(s.kill_switch),
            rule_settings::updated_by.eq(Some(by)),
        ))
        .on_conflict(rule_settings::org_id)
        .do_update()
        .set((
            rule_settings::max_actions_per_check.eq(s.max_actions_per_check),
            rule_settings::max_budget_increase_pct.eq(s.max_budget_increase_pct),
            rule_settings::kill_switch.eq(s.kill_switch),
            rule_settings::updated_by.eq(Some(by)),
            rule_settings::updated_at.eq(Utc::now()),
        ))
        .execute(c)
        .await?;
    Ok(())
}

/// Live, unpaused rules of the current organization (what the plan's live-rule limit counts).
pub async fn live_rule_count(c: &mut Conn) -> diesel::QueryResult<u64> {
    crate::db::count(
        c,
        diesel::sql_query("SELECT count(*) AS n FROM rules WHERE mode = 'live' AND NOT paused"),
    )
    .await
}
