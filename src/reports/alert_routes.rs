//! Buttons of the alerts page: acknowledge, snooze for a day or a week, mute a kind for an
//! account (and unmute it).

use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Form, Router, routing::post};
use chrono::{Duration, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::alert_actions;
use crate::app::AppState;
use crate::web::context::{FlashKind, Writer};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/alerts/{id}/acknowledge", post(acknowledge))
        .route("/alerts/{id}/snooze", post(snooze))
        .route("/alerts/{id}/mute", post(mute))
        .route("/alerts/mutes/delete", post(unmute))
}

/// The alert, if this member may act on it (a member limited to some ad accounts acts only on
/// theirs and on alerts about no account).
async fn visible(app: &AppState, w: &Writer, id: Uuid) -> AppResult<super::alerts::Alert> {
    let alert = app
        .db
        .tenant(w.org_id, async move |c| {
            Ok::<_, AppError>(super::alerts::list_one(c, id).await?)
        })
        .await?
        .ok_or(AppError::NotFound)?;
    if let (Some(scope), Some(acc)) = (&w.ctx.account_scope, alert.account_id)
        && !scope.contains(&acc)
    {
        return Err(AppError::NotFound);
    }
    Ok(alert)
}

async fn acknowledge(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    visible(&app, &w, id).await?;
    let user = w.user_id;
    let done = app
        .db
        .tenant(w.org_id, async move |c| {
            Ok::<_, AppError>(alert_actions::acknowledge(c, id, user).await?)
        })
        .await?;
    Ok(redirect_with_flash(
        "/alerts",
        if done {
            FlashKind::Success
        } else {
            FlashKind::Info
        },
        if done {
            "Acknowledged: it stays open until its cause clears, without asking for attention."
        } else {
            "That alert was already acknowledged or has resolved."
        },
    ))
}

#[derive(Debug, Deserialize)]
struct SnoozeForm {
    #[serde(default)]
    r#for: String,
}

async fn snooze(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
    Form(f): Form<SnoozeForm>,
) -> AppResult<Response> {
    visible(&app, &w, id).await?;
    let (length, words) = match f.r#for.as_str() {
        "1d" => (Duration::days(1), "a day"),
        "7d" => (Duration::days(7), "a week"),
        _ => {
            return Ok(redirect_with_flash(
                "/alerts",
                FlashKind::Error,
                "Snooze for a day or for a week.",
            ));
        }
    };
    let until = Utc::now() + length;
    let done = app
        .db
        .tenant(w.org_id, async move |c| {
            Ok::<_, AppError>(alert_actions::snooze(c, id, until).await?)
        })
        .await?;
    Ok(redirect_with_flash(
        "/alerts",
        if done {
            FlashKind::Success
        } else {
            FlashKind::Info
        },
        &if done {
            format!(
                "Snoozed for {words}, until {}.",
                until.format("%Y-%m-%d %H:%M UTC")
            )
        } else {
            "That alert has resolved meanwhile.".to_string()
        },
    ))
}

async fn mute(State(app): State<AppState>, w: Writer, Path(id): Path<Uuid>) -> AppResult<Response> {
    let alert = visible(&app, &w, id).await?;
    let Some(account) = alert.account_id else {
        return Ok(redirect_with_flash(
            "/alerts",
            FlashKind::Error,
            "This alert is not about one ad account, so it cannot be muted for one.",
        ));
    };
    let (kind, user) = (alert.kind.clone(), w.user_id);
    app.db
        .tenant(w.org_id, async move |c| {
            Ok::<_, AppError>(alert_actions::mute(c, account, &kind, user).await?)
        })
        .await?;
    Ok(redirect_with_flash(
        "/alerts",
        FlashKind::Success,
        &format!(
            "Muted “{}” alerts for this account. Unmute them under “Muted” below.",
            alert.kind_label()
        ),
    ))
}

#[derive(Debug, Deserialize)]
struct UnmuteForm {
    account_id: Option<Uuid>,
    #[serde(default)]
    kind: String,
}

async fn unmute(
    State(app): State<AppState>,
    w: Writer,
    Form(f): Form<UnmuteForm>,
) -> AppResult<Response> {
    let Some(account) = f.account_id else {
        return Err(AppError::NotFound);
    };
    if let Some(scope) = &w.ctx.account_scope
        && !scope.contains(&account)
    {
        return Err(AppError::NotFound);
    }
    let kind = f.kind;
    app.db
        .tenant(w.org_id, async move |c| {
            Ok::<_, AppError>(alert_actions::unmute(c, account, &kind).await?)
        })
        .await?;
    Ok(redirect_with_flash(
        "/alerts",
        FlashKind::Success,
        "Unmuted: the next check raises these alerts again.",
    ))
}
