//! The campaigns list, where marketers work: every campaign adpilot knows with its numbers for
//! a chosen range, sorting, filters, an on/off switch per row, and bulk pause, resume and
//! budget changes (confirmed first, each through the audited action path).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::{Form, Router, routing::post};
use uuid::Uuid;

use super::actions::{self, ActionKind, ActionRequest, ActionState, Source, Target};
use super::{CampaignListItem, ListFilters};
use crate::analytics::format::Kpi;
use crate::analytics::queries::{self, CampaignAgg, CampaignRow, Metrics, Sort, SortKey};
use crate::analytics::views::{DashParams, DashQuery, PresetOption, org_today, preset_options};
use crate::app::AppState;
use crate::automation::eval::BudgetPlan;
use crate::connections::service::{ManagedAccount, managed_accounts};
use crate::types::{Currency, Money, Platform};
use crate::web::context::{FlashKind, Shell, Viewer, Writer};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};
use crate::web::money::{needs_confirmation, parse_money};

pub fn router() -> Router<AppState> {
    Router::new().route("/campaigns/bulk", post(bulk))
}

/// Every campaign of a filter fits one list (a few thousand at most); the page shows `per`.
const ALL: i64 = 100_000;

pub struct Head {
    label: &'static str,
    num: bool,
    href: String,
    aria_sort: &'static str,
    arrow: &'static str,
}

pub struct Row {
    id: Uuid,
    name: String,
    platform: &'static str,
    account: String,
    status: String,
    currency: String,
    budget: String,
    cells: Vec<String>,
}

#[derive(Template)]
#[template(path = "campaigns/list.html")]
struct ListPage {
    shell: Shell,
    accounts: Vec<ManagedAccount>,
    p: DashParams,
    presets: Vec<PresetOption>,
    heads: Vec<Head>,
    rows: Vec<Row>,
    total: i64,
    with_data: usize,
    removed: usize,
    pages: i64,
    prev: Option<String>,
    next: Option<String>,
    /// This page's address, for the actions to come back to.
    here: String,
    bulk_intent: String,
}

impl ListPage {
    fn platform_selected(&self, pl: &Platform) -> bool {
        self.p.filters.platform == Some(*pl)
    }
    fn account_selected(&self, id: &Uuid) -> bool {
        self.p.filters.account_id == Some(*id)
    }
    fn status_selected(&self, s: &str) -> bool {
        self.p.filters.status.as_deref() == Some(s)
    }
    fn intent(&self) -> String {
        super::action_routes::new_intent()
    }
}

const TEXT_COLUMNS: [(&str, SortKey); 4] = [
    ("Campaign", SortKey::Name),
    ("Platform", SortKey::Platform),
    ("Account", SortKey::Account),
    ("Status", SortKey::Status),
];

const KPIS: [Kpi; 6] = [
    Kpi::Spend,
    Kpi::Impressions,
    Kpi::Clicks,
    Kpi::Conversions,
    Kpi::Cpa,
    Kpi::Roas,
];

fn agg_of(i: &CampaignListItem, metrics: Metrics) -> Option<CampaignAgg> {
    let currency: Currency = i.campaign.currency.parse().ok()?;
    Some(CampaignAgg {
        row: CampaignRow {
            campaign_id: i.campaign.id,
            name: i.campaign.name.clone(),
            platform: i.campaign.platform,
            status: i.campaign.status.clone(),
            account_id: i.campaign.account_id,
            account_name: i.account_name.clone(),
            currency,
            metrics,
        },
        previous: Metrics::default(),
        // Listed whether or not it has numbers in the range (unlike the dashboard).
        in_range: true,
    })
}

pub async fn list(
    State(app): State<AppState>,
    v: Viewer,
    Query(q): Query<DashQuery>,
) -> AppResult<Response> {
    let mut p = DashParams::parse(&q, org_today(&v));
    // The list sorts by name unless asked otherwise (the dashboard's default is spend).
    if q.sort.as_deref().is_none_or(|s| s.trim().is_empty()) {
        p.sort = Sort {
            key: SortKey::Name,
            desc: false,
        };
    }
    let lf = ListFilters {
        platform: p.filters.platform,
        account_id: p.filters.account_id,
        status: p.filters.status.clone(),
        search: p.filters.search.clone(),
        id: None,
    };
    let (range, filters) = (p.range, p.filters.clone());
    let (accounts, (items, _), aggs) = app
        .db
        .tenant(v.org_id, async move |c| {
            let accounts = managed_accounts(c).await?;
            let items = super::list_filtered(c, &lf, ALL, 0).await?;
            let aggs = queries::campaign_aggregates(c, range, &filters).await?;
            Ok::<_, AppError>((accounts, items, aggs))
        })
        .await?;
    let by: HashMap<Uuid, &CampaignAgg> = aggs
        .iter()
        .filter(|a| a.in_range)
        .map(|a| (a.row.campaign_id, a))
        .collect();
    let with_data = items
        .iter()
        .filter(|i| by.contains_key(&i.campaign.id))
        .count();
    let removed = items
        .iter()
        .filter(|i| i.campaign.status == "removed")
        .count();
    let budgets: HashMap<Uuid, String> = items
        .iter()
        .map(|i| {
            (
                i.campaign.id,
                match (i.campaign.daily_budget_micros, i.campaign.currency.parse()) {
                    (Some(m), Ok(c)) => crate::types::format_amount(m, c),
                    _ => "–".into(),
                },
            )
        })
        .collect();
    let all: Vec<CampaignAgg> = items
        .iter()
        .filter_map(|i| {
            agg_of(
                i,
                by.get(&i.campaign.id)
                    .map(|a| a.row.metrics.clone())
                    .unwrap_or_default(),
            )
        })
        .collect();
    let page = queries::campaign_page(&all, p.sort, Some(p.per), (p.page - 1) * p.per);
    let heads = TEXT_COLUMNS
        .iter()
        .map(|(l, k)| (*l, *k, false))
        .chain(KPIS.iter().map(|k| {
            (
                k.label(),
                SortKey::parse(k.as_str()).unwrap_or(SortKey::Spend),
                true,
            )
        }))
        .map(|(label, key, num)| {
            let active = p.sort.key == key;
            let next = Sort {
                key,
                desc: if active {
                    !p.sort.desc
                } else {
                    key.default_desc()
                },
            };
            Head {
                label,
                num,
                href: format!("/campaigns?{}", p.query_string(next, 1)),
                aria_sort: match (active, p.sort.desc) {
                    (false, _) => "none",
                    (true, true) => "descending",
                    (true, false) => "ascending",
                },
                arrow: match (active, p.sort.desc) {
                    (false, _) => "",
                    (true, true) => "▼",
                    (true, false) => "▲",
                },
            }
        })
        .collect();
    let rows = page
        .rows
        .iter()
        .map(|r| Row {
            id: r.campaign_id,
            name: r.name.clone(),
            platform: r.platform.label(),
            account: r.account_name.clone(),
            status: r.status.clone(),
            currency: r.currency.to_string(),
            budget: budgets.get(&r.campaign_id).cloned().unwrap_or_default(),
            cells: KPIS
                .iter()
                .map(|k| k.display(&r.metrics, r.currency, true))
                .collect(),
        })
        .collect();
    let pages = ((page.total + p.per - 1) / p.per).max(1);
    let link = |n: i64| format!("/campaigns?{}", p.query_string(p.sort, n));
    let page_view = ListPage {
        shell: v.shell("campaigns"),
        accounts,
        presets: preset_options(p.preset),
        heads,
        rows,
        total: page.total,
        with_data,
        removed,
        pages,
        prev: (p.page > 1).then(|| link(p.page - 1)),
        next: (p.page < pages).then(|| link(p.page + 1)),
        here: link(p.page),
        bulk_intent: super::action_routes::new_intent(),
        p,
    };
    Ok(Html(page_view.render()?).into_response())
}

/// Only a path of the campaigns list is a place to come back to.
fn back_to(back: Option<&str>) -> String {
    back.filter(|b| b.starts_with("/campaigns?") || *b == "/campaigns")
        .filter(|b| !b.chars().any(char::is_control))
        .unwrap_or("/campaigns")
        .to_string()
}

pub struct BulkLine {
    id: Uuid,
    name: String,
    from: String,
    to: String,
    big: bool,
}

#[derive(Template)]
#[template(path = "campaigns/bulk_confirm.html")]
struct BulkConfirm {
    shell: Shell,
    op: String,
    verb: &'static str,
    lines: Vec<BulkLine>,
    budget: String,
    bulk_intent: String,
    back: String,
    /// Why the typed budget came back to be checked again (nothing is changed then).
    budget_error: Option<&'static str>,
}

async fn bulk(
    State(app): State<AppState>,
    w: Writer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let field = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let back = back_to(field("back"));
    let mut ids: Vec<Uuid> = pairs
        .iter()
        .filter(|(n, _)| n == "campaign")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    ids.sort();
    ids.dedup();
    let (kind, verb) = match field("op") {
        Some("pause") => (ActionKind::Pause, "Pause"),
        Some("resume") => (ActionKind::Resume, "Resume"),
        Some("budget") => (ActionKind::SetBudget, "Set the daily budget of"),
        _ => {
            return Ok(redirect_with_flash(
                &back,
                FlashKind::Error,
                "Choose pause, resume or a new budget.",
            ));
        }
    };
    if ids.is_empty() {
        return Ok(redirect_with_flash(
            &back,
            FlashKind::Error,
            "Tick the campaigns to change first.",
        ));
    }
    let Some(bulk_intent) = field("bulk_intent").and_then(|s| s.parse::<Uuid>().ok()) else {
        return Err(AppError::BadRequest(
            "a form drawn by adpilot carries an intent".into(),
        ));
    };
    let wanted = ids.clone();
    let (items, largest) = app
        .db
        .tenant(w.org_id, async move |c| {
            let mut items = Vec::new();
            for id in &wanted {
                items.push(super::detail(c, *id).await?);
            }
            let mut accounts: Vec<Uuid> = items.iter().map(|i| i.campaign.account_id).collect();
            accounts.sort();
            accounts.dedup();
            let mut largest = HashMap::new();
            for a in accounts {
                largest.insert(a, super::budget_input::largest_daily_budget(c, &[a]).await?);
            }
            Ok::<_, AppError>((items, largest))
        })
        .await?;
    let typed = field("budget").unwrap_or("");
    if crate::web::form::has_forbidden_control(typed) {
        // The budget comes back in an input of its own, without the control characters, to
        // be checked and confirmed again; nothing is changed.
        let lines = items
            .iter()
            .map(|i| BulkLine {
                id: i.campaign.id,
                name: i.campaign.name.clone(),
                from: i
                    .campaign
                    .daily_budget_micros
                    .zip(i.campaign.currency.parse::<Currency>().ok())
                    .map(|(b, c)| Money::new(b, c).display())
                    .unwrap_or_else(|| "none".into()),
                to: "–".into(),
                big: false,
            })
            .collect();
        let page = BulkConfirm {
            shell: w.shell("campaigns"),
            op: field("op").unwrap_or_default().to_string(),
            verb,
            lines,
            budget: crate::web::form::scrub(typed),
            bulk_intent: bulk_intent.to_string(),
            back,
            budget_error: Some(crate::web::form::CONTROL_MESSAGE),
        };
        return Ok((
            axum::http::StatusCode::UNPROCESSABLE_ENTITY,
            Html(page.render()?),
        )
            .into_response());
    }
    // Each campaign's own currency reads the typed amount (and may refuse it).
    let mut plans: Vec<(CampaignListItem, Option<Money>)> = Vec::new();
    for i in items {
        let money = if kind == ActionKind::SetBudget {
            let currency: Currency = i
                .campaign
                .currency
                .parse()
                .map_err(|_| AppError::Internal("a stored currency does not parse".into()))?;
            if i.campaign.daily_budget_micros.is_none() {
                return Ok(redirect_with_flash(
                    &back,
                    FlashKind::Error,
                    &format!(
                        "Nothing was changed: {} has no campaign-level daily budget (it is set on its ad sets or as a total budget).",
                        i.campaign.name
                    ),
                ));
            }
            match parse_money(typed, currency) {
                Ok(m) => Some(m),
                Err(e) => {
                    return Ok(redirect_with_flash(
                        &back,
                        FlashKind::Error,
                        &format!("Nothing was changed. The new budget: {e}"),
                    ));
                }
            }
        } else {
            None
        };
        plans.push((i, money));
    }
    if field("confirm") != Some("yes") {
        let lines = plans
            .iter()
            .map(|(i, m)| {
                let currency: Option<Currency> = i.campaign.currency.parse().ok();
                let current = i
                    .campaign
                    .daily_budget_micros
                    .zip(currency)
                    .map(|(b, c)| Money::new(b, c));
                match m {
                    Some(new) => BulkLine {
                        id: i.campaign.id,
                        name: i.campaign.name.clone(),
                        from: current
                            .map(|c| c.display())
                            .unwrap_or_else(|| "none".into()),
                        to: new.display(),
                        big: needs_confirmation(
                            *new,
                            current,
                            largest
                                .get(&i.campaign.account_id)
                                .copied()
                                .flatten()
                                .zip(currency)
                                .map(|(l, c)| Money::new(l, c)),
                        )
                        .is_some(),
                    },
                    None => BulkLine {
                        id: i.campaign.id,
                        name: i.campaign.name.clone(),
                        from: i.campaign.status.clone(),
                        to: if kind == ActionKind::Pause {
                            "paused".into()
                        } else {
                            "active".into()
                        },
                        big: false,
                    },
                }
            })
            .collect();
        let page = BulkConfirm {
            shell: w.shell("campaigns"),
            op: field("op").unwrap_or_default().to_string(),
            verb,
            lines,
            budget: typed.chars().filter(|c| !c.is_control()).collect(),
            bulk_intent: bulk_intent.to_string(),
            back,
            budget_error: None,
        };
        return Ok(Html(page.render()?).into_response());
    }
    let (mut done, mut unchanged, mut failed) = (0usize, Vec::new(), Vec::new());
    for (i, money) in plans {
        let outcome = actions::request(
            &app,
            w.org_id,
            ActionRequest {
                target: Target::Campaign(i.campaign.id),
                kind,
                source: Source::User(w.user_id),
                // One intent per campaign and bulk form: a double submit is the same change.
                intent_key: format!("bulk:{bulk_intent}:{}", i.campaign.id),
                budget: money.map(BudgetPlan::Set),
                bid: None,
            },
        )
        .await?;
        match outcome.state {
            ActionState::Succeeded | ActionState::Pending | ActionState::Executing => done += 1,
            ActionState::Skipped => unchanged.push(i.campaign.name),
            ActionState::Failed => failed.push(format!(
                "{} ({})",
                i.campaign.name,
                outcome.message.unwrap_or_default()
            )),
        }
    }
    let mut msg = format!(
        "Done for {done} campaign{}.",
        if done == 1 { "" } else { "s" }
    );
    if !unchanged.is_empty() {
        msg.push_str(&format!(" Already so: {}.", unchanged.join(", ")));
    }
    if !failed.is_empty() {
        msg.push_str(&format!(" The platform refused: {}.", failed.join("; ")));
    }
    let mut msg: String = msg.chars().take(600).collect();
    if msg.chars().count() == 600 {
        msg.push('…');
    }
    Ok(redirect_with_flash(
        &back,
        if failed.is_empty() {
            FlashKind::Success
        } else {
            FlashKind::Error
        },
        &msg,
    ))
}
