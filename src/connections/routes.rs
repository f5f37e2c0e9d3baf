//! Settings → Connections: connect, pick accounts, reconnect, disconnect.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Router, routing::get, routing::post};
use serde::Deserialize;
use uuid::Uuid;

use super::service::{self, AccountView, CallbackParams, ConnectionView};
use super::{ConnError, ConnectionStatus};
use crate::analytics::sync::HistorySettings;
use crate::app::AppState;
use crate::types::Platform;
use crate::web::context::{Admin, FlashKind, Shell, Viewer, Writer};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};
use crate::web::form::FieldErrors;
use crate::web::page::Page;

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

    /// A connection's history settings (its accounts share them), or the defaults.
    fn history_of(&self, c: &ConnectionView) -> HistorySettings {
        c.accounts
            .iter()
            .filter(|a| a.managed)
            .find_map(|a| self.sync.get(&a.id))
            .map(|s| s.history)
            .unwrap_or_default()
    }

    /// Whether a first sync or a backfill is under way, so the page refreshes its progress.
    fn loading(&self) -> bool {
        self.connections
            .iter()
            .filter(|c| c.status != ConnectionStatus::Removed)
            .flat_map(|c| c.accounts.iter().filter(|a| a.managed))
            .any(|a| match self.sync.get(&a.id) {
                None => true,
                Some(s) => !s.backfill_done && s.last_error.is_none(),
            })
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
    Ok(Page(render_page(&app, &v, None).await?).into_response())
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
            Ok((StatusCode::BAD_REQUEST, Page(page)).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "connections/accounts.html")]
struct AccountsPage {
    shell: Shell,
    connection: ConnectionView,
    error: Option<String>,
    errors: FieldErrors,
    /// The accounts ticked in a submission that came back; `None` shows what is stored.
    chosen: Option<Vec<Uuid>>,
    backfill_days: String,
    lookback_days: String,
    max_backfill_days: i32,
    max_lookback_days: i32,
}

impl AccountsPage {
    async fn new(app: &AppState, w: &Writer, id: Uuid) -> AppResult<AccountsPage> {
        let connection = service::get(app, w.org_id, id).await?;
        let history = history_of(app, w.org_id, &connection).await?;
        Ok(AccountsPage {
            shell: w.shell("connections"),
            connection,
            error: None,
            errors: FieldErrors::default(),
            chosen: None,
            backfill_days: history.backfill_days.to_string(),
            lookback_days: history.lookback_days.to_string(),
            max_backfill_days: HistorySettings::MAX_BACKFILL_DAYS,
            max_lookback_days: HistorySettings::MAX_LOOKBACK_DAYS,
        })
    }

    fn is_checked(&self, a: &AccountView) -> bool {
        match &self.chosen {
            Some(chosen) => chosen.contains(&a.id),
            None => a.managed || self.connection.status == ConnectionStatus::Pending,
        }
    }

    /// The page again with what was submitted and why it was refused; nothing was saved.
    fn refused(mut self, form: &ChoiceForm, error: Option<String>, errors: FieldErrors) -> Self {
        self.error = error;
        self.errors = errors;
        self.chosen = Some(form.accounts.clone());
        self.backfill_days = form.backfill_days.clone();
        self.lookback_days = form.lookback_days.clone();
        self
    }

    fn respond(self) -> AppResult<Response> {
        Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(self)).into_response())
    }
}

/// The history settings of a connection: those of its accounts (set together on the accounts
/// page), or the defaults before its first sync.
async fn history_of(
    app: &AppState,
    org_id: Uuid,
    connection: &ConnectionView,
) -> AppResult<HistorySettings> {
    let states = crate::analytics::sync::states(app, org_id)
        .await
        .map_err(AppError::internal)?;
    Ok(connection
        .accounts
        .iter()
        .filter(|a| a.managed)
        .find_map(|a| states.iter().find(|s| s.account_id == a.id))
        .map(|s| s.history)
        .unwrap_or_default())
}

async fn accounts_page(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    Ok(Page(AccountsPage::new(&app, &w, id).await?).into_response())
}

/// The account picker as submitted.
struct ChoiceForm {
    accounts: Vec<Uuid>,
    backfill_days: String,
    lookback_days: String,
    /// An account checkbox arrived with a control character: not from this page's form.
    damaged_choice: bool,
}

impl ChoiceForm {
    fn parse(body: &str) -> ChoiceForm {
        // Repeated checkbox fields: parsed by hand (serde_urlencoded has no repeated keys into Vec).
        let mut form = ChoiceForm {
            accounts: Vec::new(),
            backfill_days: String::new(),
            lookback_days: String::new(),
            damaged_choice: false,
        };
        let defaults = HistorySettings::default();
        let mut backfill = None;
        let mut lookback = None;
        for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
            match &*k {
                "account" if crate::web::form::has_forbidden_control(&v) => {
                    form.damaged_choice = true
                }
                "account" => form.accounts.extend(v.parse::<Uuid>().ok()),
                "backfill_days" => backfill = Some(v.into_owned()),
                "lookback_days" => lookback = Some(v.into_owned()),
                _ => {}
            }
        }
        // A form without the fields (an older page, a script) keeps the defaults.
        form.backfill_days = backfill.unwrap_or_else(|| defaults.backfill_days.to_string());
        form.lookback_days = lookback.unwrap_or_else(|| defaults.lookback_days.to_string());
        form
    }
}

async fn choose_accounts(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<Uuid>,
    body: String,
) -> AppResult<Response> {
    let mut form = ChoiceForm::parse(&body);
    // Every check before anything is saved: a refusal shows on the picker with what was typed.
    if let Some(field) = crate::web::form::control_field(&[
        ("backfill_days", &form.backfill_days),
        ("lookback_days", &form.lookback_days),
    ]) {
        form.backfill_days = crate::web::form::scrub(&form.backfill_days);
        form.lookback_days = crate::web::form::scrub(&form.lookback_days);
        return AccountsPage::new(&app, &w, id)
            .await?
            .refused(
                &form,
                None,
                FieldErrors::one(field, crate::web::form::CONTROL_MESSAGE),
            )
            .respond();
    }
    if form.damaged_choice {
        // Dropping the damaged box would stop managing an account nobody unticked.
        return AccountsPage::new(&app, &w, id)
            .await?
            .refused(
                &form,
                Some("Nothing was saved: an account choice arrived with invisible control characters (such as NUL), which this page never sends. Tick the accounts again and save.".into()),
                FieldErrors::default(),
            )
            .respond();
    }
    let history = match HistorySettings::parse(&form.backfill_days, &form.lookback_days) {
        Ok(h) => h,
        Err(errors) => {
            return AccountsPage::new(&app, &w, id)
                .await?
                .refused(&form, None, errors)
                .respond();
        }
    };
    match crate::billing::enforce::check_ad_account_choice(&app, w.org_id, id, &form.accounts).await
    {
        Ok(()) => {}
        Err(e @ crate::billing::enforce::LimitError::Reached { .. }) => {
            let message = e.message_for(w.role);
            return AccountsPage::new(&app, &w, id)
                .await?
                .refused(&form, Some(message), FieldErrors::default())
                .respond();
        }
        Err(e) => return Err(e.into()),
    }
    let first_choice = service::get(&app, w.org_id, id).await?.status == ConnectionStatus::Pending;
    match service::choose_accounts(&app, w.org_id, w.user_id, id, form.accounts.clone()).await {
        Ok(n) => {
            let managed: Vec<Uuid> = service::get(&app, w.org_id, id)
                .await?
                .accounts
                .iter()
                .filter(|a| a.managed)
                .map(|a| a.id)
                .collect();
            let org = w.org_id;
            app.db
                .tenant(org, async move |c| {
                    crate::analytics::sync::set_history(c, org, &managed, history).await?;
                    // The first sync (with its backfill) starts now rather than at the next tick.
                    crate::jobs::enqueue(c, Some(org), &crate::analytics::jobs::SyncOrg {}).await?;
                    Ok::<_, AppError>(())
                })
                .await?;
            Ok(redirect_with_flash(
                "/connections",
                FlashKind::Success,
                &format!(
                    "{} adpilot manages {n} ad account{}, keeps {} days of history and re-reads the last {} on every sync.",
                    if first_choice { "Connected." } else { "Saved." },
                    if n == 1 { "" } else { "s" },
                    history.backfill_days,
                    history.lookback_days,
                ),
            ))
        }
        Err(ConnError::NothingChosen) => AccountsPage::new(&app, &w, id)
            .await?
            .refused(
                &form,
                Some(ConnError::NothingChosen.to_string()),
                FieldErrors::default(),
            )
            .respond(),
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
