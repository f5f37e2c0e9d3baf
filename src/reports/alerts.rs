//! Alerts: each condition is checked on a schedule; a condition that holds raises an alert once
//! per incident (an open alert is only refreshed), and an open alert whose condition no longer
//! holds is resolved. New alerts go to the organization's channels.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::sql_types::{Bool, Jsonb, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::webhooks;
use crate::app::App;
use crate::db::Conn;
use crate::jobs::{Dedupe, Job, JobCtx, JobError};
use crate::types::Currency;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    BudgetPacing,
    Anomaly,
    NeedsReconnect,
    SyncFailing,
    ActionFailed,
}

impl AlertKind {
    pub const ALL: [AlertKind; 5] = [
        AlertKind::BudgetPacing,
        AlertKind::Anomaly,
        AlertKind::NeedsReconnect,
        AlertKind::SyncFailing,
        AlertKind::ActionFailed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::BudgetPacing => "budget_pacing",
            AlertKind::Anomaly => "anomaly",
            AlertKind::NeedsReconnect => "needs_reconnect",
            AlertKind::SyncFailing => "sync_failing",
            AlertKind::ActionFailed => "action_failed",
        }
    }
}

/// A condition that holds now.
#[derive(Debug, Clone)]
pub struct Condition {
    pub kind: AlertKind,
    pub key: String,
    pub title: String,
    pub details: serde_json::Value,
    /// The ad account it is about, if one (a kind can be muted per account).
    pub account_id: Option<Uuid>,
}

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("{0}")]
    Other(String),
}

impl From<diesel::result::Error> for AlertError {
    fn from(e: diesel::result::Error) -> Self {
        AlertError::Db(crate::db::DbError::Query(e))
    }
}

/// What one evaluation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub raised: Vec<Uuid>,
    pub still_open: usize,
    pub resolved: usize,
}

fn money(micros: i64, currency: &str) -> String {
    match currency.parse::<Currency>() {
        Ok(c) => crate::types::format_major(micros, c),
        Err(_) => format!("{micros} micros"),
    }
}

/// Everything that is wrong in the organization right now.
pub async fn conditions(app: &App, org_id: Uuid) -> Result<Vec<Condition>, AlertError> {
    let mut out = connection_conditions(app, org_id).await?;
    let (targets, spend, points, threshold, min_weeks, failed) = app
        .db
        .tenant(org_id, async move |c| {
            let targets = budget_targets(c).await?;
            let spend = crate::analytics::signals::month_to_date_spend(c).await?;
            let (threshold, min_weeks) = settings(c).await?;
            let points = crate::analytics::signals::same_weekday_history(c, 8).await?;
            let failed = failed_actions(c).await?;
            Ok::<_, AlertError>((targets, spend, points, threshold, min_weeks, failed))
        })
        .await?;
    pacing_conditions(&targets, &spend, &mut out);
    anomaly_conditions(&points, (threshold, min_weeks), &mut out);
    for (campaign_id, account_id, name, message) in failed {
        out.push(Condition {
            kind: AlertKind::ActionFailed,
            key: campaign_id.to_string(),
            title: format!("A change to {name} failed: {message}"),
            details: json!({"campaign_id": campaign_id, "account_id": account_id, "message": message}),
            account_id: Some(account_id),
        });
    }
    // Kinds muted for an account raise nothing there (and what is open resolves below).
    let mutes = app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, AlertError>(super::alert_actions::mutes(c).await?)
        })
        .await?;
    out.retain(|cond| {
        !cond
            .account_id
            .is_some_and(|a| mutes.contains(&(a, cond.kind.as_str().to_string())))
    });
    Ok(out)
}

/// Platforms that need reconnecting and account syncs failing for over an hour.
async fn connection_conditions(app: &App, org_id: Uuid) -> Result<Vec<Condition>, AlertError> {
    let mut out = Vec::new();
    for p in crate::connections::service::needing_reconnect(app, org_id)
        .await
        .map_err(|e| AlertError::Other(e.to_string()))?
    {
        out.push(Condition {
            kind: AlertKind::NeedsReconnect,
            key: p.as_str().into(),
            title: format!(
                "{} needs reconnecting: syncs and rules for its accounts are paused",
                p.label()
            ),
            details: json!({"platform": p.as_str()}),
            account_id: None,
        });
    }
    let hour_ago = Utc::now() - chrono::Duration::hours(1);
    for s in crate::analytics::sync::states(app, org_id)
        .await
        .map_err(|e| AlertError::Other(e.to_string()))?
    {
        if let (Some(since), Some(err)) = (s.failing_since(), s.last_error.as_ref()) {
            if since < hour_ago {
                out.push(Condition {
                    kind: AlertKind::SyncFailing,
                    key: s.account_id.to_string(),
                    title: format!(
                        "Metrics sync has been failing since {}: {err}",
                        since.format("%Y-%m-%d %H:%M UTC")
                    ),
                    details: json!({"account_id": s.account_id, "error": err}),
                    account_id: Some(s.account_id),
                });
            }
        }
    }
    Ok(out)
}

/// Targets whose month-to-date spend reached their alert percentage.
fn pacing_conditions(
    targets: &[Target],
    spend: &[crate::analytics::signals::MonthSpend],
    out: &mut Vec<Condition>,
) {
    for t in targets {
        let row = spend.iter().find(|s| match t.campaign_id {
            Some(cid) => s.campaign_id == Some(cid),
            None => Some(s.account_id) == t.account_id && s.campaign_id.is_none(),
        });
        if let Some(s) = row {
            let limit = t.monthly_budget_micros as i128 * i128::from(t.alert_at_percent) / 100;
            if i128::from(s.spend_micros) >= limit {
                let pct =
                    i128::from(s.spend_micros) * 100 / i128::from(t.monthly_budget_micros.max(1));
                out.push(Condition {
                    kind: AlertKind::BudgetPacing,
                    key: t.id.to_string(),
                    title: format!(
                        "{} has spent {} this month: {pct}% of its monthly budget of {}",
                        s.name,
                        money(s.spend_micros, &s.currency),
                        money(t.monthly_budget_micros, &s.currency)
                    ),
                    details: json!({"target_id": t.id, "campaign_id": t.campaign_id, "account_id": s.account_id, "spend_micros": s.spend_micros, "budget_micros": t.monthly_budget_micros, "percent": pct as i64}),
                    account_id: Some(s.account_id),
                });
            }
        }
    }
}

/// Campaigns whose today so far is far from the same weekday's history: anomaly threshold
/// (robust z-score) and the weeks of history needed.
fn anomaly_conditions(
    points: &[crate::analytics::signals::WeekdayPoint],
    (threshold, min_weeks): (f64, i32),
    out: &mut Vec<Condition>,
) {
    // Anomalies: today so far against the same weekday's history, scaled to the same share of
    // the day for amounts that accumulate (spend, conversions); CPA is a ratio, not scaled.
    let mut by_campaign: HashMap<Uuid, Vec<&crate::analytics::signals::WeekdayPoint>> =
        HashMap::new();
    for p in points {
        by_campaign.entry(p.campaign_id).or_default().push(p);
    }
    for (cid, rows) in by_campaign {
        let Some(today) = rows.iter().find(|r| r.date == r.today) else {
            continue;
        };
        // The first sync brings months of settled history next to a today that is still
        // filling in; until the account has been observed for a week (each weekday seen as it happened once), nothing is compared.
        if !today.baseline_ready {
            continue;
        }
        let history: Vec<_> = rows.iter().filter(|r| r.date < r.today).collect();
        let f = today.day_fraction.clamp(0.01, 1.0);
        let checks: [(&str, f64, Vec<f64>); 3] = [
            (
                "spend",
                today.spend_micros as f64 / 1e6,
                history
                    .iter()
                    .map(|r| r.spend_micros as f64 / 1e6 * f)
                    .collect(),
            ),
            (
                "conversions",
                today.conversions,
                history.iter().map(|r| r.conversions * f).collect(),
            ),
            (
                "cpa",
                if today.conversions > 0.0 {
                    today.spend_micros as f64 / 1e6 / today.conversions
                } else {
                    f64::NAN
                },
                history
                    .iter()
                    .filter(|r| r.conversions > 0.0)
                    .map(|r| r.spend_micros as f64 / 1e6 / r.conversions)
                    .collect(),
            ),
        ];
        for (metric, x, hist) in checks {
            if !x.is_finite() {
                continue;
            }
            if let Some((median, z)) =
                crate::analytics::signals::robust_score(x, &hist, min_weeks as usize)
            {
                if z.abs() >= threshold {
                    let dir = if z > 0.0 { "above" } else { "below" };
                    out.push(Condition {
                        kind: AlertKind::Anomaly,
                        key: format!("{cid}:{metric}"),
                        title: format!("{}: today's {metric} is far {dir} the usual for this weekday ({x:.2} vs a typical {median:.2} by now)", today.name),
                        details: json!({"campaign_id": cid, "account_id": today.account_id, "metric": metric, "value": x, "median": median, "score": z}),
                        account_id: Some(today.account_id),
                    });
                }
            }
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Target {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    account_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
    campaign_id: Option<Uuid>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    monthly_budget_micros: i64,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    alert_at_percent: i32,
}

async fn budget_targets(c: &mut Conn) -> diesel::QueryResult<Vec<Target>> {
    diesel::sql_query("SELECT id, account_id, campaign_id, monthly_budget_micros, alert_at_percent FROM budget_targets").load(c).await
}

async fn settings(c: &mut Conn) -> diesel::QueryResult<(f64, i32)> {
    #[derive(diesel::QueryableByName)]
    struct S {
        #[diesel(sql_type = diesel::sql_types::Double)]
        t: f64,
        #[diesel(sql_type = diesel::sql_types::Integer)]
        w: i32,
    }
    let s: Option<S> = diesel::sql_query(
        "SELECT anomaly_threshold::float8 AS t, anomaly_min_weeks AS w FROM alert_settings",
    )
    .get_result(c)
    .await
    .ok();
    Ok(s.map(|s| (s.t, s.w)).unwrap_or((3.5, 4)))
}

/// Campaigns whose latest platform action failed in the last day.
async fn failed_actions(c: &mut Conn) -> diesel::QueryResult<Vec<(Uuid, Uuid, String, String)>> {
    #[derive(diesel::QueryableByName)]
    struct F {
        #[diesel(sql_type = SqlUuid)]
        campaign_id: Uuid,
        #[diesel(sql_type = SqlUuid)]
        account_id: Uuid,
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        message: String,
    }
    let rows: Vec<F> = diesel::sql_query(
        "SELECT DISTINCT ON (a.campaign_id) a.campaign_id, c.account_id, c.name, coalesce(a.message, 'no details') AS message, a.state
         FROM platform_actions a JOIN campaigns c ON c.id = a.campaign_id
         WHERE a.created_at > now() - interval '1 day' AND a.state IN ('succeeded', 'failed')
         ORDER BY a.campaign_id, a.created_at DESC",
    )
    .load::<FailedRow>(c)
    .await?
    .into_iter()
    .filter(|r| r.state == "failed")
    .map(|r| F { campaign_id: r.campaign_id, account_id: r.account_id, name: r.name, message: r.message })
    .collect();
    Ok(rows
        .into_iter()
        .map(|f| (f.campaign_id, f.account_id, f.name, f.message))
        .collect())
}

#[derive(diesel::QueryableByName)]
struct FailedRow {
    #[diesel(sql_type = SqlUuid)]
    campaign_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    account_id: Uuid,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    message: String,
    #[diesel(sql_type = Text)]
    state: String,
}

/// Raises what holds, refreshes what is still open, resolves what cleared.
pub async fn evaluate(app: &App, org_id: Uuid) -> Result<Evaluation, AlertError> {
    let current = conditions(app, org_id).await?;
    app.db
        .tenant(org_id, async move |c| {
            #[derive(diesel::QueryableByName)]
            struct Up {
                #[diesel(sql_type = SqlUuid)]
                id: Uuid,
                #[diesel(sql_type = Bool)]
                inserted: bool,
            }
            let mut report = Evaluation::default();
            let mut keys = Vec::new();
            for cond in &current {
                let up: Up = diesel::sql_query(
                    "INSERT INTO alerts (id, org_id, kind, subject_key, title, details)
                     VALUES ($1, app_current_org(), $2, $3, $4, $5)
                     ON CONFLICT (org_id, kind, subject_key) WHERE state = 'open'
                     DO UPDATE SET last_seen_at = now(), title = EXCLUDED.title, details = EXCLUDED.details
                     RETURNING id, (xmax = 0) AS inserted",
                )
                .bind::<SqlUuid, _>(Uuid::now_v7())
                .bind::<Text, _>(cond.kind.as_str())
                .bind::<Text, _>(&cond.key)
                .bind::<Text, _>(&cond.title)
                .bind::<Jsonb, _>(&cond.details)
                .get_result(c)
                .await?;
                if up.inserted {
                    report.raised.push(up.id);
                } else {
                    report.still_open += 1;
                }
                keys.push(format!("{}:{}", cond.kind.as_str(), cond.key));
            }
            report.resolved = diesel::sql_query(
                "UPDATE alerts SET state = 'resolved', resolved_at = now()
                 WHERE state = 'open' AND NOT ((kind || ':' || subject_key) = ANY($1))",
            )
            .bind::<diesel::sql_types::Array<Text>, _>(&keys)
            .execute(c)
            .await?;
            Ok::<_, AlertError>(report)
        })
        .await
}

#[derive(Debug, Clone)]
pub struct Alert {
    pub id: Uuid,
    pub kind: String,
    pub title: String,
    pub state: String,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub delivery_error: Option<String>,
    /// The campaign it is about, if one (the page links to it).
    pub campaign_id: Option<Uuid>,
    /// The ad account it is about, if one.
    pub account_id: Option<Uuid>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub snoozed_until: Option<DateTime<Utc>>,
}

impl Alert {
    pub fn is_snoozed(&self) -> bool {
        self.snoozed_until.is_some_and(|u| u > Utc::now())
    }

    /// Open, not acknowledged and not snoozed: needs someone's attention.
    pub fn needs_attention(&self) -> bool {
        self.state == "open" && self.acknowledged_at.is_none() && !self.is_snoozed()
    }

    pub fn kind_label(&self) -> &'static str {
        kind_label(&self.kind)
    }
}

/// The words for a kind of alert, as the page shows it.
pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "budget_pacing" => "budget pacing",
        "anomaly" => "unusual numbers",
        "needs_reconnect" => "needs reconnecting",
        "sync_failing" => "sync failing",
        "action_failed" => "failed change",
        _ => "alert",
    }
}

/// Alerts that need attention first (open, not acknowledged, not snoozed), then the other
/// open ones, then recently resolved ones; newest first within each.
pub async fn list(c: &mut Conn, limit: i64) -> diesel::QueryResult<Vec<Alert>> {
    load(c, None, limit).await
}

/// One alert of the organization.
pub async fn list_one(c: &mut Conn, id: Uuid) -> diesel::QueryResult<Option<Alert>> {
    Ok(load(c, Some(id), 1).await?.pop())
}

async fn load(c: &mut Conn, id: Option<Uuid>, limit: i64) -> diesel::QueryResult<Vec<Alert>> {
    #[derive(diesel::QueryableByName)]
    struct R {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Text)]
        title: String,
        #[diesel(sql_type = Text)]
        state: String,
        #[diesel(sql_type = diesel::sql_types::Timestamptz)]
        opened_at: DateTime<Utc>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
        resolved_at: Option<DateTime<Utc>>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
        delivered_at: Option<DateTime<Utc>>,
        #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
        delivery_error: Option<String>,
        #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
        campaign_id: Option<Uuid>,
        #[diesel(sql_type = diesel::sql_types::Nullable<SqlUuid>)]
        account_id: Option<Uuid>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
        acknowledged_at: Option<DateTime<Utc>>,
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>)]
        snoozed_until: Option<DateTime<Utc>>,
    }
    // Ids in `details` were written by adpilot itself; anything that is not a uuid reads as none.
    let rows: Vec<R> = diesel::sql_query(
        "SELECT a.id, a.kind, a.title, a.state, a.opened_at, a.resolved_at, a.delivered_at,
                a.delivery_error, c.id AS campaign_id,
                coalesce(c.account_id, CASE WHEN a.details->>'account_id' ~ '^[0-9a-f-]{36}$'
                                            THEN (a.details->>'account_id')::uuid END) AS account_id,
                a.acknowledged_at, a.snoozed_until
         FROM alerts a
         LEFT JOIN campaigns c ON a.details->>'campaign_id' ~ '^[0-9a-f-]{36}$'
                              AND c.id = (a.details->>'campaign_id')::uuid
         WHERE ($2::uuid IS NULL OR a.id = $2)
         ORDER BY (a.state = 'open' AND a.acknowledged_at IS NULL
                   AND (a.snoozed_until IS NULL OR a.snoozed_until <= now())) DESC,
                  (a.state = 'open') DESC, a.opened_at DESC LIMIT $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .bind::<diesel::sql_types::Nullable<SqlUuid>, _>(id)
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Alert {
            id: r.id,
            kind: r.kind,
            title: r.title,
            state: r.state,
            opened_at: r.opened_at,
            resolved_at: r.resolved_at,
            delivered_at: r.delivered_at,
            delivery_error: r.delivery_error,
            campaign_id: r.campaign_id,
            account_id: r.account_id,
            acknowledged_at: r.acknowledged_at,
            snoozed_until: r.snoozed_until,
        })
        .collect())
}

#[derive(Debug, Clone)]
pub struct Channel {
    pub id: Uuid,
    pub kind: String,
    pub target: String,
    pub signing_secret: Option<String>,
}

impl Channel {
    /// The target as a client-role member sees it: a webhook URL is a credential (anyone
    /// holding a Slack incoming-webhook URL can post to the channel), so only its host shows.
    pub fn target_for(&self, role: &Option<crate::auth::Role>) -> String {
        if self.kind == "email" || role.is_some_and(|r| r.can_write()) {
            return self.target.clone();
        }
        redact_url(&self.target)
    }
}

/// `https://hooks.slack.com/services/T0/B0/XXXX` → `https://hooks.slack.com/…`.
pub fn redact_url(url: &str) -> String {
    webhooks::redact_urls(url.trim())
}

/// What a channel's signing secret is bound to in the vault.
fn secret_purpose(org: Uuid, channel: Uuid) -> String {
    format!("alert_channels|{org}|{channel}|signing_secret")
}

/// Encrypts a channel's signing secret for storage.
pub fn seal_secret(
    vault: &crate::connections::vault::Vault,
    org: Uuid,
    channel: Uuid,
    secret: &str,
) -> Result<String, crate::connections::vault::VaultError> {
    vault.encrypt_other(secret, &secret_purpose(org, channel))
}

/// A stored signing secret in clear. Rows written before secrets were encrypted hold the
/// secret itself (a token has no `v1:` prefix); key rotation re-encrypts them.
fn open_secret(
    vault: &crate::connections::vault::Vault,
    org: Uuid,
    channel: Uuid,
    stored: &str,
) -> Option<String> {
    if crate::connections::vault::Vault::version_of(stored).is_err() {
        return Some(stored.to_string());
    }
    match vault.decrypt_other(stored, &secret_purpose(org, channel)) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, %channel, "a webhook signing secret cannot be decrypted");
            None
        }
    }
}

#[derive(diesel::QueryableByName)]
struct ChannelRow {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    org_id: Uuid,
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    target: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    signing_secret: Option<String>,
}

pub async fn channels(
    c: &mut Conn,
    vault: &crate::connections::vault::Vault,
) -> diesel::QueryResult<Vec<Channel>> {
    let rows: Vec<ChannelRow> = diesel::sql_query(
        "SELECT id, org_id, kind, target, signing_secret FROM alert_channels ORDER BY created_at",
    )
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Channel {
            signing_secret: r
                .signing_secret
                .as_deref()
                .and_then(|s| open_secret(vault, r.org_id, r.id, s)),
            id: r.id,
            kind: r.kind,
            target: r.target,
        })
        .collect())
}

/// Encrypts, under the vault's current key, every signing secret of the organization that is
/// stored in clear or under an older key; returns how many changed.
pub async fn reencrypt_channel_secrets(app: &App, org: Uuid) -> Result<usize, crate::db::DbError> {
    let vault = &app.vault;
    let current = vault.current_version();
    app.db
        .tenant(org, async move |c| {
            let rows: Vec<ChannelRow> = diesel::sql_query(
                "SELECT id, org_id, kind, target, signing_secret FROM alert_channels \
                 WHERE signing_secret IS NOT NULL",
            )
            .load(c)
            .await?;
            let mut n = 0;
            for r in rows {
                let Some(stored) = r.signing_secret else {
                    continue;
                };
                if crate::connections::vault::Vault::version_of(&stored).is_ok_and(|v| v >= current)
                {
                    continue;
                }
                let Some(clear) = open_secret(vault, r.org_id, r.id, &stored) else {
                    continue;
                };
                let Ok(sealed) = seal_secret(vault, r.org_id, r.id, &clear) else {
                    continue;
                };
                diesel::sql_query("UPDATE alert_channels SET signing_secret = $1 WHERE id = $2")
                    .bind::<Text, _>(sealed)
                    .bind::<SqlUuid, _>(r.id)
                    .execute(c)
                    .await?;
                n += 1;
            }
            Ok::<_, crate::db::DbError>(n)
        })
        .await
}

/// Sends one alert to every channel; temporary failures make the delivery job retry.
pub async fn deliver(app: &App, org_id: Uuid, alert_id: Uuid) -> Result<(), JobError> {
    let (alert, chans) = app
        .db
        .tenant(org_id, async move |c| {
            let all = list(c, 500).await?;
            let alert = all.into_iter().find(|a| a.id == alert_id);
            Ok::<_, AlertError>((alert, channels(c, &app.vault).await?))
        })
        .await
        .map_err(JobError::retry)?;
    let Some(alert) = alert else { return Ok(()) };
    if alert.delivered_at.is_some() {
        return Ok(());
    }
    let text = format!("adpilot alert: {}", alert.title);
    let mut errors = Vec::new();
    let mut temporary = false;
    for ch in chans {
        let result = match ch.kind.as_str() {
            "email" => app
                .mailer
                .send(&crate::mailer::Email {
                    to: ch.target.clone(),
                    subject: text.chars().take(150).collect(),
                    text: format!(
                        "{}\n\nSee all alerts: {}\n",
                        alert.title,
                        app.config.url("/alerts")
                    ),
                    html: None,
                    headers: vec![],
                })
                .await
                .map_err(|e| (e.is_temporary(), e.to_string())),
            kind => {
                let body = if kind == "slack" {
                    webhooks::slack_body(&text)
                } else {
                    json!({"type": "alert", "alert": {"id": alert.id, "kind": alert.kind, "title": alert.title, "opened_at": alert.opened_at}})
                };
                match webhooks::check_url(&ch.target, app.config.webhooks_allow_private).await {
                    Ok(checked) => {
                        webhooks::send(&checked, ch.signing_secret.as_deref().unwrap_or(""), &body)
                            .await
                            .map_err(|e| (e.is_temporary(), e.to_string()))
                    }
                    Err(e) => Err((false, e.to_string())),
                }
            }
        };
        if let Err((temp, m)) = result {
            temporary |= temp;
            errors.push(format!("{} {}: {m}", ch.kind, ch.target));
        }
    }
    let error = if errors.is_empty() {
        None
    } else {
        Some(errors.join("; "))
    };
    let delivered = errors.is_empty() || !temporary;
    let e2 = error.clone();
    app.db
        .tenant(org_id, async move |c| {
            diesel::sql_query("UPDATE alerts SET delivered_at = CASE WHEN $2 THEN now() ELSE delivered_at END, delivery_error = $3 WHERE id = $1")
                .bind::<SqlUuid, _>(alert_id)
                .bind::<Bool, _>(delivered)
                .bind::<diesel::sql_types::Nullable<Text>, _>(e2)
                .execute(c)
                .await?;
            Ok::<_, AlertError>(())
        })
        .await
        .map_err(JobError::retry)?;
    match error {
        Some(e) if temporary => Err(JobError::retry(e)),
        _ => Ok(()),
    }
}

/// Checks every organization's alerts.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckAll {}

impl Job for CheckAll {
    const KIND: &'static str = "alerts.check_all";
    const DEDUPE: Dedupe = Dedupe::Kind;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        crate::jobs::enqueue_for_every_org(&ctx.app, "alert checks", || CheckOrg {})
            .await
            .map(|_| ())
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CheckOrg {}

impl Job for CheckOrg {
    const KIND: &'static str = "alerts.check";
    const DEDUPE: Dedupe = Dedupe::Kind;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let org = ctx
            .org_id
            .ok_or_else(|| JobError::permanent("needs an organization"))?;
        let report = evaluate(&ctx.app, org).await.map_err(JobError::retry)?;
        if !report.raised.is_empty() {
            ctx.app
                .db
                .tenant(org, async move |c| {
                    for id in report.raised {
                        crate::jobs::enqueue(c, Some(org), &Deliver { alert_id: id }).await?;
                    }
                    Ok::<_, crate::db::DbError>(())
                })
                .await?;
        }
        Ok(())
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Deliver {
    pub alert_id: Uuid,
}

impl Job for Deliver {
    const KIND: &'static str = "alerts.deliver";
    const DEDUPE: Dedupe = Dedupe::Key;
    const MAX_ATTEMPTS: i32 = 8;

    fn dedupe_key(&self) -> Option<String> {
        Some(self.alert_id.to_string())
    }

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let org = ctx
            .org_id
            .ok_or_else(|| JobError::permanent("needs an organization"))?;
        deliver(&ctx.app, org, self.alert_id).await
    }
}
