//! Creating campaigns on the platforms from adpilot's form. The form writes one pending row per
//! chosen ad account and enqueues one job per row in the same transaction; the job calls the
//! platform (outside any transaction) and records either the created campaign (with the
//! platform's id, also upserted into `campaigns` so it shows at once) or the platform's answer
//! in plain words.

use chrono::{DateTime, Utc};
use diesel::OptionalExtension;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::connections::service::{ManagedAccount, account_access};
use crate::db::Conn;
use crate::jobs::{Dedupe, Job, JobCtx, JobError};
use crate::platforms::{CampaignStatus, NewCampaign, PlatformError};
use crate::types::{Currency, Money, Platform};

/// What a creation asks for on one account.
#[derive(Debug, Clone)]
pub struct NewPush {
    pub account: ManagedAccount,
    pub name: String,
    pub objective: String,
    pub daily_budget_micros: i64,
    pub start_active: bool,
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
               daily_budget_micros, currency, start_status, created_by)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
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

    pub fn is_pending(&self) -> bool {
        self.state == "pending"
    }
}

/// The rows of one submission; empty when the batch is not this organization's.
pub async fn batch(c: &mut Conn, batch_id: Uuid) -> diesel::QueryResult<Vec<PushView>> {
    diesel::sql_query(
        "SELECT p.id, p.platform, a.name AS account_name, p.name, p.daily_budget_micros, p.currency,
           p.start_status, p.state, p.external_id, p.campaign_id, p.error, p.created_at
         FROM campaign_pushes p JOIN ad_accounts a ON a.id = p.account_id
         WHERE p.batch_id = $1
         ORDER BY p.platform, a.name",
    )
    .bind::<SqlUuid, _>(batch_id)
    .load(c)
    .await
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
struct Pending {
    #[diesel(sql_type = SqlUuid)]
    account_id: Uuid,
    #[diesel(sql_type = Text)]
    platform: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    daily_budget_micros: i64,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Text)]
    start_status: String,
    #[diesel(sql_type = Text)]
    state: String,
}

async fn record(
    ctx: &JobCtx,
    org_id: Uuid,
    push_id: Uuid,
    outcome: Result<(String, Option<Uuid>), String>,
) -> Result<(), JobError> {
    ctx.app
        .db
        .tenant(org_id, async move |c| {
            let (state, ext, cid, err) = match outcome {
                Ok((ext, cid)) => ("created", Some(ext), cid, None),
                Err(e) => ("error", None, None, Some(e)),
            };
            // Only a pending row changes: a duplicate run never overwrites a recorded outcome.
            diesel::sql_query(
                "UPDATE campaign_pushes SET state = $2, external_id = $3, campaign_id = $4,
                   error = $5, updated_at = now()
                 WHERE id = $1 AND state = 'pending'",
            )
            .bind::<SqlUuid, _>(push_id)
            .bind::<Text, _>(state)
            .bind::<Nullable<Text>, _>(ext)
            .bind::<Nullable<SqlUuid>, _>(cid)
            .bind::<Nullable<Text>, _>(err)
            .execute(c)
            .await?;
            Ok::<_, JobError>(())
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
        let row: Option<Pending> = ctx
            .app
            .db
            .tenant(org_id, async move |c| {
                Ok::<_, JobError>(
                    diesel::sql_query(
                        "SELECT account_id, platform, name, daily_budget_micros, currency,
                           start_status, state
                         FROM campaign_pushes WHERE id = $1",
                    )
                    .bind::<SqlUuid, _>(push_id)
                    .get_result(c)
                    .await
                    .optional()?,
                )
            })
            .await?;
        let Some(row) = row else {
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
        let (_, creds, account) = match account_access(&ctx.app, org_id, row.account_id).await {
            Ok(a) => a,
            Err(e) => {
                let msg = format!(
                    "adpilot cannot reach {} for this ad account: {e}",
                    platform.label()
                );
                return record(&ctx, org_id, push_id, Err(msg)).await;
            }
        };
        let new = NewCampaign {
            name: row.name.clone(),
            daily_budget: Money::new(row.daily_budget_micros, currency),
            status: if row.start_status == "active" {
                CampaignStatus::Active
            } else {
                CampaignStatus::Paused
            },
        };
        let adapter = ctx.app.platforms.adapter(platform);
        match adapter.create_campaign(&creds, &account, &new).await {
            Ok(created) => {
                let account_id = row.account_id;
                let ext = created.id.clone();
                let cid = ctx
                    .app
                    .db
                    .tenant(org_id, async move |c| {
                        let ids = super::upsert_synced(
                            c,
                            org_id,
                            account_id,
                            platform,
                            currency,
                            std::slice::from_ref(&created),
                        )
                        .await?;
                        Ok::<_, JobError>(ids.get(&created.id).copied())
                    })
                    .await?;
                record(&ctx, org_id, push_id, Ok((ext, cid))).await
            }
            // The adapter already retried within its budget; a later attempt of the job may
            // still succeed. (A timeout after the platform created the campaign could create
            // it twice on retry: the platforms offer no idempotency key for creation.)
            Err(e) if e.is_retryable() && ctx.attempt < ctx.max_attempts => match &e {
                PlatformError::RateLimited {
                    retry_after: Some(d),
                    ..
                } => Err(JobError::retry_after(e.to_string(), *d)),
                _ => Err(JobError::retry(e.to_string())),
            },
            Err(e) => record(&ctx, org_id, push_id, Err(plain_error(platform, &e))).await,
        }
    }
}
