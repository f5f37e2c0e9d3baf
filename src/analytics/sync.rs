//! Metrics sync for one ad account: campaigns (name, status, budget), then daily metrics for the
//! lookback window plus today, and on the first syncs a backfill in chunks, newest first (the
//! dashboard's recent weeks fill in before older history).
//!
//! Platform calls run outside transactions; each chunk is written in its own short tenant
//! transaction, so a failure keeps everything synced before it and the next run resumes.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::conversions::ConversionSettings;
use super::ingest::{self, MetricRow};
use super::level_ingest;
use super::level_sync::{self, LevelChunk};
use crate::app::App;
use crate::connections::service as connections;
use crate::db::schema::{account_sync, ad_accounts};
use crate::platforms::PlatformError;
use crate::platforms::{AccountRef, Credentials, DailyMetrics, Level};
use crate::types::{Currency, Money, Platform};

/// Days per backfill request (TikTok allows 30 per daily report call).
pub const CHUNK_DAYS: i64 = 30;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("{0}")]
    Platform(#[from] PlatformError),
    #[error("{0}")]
    Connection(#[from] crate::connections::ConnError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("the account is not managed by adpilot any more")]
    NotManaged,
    #[error("the connection needs reconnecting; syncing resumes once it is fixed")]
    NeedsReconnect,
}

impl From<diesel::result::Error> for SyncError {
    fn from(e: diesel::result::Error) -> Self {
        SyncError::Db(crate::db::DbError::Query(e))
    }
}

/// What one sync run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub campaigns: usize,
    pub ad_groups: usize,
    pub ads: usize,
    /// Ad-group and ad rows read (campaign rows are in `rows_read`).
    pub level_rows_read: usize,
    pub rows_read: usize,
    pub rows_changed: usize,
    pub backfill_done: bool,
    pub backfilled_from: Option<NaiveDate>,
}

/// Sync progress of one account, for the Connections page.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = account_sync, check_for_backend(diesel::pg::Pg))]
pub struct SyncState {
    pub account_id: Uuid,
    pub backfill_from: Option<NaiveDate>,
    pub backfilled_from: Option<NaiveDate>,
    pub backfill_done: bool,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub rate_limited_until: Option<DateTime<Utc>>,
    pub rows_synced: i64,
    #[diesel(embed)]
    pub history: HistorySettings,
    failing_since: Option<DateTime<Utc>>,
}

impl SyncState {
    /// Since when the account's syncs have been failing, if they are.
    pub fn failing_since(&self) -> Option<DateTime<Utc>> {
        self.failing_since
    }

    /// Backfill progress in percent.
    pub fn progress(&self, today: NaiveDate) -> u32 {
        match (self.backfill_done, self.backfill_from, self.backfilled_from) {
            (true, _, _) => 100,
            (false, Some(from), Some(done_from)) => {
                let total = (today - from).num_days().max(1);
                let done = (today - done_from).num_days().clamp(0, total);
                (done * 100 / total) as u32
            }
            _ => 0,
        }
    }
}

/// How much history a sync keeps for an account: the days loaded by the first syncs (the
/// backfill) and the recent days every sync reads again, because conversions arrive late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = account_sync, check_for_backend(diesel::pg::Pg))]
pub struct HistorySettings {
    pub backfill_days: i32,
    pub lookback_days: i32,
}

impl Default for HistorySettings {
    fn default() -> Self {
        HistorySettings {
            backfill_days: 90,
            lookback_days: 7,
        }
    }
}

impl HistorySettings {
    /// Two years: what the platforms keep at daily granularity for all three.
    pub const MAX_BACKFILL_DAYS: i32 = 730;
    /// Attribution windows are at most 90 days on every platform.
    pub const MAX_LOOKBACK_DAYS: i32 = 90;

    /// Reads the two form fields; each problem is reported under its field's name.
    pub fn parse(
        backfill_days: &str,
        lookback_days: &str,
    ) -> Result<Self, crate::web::form::FieldErrors> {
        let mut errors = crate::web::form::FieldErrors::default();
        let mut field =
            |name: &'static str, text: &str, max: i32, what: &str| match text.trim().parse::<i32>()
            {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    errors.add(
                        name,
                        format!("{what} must be a whole number of days from 1 to {max}."),
                    );
                    0
                }
            };
        let backfill_days = field(
            "backfill_days",
            backfill_days,
            Self::MAX_BACKFILL_DAYS,
            "History to load",
        );
        let lookback_days = field(
            "lookback_days",
            lookback_days,
            Self::MAX_LOOKBACK_DAYS,
            "Days re-read on every sync",
        );
        if errors.any() {
            Err(errors)
        } else {
            Ok(HistorySettings {
                backfill_days,
                lookback_days,
            })
        }
    }
}

/// Sets how much history the sync keeps for these accounts of the organization. A longer
/// history than before is loaded by the next syncs, continuing where the backfill stopped; a
/// shorter one loads no more but deletes nothing already stored.
pub async fn set_history(
    c: &mut crate::db::Conn,
    org_id: Uuid,
    account_ids: &[Uuid],
    settings: HistorySettings,
) -> QueryResult<()> {
    use diesel::sql_types::{Array, Int4, Uuid as SqlUuid};
    // backfill_from is cleared when the length changes: the next sync sets it again from the
    // account's own "today", as it does for a new account.
    diesel::sql_query(
        "INSERT INTO account_sync (org_id, account_id, backfill_days, lookback_days)
         SELECT $1, a, $3, $4 FROM unnest($2::uuid[]) AS a
         ON CONFLICT (org_id, account_id) DO UPDATE SET
           lookback_days = excluded.lookback_days,
           backfill_days = excluded.backfill_days,
           backfill_from = CASE WHEN excluded.backfill_days = account_sync.backfill_days
                                THEN account_sync.backfill_from END,
           backfill_done = account_sync.backfill_done
                           AND excluded.backfill_days <= account_sync.backfill_days",
    )
    .bind::<SqlUuid, _>(org_id)
    .bind::<Array<SqlUuid>, _>(account_ids)
    .bind::<Int4, _>(settings.backfill_days)
    .bind::<Int4, _>(settings.lookback_days)
    .execute(c)
    .await?;
    Ok(())
}

/// Today in the account's time zone.
pub fn account_today(time_zone: &str, now: DateTime<Utc>) -> NaiveDate {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    now.with_timezone(&tz).date_naive()
}

/// Syncs one managed account. `now` is the wall clock (tests pass their own).
pub async fn sync_account(
    app: &App,
    org_id: Uuid,
    account_id: Uuid,
    now: DateTime<Utc>,
) -> Result<SyncReport, SyncError> {
    let account: Option<(String, String, String, bool)> = app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, SyncError>(
                ad_accounts::table
                    .find(account_id)
                    .select((
                        ad_accounts::platform,
                        ad_accounts::currency,
                        ad_accounts::time_zone,
                        ad_accounts::managed,
                    ))
                    .first(c)
                    .await
                    .optional()?,
            )
        })
        .await?;
    let Some((platform, currency, time_zone, managed)) = account else {
        return Err(SyncError::NotManaged);
    };
    if !managed {
        return Err(SyncError::NotManaged);
    }
    let platform: Platform = platform.parse().map_err(|_| SyncError::NotManaged)?;
    let currency: Currency = currency.parse().map_err(|_| SyncError::NotManaged)?;
    let today = account_today(&time_zone, now);

    let state = load_or_create_state(app, org_id, account_id, today).await?;
    if state.rate_limited_until.is_some_and(|u| u > now) {
        let wait = state
            .rate_limited_until
            .map(|u| (u - now).to_std().unwrap_or_default());
        return Err(SyncError::Platform(PlatformError::RateLimited {
            retry_after: wait,
            message: "waiting for the platform's rate-limit window".into(),
        }));
    }
    let key = level_sync::AccountKey {
        org_id,
        account_id,
        platform,
        currency,
    };
    let result = run(app, key, today, &state).await;
    record_outcome(app, org_id, account_id, now, &result).await?;
    result
}

async fn load_or_create_state(
    app: &App,
    org_id: Uuid,
    account_id: Uuid,
    today: NaiveDate,
) -> Result<SyncState, SyncError> {
    app.db
        .tenant(org_id, async move |c| {
            diesel::insert_into(account_sync::table)
                .values((
                    account_sync::org_id.eq(org_id),
                    account_sync::account_id.eq(account_id),
                ))
                .on_conflict_do_nothing()
                .execute(c)
                .await?;
            let (backfill_days, backfill_from): (i32, Option<NaiveDate>) = account_sync::table
                .find((org_id, account_id))
                .select((account_sync::backfill_days, account_sync::backfill_from))
                .first(c)
                .await?;
            if backfill_from.is_none() {
                diesel::update(account_sync::table.find((org_id, account_id)))
                    .set(
                        account_sync::backfill_from
                            .eq(Some(today - Duration::days(i64::from(backfill_days)))),
                    )
                    .execute(c)
                    .await?;
            }
            Ok(state_of(c, org_id, account_id).await?)
        })
        .await
}

async fn state_of(
    c: &mut crate::db::Conn,
    org_id: Uuid,
    account_id: Uuid,
) -> QueryResult<SyncState> {
    account_sync::table
        .find((org_id, account_id))
        .select(SyncState::as_select())
        .first(c)
        .await
}

async fn run(
    app: &App,
    key: level_sync::AccountKey,
    today: NaiveDate,
    state: &SyncState,
) -> Result<SyncReport, SyncError> {
    let level_sync::AccountKey {
        org_id, account_id, ..
    } = key;
    let (p, creds, account) = connections::account_access(app, org_id, account_id).await?;
    if connections::needing_reconnect(app, org_id)
        .await?
        .contains(&p)
    {
        return Err(SyncError::NeedsReconnect);
    }
    let mut report = sync_structure(app, key, &creds, &account).await?;
    let settings = app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, SyncError>(super::conversion_settings::load(c, account_id).await?)
        })
        .await?;
    let adapter = app.platforms.adapter(key.platform);
    for (i, (from, to)) in sync_ranges(state, today).into_iter().enumerate() {
        // One level after the other: a platform's rate-limit hint holds for the account, and
        // calls already in flight at once could not honour it.
        let metrics = adapter.daily_metrics(&creds, &account, from, to).await?;
        let ad_groups = adapter
            .level_metrics(&creds, &account, Level::AdGroup, from, to)
            .await?;
        let ads = adapter
            .level_metrics(&creds, &account, Level::Ad, from, to)
            .await?;
        report.rows_read += metrics.len();
        let chunk = RangeChunk {
            from,
            to,
            is_backfill: i > 0,
            metrics,
            levels: LevelChunk { ad_groups, ads },
        };
        report.level_rows_read += chunk.levels.len();
        let settings = settings.clone();
        let changed = app
            .db
            .tenant(org_id, async move |c| {
                store_range(c, key, &settings, &chunk).await
            })
            .await?;
        report.rows_changed += changed;
        if i > 0 {
            report.backfilled_from = Some(from);
        }
    }
    app.db
        .tenant(org_id, async move |c| {
            diesel::update(account_sync::table.find((org_id, account_id)))
                .set(account_sync::backfill_done.eq(true))
                .execute(c)
                .await?;
            Ok::<_, SyncError>(())
        })
        .await?;
    report.backfill_done = true;
    Ok(report)
}

/// Lists the account's campaigns, ad groups and ads and stores them; the report starts with
/// their counts.
async fn sync_structure(
    app: &App,
    key: level_sync::AccountKey,
    creds: &Credentials,
    account: &AccountRef,
) -> Result<SyncReport, SyncError> {
    let adapter = app.platforms.adapter(key.platform);
    let listed = adapter.list_campaigns(creds, account).await?;
    let listed_groups = adapter.list_ad_groups(creds, account, None).await?;
    let listed_ads = adapter.list_ads(creds, account, None).await?;
    let report = SyncReport {
        campaigns: listed.len(),
        ad_groups: listed_groups.len(),
        ads: listed_ads.len(),
        ..Default::default()
    };
    app.db
        .tenant(key.org_id, async move |c| {
            let ids = crate::campaigns::upsert_synced(
                c,
                key.org_id,
                key.account_id,
                key.platform,
                key.currency,
                &listed,
            )
            .await?;
            level_sync::store_structure(c, key, &ids, &listed_groups, &listed_ads).await?;
            Ok::<_, SyncError>(())
        })
        .await?;
    Ok(report)
}

/// The recent window first (what dashboards and rules read), then older history in chunks
/// going back until the backfill start.
fn sync_ranges(state: &SyncState, today: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let lookback = i64::from(state.history.lookback_days);
    let mut ranges = vec![(today - Duration::days(lookback), today)];
    if !state.backfill_done {
        let start = state.backfill_from.unwrap_or(today - Duration::days(90));
        let mut end = state
            .backfilled_from
            .map(|d| d - Duration::days(1))
            .unwrap_or(today - Duration::days(lookback + 1));
        while end >= start {
            let from = (end - Duration::days(CHUNK_DAYS - 1)).max(start);
            ranges.push((from, end));
            end = from - Duration::days(1);
        }
    }
    ranges
}

/// One date range as read from the platform, to be written in one transaction.
struct RangeChunk {
    from: NaiveDate,
    to: NaiveDate,
    is_backfill: bool,
    metrics: Vec<DailyMetrics>,
    levels: LevelChunk,
}

/// Writes a range's campaign and level rows and moves the account's sync progress; returns
/// how many rows changed.
async fn store_range(
    c: &mut crate::db::Conn,
    key: level_sync::AccountKey,
    settings: &ConversionSettings,
    chunk: &RangeChunk,
) -> Result<usize, SyncError> {
    let level_sync::AccountKey {
        org_id,
        account_id,
        platform,
        currency,
    } = key;
    let (from, to) = (chunk.from, chunk.to);
    let seen: Vec<(String, String)> = chunk
        .metrics
        .iter()
        .map(|m| (m.campaign_id.clone(), m.campaign_name.clone()))
        .collect();
    let ids =
        crate::campaigns::ensure_known(c, org_id, account_id, platform, currency, &seen).await?;
    let rows = metric_rows(key, settings, &ids, &chunk.metrics);
    ingest::ensure_partitions(c, from, to).await?;
    let mut changed = ingest::upsert(c, &rows).await?;
    if !chunk.levels.is_empty() {
        level_ingest::ensure_partitions(c, from, to).await?;
        changed += level_sync::store_chunk(c, key, settings, &ids, &chunk.levels).await?;
    }
    let added = rows.len() as i64;
    let backfilled = if chunk.is_backfill { Some(from) } else { None };
    diesel::update(account_sync::table.find((org_id, account_id)))
        .set((
            account_sync::rows_synced.eq(account_sync::rows_synced + added),
            account_sync::backfilled_from.eq(diesel::dsl::sql::<
                diesel::sql_types::Nullable<diesel::sql_types::Date>,
            >("coalesce(")
            .bind::<diesel::sql_types::Nullable<diesel::sql_types::Date>, _>(backfilled)
            .sql(", backfilled_from)")),
        ))
        .execute(c)
        .await?;
    Ok(changed)
}

/// The platform's daily campaign rows in the account's currency, with conversions derived
/// by the account's settings; rows for campaigns without an id here are left out.
fn metric_rows(
    key: level_sync::AccountKey,
    settings: &ConversionSettings,
    ids: &HashMap<String, Uuid>,
    metrics: &[DailyMetrics],
) -> Vec<MetricRow> {
    let currency = key.currency;
    metrics
        .iter()
        .filter(|m| m.spend.currency == currency && m.revenue.currency == currency)
        .filter_map(|m| {
            let d = super::conversions::derive(key.platform, &m.conversion_types, settings);
            let micros = |v| Money::from_major(v, currency).map(|x| x.micros);
            Some(MetricRow {
                account_id: key.account_id,
                campaign_id: *ids.get(&m.campaign_id)?,
                date: m.date,
                impressions: m.impressions,
                clicks: m.clicks,
                spend_micros: m.spend.micros,
                conversions: d.conversions,
                revenue_micros: micros(d.revenue).unwrap_or(m.revenue.micros),
                all_clicks: m.all_clicks,
                purchases: d.purchases,
                purchase_value_micros: d.purchase_value.and_then(micros),
                leads: d.leads,
                installs: d.installs,
                registrations: d.registrations,
                conversion_types: m.conversion_types.clone(),
            })
        })
        .collect()
}

async fn record_outcome(
    app: &App,
    org_id: Uuid,
    account_id: Uuid,
    now: DateTime<Utc>,
    result: &Result<SyncReport, SyncError>,
) -> Result<(), SyncError> {
    let (error, until) = match result {
        Ok(_) => (None, None),
        Err(SyncError::Platform(PlatformError::RateLimited {
            retry_after,
            message,
        })) => {
            let wait =
                Duration::from_std(retry_after.unwrap_or(std::time::Duration::from_secs(60)))
                    .unwrap_or(Duration::minutes(1));
            (
                Some(format!("Rate limited by the platform: {message}")),
                Some(now + wait),
            )
        }
        Err(e) => (Some(e.to_string()), None),
    };
    let ok = result.is_ok();
    app.db
        .tenant(org_id, async move |c| {
            if ok {
                diesel::update(account_sync::table.find((org_id, account_id)))
                    .set((
                        account_sync::last_success_at.eq(Some(now)),
                        account_sync::last_attempt_at.eq(Some(now)),
                        account_sync::last_error.eq(None::<String>),
                        account_sync::failing_since.eq(None::<DateTime<Utc>>),
                        account_sync::rate_limited_until.eq(None::<DateTime<Utc>>),
                    ))
                    .execute(c)
                    .await?;
                // The first success starts the anomaly baseline's clock (reports::alerts).
                diesel::sql_query(
                    "UPDATE account_sync SET first_success_at = $3 \
                     WHERE org_id = $1 AND account_id = $2 AND first_success_at IS NULL",
                )
                .bind::<diesel::sql_types::Uuid, _>(org_id)
                .bind::<diesel::sql_types::Uuid, _>(account_id)
                .bind::<diesel::sql_types::Timestamptz, _>(now)
                .execute(c)
                .await?;
            } else {
                diesel::update(account_sync::table.find((org_id, account_id)))
                    .set((
                        account_sync::last_attempt_at.eq(Some(now)),
                        account_sync::last_error.eq(error),
                        account_sync::rate_limited_until.eq(until),
                        account_sync::failing_since.eq(diesel::dsl::sql::<
                            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
                        >(
                            "coalesce(failing_since, now())"
                        )),
                    ))
                    .execute(c)
                    .await?;
            }
            Ok::<_, SyncError>(())
        })
        .await
}

/// Sync states of the organization's accounts.
pub async fn states(app: &App, org_id: Uuid) -> Result<Vec<SyncState>, SyncError> {
    app.db
        .tenant(org_id, async move |c| {
            Ok(account_sync::table
                .select(SyncState::as_select())
                .load(c)
                .await?)
        })
        .await
}

/// The managed accounts of an organization that a sync run should cover.
pub async fn accounts_to_sync(app: &App, org_id: Uuid) -> Result<Vec<Uuid>, SyncError> {
    app.db
        .tenant(org_id, async move |c| {
            Ok::<_, SyncError>(
                crate::connections::service::managed_accounts(c)
                    .await?
                    .into_iter()
                    .map(|a| a.id)
                    .collect(),
            )
        })
        .await
}
