//! Facts below the campaign (rules language version 2): the window totals of every ad group or
//! ad of an organization in one SQL query per level, built like the campaign query
//! ([`super::facts`]), and the parent and account figures rules read (`campaign cpa`,
//! `ad set spend`, `account conversions`).
//!
//! Account figures always come from the campaign rows (`metrics_daily`), which hold every
//! delivery of the account, whatever level the rule is at.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use diesel::deserialize::QueryableByName;
use diesel::sql_types::{Array, BigInt, Date, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::eval::{CampaignFacts, ObjectDetails, ParentFigures, WindowKey};
use super::facts::{self, Loaded, Source, Sums, Zones};
use super::language::Rule;
use super::language::ast::{CampaignStatus, Level, Parent};
use crate::analytics::level_ingest::{self, Table};
use crate::db::Conn;
use crate::types::{Currency, Money, Platform};

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    external_id: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    platform: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = Nullable<Text>)]
    budget_period: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    budget_micros: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    bid_micros: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    ends_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    created: Option<DateTime<Utc>>,
    #[diesel(sql_type = SqlUuid)]
    campaign_id: Uuid,
    #[diesel(sql_type = Text)]
    campaign_external_id: String,
    #[diesel(sql_type = Text)]
    campaign_name: String,
    #[diesel(sql_type = SqlUuid)]
    ad_group_id: Uuid,
    #[diesel(sql_type = Text)]
    ad_group_external_id: String,
    #[diesel(sql_type = Text)]
    ad_group_name: String,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = Text)]
    account_external_id: String,
    #[diesel(sql_type = Date)]
    as_of: NaiveDate,
    #[diesel(sql_type = Text)]
    time_zone: String,
    #[diesel(embed)]
    sums: Sums,
}

/// The query text for one level below the campaign; binds as [`facts::query_text`].
pub fn query_text(level: Level, windows: &[WindowKey], source: Source) -> String {
    let lower = facts::rows_bound(windows);
    let sums = facts::sums_select(windows);
    let (table, obj) = match level {
        Level::Ad => (Table::Ads, "ad_id"),
        _ => (Table::AdGroups, "ad_group_id"),
    };
    let metrics = match (source, level) {
        (Source::Current, Level::Ad) => "ad_metrics_daily".to_string(),
        (Source::Current, _) => "ad_group_metrics_daily".to_string(),
        // What adpilot knew at the cut-off, as analytics keeps it.
        (Source::KnownAt(_), _) => level_ingest::known_at_source(table, "$4"),
    };
    // The window totals are summed per object over narrow keys (the object and its as-of
    // date) before any name or parent is joined: grouping the day rows by every column of the
    // object, its ad group, campaign and account sorted 450,000 wide rows through a spill to
    // disk for 30,000 ads. `k` is read as `t` in the window conditions, which compare `m.date`
    // with `t.as_of`.
    // Table names stay literal after FROM and JOIN (tests/it/architecture.rs reads them).
    let (from_objects, join_objects, parents, group_cols, columns) = match level {
        Level::Ad => (
            "FROM ads d",
            "JOIN ads d ON d.org_id = k.org_id AND d.id = k.id",
            "JOIN ad_groups g ON g.org_id = d.org_id AND g.id = d.ad_group_id \
             JOIN campaigns c ON c.org_id = d.org_id AND c.id = d.campaign_id",
            "g.id AS ad_group_id, g.external_id AS ad_group_external_id, g.name AS ad_group_name",
            "NULL::text AS budget_period, NULL::bigint AS budget_micros, \
             NULL::bigint AS bid_micros, NULL::timestamptz AS ends_at",
        ),
        _ => (
            "FROM ad_groups d",
            "JOIN ad_groups d ON d.org_id = k.org_id AND d.id = k.id",
            "JOIN campaigns c ON c.org_id = d.org_id AND c.id = d.campaign_id",
            "d.id AS ad_group_id, d.external_id AS ad_group_external_id, d.name AS ad_group_name",
            "d.budget_period, d.budget_micros, d.bid_micros, d.ends_at",
        ),
    };
    format!(
        "WITH k AS MATERIALIZED ( \
           SELECT d.org_id, d.id, t.as_of, t.time_zone \
           {from_objects} \
           JOIN ad_accounts a ON a.org_id = d.org_id AND a.id = d.account_id \
           JOIN unnest($1::text[], $2::date[]) AS t(time_zone, as_of) ON t.time_zone = a.time_zone \
           WHERE ($3::text[] IS NULL OR d.platform = ANY($3::text[])) \
         ), s AS MATERIALIZED ( \
           SELECT t.id, {sums} \
           FROM k t LEFT JOIN {metrics} m ON m.org_id = t.org_id AND m.{obj} = t.id AND {lower} \
           GROUP BY t.id, t.as_of \
         ) \
         SELECT d.id, d.external_id, d.name, d.platform, d.status, {columns}, \
           d.platform_created_at AS created, \
           c.id AS campaign_id, c.external_id AS campaign_external_id, c.name AS campaign_name, \
           {group_cols}, \
           a.currency, a.external_id AS account_external_id, k.as_of, k.time_zone, \
           s.impressions, s.clicks, s.spend, s.conversions, s.revenue, s.all_clicks, s.purchases, \
           s.purchase_value, s.leads, s.installs, s.registrations \
         FROM k JOIN s ON s.id = k.id \
         {join_objects} \
         {parents} \
         JOIN ad_accounts a ON a.org_id = d.org_id AND a.id = d.account_id"
    )
}

/// Every ad group or ad (on `platforms`, or all) with totals for `windows`.
pub async fn load_level(
    c: &mut Conn,
    zones: &Zones,
    level: Level,
    windows: &BTreeSet<WindowKey>,
    platforms: Option<Vec<Platform>>,
    source: Source,
) -> diesel::QueryResult<Vec<Loaded>> {
    let at = zones.at;
    if zones.list.is_empty() {
        return Ok(Vec::new());
    }
    let windows: Vec<WindowKey> = windows.iter().copied().collect();
    let tz: Vec<String> = zones.list.iter().map(|z| z.0.clone()).collect();
    let dates: Vec<NaiveDate> = zones.list.iter().map(|z| z.1).collect();
    let platforms: Option<Vec<String>> =
        platforms.map(|p| p.iter().map(|p| p.as_str().to_string()).collect());
    let cutoff = match source {
        Source::Current => None,
        Source::KnownAt(t) => Some(t),
    };
    facts::bulk_sums_settings(c, true).await?;
    let rows: Result<Vec<Row>, _> = diesel::sql_query(query_text(level, &windows, source))
        .bind::<Array<Text>, _>(&tz)
        .bind::<Array<Date>, _>(&dates)
        .bind::<Nullable<Array<Text>>, _>(platforms)
        .bind::<Nullable<Timestamptz>, _>(cutoff)
        .bind::<Date, _>(dates.iter().min().copied().unwrap_or_default())
        .bind::<Date, _>(dates.iter().max().copied().unwrap_or_default())
        .load(c)
        .await;
    // A failed statement ends the transaction anyway; its error is the one to report.
    let rows = rows?;
    facts::bulk_sums_settings(c, false).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| to_loaded(r, level, &windows, at))
        .collect())
}

fn to_loaded(r: Row, level: Level, windows: &[WindowKey], at: DateTime<Utc>) -> Option<Loaded> {
    let currency: Currency = r.currency.parse().ok()?;
    let platform: Platform = r.platform.parse().ok()?;
    let status = match r.status.as_str() {
        "paused" => CampaignStatus::Paused,
        "removed" => CampaignStatus::Removed,
        _ => CampaignStatus::Active,
    };
    let tz = r.time_zone.parse::<chrono_tz::Tz>().ok();
    let local_day = |t: Option<DateTime<Utc>>| Some(t?.with_timezone(&tz?).date_naive());
    let budget = |period: &str| {
        (r.budget_period.as_deref() == Some(period))
            .then_some(r.budget_micros)
            .flatten()
            .map(|m| Money::new(m, currency))
    };
    let daily = budget("daily");
    Some(Loaded {
        id: r.id,
        campaign: r.campaign_id,
        ad_group: (level == Level::Ad).then_some(r.ad_group_id),
        as_of: r.as_of,
        facts: CampaignFacts {
            platform,
            account_id: r.account_external_id,
            currency,
            campaign_id: r.campaign_external_id,
            name: r.name,
            status,
            daily_budget: daily.unwrap_or(Money::new(0, currency)),
            totals: r.sums.totals(windows),
            details: ObjectDetails {
                level: Some(level),
                campaign_name: Some(r.campaign_name),
                ad_group_id: Some(if level == Level::Ad {
                    r.ad_group_external_id
                } else {
                    r.external_id.clone()
                }),
                ad_group_name: (level == Level::Ad).then_some(r.ad_group_name),
                ad_id: (level == Level::Ad).then_some(r.external_id),
                // Google ad groups, ad sets under a campaign budget and ads hold none.
                no_daily_budget: daily.is_none(),
                lifetime_budget: budget("lifetime"),
                budget_remaining: None,
                bid: r.bid_micros.map(|m| Money::new(m, currency)),
                created: local_day(r.created),
                end_date: local_day(r.ends_at),
                paused_by_rule: None,
                clock: facts::clock(&r.time_zone, at, r.as_of),
                campaign: None,
                ad_group: None,
                account: None,
            },
        },
    })
}

/// Which levels and figures a batch of rules reads.
#[derive(Debug, Default)]
struct Needs {
    levels: BTreeSet<Level>,
    /// Rules at this level read `campaign ...` / `ad group ...` / `account ...` figures.
    campaign_of: BTreeSet<Level>,
    ad_group_of_ads: bool,
    account_of: BTreeSet<Level>,
}

fn needs(rules: &[&Rule]) -> Needs {
    let mut n = Needs::default();
    for r in rules {
        let level = r.level();
        n.levels.insert(level);
        for m in r.metric_refs() {
            match m.of {
                Some(Parent::Campaign) => {
                    n.campaign_of.insert(level);
                }
                Some(Parent::AdGroup(_)) => n.ad_group_of_ads |= level == Level::Ad,
                Some(Parent::Account) => {
                    n.account_of.insert(level);
                }
                None => {}
            }
        }
    }
    n
}

/// Gives ad groups and ads the figures of their campaign, ad group and account, as far as
/// the rules read them.
fn attach_parents(n: &Needs, campaigns: &[Loaded], groups: &mut [Loaded], ads: &mut [Loaded]) {
    // Parents' and accounts' figures, looked up by id.
    let figures = |l: &Loaded| ParentFigures {
        totals: l.facts.totals.clone(),
        ..l.facts.own_figures()
    };
    let campaign_figures: HashMap<Uuid, ParentFigures> = if n.campaign_of.is_empty() {
        HashMap::new()
    } else {
        campaigns.iter().map(|l| (l.id, figures(l))).collect()
    };
    let group_figures: HashMap<Uuid, ParentFigures> = if n.ad_group_of_ads {
        groups.iter().map(|l| (l.id, figures(l))).collect()
    } else {
        HashMap::new()
    };
    let account_figures: HashMap<(Platform, String), ParentFigures> = if n.account_of.is_empty() {
        HashMap::new()
    } else {
        facts::account_sums(campaigns)
    };
    let attach = |list: &mut [Loaded], level: Level| {
        let campaign = n.campaign_of.contains(&level);
        let account = n.account_of.contains(&level);
        let group = level == Level::Ad && n.ad_group_of_ads;
        if !(campaign || account || group) {
            return;
        }
        for l in list.iter_mut() {
            let d = &mut l.facts.details;
            if campaign {
                d.campaign = campaign_figures.get(&l.campaign).cloned().map(Box::new);
            }
            if group {
                d.ad_group = l
                    .ad_group
                    .and_then(|g| group_figures.get(&g))
                    .cloned()
                    .map(Box::new);
            }
            if account {
                d.account = account_figures
                    .get(&(l.facts.platform, l.facts.account_id.clone()))
                    .cloned()
                    .map(Box::new);
            }
        }
    };
    attach(groups, Level::AdGroup);
    attach(ads, Level::Ad);
}

/// Every object the `rules` are about, each level read once with the union of `windows`, with
/// the parent and account figures they read and, at each level, who paused what.
pub async fn load_for(
    c: &mut Conn,
    zones: &Zones,
    windows: &BTreeSet<WindowKey>,
    platforms: Option<Vec<Platform>>,
    source: Source,
    rules: &[&Rule],
) -> diesel::QueryResult<Vec<Loaded>> {
    let n = needs(rules);
    let want_campaigns = n.levels.contains(&Level::Campaign)
        || !n.campaign_of.is_empty()
        || !n.account_of.is_empty();
    let mut campaigns = if want_campaigns {
        facts::load(c, zones, windows, platforms.clone(), source).await?
    } else {
        Vec::new()
    };
    if n.levels.contains(&Level::Campaign) {
        let campaign_rules: Vec<&Rule> = rules
            .iter()
            .copied()
            .filter(|r| r.level() == Level::Campaign)
            .collect();
        facts::enrich(c, &mut campaigns, &campaign_rules).await?;
    }
    let want_groups = n.levels.contains(&Level::AdGroup) || n.ad_group_of_ads;
    let groups = if want_groups {
        load_level(c, zones, Level::AdGroup, windows, platforms.clone(), source).await?
    } else {
        Vec::new()
    };
    let ads = if n.levels.contains(&Level::Ad) {
        load_level(c, zones, Level::Ad, windows, platforms, source).await?
    } else {
        Vec::new()
    };

    let (mut groups, mut ads) = (groups, ads);
    attach_parents(&n, &campaigns, &mut groups, &mut ads);
    // `paused by ...` at a level reads that level's own pauses.
    let reads_paused_by = |level: Level| {
        rules
            .iter()
            .any(|r| r.level() == level && r.scope_reads_paused_by())
    };
    if reads_paused_by(Level::AdGroup) {
        facts::attach_paused_by(c, &mut groups, crate::platforms::Level::AdGroup).await?;
    }
    if reads_paused_by(Level::Ad) {
        facts::attach_paused_by(c, &mut ads, crate::platforms::Level::Ad).await?;
    }

    let mut out = Vec::new();
    if n.levels.contains(&Level::Campaign) {
        out.append(&mut campaigns);
    }
    if n.levels.contains(&Level::AdGroup) {
        out.append(&mut groups);
    }
    out.append(&mut ads);
    Ok(out)
}
