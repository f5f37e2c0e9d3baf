//! Settings → Connections: connect, pick accounts, reconnect, disconnect.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Form, Router, routing::get, routing::post};
use serde::Deserialize;
use uuid::Uuid;

use super::service::{self, CallbackParams, ConnectionView};
use super::{ConnError, ConnectionStatus};
use crate::app::AppState;
use crate::types::Platform;
use crate::web::context::{Admin, FlashKind, Shell, Viewer, Writer};
use crate::web::error::{AppError, AppResult};
use crate::web::middleware::redirect_with_flash;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/connections", get(page))
        .route("/connections/{platform}/start", post(start))
        .route("/connections/{platform}/callback", get(callback))
        .route(
            "/connections/{id}/accounts",
            get(accounts_page).post(choose_accounts),
        )
        .route("/connections/{id}/reconnect", post(reconnect))
        .route("/connections/{id}/disconnect", post(disconnect))
}

fn platform_of(s: &str) -> Result<Platform, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

pub struct PlatformOption {
    pub platform: Platform,
    pub configured: bool,
}

#[derive(Template)]
#[template(path = "connections/index.html")]
struct ConnectionsPage {
    shell: Shell,
    options: Vec<PlatformOption>,
    connections: Vec<ConnectionView>,
    error: Option<String>,
    sync: std::collections::HashMap<Uuid, crate::analytics::sync::SyncState>,
    today: chrono::NaiveDate,
}

impl ConnectionsPage {
    fn sync_of(&self, id: &Uuid) -> Option<&crate::analytics::sync::SyncState> {
        self.sync.get(id)
    }
}

async fn render_page(
    app: &AppState,
    v: &Viewer,
    error: Option<String>,
) -> AppResult<ConnectionsPage> {
    let connections = service::list(app, v.org_id).await?;
    let options = Platform::ALL
        .iter()
        .map(|p| PlatformOption {
            platform: *p,
            configured: service::configured(app, *p),
        })
        .collect();
    let sync = crate::analytics::sync::states(app, v.org_id)
        .await
        .map_err(AppError::internal)?
        .into_iter()
        .map(|s| (s.account_id, s))
        .collect();
    let today = chrono::Utc::now().with_timezone(&v.tz()).date_naive();
    Ok(ConnectionsPage {
        shell: v.shell("connections"),
        options,
        connections,
        error,
        sync,
        today,
    })
}

async fn page(State(app): State<AppState>, v: Viewer) -> AppResult<Response> {
    Ok(Html(render_page(&app, &v, None).await?.render()?).into_response())
}

async fn start(
    State(app): State<AppState>,
    w: Writer,
    Path(platform): Path<String>,
) -> AppResult<Response> {
    let platform = platform_of(&platform)?;
    match service::start(&app, w.org_id, w.user_id, w.session_id, platform, None).await {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        Err(e @ ConnError::NotConfigured(_)) => Ok(redirect_with_flash(
            "/connections",
            FlashKind::Error,
            &e.to_string(),
        )),
        Err(e) => Err(e.into()),
    }
}

async fn reconnect(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let c = service::get(&app, w.org_id, id).await?;
    match service::start(
        &app,
        w.org_id,
        w.user_id,
        w.session_id,
        c.platform,
        Some(id),
    )
    .await
    {
        Ok(url) => Ok(Redirect::to(&url).into_response()),
        Err(e @ ConnError::NotConfigured(_)) => Ok(redirect_with_flash(
            "/connections",
            FlashKind::Error,
            &e.to_string(),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The platform sends the browser back here (a GET by necessity; the one-time state, bound to
/// this session and platform, is what protects it).
async fn callback(
    State(app): State<AppState>,
    w: Writer,
    Path(platform): Path<String>,
    Query(params): Query<CallbackParams>,
) -> AppResult<Response> {
    let platform = platform_of(&platform)?;
    match service::finish(&app, w.org_id, w.user_id, w.session_id, platform, &params).await {
        Ok(id) => {
            let c = service::get(&app, w.org_id, id).await?;
            if c.status == ConnectionStatus::Pending {
                Ok(Redirect::to(&format!("/connections/{id}/accounts")).into_response())
            } else {
                Ok(redirect_with_flash(
                    "/connections",
                    FlashKind::Success,
                    &format!("{} is reconnected.", platform.label()),
                ))
            }
        }
        Err(e) => {
            match &e {
                ConnError::Db(_) | ConnError::Vault(_) => return Err(e.into()),
                _ => tracing::warn!(%platform, error = %e, "connect attempt refused"),
            }
            let page = render_page(&app, &w, Some(e.to_string())).await?;
            Ok((axum::http::StatusCode::BAD_REQUEST, Html(page.render()?)).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "connections/accounts.html")]
struct AccountsPage {
    shell: Shell,
    connection: ConnectionView,
    error: Option<String>,
}

async fn accounts_page(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    let connection = service::get(&app, w.org_id, id).await?;
    Ok(Html(
        AccountsPage {
            shell: w.shell("connections"),
            connection,
            error: None,
        }
        .render()?,
    )
    .into_response())
}

async fn choose_accounts(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
    body: String,
) -> AppResult<Response> {
    // Repeated checkbox fields: parse by hand (serde_urlencoded has no repeated keys into Vec).
    let chosen: Vec<Uuid> = url::form_urlencoded::parse(body.as_bytes())
        .filter(|(k, _)| k == "account")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    // Plan limit first: a refusal shows on the picker, nothing is saved.
    match crate::billing::check_ad_account_choice(&app, w.org_id, id, &chosen).await {
        Ok(()) => {}
        Err(e @ crate::billing::LimitError::Reached { .. }) => {
            let connection = service::get(&app, w.org_id, id).await?;
            let page = AccountsPage {
                shell: w.shell("connections"),
                connection,
                error: Some(e.message_for(w.role)),
            };
            return Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                Html(page.render()?),
            )
                .into_response());
        }
        Err(e) => return Err(e.into()),
    }
    match service::choose_accounts(&app, w.org_id, w.user_id, id, chosen).await {
        Ok(n) => {
            // The first sync (with its backfill) starts now rather than at the next tick.
            let org = w.org_id;
            app.db
                .tenant(org, async move |c| {
                    crate::jobs::enqueue(c, Some(org), &crate::analytics::jobs::SyncOrg {}).await?;
                    Ok::<_, AppError>(())
                })
                .await?;
            Ok(redirect_with_flash(
                "/connections",
                FlashKind::Success,
                &format!(
                    "Connected. adpilot manages {n} ad account{} and starts syncing.",
                    if n == 1 { "" } else { "s" }
                ),
            ))
        }
        Err(ConnError::NothingChosen) => {
            let connection = service::get(&app, w.org_id, id).await?;
            let page = AccountsPage {
                shell: w.shell("connections"),
                connection,
                error: Some(ConnError::NothingChosen.to_string()),
            };
            Ok((
                axum::http::StatusCode::UNPROCESSABLE_ENTITY,
                Html(page.render()?),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
struct DisconnectForm {
    #[serde(default)]
    delete_history: Option<String>,
}

async fn disconnect(
    State(app): State<AppState>,
    a: Admin,
    Path(id): Path<Uuid>,
    Form(form): Form<DisconnectForm>,
) -> AppResult<Response> {
    let delete = form
        .delete_history
        .is_some_and(|v| v == "on" || v == "true" || v == "1");
    service::disconnect(&app, a.org_id, a.user_id, id, delete).await?;
    let msg = if delete {
        "Disconnected; its accounts and history were deleted."
    } else {
        "Disconnected. Its history stays, marked as from a removed connection."
    };
    Ok(redirect_with_flash("/connections", FlashKind::Success, msg))
}
