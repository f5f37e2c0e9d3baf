//! Seals webhook signing secrets that older versions stored in clear. Key rotation did this
//! too, but only when an operator rotated; this job runs at every start, so a secret is in
//! clear no longer than one start of the new version.

use serde::{Deserialize, Serialize};

use crate::jobs::{Dedupe, Job, JobCtx, JobError};

/// Every organization's plaintext (or older-key) signing secrets under the current key.
#[derive(Debug, Serialize, Deserialize)]
pub struct SealChannelSecrets {}

impl Job for SealChannelSecrets {
    const KIND: &'static str = "alerts.seal_channel_secrets";
    const DEDUPE: Dedupe = Dedupe::Kind;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let app = &ctx.app;
        let orgs = crate::auth::accounts::all_org_ids(&app.db, "sealing webhook secrets")
            .await
            .map_err(JobError::retry)?;
        let mut sealed = 0;
        for org in orgs {
            sealed += super::alerts::reencrypt_channel_secrets(app, org)
                .await
                .map_err(JobError::retry)?;
        }
        if sealed > 0 {
            tracing::info!(sealed, "webhook signing secrets sealed");
        }
        Ok(())
    }
}
