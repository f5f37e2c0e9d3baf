//! The dashboard's table one or two levels below the campaigns: every ad group (Meta: ad set)
//! or every ad with data in the range, sorted, one page of them, with the previous period's
//! sums and per-currency totals, in one statement.
//!
//! Sized for an organization with 10,000 ad groups and 30,000 ads: the range and the previous
//! period are each read through the summaries (whole months and blocks from the summary table,
//! the edge days from the daily table, see `summaries`), summed by object in the database; sorting and the page
//! limit happen there too, so at most a page of rows leaves it. The previous period is summed
//! by campaign (for the totals) and by object only for the rows on the page, which keeps its
//! hash table small whatever the organization's size.

use diesel::sql_types::{Array, BigInt, Date, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::queries::{Filters, Metrics, Sort, SortKey};
use super::range::DateRange;
use super::summaries::{self, Read, SplitBinds, Summarized};
use crate::db::Conn;
use crate::platforms::Level;
use crate::types::{Currency, Platform};

/// One ad group or ad with its sums in the range and in the previous period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelRow {
    pub id: Uuid,
    pub name: String,
    pub status: String,
    pub platform: Platform,
    pub campaign_id: Uuid,
    pub campaign_name: String,
    /// The ad group of an ad (None on the ad-group level).
    pub group: Option<(Uuid, String)>,
    pub account_name: String,
    pub currency: Currency,
    pub metrics: Metrics,
    pub previous: Metrics,
}

/// One currency's sums over every row of the table (not only the page), and the previous
/// period's over the same campaigns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelTotals {
    pub currency: Currency,
    /// Objects with data in the range.
    pub objects: i64,
    pub current: Metrics,
    pub previous: Metrics,
}

/// A page of the table, how many rows there are in all, and the totals per currency.
#[derive(Debug, Clone, Default)]
pub struct LevelPage {
    pub rows: Vec<LevelRow>,
    pub total: i64,
    pub totals: Vec<LevelTotals>,
}

#[derive(diesel::QueryableByName)]
struct Sql {
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    status: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    platform: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    campaign_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    campaign_name: Option<String>,
    #[diesel(sql_type = Nullable<SqlUuid>)]
    group_id: Option<Uuid>,
    #[diesel(sql_type = Nullable<Text>)]
    group_name: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    account_name: Option<String>,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = BigInt)]
    objects: i64,
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

fn dec(s: &str) -> rust_decimal::Decimal {
    s.parse().unwrap_or_default()
}

/// The SQL ordering of a sort, over the columns of `r` below. It matches
/// [`Sort::compare`]: money within each currency first, undefined ratios last in either
/// direction, ties by name (bytewise) then id, so pages are stable.
fn order_by(sort: Sort) -> String {
    let dir = if sort.desc { "DESC" } else { "ASC" };
    let expr = match sort.key {
        SortKey::Name => "lower(name) COLLATE \"C\"",
        SortKey::Platform => "platform",
        SortKey::Account => "lower(account_name) COLLATE \"C\"",
        SortKey::Status => "status",
        SortKey::Currency => "currency",
        SortKey::Spend => "spend_micros",
        SortKey::Impressions => "impressions",
        SortKey::Clicks => "clicks",
        SortKey::Conversions => "conversions",
        SortKey::Revenue => "revenue_micros",
        SortKey::Ctr => "clicks::numeric / NULLIF(impressions, 0)",
        SortKey::Cpc => "spend_micros::numeric / NULLIF(clicks, 0)",
        SortKey::Cpm => "spend_micros::numeric * 1000 / NULLIF(impressions, 0)",
        SortKey::Cpa => "spend_micros::numeric / NULLIF(conversions, 0)",
        SortKey::Roas => "revenue_micros::numeric / NULLIF(spend_micros, 0)",
        SortKey::Cvr => "conversions / NULLIF(clicks, 0)",
    };
    let money = matches!(
        sort.key,
        SortKey::Spend | SortKey::Revenue | SortKey::Cpc | SortKey::Cpm | SortKey::Cpa
    );
    format!(
        "{}{expr} {dir} NULLS LAST, name COLLATE \"C\", id",
        if money { "currency, " } else { "" }
    )
}

/// The statement for `level` (ad group or ad). Binds: $1, $2, $13 the range's split (see
/// [`summaries::source`]), $3..$7 the campaign filters, $8 the organization, $9, $10, $14 the
/// previous period's split, $11 the limit (NULL: all), $12 the offset.
fn statement(level: Level, sort: Sort, read: Read) -> String {
    let (table, obj, group_cols, objects_join) = match level {
        Level::Ad => (
            Summarized::Ads,
            "ad_id",
            "g.id AS group_id, g.name AS group_name,",
            "JOIN ads o ON o.org_id = $8 AND o.id = cur.object_id
             JOIN ad_groups g ON g.org_id = o.org_id AND g.id = o.ad_group_id",
        ),
        _ => (
            Summarized::AdGroups,
            "ad_group_id",
            "NULL::uuid AS group_id, NULL::text AS group_name,",
            "JOIN ad_groups o ON o.org_id = $8 AND o.id = cur.object_id",
        ),
    };
    let order = order_by(sort);
    let sums = |p: &str| {
        format!(
            "sum({p}impressions) AS impressions, sum({p}clicks) AS clicks,
             sum({p}spend_micros) AS spend_micros, sum({p}conversions) AS conversions,
             sum({p}revenue_micros) AS revenue_micros"
        )
    };
    let (cur_sums, m_sums) = (sums(""), sums("m."));
    let filter = "$7::uuid IS NULL OR campaign_id = $7";
    let (cur_src, prev_src) = period_sources(table, read, filter);
    format!(
        "WITH camp AS MATERIALIZED (
           SELECT c.id, c.name, c.currency, a.name AS account_name
           FROM campaigns c JOIN ad_accounts a ON a.org_id = c.org_id AND a.id = c.account_id
           WHERE c.org_id = $8
             AND ($3::text IS NULL OR c.platform = $3)
             AND ($4::uuid IS NULL OR c.account_id = $4)
             AND ($5::text IS NULL OR c.status = $5)
             AND ($6::text IS NULL OR c.name ILIKE $6)
             AND ($7::uuid IS NULL OR c.id = $7)
         ),
         cur AS MATERIALIZED (
           SELECT campaign_id, {obj} AS object_id, {cur_sums}
           FROM {cur_src} s
           GROUP BY campaign_id, {obj}
         ),
         r AS MATERIALIZED (
           SELECT o.id, o.name, o.status, o.platform, camp.id AS campaign_id,
             camp.name AS campaign_name, {group_cols} camp.account_name, camp.currency,
             cur.impressions::int8 AS impressions, cur.clicks::int8 AS clicks,
             cur.spend_micros::int8 AS spend_micros, cur.conversions,
             cur.revenue_micros::int8 AS revenue_micros
           FROM cur
           JOIN camp ON camp.id = cur.campaign_id
           {objects_join}
         ),
         page AS MATERIALIZED (
           SELECT r.*, row_number() OVER (ORDER BY {order}) AS ord
           FROM r ORDER BY {order} LIMIT $11 OFFSET $12
         ),
         prev AS MATERIALIZED (
           SELECT m.campaign_id,
             CASE WHEN m.{obj} IN (SELECT id FROM page) THEN m.{obj} END AS object_id, {m_sums}
           FROM {prev_src} m
           GROUP BY 1, 2
         ),
         pobj AS (
           SELECT object_id, {cur_sums} FROM prev WHERE object_id IS NOT NULL GROUP BY object_id
         ),
         tot AS (
           SELECT currency, count(*) AS objects, {cur_sums} FROM r GROUP BY currency
         ),
         ptot AS (
           SELECT camp.currency, {cur_sums}
           FROM prev JOIN camp ON camp.id = prev.campaign_id GROUP BY camp.currency
         ){TABLE_SELECT}"
    )
}

/// The statement's rows: the page's objects with their previous figures, then per currency
/// the totals of every matching object.
const TABLE_SELECT: &str = "
         SELECT 'row' AS kind, page.ord, page.id, page.name, page.status, page.platform,
           page.campaign_id, page.campaign_name, page.group_id, page.group_name,
           page.account_name, page.currency, 1::int8 AS objects,
           page.impressions, page.clicks, page.spend_micros, page.conversions::text AS conversions,
           page.revenue_micros,
           coalesce(pobj.impressions, 0)::int8 AS p_impressions,
           coalesce(pobj.clicks, 0)::int8 AS p_clicks,
           coalesce(pobj.spend_micros, 0)::int8 AS p_spend_micros,
           coalesce(pobj.conversions, 0)::text AS p_conversions,
           coalesce(pobj.revenue_micros, 0)::int8 AS p_revenue_micros
         FROM page LEFT JOIN pobj ON pobj.object_id = page.id
         UNION ALL
         SELECT 'total', 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           coalesce(tot.currency, ptot.currency), coalesce(tot.objects, 0)::int8,
           coalesce(tot.impressions, 0)::int8, coalesce(tot.clicks, 0)::int8,
           coalesce(tot.spend_micros, 0)::int8, coalesce(tot.conversions, 0)::text,
           coalesce(tot.revenue_micros, 0)::int8,
           coalesce(ptot.impressions, 0)::int8, coalesce(ptot.clicks, 0)::int8,
           coalesce(ptot.spend_micros, 0)::int8, coalesce(ptot.conversions, 0)::text,
           coalesce(ptot.revenue_micros, 0)::int8
         FROM tot FULL JOIN ptot ON ptot.currency = tot.currency
         ORDER BY 1, 2, 12";

/// The summary sources of the current and the previous period, split as bound.
fn period_sources(table: Summarized, read: Read, filter: &str) -> (String, String) {
    let cur_src = summaries::source(
        table,
        read,
        "$8",
        SplitBinds {
            days: "$1",
            blocks: "$2",
            months: "$13",
        },
        filter,
    );
    let prev_src = summaries::source(
        table,
        read,
        "$8",
        SplitBinds {
            days: "$9",
            blocks: "$10",
            months: "$14",
        },
        filter,
    );
    (cur_src, prev_src)
}

/// The ad groups (`Level::AdGroup`) or ads (`Level::Ad`) of the campaigns matching `filters`
/// with data in `range`, sorted by `sort`; `limit = None` gives every row (the CSV). The
/// filters are the dashboard's campaign filters, so the table and the KPI tiles above it
/// cover the same campaigns. `Level::Campaign` has no rows here (the campaign table is
/// [`super::queries::campaign_page`]).
pub async fn level_page(
    c: &mut Conn,
    level: Level,
    range: DateRange,
    filters: &Filters,
    sort: Sort,
    limit: Option<i64>,
    offset: i64,
) -> diesel::QueryResult<LevelPage> {
    let page = Page {
        sort,
        limit,
        offset,
    };
    level_page_from(c, Read::Summaries, level, range, filters, page).await
}

/// A sort and a page of the level table.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub sort: Sort,
    pub limit: Option<i64>,
    pub offset: i64,
}

/// [`level_page`] read from `read`.
pub async fn level_page_from(
    c: &mut Conn,
    read: Read,
    level: Level,
    range: DateRange,
    filters: &Filters,
    Page {
        sort,
        limit,
        offset,
    }: Page,
) -> diesel::QueryResult<LevelPage> {
    if level == Level::Campaign {
        return Ok(LevelPage::default());
    }
    let prev = range.previous();
    // Two hash aggregates over up to 30,000 objects; the default 4MB would sort on disk.
    let org = super::queries::dashboard_read(c, "32MB").await?;
    let (cur, before) = (read.split(range), read.split(prev));
    let rows: Vec<Sql> = diesel::sql_query(statement(level, sort, read))
        .bind::<Array<Date>, _>(cur.days)
        .bind::<Array<Date>, _>(cur.blocks)
        .bind::<Nullable<Text>, _>(filters.platform.map(|p| p.as_str().to_string()))
        .bind::<Nullable<SqlUuid>, _>(filters.account_id)
        .bind::<Nullable<Text>, _>(filters.status.clone())
        .bind::<Nullable<Text>, _>(filters.search_pattern())
        .bind::<Nullable<SqlUuid>, _>(filters.campaign_id)
        .bind::<SqlUuid, _>(org)
        .bind::<Array<Date>, _>(before.days)
        .bind::<Array<Date>, _>(before.blocks)
        .bind::<Nullable<BigInt>, _>(limit.map(|l| l.max(0)))
        .bind::<BigInt, _>(offset.max(0))
        .bind::<Array<Date>, _>(cur.months)
        .bind::<Array<Date>, _>(before.months)
        .load(c)
        .await?;
    let mut out = LevelPage::default();
    for r in rows {
        let Ok(currency) = r.currency.parse::<Currency>() else {
            continue;
        };
        let metrics = Metrics {
            impressions: r.impressions,
            clicks: r.clicks,
            spend_micros: r.spend_micros,
            conversions: dec(&r.conversions),
            revenue_micros: r.revenue_micros,
        };
        let previous = Metrics {
            impressions: r.p_impressions,
            clicks: r.p_clicks,
            spend_micros: r.p_spend_micros,
            conversions: dec(&r.p_conversions),
            revenue_micros: r.p_revenue_micros,
        };
        if r.kind == "total" {
            out.total += r.objects;
            out.totals.push(LevelTotals {
                currency,
                objects: r.objects,
                current: metrics,
                previous,
            });
            continue;
        }
        let (Some(id), Some(campaign_id), Some(platform)) = (
            r.id,
            r.campaign_id,
            r.platform.and_then(|p| p.parse::<Platform>().ok()),
        ) else {
            continue;
        };
        out.rows.push(LevelRow {
            id,
            name: r.name.unwrap_or_default(),
            status: r.status.unwrap_or_default(),
            platform,
            campaign_id,
            campaign_name: r.campaign_name.unwrap_or_default(),
            group: r.group_id.map(|g| (g, r.group_name.unwrap_or_default())),
            account_name: r.account_name.unwrap_or_default(),
            currency,
            metrics,
            previous,
        });
    }
    Ok(out)
}
