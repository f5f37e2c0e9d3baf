//! Rule checks as background jobs. A system schedule ticks every minute: [`RulesTick`] lists
//! organizations through the named cross-tenant path (`adpilot_all_org_ids()`), finds each
//! one's due rules in its own tenant transaction and enqueues one [`RulesCheckBatch`] with all
//! of them, so an organization's checks share one facts query. Each rule's slot is claimed in
//! the same transaction (`rules.queued_slot`), so a slow check is never queued twice.

use chrono::{DateTime, Utc};
use diesel::sql_types::Uuid as SqlUuid;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{runner, store};
use crate::jobs::{Dedupe, Job, JobCtx, JobError};

/// Finds due rules in every organization.
#[derive(Debug, Serialize, Deserialize)]
pub struct RulesTick {
    pub slot: DateTime<Utc>,
}

/// Checks one rule for one slot. Ticks no longer queue it; it stays so that rows queued by an
/// earlier version still run.
#[derive(Debug, Serialize, Deserialize)]
pub struct RulesCheck {
    pub rule_id: Uuid,
    pub slot: DateTime<Utc>,
}

/// Checks an organization's due rules, each for its slot, in one pass.
#[derive(Debug, Serialize, Deserialize)]
pub struct RulesCheckBatch {
    pub checks: Vec<(Uuid, DateTime<Utc>)>,
}

#[derive(diesel::QueryableByName)]
struct OrgRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Enqueues the checks due at `now`; returns how many were enqueued.
pub async fn enqueue_due(app: &crate::app::App, now: DateTime<Utc>) -> Result<usize, JobError> {
    let orgs: Vec<OrgRow> = {
        let mut c = app.db.conn().await?;
        diesel::sql_query("SELECT id FROM adpilot_all_org_ids() AS id")
            .load(&mut c)
            .await?
    };
    let mut n = 0;
    for org in orgs {
        let org_id = org.id;
        n += app
            .db
            .tenant(org_id, async move |c| {
                let due = runner::due(c, now).await?;
                if due.is_empty() {
                    return Ok::<_, JobError>(0);
                }
                let checks = store::claim_slots(c, &due).await?;
                if checks.is_empty() {
                    return Ok(0);
                }
                let n = checks.len();
                crate::jobs::enqueue(c, Some(org_id), &RulesCheckBatch { checks }).await?;
                Ok(n)
            })
            .await?;
    }
    Ok(n)
}

impl Job for RulesTick {
    const KIND: &'static str = "rules.tick";
    const DEDUPE: Dedupe = Dedupe::Kind;
    const MAX_ATTEMPTS: i32 = 1;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let n = enqueue_due(&ctx.app, Utc::now()).await?;
        tracing::debug!(enqueued = n, slot = %self.slot, "rule checks enqueued");
        Ok(())
    }
}

impl Job for RulesCheck {
    const KIND: &'static str = "rules.check";
    const DEDUPE: Dedupe = Dedupe::Key;
    const MAX_ATTEMPTS: i32 = 3;

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("rule:{}:{}", self.rule_id, self.slot.timestamp()))
    }

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let org = ctx
            .org_id
            .ok_or_else(|| JobError::permanent("a rule check needs an organization"))?;
        let checked = runner::check_rules(
            &ctx.app,
            org,
            &[(self.rule_id, self.slot)],
            Utc::now(),
            Some(&ctx.lease),
        )
        .await;
        match checked.and_then(|mut s| s.pop().ok_or(runner::RunError::NotFound)) {
            Ok(_) => Ok(()),
            // Deleted, paused or set to draft since it was queued: nothing to do.
            Err(runner::RunError::NotFound) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

impl Job for RulesCheckBatch {
    const KIND: &'static str = "rules.check_batch";
    const MAX_ATTEMPTS: i32 = 3;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let org = ctx
            .org_id
            .ok_or_else(|| JobError::permanent("a rule check needs an organization"))?;
        // Rules deleted, paused or set to draft since the tick are left out by the runner.
        runner::check_rules(&ctx.app, org, &self.checks, Utc::now(), Some(&ctx.lease)).await?;
        Ok(())
    }
}
