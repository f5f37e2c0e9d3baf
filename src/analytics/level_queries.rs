//! Reads of the ad-group and ad daily tables for the drill-down pages: one campaign's ad groups
//! or one ad group's ads with their sums over a range and over the previous period, and one
//! ad's days. The sums read whole months and blocks from the summaries and the edge days from
//! the daily tables (see `summaries`); each of those reads is one range of its table's key
//! (the organization's period, then the parent inside it).

use chrono::NaiveDate;
use diesel::sql_types::{Array, BigInt, Date, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::queries::Metrics;
use super::range::DateRange;
use super::summaries::{self, Read, SplitBinds, Summarized};
use crate::db::Conn;

/// An ad group or ad with its sums in the range and in the previous period of equal length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectSums {
    pub id: Uuid,
    pub external_id: String,
    pub name: String,
    pub status: String,
    pub delivery: Option<String>,
    pub budget_period: Option<String>,
    pub budget_micros: Option<i64>,
    pub bid_micros: Option<i64>,
    pub metrics: Metrics,
    pub previous: Metrics,
}

#[derive(diesel::QueryableByName)]
struct SumsSql {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Text>)]
    delivery: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    budget_period: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    budget_micros: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    bid_micros: Option<i64>,
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

impl From<SumsSql> for ObjectSums {
    fn from(r: SumsSql) -> Self {
        ObjectSums {
            id: r.id,
            external_id: r.external_id,
            name: r.name,
            status: r.status,
            delivery: r.delivery,
            budget_period: r.budget_period,
            budget_micros: r.budget_micros,
            bid_micros: r.bid_micros,
            metrics: Metrics {
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
        }
    }
}

/// The SQL of a level's sums: the rows of `table` whose `parent` is `$3` grouped by `obj`,
/// over the range (split into `$1`, `$2`, `$6`, see [`summaries::source`]) and the previous
/// period (`$4`, `$5`, `$7`), joined to the objects (every object of the parent, with zeros
/// where it had no rows).
fn sums_sql(
    table: Summarized,
    read: Read,
    (obj, parent): (&str, &str),
    objects: &str,
    extra: &str,
) -> String {
    let org = "(SELECT app_current_org())";
    let filter = format!("{parent} = $3");
    let cur = summaries::source(
        table,
        read,
        org,
        SplitBinds {
            days: "$1",
            blocks: "$2",
            months: "$6",
        },
        &filter,
    );
    let prev = summaries::source(
        table,
        read,
        org,
        SplitBinds {
            days: "$4",
            blocks: "$5",
            months: "$7",
        },
        &filter,
    );
    format!(
        "WITH s AS MATERIALIZED (
           SELECT {obj} AS object_id,
             sum(impressions) FILTER (WHERE cur) AS impressions,
             sum(clicks) FILTER (WHERE cur) AS clicks,
             sum(spend_micros) FILTER (WHERE cur) AS spend_micros,
             sum(conversions) FILTER (WHERE cur) AS conversions,
             sum(revenue_micros) FILTER (WHERE cur) AS revenue_micros,
             sum(impressions) FILTER (WHERE NOT cur) AS p_impressions,
             sum(clicks) FILTER (WHERE NOT cur) AS p_clicks,
             sum(spend_micros) FILTER (WHERE NOT cur) AS p_spend_micros,
             sum(conversions) FILTER (WHERE NOT cur) AS p_conversions,
             sum(revenue_micros) FILTER (WHERE NOT cur) AS p_revenue_micros
           FROM (SELECT true AS cur, * FROM {cur} x UNION ALL SELECT false, * FROM {prev} y) u
           GROUP BY {obj}
         )
         SELECT o.id, o.external_id, o.name, o.status, o.delivery, {extra}
           coalesce(s.impressions, 0)::int8 AS impressions, coalesce(s.clicks, 0)::int8 AS clicks,
           coalesce(s.spend_micros, 0)::int8 AS spend_micros,
           coalesce(s.conversions, 0)::text AS conversions,
           coalesce(s.revenue_micros, 0)::int8 AS revenue_micros,
           coalesce(s.p_impressions, 0)::int8 AS p_impressions,
           coalesce(s.p_clicks, 0)::int8 AS p_clicks,
           coalesce(s.p_spend_micros, 0)::int8 AS p_spend_micros,
           coalesce(s.p_conversions, 0)::text AS p_conversions,
           coalesce(s.p_revenue_micros, 0)::int8 AS p_revenue_micros
         FROM {objects} o LEFT JOIN s ON s.object_id = o.id
         WHERE o.org_id = {org} AND o.{parent} = $3
         ORDER BY o.name, o.id"
    )
}

/// Runs a level's sums statement for `parent` over `range` and its previous period.
async fn load_sums(
    c: &mut Conn,
    sql: String,
    read: Read,
    parent: Uuid,
    range: DateRange,
) -> diesel::QueryResult<Vec<ObjectSums>> {
    let (cur, prev) = (read.split(range), read.split(range.previous()));
    let rows: Vec<SumsSql> = diesel::sql_query(sql)
        .bind::<Array<Date>, _>(cur.days)
        .bind::<Array<Date>, _>(cur.blocks)
        .bind::<SqlUuid, _>(parent)
        .bind::<Array<Date>, _>(prev.days)
        .bind::<Array<Date>, _>(prev.blocks)
        .bind::<Array<Date>, _>(cur.months)
        .bind::<Array<Date>, _>(prev.months)
        .load(c)
        .await?;
    Ok(rows.into_iter().map(ObjectSums::from).collect())
}

/// A campaign's ad groups with their sums over `range` and the previous period.
pub async fn ad_groups_of_campaign(
    c: &mut Conn,
    campaign_id: Uuid,
    range: DateRange,
) -> diesel::QueryResult<Vec<ObjectSums>> {
    ad_groups_of_campaign_from(c, Read::Summaries, campaign_id, range).await
}

/// [`ad_groups_of_campaign`] read from `read`.
pub async fn ad_groups_of_campaign_from(
    c: &mut Conn,
    read: Read,
    campaign_id: Uuid,
    range: DateRange,
) -> diesel::QueryResult<Vec<ObjectSums>> {
    let sql = sums_sql(
        Summarized::AdGroups,
        read,
        ("ad_group_id", "campaign_id"),
        "ad_groups",
        "o.budget_period, o.budget_micros, o.bid_micros,",
    );
    load_sums(c, sql, read, campaign_id, range).await
}

/// An ad group's ads with their sums over `range` and the previous period.
pub async fn ads_of_ad_group(
    c: &mut Conn,
    ad_group_id: Uuid,
    range: DateRange,
) -> diesel::QueryResult<Vec<ObjectSums>> {
    ads_of_ad_group_from(c, Read::Summaries, ad_group_id, range).await
}

/// [`ads_of_ad_group`] read from `read`.
pub async fn ads_of_ad_group_from(
    c: &mut Conn,
    read: Read,
    ad_group_id: Uuid,
    range: DateRange,
) -> diesel::QueryResult<Vec<ObjectSums>> {
    let sql = sums_sql(
        Summarized::Ads,
        read,
        ("ad_id", "ad_group_id"),
        "ads",
        "NULL::text AS budget_period, NULL::int8 AS budget_micros, NULL::int8 AS bid_micros,",
    );
    load_sums(c, sql, read, ad_group_id, range).await
}

#[derive(diesel::QueryableByName)]
struct DaySql {
    #[diesel(sql_type = Date)]
    date: NaiveDate,
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

/// One ad group or ad whose days a page lists, with the parent that leads its daily table's
/// key (`(org_id, date, campaign_id, ad_group_id)` and `(org_id, date, ad_group_id, ad_id)`).
#[derive(Debug, Clone, Copy)]
pub enum DaysOf {
    AdGroup {
        campaign_id: Uuid,
        ad_group_id: Uuid,
    },
    Ad {
        ad_group_id: Uuid,
        ad_id: Uuid,
    },
}

/// Every day of `range` for one ad group or ad, zeros where it had no rows.
///
/// Each day is one probe of the table's key (`date = ANY`, then the parent and the object):
/// filtering on the object alone walked every object's rows of the range, 300,000 index
/// entries for a month of an organization with 10,000 ad groups and 900,000 with 30,000 ads.
pub async fn object_days(
    c: &mut Conn,
    of: DaysOf,
    range: DateRange,
) -> diesel::QueryResult<Vec<(NaiveDate, Metrics)>> {
    let (daily, parent_col, obj_col, parent, obj) = match of {
        DaysOf::AdGroup {
            campaign_id,
            ad_group_id,
        } => (
            "ad_group_metrics_daily",
            "campaign_id",
            "ad_group_id",
            campaign_id,
            ad_group_id,
        ),
        DaysOf::Ad { ad_group_id, ad_id } => (
            "ad_metrics_daily",
            "ad_group_id",
            "ad_id",
            ad_group_id,
            ad_id,
        ),
    };
    let dates: Vec<NaiveDate> = range.dates().collect();
    let rows: Vec<DaySql> = diesel::sql_query(format!(
        "SELECT date, impressions, clicks, spend_micros, conversions::text AS conversions,
                revenue_micros
         FROM {daily}
         WHERE org_id = (SELECT app_current_org()) AND date = ANY($1)
           AND {parent_col} = $2 AND {obj_col} = $3"
    ))
    .bind::<Array<Date>, _>(&dates)
    .bind::<SqlUuid, _>(parent)
    .bind::<SqlUuid, _>(obj)
    .load(c)
    .await?;
    let mut out: Vec<(NaiveDate, Metrics)> =
        dates.into_iter().map(|d| (d, Metrics::default())).collect();
    for r in rows {
        let Ok(i) = usize::try_from((r.date - range.from).num_days()) else {
            continue;
        };
        if let Some(slot) = out.get_mut(i) {
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
