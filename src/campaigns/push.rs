//! Creating campaigns on the platforms from adpilot's form. The form writes one pending row per
//! chosen ad account and enqueues one job per row in the same transaction; the job calls the
//! platform (outside any transaction) and records either the created campaign (with the
//! platform's id, also upserted into `campaigns` so it shows at once) or the platform's answer
//! in plain words.
//!
//! No platform offers an idempotency key for creation, so a create whose answer was lost
//! (timeout, dropped connection, crash, lost lease) is never sent again blindly: the push
//! notes which campaigns already carry its name and marks itself sent before the create goes
//! out, and a later attempt first looks on the platform for the campaign that create made.

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::connections::service::{ManagedAccount, account_access};
use crate::db::Conn;
use crate::jobs::{Dedupe, Job, JobCtx, JobError};
use crate::platforms::{
    AccountRef, Campaign, CampaignStatus, Credentials, NewCampaign, PlatformError,
};
use crate::types::{Currency, Money, Platform};

/// What a creation asks for on one account.
#[derive(Debug, Clone)]
pub struct NewPush {
    pub account: ManagedAccount,
    pub name: String,
    pub objective: String,
    pub daily_budget_micros: i64,
    pub start_active: bool,
    /// What to make beyond the campaign (empty: the campaign only).
    pub spec: super::complete::PushSpec,
}

/// Writes the pending rows of one form submission and their jobs (call inside the tenant
/// transaction, so rows and jobs exist together or not at all). Returns the batch id.
pub async fn create_batch(
    c: &mut Conn,
    org_id: Uuid,
    user_id: Uuid,
    pushes: &[NewPush],
) -> diesel::QueryResult<Uuid> {
    let batch = Uuid::now_v7();
    for p in pushes {
        let id = Uuid::now_v7();
        diesel::sql_query(
            "INSERT INTO campaign_pushes (id, org_id, batch_id, account_id, platform, name, objective,
               daily_budget_micros, currency, start_status, created_by, spec)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12::jsonb)",
        )
        .bind::<SqlUuid, _>(id)
        .bind::<SqlUuid, _>(org_id)
        .bind::<SqlUuid, _>(batch)
        .bind::<SqlUuid, _>(p.account.id)
        .bind::<Text, _>(p.account.platform.as_str())
        .bind::<Text, _>(&p.name)
        .bind::<Text, _>(&p.objective)
        .bind::<BigInt, _>(p.daily_budget_micros)
        .bind::<Text, _>(p.account.currency.as_str())
        .bind::<Text, _>(if p.start_active { "active" } else { "paused" })
        .bind::<SqlUuid, _>(user_id)
        .bind::<Text, _>(serde_json::to_string(&p.spec).unwrap_or_else(|_| "{}".into()))
        .execute(c)
        .await?;
        crate::jobs::enqueue(c, Some(org_id), &PushCampaign { push_id: id }).await?;
    }
    Ok(batch)
}

/// One row of a batch, for the status page.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct PushView {
    #[diesel(sql_type = SqlUuid)]
    pub id: Uuid,
    #[diesel(sql_type = Text)]
    pub platform: String,
    #[diesel(sql_type = Text)]
    pub account_name: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub daily_budget_micros: i64,
    #[diesel(sql_type = Text)]
    pub currency: String,
    #[diesel(sql_type = Text)]
    pub start_status: String,
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub external_id: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub campaign_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    pub error: Option<String>,
    #[diesel(sql_type = Timestamptz)]
    pub created_at: DateTime<Utc>,
    /// The platform's answer to the create was lost, and the campaign was found there.
    #[diesel(sql_type = Bool)]
    pub found_after_lost_answer: bool,
    /// A pending push whose job stopped trying (its last attempt failed or never finished):
    /// what to tell the person instead of "sending…".
    #[diesel(sql_type = Nullable<Text>)]
    pub gave_up: Option<String>,
    /// An error that "Try again" continues from its failed step (Meta's and TikTok's recorded
    /// steps).
    #[diesel(sql_type = Bool)]
    pub retryable: bool,
}

impl PushView {
    pub fn platform_label(&self) -> &'static str {
        self.platform
            .parse::<Platform>()
            .map(|p| p.label())
            .unwrap_or("Unknown platform")
    }

    pub fn budget(&self) -> String {
        match self.currency.parse::<Currency>() {
            Ok(c) => Money::new(self.daily_budget_micros, c).display(),
            Err(_) => String::new(),
        }
    }

    /// Still being sent (the status page keeps polling).
    pub fn is_pending(&self) -> bool {
        self.state == "pending" && self.gave_up.is_none()
    }
}

/// The rows of one submission; empty when the batch is not this organization's.
pub async fn batch(c: &mut Conn, batch_id: Uuid) -> diesel::QueryResult<Vec<PushView>> {
    let mut rows: Vec<PushView> = diesel::sql_query(
        "SELECT p.id, p.platform, a.name AS account_name, p.name, p.daily_budget_micros, p.currency,
           p.start_status, p.state, p.external_id, p.campaign_id, p.error, p.created_at,
           p.found_after_lost_answer, NULL::text AS gave_up,
           (p.state = 'error' AND ((p.spec -> 'meta') IS NOT NULL OR (p.spec -> 'tiktok') IS NOT NULL)) AS retryable
         FROM campaign_pushes p JOIN ad_accounts a ON a.id = p.account_id
         WHERE p.batch_id = $1
         ORDER BY p.platform, a.name",
    )
    .bind::<SqlUuid, _>(batch_id)
    .load(c)
    .await?;
    for r in rows.iter_mut().filter(|r| r.state == "pending") {
        let job =
            crate::jobs::store::latest_by_key(c, PushCampaign::KIND, &r.id.to_string()).await?;
        let why = match &job {
            Some(j) if j.is_dead() => j.last_error.clone().unwrap_or_default(),
            Some(_) => continue,
            None => "its job is gone".to_string(),
        };
        r.gave_up = Some(format!(
            "adpilot stopped trying to send this campaign to {p}: {why}. It may exist there: check {p} for \"{name}\" first; an admin can try again from the Jobs page.",
            p = r.platform_label(),
            name = r.name,
        ));
    }
    Ok(rows)
}

/// The platform's answer as a sentence for the person who filled the form.
pub fn plain_error(platform: Platform, e: &PlatformError) -> String {
    let p = platform.label();
    match e {
        PlatformError::Invalid { message } => format!("{p} refused the campaign: {message}"),
        PlatformError::Auth { message, .. } => format!(
            "{p} refused adpilot's access ({message}). Reconnect it on the Connections page, then create the campaign again."
        ),
        PlatformError::RateLimited { .. } => format!(
            "{p} asked adpilot to slow down and did not take the campaign in time. Try again in a few minutes."
        ),
        PlatformError::Temporary { message } => format!(
            "{p} had a temporary failure and did not take the campaign ({message}). Try again later."
        ),
        PlatformError::Unexpected { message } => {
            format!("{p} answered in a way adpilot does not understand: {message}")
        }
    }
}

/// The job that creates one pending campaign on its platform.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushCampaign {
    pub push_id: Uuid,
}

#[derive(diesel::QueryableByName)]
pub(super) struct Pending {
    #[diesel(sql_type = SqlUuid)]
    pub(super) account_id: Uuid,
    #[diesel(sql_type = Text)]
    pub(super) platform: String,
    #[diesel(sql_type = Text)]
    pub(super) name: String,
    #[diesel(sql_type = BigInt)]
    pub(super) daily_budget_micros: i64,
    #[diesel(sql_type = Text)]
    pub(super) currency: String,
    #[diesel(sql_type = Text)]
    pub(super) start_status: String,
    #[diesel(sql_type = Text)]
    pub(super) state: String,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    pub(super) sent_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Array<Text>)]
    pub(super) preexisting_ids: Vec<String>,
    #[diesel(sql_type = Text)]
    pub(super) spec: String,
}

/// How a push ended.
pub(super) enum Outcome {
    /// Made by this attempt's create.
    Created(Campaign),
    /// Made by an earlier attempt whose answer was lost, and found on the platform.
    Found(Campaign),
    Failed(String),
}

pub(super) async fn record(
    ctx: &JobCtx,
    org_id: Uuid,
    push_id: Uuid,
    account_id: Uuid,
    platform: Platform,
    currency: Currency,
    outcome: Outcome,
) -> Result<(), JobError> {
    ctx.app
        .db
        .tenant(org_id, async move |c| {
            let (state, campaign, err, found) = match outcome {
                Outcome::Created(k) => ("created", Some(k), None, false),
                Outcome::Found(k) => ("created", Some(k), None, true),
                Outcome::Failed(e) => ("error", None, Some(e), false),
            };
            // The campaign shows in the list at once, without waiting for the next sync.
            let (ext, cid) = match campaign {
                Some(k) => {
                    let ids = super::upsert_synced(
                        c,
                        org_id,
                        account_id,
                        platform,
                        currency,
                        std::slice::from_ref(&k),
                    )
                    .await?;
                    let cid = ids.get(&k.id).copied();
                    (Some(k.id), cid)
                }
                None => (None, None),
            };
            // Only a pending row changes: a duplicate run never overwrites a recorded outcome.
            diesel::sql_query(
                "UPDATE campaign_pushes SET state = $2, external_id = $3, campaign_id = $4,
                   error = $5, found_after_lost_answer = $6, updated_at = now()
                 WHERE id = $1 AND state = 'pending'",
            )
            .bind::<SqlUuid, _>(push_id)
            .bind::<Text, _>(state)
            .bind::<Nullable<Text>, _>(ext)
            .bind::<Nullable<SqlUuid>, _>(cid)
            .bind::<Nullable<Text>, _>(err)
            .bind::<Bool, _>(found)
            .execute(c)
            .await?;
            Ok::<_, JobError>(())
        })
        .await
}

/// The campaign an earlier attempt's create made, if the platform has it: the one with the
/// push's name that was not there before the first create and that no other push of this
/// account has claimed.
pub(super) async fn find_sent(
    ctx: &JobCtx,
    org_id: Uuid,
    push_id: Uuid,
    row: &Pending,
    listed: Vec<Campaign>,
) -> Result<Option<Campaign>, JobError> {
    let account_id = row.account_id;
    let claimed: Vec<String> = ctx
        .app
        .db
        .tenant(org_id, async move |c| {
            #[derive(diesel::QueryableByName)]
            struct Ext {
                #[diesel(sql_type = Text)]
                external_id: String,
            }
            let rows: Vec<Ext> = diesel::sql_query(
                "SELECT external_id FROM campaign_pushes
                 WHERE account_id = $1 AND id <> $2 AND external_id IS NOT NULL",
            )
            .bind::<SqlUuid, _>(account_id)
            .bind::<SqlUuid, _>(push_id)
            .load(c)
            .await?;
            Ok::<_, JobError>(rows.into_iter().map(|r| r.external_id).collect())
        })
        .await?;
    Ok(listed.into_iter().find(|k| {
        k.name == row.name
            && k.status != CampaignStatus::Removed
            && !row.preexisting_ids.contains(&k.id)
            && !claimed.contains(&k.id)
    }))
}

/// Notes the campaigns that already carry the push's name and marks the push as sent, in one
/// committed statement before the create goes out. False when another run marked it first.
pub(super) async fn mark_sent(
    ctx: &JobCtx,
    org_id: Uuid,
    push_id: Uuid,
    preexisting: Vec<String>,
) -> Result<bool, JobError> {
    ctx.app
        .db
        .tenant(org_id, async move |c| {
            let n = diesel::sql_query(
                "UPDATE campaign_pushes SET sent_at = now(), preexisting_ids = $2, updated_at = now()
                 WHERE id = $1 AND state = 'pending' AND sent_at IS NULL",
            )
            .bind::<SqlUuid, _>(push_id)
            .bind::<Array<Text>, _>(preexisting)
            .execute(c)
            .await?;
            Ok::<_, JobError>(n == 1)
        })
        .await
}

/// One push on its way to its platform: the job, the pending row and the account it goes to,
/// which every step of the create shares.
pub(super) struct PushRun<'a> {
    pub(super) ctx: &'a JobCtx,
    pub(super) org_id: Uuid,
    pub(super) push_id: Uuid,
    pub(super) row: &'a Pending,
    pub(super) platform: Platform,
    pub(super) currency: Currency,
    pub(super) creds: &'a Credentials,
    pub(super) account: &'a AccountRef,
}

impl PushRun<'_> {
    /// Records how the push ended (see [`record`]).
    pub(super) async fn record(&self, outcome: Outcome) -> Result<(), JobError> {
        record(
            self.ctx,
            self.org_id,
            self.push_id,
            self.row.account_id,
            self.platform,
            self.currency,
            outcome,
        )
        .await
    }

    /// The status the row asks the new campaign (and what it holds) to start in.
    pub(super) fn start_status(&self) -> CampaignStatus {
        if self.row.start_status == "active" {
            CampaignStatus::Active
        } else {
            CampaignStatus::Paused
        }
    }

    /// The row's daily budget.
    pub(super) fn budget(&self) -> Money {
        Money::new(self.row.daily_budget_micros, self.currency)
    }

    /// The campaign the row asks for: its name, budget and starting status.
    fn new_campaign(&self) -> NewCampaign {
        NewCampaign {
            name: self.row.name.clone(),
            daily_budget: self.budget(),
            status: self.start_status(),
        }
    }
}

/// The push's row, when it still exists.
async fn load_pending(
    ctx: &JobCtx,
    org_id: Uuid,
    push_id: Uuid,
) -> Result<Option<Pending>, JobError> {
    ctx.app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, JobError>(
                diesel::sql_query(
                    "SELECT account_id, platform, name, daily_budget_micros, currency,
                       start_status, state, sent_at, preexisting_ids, spec::text AS spec
                     FROM campaign_pushes WHERE id = $1",
                )
                .bind::<SqlUuid, _>(push_id)
                .get_result(c)
                .await
                .optional()?,
            )
        })
        .await
}

impl Job for PushCampaign {
    const KIND: &'static str = "campaigns.push";
    const MAX_ATTEMPTS: i32 = 4;
    const DEDUPE: Dedupe = Dedupe::Key;

    fn dedupe_key(&self) -> Option<String> {
        Some(self.push_id.to_string())
    }

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let org_id = ctx
            .org_id
            .ok_or_else(|| JobError::permanent("a campaign push needs its organization"))?;
        let push_id = self.push_id;
        let Some(row) = load_pending(&ctx, org_id, push_id).await? else {
            return Err(JobError::permanent("the campaign push row is gone"));
        };
        if row.state != "pending" {
            return Ok(());
        }
        let (Ok(platform), Ok(currency)) = (
            row.platform.parse::<Platform>(),
            row.currency.parse::<Currency>(),
        ) else {
            return Err(JobError::permanent("the campaign push row is malformed"));
        };
        let Ok(spec) = serde_json::from_str::<super::complete::PushSpec>(&row.spec) else {
            return Err(JobError::permanent("the campaign push's spec is malformed"));
        };
        let (_, creds, account) = match account_access(&ctx.app, org_id, row.account_id).await {
            Ok(a) => a,
            Err(e) => {
                let msg = format!(
                    "adpilot cannot reach {} for this ad account: {e}",
                    platform.label()
                );
                let maybe_made = row.sent_at.is_some();
                let outcome = Outcome::Failed(with_caution(msg, platform, &row, maybe_made));
                return record(
                    &ctx,
                    org_id,
                    push_id,
                    row.account_id,
                    platform,
                    currency,
                    outcome,
                )
                .await;
            }
        };
        let run = PushRun {
            ctx: &ctx,
            org_id,
            push_id,
            row: &row,
            platform,
            currency,
            creds: &creds,
            account: &account,
        };
        send(&run, spec).await
    }
}

/// Sends the push the way its platform makes what the spec asks for: Meta and TikTok as
/// recorded steps, Google and a campaign-only push in one create.
async fn send(run: &PushRun<'_>, spec: super::complete::PushSpec) -> Result<(), JobError> {
    let platform = run.platform;
    let google = spec.google.filter(|_| platform == Platform::Google);
    let meta = spec.meta.filter(|_| platform == Platform::Meta);
    let tiktok = spec.tiktok.filter(|_| platform == Platform::Tiktok);
    if let Some(m) = &meta {
        return super::meta_push::run(run, m).await;
    }
    if let Some(t) = &tiktok {
        return super::tiktok_push::run(run, t).await;
    }
    match look_before_sending(run, google.is_some()).await? {
        Ready::Send => {}
        Ready::Done => return Ok(()),
    }
    let new = run.new_campaign();
    run.ctx.lease.renew().await?;
    match &google {
        Some(g) => create_google(run, g, &new).await,
        None => create_plain(run, &new).await,
    }
}

/// Whether a one-call create goes out.
enum Ready {
    /// Nothing was sent before, or nothing an earlier send made was found: send it.
    Send,
    /// The push is settled (found, failed, or another run marked it sent first).
    Done,
}

/// What the platform has now: before a first create, to know which campaigns already carry
/// the name; after one whose answer was lost, to find what it made (and settle the push).
async fn look_before_sending(run: &PushRun<'_>, google: bool) -> Result<Ready, JobError> {
    let (ctx, org_id, push_id, row) = (run.ctx, run.org_id, run.push_id, run.row);
    let adapter = ctx.app.platforms.adapter(run.platform);
    let listed = match adapter.list_campaigns(run.creds, run.account).await {
        Ok(l) => l,
        Err(e) => {
            let maybe_made = row.sent_at.is_some();
            return failed(run, e, maybe_made).await.map(|()| Ready::Done);
        }
    };
    if row.sent_at.is_some() {
        if let Some(found) = find_sent(ctx, org_id, push_id, row, listed).await? {
            tracing::info!(push = %push_id, campaign = %found.id, "found the campaign an earlier create made; not creating it again");
            if google {
                super::complete::after_create(run, &found, None).await?;
            }
            run.record(Outcome::Found(found)).await?;
            return Ok(Ready::Done);
        }
    } else {
        let preexisting = listed
            .into_iter()
            .filter(|k| k.name == row.name)
            .map(|k| k.id)
            .collect();
        if !mark_sent(ctx, org_id, push_id, preexisting).await? {
            // Another run got there first; it (or its retry) finishes the push.
            return Ok(Ready::Done);
        }
    }
    Ok(Ready::Send)
}

/// Google Search: the whole tree in one atomic request.
async fn create_google(
    run: &PushRun<'_>,
    g: &super::complete::GoogleSpec,
    new: &NewCampaign,
) -> Result<(), JobError> {
    let adapter = run.ctx.app.platforms.adapter(run.platform);
    let spec = g.search_spec(&new.name, new.daily_budget, new.status);
    match adapter
        .create_search_campaign(run.creds, run.account, &spec, false)
        .await
    {
        Ok(Some(tree)) => {
            super::complete::after_create(run, &tree.campaign, Some(tree.objects)).await?;
            run.record(Outcome::Created(tree.campaign)).await
        }
        Ok(None) => Err(JobError::permanent(
            "Google Ads answered a create as if it were only checked",
        )),
        Err(e) => {
            // One atomic request: a refusal made nothing, an unknown outcome is
            // looked for by the next attempt.
            let maybe_made = e.may_have_landed();
            failed(run, e, maybe_made).await
        }
    }
}

/// A campaign-only push.
async fn create_plain(run: &PushRun<'_>, new: &NewCampaign) -> Result<(), JobError> {
    let adapter = run.ctx.app.platforms.adapter(run.platform);
    match adapter.create_campaign(run.creds, run.account, new).await {
        Ok(created) => run.record(Outcome::Created(created)).await,
        Err(e) => {
            let maybe_made = e.may_have_landed();
            failed(run, e, maybe_made).await
        }
    }
}

/// A failed platform call: tried again while attempts remain when waiting can help, or when
/// the create may have landed (the next attempt looks for it first); otherwise the push ends
/// with the platform's answer in plain words, and a caution when the campaign may exist.
async fn failed(run: &PushRun<'_>, e: PlatformError, maybe_made: bool) -> Result<(), JobError> {
    let ctx = run.ctx;
    if (e.is_retryable() || e.may_have_landed()) && ctx.attempt < ctx.max_attempts {
        return match &e {
            PlatformError::RateLimited {
                retry_after: Some(d),
                ..
            } => Err(JobError::retry_after(e.to_string(), *d)),
            _ => Err(JobError::retry(e.to_string())),
        };
    }
    run.record(Outcome::Failed(with_caution(
        plain_error(run.platform, &e),
        run.platform,
        run.row,
        maybe_made,
    )))
    .await
}

/// A push that ends in an error while a create it sent may have landed: the person must look
/// before creating the campaign again.
pub(super) fn with_caution(
    message: String,
    platform: Platform,
    row: &Pending,
    maybe_made: bool,
) -> String {
    if !maybe_made {
        return message;
    }
    format!(
        "{message} adpilot sent the campaign to {p} but never got its answer, so it may exist there: check {p} for \"{name}\" before creating it again.",
        p = platform.label(),
        name = row.name,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(sent: bool) -> Pending {
        Pending {
            account_id: Uuid::nil(),
            platform: "meta".into(),
            name: "Spring Sale".into(),
            daily_budget_micros: 1,
            currency: "USD".into(),
            start_status: "paused".into(),
            state: "pending".into(),
            sent_at: sent.then(Utc::now),
            preexisting_ids: Vec::new(),
            spec: "{}".into(),
        }
    }

    #[test]
    fn an_error_says_to_check_the_platform_only_when_the_campaign_may_exist() {
        let refused = with_caution("refused.".into(), Platform::Meta, &row(true), false);
        assert_eq!(refused, "refused.");
        let lost = with_caution("no answer.".into(), Platform::Meta, &row(true), true);
        assert!(
            lost.starts_with("no answer. ")
                && lost.contains("check Meta Ads for \"Spring Sale\" before creating it again"),
            "{lost}"
        );
    }

    #[test]
    fn only_failures_that_can_hide_a_success_may_have_landed() {
        assert!(
            PlatformError::Temporary {
                message: "timeout".into()
            }
            .may_have_landed()
        );
        assert!(PlatformError::unexpected("garbled").may_have_landed());
        assert!(!PlatformError::invalid("name taken").may_have_landed());
        assert!(
            !PlatformError::RateLimited {
                retry_after: None,
                message: "slow down".into()
            }
            .may_have_landed()
        );
    }
}
