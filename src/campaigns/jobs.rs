//! Finishes platform actions that a busy platform or a dead process left open.

use serde::{Deserialize, Serialize};

use crate::jobs::{Dedupe, Job, JobCtx, JobError};

#[derive(Debug, Serialize, Deserialize)]
pub struct ResumeActionsAll {}

impl Job for ResumeActionsAll {
    const KIND: &'static str = "campaigns.resume_actions_all";
    const DEDUPE: Dedupe = Dedupe::Kind;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let orgs = crate::auth::accounts::all_org_ids(&ctx.app.db, "open platform actions")
            .await
            .map_err(JobError::retry)?;
        for org in orgs {
            // Only organizations with open intents get a job.
            let open: i64 = ctx
                .app
                .db
                .tenant(org, async move |c| {
                    use crate::db::schema::platform_actions;
                    use diesel::prelude::*;
                    use diesel_async::RunQueryDsl;
                    Ok::<_, crate::db::DbError>(
                        platform_actions::table
                            .filter(platform_actions::state.eq_any(["pending", "executing"]))
                            .count()
                            .get_result(c)
                            .await?,
                    )
                })
                .await?;
            if open > 0 {
                ctx.app
                    .db
                    .tenant(org, async move |c| {
                        crate::jobs::enqueue(c, Some(org), &ResumeActions {}).await?;
                        Ok::<_, crate::db::DbError>(())
                    })
                    .await?;
            }
        }
        Ok(())
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
