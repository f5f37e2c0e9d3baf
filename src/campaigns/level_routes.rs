//! The drill-down below a campaign: the campaign page's table of ad groups (Meta: ad sets),
//! an ad group's page with its ads, an ad's page with its text and days. Every table has the
//! KPI columns of the dashboard, in the campaign's one currency, sortable, with the change
//! against the previous period; every page has breadcrumbs and a CSV.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Router, routing::get};
use uuid::Uuid;

use crate::analytics::format::{Delta, Kpi, delta};
use crate::analytics::level_queries::{self, DaysOf, ObjectSums};
use crate::analytics::queries::Metrics;
use crate::analytics::range::DateRange;
use crate::analytics::views::{
    DashParams, DashQuery, PresetOption, org_today, preset_options, spreadsheet_text,
};
use crate::app::AppState;
use crate::types::{Currency, Money, Platform};
use crate::web::context::{Shell, Viewer};
use crate::web::error::{AppError, AppResult};
use crate::web::page::Page;

use super::level_action_routes::{ChangeForms, ChangeView};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ad-groups/{id}", get(ad_group_page))
        .route("/ad-groups/{id}/ads.csv", get(ads_csv))
        .route("/campaigns/{id}/ad-groups.csv", get(ad_groups_csv))
        .route("/ads/{id}", get(ad_page))
        .route("/ads/{id}/days.csv", get(ad_days_csv))
}

/// "Ad set" on Meta, "Ad group" elsewhere.
pub fn group_word(platform: Platform) -> &'static str {
    match platform {
        Platform::Meta => "Ad set",
        _ => "Ad group",
    }
}

/// One row of a level table, ready to show.
pub struct LevelRowView {
    pub href: String,
    pub name: String,
    pub status: String,
    pub delivery: String,
    pub budget: String,
    pub bid: String,
    pub values: Vec<String>,
    pub previous_spend: String,
    pub spend_delta: Option<Delta>,
}

/// A sortable level table: `sort` is `name` or a KPI of [`Kpi::ALL`] (the dashboard's
/// columns), `dir` asc or desc.
pub struct LevelTable {
    pub columns: Vec<(&'static str, &'static str)>,
    pub rows: Vec<LevelRowView>,
    /// The sums of every row, against the previous period (None without rows).
    pub totals: Option<LevelRowView>,
    pub currency: String,
    pub sort: String,
    pub desc: bool,
    pub base: String,
    pub csv: String,
    pub word: &'static str,
    pub with_budget: bool,
}

impl LevelTable {
    /// The link that sorts by `key` (flipping the direction when already sorted by it).
    pub fn sort_href(&self, key: &str) -> String {
        let dir = if self.sort == key && self.desc {
            "asc"
        } else {
            "desc"
        };
        format!("{}sort={key}&dir={dir}", self.base)
    }

    /// The column's `aria-sort`.
    pub fn aria_sort(&self, key: &str) -> &'static str {
        match (self.sort == key, self.desc) {
            (false, _) => "none",
            (true, true) => "descending",
            (true, false) => "ascending",
        }
    }
}

fn amount(micros: Option<i64>, currency: Currency) -> String {
    micros
        .map(|m| Money::new(m, currency).display())
        .unwrap_or_else(|| "–".into())
}

/// Sorts like the dashboard: a value that is undefined (CPA without conversions) goes last in
/// either direction, ties by name then id.
fn sort_rows(rows: &mut [ObjectSums], sort: &str, desc: bool) {
    use std::cmp::Ordering;
    let kpi = Kpi::parse(sort);
    let dir = |o: Ordering| if desc { o.reverse() } else { o };
    rows.sort_by(|a, b| {
        let o = match kpi {
            Some(k) => match (k.value(&a.metrics), k.value(&b.metrics)) {
                (Some(x), Some(y)) => dir(x.cmp(&y)),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
            None => dir(a.name.to_lowercase().cmp(&b.name.to_lowercase())),
        };
        o.then_with(|| a.name.cmp(&b.name)).then(a.id.cmp(&b.id))
    });
}

/// The date range of `q` as a query string for links down to a row's page, so the page
/// below shows the same period.
fn drill_query(q: &DashQuery) -> String {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    let range = q.range.as_deref().filter(|r| !r.is_empty());
    if let Some(r) = range {
        s.append_pair("range", r);
    }
    if range.is_none_or(|r| r == "custom") {
        for (k, v) in [("from", &q.from), ("to", &q.to)] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                s.append_pair(k, v);
            }
        }
    }
    let qs = s.finish();
    if qs.is_empty() { qs } else { format!("?{qs}") }
}

/// The totals row of a level table: every row's sums against the previous period.
fn totals_row(rows: &[ObjectSums], currency: Currency, word: &str) -> Option<LevelRowView> {
    if rows.is_empty() {
        return None;
    }
    let (mut cur, mut prev) = (Metrics::default(), Metrics::default());
    for r in rows {
        for (sum, m) in [(&mut cur, &r.metrics), (&mut prev, &r.previous)] {
            sum.impressions += m.impressions;
            sum.clicks += m.clicks;
            sum.spend_micros += m.spend_micros;
            sum.conversions += m.conversions;
            sum.revenue_micros += m.revenue_micros;
        }
    }
    Some(LevelRowView {
        href: String::new(),
        name: format!("All {} {}s", rows.len(), word.to_lowercase()),
        status: String::new(),
        delivery: String::new(),
        budget: String::new(),
        bid: String::new(),
        values: Kpi::ALL
            .iter()
            .map(|k| k.display(&cur, currency, true))
            .collect(),
        previous_spend: Kpi::Spend.display(&prev, currency, true),
        spend_delta: delta(Kpi::Spend, &cur, &prev),
    })
}

/// What a level table lists and where its links lead.
pub struct TableOf {
    /// A row links to this followed by its id.
    pub href_prefix: &'static str,
    /// The page the sort links stay on (empty for a CSV).
    pub base: String,
    /// The table's CSV download (empty for a CSV).
    pub csv: String,
    /// What one row is ("Ad", "Ad set", …).
    pub word: &'static str,
    pub with_budget: bool,
}

pub fn table(
    mut rows: Vec<ObjectSums>,
    currency: Currency,
    q: &DashQuery,
    of: TableOf,
) -> LevelTable {
    let TableOf {
        href_prefix,
        base,
        csv,
        word,
        with_budget,
    } = of;
    let sort = q
        .sort
        .clone()
        .filter(|s| s == "name" || Kpi::parse(s).is_some())
        .unwrap_or_else(|| "spend".into());
    let desc = q.dir.as_deref() != Some("asc");
    sort_rows(&mut rows, &sort, desc);
    let drill = drill_query(q);
    LevelTable {
        columns: Kpi::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        totals: totals_row(&rows, currency, word),
        currency: currency.as_str().to_string(),
        rows: rows
            .iter()
            .map(|r| LevelRowView {
                href: format!("{href_prefix}{}{drill}", r.id),
                name: r.name.clone(),
                status: r.status.clone(),
                delivery: r.delivery.clone().unwrap_or_default(),
                budget: match (&r.budget_period, r.budget_micros) {
                    (Some(p), Some(m)) => format!("{} {p}", Money::new(m, currency).display()),
                    _ => "–".into(),
                },
                bid: amount(r.bid_micros, currency),
                values: Kpi::ALL
                    .iter()
                    .map(|k| k.display(&r.metrics, currency, true))
                    .collect(),
                previous_spend: Kpi::Spend.display(&r.previous, currency, true),
                spend_delta: delta(Kpi::Spend, &r.metrics, &r.previous),
            })
            .collect(),
        sort,
        desc,
        base,
        csv,
        word,
        with_budget,
    }
}

/// The range's query string without sorting, to build sort links on.
fn range_query(p: &DashParams) -> String {
    format!(
        "?range={}&from={}&to={}&",
        p.preset.as_str(),
        p.from_text,
        p.to_text
    )
}

pub struct DayView {
    pub date: chrono::NaiveDate,
    pub values: Vec<String>,
}

fn day_views(days: &[(chrono::NaiveDate, Metrics)], currency: Currency) -> Vec<DayView> {
    let mut out: Vec<DayView> = days
        .iter()
        .map(|(d, m)| DayView {
            date: *d,
            values: Kpi::TABLE
                .iter()
                .map(|k| k.display(m, currency, true))
                .collect(),
        })
        .collect();
    out.sort_by_key(|d| std::cmp::Reverse(d.date));
    out
}

#[derive(Template)]
#[template(path = "campaigns/ad_group.html")]
struct AdGroupPage {
    shell: Shell,
    head: super::levels::LevelHead,
    word: &'static str,
    budget: String,
    bid: String,
    p: DashParams,
    presets: Vec<PresetOption>,
    ads: LevelTable,
    day_columns: Vec<&'static str>,
    days: Vec<DayView>,
    changes: ChangeView,
    history: Vec<super::LevelActionView>,
    /// The page's own path, under which a rule's change is undone.
    base: String,
}

fn parse_id(id: &str) -> AppResult<Uuid> {
    id.parse().map_err(|_| AppError::NotFound)
}

fn currency_of(h: &super::levels::LevelHead) -> AppResult<Currency> {
    h.currency
        .parse()
        .map_err(|_| AppError::Internal("a stored currency does not parse".into()))
}

/// An ad's header and its days of `range` (the ad page and its CSV), or not found.
async fn ad_with_days(
    c: &mut crate::db::Conn,
    id: Uuid,
    range: DateRange,
) -> AppResult<(super::levels::LevelHead, Vec<(chrono::NaiveDate, Metrics)>)> {
    let head = super::levels::ad_head(c, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let of = DaysOf::Ad {
        ad_group_id: head.group_id,
        ad_id: id,
    };
    let days = level_queries::object_days(c, of, range).await?;
    Ok((head, days))
}

async fn ad_group_page(
    State(app): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<DashQuery>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    render_ad_group(&app, &v, id, &q, ChangeForms::fresh(), StatusCode::OK).await
}

/// The ad group's page; its change forms as `forms` says (fresh, or what was typed with its
/// error, or a change waiting to be confirmed).
pub(super) async fn render_ad_group(
    app: &AppState,
    v: &Viewer,
    id: Uuid,
    q: &DashQuery,
    forms: ChangeForms,
    status: StatusCode,
) -> AppResult<Response> {
    let p = DashParams::parse(q, org_today(v));
    let range: DateRange = p.range;
    let (head, ads, days, history) = app
        .db
        .tenant(v.org_id, async move |c| {
            let head = super::levels::ad_group_head(c, id)
                .await?
                .ok_or(AppError::NotFound)?;
            let ads = level_queries::ads_of_ad_group(c, id, range).await?;
            let days = level_queries::object_days(
                c,
                DaysOf::AdGroup {
                    campaign_id: head.campaign_id,
                    ad_group_id: id,
                },
                range,
            )
            .await?;
            let history = super::level_actions(c, id, false).await?;
            Ok::<_, AppError>((head, ads, days, history))
        })
        .await?;
    let currency = currency_of(&head)?;
    let platform: Platform = head.platform.parse().unwrap_or(Platform::Google);
    let ads = table(
        ads,
        currency,
        q,
        TableOf {
            href_prefix: "/ads/",
            base: format!("/ad-groups/{id}{}", range_query(&p)),
            csv: format!("/ad-groups/{id}/ads.csv{}", range_query(&p)),
            word: "Ad",
            with_budget: false,
        },
    );
    let budget = head
        .budget
        .as_deref()
        .and_then(|b| b.split_once(' '))
        .map(|(m, period)| format!("{} {period}", amount(m.parse().ok(), currency)))
        .unwrap_or_else(|| match platform {
            Platform::Google => "– (Google keeps budgets on the campaign)".into(),
            _ => "– (the campaign's budget is shared out by the platform)".into(),
        });
    let bid = amount(head.bid.as_deref().and_then(|b| b.parse().ok()), currency);
    let shell = v.shell("campaigns");
    let changes = ChangeView::for_ad_group(&head, platform, currency, shell.can_write(), forms);
    let page = AdGroupPage {
        shell,
        word: group_word(platform),
        budget,
        bid,
        presets: preset_options(p.preset),
        day_columns: Kpi::TABLE.iter().map(|k| k.label()).collect(),
        days: day_views(&days, currency),
        changes,
        history,
        base: format!("/ad-groups/{id}"),
        head,
        p,
        ads,
    };
    Ok((status, Page(page)).into_response())
}

#[derive(Template)]
#[template(path = "campaigns/ad.html")]
struct AdPage {
    shell: Shell,
    head: super::levels::LevelHead,
    word: &'static str,
    p: DashParams,
    presets: Vec<PresetOption>,
    headlines: Vec<String>,
    descriptions: Vec<String>,
    day_columns: Vec<&'static str>,
    days: Vec<DayView>,
    csv: String,
    changes: ChangeView,
    history: Vec<super::LevelActionView>,
    /// The page's own path, under which a rule's change is undone.
    base: String,
}

async fn ad_page(
    State(app): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<DashQuery>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    render_ad(&app, &v, id, &q, ChangeForms::fresh(), StatusCode::OK).await
}

/// The ad's page, with its pause/resume form as `forms` says.
pub(super) async fn render_ad(
    app: &AppState,
    v: &Viewer,
    id: Uuid,
    q: &DashQuery,
    forms: ChangeForms,
    status: StatusCode,
) -> AppResult<Response> {
    let p = DashParams::parse(q, org_today(v));
    let range: DateRange = p.range;
    let (head, days, history) = app
        .db
        .tenant(v.org_id, async move |c| {
            let (head, days) = ad_with_days(c, id, range).await?;
            let history = super::level_actions(c, id, true).await?;
            Ok::<_, AppError>((head, days, history))
        })
        .await?;
    let currency = currency_of(&head)?;
    let platform: Platform = head.platform.parse().unwrap_or(Platform::Google);
    let lines = |s: &Option<String>| -> Vec<String> {
        s.as_deref()
            .unwrap_or("")
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    };
    let shell = v.shell("campaigns");
    let changes = ChangeView::for_ad(&head, platform, currency, shell.can_write(), forms);
    let page = AdPage {
        shell,
        changes,
        history,
        base: format!("/ads/{id}"),
        word: group_word(platform),
        headlines: lines(&head.headlines),
        descriptions: lines(&head.descriptions),
        presets: preset_options(p.preset),
        day_columns: Kpi::TABLE.iter().map(|k| k.label()).collect(),
        days: day_views(&days, currency),
        csv: format!("/ads/{id}/days.csv{}", range_query(&p)),
        head,
        p,
    };
    Ok((status, Page(page)).into_response())
}

async fn ad_days_csv(
    State(app): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<DashQuery>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let p = DashParams::parse(&q, org_today(&v));
    let range = p.range;
    let (head, days) = app
        .db
        .tenant(v.org_id, async move |c| {
            let (head, days) = ad_with_days(c, id, range).await?;
            Ok::<_, AppError>((head, days))
        })
        .await?;
    let columns: Vec<&'static str> = Kpi::TABLE.iter().map(|k| k.label()).collect();
    days_csv(&day_views(&days, currency_of(&head)?), &columns)
}

fn csv_response(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

fn days_csv(days: &[DayView], columns: &[&'static str]) -> AppResult<Response> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = std::iter::once("date")
        .chain(columns.iter().copied())
        .collect();
    w.write_record(&header).map_err(AppError::internal)?;
    for d in days {
        // Our own formatted figures: left as they are so they stay numbers.
        let date = d.date.to_string();
        let row: Vec<&str> = std::iter::once(date.as_str())
            .chain(d.values.iter().map(String::as_str))
            .collect();
        w.write_record(&row).map_err(AppError::internal)?;
    }
    Ok(csv_response("ad-days.csv", csv_body(w)?))
}

fn csv_body(w: csv::Writer<Vec<u8>>) -> AppResult<String> {
    let bytes = w.into_inner().map_err(AppError::internal)?;
    String::from_utf8(bytes).map_err(AppError::internal)
}

fn level_csv(t: &LevelTable, name: &str) -> AppResult<Response> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = ["name", "status", "delivery", "budget", "bid"]
        .into_iter()
        .chain(t.columns.iter().map(|(_, l)| l.as_ref()))
        .chain(["Spend (previous period)"])
        .collect();
    w.write_record(&header).map_err(AppError::internal)?;
    for r in &t.rows {
        // Names, statuses and budgets come from the platforms: written as text a spreadsheet
        // will not run (see `spreadsheet_text`).
        let mut row: Vec<String> = [&r.name, &r.status, &r.delivery, &r.budget, &r.bid]
            .into_iter()
            .map(|x| spreadsheet_text(x))
            .collect();
        // The page groups thousands; a spreadsheet wants plain numbers.
        row.extend(r.values.iter().map(|v| v.replace(',', "")));
        row.push(r.previous_spend.replace(',', ""));
        w.write_record(&row).map_err(AppError::internal)?;
    }
    Ok(csv_response(name, csv_body(w)?))
}

async fn ads_csv(
    State(app): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<DashQuery>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let p = DashParams::parse(&q, org_today(&v));
    let range = p.range;
    let (head, ads) = app
        .db
        .tenant(v.org_id, async move |c| {
            let head = super::levels::ad_group_head(c, id)
                .await?
                .ok_or(AppError::NotFound)?;
            let ads = level_queries::ads_of_ad_group(c, id, range).await?;
            Ok::<_, AppError>((head, ads))
        })
        .await?;
    let t = table(
        ads,
        currency_of(&head)?,
        &q,
        TableOf {
            href_prefix: "/ads/",
            base: String::new(),
            csv: String::new(),
            word: "Ad",
            with_budget: false,
        },
    );
    level_csv(&t, "ads.csv")
}

async fn ad_groups_csv(
    State(app): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<DashQuery>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let p = DashParams::parse(&q, org_today(&v));
    let range = p.range;
    let (item, groups) = app
        .db
        .tenant(v.org_id, async move |c| {
            let item = super::detail(c, id).await?;
            let groups = level_queries::ad_groups_of_campaign(c, id, range).await?;
            Ok::<_, AppError>((item, groups))
        })
        .await?;
    let currency: Currency = item
        .campaign
        .currency
        .parse()
        .map_err(|_| AppError::Internal("a stored currency does not parse".into()))?;
    let t = table(
        groups,
        currency,
        &q,
        TableOf {
            href_prefix: "/ad-groups/",
            base: String::new(),
            csv: String::new(),
            word: group_word(item.campaign.platform),
            with_budget: true,
        },
    );
    level_csv(&t, "ad-groups.csv")
}
