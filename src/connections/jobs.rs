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
        let orgs = crate::auth::accounts::all_org_ids(&ctx.app.db, "token refresh fan-out")
            .await
            .map_err(JobError::retry)?;
        for org in orgs {
            ctx.app
                .db
                .tenant(org, async move |c| {
                    crate::jobs::enqueue(c, Some(org), &RefreshOrg {}).await?;
                    Ok::<_, crate::db::DbError>(())
                })
                .await?;
        }
        Ok(())
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
        let ids = service::due_for_refresh(&ctx.app, org)
            .await
            .map_err(JobError::retry)?;
        let mut failures = Vec::new();
        for id in ids {
            match service::refresh_connection(&ctx.app, org, id).await {
                Ok(RefreshOutcome::NeedsReconnect) => {
                    if let Err(e) = service::notify_needs_reconnect(&ctx.app, org, id).await {
                        tracing::warn!(error = %e, "reconnect notice failed");
                    }
                }
                Ok(RefreshOutcome::Failed(m)) => failures.push(m),
                Ok(_) => {}
                Err(e) => failures.push(e.to_string()),
            }
        }
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

/// Finds every connection refresh would look at, for tests and the CLI.
pub async fn refresh_org_now(
    app: &crate::app::App,
    org: Uuid,
) -> Result<Vec<RefreshOutcome>, super::ConnError> {
    let mut out = Vec::new();
    for id in service::due_for_refresh(app, org).await? {
        let o = service::refresh_connection(app, org, id).await?;
        if o == RefreshOutcome::NeedsReconnect {
            service::notify_needs_reconnect(app, org, id).await?;
        }
        out.push(o);
    }
    Ok(out)
}
