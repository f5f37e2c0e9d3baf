//! Scheduled work of connections: token refresh every 5 minutes, key rotation in the background.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::service::{self, RefreshOutcome};
use crate::jobs::{Dedupe, Job, JobCtx, JobError};

/// Fans the refresh out: one [`RefreshOrg`] per organization.
#[derive(Debug, Serialize, Deserialize)]
pub struct RefreshAll {}

impl Job for RefreshAll {
    const KIND: &'static str = "connections.refresh_all";
    const DEDUPE: Dedupe = Dedupe::Kind;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        crate::jobs::enqueue_for_every_org(&ctx.app, "token refresh fan-out", || RefreshOrg {})
            .await
            .map(|_| ())
    }
}

/// Refreshes what is due in one organization and tells owners about connections that need
/// reconnecting (once per incident).
#[derive(Debug, Serialize, Deserialize)]
pub struct RefreshOrg {}

impl Job for RefreshOrg {
    const KIND: &'static str = "connections.refresh";
    const DEDUPE: Dedupe = Dedupe::Kind;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let org = ctx
            .org_id
            .ok_or_else(|| JobError::permanent("refresh needs an organization"))?;
        let failures: Vec<String> = refresh_org_now(&ctx.app, org)
            .await
            .map_err(JobError::retry)?
            .into_iter()
            .filter_map(|o| match o {
                RefreshOutcome::Failed(m) => Some(m),
                _ => None,
            })
            .collect();
        if failures.is_empty() {
            Ok(())
        } else {
            Err(JobError::retry(failures.join("; ")))
        }
    }
}

/// Re-encrypts every organization's tokens under the newest key, then retires the old keys.
#[derive(Debug, Serialize, Deserialize)]
pub struct RotateKeys {}

impl Job for RotateKeys {
    const KIND: &'static str = "connections.rotate_keys";
    const DEDUPE: Dedupe = Dedupe::Kind;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let app = &ctx.app;
        {
            let mut c = app.db.conn().await?;
            app.vault.reload(&mut c).await.map_err(JobError::retry)?;
        }
        let version = app.vault.current_version();
        let orgs = crate::auth::accounts::all_org_ids(&app.db, "key rotation")
            .await
            .map_err(JobError::retry)?;
        for org in orgs {
            let n = service::reencrypt_org(app, org)
                .await
                .map_err(JobError::retry)?;
            // Webhook signing secrets live in the same vault; they move to the new key too.
            crate::reports::alerts::reencrypt_channel_secrets(app, org)
                .await
                .map_err(JobError::retry)?;
            if n > 0 {
                app.db
                    .tenant(org, async move |c| {
                        crate::audit::record(
                            c,
                            org,
                            None,
                            "vault.key_rotated",
                            "tokens",
                            serde_json::json!({"key_version": version, "connections": n}),
                        )
                        .await?;
                        Ok::<_, crate::db::DbError>(())
                    })
                    .await?;
            }
        }
        let mut c = app.db.conn().await?;
        let retired = app
            .vault
            .retire_old_keys(&mut c)
            .await
            .map_err(JobError::retry)?;
        tracing::info!(version, retired, "key rotation finished");
        Ok(())
    }
}

/// Refreshes every connection of an organization that is due (one failure does not stop the
/// others) and sends the one reconnect notice per incident: what the scheduled job runs.
pub async fn refresh_org_now(
    app: &crate::app::App,
    org: Uuid,
) -> Result<Vec<RefreshOutcome>, super::ConnError> {
    let mut out = Vec::new();
    for id in service::due_for_refresh(app, org).await? {
        let outcome = match service::refresh_connection(app, org, id).await {
            Ok(o) => o,
            Err(e) => RefreshOutcome::Failed(e.to_string()),
        };
        if outcome == RefreshOutcome::NeedsReconnect {
            if let Err(e) = service::notify_needs_reconnect(app, org, id).await {
                tracing::warn!(error = %e, "reconnect notice failed");
            }
        }
        out.push(outcome);
    }
    Ok(out)
}
