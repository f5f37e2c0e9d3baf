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
