//! An ad account's conversion settings in `account_conversion_settings`, the conversion types
//! its stored rows carry, and re-deriving stored history after a change (from the per-type
//! figures each row keeps; the platform is not asked again).

use chrono::NaiveDate;
use diesel::sql_types::{Array, BigInt, Date, Jsonb, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use rust_decimal::Decimal;
use uuid::Uuid;

use super::conversions::{ConversionSettings, derive};
use super::level_ingest::Table;
use super::summaries::{self, Summarized};
use crate::db::Conn;
use crate::platforms::model::{ConversionTypes, DEFAULT_TYPE};
use crate::types::{Currency, Money, Platform};

/// Rows re-derived per statement.
const BATCH: usize = 10_000;

#[derive(diesel::QueryableByName)]
struct SettingsRow {
    #[diesel(sql_type = Array<Text>)]
    conversion_types: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    revenue_types: Vec<String>,
}

/// The account's settings (the platform's definition when it has none).
pub async fn load(c: &mut Conn, account_id: Uuid) -> diesel::QueryResult<ConversionSettings> {
    let rows: Vec<SettingsRow> = diesel::sql_query(
        "SELECT conversion_types, revenue_types FROM account_conversion_settings \
         WHERE account_id = $1",
    )
    .bind::<SqlUuid, _>(account_id)
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .next()
        .map(|r| ConversionSettings {
            conversion_types: r.conversion_types,
            revenue_types: r.revenue_types,
        })
        .unwrap_or_default())
}

/// Stores the settings (inside the organization's tenant transaction).
pub async fn save(
    c: &mut Conn,
    org_id: Uuid,
    account_id: Uuid,
    user_id: Uuid,
    s: &ConversionSettings,
) -> diesel::QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO account_conversion_settings \
           (org_id, account_id, conversion_types, revenue_types, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, now()) \
         ON CONFLICT (org_id, account_id) DO UPDATE SET conversion_types = excluded.conversion_types, \
           revenue_types = excluded.revenue_types, updated_by = excluded.updated_by, updated_at = now()",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<SqlUuid, _>(account_id)
    .bind::<Array<Text>, _>(&s.conversion_types)
    .bind::<Array<Text>, _>(&s.revenue_types)
    .bind::<SqlUuid, _>(user_id)
    .execute(c)
    .await?;
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct SeenType {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<Text>)]
    category: Option<String>,
}

/// A conversion type found in the account's stored rows, for the settings form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub name: String,
    /// Google's category of the conversion action.
    pub category: Option<String>,
}

/// The conversion types in the account's rows of the last `days` days before `today`.
pub async fn seen_types(
    c: &mut Conn,
    account_id: Uuid,
    today: NaiveDate,
    days: i64,
) -> diesel::QueryResult<Vec<Seen>> {
    let rows: Vec<SeenType> = diesel::sql_query(
        "SELECT t.key AS name, max(t.value ->> 'category') AS category \
         FROM metrics_daily m, jsonb_each(m.conversion_types) t \
         WHERE m.org_id = (SELECT app_current_org()) AND m.account_id = $1 \
           AND m.date BETWEEN $2 AND $3 AND t.key <> $4 \
         GROUP BY t.key ORDER BY t.key",
    )
    .bind::<SqlUuid, _>(account_id)
    .bind::<Date, _>(today - chrono::Duration::days(days))
    .bind::<Date, _>(today)
    .bind::<Text, _>(DEFAULT_TYPE)
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Seen {
            name: r.name,
            category: r.category,
        })
        .collect())
}

#[derive(diesel::QueryableByName)]
struct Stored {
    #[diesel(sql_type = SqlUuid)]
    object_id: Uuid,
    #[diesel(sql_type = Date)]
    date: NaiveDate,
    #[diesel(sql_type = Jsonb)]
    conversion_types: serde_json::Value,
}

fn micros(d: Decimal, currency: Currency) -> Option<i64> {
    Money::from_major(d, currency).map(|m| m.micros)
}

/// The daily tables that keep per-type figures, with the column naming each row's object, their
/// summaries and their ingest lock.
fn daily_tables() -> [(&'static str, &'static str, Summarized, i32); 3] {
    [
        (
            "metrics_daily",
            "campaign_id",
            Summarized::Campaigns,
            super::ingest::LOCK_NAMESPACE,
        ),
        (
            "ad_group_metrics_daily",
            "ad_group_id",
            Summarized::AdGroups,
            Table::AdGroups.lock_namespace(),
        ),
        (
            "ad_metrics_daily",
            "ad_id",
            Summarized::Ads,
            Table::Ads.lock_namespace(),
        ),
    ]
}

/// Re-derives `conversions`, `revenue` and the named metrics of every stored row of the
/// account, at every level, from its per-type figures, and refreshes the summaries of the rows
/// it rewrote. Rows synced before the figures were kept (an empty or absent
/// `conversion_types`) are left as they are. Returns the rows rewritten.
pub async fn rederive(
    c: &mut Conn,
    account_id: Uuid,
    platform: Platform,
    currency: Currency,
    settings: &ConversionSettings,
) -> diesel::QueryResult<usize> {
    let mut written = 0;
    for (table, object, summarized, lock) in daily_tables() {
        // A sync of the account writing the same rows waits, or is waited for (see
        // ingest::lock_accounts): the refresh below must see every row as committed.
        super::ingest::lock_accounts(c, lock, [account_id]).await?;
        let (n, touched) =
            rederive_table(c, (table, object), account_id, platform, currency, settings).await?;
        written += n;
        if n > 0 {
            summaries::refresh(c, summarized, touched.iter().copied()).await?;
            if summarized == Summarized::Campaigns {
                summaries::refresh_accounts(c, touched.iter().map(|(_, d)| (account_id, *d)))
                    .await?;
            }
        }
    }
    Ok(written)
}

/// Rewrites one table's rows of the account; returns how many, and their (object, day) pairs.
async fn rederive_table(
    c: &mut Conn,
    (table, object): (&str, &str),
    account_id: Uuid,
    platform: Platform,
    currency: Currency,
    settings: &ConversionSettings,
) -> diesel::QueryResult<(usize, Vec<(Uuid, NaiveDate)>)> {
    let stored: Vec<Stored> = diesel::sql_query(format!(
        "SELECT {object} AS object_id, date, conversion_types FROM {table} \
         WHERE org_id = (SELECT app_current_org()) AND account_id = $1 \
           AND conversion_types <> '{{}}'::jsonb ORDER BY date, {object}"
    ))
    .bind::<SqlUuid, _>(account_id)
    .load(c)
    .await?;
    let mut written = 0;
    let mut touched = Vec::new();
    for chunk in stored.chunks(BATCH) {
        let mut objects = Vec::with_capacity(chunk.len());
        let mut date = Vec::with_capacity(chunk.len());
        let mut conversions = Vec::with_capacity(chunk.len());
        let mut revenue = Vec::with_capacity(chunk.len());
        let mut purchases = Vec::with_capacity(chunk.len());
        let mut purchase_value = Vec::with_capacity(chunk.len());
        let mut leads = Vec::with_capacity(chunk.len());
        let mut installs = Vec::with_capacity(chunk.len());
        let mut registrations = Vec::with_capacity(chunk.len());
        for r in chunk {
            // Written by ingest from the same type; a row that does not read is skipped.
            let Ok(types) = serde_json::from_value::<ConversionTypes>(r.conversion_types.clone())
            else {
                tracing::warn!(table, object = %r.object_id, date = %r.date, "unreadable conversion_types; row kept");
                continue;
            };
            let d = derive(platform, &types, settings);
            let Some(rev) = micros(d.revenue, currency) else {
                continue;
            };
            objects.push(r.object_id);
            date.push(r.date);
            conversions.push(d.conversions.to_string());
            revenue.push(rev);
            purchases.push(d.purchases.map(|x| x.to_string()));
            purchase_value.push(d.purchase_value.and_then(|v| micros(v, currency)));
            leads.push(d.leads.map(|x| x.to_string()));
            installs.push(d.installs.map(|x| x.to_string()));
            registrations.push(d.registrations.map(|x| x.to_string()));
        }
        let (Some(first), Some(last)) = (
            date.as_slice().first().copied(),
            date.as_slice().last().copied(),
        ) else {
            continue;
        };
        written += diesel::sql_query(format!(
            "UPDATE {table} m SET conversions = x.conversions, revenue_micros = x.revenue_micros,
               purchases = x.purchases, purchase_value_micros = x.purchase_value_micros, leads = x.leads,
               installs = x.installs, registrations = x.registrations
             FROM (SELECT unnest($1::uuid[]) AS object_id, unnest($2::date[]) AS date,
                     unnest($3::text[]::numeric[]) AS conversions, unnest($4::int8[]) AS revenue_micros,
                     unnest($5::text[]::numeric[]) AS purchases, unnest($6::int8[]) AS purchase_value_micros,
                     unnest($7::text[]::numeric[]) AS leads, unnest($8::text[]::numeric[]) AS installs,
                     unnest($9::text[]::numeric[]) AS registrations) x
             WHERE m.org_id = (SELECT app_current_org()) AND m.date BETWEEN $10 AND $11
               AND m.date = x.date AND m.{object} = x.object_id"
        ))
        .bind::<Array<SqlUuid>, _>(&objects)
        .bind::<Array<Date>, _>(&date)
        .bind::<Array<Text>, _>(&conversions)
        .bind::<Array<BigInt>, _>(&revenue)
        .bind::<Array<Nullable<Text>>, _>(&purchases)
        .bind::<Array<Nullable<BigInt>>, _>(&purchase_value)
        .bind::<Array<Nullable<Text>>, _>(&leads)
        .bind::<Array<Nullable<Text>>, _>(&installs)
        .bind::<Array<Nullable<Text>>, _>(&registrations)
        .bind::<Date, _>(first)
        .bind::<Date, _>(last)
        .execute(c)
        .await?;
        touched.extend(objects.iter().copied().zip(date.iter().copied()));
    }
    Ok((written, touched))
}
