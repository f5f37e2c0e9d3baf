//! Dashboard reads of `metrics_daily`, inside the caller's tenant transaction. Every query is
//! one set-based statement; totals are grouped by currency (an organization with USD and EUR
//! accounts gets two totals, never a sum), money stays in integer micros and ratios are exact
//! decimals.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use chrono::NaiveDate;
use diesel::sql_types::{Array, BigInt, Date, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::range::DateRange;
use super::summaries::{self, Read, SplitBinds, Summarized};
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
    pub(crate) fn search_pattern(&self) -> Option<String> {
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
    /// Orders two campaign rows the way the table shows them: money columns within each
    /// currency first, undefined ratios last in either direction, ties by name then id so
    /// pages are stable.
    pub fn compare(&self, a: &CampaignRow, b: &CampaignRow) -> Ordering {
        let currency_first = if self.key.is_money() {
            a.currency.cmp(&b.currency)
        } else {
            Ordering::Equal
        };
        let dir = |o: Ordering| if self.desc { o.reverse() } else { o };
        let key = match self.key {
            SortKey::Name => dir(a.name.to_lowercase().cmp(&b.name.to_lowercase())),
            SortKey::Platform => dir(a.platform.cmp(&b.platform)),
            SortKey::Account => dir(a
                .account_name
                .to_lowercase()
                .cmp(&b.account_name.to_lowercase())),
            SortKey::Status => dir(a.status.cmp(&b.status)),
            SortKey::Currency => dir(a.currency.cmp(&b.currency)),
            k => {
                let (x, y) = (k.value(&a.metrics), k.value(&b.metrics));
                match (x, y) {
                    (Some(x), Some(y)) => dir(x.cmp(&y)),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                }
            }
        };
        currency_first
            .then(key)
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.campaign_id.cmp(&b.campaign_id))
    }
}

impl SortKey {
    /// The exact value a numeric column sorts on.
    fn value(self, m: &Metrics) -> Option<Decimal> {
        match self {
            SortKey::Spend => Some(m.spend_micros.into()),
            SortKey::Impressions => Some(m.impressions.into()),
            SortKey::Clicks => Some(m.clicks.into()),
            SortKey::Conversions => Some(m.conversions),
            SortKey::Revenue => Some(m.revenue_micros.into()),
            SortKey::Ctr => m.ctr(),
            SortKey::Cpc => m.cpc_micros(),
            SortKey::Cpm => m.cpm_micros(),
            SortKey::Cpa => m.cpa_micros(),
            SortKey::Roas => m.roas(),
            SortKey::Cvr => m.cvr(),
            _ => None,
        }
    }
}

/// One currency's totals for the range and for the previous period of equal length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyTotals {
    pub currency: Currency,
    pub current: Metrics,
    pub previous: Metrics,
}

/// One campaign's sums in the range.
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

/// A campaign's sums in the range and in the previous period; `in_range` is false when it has
/// rows only in the previous period (it then counts for the comparison, not the tables).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignAgg {
    pub row: CampaignRow,
    pub previous: Metrics,
    pub in_range: bool,
}

#[derive(diesel::QueryableByName)]
struct PeriodSql {
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
}

/// One period's sums for every campaign matching `filters` that has rows in it; see
/// [`campaign_aggregates`], which pairs two of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PeriodSums(Vec<CampaignRow>);

/// Prepares a dashboard read and returns the organization it reads, for the read's
/// transaction only.
///
/// The organization goes into the query as a bound value although row-level security
/// already applies it: with a value the planner estimates the organization's share of the
/// rows from the statistics (with `app_current_org()` it guessed a few hundred rows of
/// 60,000, sorted them on disk instead of hashing, and the daily series took 62 ms instead
/// of 40), and a scan compares a constant per row instead of calling the function (an
/// organization that fills the table: 61 ms for one period's sums instead of 27).
///
/// The dashboard already runs its reads at once, each on its own connection; parallel
/// workers on top of that outnumber the cores, so each read is one process.
pub(super) async fn dashboard_read(c: &mut Conn, work_mem: &str) -> diesel::QueryResult<Uuid> {
    #[derive(diesel::QueryableByName)]
    struct Org {
        #[diesel(sql_type = SqlUuid)]
        org: Uuid,
    }
    let row: Org = diesel::sql_query(
        "SELECT set_config('work_mem', $1, true), \
                set_config('max_parallel_workers_per_gather', '0', true), \
                app_current_org() AS org",
    )
    .bind::<Text, _>(work_mem)
    .get_result(c)
    .await?;
    Ok(row.org)
}

/// Sums per campaign over `range`, read through the summaries (see
/// [`super::summaries`]): a few thousand rows per period even for a large agency, grouped by
/// campaign, then joined to the campaigns for the filters.
pub async fn period_sums(
    c: &mut Conn,
    range: DateRange,
    filters: &Filters,
) -> diesel::QueryResult<PeriodSums> {
    period_sums_from(c, Read::Summaries, range, filters).await
}

/// [`period_sums`] read from `read` (the daily rows alone: the reference for tests and the
/// benchmark).
pub async fn period_sums_from(
    c: &mut Conn,
    read: Read,
    range: DateRange,
    filters: &Filters,
) -> diesel::QueryResult<PeriodSums> {
    let src = summaries::source(
        Summarized::Campaigns,
        read,
        "$8",
        SplitBinds {
            days: "$1",
            blocks: "$2",
            months: "$9",
        },
        "$7::uuid IS NULL OR campaign_id = $7",
    );
    let sql = format!(
        "WITH g AS MATERIALIZED (
           SELECT campaign_id, sum(impressions) AS impressions, sum(clicks) AS clicks,
             sum(spend_micros) AS spend_micros, sum(conversions) AS conversions,
             sum(revenue_micros) AS revenue_micros
           FROM {src} s
           GROUP BY campaign_id
         )
         SELECT c.id, c.name, c.platform, c.status, c.account_id, a.name AS account_name, c.currency,
           g.impressions::int8 AS impressions, g.clicks::int8 AS clicks,
           g.spend_micros::int8 AS spend_micros, g.conversions::text AS conversions,
           g.revenue_micros::int8 AS revenue_micros
         FROM g
         JOIN campaigns c ON c.id = g.campaign_id
         JOIN ad_accounts a ON a.id = c.account_id
         WHERE {FILTER_SQL}"
    );
    // The planner sizes the hash table by every campaign in the table, not this
    // organization's; at the default 4MB it then sorts all the rows, spilling to disk, to
    // group a few thousand campaigns. Transaction-local, and small next to the server.
    let org = dashboard_read(c, "32MB").await?;
    let split = read.split(range);
    let q = diesel::sql_query(sql)
        .bind::<Array<Date>, _>(split.days)
        .bind::<Array<Date>, _>(split.blocks);
    let rows: Vec<PeriodSql> = bind_filters!(q, filters)
        .bind::<SqlUuid, _>(org)
        .bind::<Array<Date>, _>(split.months)
        .load(c)
        .await?;
    Ok(PeriodSums(
        rows.into_iter()
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
    ))
}

/// Pairs a range's sums with the previous period's, per campaign: every campaign with rows
/// in either (the range's first, in their order, then those with rows only before it).
pub fn pair_periods(current: PeriodSums, previous: PeriodSums) -> Vec<CampaignAgg> {
    let mut before: std::collections::HashMap<Uuid, CampaignRow> =
        previous.0.into_iter().map(|r| (r.campaign_id, r)).collect();
    let mut out: Vec<CampaignAgg> = current
        .0
        .into_iter()
        .map(|row| CampaignAgg {
            previous: before
                .remove(&row.campaign_id)
                .map(|p| p.metrics)
                .unwrap_or_default(),
            row,
            in_range: true,
        })
        .collect();
    let mut rest: Vec<CampaignRow> = before.into_values().collect();
    rest.sort_by_key(|r| r.campaign_id);
    out.extend(rest.into_iter().map(|p| CampaignAgg {
        previous: p.metrics.clone(),
        row: CampaignRow {
            metrics: Metrics::default(),
            ..p
        },
        in_range: false,
    }));
    out
}

/// Every campaign matching `filters` with data in the range or the previous period, from
/// which the KPI totals, the platform table and the sorted, paginated campaign table are all
/// derived, so they always agree with each other and with the CSV. The dashboard runs the
/// two periods' scans at once on two connections and pairs them itself.
pub async fn campaign_aggregates(
    c: &mut Conn,
    range: DateRange,
    filters: &Filters,
) -> diesel::QueryResult<Vec<CampaignAgg>> {
    campaign_aggregates_from(c, Read::Summaries, range, filters).await
}

/// [`campaign_aggregates`] read from `read`.
pub async fn campaign_aggregates_from(
    c: &mut Conn,
    read: Read,
    range: DateRange,
    filters: &Filters,
) -> diesel::QueryResult<Vec<CampaignAgg>> {
    let current = period_sums_from(c, read, range, filters).await?;
    let previous = period_sums_from(c, read, range.previous(), filters).await?;
    Ok(pair_periods(current, previous))
}

impl Metrics {
    fn add(&mut self, o: &Metrics) {
        self.impressions += o.impressions;
        self.clicks += o.clicks;
        self.spend_micros += o.spend_micros;
        self.conversions += o.conversions;
        self.revenue_micros += o.revenue_micros;
    }
}

/// KPI totals per currency, ordered by currency (exact: integers and decimals).
pub fn totals(aggs: &[CampaignAgg]) -> Vec<CurrencyTotals> {
    let mut by: BTreeMap<Currency, (Metrics, Metrics)> = BTreeMap::new();
    for a in aggs {
        let e = by.entry(a.row.currency).or_default();
        e.0.add(&a.row.metrics);
        e.1.add(&a.previous);
    }
    by.into_iter()
        .map(|(currency, (current, previous))| CurrencyTotals {
            currency,
            current,
            previous,
        })
        .collect()
}

/// A page of the per-campaign table, and how many rows there are in all.
#[derive(Debug, Clone, Default)]
pub struct CampaignPage {
    pub rows: Vec<CampaignRow>,
    pub total: i64,
}

/// Campaigns with data in the range, sorted; `limit = None` gives every row (the CSV).
pub fn campaign_page(
    aggs: &[CampaignAgg],
    sort: Sort,
    limit: Option<i64>,
    offset: i64,
) -> CampaignPage {
    let mut rows: Vec<&CampaignRow> = aggs.iter().filter(|a| a.in_range).map(|a| &a.row).collect();
    rows.sort_by(|a, b| sort.compare(a, b));
    let total = rows.len() as i64;
    let skip = usize::try_from(offset.max(0)).unwrap_or(usize::MAX);
    let take = limit
        .and_then(|l| usize::try_from(l.max(0)).ok())
        .unwrap_or(usize::MAX);
    CampaignPage {
        total,
        rows: rows.into_iter().skip(skip).take(take).cloned().collect(),
    }
}

/// One row of the per-platform table (a platform with accounts in two currencies has two).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformRow {
    pub platform: Platform,
    pub currency: Currency,
    pub campaigns: i64,
    pub metrics: Metrics,
}

/// Sums by platform and currency of the campaigns with data in the range, by platform.
pub fn platforms(aggs: &[CampaignAgg]) -> Vec<PlatformRow> {
    let mut by: BTreeMap<(Platform, Currency), (i64, Metrics)> = BTreeMap::new();
    for a in aggs.iter().filter(|a| a.in_range) {
        let e = by.entry((a.row.platform, a.row.currency)).or_default();
        e.0 += 1;
        e.1.add(&a.row.metrics);
    }
    by.into_iter()
        .map(|((platform, currency), (campaigns, metrics))| PlatformRow {
            platform,
            currency,
            campaigns,
            metrics,
        })
        .collect()
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

/// The daily series of the campaigns matching `filters`, per currency.
pub async fn daily(
    c: &mut Conn,
    range: DateRange,
    filters: &Filters,
) -> diesel::QueryResult<Vec<Series>> {
    daily_from(c, Read::Summaries, range, filters).await
}

/// Whether the daily chart may read the per-account days (`account_metric_summaries`) for
/// `filters`: only filters an ad account answers (platform, account), and only while every
/// campaign has its account's currency and platform (as sync and create make them), so that
/// grouping the accounts' days by the account's currency gives what grouping the campaigns'
/// days by the campaign's currency gives.
async fn accounts_answer(c: &mut Conn, org: Uuid, filters: &Filters) -> diesel::QueryResult<bool> {
    if filters.status.is_some() || filters.search.is_some() || filters.campaign_id.is_some() {
        return Ok(false);
    }
    #[derive(diesel::QueryableByName)]
    struct B {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        b: bool,
    }
    let r: B = diesel::sql_query(
        "SELECT NOT EXISTS (
           SELECT 1 FROM campaigns c JOIN ad_accounts a ON a.org_id = c.org_id AND a.id = c.account_id
           WHERE c.org_id = $1 AND (c.currency <> a.currency OR c.platform <> a.platform)) AS b",
    )
    .bind::<SqlUuid, _>(org)
    .get_result(c)
    .await?;
    Ok(r.b)
}

/// [`daily`] read from `read`.
pub async fn daily_from(
    c: &mut Conn,
    read: Read,
    range: DateRange,
    filters: &Filters,
) -> diesel::QueryResult<Vec<Series>> {
    let org = dashboard_read(c, "4MB").await?;
    let by_account = read == Read::Summaries && accounts_answer(c, org, filters).await?;
    let sql = if by_account {
        // Rows of accounts no longer connected are left out, as the campaigns' join leaves
        // out their campaigns' rows (an account's removal removes its campaigns).
        "SELECT s.period_start AS date, a.currency,
           sum(s.impressions)::int8 AS impressions, sum(s.clicks)::int8 AS clicks,
           sum(s.spend_micros)::int8 AS spend_micros, sum(s.conversions)::text AS conversions,
           sum(s.revenue_micros)::int8 AS revenue_micros
         FROM account_metric_summaries s
         JOIN ad_accounts a ON a.org_id = s.org_id AND a.id = s.account_id
         WHERE s.org_id = $8 AND s.grain = 'd' AND s.period_start BETWEEN $1 AND $2 AND s.days > 0
           AND ($3::text IS NULL OR a.platform = $3) AND ($4::uuid IS NULL OR a.id = $4)
         GROUP BY a.currency, s.period_start
         ORDER BY a.currency, s.period_start"
            .to_string()
    } else {
        format!(
            "SELECT m.date, c.currency,
           sum(m.impressions)::int8 AS impressions, sum(m.clicks)::int8 AS clicks,
           sum(m.spend_micros)::int8 AS spend_micros, sum(m.conversions)::text AS conversions,
           sum(m.revenue_micros)::int8 AS revenue_micros
         FROM metrics_daily m
         JOIN campaigns c ON c.id = m.campaign_id AND c.org_id = m.org_id
         WHERE m.org_id = $8 AND m.date BETWEEN $1 AND $2 AND {FILTER_SQL}
         GROUP BY c.currency, m.date
         ORDER BY c.currency, m.date"
        )
    };
    let q = diesel::sql_query(sql)
        .bind::<Date, _>(range.from)
        .bind::<Date, _>(range.to);
    let rows: Vec<DaySql> = bind_filters!(q, filters)
        .bind::<SqlUuid, _>(org)
        .load(c)
        .await?;
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

/// Sorts the platform table by the same column as the campaign table (campaign, account and
/// status columns fall back to the platform).
pub fn sort_platforms(rows: &mut [PlatformRow], sort: Sort) {
    let sort = match sort.key {
        SortKey::Name | SortKey::Account | SortKey::Status => Sort {
            key: SortKey::Platform,
            desc: sort.desc,
        },
        _ => sort,
    };
    let as_row = |r: &PlatformRow| CampaignRow {
        campaign_id: Uuid::nil(),
        name: r.platform.as_str().to_string(),
        platform: r.platform,
        status: String::new(),
        account_id: Uuid::nil(),
        account_name: String::new(),
        currency: r.currency,
        metrics: r.metrics.clone(),
    };
    rows.sort_by(|a, b| sort.compare(&as_row(a), &as_row(b)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: u128, spend: i64) -> CampaignRow {
        CampaignRow {
            campaign_id: Uuid::from_u128(id),
            name: format!("C{id}"),
            platform: Platform::Google,
            status: "active".into(),
            account_id: Uuid::from_u128(99),
            account_name: "A".into(),
            currency: "USD".parse().expect("a currency"),
            metrics: Metrics {
                spend_micros: spend,
                ..Metrics::default()
            },
        }
    }

    #[test]
    fn pairing_keeps_every_campaign_of_either_period_once() {
        let current = PeriodSums(vec![row(2, 20), row(1, 10)]);
        let previous = PeriodSums(vec![row(3, 300), row(1, 100)]);
        let got: Vec<(u128, i64, i64, bool)> = pair_periods(current, previous)
            .into_iter()
            .map(|a| {
                (
                    a.row.campaign_id.as_u128(),
                    a.row.metrics.spend_micros,
                    a.previous.spend_micros,
                    a.in_range,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![(2, 20, 0, true), (1, 10, 100, true), (3, 0, 300, false)],
            "a campaign with rows only before the range counts for the comparison, not the tables"
        );
    }
}
