//! The dashboard: KPI tiles per currency with deltas against the previous period, the daily
//! chart, breakdowns by platform and by campaign (sortable, paginated, filtered), and the CSV
//! of the campaign table. Every link works as a plain page load; htmx only swaps the table.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::{Router, routing::get};
use uuid::Uuid;

use super::chart::{self, ChartView};
use super::format::Kpi;
use super::level_table::{self, LevelPage};
use super::level_views::{self, DashLevelTable, LevelTab};
use super::queries::{self, CampaignPage, Sort, SortKey};
use super::range::DateRange;
use super::views::{
    CurrencyTiles, DashParams, DashQuery, KpiOption, PresetOption, kpi_options, org_today,
    preset_options, spreadsheet_text, tiles,
};
use crate::app::AppState;
use crate::connections::service::{ManagedAccount, managed_accounts};
use crate::platforms::Level;
use crate::types::Platform;
use crate::web::context::{Shell, Viewer};
use crate::web::error::{AppError, AppResult};
use crate::web::page::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/dashboard", get(dashboard))
        .route("/dashboard/table", get(table_fragment))
        .route("/dashboard/campaigns.csv", get(csv_export))
        .route(
            "/dashboard/onboarding/dismiss",
            axum::routing::post(super::onboarding::dismiss),
        )
}

// ---------- view models ----------

pub struct ColumnHead {
    pub label: &'static str,
    pub num: bool,
    pub href: String,
    pub hx: String,
    pub aria_sort: &'static str,
    pub arrow: &'static str,
}

pub struct CampaignRowView {
    pub id: Uuid,
    pub name: String,
    pub platform: &'static str,
    pub account: String,
    pub status: String,
    pub currency: String,
    pub cells: Vec<String>,
}

pub struct TableView {
    pub columns: Vec<ColumnHead>,
    pub rows: Vec<CampaignRowView>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    pub first_row: i64,
    pub last_row: i64,
    pub prev: Option<(String, String)>,
    pub next: Option<(String, String)>,
    pub csv_href: String,
    /// The date range, for links down to a campaign's page.
    pub range_qs: String,
}

pub struct PlatformRowView {
    pub platform: &'static str,
    pub currency: String,
    pub campaigns: i64,
    pub cells: Vec<String>,
}

/// The columns of the campaign table and its CSV, in order, before the KPI columns.
pub const TEXT_COLUMNS: [(&str, SortKey); 5] = [
    ("Campaign", SortKey::Name),
    ("Platform", SortKey::Platform),
    ("Account", SortKey::Account),
    ("Status", SortKey::Status),
    ("Currency", SortKey::Currency),
];

fn kpi_sort_key(k: Kpi) -> SortKey {
    SortKey::parse(k.as_str()).unwrap_or(SortKey::Spend)
}

fn table_view(p: &DashParams, page: &CampaignPage) -> TableView {
    let mut columns = Vec::new();
    let heads = TEXT_COLUMNS
        .iter()
        .map(|(l, k)| (*l, *k, false))
        .chain(Kpi::ALL.iter().map(|k| (k.label(), kpi_sort_key(*k), true)));
    for (label, key, num) in heads {
        let active = p.sort.key == key;
        let next = Sort {
            key,
            desc: if active {
                !p.sort.desc
            } else {
                key.default_desc()
            },
        };
        let qs = p.query_string(next, 1);
        columns.push(ColumnHead {
            label,
            num,
            href: format!("/dashboard?{qs}#campaigns"),
            hx: format!("/dashboard/table?{qs}"),
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
        });
    }
    let rows = page
        .rows
        .iter()
        .map(|r| CampaignRowView {
            id: r.campaign_id,
            name: r.name.clone(),
            platform: r.platform.label(),
            account: r.account_name.clone(),
            status: r.status.clone(),
            currency: r.currency.as_str().to_string(),
            cells: Kpi::ALL
                .iter()
                .map(|k| k.display(&r.metrics, r.currency, true))
                .collect(),
        })
        .collect();
    let pages = ((page.total + p.per - 1) / p.per).max(1);
    let link = |n: i64| {
        let qs = p.query_string(p.sort, n);
        (
            format!("/dashboard?{qs}#campaigns"),
            format!("/dashboard/table?{qs}"),
        )
    };
    let first_row = if page.total == 0 {
        0
    } else {
        (p.page - 1) * p.per + 1
    };
    TableView {
        columns,
        rows,
        total: page.total,
        page: p.page,
        pages,
        first_row,
        last_row: (first_row + page.rows.len() as i64 - 1).max(0),
        prev: (p.page > 1).then(|| link(p.page - 1)),
        next: (p.page < pages).then(|| link(p.page + 1)),
        csv_href: format!("/dashboard/campaigns.csv?{}", p.current_qs()),
        range_qs: p.range_qs(),
    }
}

/// Sort links of the platform table (plain page loads; it shares the sort with the campaign
/// table).
fn platform_heads(p: &DashParams) -> Vec<ColumnHead> {
    [
        ("Platform", SortKey::Platform),
        ("Currency", SortKey::Currency),
    ]
    .into_iter()
    .map(|(l, k)| (l, k, false))
    .chain(Kpi::ALL.iter().map(|k| (k.label(), kpi_sort_key(*k), true)))
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
        ColumnHead {
            label,
            num,
            href: format!("/dashboard?{}#platforms", p.query_string(next, 1)),
            // The sort is shared by both tables, so both are swapped.
            hx: format!("/dashboard?{}", p.query_string(next, 1)),
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

#[derive(Template)]
#[template(path = "analytics/dashboard.html")]
struct DashboardPage {
    shell: Shell,
    has_accounts: bool,
    member_count: usize,
    p: DashParams,
    presets: Vec<PresetOption>,
    kpis: Vec<KpiOption>,
    accounts: Vec<ManagedAccount>,
    currencies: Vec<CurrencyTiles>,
    previous: DateRange,
    platforms: Vec<PlatformRowView>,
    platform_columns: Vec<ColumnHead>,
    charts: Vec<ChartView>,
    table: TableView,
    heading: &'static str,
    tabs: Vec<LevelTab>,
    level_table: Option<DashLevelTable>,
    onboarding: Option<super::onboarding::Checklist>,
}

impl DashboardPage {
    fn platform_selected(&self, p: &Platform) -> bool {
        self.p.filters.platform == Some(*p)
    }
    fn account_selected(&self, id: &Uuid) -> bool {
        self.p.filters.account_id == Some(*id)
    }
    fn status_selected(&self, s: &str) -> bool {
        self.p.filters.status.as_deref() == Some(s)
    }
}

#[derive(Template)]
#[template(path = "analytics/dashboard_table.html")]
struct TableFragment {
    table: TableView,
    heading: &'static str,
    tabs: Vec<LevelTab>,
    level_table: Option<DashLevelTable>,
}

/// Everything the dashboard reads, in one tenant transaction.
pub struct DashboardData {
    pub accounts: Vec<ManagedAccount>,
    /// Members of the organization, for the empty state's invitation prompt.
    pub member_count: usize,
    pub totals: Vec<queries::CurrencyTotals>,
    pub platforms: Vec<queries::PlatformRow>,
    pub series: Vec<queries::Series>,
    pub campaigns: CampaignPage,
    /// The ad groups or ads of the table when it is switched below the campaigns.
    pub levels: LevelPage,
}

/// The four reads (accounts, the range's sums per campaign, the previous period's, the daily
/// series) run at once, each in its own tenant transaction on its own pooled connection, so
/// the page waits for the slowest rather than for their sum; the two periods are scanned
/// apart so that neither scan is twice the size of the others. They never shared a snapshot
/// (each statement of a read-committed transaction takes its own), so splitting them changes
/// nothing about consistency: the tiles, platform table and campaign table still all come
/// from the one pairing of the two periods.
pub async fn load_dashboard(
    app: &AppState,
    org_id: Uuid,
    p: &DashParams,
) -> AppResult<DashboardData> {
    let (range, filters) = (p.range, p.filters.clone());
    let (range2, filters2) = (p.range, p.filters.clone());
    let (range3, filters3) = (p.range.previous(), p.filters.clone());
    let (range4, filters4, level, sort) = (p.range, p.filters.clone(), p.level, p.sort);
    let (limit, offset) = (p.per, (p.page - 1) * p.per);
    let ((accounts, member_count), current, previous, series, levels) = tokio::try_join!(
        app.db.tenant(org_id, async move |c| {
            let accounts = managed_accounts(c).await?;
            let members = if accounts.is_empty() {
                crate::auth::accounts::members(c).await?.len()
            } else {
                0
            };
            Ok::<_, AppError>((accounts, members))
        }),
        app.db.tenant(org_id, async move |c| {
            Ok::<_, AppError>(queries::period_sums(c, range, &filters).await?)
        }),
        app.db.tenant(org_id, async move |c| {
            Ok::<_, AppError>(queries::period_sums(c, range3, &filters3).await?)
        }),
        app.db.tenant(org_id, async move |c| {
            Ok::<_, AppError>(queries::daily(c, range2, &filters2).await?)
        }),
        // Below the campaigns the table is its own read, at once with the others.
        app.db.tenant(org_id, async move |c| {
            Ok::<_, AppError>(
                level_table::level_page(c, level, range4, &filters4, sort, Some(limit), offset)
                    .await?,
            )
        }),
    )?;
    if accounts.is_empty() {
        return Ok(DashboardData {
            accounts,
            member_count,
            totals: vec![],
            platforms: vec![],
            series: vec![],
            campaigns: CampaignPage::default(),
            levels: LevelPage::default(),
        });
    }
    let aggs = queries::pair_periods(current, previous);
    let totals = queries::totals(&aggs);
    let mut platforms = queries::platforms(&aggs);
    queries::sort_platforms(&mut platforms, p.sort);
    let campaigns = queries::campaign_page(&aggs, p.sort, Some(p.per), (p.page - 1) * p.per);
    Ok(DashboardData {
        accounts,
        member_count: 0,
        totals,
        platforms,
        series,
        campaigns,
        levels,
    })
}

/// The dashboard page of `data` (answered wrapped in [`Page`]).
fn dashboard_page(
    v: &Viewer,
    p: DashParams,
    data: DashboardData,
    onboarding: Option<super::onboarding::Checklist>,
) -> DashboardPage {
    let charts = data
        .series
        .iter()
        .map(|s| chart::build(s, p.kpi_a, p.kpi_b))
        .collect();
    let platforms = data
        .platforms
        .iter()
        .map(|r| PlatformRowView {
            platform: r.platform.label(),
            currency: r.currency.as_str().to_string(),
            campaigns: r.campaigns,
            cells: Kpi::ALL
                .iter()
                .map(|k| k.display(&r.metrics, r.currency, true))
                .collect(),
        })
        .collect();
    DashboardPage {
        shell: v.shell("dashboard"),
        onboarding,
        has_accounts: !data.accounts.is_empty(),
        member_count: data.member_count,
        presets: preset_options(p.preset),
        kpis: kpi_options(p.kpi_a, p.kpi_b),
        accounts: data.accounts,
        currencies: tiles(&data.totals),
        previous: p.range.previous(),
        platforms,
        platform_columns: platform_heads(&p),
        charts,
        table: table_view(&p, &data.campaigns),
        heading: level_views::heading(p.level),
        tabs: level_views::tabs(&p),
        level_table: (p.level != Level::Campaign).then(|| level_views::table(&p, &data.levels)),
        p,
    }
}

async fn dashboard(
    State(app): State<AppState>,
    v: Viewer,
    Query(q): Query<DashQuery>,
) -> AppResult<Response> {
    let p = DashParams::parse(&q, org_today(&v));
    let data = load_dashboard(&app, v.org_id, &p).await?;
    let onboarding = super::onboarding::checklist(&app, &v).await?;
    Ok(Page(dashboard_page(&v, p, data, onboarding)).into_response())
}

async fn table_fragment(
    State(app): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Query(q): Query<DashQuery>,
) -> AppResult<Response> {
    let p = DashParams::parse(&q, org_today(&v));
    // Without htmx (someone opened the link) the whole page is the useful answer.
    if !headers.contains_key("hx-request") {
        let data = load_dashboard(&app, v.org_id, &p).await?;
        let onboarding = super::onboarding::checklist(&app, &v).await?;
        return Ok(Page(dashboard_page(&v, p, data, onboarding)).into_response());
    }
    let pc = p.clone();
    let (page, levels) = app
        .db
        .tenant(v.org_id, async move |c| {
            let (limit, offset) = (pc.per, (pc.page - 1) * pc.per);
            if pc.level != Level::Campaign {
                let levels = level_table::level_page(
                    c,
                    pc.level,
                    pc.range,
                    &pc.filters,
                    pc.sort,
                    Some(limit),
                    offset,
                )
                .await?;
                return Ok::<_, AppError>((CampaignPage::default(), levels));
            }
            let aggs = queries::campaign_aggregates(c, pc.range, &pc.filters).await?;
            Ok((
                queries::campaign_page(&aggs, pc.sort, Some(limit), offset),
                LevelPage::default(),
            ))
        })
        .await?;
    Ok(Page(TableFragment {
        table: table_view(&p, &page),
        heading: level_views::heading(p.level),
        tabs: level_views::tabs(&p),
        level_table: (p.level != Level::Campaign).then(|| level_views::table(&p, &levels)),
    })
    .into_response())
}

/// The CSV of the campaign table: the same filters, sort and numbers, every page at once.
pub fn campaigns_csv(rows: &[queries::CampaignRow]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let header: Vec<&str> = ["Campaign ID"]
        .into_iter()
        .chain(TEXT_COLUMNS.iter().map(|(l, _)| *l))
        .chain(Kpi::ALL.iter().map(|k| k.label()))
        .collect();
    w.write_record(&header)?;
    for r in rows {
        let mut rec = vec![
            r.campaign_id.to_string(),
            spreadsheet_text(&r.name),
            r.platform.label().to_string(),
            spreadsheet_text(&r.account_name),
            spreadsheet_text(&r.status),
            r.currency.as_str().to_string(),
        ];
        rec.extend(
            Kpi::ALL
                .iter()
                .map(|k| k.display(&r.metrics, r.currency, false)),
        );
        w.write_record(&rec)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

async fn csv_export(
    State(app): State<AppState>,
    v: Viewer,
    Query(q): Query<DashQuery>,
) -> AppResult<Response> {
    let p = DashParams::parse(&q, org_today(&v));
    let pc = p.clone();
    let body = if p.level == Level::Campaign {
        let page = app
            .db
            .tenant(v.org_id, async move |c| {
                let aggs = queries::campaign_aggregates(c, pc.range, &pc.filters).await?;
                Ok::<_, AppError>(queries::campaign_page(&aggs, pc.sort, None, 0))
            })
            .await?;
        campaigns_csv(&page.rows).map_err(AppError::internal)?
    } else {
        let page = app
            .db
            .tenant(v.org_id, async move |c| {
                Ok::<_, AppError>(
                    level_table::level_page(c, pc.level, pc.range, &pc.filters, pc.sort, None, 0)
                        .await?,
                )
            })
            .await?;
        level_views::csv(p.level, &page.rows).map_err(AppError::internal)?
    };
    let mut resp = body.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{}-{}-{}.csv\"",
        match p.level {
            Level::Campaign => "campaigns",
            Level::AdGroup => "ad-groups",
            Level::Ad => "ads",
        },
        p.range.from,
        p.range.to
    )) {
        resp.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}
