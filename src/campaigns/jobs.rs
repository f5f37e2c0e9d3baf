//! Finishes platform actions that a busy platform or a dead process left open.

use serde::{Deserialize, Serialize};

use crate::jobs::{Dedupe, Job, JobCtx, JobError};

#[derive(Debug, Serialize, Deserialize)]
pub struct ResumeActionsAll {}

impl Job for ResumeActionsAll {
    const KIND: &'static str = "campaigns.resume_actions_all";
    const DEDUPE: Dedupe = Dedupe::Kind;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        crate::jobs::enqueue_for_every_org(&ctx.app, "open platform actions", || ResumeActions {})
            .await
            .map(|_| ())
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ResumeActions {}

impl Job for ResumeActions {
    const KIND: &'static str = "campaigns.resume_actions";
    const DEDUPE: Dedupe = Dedupe::Kind;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let org = ctx
            .org_id
            .ok_or_else(|| JobError::permanent("needs an organization"))?;
        let n = super::actions::resume_open(&ctx.app, org)
            .await
            .map_err(JobError::retry)?;
        if n > 0 {
            tracing::info!(n, "open platform actions finished");
        }
        Ok(())
    }
}

/// Finishes the intents a rule check left open (another run was still sending them, or the
/// platform asked to wait), minutes before the periodic [`ResumeActions`] would reach them.
/// Executing an intent is safe any number of times, so nothing is sent twice; one still open
/// after its turn makes the job retry with backoff.
#[derive(Debug, Serialize, Deserialize)]
pub struct FinishActions {
    pub ids: Vec<uuid::Uuid>,
}

impl Job for FinishActions {
    const KIND: &'static str = "campaigns.finish_actions";

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let org = ctx
            .org_id
            .ok_or_else(|| JobError::permanent("needs an organization"))?;
        let mut open = 0;
        for id in self.ids {
            match super::actions::execute(&ctx.app, org, id).await {
                Ok(o) if !o.state.is_final() => open += 1,
                Ok(_) | Err(super::actions::ActionError::NotFound) => {}
                Err(e) => return Err(JobError::retry(e)),
            }
        }
        if open > 0 {
            return Err(JobError::retry(format!(
                "{open} platform change(s) still in flight or waiting on the platform"
            )));
        }
        Ok(())
    }
}
