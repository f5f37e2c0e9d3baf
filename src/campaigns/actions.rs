//! The one audited path for every change adpilot makes on a platform, from a person's click or
//! a rule: pause and resume a campaign, an ad group (Meta: ad set) or an ad; change a
//! campaign's daily budget, an ad group's own daily or lifetime budget, or an ad group's bid.
//! A request names its [`Target`] and [`ActionKind`]:
//!
//! ```ignore
//! actions::request(app, org_id, ActionRequest {
//!     target: Target::AdGroup(ad_group_id),
//!     kind: ActionKind::SetBid,
//!     source: Source::Rule { rule_id, run_id: Some(run_id) },
//!     intent_key: format!("rule:{rule_id}:{ad_group_id}:{window}:0"),
//!     budget: None,
//!     bid: Some(BudgetPlan::Change { .. }),
//! })
//! ```
//!
//! 1. An intent row is inserted under a key unique per organization (a rule derives it from
//!    rule, campaign and window; a form carries one minted when the page was drawn). A second
//!    request with the same key finds the first and never acts again.
//! 2. For a budget or bid change, the amount is read from the platform and the from/to
//!    amounts are stored *before* the platform is called.
//! 3. The platform is called outside any transaction; the outcome, the platform's answer and an
//!    audit entry are recorded after.
//!
//! If the process dies between 2 and 3, [`execute`] on the same intent compares the platform's
//! current amount with the stored ones: equal to `to` means the call landed (succeeded, not
//! repeated); equal to `from` means it did not (it is made now); anything else is refused. A
//! pause or resume interrupted the same way is sent again: it sets a state, so a second call
//! changes nothing on the platform.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use uuid::Uuid;

use crate::app::App;
use crate::audit;
use crate::automation::eval::BudgetPlan;
use crate::db::schema::{campaigns, platform_actions};
use crate::platforms::{
    AccountRef, Adapter, BudgetPeriod, CampaignStatus, Credentials, Level, LevelBudget,
    PlatformError,
};
use crate::types::{Currency, Money, Platform};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Pause,
    Resume,
    /// A campaign's daily budget, or an ad group's own daily or lifetime budget.
    SetBudget,
    /// An ad group's bid: Google `cpc_bid_micros`, Meta `bid_amount`, TikTok `bid_price`.
    SetBid,
}

impl ActionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Pause => "pause",
            ActionKind::Resume => "resume",
            ActionKind::SetBudget => "set_budget",
            ActionKind::SetBid => "set_bid",
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
            "set_bid" => ActionKind::SetBid,
            _ => ActionKind::SetBudget,
        }
    }
}

/// What an action changes. Ad groups are Google ad groups, Meta ad sets and TikTok ad groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Target {
    Campaign(Uuid),
    AdGroup(Uuid),
    Ad(Uuid),
}

impl Target {
    pub fn level(self) -> Level {
        match self {
            Target::Campaign(_) => Level::Campaign,
            Target::AdGroup(_) => Level::AdGroup,
            Target::Ad(_) => Level::Ad,
        }
    }

    /// The stored id of the campaign, ad group or ad.
    pub fn id(self) -> Uuid {
        match self {
            Target::Campaign(id) | Target::AdGroup(id) | Target::Ad(id) => id,
        }
    }

    /// Whether `kind` exists at this level (bids are set on ad groups; ads have no budget).
    pub fn allows(self, kind: ActionKind) -> bool {
        matches!(
            (self, kind),
            (_, ActionKind::Pause | ActionKind::Resume)
                | (
                    Target::Campaign(_) | Target::AdGroup(_),
                    ActionKind::SetBudget
                )
                | (Target::AdGroup(_), ActionKind::SetBid)
        )
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
    pub target: Target,
    pub kind: ActionKind,
    pub source: Source,
    /// Unique per organization: the same key never acts twice.
    pub intent_key: String,
    /// For [`ActionKind::SetBudget`]: applied to the budget read at execution time.
    pub budget: Option<BudgetPlan>,
    /// For [`ActionKind::SetBid`]: applied to the bid read at execution time.
    pub bid: Option<BudgetPlan>,
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
    pub target: Target,
    /// The campaign, or the campaign the ad group or ad belongs to.
    pub campaign_id: Uuid,
    pub kind: ActionKind,
    pub state: ActionState,
    pub message: Option<String>,
    pub platform_response: Option<String>,
    /// The amount moved from and to: the budget for [`ActionKind::SetBudget`], the bid for
    /// [`ActionKind::SetBid`].
    pub from_budget: Option<Money>,
    pub to_budget: Option<Money>,
    /// Which of an ad group's budgets a budget change was to.
    pub budget_period: Option<BudgetPeriod>,
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
    #[error("a bid change needs an amount")]
    NoBid,
    #[error("{0}")]
    NotAtThisLevel(String),
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
    (
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
    ),
    (String, Option<Uuid>, Option<Uuid>, Option<String>),
);

macro_rules! row_columns {
    () => {
        (
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
            ),
            (
                platform_actions::level,
                platform_actions::ad_group_id,
                platform_actions::ad_id,
                platform_actions::budget_period,
            ),
        )
    };
}

fn outcome(row: Row) -> ActionOutcome {
    let (r, (level, ad_group_id, ad_id, period)) = row;
    let currency: Option<Currency> = r.8.as_deref().and_then(|c| c.parse().ok());
    let target = match (level.as_str(), ad_group_id, ad_id) {
        ("ad", _, Some(ad)) => Target::Ad(ad),
        ("ad_group", Some(g), _) => Target::AdGroup(g),
        _ => Target::Campaign(r.1),
    };
    ActionOutcome {
        id: r.0,
        target,
        campaign_id: r.1,
        kind: ActionKind::parse(&r.2),
        source: r.3,
        rule_id: r.4,
        from_budget: r.6.zip(currency).map(|(m, c)| Money::new(m, c)),
        to_budget: r.7.zip(currency).map(|(m, c)| Money::new(m, c)),
        budget_period: period.as_deref().and_then(parse_period),
        state: ActionState::parse(&r.9),
        message: r.10,
        platform_response: r.11,
        created_at: r.12,
        finished_at: r.13,
    }
}

fn parse_period(s: &str) -> Option<BudgetPeriod> {
    match s {
        "daily" => Some(BudgetPeriod::Daily),
        "lifetime" => Some(BudgetPeriod::Lifetime),
        _ => None,
    }
}

/// Records the intent (once per key) and executes it. Asking again with the same key returns
/// what the first request did, or finishes it if it was interrupted.
pub async fn request(
    app: &App,
    org_id: Uuid,
    req: ActionRequest,
) -> Result<ActionOutcome, ActionError> {
    if !req.target.allows(req.kind) {
        return Err(ActionError::NotAtThisLevel(match req.kind {
            ActionKind::SetBid => "bids are set on ad groups (Meta: ad sets)".into(),
            _ => "ads have no budget of their own".into(),
        }));
    }
    let plan = match req.kind {
        ActionKind::SetBudget => Some(req.budget.clone().ok_or(ActionError::NoBudget)?),
        ActionKind::SetBid => Some(req.bid.clone().ok_or(ActionError::NoBid)?),
        ActionKind::Pause | ActionKind::Resume => None,
    };
    let plan = match &plan {
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
    let target = req.target;
    let id = app
        .db
        .tenant(org_id, async move |c| {
            // The object must exist in this organization (and be visible to the caller's
            // account scope).
            let (campaign_id, ad_group_id, ad_id) = match target {
                Target::Campaign(id) => (
                    campaigns::table
                        .find(id)
                        .select(campaigns::id)
                        .first::<Uuid>(c)
                        .await?,
                    None,
                    None,
                ),
                Target::AdGroup(id) => {
                    let s = super::levels::ad_group_subject(c, id)
                        .await?
                        .ok_or(ActionError::NotFound)?;
                    (s.campaign_id, Some(s.id), None)
                }
                Target::Ad(id) => {
                    let s = super::levels::ad_subject(c, id)
                        .await?
                        .ok_or(ActionError::NotFound)?;
                    (s.campaign_id, Some(s.ad_group_id), Some(s.id))
                }
            };
            let inserted: Option<Uuid> = diesel::insert_into(platform_actions::table)
                .values((
                    platform_actions::id.eq(Uuid::now_v7()),
                    platform_actions::org_id.eq(org_id),
                    platform_actions::campaign_id.eq(campaign_id),
                    platform_actions::level.eq(target.level().as_str()),
                    platform_actions::ad_group_id.eq(ad_group_id),
                    platform_actions::ad_id.eq(ad_id),
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

/// Recent actions on one ad group or ad, newest first; an ad group's include its ads'.
pub async fn for_target(
    app: &App,
    org_id: Uuid,
    target: Target,
    limit: i64,
) -> Result<Vec<ActionOutcome>, ActionError> {
    app.db
        .tenant(org_id, async move |c| {
            let q = platform_actions::table
                .select(row_columns!())
                .order(platform_actions::created_at.desc())
                .limit(limit)
                .into_boxed();
            let q = match target {
                Target::Campaign(id) => q.filter(platform_actions::campaign_id.eq(id)),
                Target::AdGroup(id) => q.filter(platform_actions::ad_group_id.eq(id)),
                Target::Ad(id) => q.filter(platform_actions::ad_id.eq(id)),
            };
            let rows: Vec<Row> = q.load(c).await?;
            Ok(rows.into_iter().map(outcome).collect())
        })
        .await
}

enum Step {
    Done(ActionState, String, Option<String>),
    /// The platform took the change: the stored object follows it in the same transaction
    /// that records the outcome, so a lost connection cannot keep one without the other (a
    /// campaign stored as paused under an intent still open would no longer match the rule
    /// whose retry finishes the intent).
    Applied {
        message: String,
        response: &'static str,
        local: Local,
    },
    Retry(String),
}

/// What the stored object says after a change went through.
enum Local {
    Status(Target, CampaignStatus),
    Amount {
        target: Target,
        amount: Amount,
        to: Money,
        period: Option<BudgetPeriod>,
    },
}

/// The object an intent changes, as stored.
struct Subject {
    target: Target,
    account_id: Uuid,
    external_id: String,
    /// The ad group's platform id, for ads (Google addresses an ad through its ad group).
    group_external_id: String,
    status: String,
    name: String,
}

/// Which amount a budget or bid change moves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Amount {
    CampaignBudget,
    GroupBudget,
    GroupBid,
}

impl Amount {
    fn word(self) -> &'static str {
        match self {
            Amount::CampaignBudget | Amount::GroupBudget => "budget",
            Amount::GroupBid => "bid",
        }
    }
}

/// What an intent needs to talk to the platform.
struct Call<'a> {
    adapter: &'a Adapter,
    creds: &'a Credentials,
    account: &'a AccountRef,
    platform: Platform,
    subject: &'a Subject,
}

impl Call<'_> {
    /// The amount as the platform holds it now, with the ad group budget's period.
    async fn read(
        &self,
        amount: Amount,
    ) -> Result<Option<(Money, Option<BudgetPeriod>)>, PlatformError> {
        let ext = &self.subject.external_id;
        Ok(match amount {
            Amount::CampaignBudget => self
                .adapter
                .daily_budget(self.creds, self.account, ext)
                .await?
                .map(|m| (m, None)),
            Amount::GroupBudget => self
                .adapter
                .ad_group(self.creds, self.account, ext)
                .await?
                .budget
                .map(|b| (b.amount, Some(b.period))),
            Amount::GroupBid => self
                .adapter
                .ad_group(self.creds, self.account, ext)
                .await?
                .bid
                .map(|b| (b, None)),
        })
    }

    async fn write(
        &self,
        amount: Amount,
        to: Money,
        period: Option<BudgetPeriod>,
    ) -> Result<(), PlatformError> {
        let ext = &self.subject.external_id;
        match amount {
            Amount::CampaignBudget => {
                self.adapter
                    .set_daily_budget(self.creds, self.account, ext, to)
                    .await
            }
            Amount::GroupBudget => {
                let budget = LevelBudget {
                    period: period.unwrap_or(BudgetPeriod::Daily),
                    amount: to,
                };
                self.adapter
                    .set_ad_group_budget(self.creds, self.account, ext, budget)
                    .await
            }
            Amount::GroupBid => {
                self.adapter
                    .set_ad_group_bid(self.creds, self.account, ext, to)
                    .await
            }
        }
    }

    async fn set_status(&self, status: CampaignStatus) -> Result<(), PlatformError> {
        let ext = &self.subject.external_id;
        match self.subject.target {
            Target::Campaign(_) => {
                self.adapter
                    .set_status(self.creds, self.account, ext, status)
                    .await
            }
            Target::AdGroup(_) => {
                self.adapter
                    .set_ad_group_status(self.creds, self.account, ext, status)
                    .await
            }
            Target::Ad(_) => {
                self.adapter
                    .set_ad_status(
                        self.creds,
                        self.account,
                        &self.subject.group_external_id,
                        ext,
                        status,
                    )
                    .await
            }
        }
    }

    /// Why there is nothing to change when the object has no such amount of its own.
    fn none_reason(&self, amount: Amount) -> String {
        match (amount, self.platform) {
            (Amount::CampaignBudget, _) => "the campaign has no daily budget of its own".into(),
            (Amount::GroupBudget, Platform::Google) => {
                "Google Ads ad groups have no budget of their own: the campaign's budget pays \
                 for all of its ad groups, so change it on the campaign"
                    .into()
            }
            (Amount::GroupBudget, Platform::Meta) => {
                "this ad set has no budget of its own: its campaign's budget (Advantage \
                 campaign budget) is shared out by Meta, so change it on the campaign"
                    .into()
            }
            (Amount::GroupBudget, Platform::Tiktok) => {
                "this ad group has no budget of its own: its campaign's budget optimisation \
                 shares out the campaign budget, so change it on the campaign"
                    .into()
            }
            (Amount::GroupBid, _) => format!(
                "this {} has no bid amount: its bid strategy lets {} bid",
                group_word(self.platform),
                self.platform.label()
            ),
        }
    }
}

fn group_word(platform: Platform) -> &'static str {
    match platform {
        Platform::Meta => "ad set",
        _ => "ad group",
    }
}

fn level_word(target: Target, platform: Platform) -> &'static str {
    match target {
        Target::Campaign(_) => "campaign",
        Target::AdGroup(_) => group_word(platform),
        Target::Ad(_) => "ad",
    }
}

/// Loads the object an intent changes (inside its tenant transaction).
async fn subject(c: &mut crate::db::Conn, target: Target) -> Result<Subject, ActionError> {
    Ok(match target {
        Target::Campaign(id) => {
            let (account_id, external_id, status, name): (Uuid, String, String, String) =
                campaigns::table
                    .find(id)
                    .select((
                        campaigns::account_id,
                        campaigns::external_id,
                        campaigns::status,
                        campaigns::name,
                    ))
                    .first(c)
                    .await?;
            Subject {
                target,
                account_id,
                group_external_id: String::new(),
                external_id,
                status,
                name,
            }
        }
        Target::AdGroup(id) | Target::Ad(id) => {
            let s = if matches!(target, Target::AdGroup(_)) {
                super::levels::ad_group_subject(c, id).await?
            } else {
                super::levels::ad_subject(c, id).await?
            }
            .ok_or(ActionError::NotFound)?;
            Subject {
                target,
                account_id: s.account_id,
                external_id: s.external_id,
                group_external_id: s.ad_group_external_id,
                status: s.status,
                name: s.name,
            }
        }
    })
}

/// Executes (or finishes) an intent. Safe to call any number of times.
pub async fn execute(app: &App, org_id: Uuid, id: Uuid) -> Result<ActionOutcome, ActionError> {
    // Another caller, here or in another live process, is sending this intent right now: its
    // outcome is on its way, and a second send could apply the change twice. An intent left
    // "executing" by a process that died is free and is finished here.
    let Some(_running) = InFlight::enter(app, id).await? else {
        return get(app, org_id, id).await;
    };
    let Some((row, subject)) = claim(app, org_id, id).await? else {
        return get(app, org_id, id).await;
    };
    let current = outcome(row.clone());
    let plan: Option<BudgetPlan> = row.0.5.clone().and_then(|v| serde_json::from_value(v).ok());
    let step = send(app, org_id, id, &subject, &current, plan.as_ref()).await?;
    settle(app, org_id, id, &current, &subject, step).await?;
    get(app, org_id, id).await
}

/// Claim: only one caller moves an intent from pending; a stuck "executing" one is resumed.
/// None when the intent is settled already.
async fn claim(app: &App, org_id: Uuid, id: Uuid) -> Result<Option<(Row, Subject)>, ActionError> {
    app.db
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
            let subject = subject(c, current.target).await?;
            Ok(Some((row, subject)))
        })
        .await
}

/// Sends the change to the subject's platform (when its account can be reached).
async fn send(
    app: &App,
    org_id: Uuid,
    id: Uuid,
    subject: &Subject,
    current: &ActionOutcome,
    plan: Option<&BudgetPlan>,
) -> Result<Step, ActionError> {
    let (platform, creds, account) =
        match crate::connections::service::account_access(app, org_id, subject.account_id).await {
            Ok(a) => a,
            Err(e) => {
                return Ok(Step::Done(
                    ActionState::Failed,
                    format!("The ad account cannot be reached: {e}"),
                    None,
                ));
            }
        };
    let adapter = app.platforms.adapter(platform);
    let call = Call {
        adapter: &adapter,
        creds: &creds,
        account: &account,
        platform,
        subject,
    };
    match current.kind {
        ActionKind::Pause | ActionKind::Resume => Ok(switch(&call, current.kind).await),
        ActionKind::SetBudget | ActionKind::SetBid => {
            let amount = match (current.kind, current.target) {
                (ActionKind::SetBid, _) => Amount::GroupBid,
                (_, Target::Campaign(_)) => Amount::CampaignBudget,
                _ => Amount::GroupBudget,
            };
            let change = Change {
                id,
                amount,
                current,
                plan,
            };
            change_amount(app, org_id, &call, change).await
        }
    }
}

/// Stores the step's outcome on the intent (pending again when it is to be retried) and
/// audits it.
async fn settle(
    app: &App,
    org_id: Uuid,
    id: Uuid,
    current: &ActionOutcome,
    subject: &Subject,
    step: Step,
) -> Result<(), ActionError> {
    let (state, message, response, local) = match step {
        Step::Done(s, m, r) => (s, m, r, None),
        Step::Applied {
            message,
            response,
            local,
        } => (
            ActionState::Succeeded,
            message,
            Some(response.to_string()),
            Some(local),
        ),
        Step::Retry(m) => (ActionState::Pending, m, None, None),
    };
    let kind = current.kind;
    let audit_kind = format!("{}.{}", current.target.level().as_str(), kind.as_str());
    let name = subject.name.clone();
    app.db
        .tenant(org_id, async move |c| {
            if let Some(local) = local {
                record_local(c, local).await?;
            }
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
            audit::record(
                c,
                org_id,
                actor_user,
                &audit_kind,
                &name,
                json!({"action_id": id, "state": state.as_str(), "message": message}),
            )
            .await?;
            Ok::<_, ActionError>(())
        })
        .await
}

/// Pause or resume at any level. Skipped when the stored status already says so; a removed
/// object cannot be switched on any platform.
async fn switch(call: &Call<'_>, kind: ActionKind) -> Step {
    let (want, status, done) = if kind == ActionKind::Pause {
        ("paused", CampaignStatus::Paused, "paused")
    } else {
        ("active", CampaignStatus::Active, "resumed")
    };
    let what = level_word(call.subject.target, call.platform);
    if call.subject.status == "removed" {
        return Step::Done(
            ActionState::Failed,
            format!(
                "this {what} was removed on {}; it cannot be paused or resumed",
                call.platform.label()
            ),
            None,
        );
    }
    if call.subject.status == want {
        return Step::Done(ActionState::Skipped, format!("already {want}"), None);
    }
    match call.set_status(status).await {
        Ok(()) => Step::Applied {
            message: format!("{done} on {}", call.platform.label()),
            response: "ok",
            local: Local::Status(call.subject.target, status),
        },
        Err(e) => platform_failure(e),
    }
}

/// The budget or bid change an intent asks for.
struct Change<'a> {
    /// The intent's id.
    id: Uuid,
    amount: Amount,
    current: &'a ActionOutcome,
    plan: Option<&'a BudgetPlan>,
}

/// A budget or bid change: read the amount from the platform, decide, store from/to before
/// the call, call, record. On a resumed intent, the stored amounts decide (see the module
/// documentation).
async fn change_amount(
    app: &App,
    org_id: Uuid,
    call: &Call<'_>,
    change: Change<'_>,
) -> Result<Step, ActionError> {
    let Change {
        id,
        amount,
        current,
        plan,
    } = change;
    let word = amount.word();
    let now = match call.read(amount).await {
        Err(e) => return Ok(platform_failure(e)),
        Ok(n) => n,
    };
    let Some((now_amount, period)) = now else {
        return Ok(set_without_reading(call, amount, plan).await);
    };
    let label = amount_label(amount, period);
    Ok(match (current.from_budget, current.to_budget) {
        // Resuming an interrupted change: decide from what the platform shows.
        (Some(from), Some(to)) if now_amount == to => Step::Applied {
            message: format!("{label} {from} → {to} (confirmed after an interruption)"),
            response: "already applied",
            local: Local::Amount {
                target: call.subject.target,
                amount,
                to,
                period,
            },
        },
        (Some(from), Some(to)) if now_amount == from => {
            write_amount(call, amount, from, to, period).await
        }
        (Some(_), Some(_)) => Step::Done(
            ActionState::Failed,
            format!(
                "the {word} changed on the platform to {now_amount} meanwhile; nothing was done"
            ),
            None,
        ),
        _ => match plan.map(|p| p.apply_to(word, now_amount)) {
            None => Step::Done(
                ActionState::Failed,
                format!("no {word} change was given"),
                None,
            ),
            Some(Err(reason)) => Step::Done(ActionState::Skipped, reason, None),
            Some(Ok(target)) if target == now_amount => Step::Done(
                ActionState::Skipped,
                format!("the {word} is already at that amount"),
                None,
            ),
            Some(Ok(target)) => {
                // Stored before the call: this is what makes a crash safe.
                store_from_to(app, org_id, id, now_amount, target, period).await?;
                write_amount(call, amount, now_amount, target, period).await
            }
        },
    })
}

/// Nothing to compute a relative change from. An amount to set is still sent where the
/// platform can answer for itself, so the refusal (a campaign budget on Meta or TikTok, a
/// bid strategy without bids) is shown in the platform's own words.
async fn set_without_reading(call: &Call<'_>, amount: Amount, plan: Option<&BudgetPlan>) -> Step {
    let to = match plan {
        Some(BudgetPlan::Set(to)) if amount != Amount::CampaignBudget => *to,
        _ => return Step::Done(ActionState::Skipped, call.none_reason(amount), None),
    };
    let what = amount_label(amount, Some(BudgetPeriod::Daily));
    let daily = Some(BudgetPeriod::Daily);
    match call.write(amount, to, daily).await {
        Ok(()) => Step::Applied {
            message: format!("{what} set to {to}"),
            response: "ok",
            local: Local::Amount {
                target: call.subject.target,
                amount,
                to,
                period: daily,
            },
        },
        Err(PlatformError::Invalid { message }) => Step::Done(
            ActionState::Failed,
            format!("{message} ({})", call.none_reason(amount)),
            Some("invalid".into()),
        ),
        Err(e) => platform_failure(e),
    }
}

/// Stores the amounts a change goes from and to on its intent, before the call goes out.
async fn store_from_to(
    app: &App,
    org_id: Uuid,
    id: Uuid,
    from: Money,
    to: Money,
    period: Option<BudgetPeriod>,
) -> Result<(), ActionError> {
    let period_text = period.map(|p| p.as_str().to_string());
    app.db
        .tenant(org_id, async move |c| {
            diesel::update(platform_actions::table.find(id))
                .set((
                    platform_actions::from_budget_micros.eq(Some(from.micros)),
                    platform_actions::to_budget_micros.eq(Some(to.micros)),
                    platform_actions::currency.eq(Some(from.currency.as_str().to_string())),
                    platform_actions::budget_period.eq(period_text),
                ))
                .execute(c)
                .await?;
            Ok::<_, ActionError>(())
        })
        .await
}

fn amount_label(amount: Amount, period: Option<BudgetPeriod>) -> &'static str {
    match (amount, period) {
        (Amount::GroupBid, _) => "bid",
        (_, Some(BudgetPeriod::Lifetime)) => "lifetime budget",
        _ => "daily budget",
    }
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

/// The stored row follows the platform after a change went through (the owner of each table
/// writes it: `campaigns` here, ad groups and ads through `campaigns::levels`).
async fn record_local(c: &mut crate::db::Conn, local: Local) -> Result<(), ActionError> {
    match local {
        Local::Status(Target::Campaign(cid), status) => {
            diesel::update(campaigns::table.find(cid))
                .set((
                    campaigns::status.eq(status.as_str()),
                    campaigns::updated_at.eq(Utc::now()),
                ))
                .execute(c)
                .await?;
        }
        Local::Status(Target::AdGroup(g), status) => {
            super::levels::record_ad_group_status(c, g, status).await?;
        }
        Local::Status(Target::Ad(a), status) => {
            super::levels::record_ad_status(c, a, status).await?;
        }
        Local::Amount {
            target: Target::Campaign(cid),
            to,
            ..
        } => {
            diesel::update(campaigns::table.find(cid))
                .set((
                    campaigns::daily_budget_micros.eq(Some(to.micros)),
                    campaigns::updated_at.eq(Utc::now()),
                ))
                .execute(c)
                .await?;
        }
        Local::Amount {
            target: Target::AdGroup(g),
            amount: Amount::GroupBid,
            to,
            ..
        } => {
            super::levels::record_ad_group_bid(c, g, to.micros).await?;
        }
        Local::Amount {
            target: Target::AdGroup(g),
            to,
            period,
            ..
        } => {
            super::levels::record_ad_group_budget(
                c,
                g,
                period.unwrap_or(BudgetPeriod::Daily),
                to.micros,
            )
            .await?;
        }
        Local::Amount {
            target: Target::Ad(_),
            ..
        } => {}
    }
    Ok(())
}

async fn write_amount(
    call: &Call<'_>,
    amount: Amount,
    from: Money,
    to: Money,
    period: Option<BudgetPeriod>,
) -> Step {
    match call.write(amount, to, period).await {
        Ok(()) => Step::Applied {
            message: format!("{} {from} → {to}", amount_label(amount, period)),
            response: "ok",
            local: Local::Amount {
                target: call.subject.target,
                amount,
                to,
                period,
            },
        },
        Err(e) => platform_failure(e),
    }
}

/// The intents this process is executing: the tasks of one process share its lock connection,
/// whose locks are reentrant, so they are told apart here.
static IN_FLIGHT: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<Uuid>>> =
    std::sync::LazyLock::new(Default::default);

/// Advisory-lock namespace of intents being executed ("exec").
pub const EXECUTING_LOCK_NAMESPACE: i32 = 0x6578_6563;

/// One intent being executed by this task until dropped (cancellation included).
struct InFlight {
    id: Uuid,
    locks: std::sync::Arc<crate::db::locks::ProcessLocks>,
}

impl InFlight {
    async fn enter(app: &App, id: Uuid) -> Result<Option<InFlight>, ActionError> {
        if !IN_FLIGHT
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id)
        {
            return Ok(None);
        }
        let locks = app.db.process_locks().clone();
        let taken = locks.try_lock(EXECUTING_LOCK_NAMESPACE, &id).await;
        if !matches!(taken, Ok(true)) {
            IN_FLIGHT
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            return Ok(taken.map(|_| None)?);
        }
        Ok(Some(InFlight { id, locks }))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        IN_FLIGHT
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
        let (locks, id) = (self.locks.clone(), self.id);
        // Drop cannot wait; the lock is freed right after (a process that exits frees it too).
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { locks.unlock(EXECUTING_LOCK_NAMESPACE, &id).await });
        }
    }
}

/// The open intents (pending or executing) that `rules` created in runs other than `runs`.
///
/// A run that lost its database connection mid-call leaves its intent executing; the retry of
/// its check finishes it only if the object still matches, and a check of the next slot may
/// already have made the change (seen in the restart fault test), leaving it to the
/// ten-minute sweep. Each check hands these to `campaigns.finish_actions` instead.
pub async fn open_of_rules(
    c: &mut crate::db::Conn,
    rules: &[Uuid],
    runs: &[Uuid],
) -> diesel::QueryResult<Vec<Uuid>> {
    platform_actions::table
        .filter(platform_actions::state.eq_any(["pending", "executing"]))
        .filter(platform_actions::rule_id.assume_not_null().eq_any(rules))
        .filter(
            platform_actions::rule_run_id
                .is_null()
                .or(platform_actions::rule_run_id.assume_not_null().ne_all(runs)),
        )
        .select(platform_actions::id)
        .load(c)
        .await
}

/// Intents left pending or interrupted for more than a minute (a retry after a busy platform,
/// or a process that died mid-call): finishes them, at every level.
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
