//! Undo, from an ad group's (Meta: ad set's) or an ad's page, one change a rule check made to
//! it. It goes through `undo::undo_level_change`, the same audited path and undo key as the
//! rule history's "Undo this check", so the change is reversed once however often (or from
//! wherever) undo is pressed.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::{Router, routing::post};
use uuid::Uuid;

use super::actions::{ActionError, Target};
use crate::app::AppState;
use crate::web::context::{FlashKind, Writer};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ad-groups/{id}/changes/{change}/undo", post(group_undo))
        .route("/ads/{id}/changes/{change}/undo", post(ad_undo))
}

fn parse_ids(id: &str, change: &str) -> AppResult<(Uuid, Uuid)> {
    match (id.parse(), change.parse()) {
        (Ok(id), Ok(change)) => Ok((id, change)),
        _ => Err(AppError::NotFound),
    }
}

async fn group_undo(
    State(app): State<AppState>,
    w: Writer,
    Path((id, change)): Path<(String, String)>,
) -> AppResult<Response> {
    let (id, change) = parse_ids(&id, &change)?;
    undo(
        &app,
        &w,
        Target::AdGroup(id),
        change,
        format!("/ad-groups/{id}"),
    )
    .await
}

async fn ad_undo(
    State(app): State<AppState>,
    w: Writer,
    Path((id, change)): Path<(String, String)>,
) -> AppResult<Response> {
    let (id, change) = parse_ids(&id, &change)?;
    undo(&app, &w, Target::Ad(id), change, format!("/ads/{id}")).await
}

async fn undo(
    app: &AppState,
    w: &Writer,
    object: Target,
    change: Uuid,
    page: String,
) -> AppResult<Response> {
    // Another object's change, a person's change or another organization's is not found.
    let done = match super::undo::undo_level_change(app, w.org_id, w.user_id, change, object).await
    {
        Ok(d) => d,
        Err(ActionError::NotFound) => return Err(AppError::NotFound),
        Err(e) => return Err(AppError::from(e)),
    };
    let kind = if !done.failed.is_empty() {
        FlashKind::Error
    } else if done.reversed.is_empty() {
        FlashKind::Info
    } else {
        FlashKind::Success
    };
    // Back to the top of the page, where the flash says what happened.
    Ok(redirect_with_flash(&page, kind, &done.summary()))
}
