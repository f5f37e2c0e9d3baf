//! Report schedules and sending: each due slot is sent once per recipient (a unique row per
//! schedule, slot and recipient), a temporary SMTP failure is retried by the jobs system, and
//! every email carries a signed one-click unsubscribe link and the List-Unsubscribe headers.

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveTime, Utc};
use diesel::sql_types::{
    Array, Date, Nullable, SmallInt, Text, Time, Timestamptz, Uuid as SqlUuid,
};
use diesel_async::RunQueryDsl;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use super::content::{self, Period};
use super::schedule::{Frequency, next_send_at};
use super::schedule_store::{Schedule, get};
use crate::app::App;
use crate::jobs::{Dedupe, Job, JobCtx, JobError};
use crate::mailer::Email;
use crate::types::Platform;

/// A new schedule as submitted; validated by [`create`].
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NewSchedule {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub frequency: String,
    #[serde(default)]
    pub weekday: String,
    #[serde(default)]
    pub send_time: String,
    #[serde(default)]
    pub period: String,
    #[serde(default)]
    pub platform: String,
    #[serde(default)]
    pub recipients: String,
    /// Ad account ids (repeated field); none = every account.
    #[serde(skip)]
    pub account_ids: Vec<Uuid>,
    #[serde(default)]
    pub campaign_search: String,
}

/// The addresses in a list separated by commas, semicolons or lines, normalized, at least one.
fn parse_recipients(list: &str) -> Result<Vec<String>, (&'static str, String)> {
    let mut recipients = Vec::new();
    for r in list
        .split([',', '\n', ';'])
        .map(str::trim)
        .filter(|r| !r.is_empty())
    {
        match crate::auth::accounts::normalize_email(r) {
            Ok(e) => recipients.push(e),
            Err(_) => return Err(("recipients", format!("\"{r}\" is not an email address."))),
        }
    }
    if recipients.is_empty() {
        return Err(("recipients", "Add at least one recipient.".into()));
    }
    recipients.dedup();
    Ok(recipients)
}

/// Checks and stores a schedule. Errors are (field, message).
pub async fn create(
    app: &App,
    org_id: Uuid,
    user: Uuid,
    tz: chrono_tz::Tz,
    n: &NewSchedule,
) -> Result<Uuid, (&'static str, String)> {
    let name = n.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 120 {
        return Err((
            "name",
            "Give the report a name (at most 120 characters).".into(),
        ));
    }
    let frequency = match n.frequency.as_str() {
        "daily" => Frequency::Daily,
        "weekly" => match n.weekday.parse::<u32>() {
            Ok(w @ 1..=7) => Frequency::Weekly(w),
            _ => return Err(("weekday", "Choose the day of the week.".into())),
        },
        _ => return Err(("frequency", "Choose daily or weekly.".into())),
    };
    let Ok(send_time) = NaiveTime::parse_from_str(n.send_time.trim(), "%H:%M") else {
        return Err(("send_time", "Enter a time as HH:MM, such as 09:00.".into()));
    };
    let Some(period) = Period::parse(&n.period) else {
        return Err((
            "period",
            "Choose yesterday, last 7 days or month to date.".into(),
        ));
    };
    let platform: Option<Platform> = match n.platform.as_str() {
        "" | "all" => None,
        p => Some(p.parse().map_err(|_| {
            (
                "platform",
                "Choose a platform or all platforms.".to_string(),
            )
        })?),
    };
    let recipients = parse_recipients(&n.recipients)?;
    let search = n.campaign_search.trim().to_string();
    if search.chars().count() > 100 {
        return Err(("campaign_search", "Use at most 100 characters.".into()));
    }
    let campaign_search = (!search.is_empty()).then_some(search);
    let account_ids = n.account_ids.clone();
    if let Err(e) =
        crate::billing::enforce::check(app, org_id, crate::billing::Limit::ReportSchedules).await
    {
        return Err(("form", e.to_string()));
    }
    let next = next_send_at(frequency, send_time, tz, Utc::now());
    let id = Uuid::now_v7();
    let (freq, weekday) = match frequency {
        Frequency::Daily => ("daily", None),
        Frequency::Weekly(w) => ("weekly", Some(w as i16)),
    };
    app.db
        .tenant(org_id, async move |c| {
            diesel::sql_query(
                "INSERT INTO report_schedules (id, org_id, name, frequency, weekday, send_time, period, platform, recipients, created_by, next_send_at, account_ids, campaign_search)
                 VALUES ($1, app_current_org(), $2, $3, $4, $5, $6, $7, $8, $9, $10,
                         ARRAY(SELECT a FROM unnest($11::uuid[]) a WHERE a IN (SELECT id FROM ad_accounts)), $12)",
            )
            .bind::<SqlUuid, _>(id)
            .bind::<Text, _>(&name)
            .bind::<Text, _>(freq)
            .bind::<Nullable<SmallInt>, _>(weekday)
            .bind::<Time, _>(send_time)
            .bind::<Text, _>(period.as_str())
            .bind::<Nullable<Text>, _>(platform.map(|p| p.as_str().to_string()))
            .bind::<Array<Text>, _>(&recipients)
            .bind::<SqlUuid, _>(user)
            .bind::<Timestamptz, _>(next)
            .bind::<Array<SqlUuid>, _>(&account_ids)
            .bind::<Nullable<Text>, _>(campaign_search)
            .execute(c)
            .await?;
            crate::audit::record(c, org_id, Some(user), "report.scheduled", &name, serde_json::json!({"recipients": recipients})).await?;
            Ok::<_, crate::db::DbError>(())
        })
        .await
        .map_err(|e| ("form", e.to_string()))?;
    Ok(id)
}

fn unsubscribe_token(app: &App, org: Uuid, schedule: Uuid, email: &str) -> String {
    let key = app.config.secret_key.unwrap_or([0u8; 32]);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
        .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new_from_slice(b"adpilot").expect("hmac"));
    mac.update(format!("unsubscribe|{org}|{schedule}|{}", email.to_lowercase()).as_bytes());
    URL_SAFE_NO_PAD.encode(&mac.finalize().into_bytes()[..20])
}

/// The signed one-click link for one recipient.
pub fn unsubscribe_url(app: &App, org: Uuid, schedule: Uuid, email: &str) -> String {
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("o", &org.to_string())
        .append_pair("s", &schedule.to_string())
        .append_pair("e", email)
        .append_pair("t", &unsubscribe_token(app, org, schedule, email))
        .finish();
    app.config.url(&format!("/reports/unsubscribe?{q}"))
}

pub fn verify_unsubscribe(app: &App, org: Uuid, schedule: Uuid, email: &str, token: &str) -> bool {
    crate::auth::tokens::tokens_equal(&unsubscribe_token(app, org, schedule, email), token)
}

pub async fn unsubscribe(
    app: &App,
    org: Uuid,
    schedule: Uuid,
    email: &str,
) -> Result<(), crate::db::DbError> {
    let email = email.to_lowercase();
    app.db
        .tenant(org, async move |c| {
            diesel::sql_query("INSERT INTO report_unsubscribes (org_id, schedule_id, email) VALUES (app_current_org(), $1, $2) ON CONFLICT DO NOTHING")
                .bind::<SqlUuid, _>(schedule)
                .bind::<Text, _>(&email)
                .execute(c)
                .await?;
            Ok(())
        })
        .await
}

/// The organization's today, for the report period.
async fn org_today(
    app: &App,
    org: Uuid,
) -> Result<(chrono::NaiveDate, chrono_tz::Tz), crate::db::DbError> {
    let (_, tz) = app
        .db
        .tenant(org, async move |c| {
            Ok::<_, crate::db::DbError>(crate::auth::accounts::org_settings(c, org).await?)
        })
        .await?;
    let tz: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    Ok((Utc::now().with_timezone(&tz).date_naive(), tz))
}

/// Renders a report for preview (no unsubscribe link is personal there).
pub async fn preview(app: &App, org: Uuid, s: &Schedule) -> Result<String, crate::db::DbError> {
    let (today, _) = org_today(app, org).await?;
    let data = content::build(app, org, &s.name, s.period.range(today), &s.scope()).await?;
    content::EmailHtml {
        r: &data,
        unsubscribe_url: "#",
        dashboard_url: &app.config.url("/dashboard"),
    }
    .render()
    .map_err(|e| crate::db::DbError::Connect(e.to_string()))
}

/// What sending one slot did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SendReport {
    pub sent: usize,
    pub skipped: usize,
    pub failed: Vec<String>,
    pub temporary: bool,
}

/// The recipients already served for the slot, and those who unsubscribed from the schedule.
async fn served_and_unsubscribed(
    app: &App,
    org: Uuid,
    id: Uuid,
    slot: DateTime<Utc>,
) -> Result<(Vec<String>, Vec<String>), crate::db::DbError> {
    #[derive(diesel::QueryableByName)]
    struct E {
        #[diesel(sql_type = Text)]
        email: String,
    }
    app.db
        .tenant(org, async move |c| {
            let done: Vec<E> = diesel::sql_query(
                "SELECT recipient AS email FROM report_sends WHERE schedule_id = $1 AND slot = $2",
            )
            .bind::<SqlUuid, _>(id)
            .bind::<Timestamptz, _>(slot)
            .load(c)
            .await?;
            let un: Vec<E> =
                diesel::sql_query("SELECT email FROM report_unsubscribes WHERE schedule_id = $1")
                    .bind::<SqlUuid, _>(id)
                    .load(c)
                    .await?;
            Ok::<_, crate::db::DbError>((
                done.into_iter().map(|e| e.email).collect::<Vec<_>>(),
                un.into_iter().map(|e| e.email).collect::<Vec<_>>(),
            ))
        })
        .await
}

/// Sends schedule `id` for `slot` to every recipient not yet served for that slot.
pub async fn send(
    app: &App,
    org: Uuid,
    id: Uuid,
    slot: DateTime<Utc>,
) -> Result<SendReport, crate::db::DbError> {
    let s = app
        .db
        .tenant(org, async move |c| {
            Ok::<_, crate::db::DbError>(get(c, id).await?)
        })
        .await?;
    let (today, _) = org_today(app, org).await?;
    let range = s.period.range(today);
    let data = content::build(app, org, &s.name, range, &s.scope()).await?;
    let (done, unsubscribed) = served_and_unsubscribed(app, org, id, slot).await?;
    let dashboard = app.config.url("/dashboard");
    let mut report = SendReport::default();
    for to in &s.recipients {
        if done.contains(to) {
            continue;
        }
        let (status, error) = if unsubscribed.contains(to) {
            report.skipped += 1;
            ("unsubscribed", None)
        } else {
            let unsub = unsubscribe_url(app, org, id, to);
            let html = content::EmailHtml {
                r: &data,
                unsubscribe_url: &unsub,
                dashboard_url: &dashboard,
            }
            .render()
            .map_err(|e| crate::db::DbError::Connect(e.to_string()))?;
            let email = Email {
                to: to.clone(),
                subject: format!("{}: {} to {}", s.name, range.from, range.to),
                text: content::text(&data, &unsub, &dashboard),
                html: Some(html),
                headers: vec![
                    ("List-Unsubscribe".into(), format!("<{unsub}>")),
                    (
                        "List-Unsubscribe-Post".into(),
                        "List-Unsubscribe=One-Click".into(),
                    ),
                ],
            };
            match app.mailer.send(&email).await {
                Ok(()) => {
                    report.sent += 1;
                    ("sent", None)
                }
                Err(e) if e.is_temporary() => {
                    // Not recorded: the retry sends it.
                    report.temporary = true;
                    report.failed.push(format!("{to}: {e}"));
                    continue;
                }
                Err(e) => {
                    report.failed.push(format!("{to}: {e}"));
                    ("failed", Some(e.to_string()))
                }
            }
        };
        let to = to.clone();
        app.db
            .tenant(org, async move |c| {
                diesel::sql_query(
                    "INSERT INTO report_sends (id, org_id, schedule_id, slot, recipient, status, error, period_from, period_to)
                     VALUES ($1, app_current_org(), $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
                )
                .bind::<SqlUuid, _>(Uuid::now_v7())
                .bind::<SqlUuid, _>(id)
                .bind::<Timestamptz, _>(slot)
                .bind::<Text, _>(&to)
                .bind::<Text, _>(status)
                .bind::<Nullable<Text>, _>(error)
                .bind::<Date, _>(range.from)
                .bind::<Date, _>(range.to)
                .execute(c)
                .await?;
                Ok::<_, crate::db::DbError>(())
            })
            .await?;
    }
    Ok(report)
}

/// History of sends, newest first: (when, recipient, status, error, from, to, schedule name).
pub async fn history(
    c: &mut crate::db::Conn,
    limit: i64,
) -> diesel::QueryResult<Vec<(DateTime<Utc>, String, String, Option<String>, String)>> {
    #[derive(diesel::QueryableByName)]
    struct H {
        #[diesel(sql_type = Timestamptz)]
        sent_at: DateTime<Utc>,
        #[diesel(sql_type = Text)]
        recipient: String,
        #[diesel(sql_type = Text)]
        status: String,
        #[diesel(sql_type = Nullable<Text>)]
        error: Option<String>,
        #[diesel(sql_type = Text)]
        name: String,
    }
    let rows: Vec<H> = diesel::sql_query(
        "SELECT r.sent_at, r.recipient, r.status, r.error, s.name FROM report_sends r JOIN report_schedules s ON s.id = r.schedule_id ORDER BY r.sent_at DESC LIMIT $1",
    )
    .bind::<diesel::sql_types::BigInt, _>(limit)
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|h| (h.sent_at, h.recipient, h.status, h.error, h.name))
        .collect())
}

/// Every 5 minutes: each organization's due schedules become send jobs.
#[derive(Debug, Serialize, Deserialize)]
pub struct DueAll {}

impl Job for DueAll {
    const KIND: &'static str = "reports.due_all";
    const DEDUPE: Dedupe = Dedupe::Kind;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        crate::jobs::enqueue_for_every_org(&ctx.app, "report schedules", || DueOrg {})
            .await
            .map(|_| ())
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct DueOrg {}

impl Job for DueOrg {
    const KIND: &'static str = "reports.due";
    const DEDUPE: Dedupe = Dedupe::Kind;

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let org = ctx
            .org_id
            .ok_or_else(|| JobError::permanent("needs an organization"))?;
        let (_, tz) = org_today(&ctx.app, org).await?;
        ctx.app
            .db
            .tenant(org, async move |c| {
                for s in super::schedule_store::due_locked(c).await? {
                    // The job and the advanced schedule commit together: a slot is enqueued once.
                    crate::jobs::enqueue(
                        c,
                        Some(org),
                        &SendSlot {
                            schedule_id: s.id,
                            slot: s.next_send_at,
                        },
                    )
                    .await?;
                    let next =
                        next_send_at(s.frequency, s.send_time, tz, s.next_send_at.max(Utc::now()));
                    diesel::sql_query(
                        "UPDATE report_schedules SET next_send_at = $2 WHERE id = $1",
                    )
                    .bind::<SqlUuid, _>(s.id)
                    .bind::<Timestamptz, _>(next)
                    .execute(c)
                    .await?;
                }
                Ok::<_, crate::db::DbError>(())
            })
            .await?;
        Ok(())
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SendSlot {
    pub schedule_id: Uuid,
    pub slot: DateTime<Utc>,
}

impl Job for SendSlot {
    const KIND: &'static str = "reports.send";
    const DEDUPE: Dedupe = Dedupe::Key;
    const MAX_ATTEMPTS: i32 = 8;

    fn dedupe_key(&self) -> Option<String> {
        Some(format!("{}:{}", self.schedule_id, self.slot.timestamp()))
    }

    async fn run(self, ctx: JobCtx) -> Result<(), JobError> {
        let org = ctx
            .org_id
            .ok_or_else(|| JobError::permanent("needs an organization"))?;
        let r = send(&ctx.app, org, self.schedule_id, self.slot).await?;
        if r.temporary {
            return Err(JobError::retry(r.failed.join("; ")));
        }
        Ok(())
    }
}
