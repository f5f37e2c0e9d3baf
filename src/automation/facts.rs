//! Window totals for every campaign of an organization, in one SQL query.
//!
//! Each window a rule needs ([`Rule::required_windows`]) becomes one
//! `SUM(..) FILTER (WHERE date BETWEEN ..)` per base metric, grouped by campaign. Window bounds
//! are relative to each account's own "today" (the as-of date in its time zone): accounts are
//! joined to a small table of (time zone, as-of date), so one query serves every zone.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};
use diesel::deserialize::QueryableByName;
use diesel::sql_types::{Array, BigInt, Date, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::eval::{CampaignFacts, Clock, ObjectDetails, Totals, WindowKey};
use super::language::ast::CampaignStatus;
use crate::db::Conn;
use crate::types::{Currency, Money, Platform};

/// A campaign's facts plus what the server needs to act on it.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The object: a campaign, ad group or ad.
    pub id: Uuid,
    /// The campaign (the object itself at campaign level).
    pub campaign: Uuid,
    /// The ad group of an ad (the object itself at ad-group level).
    pub ad_group: Option<Uuid>,
    pub as_of: NaiveDate,
    pub facts: CampaignFacts,
}

/// Where the rows come from: the current metrics, or the revisions known at a cut-off (a
/// backtest replaying what adpilot knew on a past day).
#[derive(Debug, Clone, Copy)]
pub enum Source {
    Current,
    KnownAt(DateTime<Utc>),
}

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
    #[diesel(sql_type = Nullable<BigInt>)]
    daily_budget_micros: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    lifetime_budget_micros: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    budget_remaining_micros: Option<i64>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    ends_at: Option<DateTime<Utc>>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    platform_created_at: Option<DateTime<Utc>>,
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

/// The window totals of one object, one array element per window (in the order given).
#[derive(diesel::QueryableByName)]
pub(super) struct Sums {
    #[diesel(sql_type = Array<BigInt>)]
    pub(super) impressions: Vec<i64>,
    #[diesel(sql_type = Array<BigInt>)]
    pub(super) clicks: Vec<i64>,
    #[diesel(sql_type = Array<BigInt>)]
    pub(super) spend: Vec<i64>,
    #[diesel(sql_type = Array<Text>)]
    pub(super) conversions: Vec<String>,
    #[diesel(sql_type = Array<BigInt>)]
    pub(super) revenue: Vec<i64>,
    #[diesel(sql_type = Array<BigInt>)]
    pub(super) all_clicks: Vec<i64>,
    #[diesel(sql_type = Array<Text>)]
    pub(super) purchases: Vec<String>,
    #[diesel(sql_type = Array<BigInt>)]
    pub(super) purchase_value: Vec<i64>,
    #[diesel(sql_type = Array<Text>)]
    pub(super) leads: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    pub(super) installs: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    pub(super) registrations: Vec<String>,
}

impl Sums {
    pub(super) fn totals(&self, windows: &[WindowKey]) -> HashMap<WindowKey, Totals> {
        let dec = |v: &[String], i: usize| {
            v.get(i)
                .and_then(|s| s.parse::<Decimal>().ok())
                .unwrap_or_default()
        };
        let int = |v: &[i64], i: usize| v.get(i).copied().unwrap_or(0);
        windows
            .iter()
            .enumerate()
            .map(|(i, w)| {
                (
                    *w,
                    Totals {
                        impressions: int(&self.impressions, i),
                        clicks: int(&self.clicks, i),
                        spend_micros: int(&self.spend, i),
                        conversions: dec(&self.conversions, i),
                        revenue_micros: int(&self.revenue, i),
                        all_clicks: int(&self.all_clicks, i),
                        purchases: dec(&self.purchases, i),
                        purchase_value_micros: int(&self.purchase_value, i),
                        leads: dec(&self.leads, i),
                        installs: dec(&self.installs, i),
                        registrations: dec(&self.registrations, i),
                    },
                )
            })
            .collect()
    }
}

/// The account's clock at `at`: its today is `as_of`.
pub(super) fn clock(time_zone: &str, at: DateTime<Utc>, as_of: NaiveDate) -> Option<Clock> {
    time_zone.parse::<chrono_tz::Tz>().ok().map(|tz| {
        let local = at.with_timezone(&tz);
        Clock {
            today: as_of,
            hour: local.hour(),
            weekday: local.weekday(),
        }
    })
}

#[derive(diesel::QueryableByName)]
struct Zone {
    #[diesel(sql_type = Text)]
    time_zone: String,
}

/// The account time zones with their as-of date ("today") at an instant, which also gives
/// each account's hour of day and day of week (rules language version 2).
#[derive(Debug, Clone)]
pub struct Zones {
    pub at: DateTime<Utc>,
    pub list: Vec<(String, NaiveDate)>,
}

/// The as-of date ("today") per account time zone at `now`.
pub async fn zones(c: &mut Conn, now: DateTime<Utc>) -> diesel::QueryResult<Zones> {
    let rows: Vec<Zone> = diesel::sql_query("SELECT DISTINCT time_zone FROM ad_accounts")
        .load(c)
        .await?;
    Ok(Zones {
        at: now,
        list: rows
            .into_iter()
            .map(|z| {
                let today = crate::analytics::sync::account_today(&z.time_zone, now);
                (z.time_zone, today)
            })
            .collect(),
    })
}

/// SQL condition on `m.date` for a window, relative to `t.as_of`. Only numbers from the rule's
/// tree go into the text (u32), never user strings.
fn window_sql(w: WindowKey) -> String {
    match w {
        WindowKey::Day(k) => format!("m.date = t.as_of - {k}"),
        WindowKey::Last(n) => format!("m.date BETWEEN t.as_of - {n} AND t.as_of - 1"),
        WindowKey::Previous(n) => format!(
            "m.date BETWEEN t.as_of - {} AND t.as_of - {}",
            u64::from(n) * 2,
            u64::from(n) + 1
        ),
        WindowKey::ThisMonth => {
            "m.date BETWEEN date_trunc('month', t.as_of)::date AND t.as_of".into()
        }
        WindowKey::Lifetime => "m.date <= t.as_of".into(),
    }
}

/// How many days back from as-of the windows reach (`None`: lifetime, no bound).
fn lookback(windows: &[WindowKey]) -> Option<u64> {
    let mut back = 0u64;
    for w in windows {
        back = back.max(match *w {
            WindowKey::Day(k) => u64::from(k),
            WindowKey::Last(n) => u64::from(n),
            WindowKey::Previous(n) => u64::from(n) * 2,
            WindowKey::ThisMonth => 31,
            WindowKey::Lifetime => return None,
        });
    }
    Some(back)
}

/// Builds the query text for `windows` (see the module comment). Binds: $1 time zones,
/// $2 as-of dates, $3 platforms (NULL: all), $4 cut-off for [`Source::KnownAt`], $5 and $6
/// the earliest and latest as-of date.
/// The select list of [`Sums`] over the rows `m`, one array per figure.
pub(super) fn sums_select(windows: &[WindowKey]) -> String {
    // `expr` reads the row `m`; only column names from this file go into it.
    let agg = |expr: &str, cast: &str| -> String {
        let parts: Vec<String> = windows
            .iter()
            .map(|w| {
                format!(
                    "COALESCE(SUM({expr}) FILTER (WHERE {}), 0){cast}",
                    window_sql(*w)
                )
            })
            .collect();
        if parts.is_empty() {
            format!(
                "ARRAY[]::{}[]",
                if cast == "::text" { "text" } else { "bigint" }
            )
        } else {
            format!("ARRAY[{}]", parts.join(", "))
        }
    };
    format!(
        "{imp} AS impressions, {clk} AS clicks, {spd} AS spend, {conv} AS conversions, {rev} AS revenue, \
         {all} AS all_clicks, {pur} AS purchases, {pv} AS purchase_value, {lead} AS leads, \
         {inst} AS installs, {reg} AS registrations",
        imp = agg("m.impressions", "::bigint"),
        clk = agg("m.clicks", "::bigint"),
        spd = agg("m.spend_micros", "::bigint"),
        conv = agg("m.conversions", "::text"),
        rev = agg("m.revenue_micros", "::bigint"),
        // Where a platform has no "every click" figure (TikTok), it equals clicks.
        all = agg("COALESCE(m.all_clicks, m.clicks)", "::bigint"),
        pur = agg("m.purchases", "::text"),
        pv = agg("m.purchase_value_micros", "::bigint"),
        lead = agg("m.leads", "::text"),
        inst = agg("m.installs", "::text"),
        reg = agg("m.registrations", "::text"),
    )
}

/// The date bounds of the rows `m` an account `t` needs for `windows`.
pub(super) fn rows_bound(windows: &[WindowKey]) -> String {
    // Per account the rows between its as-of date and the furthest window; the constant
    // bounds $5/$6 (over every zone) let PostgreSQL prune partitions and use the date index.
    match lookback(windows) {
        Some(b) => format!(
            "m.date BETWEEN t.as_of - {b} AND t.as_of AND m.date BETWEEN $5::date - {b} AND $6::date"
        ),
        None => "m.date <= t.as_of AND m.date <= $6::date AND $5::date IS NOT NULL".into(),
    }
}

pub fn query_text(windows: &[WindowKey], source: Source) -> String {
    let lower = rows_bound(windows);
    let sums = sums_select(windows);
    let metrics = match source {
        Source::Current => "metrics_daily".to_string(),
        // What adpilot knew at the cut-off, as analytics keeps it. The named conversion types
        // have no revisions, so a replay reads them as they are now.
        Source::KnownAt(_) => format!(
            "(SELECT k.org_id, k.campaign_id, k.date, k.impressions, k.clicks, k.spend_micros, \
               k.conversions, k.revenue_micros, cur.all_clicks, cur.purchases, \
               cur.purchase_value_micros, cur.leads, cur.installs, cur.registrations \
             FROM {} k LEFT JOIN metrics_daily cur \
               ON cur.org_id = k.org_id AND cur.campaign_id = k.campaign_id AND cur.date = k.date)",
            crate::analytics::ingest::known_at_source("$4")
        ),
    };
    // Removed campaigns are loaded too: `status is removed` may ask for them, and account
    // figures sum every campaign of the account. The runner leaves them out of rules that do
    // not name them.
    // The window totals are summed per campaign over narrow keys (its id and as-of date)
    // before the names are joined, rather than grouping the day rows by every column of the
    // campaign and its account (a sort of wide rows). `k` is read as `t` in the window
    // conditions, which compare `m.date` with `t.as_of`.
    format!(
        "WITH k AS MATERIALIZED ( \
           SELECT c.org_id, c.id, t.as_of, t.time_zone \
           FROM campaigns c \
           JOIN ad_accounts a ON a.id = c.account_id \
           JOIN unnest($1::text[], $2::date[]) AS t(time_zone, as_of) ON t.time_zone = a.time_zone \
           WHERE ($3::text[] IS NULL OR c.platform = ANY($3::text[])) \
         ), s AS MATERIALIZED ( \
           SELECT t.id, {sums} \
           FROM k t LEFT JOIN {metrics} m ON m.org_id = t.org_id AND m.campaign_id = t.id AND {lower} \
           GROUP BY t.id, t.as_of \
         ) \
         SELECT c.id, c.external_id, c.name, c.platform, c.status, c.daily_budget_micros, \
           c.lifetime_budget_micros, c.budget_remaining_micros, c.ends_at, c.platform_created_at, \
           a.currency, a.external_id AS account_external_id, k.as_of, k.time_zone, \
           s.impressions, s.clicks, s.spend, s.conversions, s.revenue, s.all_clicks, s.purchases, \
           s.purchase_value, s.leads, s.installs, s.registrations \
         FROM k JOIN s ON s.id = k.id \
         JOIN campaigns c ON c.org_id = k.org_id AND c.id = k.id \
         JOIN ad_accounts a ON a.id = c.account_id",
    )
}

/// Switches the current transaction's settings for a facts statement (`on`) and back.
///
/// The daily tables' keys lead with the date, not the object, so a nested loop probing them
/// per object reads the whole date range again for every object (quadratic: seen as 0.4 s for
/// 1,500 ads over 10 days); hashing the range's rows once by object is linear, which the
/// planner cannot see from its row estimates (the time zones' `unnest`). The day rows are
/// then sorted by object in memory and summed in order: the sorted rows of 30,000 ads spilled
/// to disk at the default `work_mem` of 4 MB, and a hash table of 20,000 campaigns' 44 running
/// sums (five of them `numeric`) outgrew 128 MB and spilled too (`EXPLAIN ANALYZE` on the
/// benchmarks' data: 1.4-1.5 s with the hash, 1.1-1.5 s sorted).
pub(super) async fn bulk_sums_settings(c: &mut Conn, on: bool) -> diesel::QueryResult<()> {
    let sql = if on {
        "SELECT set_config('enable_nestloop', 'off', true), set_config('work_mem', '64MB', true), \
                set_config('enable_hashagg', 'off', true)"
    } else {
        // Back to what the session had before (the server's or the role's setting).
        "SELECT set_config(name, reset_val, true) FROM pg_settings \
         WHERE name IN ('enable_nestloop', 'work_mem', 'enable_hashagg')"
    };
    diesel::sql_query(sql).execute(c).await.map(|_| ())
}

/// Loads every campaign (on `platforms`, or all when `None`) with totals for `windows`.
pub async fn load(
    c: &mut Conn,
    zones: &Zones,
    windows: &BTreeSet<WindowKey>,
    platforms: Option<Vec<Platform>>,
    source: Source,
) -> diesel::QueryResult<Vec<Loaded>> {
    let at = zones.at;
    let zones = &zones.list;
    if zones.is_empty() {
        return Ok(Vec::new());
    }
    let windows: Vec<WindowKey> = windows.iter().copied().collect();
    let tz: Vec<String> = zones.iter().map(|z| z.0.clone()).collect();
    let dates: Vec<NaiveDate> = zones.iter().map(|z| z.1).collect();
    let platforms: Option<Vec<String>> =
        platforms.map(|p| p.iter().map(|p| p.as_str().to_string()).collect());
    let cutoff = match source {
        Source::Current => None,
        Source::KnownAt(t) => Some(t),
    };
    bulk_sums_settings(c, true).await?;
    let rows: Result<Vec<Row>, _> = diesel::sql_query(query_text(&windows, source))
        .bind::<Array<Text>, _>(&tz)
        .bind::<Array<Date>, _>(&dates)
        .bind::<Nullable<Array<Text>>, _>(platforms)
        .bind::<Nullable<diesel::sql_types::Timestamptz>, _>(cutoff)
        .bind::<Date, _>(dates.iter().min().copied().unwrap_or_default())
        .bind::<Date, _>(dates.iter().max().copied().unwrap_or_default())
        .load(c)
        .await;
    // A failed statement ends the transaction anyway; its error is the one to report.
    let rows = rows?;
    bulk_sums_settings(c, false).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| to_loaded(r, &windows, at))
        .collect())
}

fn to_loaded(r: Row, windows: &[WindowKey], at: DateTime<Utc>) -> Option<Loaded> {
    // Rows the evaluator cannot reason about (unknown currency or platform) are left out; the
    // sync module never writes them.
    let currency: Currency = r.currency.parse().ok()?;
    let platform: Platform = r.platform.parse().ok()?;
    let status = match r.status.as_str() {
        "paused" => CampaignStatus::Paused,
        "removed" => CampaignStatus::Removed,
        _ => CampaignStatus::Active,
    };
    let totals = r.sums.totals(windows);
    let money = |m: Option<i64>| m.map(|m| Money::new(m, currency));
    let lifetime_budget = money(r.lifetime_budget_micros);
    // Dates in the account's time zone, as at the levels below.
    let tz = r.time_zone.parse::<chrono_tz::Tz>().ok();
    let local_day = |t: Option<DateTime<Utc>>| Some(t?.with_timezone(&tz?).date_naive());
    Some(Loaded {
        id: r.id,
        campaign: r.id,
        ad_group: None,
        as_of: r.as_of,
        facts: CampaignFacts {
            platform,
            account_id: r.account_external_id,
            currency,
            // The platform's id, as `id is "..."` and `campaign is "..."` are written.
            campaign_id: r.external_id,
            name: r.name,
            status,
            daily_budget: Money::new(r.daily_budget_micros.unwrap_or(0), currency),
            totals,
            details: ObjectDetails {
                clock: clock(&r.time_zone, at, r.as_of),
                // A lifetime budget instead of a daily one: `daily_budget` is undefined and
                // budget actions are skipped. Campaigns without either keep their old
                // reading (a daily budget of 0).
                no_daily_budget: r.daily_budget_micros.is_none() && lifetime_budget.is_some(),
                lifetime_budget,
                budget_remaining: lifetime_budget.and(money(r.budget_remaining_micros)),
                created: local_day(r.platform_created_at),
                end_date: local_day(r.ends_at),
                ..ObjectDetails::default()
            },
        },
    })
}

/// What the rules of a batch need beyond the window totals, added to `loaded` in place:
/// account figures (`account spend today`) when a rule reads them, and who paused each
/// campaign last when a rule's scope asks (`paused by ...`).
pub async fn enrich(
    c: &mut Conn,
    loaded: &mut [Loaded],
    rules: &[&super::language::Rule],
) -> diesel::QueryResult<()> {
    if rules.iter().any(|r| r.reads_account_figures()) {
        attach_account_figures(loaded);
    }
    if rules.iter().any(|r| r.scope_reads_paused_by()) {
        attach_paused_by(c, loaded, crate::platforms::Level::Campaign).await?;
    }
    Ok(())
}

/// Who paused each of `loaded` (objects of `level`) last, for `paused by ...` scopes: the
/// name of the rule whose pause is the object's latest pause or resume.
pub async fn attach_paused_by(
    c: &mut Conn,
    loaded: &mut [Loaded],
    level: crate::platforms::Level,
) -> diesel::QueryResult<()> {
    let names: HashMap<Uuid, String> = super::store::list(c)
        .await?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    let by = crate::campaigns::pauses::paused_by_rule_at(c, level).await?;
    for l in loaded.iter_mut() {
        l.facts.details.paused_by_rule = by.get(&l.id).map(|rule| {
            // A deleted rule still paused it: `paused by any rule` holds, no name matches.
            names
                .get(rule)
                .cloned()
                .unwrap_or_else(|| format!("(deleted rule {rule})"))
        });
    }
    Ok(())
}

/// The figures of each ad account: the sums of every loaded campaign of it (removed ones
/// included: their spend was the account's too).
pub fn account_sums(loaded: &[Loaded]) -> HashMap<(Platform, String), super::eval::ParentFigures> {
    let mut sums: HashMap<(Platform, String), super::eval::ParentFigures> = HashMap::new();
    for l in loaded {
        let f = sums
            .entry((l.facts.platform, l.facts.account_id.clone()))
            .or_default();
        for (k, t) in &l.facts.totals {
            f.totals.entry(*k).or_default().add(t);
        }
    }
    sums
}

/// Each campaign's account figures (`account spend ...`).
pub fn attach_account_figures(loaded: &mut [Loaded]) {
    let sums = account_sums(loaded);
    for l in loaded.iter_mut() {
        l.facts.details.account = sums
            .get(&(l.facts.platform, l.facts.account_id.clone()))
            .map(|f| Box::new(f.clone()));
    }
}
