//! The one audited path for every change adpilot makes on a platform: pause, resume and daily
//! budget changes, from a person's click or a rule.
//!
//! 1. An intent row is inserted under a key unique per organization (a rule derives it from
//!    rule, campaign and window; a form carries one minted when the page was drawn). A second
//!    request with the same key finds the first and never acts again.
//! 2. For a budget change, the budget is read from the platform and the from/to amounts are
//!    stored *before* the platform is called.
//! 3. The platform is called outside any transaction; the outcome, the platform's answer and an
//!    audit entry are recorded after.
//!
//! If the process dies between 2 and 3, [`execute`] on the same intent compares the platform's
//! current budget with the stored amounts: equal to `to` means the call landed (succeeded, not
//! repeated); equal to `from` means it did not (it is made now); anything else is refused.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use uuid::Uuid;

use crate::app::App;
use crate::audit;
use crate::automation::eval::BudgetPlan;
use crate::db::schema::{campaigns, platform_actions};
use crate::platforms::PlatformError;
use crate::types::{Currency, Money};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Pause,
    Resume,
    SetBudget,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Pause => "pause",
            ActionKind::Resume => "resume",
            ActionKind::SetBudget => "set_budget",
        }
    }

    /// The kind of a stored intent (`kind` column).
    pub fn from_stored(s: &str) -> ActionKind {
        Self::parse(s)
    }

    fn parse(s: &str) -> ActionKind {
        match s {
            "pause" => ActionKind::Pause,
            "resume" => ActionKind::Resume,
            _ => ActionKind::SetBudget,
        }
    }
}

/// Who asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    User(Uuid),
    Rule { rule_id: Uuid, run_id: Option<Uuid> },
}

#[derive(Debug, Clone)]
pub struct ActionRequest {
    pub campaign_id: Uuid,
    pub kind: ActionKind,
    pub source: Source,
    /// Unique per organization: the same key never acts twice.
    pub intent_key: String,
    /// For [`ActionKind::SetBudget`]: applied to the budget read at execution time.
    pub budget: Option<BudgetPlan>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionState {
    Pending,
    Executing,
    Succeeded,
    Skipped,
    Failed,
}

impl ActionState {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionState::Pending => "pending",
            ActionState::Executing => "executing",
            ActionState::Succeeded => "succeeded",
            ActionState::Skipped => "skipped",
            ActionState::Failed => "failed",
        }
    }

    fn parse(s: &str) -> ActionState {
        match s {
            "pending" => ActionState::Pending,
            "executing" => ActionState::Executing,
            "succeeded" => ActionState::Succeeded,
            "skipped" => ActionState::Skipped,
            _ => ActionState::Failed,
        }
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            ActionState::Succeeded | ActionState::Skipped | ActionState::Failed
        )
    }
}

/// What happened to an intent.
#[derive(Debug, Clone)]
pub struct ActionOutcome {
    pub id: Uuid,
    pub campaign_id: Uuid,
    pub kind: ActionKind,
    pub state: ActionState,
    pub message: Option<String>,
    pub platform_response: Option<String>,
    pub from_budget: Option<Money>,
    pub to_budget: Option<Money>,
    pub source: String,
    pub rule_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("not found")]
    NotFound,
    #[error("a budget change needs an amount")]
    NoBudget,
    #[error("{0}")]
    Connection(#[from] crate::connections::ConnError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
}

impl From<diesel::result::Error> for ActionError {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::NotFound => ActionError::NotFound,
            e => ActionError::Db(crate::db::DbError::Query(e)),
        }
    }
}

impl From<ActionError> for crate::web::error::AppError {
    fn from(e: ActionError) -> Self {
        use crate::web::error::AppError;
        match e {
            ActionError::NotFound => AppError::NotFound,
            ActionError::Db(d) => d.into(),
            other => AppError::BadRequest(other.to_string()),
        }
    }
}

type Row = (
    Uuid,
    Uuid,
    String,
    String,
    Option<Uuid>,
    Option<serde_json::Value>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    DateTime<Utc>,
    Option<DateTime<Utc>>,
);

macro_rules! row_columns {
    () => {
        (
            platform_actions::id,
            platform_actions::campaign_id,
            platform_actions::kind,
            platform_actions::source,
            platform_actions::rule_id,
            platform_actions::budget_change,
            platform_actions::from_budget_micros,
            platform_actions::to_budget_micros,
            platform_actions::currency,
            platform_actions::state,
            platform_actions::message,
            platform_actions::platform_response,
            platform_actions::created_at,
            platform_actions::finished_at,
        )
    };
}

fn outcome(r: Row) -> ActionOutcome {
    let currency: Option<Currency> = r.8.as_deref().and_then(|c| c.parse().ok());
    ActionOutcome {
        id: r.0,
        campaign_id: r.1,
        kind: ActionKind::parse(&r.2),
        source: r.3,
        rule_id: r.4,
        from_budget: r.6.zip(currency).map(|(m, c)| Money::new(m, c)),
        to_budget: r.7.zip(currency).map(|(m, c)| Money::new(m, c)),
        state: ActionState::parse(&r.9),
        message: r.10,
        platform_response: r.11,
        created_at: r.12,
        finished_at: r.13,
    }
}

/// Records the intent (once per key) and executes it. Asking again with the same key returns
/// what the first request did, or finishes it if it was interrupted.
pub async fn request(
    app: &App,
    org_id: Uuid,
    req: ActionRequest,
) -> Result<ActionOutcome, ActionError> {
    if req.kind == ActionKind::SetBudget && req.budget.is_none() {
        return Err(ActionError::NoBudget);
    }
    let plan = match &req.budget {
        Some(p) => Some(
            serde_json::to_value(p)
                .map_err(|e| ActionError::Db(crate::db::DbError::Connect(e.to_string())))?,
        ),
        None => None,
    };
    let (source, actor, rule_id, run_id) = match req.source {
        Source::User(u) => ("user", Some(u), None, None),
        Source::Rule { rule_id, run_id } => ("rule", None, Some(rule_id), run_id),
    };
    let key = req.intent_key.clone();
    let id = app
        .db
        .tenant(org_id, async move |c| {
            // The campaign must exist in this organization.
            campaigns::table
                .find(req.campaign_id)
                .select(campaigns::id)
                .first::<Uuid>(c)
                .await?;
            let inserted: Option<Uuid> = diesel::insert_into(platform_actions::table)
                .values((
                    platform_actions::id.eq(Uuid::now_v7()),
                    platform_actions::org_id.eq(org_id),
                    platform_actions::campaign_id.eq(req.campaign_id),
                    platform_actions::kind.eq(req.kind.as_str()),
                    platform_actions::source.eq(source),
                    platform_actions::intent_key.eq(&key),
                    platform_actions::actor_user_id.eq(actor),
                    platform_actions::rule_id.eq(rule_id),
                    platform_actions::rule_run_id.eq(run_id),
                    platform_actions::budget_change.eq(plan),
                ))
                .on_conflict((platform_actions::org_id, platform_actions::intent_key))
                .do_nothing()
                .returning(platform_actions::id)
                .get_result(c)
                .await
                .optional()?;
            match inserted {
                Some(id) => Ok::<_, ActionError>(id),
                None => Ok(platform_actions::table
                    .filter(platform_actions::intent_key.eq(&key))
                    .select(platform_actions::id)
                    .first(c)
                    .await?),
            }
        })
        .await?;
    execute(app, org_id, id).await
}

/// Loads an intent.
pub async fn get(app: &App, org_id: Uuid, id: Uuid) -> Result<ActionOutcome, ActionError> {
    app.db
        .tenant(org_id, async move |c| {
            Ok(outcome(
                platform_actions::table
                    .find(id)
                    .select(row_columns!())
                    .first::<Row>(c)
                    .await?,
            ))
        })
        .await
}

/// Recent actions on one campaign, newest first (the campaign page's history).
pub async fn for_campaign(
    app: &App,
    org_id: Uuid,
    campaign_id: Uuid,
    limit: i64,
) -> Result<Vec<ActionOutcome>, ActionError> {
    app.db
        .tenant(org_id, async move |c| {
            let rows: Vec<Row> = platform_actions::table
                .filter(platform_actions::campaign_id.eq(campaign_id))
                .select(row_columns!())
                .order(platform_actions::created_at.desc())
                .limit(limit)
                .load(c)
                .await?;
            Ok(rows.into_iter().map(outcome).collect())
        })
        .await
}

enum Step {
    Done(ActionState, String, Option<String>),
    Retry(String),
}

/// Executes (or finishes) an intent. Safe to call any number of times.
pub async fn execute(app: &App, org_id: Uuid, id: Uuid) -> Result<ActionOutcome, ActionError> {
    // Claim: only one caller moves an intent from pending; a stuck "executing" one is resumed.
    let claimed = app
        .db
        .tenant(org_id, async move |c| {
            let row: Row = platform_actions::table
                .find(id)
                .select(row_columns!())
                .for_update()
                .first(c)
                .await?;
            let current = outcome(row.clone());
            if current.state.is_final() {
                return Ok::<_, ActionError>(None);
            }
            diesel::update(platform_actions::table.find(id))
                .set((
                    platform_actions::state.eq(ActionState::Executing.as_str()),
                    platform_actions::attempts.eq(platform_actions::attempts + 1),
                    platform_actions::started_at.eq(Some(Utc::now())),
                ))
                .execute(c)
                .await?;
            let campaign: (Uuid, String, String) = campaigns::table
                .find(current.campaign_id)
                .select((
                    campaigns::account_id,
                    campaigns::external_id,
                    campaigns::status,
                ))
                .first(c)
                .await?;
            Ok(Some((row, campaign)))
        })
        .await?;
    let Some((row, (account_id, external_id, status))) = claimed else {
        return get(app, org_id, id).await;
    };
    let current = outcome(row.clone());
    let plan: Option<BudgetPlan> = row.5.clone().and_then(|v| serde_json::from_value(v).ok());

    let step = match crate::connections::service::account_access(app, org_id, account_id).await {
        Err(e) => Step::Done(
            ActionState::Failed,
            format!("The ad account cannot be reached: {e}"),
            None,
        ),
        Ok((platform, creds, account)) => {
            let adapter = app.platforms.adapter(platform);
            match current.kind {
                ActionKind::Pause | ActionKind::Resume => {
                    let (want, label) = if current.kind == ActionKind::Pause {
                        ("paused", "paused")
                    } else {
                        ("active", "active")
                    };
                    if status == want {
                        Step::Done(ActionState::Skipped, format!("already {label}"), None)
                    } else {
                        let r = if current.kind == ActionKind::Pause {
                            adapter.pause(&creds, &account, &external_id).await
                        } else {
                            adapter.resume(&creds, &account, &external_id).await
                        };
                        match r {
                            Ok(()) => {
                                let s = want.to_string();
                                let cid = current.campaign_id;
                                app.db
                                    .tenant(org_id, async move |c| {
                                        diesel::update(campaigns::table.find(cid))
                                            .set((
                                                campaigns::status.eq(s),
                                                campaigns::updated_at.eq(Utc::now()),
                                            ))
                                            .execute(c)
                                            .await?;
                                        Ok::<_, ActionError>(())
                                    })
                                    .await?;
                                Step::Done(
                                    ActionState::Succeeded,
                                    format!(
                                        "{} on {}",
                                        if want == "paused" {
                                            "paused"
                                        } else {
                                            "resumed"
                                        },
                                        platform.label()
                                    ),
                                    Some("ok".into()),
                                )
                            }
                            Err(e) => platform_failure(e),
                        }
                    }
                }
                ActionKind::SetBudget => match adapter
                    .daily_budget(&creds, &account, &external_id)
                    .await
                {
                    Err(e) => platform_failure(e),
                    Ok(None) => Step::Done(
                        ActionState::Skipped,
                        "the campaign has no daily budget of its own".into(),
                        None,
                    ),
                    Ok(Some(now_budget)) => {
                        match (current.from_budget, current.to_budget) {
                            // Resuming an interrupted change: decide from what the platform shows.
                            (Some(from), Some(to)) if now_budget == to => {
                                let _ = from;
                                record_budget(app, org_id, current.campaign_id, to).await?;
                                Step::Done(
                                    ActionState::Succeeded,
                                    format!(
                                        "budget {} → {} (confirmed after an interruption)",
                                        from, to
                                    ),
                                    Some("already applied".into()),
                                )
                            }
                            (Some(from), Some(to)) if now_budget == from => {
                                set_budget(
                                    app,
                                    org_id,
                                    &adapter,
                                    &creds,
                                    &account,
                                    &external_id,
                                    current.campaign_id,
                                    from,
                                    to,
                                )
                                .await?
                            }
                            (Some(_), Some(_)) => Step::Done(
                                ActionState::Failed,
                                format!(
                                    "the budget changed on the platform to {now_budget} meanwhile; nothing was done"
                                ),
                                None,
                            ),
                            _ => match plan.as_ref().map(|p| p.apply(now_budget)) {
                                None => Step::Done(
                                    ActionState::Failed,
                                    "no budget change was given".into(),
                                    None,
                                ),
                                Some(Err(reason)) => Step::Done(ActionState::Skipped, reason, None),
                                Some(Ok(target)) if target == now_budget => Step::Done(
                                    ActionState::Skipped,
                                    "the budget is already at that amount".into(),
                                    None,
                                ),
                                Some(Ok(target)) => {
                                    // Stored before the call: this is what makes a crash safe.
                                    app.db
                                        .tenant(org_id, async move |c| {
                                            diesel::update(platform_actions::table.find(id))
                                                .set((
                                                    platform_actions::from_budget_micros
                                                        .eq(Some(now_budget.micros)),
                                                    platform_actions::to_budget_micros
                                                        .eq(Some(target.micros)),
                                                    platform_actions::currency.eq(Some(
                                                        now_budget.currency.as_str().to_string(),
                                                    )),
                                                ))
                                                .execute(c)
                                                .await?;
                                            Ok::<_, ActionError>(())
                                        })
                                        .await?;
                                    set_budget(
                                        app,
                                        org_id,
                                        &adapter,
                                        &creds,
                                        &account,
                                        &external_id,
                                        current.campaign_id,
                                        now_budget,
                                        target,
                                    )
                                    .await?
                                }
                            },
                        }
                    }
                },
            }
        }
    };
    let (state, message, response) = match step {
        Step::Done(s, m, r) => (s, m, r),
        Step::Retry(m) => (ActionState::Pending, m, None),
    };
    let kind = current.kind;
    let cid = current.campaign_id;
    app.db
        .tenant(org_id, async move |c| {
            diesel::update(platform_actions::table.find(id))
                .set((
                    platform_actions::state.eq(state.as_str()),
                    platform_actions::message.eq(Some(&message)),
                    platform_actions::platform_response.eq(response.as_ref()),
                    platform_actions::finished_at.eq(if state.is_final() {
                        Some(Utc::now())
                    } else {
                        None
                    }),
                ))
                .execute(c)
                .await?;
            let actor_user: Option<Uuid> = platform_actions::table
                .find(id)
                .select(platform_actions::actor_user_id)
                .first(c)
                .await?;
            let name: String = campaigns::table
                .find(cid)
                .select(campaigns::name)
                .first(c)
                .await?;
            audit::record(
                c,
                org_id,
                actor_user,
                &format!("campaign.{}", kind.as_str()),
                &name,
                json!({"action_id": id, "state": state.as_str(), "message": message}),
            )
            .await?;
            Ok::<_, ActionError>(())
        })
        .await?;
    get(app, org_id, id).await
}

fn platform_failure(e: PlatformError) -> Step {
    match e {
        PlatformError::RateLimited { .. } | PlatformError::Temporary { .. } => Step::Retry(
            format!("the platform is busy ({}); adpilot will retry", e.message()),
        ),
        other => Step::Done(
            ActionState::Failed,
            other.message().to_string(),
            Some(other.kind().to_string()),
        ),
    }
}

async fn record_budget(
    app: &App,
    org_id: Uuid,
    campaign_id: Uuid,
    to: Money,
) -> Result<(), ActionError> {
    app.db
        .tenant(org_id, async move |c| {
            diesel::update(campaigns::table.find(campaign_id))
                .set((
                    campaigns::daily_budget_micros.eq(Some(to.micros)),
                    campaigns::updated_at.eq(Utc::now()),
                ))
                .execute(c)
                .await?;
            Ok(())
        })
        .await
}

#[allow(clippy::too_many_arguments)]
async fn set_budget(
    app: &App,
    org_id: Uuid,
    adapter: &crate::platforms::Adapter,
    creds: &crate::platforms::Credentials,
    account: &crate::platforms::AccountRef,
    external_id: &str,
    campaign_id: Uuid,
    from: Money,
    to: Money,
) -> Result<Step, ActionError> {
    Ok(
        match adapter
            .set_daily_budget(creds, account, external_id, to)
            .await
        {
            Ok(()) => {
                record_budget(app, org_id, campaign_id, to).await?;
                Step::Done(
                    ActionState::Succeeded,
                    format!("daily budget {from} → {to}"),
                    Some("ok".into()),
                )
            }
            Err(e) => platform_failure(e),
        },
    )
}

/// Intents left pending or interrupted for more than a minute (a retry after a busy platform,
/// or a process that died mid-call): finishes them.
pub async fn resume_open(app: &App, org_id: Uuid) -> Result<usize, ActionError> {
    let ids: Vec<Uuid> = app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, ActionError>(
                platform_actions::table
                    .filter(platform_actions::state.eq_any(["pending", "executing"]))
                    .filter(
                        platform_actions::created_at.lt(Utc::now() - chrono::Duration::minutes(1)),
                    )
                    .filter(platform_actions::attempts.lt(10))
                    .select(platform_actions::id)
                    .load(c)
                    .await?,
            )
        })
        .await?;
    let n = ids.len();
    for id in ids {
        execute(app, org_id, id).await?;
    }
    Ok(n)
}
