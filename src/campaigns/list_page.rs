//! The campaigns list, where marketers work: every campaign adpilot knows with its numbers for
//! a chosen range, sorting, filters, an on/off switch per row, and bulk pause, resume and
//! budget changes (confirmed first, each through the audited action path).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
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
use crate::web::page::Page;

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
    let p = list_params(&q, &v);
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
    let (all, with_data) = with_numbers(&items, &aggs);
    let removed = items
        .iter()
        .filter(|i| i.campaign.status == "removed")
        .count();
    let budgets = budget_texts(&items);
    let page = queries::campaign_page(&all, p.sort, Some(p.per), (p.page - 1) * p.per);
    let heads = sort_heads(&p);
    let rows = page.rows.iter().map(|r| row_of(r, &budgets)).collect();
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
    Ok(Page(page_view).into_response())
}

/// The dashboard's parameters, except that the list sorts by name unless asked otherwise
/// (the dashboard's default is spend).
fn list_params(q: &DashQuery, v: &Viewer) -> DashParams {
    let mut p = DashParams::parse(q, org_today(v));
    if q.sort.as_deref().is_none_or(|s| s.trim().is_empty()) {
        p.sort = Sort {
            key: SortKey::Name,
            desc: false,
        };
    }
    p
}

/// Every listed campaign with its numbers in the range (zero without any), and how many have
/// numbers.
fn with_numbers(items: &[CampaignListItem], aggs: &[CampaignAgg]) -> (Vec<CampaignAgg>, usize) {
    let by: HashMap<Uuid, &CampaignAgg> = aggs
        .iter()
        .filter(|a| a.in_range)
        .map(|a| (a.row.campaign_id, a))
        .collect();
    let with_data = items
        .iter()
        .filter(|i| by.contains_key(&i.campaign.id))
        .count();
    let all = items
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
    (all, with_data)
}

/// Each campaign's daily budget as the list shows it ("–" without one).
fn budget_texts(items: &[CampaignListItem]) -> HashMap<Uuid, String> {
    items
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
        .collect()
}

/// The column heads, each a link that sorts by it (again: the other way round).
fn sort_heads(p: &DashParams) -> Vec<Head> {
    TEXT_COLUMNS
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
        .collect()
}

/// One row of the page.
fn row_of(r: &CampaignRow, budgets: &HashMap<Uuid, String>) -> Row {
    Row {
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
    }
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

/// What the bulk form asks for.
struct BulkAsk<'f> {
    ids: Vec<Uuid>,
    kind: ActionKind,
    verb: &'static str,
    op: String,
    /// The new budget as typed (empty for pause and resume).
    typed: &'f str,
    bulk_intent: Uuid,
    back: String,
    confirmed: bool,
}

/// One campaign of a bulk change and, for a budget change, its new budget.
type BulkPlan = (CampaignListItem, Option<Money>);

async fn bulk(
    State(app): State<AppState>,
    w: Writer,
    Form(pairs): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let ask = match read_bulk_form(&pairs)? {
        Ok(a) => a,
        Err(redirect) => return Ok(redirect),
    };
    let (items, largest) = load_bulk_campaigns(&app, w.org_id, ask.ids.clone()).await?;
    if crate::web::form::has_forbidden_control(ask.typed) {
        return budget_to_check_again(&w, &ask, &items);
    }
    let plans = match plan_bulk(&ask, items)? {
        Ok(p) => p,
        Err(redirect) => return Ok(redirect),
    };
    if !ask.confirmed {
        let page = BulkConfirm {
            shell: w.shell("campaigns"),
            op: ask.op,
            verb: ask.verb,
            lines: confirm_lines(&plans, ask.kind, &largest),
            budget: ask.typed.chars().filter(|c| !c.is_control()).collect(),
            bulk_intent: ask.bulk_intent.to_string(),
            back: ask.back,
            budget_error: None,
        };
        return Ok(Page(page).into_response());
    }
    apply_bulk(&app, &w, &ask, plans).await
}

/// Reads the form: the ticked campaigns, the operation and the intent; a form without an
/// operation or a campaign goes back with a flash.
fn read_bulk_form(pairs: &[(String, String)]) -> AppResult<Result<BulkAsk<'_>, Response>> {
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
            return Ok(Err(redirect_with_flash(
                &back,
                FlashKind::Error,
                "Choose pause, resume or a new budget.",
            )));
        }
    };
    if ids.is_empty() {
        return Ok(Err(redirect_with_flash(
            &back,
            FlashKind::Error,
            "Tick the campaigns to change first.",
        )));
    }
    let Some(bulk_intent) = field("bulk_intent").and_then(|s| s.parse::<Uuid>().ok()) else {
        return Err(AppError::BadRequest(
            "a form drawn by adpilot carries an intent".into(),
        ));
    };
    Ok(Ok(BulkAsk {
        ids,
        kind,
        verb,
        op: field("op").unwrap_or_default().to_string(),
        typed: field("budget").unwrap_or(""),
        bulk_intent,
        back,
        confirmed: field("confirm") == Some("yes"),
    }))
}

/// The ticked campaigns, and the largest daily budget of each of their accounts (what makes
/// a new budget big enough to warn about).
async fn load_bulk_campaigns(
    app: &AppState,
    org_id: Uuid,
    wanted: Vec<Uuid>,
) -> AppResult<(Vec<CampaignListItem>, HashMap<Uuid, Option<i64>>)> {
    app.db
        .tenant(org_id, async move |c| {
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
        .await
}

/// The budget comes back in an input of its own, without the control characters, to be
/// checked and confirmed again; nothing is changed.
fn budget_to_check_again(
    w: &Writer,
    ask: &BulkAsk<'_>,
    items: &[CampaignListItem],
) -> AppResult<Response> {
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
        op: ask.op.clone(),
        verb: ask.verb,
        lines,
        budget: crate::web::form::scrub(ask.typed),
        bulk_intent: ask.bulk_intent.to_string(),
        back: ask.back.clone(),
        budget_error: Some(crate::web::form::CONTROL_MESSAGE),
    };
    Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
}

/// Each campaign's own currency reads the typed amount (and may refuse it); a campaign
/// without a campaign-level daily budget stops the whole change.
fn plan_bulk(
    ask: &BulkAsk<'_>,
    items: Vec<CampaignListItem>,
) -> AppResult<Result<Vec<BulkPlan>, Response>> {
    let mut plans: Vec<BulkPlan> = Vec::new();
    for i in items {
        if ask.kind != ActionKind::SetBudget {
            plans.push((i, None));
            continue;
        }
        let currency: Currency = i
            .campaign
            .currency
            .parse()
            .map_err(|_| AppError::Internal("a stored currency does not parse".into()))?;
        if i.campaign.daily_budget_micros.is_none() {
            return Ok(Err(redirect_with_flash(
                &ask.back,
                FlashKind::Error,
                &format!(
                    "Nothing was changed: {} has no campaign-level daily budget (it is set on its ad sets or as a total budget).",
                    i.campaign.name
                ),
            )));
        }
        match parse_money(ask.typed, currency) {
            Ok(m) => plans.push((i, Some(m))),
            Err(e) => {
                return Ok(Err(redirect_with_flash(
                    &ask.back,
                    FlashKind::Error,
                    &format!("Nothing was changed. The new budget: {e}"),
                )));
            }
        }
    }
    Ok(Ok(plans))
}

/// What the confirmation lists: each campaign from its current to its new state.
fn confirm_lines(
    plans: &[BulkPlan],
    kind: ActionKind,
    largest: &HashMap<Uuid, Option<i64>>,
) -> Vec<BulkLine> {
    plans
        .iter()
        .map(|(i, m)| match m {
            Some(new) => budget_line(i, *new, largest),
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
        })
        .collect()
}

/// A budget change's line, marked big when the new budget needs a second look.
fn budget_line(i: &CampaignListItem, new: Money, largest: &HashMap<Uuid, Option<i64>>) -> BulkLine {
    let currency: Option<Currency> = i.campaign.currency.parse().ok();
    let current = i
        .campaign
        .daily_budget_micros
        .zip(currency)
        .map(|(b, c)| Money::new(b, c));
    let largest = largest
        .get(&i.campaign.account_id)
        .copied()
        .flatten()
        .zip(currency)
        .map(|(l, c)| Money::new(l, c));
    BulkLine {
        id: i.campaign.id,
        name: i.campaign.name.clone(),
        from: current
            .map(|c| c.display())
            .unwrap_or_else(|| "none".into()),
        to: new.display(),
        big: needs_confirmation(new, current, largest).is_some(),
    }
}

/// Requests each change through the audited action path and goes back with what happened.
async fn apply_bulk(
    app: &AppState,
    w: &Writer,
    ask: &BulkAsk<'_>,
    plans: Vec<BulkPlan>,
) -> AppResult<Response> {
    let (mut done, mut unchanged, mut failed) = (0usize, Vec::new(), Vec::new());
    for (i, money) in plans {
        let outcome = actions::request(
            app,
            w.org_id,
            ActionRequest {
                target: Target::Campaign(i.campaign.id),
                kind: ask.kind,
                source: Source::User(w.user_id),
                // One intent per campaign and bulk form: a double submit is the same change.
                intent_key: format!("bulk:{}:{}", ask.bulk_intent, i.campaign.id),
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
    let kind = if failed.is_empty() {
        FlashKind::Success
    } else {
        FlashKind::Error
    };
    let msg = bulk_summary(done, &unchanged, &failed);
    Ok(redirect_with_flash(&ask.back, kind, &msg))
}

/// What a bulk change did, in at most 600 characters.
fn bulk_summary(done: usize, unchanged: &[String], failed: &[String]) -> String {
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
    msg
}
