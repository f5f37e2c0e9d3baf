//! `/accounts/{id}/conversions`: an owner or admin chooses which of the ad account's
//! conversion types count as conversions and whose value counts as revenue. Saving re-derives
//! the account's stored history from the per-type figures kept with every row.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use uuid::Uuid;

use super::conversion_settings::{self, Seen};
use super::conversions::ConversionSettings;
use crate::app::AppState;
use crate::types::{Currency, Platform};
use crate::web::context::{Admin, FlashKind, Shell};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};
use crate::web::page::Page;

/// Days of stored rows the form lists types from.
const SEEN_DAYS: i64 = 90;
/// A form listing more than this is not from this page.
const MAX_CHOSEN: usize = 100;

pub fn router() -> Router<AppState> {
    Router::new().route("/accounts/{id}/conversions", get(page).post(save))
}

/// One checkbox row.
pub struct TypeRow {
    pub name: String,
    pub note: String,
    pub counts: bool,
    pub values: bool,
}

#[derive(Template)]
#[template(path = "analytics/conversions.html")]
struct ConversionsPage {
    shell: Shell,
    account_id: Uuid,
    account_name: String,
    platform: Platform,
    attribution: &'static str,
    default_note: &'static str,
    rows: Vec<TypeRow>,
    is_default: bool,
    error: Option<String>,
}

struct AccountInfo {
    name: String,
    platform: Platform,
    currency: Currency,
    time_zone: String,
}

/// One of the organization's managed ad accounts (the ones adpilot syncs).
async fn account(app: &AppState, org: Uuid, id: Uuid) -> AppResult<AccountInfo> {
    let managed = app
        .db
        .tenant(org, async move |c| {
            Ok::<_, AppError>(crate::connections::service::managed_accounts(c).await?)
        })
        .await?;
    let a = managed
        .into_iter()
        .find(|a| a.id == id)
        .ok_or(AppError::NotFound)?;
    Ok(AccountInfo {
        name: a.name,
        platform: a.platform,
        currency: a.currency,
        time_zone: a.time_zone,
    })
}

/// What each platform's attribution is, as adpilot asks for it.
fn attribution(p: Platform) -> &'static str {
    match p {
        Platform::Meta => {
            "The ad account's own attribution setting (adpilot asks Meta with \
             use_account_attribution_setting=true), so the numbers match Ads Manager's account \
             view. Change it in Meta Ads Manager."
        }
        Platform::Google => {
            "Each conversion action's own lookback windows and attribution model, set in Google \
             Ads; conversions are reported on the day of the click."
        }
        Platform::Tiktok => {
            "Each ad group's own click and view windows, set in TikTok Ads Manager; TikTok \
             cannot change them at report time."
        }
    }
}

fn default_note(p: Platform) -> &'static str {
    match p {
        Platform::Meta => {
            "the first of omni_purchase, purchase, offsite_conversion.fb_pixel_purchase that \
             the row carries (never two of them added up)"
        }
        Platform::Google => {
            "Google's conversions: the account's primary conversion actions (metrics.conversions)"
        }
        Platform::Tiktok => {
            "TikTok's conversion (the ad group's optimization event), valued by web purchases \
             (total_complete_payment_rate)"
        }
    }
}

async fn render(
    app: &AppState,
    a: &Admin,
    id: Uuid,
    chosen: Option<ConversionSettings>,
    error: Option<String>,
) -> AppResult<Response> {
    let info = account(app, a.0.org_id, id).await?;
    let today = super::sync::account_today(&info.time_zone, Utc::now());
    let (stored, seen) = app
        .db
        .tenant(a.0.org_id, async move |c| {
            let stored = conversion_settings::load(c, id).await?;
            let seen = conversion_settings::seen_types(c, id, today, SEEN_DAYS).await?;
            Ok::<_, AppError>((stored, seen))
        })
        .await?;
    let settings = chosen.unwrap_or(stored);
    let page = ConversionsPage {
        shell: a.0.shell("connections"),
        account_id: id,
        account_name: info.name,
        platform: info.platform,
        attribution: attribution(info.platform),
        default_note: default_note(info.platform),
        rows: rows(&seen, &settings),
        is_default: settings.is_default(),
        error,
    };
    let status = if page.error.is_some() {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    } else {
        axum::http::StatusCode::OK
    };
    Ok((status, Page(page)).into_response())
}

/// Types seen in the data, then chosen types not seen lately (kept so saving does not drop
/// them silently).
fn rows(seen: &[Seen], s: &ConversionSettings) -> Vec<TypeRow> {
    let mut out: Vec<TypeRow> = seen
        .iter()
        .map(|t| TypeRow {
            name: t.name.clone(),
            note: t
                .category
                .as_deref()
                .map(|c| format!("category {c}"))
                .unwrap_or_default(),
            counts: s.conversion_types.contains(&t.name),
            values: s.revenue_types.contains(&t.name),
        })
        .collect();
    for name in s.conversion_types.iter().chain(&s.revenue_types) {
        if !out.iter().any(|r| &r.name == name) {
            out.push(TypeRow {
                name: name.clone(),
                note: format!("not in the last {SEEN_DAYS} days of data"),
                counts: s.conversion_types.contains(name),
                values: s.revenue_types.contains(name),
            });
        }
    }
    out
}

async fn page(State(app): State<AppState>, a: Admin, Path(id): Path<Uuid>) -> AppResult<Response> {
    render(&app, &a, id, None, None).await
}

async fn save(
    State(app): State<AppState>,
    a: Admin,
    Path(id): Path<Uuid>,
    body: String,
) -> AppResult<Response> {
    // Repeated checkbox fields: parsed by hand (serde_urlencoded has no repeated keys).
    let mut chosen = ConversionSettings::default();
    // The form is checkboxes of type names the page lists; a control character in one is not
    // something a person typed, so the page says so and saves nothing (and shows what is
    // stored).
    if url::form_urlencoded::parse(body.as_bytes())
        .any(|(_, v)| crate::web::form::has_forbidden_control(&v))
    {
        let msg = "Nothing was saved: the form arrived with invisible control characters (such \
                   as NUL) in a conversion type, which this page never sends. Tick the types \
                   again and save.";
        return render(&app, &a, id, None, Some(msg.into())).await;
    }
    for (k, v) in url::form_urlencoded::parse(body.as_bytes()) {
        let list = match &*k {
            "count" => &mut chosen.conversion_types,
            "value" => &mut chosen.revenue_types,
            _ => continue,
        };
        let v = v.trim().to_string();
        if !v.is_empty() && !list.contains(&v) {
            list.push(v);
        }
    }
    let info = account(&app, a.0.org_id, id).await?;
    let today = super::sync::account_today(&info.time_zone, Utc::now());
    let org = a.0.org_id;
    let seen = app
        .db
        .tenant(org, async move |c| {
            let stored = conversion_settings::load(c, id).await?;
            let seen = conversion_settings::seen_types(c, id, today, SEEN_DAYS).await?;
            Ok::<_, AppError>((stored, seen))
        })
        .await?;
    let (stored, seen) = seen;
    let known = |n: &String| {
        seen.iter().any(|s| &s.name == n)
            || stored.conversion_types.contains(n)
            || stored.revenue_types.contains(n)
    };
    let unknown: Vec<&String> = chosen
        .conversion_types
        .iter()
        .chain(&chosen.revenue_types)
        .filter(|n| !known(n))
        .collect();
    if chosen.conversion_types.len() + chosen.revenue_types.len() > MAX_CHOSEN
        || !unknown.is_empty()
    {
        let names: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
        let msg = format!(
            "Nothing was saved: {} is not a conversion type of this account. Choose from the \
             types listed (they come from the account's synced data).",
            names.join(", ")
        );
        return render(&app, &a, id, Some(chosen), Some(msg)).await;
    }
    let (platform, currency, user) = (info.platform, info.currency, a.0.user_id);
    let rewritten = app
        .db
        .tenant(org, async move |c| {
            conversion_settings::save(c, org, id, user, &chosen).await?;
            let n = conversion_settings::rederive(c, id, platform, currency, &chosen).await?;
            crate::audit::record(
                c,
                org,
                Some(user),
                "account.conversion_settings",
                &id.to_string(),
                serde_json::json!({
                    "conversion_types": chosen.conversion_types,
                    "revenue_types": chosen.revenue_types,
                    "rows_rederived": n,
                }),
            )
            .await?;
            Ok::<_, AppError>(n)
        })
        .await?;
    Ok(redirect_with_flash(
        &format!("/accounts/{id}/conversions"),
        FlashKind::Success,
        &format!(
            "Saved. {rewritten} stored campaign-days were recalculated; dashboards, reports, \
             alerts and rules use the new definition from now on."
        ),
    ))
}
