//! Scheduled work of analytics: a metrics sync per managed ad account every 15 minutes, and
//! monthly partitions created ahead.

use chrono::{Datelike, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::sync::{self, SyncError};
use crate::jobs::{Dedupe, Job, JobCtx, JobError};
use crate::platforms::PlatformError;

/// Fans out: one [`SyncOrg`] per organization.
#[derive(Debug, Serialize, Deserialize)]
pub struct SyncAll {}

impl Job for SyncAll {
    const KIND: &'static str = "analytics.sync_all";
    const DEDUPE: Dedupe = Dedupe::Kind;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        crate::jobs::enqueue_for_every_org(&ctx.app, "metrics sync fan-out", || SyncOrg {})
            .await
            .map(|_| ())
    }
}

/// One [`SyncAccount`] per managed account, so a rate-limited account waits for its window
/// without holding up the others.
#[derive(Debug, Serialize, Deserialize)]
pub struct SyncOrg {}

impl Job for SyncOrg {
    const KIND: &'static str = "analytics.sync_org";
    const DEDUPE: Dedupe = Dedupe::Kind;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let org = ctx
            .org_id
            .ok_or_else(|| JobError::permanent("sync needs an organization"))?;
        let accounts = sync::accounts_to_sync(&ctx.app, org)
            .await
            .map_err(JobError::retry)?;
        ctx.app
            .db
            .tenant(org, async move |c| {
                for account_id in accounts {
                    crate::jobs::enqueue(c, Some(org), &SyncAccount { account_id }).await?;
                }
                Ok::<_, crate::db::DbError>(())
            })
            .await?;
        Ok(())
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SyncAccount {
    pub account_id: Uuid,
}

impl Job for SyncAccount {
    const KIND: &'static str = "analytics.sync_account";
    const DEDUPE: Dedupe = Dedupe::Key;
    const MAX_ATTEMPTS: i32 = 8;

    fn dedupe_key(&self) -> Option<String> {
        Some(self.account_id.to_string())
    }

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let org = ctx
            .org_id
            .ok_or_else(|| JobError::permanent("sync needs an organization"))?;
        match sync::sync_account(&ctx.app, org, self.account_id, Utc::now()).await {
            Ok(report) => {
                tracing::info!(account = %self.account_id, rows = report.rows_read, changed = report.rows_changed, "synced");
                Ok(())
            }
            // Nothing to do until someone reconnects or re-selects the account.
            Err(e @ (SyncError::NotManaged | SyncError::NeedsReconnect)) => {
                tracing::info!(account = %self.account_id, reason = %e, "sync skipped");
                Ok(())
            }
            Err(SyncError::Platform(PlatformError::RateLimited {
                retry_after,
                message,
            })) => Err(JobError::retry_after(
                message,
                retry_after.unwrap_or(std::time::Duration::from_secs(60)),
            )),
            Err(SyncError::Platform(
                e @ (PlatformError::Auth { .. } | PlatformError::Invalid { .. }),
            )) => Err(JobError::permanent(e)),
            Err(e) => Err(JobError::retry(e)),
        }
    }
}

/// Creates next months' partitions (and any missing recent ones) ahead of ingest.
#[derive(Debug, Serialize, Deserialize)]
pub struct PartitionUpkeep {}

impl Job for PartitionUpkeep {
    const KIND: &'static str = "analytics.partitions";
    const DEDUPE: Dedupe = Dedupe::Kind;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let mut c = ctx.app.db.conn().await?;
        let n = upkeep_partitions(&mut c, Utc::now().date_naive()).await?;
        tracing::info!(created = n, "metrics partitions checked");
        Ok(())
    }
}

/// How far ahead of today the daily upkeep keeps monthly partitions.
pub const PARTITION_HORIZON_DAYS: i64 = 120;

/// What the daily upkeep does on `today` (a date, so that tests choose the day): makes sure
/// the partitions from last month to [`PARTITION_HORIZON_DAYS`] ahead exist. Returns how many
/// it created.
pub async fn upkeep_partitions(
    c: &mut crate::db::Conn,
    today: chrono::NaiveDate,
) -> diesel::QueryResult<i32> {
    let from = today.with_day(1).unwrap_or(today) - chrono::Duration::days(31);
    let to = today + chrono::Duration::days(PARTITION_HORIZON_DAYS);
    super::ingest::ensure_partitions(c, from, to).await
}
