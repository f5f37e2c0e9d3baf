//! Dashboard reads of `metrics_daily`, inside the caller's tenant transaction. Every query is
//! one set-based statement; totals are grouped by currency (an organization with USD and EUR
//! accounts gets two totals, never a sum), money stays in integer micros and ratios are exact
//! decimals.

use chrono::NaiveDate;
use diesel::sql_types::{BigInt, Date, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::range::DateRange;
use crate::db::Conn;
use crate::types::{Currency, Platform};

/// Raw sums for some set of campaign-days, all in one currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metrics {
    pub impressions: i64,
    pub clicks: i64,
    pub spend_micros: i64,
    pub conversions: Decimal,
    pub revenue_micros: i64,
}

/// Sums of `numeric` arrive as text (rust_decimal has no diesel mapping here); PostgreSQL's
/// own output always parses.
fn dec(s: &str) -> Decimal {
    s.parse().unwrap_or_default()
}

fn ratio(n: Decimal, d: Decimal) -> Option<Decimal> {
    if d.is_zero() { None } else { n.checked_div(d) }
}

impl Metrics {
    /// Clicks per impression, as a fraction.
    pub fn ctr(&self) -> Option<Decimal> {
        ratio(self.clicks.into(), self.impressions.into())
    }
    /// Cost per click, in micros (exact decimal).
    pub fn cpc_micros(&self) -> Option<Decimal> {
        ratio(self.spend_micros.into(), self.clicks.into())
    }
    /// Cost per thousand impressions, in micros.
    pub fn cpm_micros(&self) -> Option<Decimal> {
        ratio(
            Decimal::from(self.spend_micros) * Decimal::from(1000),
            self.impressions.into(),
        )
    }
    /// Cost per conversion, in micros.
    pub fn cpa_micros(&self) -> Option<Decimal> {
        ratio(self.spend_micros.into(), self.conversions)
    }
    /// Revenue per unit of spend.
    pub fn roas(&self) -> Option<Decimal> {
        ratio(self.revenue_micros.into(), self.spend_micros.into())
    }
    /// Conversions per click, as a fraction.
    pub fn cvr(&self) -> Option<Decimal> {
        ratio(self.conversions, self.clicks.into())
    }
}

/// Filters shared by every dashboard query (empty = everything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub platform: Option<Platform>,
    pub account_id: Option<Uuid>,
    /// "active", "paused" or "removed".
    pub status: Option<String>,
    /// Part of the campaign name, case-insensitive.
    pub search: Option<String>,
    /// One campaign (the campaign page's chart).
    pub campaign_id: Option<Uuid>,
}

impl Filters {
    fn search_pattern(&self) -> Option<String> {
        self.search.as_ref().map(|s| {
            let escaped = s
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        })
    }
}

/// The campaign filter as SQL over `c` (campaigns); binds $3..$7.
const FILTER_SQL: &str = "($3::text IS NULL OR c.platform = $3)
  AND ($4::uuid IS NULL OR c.account_id = $4)
  AND ($5::text IS NULL OR c.status = $5)
  AND ($6::text IS NULL OR c.name ILIKE $6)
  AND ($7::uuid IS NULL OR c.id = $7)";

macro_rules! bind_filters {
    ($q:expr, $f:expr) => {
        $q.bind::<Nullable<Text>, _>($f.platform.map(|p| p.as_str().to_string()))
            .bind::<Nullable<SqlUuid>, _>($f.account_id)
            .bind::<Nullable<Text>, _>($f.status.clone())
            .bind::<Nullable<Text>, _>($f.search_pattern())
            .bind::<Nullable<SqlUuid>, _>($f.campaign_id)
    };
}

/// Columns the tables sort on. Money-valued columns sort within each currency first, since
/// amounts in two currencies cannot be ordered without an exchange rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Platform,
    Account,
    Status,
    Currency,
    Spend,
    Impressions,
    Clicks,
    Conversions,
    Revenue,
    Ctr,
    Cpc,
    Cpm,
    Cpa,
    Roas,
    Cvr,
}

impl SortKey {
    pub const ALL: [SortKey; 16] = [
        SortKey::Name,
        SortKey::Platform,
        SortKey::Account,
        SortKey::Status,
        SortKey::Currency,
        SortKey::Spend,
        SortKey::Impressions,
        SortKey::Clicks,
        SortKey::Conversions,
        SortKey::Revenue,
        SortKey::Ctr,
        SortKey::Cpc,
        SortKey::Cpm,
        SortKey::Cpa,
        SortKey::Roas,
        SortKey::Cvr,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Platform => "platform",
            SortKey::Account => "account",
            SortKey::Status => "status",
            SortKey::Currency => "currency",
            SortKey::Spend => "spend",
            SortKey::Impressions => "impressions",
            SortKey::Clicks => "clicks",
            SortKey::Conversions => "conversions",
            SortKey::Revenue => "revenue",
            SortKey::Ctr => "ctr",
            SortKey::Cpc => "cpc",
            SortKey::Cpm => "cpm",
            SortKey::Cpa => "cpa",
            SortKey::Roas => "roas",
            SortKey::Cvr => "cvr",
        }
    }

    pub fn parse(s: &str) -> Option<SortKey> {
        SortKey::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Text columns start ascending, numbers descending (biggest first).
    pub fn default_desc(self) -> bool {
        !matches!(
            self,
            SortKey::Name
                | SortKey::Platform
                | SortKey::Account
                | SortKey::Status
                | SortKey::Currency
        )
    }

    fn is_money(self) -> bool {
        matches!(
            self,
            SortKey::Spend | SortKey::Revenue | SortKey::Cpc | SortKey::Cpm | SortKey::Cpa
        )
    }

    /// SQL over the aggregate `m` and campaign `c` / account `a` (a fixed whitelist).
    fn expr(self) -> &'static str {
        match self {
            SortKey::Name => "c.name",
            SortKey::Platform => "c.platform",
            SortKey::Account => "a.name",
            SortKey::Status => "c.status",
            SortKey::Currency => "c.currency",
            SortKey::Spend => "m.spend_micros",
            SortKey::Impressions => "m.impressions",
            SortKey::Clicks => "m.clicks",
            SortKey::Conversions => "m.conversions",
            SortKey::Revenue => "m.revenue_micros",
            SortKey::Ctr => "m.clicks::numeric / NULLIF(m.impressions, 0)",
            SortKey::Cpc => "m.spend_micros::numeric / NULLIF(m.clicks, 0)",
            SortKey::Cpm => "m.spend_micros::numeric * 1000 / NULLIF(m.impressions, 0)",
            SortKey::Cpa => "m.spend_micros::numeric / NULLIF(m.conversions, 0)",
            SortKey::Roas => "m.revenue_micros::numeric / NULLIF(m.spend_micros, 0)",
            SortKey::Cvr => "m.conversions / NULLIF(m.clicks, 0)",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub desc: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort {
            key: SortKey::Spend,
            desc: true,
        }
    }
}

impl Sort {
    /// ORDER BY for the per-campaign table; ties broken by name and id so pages are stable.
    fn order_by(&self, platform_table: bool) -> String {
        let dir = if self.desc {
            "DESC NULLS LAST"
        } else {
            "ASC NULLS LAST"
        };
        let key = match (platform_table, self.key) {
            // The platform table has no campaign or account columns.
            (true, SortKey::Name | SortKey::Account | SortKey::Status) => SortKey::Platform,
            (_, k) => k,
        };
        let currency_first = if key.is_money() { "c.currency, " } else { "" };
        let tail = if platform_table {
            "c.platform, c.currency"
        } else {
            "c.name, c.id"
        };
        format!("{currency_first}{} {dir}, {tail}", key.expr())
    }
}

#[derive(diesel::QueryableByName)]
struct SumsRow {
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = BigInt)]
    impressions: i64,
    #[diesel(sql_type = BigInt)]
    clicks: i64,
    #[diesel(sql_type = BigInt)]
    spend_micros: i64,
    #[diesel(sql_type = Text)]
    conversions: String,
    #[diesel(sql_type = BigInt)]
    revenue_micros: i64,
    #[diesel(sql_type = BigInt)]
    p_impressions: i64,
    #[diesel(sql_type = BigInt)]
    p_clicks: i64,
    #[diesel(sql_type = BigInt)]
    p_spend_micros: i64,
    #[diesel(sql_type = Text)]
    p_conversions: String,
    #[diesel(sql_type = BigInt)]
    p_revenue_micros: i64,
}

/// One currency's totals for the range and for the previous period of equal length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyTotals {
    pub currency: Currency,
    pub current: Metrics,
    pub previous: Metrics,
}

/// KPI totals per currency (currencies with no data in either period are left out).
pub async fn totals(
    c: &mut Conn,
    range: DateRange,
    filters: &Filters,
) -> diesel::QueryResult<Vec<CurrencyTotals>> {
    let prev = range.previous();
    let sql = format!(
        "SELECT c.currency,
           coalesce(sum(m.impressions) FILTER (WHERE m.date >= $1), 0)::int8 AS impressions,
           coalesce(sum(m.clicks) FILTER (WHERE m.date >= $1), 0)::int8 AS clicks,
           coalesce(sum(m.spend_micros) FILTER (WHERE m.date >= $1), 0)::int8 AS spend_micros,
           coalesce(sum(m.conversions) FILTER (WHERE m.date >= $1), 0)::text AS conversions,
           coalesce(sum(m.revenue_micros) FILTER (WHERE m.date >= $1), 0)::int8 AS revenue_micros,
           coalesce(sum(m.impressions) FILTER (WHERE m.date < $1), 0)::int8 AS p_impressions,
           coalesce(sum(m.clicks) FILTER (WHERE m.date < $1), 0)::int8 AS p_clicks,
           coalesce(sum(m.spend_micros) FILTER (WHERE m.date < $1), 0)::int8 AS p_spend_micros,
           coalesce(sum(m.conversions) FILTER (WHERE m.date < $1), 0)::text AS p_conversions,
           coalesce(sum(m.revenue_micros) FILTER (WHERE m.date < $1), 0)::int8 AS p_revenue_micros
         FROM metrics_daily m
         JOIN campaigns c ON c.id = m.campaign_id AND c.org_id = m.org_id
         WHERE m.org_id = app_current_org() AND m.date BETWEEN $8 AND $2 AND {FILTER_SQL}
         GROUP BY c.currency
         ORDER BY c.currency"
    );
    let q = diesel::sql_query(sql)
        .bind::<Date, _>(range.from)
        .bind::<Date, _>(range.to);
    let rows: Vec<SumsRow> = bind_filters!(q, filters)
        .bind::<Date, _>(prev.from)
        .load(c)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(CurrencyTotals {
                currency: r.currency.parse().ok()?,
                current: Metrics {
                    impressions: r.impressions,
                    clicks: r.clicks,
                    spend_micros: r.spend_micros,
                    conversions: dec(&r.conversions),
                    revenue_micros: r.revenue_micros,
                },
                previous: Metrics {
                    impressions: r.p_impressions,
                    clicks: r.p_clicks,
                    spend_micros: r.p_spend_micros,
                    conversions: dec(&r.p_conversions),
                    revenue_micros: r.p_revenue_micros,
                },
            })
        })
        .collect())
}

/// One row of the per-campaign table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignRow {
    pub campaign_id: Uuid,
    pub name: String,
    pub platform: Platform,
    pub status: String,
    pub account_id: Uuid,
    pub account_name: String,
    pub currency: Currency,
    pub metrics: Metrics,
}

#[derive(diesel::QueryableByName)]
struct CampaignSql {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    platform: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = SqlUuid)]
    account_id: Uuid,
    #[diesel(sql_type = Text)]
    account_name: String,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = BigInt)]
    impressions: i64,
    #[diesel(sql_type = BigInt)]
    clicks: i64,
    #[diesel(sql_type = BigInt)]
    spend_micros: i64,
    #[diesel(sql_type = Text)]
    conversions: String,
    #[diesel(sql_type = BigInt)]
    revenue_micros: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// A page of the per-campaign table, and how many rows there are in all.
#[derive(Debug, Clone, Default)]
pub struct CampaignPage {
    pub rows: Vec<CampaignRow>,
    pub total: i64,
}

/// Campaigns with data in `range`, sorted and paginated in SQL. `limit = None` reads every
/// row (the CSV export).
pub async fn by_campaign(
    c: &mut Conn,
    range: DateRange,
    filters: &Filters,
    sort: Sort,
    limit: Option<i64>,
    offset: i64,
) -> diesel::QueryResult<CampaignPage> {
    let sql = format!(
        "WITH m AS (
           SELECT campaign_id,
             sum(impressions)::int8 AS impressions, sum(clicks)::int8 AS clicks,
             sum(spend_micros)::int8 AS spend_micros, sum(conversions) AS conversions,
             sum(revenue_micros)::int8 AS revenue_micros
           FROM metrics_daily
           WHERE org_id = app_current_org() AND date BETWEEN $1 AND $2
           GROUP BY campaign_id
         )
         SELECT c.id, c.name, c.platform, c.status, c.account_id, a.name AS account_name, c.currency,
           m.impressions, m.clicks, m.spend_micros, m.conversions::text AS conversions, m.revenue_micros,
           count(*) OVER () AS total
         FROM m
         JOIN campaigns c ON c.id = m.campaign_id
         JOIN ad_accounts a ON a.id = c.account_id
         WHERE {FILTER_SQL}
         ORDER BY {}
         LIMIT $8 OFFSET $9",
        sort.order_by(false)
    );
    let q = diesel::sql_query(sql)
        .bind::<Date, _>(range.from)
        .bind::<Date, _>(range.to);
    let rows: Vec<CampaignSql> = bind_filters!(q, filters)
        .bind::<Nullable<BigInt>, _>(limit)
        .bind::<BigInt, _>(offset.max(0))
        .load(c)
        .await?;
    let total = <[_]>::first(&rows).map(|r| r.total).unwrap_or(0);
    Ok(CampaignPage {
        total,
        rows: rows
            .into_iter()
            .filter_map(|r| {
                Some(CampaignRow {
                    campaign_id: r.id,
                    name: r.name,
                    platform: r.platform.parse().ok()?,
                    status: r.status,
                    account_id: r.account_id,
                    account_name: r.account_name,
                    currency: r.currency.parse().ok()?,
                    metrics: Metrics {
                        impressions: r.impressions,
                        clicks: r.clicks,
                        spend_micros: r.spend_micros,
                        conversions: dec(&r.conversions),
                        revenue_micros: r.revenue_micros,
                    },
                })
            })
            .collect(),
    })
}

/// One row of the per-platform table (a platform with accounts in two currencies has two).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformRow {
    pub platform: Platform,
    pub currency: Currency,
    pub campaigns: i64,
    pub metrics: Metrics,
}

#[derive(diesel::QueryableByName)]
struct PlatformSql {
    #[diesel(sql_type = Text)]
    platform: String,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = BigInt)]
    campaigns: i64,
    #[diesel(sql_type = BigInt)]
    impressions: i64,
    #[diesel(sql_type = BigInt)]
    clicks: i64,
    #[diesel(sql_type = BigInt)]
    spend_micros: i64,
    #[diesel(sql_type = Text)]
    conversions: String,
    #[diesel(sql_type = BigInt)]
    revenue_micros: i64,
}

pub async fn by_platform(
    c: &mut Conn,
    range: DateRange,
    filters: &Filters,
    sort: Sort,
) -> diesel::QueryResult<Vec<PlatformRow>> {
    let sql = format!(
        "WITH m AS (
           SELECT c.platform, c.currency,
             count(DISTINCT md.campaign_id)::int8 AS campaigns,
             sum(md.impressions)::int8 AS impressions, sum(md.clicks)::int8 AS clicks,
             sum(md.spend_micros)::int8 AS spend_micros, sum(md.conversions) AS conversions,
             sum(md.revenue_micros)::int8 AS revenue_micros
           FROM metrics_daily md
           JOIN campaigns c ON c.id = md.campaign_id AND c.org_id = md.org_id
           WHERE md.org_id = app_current_org() AND md.date BETWEEN $1 AND $2 AND {FILTER_SQL}
           GROUP BY c.platform, c.currency
         )
         SELECT m.platform, m.currency, m.campaigns, m.impressions, m.clicks, m.spend_micros,
           m.conversions::text AS conversions, m.revenue_micros
         FROM m
         ORDER BY {}",
        // The aggregate carries platform and currency itself.
        sort.order_by(true).replace("c.", "m.")
    );
    let q = diesel::sql_query(sql)
        .bind::<Date, _>(range.from)
        .bind::<Date, _>(range.to);
    let rows: Vec<PlatformSql> = bind_filters!(q, filters).load(c).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(PlatformRow {
                platform: r.platform.parse().ok()?,
                currency: r.currency.parse().ok()?,
                campaigns: r.campaigns,
                metrics: Metrics {
                    impressions: r.impressions,
                    clicks: r.clicks,
                    spend_micros: r.spend_micros,
                    conversions: dec(&r.conversions),
                    revenue_micros: r.revenue_micros,
                },
            })
        })
        .collect())
}

#[derive(diesel::QueryableByName)]
struct DaySql {
    #[diesel(sql_type = Date)]
    date: NaiveDate,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = BigInt)]
    impressions: i64,
    #[diesel(sql_type = BigInt)]
    clicks: i64,
    #[diesel(sql_type = BigInt)]
    spend_micros: i64,
    #[diesel(sql_type = Text)]
    conversions: String,
    #[diesel(sql_type = BigInt)]
    revenue_micros: i64,
}

/// One currency's daily sums, one entry per date of the range (days without data are zero).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub currency: Currency,
    pub days: Vec<(NaiveDate, Metrics)>,
}

pub async fn daily(
    c: &mut Conn,
    range: DateRange,
    filters: &Filters,
) -> diesel::QueryResult<Vec<Series>> {
    let sql = format!(
        "SELECT m.date, c.currency,
           sum(m.impressions)::int8 AS impressions, sum(m.clicks)::int8 AS clicks,
           sum(m.spend_micros)::int8 AS spend_micros, sum(m.conversions)::text AS conversions,
           sum(m.revenue_micros)::int8 AS revenue_micros
         FROM metrics_daily m
         JOIN campaigns c ON c.id = m.campaign_id AND c.org_id = m.org_id
         WHERE m.org_id = app_current_org() AND m.date BETWEEN $1 AND $2 AND {FILTER_SQL}
         GROUP BY c.currency, m.date
         ORDER BY c.currency, m.date"
    );
    let q = diesel::sql_query(sql)
        .bind::<Date, _>(range.from)
        .bind::<Date, _>(range.to);
    let rows: Vec<DaySql> = bind_filters!(q, filters).load(c).await?;
    let mut out: Vec<Series> = Vec::new();
    for r in rows {
        let Ok(currency) = r.currency.parse::<Currency>() else {
            continue;
        };
        if out.last().is_none_or(|s| s.currency != currency) {
            out.push(Series {
                currency,
                days: range.dates().map(|d| (d, Metrics::default())).collect(),
            });
        }
        let idx = (r.date - range.from).num_days();
        if let Some(slot) = out
            .last_mut()
            .and_then(|s| usize::try_from(idx).ok().and_then(|i| s.days.get_mut(i)))
        {
            slot.1 = Metrics {
                impressions: r.impressions,
                clicks: r.clicks,
                spend_micros: r.spend_micros,
                conversions: dec(&r.conversions),
                revenue_micros: r.revenue_micros,
            };
        }
    }
    Ok(out)
}

/// Whether the organization has any managed ad account (the dashboard's empty state).
pub async fn has_accounts(c: &mut Conn) -> diesel::QueryResult<bool> {
    #[derive(diesel::QueryableByName)]
    struct B {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        b: bool,
    }
    let r: B = diesel::sql_query("SELECT EXISTS (SELECT 1 FROM ad_accounts WHERE managed) AS b")
        .get_result(c)
        .await?;
    Ok(r.b)
}
