//! The dashboard's first-run checklist: connect an account, first sync, a rule in dry run, a
//! scheduled report, a teammate. Each step is read from the real state through the owning
//! module's public functions; the checklist hides itself when every step is done or an owner
//! or admin dismissed it (the one table of this file, `onboarding_dismissals`).

use axum::extract::State;
use axum::response::Response;
use diesel::sql_types::{Bool, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::app::{App, AppState};
use crate::automation::store::Mode;
use crate::connections::ConnectionStatus;
use crate::web::context::{Admin, FlashKind, Viewer};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};

/// One step of the checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub label: &'static str,
    pub hint: &'static str,
    pub href: &'static str,
    pub done: bool,
}

/// The checklist as the dashboard shows it.
#[derive(Debug, Clone)]
pub struct Checklist {
    pub steps: Vec<Step>,
    pub can_dismiss: bool,
}

impl Checklist {
    pub fn done_count(&self) -> usize {
        self.steps.iter().filter(|s| s.done).count()
    }
}

#[derive(diesel::QueryableByName)]
struct Flag {
    #[diesel(sql_type = Bool)]
    b: bool,
}

/// What the organization has done so far; `None` once the checklist was dismissed (checked
/// first, so a dismissed checklist costs the dashboard one query).
async fn progress(app: &App, org_id: Uuid) -> Result<Option<[bool; 5]>, AppError> {
    let local = app
        .db
        .tenant(org_id, async move |c| {
            let dismissed: Flag =
                diesel::sql_query("SELECT EXISTS (SELECT 1 FROM onboarding_dismissals) AS b")
                    .get_result(c)
                    .await?;
            if dismissed.b {
                return Ok::<_, AppError>(None);
            }
            // A rule that went on to live passed through (or skipped) the dry run: still done.
            let rule = crate::automation::store::list(c)
                .await?
                .iter()
                .any(|r| matches!(r.mode, Mode::DryRun | Mode::Live));
            let report = !crate::reports::schedule_store::list(c).await?.is_empty();
            let teammate = crate::auth::accounts::members(c).await?.len() > 1
                || !crate::auth::accounts::pending_invitations(c)
                    .await?
                    .is_empty();
            Ok(Some((rule, report, teammate)))
        })
        .await?;
    let Some((rule, report, teammate)) = local else {
        return Ok(None);
    };
    let connected = crate::connections::service::list(app, org_id)
        .await?
        .iter()
        .any(|c| {
            !matches!(
                c.status,
                ConnectionStatus::Pending | ConnectionStatus::Removed
            )
        });
    let synced = super::sync::states(app, org_id)
        .await
        .map_err(AppError::internal)?
        .iter()
        .any(|s| s.last_success_at.is_some());
    Ok(Some([connected, synced, rule, report, teammate]))
}

/// The checklist to show, or `None` when it is complete or dismissed.
pub async fn checklist(app: &App, v: &Viewer) -> AppResult<Option<Checklist>> {
    let Some(done) = progress(app, v.org_id).await? else {
        return Ok(None);
    };
    if done.iter().all(|d| *d) {
        return Ok(None);
    }
    let step = |i: usize, label, hint, href| Step {
        label,
        hint,
        href,
        done: done[i],
    };
    Ok(Some(Checklist {
        steps: vec![
            step(
                0,
                "Connect an ad account",
                "Google Ads, Meta Ads or TikTok Ads.",
                "/connections",
            ),
            step(
                1,
                "First sync done",
                "Numbers arrive after the first sync of a connected account.",
                "/connections",
            ),
            step(
                2,
                "A rule in dry run",
                "Write a rule and let it run without acting, to see what it would do.",
                "/rules/new",
            ),
            step(
                3,
                "Schedule a report",
                "A weekly or daily email of the numbers.",
                "/reports",
            ),
            step(
                4,
                "Invite a teammate",
                "Colleagues, or clients with read-only access.",
                "/settings#invite",
            ),
        ],
        can_dismiss: v.role.is_admin(),
    }))
}

/// POST /dashboard/onboarding/dismiss: hides the checklist for the whole organization.
pub async fn dismiss(State(app): State<AppState>, a: Admin) -> AppResult<Response> {
    let (org, user) = (a.org_id, a.user_id);
    app.db
        .tenant(org, async move |c| {
            diesel::sql_query(
                "INSERT INTO onboarding_dismissals (org_id, dismissed_by) VALUES ($1, $2) \
                 ON CONFLICT (org_id) DO NOTHING",
            )
            .bind::<SqlUuid, _>(org)
            .bind::<SqlUuid, _>(user)
            .execute(c)
            .await?;
            Ok::<_, AppError>(())
        })
        .await?;
    tracing::info!(org_id = %org, "onboarding checklist dismissed");
    Ok(redirect_with_flash(
        "/dashboard",
        FlashKind::Info,
        "The getting-started checklist is hidden for everyone in this organization.",
    ))
}
