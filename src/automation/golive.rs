//! Before a rule goes live: what it would change right now, listed, and a confirmation; after
//! a check: undo everything that check changed, in one step (through `campaigns::undo`, which
//! uses the audited action path).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::{Router, routing::post};
use chrono::Utc;
use uuid::Uuid;

use super::eval::Step;
use super::language::Rule;
use super::language::ast::{Level, LevelWord};
use super::runner;
use crate::app::AppState;
use crate::web::context::{FlashKind, Shell, Writer};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};
use crate::web::page::Page;

pub fn router() -> Router<AppState> {
    Router::new().route("/rules/{id}/runs/{run}/undo", post(undo))
}

/// One campaign, ad group or ad the rule would change now.
pub struct Change {
    /// Its page.
    pub href: String,
    pub name: String,
    pub platform: &'static str,
    pub actions: Vec<String>,
}

#[derive(Template)]
#[template(path = "rules/golive.html")]
pub struct GoLivePage {
    pub shell: Shell,
    pub rule_name: String,
    /// Where the confirming form posts, and the fields it carries.
    pub action: String,
    pub hidden: Vec<(&'static str, String)>,
    pub back: String,
    pub in_scope: usize,
    /// What the rule changes, as its text names it: "campaign(s)", "ad set(s)", "ad(s)".
    pub one: &'static str,
    pub many: &'static str,
    pub changes: Vec<Change>,
    /// Matched campaigns whose actions would be skipped (already paused, limits).
    pub unchanged: usize,
}

fn changes_something(a: &super::eval::PlannedAction) -> bool {
    a.skipped.is_none() && !matches!(a.step, Step::Notify(_))
}

/// The page that lists what `rule` would change if it were checked now.
pub async fn confirm_page(
    app: &AppState,
    shell: Shell,
    org_id: Uuid,
    rule: &Rule,
    action: String,
    hidden: Vec<(&'static str, String)>,
    back: String,
) -> AppResult<Response> {
    let (in_scope, rows) = runner::preview(app, org_id, rule, Utc::now()).await?;
    let mut unchanged = 0;
    let mut changes = Vec::new();
    for r in rows {
        if !r.evaluation.actions.iter().any(changes_something) {
            unchanged += 1;
            continue;
        }
        let href = match r.evaluation.level {
            Level::AdGroup => format!("/ad-groups/{}", r.campaign_id),
            Level::Ad => format!("/ads/{}", r.campaign_id),
            Level::Campaign | Level::Account => format!("/campaigns/{}", r.campaign_id),
        };
        changes.push(Change {
            href,
            name: r.campaign_name,
            platform: r.platform.label(),
            actions: r
                .evaluation
                .actions
                .iter()
                .filter(|a| changes_something(a))
                .map(super::routes::describe)
                .collect(),
        });
    }
    let (one, many) = match rule.level_word() {
        LevelWord::Campaigns => ("campaign", "campaigns"),
        LevelWord::AdGroups => ("ad group", "ad groups"),
        LevelWord::AdSets => ("ad set", "ad sets"),
        LevelWord::Ads => ("ad", "ads"),
    };
    let page = GoLivePage {
        shell,
        rule_name: rule.name.clone(),
        action,
        hidden,
        back,
        in_scope,
        one,
        many,
        changes,
        unchanged,
    };
    Ok(Page(page).into_response())
}

async fn undo(
    State(app): State<AppState>,
    w: Writer,
    Path((id, run)): Path<(Uuid, Uuid)>,
) -> AppResult<Response> {
    // Another organization's rule is simply not found (and its id never echoed back).
    super::routes::load_rule(&app, w.org_id, id).await?;
    let to = format!("/rules/{id}/history");
    let done = match crate::campaigns::undo::undo_run(&app, w.org_id, w.user_id, id, run).await {
        Ok(d) => d,
        Err(crate::campaigns::actions::ActionError::NotFound) => {
            return Ok(redirect_with_flash(
                &to,
                FlashKind::Info,
                "That check changed nothing, so there is nothing to undo.",
            ));
        }
        Err(e) => return Err(AppError::from(e)),
    };
    let kind = if done.failed.is_empty() {
        FlashKind::Success
    } else {
        FlashKind::Error
    };
    let message = done.summary();
    Ok(redirect_with_flash(&to, kind, &message))
}
