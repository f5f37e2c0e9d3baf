//! The dashboard and campaign pages against the sandbox: connect all three platforms, sync
//! every managed account, then compare what the pages show with the sandbox's own truth.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use adpilot::analytics::sync::sync_account;
use adpilot::connections::service::managed_accounts;
use adpilot::jobs::worker::{Runner, RunnerHandle, WorkerOptions};
use adpilot::sandbox::{FaultKind, FaultSpec, SandboxConfig, SandboxHandle, TruthQuery};
use adpilot::types::{Currency, Platform};
use axum::http::StatusCode;
use chrono::{DateTime, Datelike, Duration as Days, NaiveDate, Utc};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::connections::connect;
use crate::support::*;

/// Our campaign ids by (platform, platform campaign id).
async fn campaign_ids(t: &TestApp) -> HashMap<Uuid, (Platform, String)> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Text)]
        platform: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        external_id: String,
    }
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let rows: Vec<Row> = diesel::sql_query("SELECT id, platform, external_id FROM campaigns")
        .load(&mut c)
        .await
        .expect("campaigns");
    rows.into_iter()
        .map(|r| (r.id, (r.platform.parse().expect("platform"), r.external_id)))
        .collect()
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

/// Keep `t` bound in tests: dropping the TestApp drops its database.
struct Synced {
    sb: SandboxHandle,
    t: TestApp,
    c: Client,

    today: NaiveDate,
}

/// A sandbox frozen at `now`, an org with all three platforms connected, every managed
/// account synced (backfill included).
async fn synced() -> Synced {
    let at = now();
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(at),
        ..SandboxConfig::default()
    })
    .await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    for p in ["google", "meta", "tiktok"] {
        connect(&mut c, p).await;
    }
    let org = org_of(&t).await;
    let accounts = t
        .app
        .db
        .tenant(org, async |c| {
            Ok::<_, adpilot::db::DbError>(managed_accounts(c).await?)
        })
        .await
        .expect("accounts");
    assert_eq!(accounts.len(), 9, "three accounts per platform");
    for a in &accounts {
        let mut done = false;
        for _ in 0..20 {
            let r = sync_account(&t.app, org, a.id, at).await.expect("sync");
            if r.backfill_done {
                done = true;
                break;
            }
        }
        assert!(done, "backfill of {} finished", a.name);
    }
    Synced {
        sb,
        t,
        c,

        today: at.date_naive(),
    }
}

/// The text of every cell of every body row of the campaign table, and each row's campaign id.
fn campaign_table(html: &str) -> Vec<(Uuid, Vec<String>)> {
    let start = html.find("id=\"campaign-table\"").expect("campaign table");
    let body = &html[start..];
    let body = &body[body.find("<tbody>").expect("tbody")..body.find("</tbody>").expect("end")];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            let id_at = row.find("/campaigns/").expect("campaign link") + "/campaigns/".len();
            let id: Uuid = row[id_at..id_at + 36].parse().expect("campaign id");
            let cells = row
                .split("<td")
                .skip(1)
                .map(|cell| {
                    let inner = &cell[cell.find('>').expect("td") + 1..];
                    let inner = &inner[..inner.find("</td>").expect("end td")];
                    strip_tags(inner)
                })
                .collect();
            (id, cells)
        })
        .collect()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in s.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .trim()
        .to_string()
}

fn csv_rows(body: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(body.as_bytes());
    let header = r
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    let rows = r
        .records()
        .map(|rec| rec.expect("record").iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

/// An amount as the pages show it: grouped, the currency's decimals, no currency code.
fn format_major(micros: i64, currency: Currency) -> String {
    let full = adpilot::types::format_major(micros, currency);
    full.trim_end_matches(currency.as_str())
        .trim_end()
        .to_string()
}

fn group_int(n: i64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[derive(Default, Clone, Copy)]
struct Sums {
    impressions: i64,
    clicks: i64,
    spend: i64,
    conversions: i64,
    revenue: i64,
}

#[tokio::test]
async fn dashboard_numbers_equal_the_sandbox_truth_per_campaign_and_per_day_and_csv_equals_the_table()
 {
    let Synced {
        sb,
        t,
        mut c,
        today,
        ..
    } = synced().await;
    let (from, to) = (today - Days::days(30), today - Days::days(2));
    let qs = format!("range=custom&from={from}&to={to}&per=500&sort=name&dir=asc");
    let page = c.get(&format!("/dashboard?{qs}")).await;
    page.assert_status(StatusCode::OK);
    let table = campaign_table(&page.body);
    assert!(table.len() > 20, "campaigns with data: {}", table.len());

    // Truth per campaign over the range.
    let truth = sb.daily_metrics(&TruthQuery {
        from: Some(from),
        to: Some(to),
        ..TruthQuery::default()
    });
    let mut per_campaign: HashMap<(Platform, String), (Currency, Sums)> = HashMap::new();
    let mut per_day: BTreeMap<(String, NaiveDate), Sums> = BTreeMap::new();
    for m in &truth {
        let e = per_campaign
            .entry((m.platform, m.campaign_id.clone()))
            .or_insert((m.currency, Sums::default()));
        let d = per_day
            .entry((m.currency.as_str().to_string(), m.date))
            .or_default();
        for s in [&mut e.1, d] {
            s.impressions += m.impressions;
            s.clicks += m.clicks;
            s.spend += m.spend_micros;
            s.conversions += m.conversions;
            s.revenue += m.revenue_micros;
        }
    }
    let ids = campaign_ids(&t).await;
    // Columns: Campaign, Platform, Account, Status, Currency, Spend, Impressions, Clicks,
    // Conversions, Revenue, CTR, CPC, CPM, CPA, ROAS, CVR.
    for (id, cells) in &table {
        let key = ids.get(id).expect("known campaign").clone();
        let (currency, s) = per_campaign
            .get(&key)
            .unwrap_or_else(|| panic!("{key:?} has truth rows in the range"));
        assert_eq!(cells[4], currency.as_str());
        assert_eq!(
            cells[5],
            format_major(s.spend, *currency),
            "spend of {key:?}"
        );
        assert_eq!(cells[6].replace(',', ""), s.impressions.to_string());
        assert_eq!(cells[7].replace(',', ""), s.clicks.to_string());
        assert_eq!(cells[8].replace(',', ""), s.conversions.to_string());
        assert_eq!(
            cells[9],
            format_major(s.revenue, *currency),
            "revenue of {key:?}"
        );
    }
    let shown: Vec<&(Platform, String)> = table.iter().map(|(id, _)| &ids[id]).collect();
    for (key, (_, s)) in &per_campaign {
        if s.impressions > 0 || s.spend > 0 {
            assert!(shown.contains(&key), "{key:?} is on the dashboard");
        }
    }

    // The chart's points (their hover titles) equal the truth per currency and day.
    for ((currency, date), s) in &per_day {
        let c: Currency = currency.parse().expect("currency");
        let title = format!("{date}: Spend {}", format_major(s.spend, c));
        assert!(
            page.body.contains(&title),
            "chart point {title} for {currency}"
        );
        let title = format!("{date}: Conversions {}", group_int(s.conversions));
        assert!(page.body.contains(&title), "chart point {title}");
    }

    // The CSV has the same rows, in the same order, with the same numbers.
    let csv = c.get(&format!("/dashboard/campaigns.csv?{qs}")).await;
    csv.assert_status(StatusCode::OK);
    assert!(
        csv.headers
            .get("content-type")
            .is_some_and(|v| v.to_str().unwrap_or("").starts_with("text/csv"))
    );
    let (header, rows) = csv_rows(&csv.body);
    assert_eq!(header[1], "Campaign");
    assert_eq!(header[6], "Spend");
    assert_eq!(rows.len(), table.len());
    for ((id, cells), row) in table.iter().zip(&rows) {
        assert_eq!(row[0], id.to_string());
        let ungrouped: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i >= 5 {
                    c.replace(',', "")
                } else {
                    c.clone()
                }
            })
            .collect();
        assert_eq!(&row[1..], &ungrouped[..]);
    }

    // A filter narrows both the same way.
    let qs2 = format!("{qs}&platform=meta&q=retarget");
    let page = c.get(&format!("/dashboard?{qs2}")).await;
    let table = campaign_table(&page.body);
    assert!(!table.is_empty());
    assert!(
        table
            .iter()
            .all(|(_, c)| c[1] == "Meta Ads" && c[0].to_lowercase().contains("retarget"))
    );
    let (_, rows) = csv_rows(&c.get(&format!("/dashboard/campaigns.csv?{qs2}")).await.body);
    assert_eq!(rows.len(), table.len());

    // Sorting by clicks, ascending, through the htmx fragment.
    let frag = c
        .request(
            axum::http::Method::GET,
            &format!(
                "/dashboard/table?range=custom&from={from}&to={to}&per=500&sort=clicks&dir=asc"
            ),
            None,
            &[("hx-request", "true")],
        )
        .await;
    frag.assert_status(StatusCode::OK);
    assert!(!frag.body.contains("<html"), "a fragment, not a page");
    let clicks: Vec<i64> = campaign_table(&frag.body)
        .iter()
        .map(|(_, c)| c[7].replace(',', "").parse().expect("clicks"))
        .collect();
    assert!(clicks.windows(2).all(|w| w[0] <= w[1]), "sorted by clicks");

    // A campaign's page: each day as the platform reported it, totals against the period before.
    let (id, cells) = &table[0];
    let (platform, external_id) = &ids[id];
    let page = c
        .get(&format!("/campaigns/{id}?range=custom&from={from}&to={to}"))
        .await;
    page.assert_status(StatusCode::OK);
    let previous = adpilot::analytics::range::DateRange { from, to }.previous();
    assert!(page.body.contains(&format!(
        "compared with {} to {}",
        previous.from, previous.to
    )));
    assert!(
        page.body.contains("tile-prev"),
        "tiles show the previous period"
    );
    let days_at = page.body.find("id=\"campaign-days\"").expect("day table");
    let days = &page.body[days_at..];
    let days = &days[days.find("<tbody>").expect("tbody")..days.find("</tbody>").expect("end")];
    let rows: Vec<Vec<String>> = days
        .split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<t")
                .skip(1)
                .filter_map(|cell| {
                    let inner = &cell[cell.find('>')? + 1..];
                    Some(strip_tags(&inner[..inner.find("</t")?]))
                })
                .collect()
        })
        .collect();
    assert_eq!(
        rows.len() as i64,
        (to - from).num_days() + 1,
        "every day of the range"
    );
    let currency: Currency = cells[4].parse().expect("currency");
    for row in &rows {
        let date: NaiveDate = row[0].parse().expect("date");
        let m = truth
            .iter()
            .find(|m| m.platform == *platform && &m.campaign_id == external_id && m.date == date);
        let (spend, impressions, clicks, conversions, revenue) = m.map_or((0, 0, 0, 0, 0), |m| {
            (
                m.spend_micros,
                m.impressions,
                m.clicks,
                m.conversions,
                m.revenue_micros,
            )
        });
        assert_eq!(row[1], format_major(spend, currency), "spend on {date}");
        assert_eq!(row[2], group_int(impressions), "impressions on {date}");
        assert_eq!(row[3], group_int(clicks), "clicks on {date}");
        assert_eq!(row[4], group_int(conversions), "conversions on {date}");
        assert_eq!(row[5], format_major(revenue, currency), "revenue on {date}");
    }
    assert!(rows.windows(2).all(|w| w[0][0] > w[1][0]), "newest first");
}

#[tokio::test]
async fn totals_are_shown_per_currency_and_never_summed() {
    let Synced {
        sb,
        t: _t,
        mut c,
        today,
    } = synced().await;
    let (from, to) = (today - Days::days(14), today - Days::days(1));
    let page = c
        .get(&format!("/dashboard?range=custom&from={from}&to={to}"))
        .await;
    page.assert_status(StatusCode::OK);
    for cur in ["EUR", "JPY", "USD"] {
        assert!(
            page.body.contains(&format!("Totals in {cur}")),
            "{cur} tiles"
        );
        let currency: Currency = cur.parse().expect("currency");
        let spend: i64 = sb
            .daily_metrics(&TruthQuery {
                from: Some(from),
                to: Some(to),
                ..TruthQuery::default()
            })
            .iter()
            .filter(|m| m.currency == currency)
            .map(|m| m.spend_micros)
            .sum();
        let tile = format!(
            "data-kpi=\"Spend\" data-currency=\"{cur}\">{}</div>",
            format_major(spend, currency)
        );
        assert!(page.body.contains(&tile), "{tile}");
    }
    assert_eq!(page.body.matches("<h2>Totals in ").count(), 3);
    // The previous period and deltas are shown.
    let prev_from = from - Days::days(14);
    assert!(page.body.contains(&format!(
        "compared with {prev_from} to {}",
        from - Days::days(1)
    )));
    assert!(page.body.contains("before: "));
}

#[tokio::test]
async fn presets_choose_the_right_dates_in_the_organizations_time_zone() {
    let t = TestApp::new().await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    // Without any account the dashboard points to Connections.
    let page = c.get("/dashboard").await;
    assert!(page.body.contains("No ad data yet") && page.body.contains("href=\"/connections\""));
    // With one account (inserted directly: this test is about dates, not syncing).
    let org = org_of(&t).await;
    let mut admin = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    diesel::sql_query("INSERT INTO ad_accounts (id, org_id, platform, external_id, name, currency, time_zone, status, managed) VALUES (gen_random_uuid(), $1, 'google', '1', 'A', 'USD', 'UTC', 'enabled', true)")
        .bind::<diesel::sql_types::Uuid, _>(org)
        .execute(&mut admin)
        .await
        .expect("account");
    let tz = "Pacific/Kiritimati";
    diesel::sql_query("UPDATE organizations SET time_zone = $1")
        .bind::<diesel::sql_types::Text, _>(tz)
        .execute(&mut admin)
        .await
        .expect("tz");
    let today = Utc::now()
        .with_timezone(&tz.parse::<chrono_tz::Tz>().expect("tz"))
        .date_naive();
    let expect = |from: NaiveDate, to: NaiveDate| format!("{from} to {to} (");
    let first = today.with_day0(0).expect("first");
    let last_month_end = first - Days::days(1);
    for (preset, from, to) in [
        ("today", today, today),
        ("yesterday", today - Days::days(1), today - Days::days(1)),
        ("last_7", today - Days::days(7), today - Days::days(1)),
        ("last_14", today - Days::days(14), today - Days::days(1)),
        ("last_30", today - Days::days(30), today - Days::days(1)),
        ("last_90", today - Days::days(90), today - Days::days(1)),
        ("this_month", first, today),
        (
            "last_month",
            last_month_end.with_day0(0).expect("first"),
            last_month_end,
        ),
    ] {
        let page = c.get(&format!("/dashboard?range={preset}")).await;
        page.assert_status(StatusCode::OK);
        assert!(
            page.body.contains(&expect(from, to)),
            "{preset}: expected {from} to {to}"
        );
    }
    // A bad custom range says why and falls back.
    let page = c
        .get("/dashboard?range=custom&from=2026-02-10&to=2026-01-01")
        .await;
    assert!(page.body.contains("The range ends before it starts."));
    // So does a range name we don't have (an old bookmark), quoting it back escaped.
    let page = c.get("/dashboard?range=last_60%3Cb%3E").await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains(
        "There is no date range called “last_60&#60;b&#62;”. Showing Last 30 days instead."
    ));
    assert!(!page.body.contains("last_60<b>"));
    assert!(
        page.body
            .contains(&expect(today - Days::days(30), today - Days::days(1)))
    );
}

async fn invite_client(t: &TestApp, owner: &mut Client) -> Client {
    let client = t.invite_and_join(owner, "c@example.com", "client").await;
    crate::hardening::grant_all_accounts(t, owner, "c@example.com").await;
    client
}

#[tokio::test]
async fn a_client_sees_campaigns_read_only_and_cannot_create() {
    let Synced { t, mut c, .. } = synced().await;
    let mut client = invite_client(&t, &mut c).await;
    let list = client.get("/campaigns").await;
    list.assert_status(StatusCode::OK);
    assert!(list.body.contains("Brand - Exact"));
    assert!(!list.body.contains("New campaign"), "no create button");
    let id = first_campaign_link(&list.body);
    let page = client.get(&format!("/campaigns/{id}")).await;
    page.assert_status(StatusCode::OK);
    assert!(
        !page.body.contains("/pause\"") && !page.body.contains("/budget\""),
        "no forms"
    );
    assert!(page.body.contains("Changes made by adpilot"));
    client
        .get("/campaigns/new")
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let r = client
        .post("/campaigns", &[("name", "x"), ("daily_budget", "5")])
        .await;
    r.assert_status(StatusCode::FORBIDDEN);
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM campaign_pushes").await,
        0
    );
    // The owner does see the controls.
    let page = c.get(&format!("/campaigns/{id}")).await;
    assert!(page.body.contains("Change budget"));
    let list = c.get("/campaigns").await;
    assert!(list.body.contains("New campaign"));
}

#[tokio::test]
async fn another_organization_cannot_open_a_campaign() {
    let Synced { t, mut c, .. } = synced().await;
    let list = c.get("/campaigns").await;
    let id = first_campaign_link(&list.body);
    c.get(&format!("/campaigns/{id}"))
        .await
        .assert_status(StatusCode::OK);
    let mut b = t.sign_up("bob@example.com", "Other").await;
    b.get(&format!("/campaigns/{id}"))
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let list = b.get("/campaigns").await;
    assert!(!list.body.contains(&id));
    b.get("/campaigns/not-an-id")
        .await
        .assert_status(StatusCode::NOT_FOUND);
    let page = b.get("/dashboard").await;
    assert!(page.body.contains("No ad data yet"));
}

fn first_campaign_link(html: &str) -> String {
    html.split("href=\"/campaigns/")
        .skip(1)
        .filter_map(|s| s.get(..36))
        .find(|s| s.parse::<Uuid>().is_ok())
        .expect("a campaign link")
        .to_string()
}

fn workers(t: &TestApp) -> RunnerHandle {
    Runner::new(
        t.app.clone(),
        adpilot::jobs::catalog::registry(),
        WorkerOptions {
            workers: 2,
            poll_interval: Duration::from_millis(25),
            lease: Duration::from_secs(5),
            ..WorkerOptions::default()
        },
    )
    .start()
}

async fn wait_until_settled(c: &mut Client, status_path: &str) -> String {
    for _ in 0..200 {
        let r = c
            .request(
                axum::http::Method::GET,
                status_path,
                None,
                &[("hx-request", "true")],
            )
            .await;
        r.assert_status(StatusCode::OK);
        if !r.body.contains("data-hx-trigger=\"every 2s\"") {
            return r.body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the pushes never settled");
}

fn account_value(page: &str, label_part: &str) -> String {
    let at = page.find(label_part).expect("account listed");
    let before = &page[..at];
    let v = before.rfind("value=\"").expect("value") + 7;
    before[v..v + 36].to_string()
}

#[tokio::test]
async fn creating_a_campaign_pushes_it_to_each_platform_and_shows_the_outcome() {
    let Synced { sb, t, mut c, .. } = synced().await;
    let runner = workers(&t);
    let form = c.get("/campaigns/new").await;
    form.assert_status(StatusCode::OK);
    let google_us = account_value(&form.body, "Google Ads: Acme Outdoor US");
    let tiktok_us = account_value(&form.body, "TikTok Ads: Globex Apparel");
    let r = c
        .post(
            "/campaigns",
            &[
                ("name", "Winter Sale 2026"),
                ("account", &google_us),
                ("account", &tiktok_us),
                ("objective", "traffic"),
                ("daily_budget", "42.50"),
                ("start", "paused"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let status_path = r.location().expect("status page").to_string();
    let page = c.get(&status_path).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Winter Sale 2026"));
    let settled = wait_until_settled(&mut c, &status_path).await;
    assert_eq!(
        settled.matches("badge ok\">created").count(),
        2,
        "{settled}"
    );
    let created: Vec<_> = sb
        .campaigns(&TruthQuery::default())
        .into_iter()
        .filter(|c| c.name == "Winter Sale 2026")
        .collect();
    assert_eq!(created.len(), 2);
    for tc in &created {
        assert_eq!(tc.daily_budget_micros, 42_500_000);
        assert!(settled.contains(&tc.campaign_id), "platform id shown");
    }
    // The new campaigns are in the list at once.
    let list = c.get("/campaigns?q=winter").await;
    assert_eq!(list.body.matches(">Winter Sale 2026</a>").count(), 2);

    // A platform refusal comes back in plain words.
    let r = c
        .post(
            "/campaigns",
            &[
                ("name", "Winter Sale 2026"),
                ("account", &tiktok_us),
                ("objective", "traffic"),
                ("daily_budget", "10"),
                ("start", "active"),
            ],
        )
        .await;
    let status_path = r.location().expect("status page").to_string();
    let settled = wait_until_settled(&mut c, &status_path).await;
    assert!(settled.contains("badge bad\">error"), "{settled}");
    assert!(
        settled.contains("TikTok Ads refused the campaign")
            && settled.contains("Campaign name already exists"),
        "{settled}"
    );
    runner.shutdown().await;
}

/// The platforms offer no idempotency key for creating a campaign: a create whose answer was
/// lost must be found on the platform, not sent again (which would make a second campaign,
/// or on Google and TikTok fail with "name already exists" for a campaign that does exist).
#[tokio::test]
async fn a_create_whose_answer_was_lost_is_found_on_the_platform_not_made_twice() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::build_with(&[], Some(&sb), |c| {
        c.platforms.request_timeout = Duration::from_millis(1500);
    })
    .await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    for p in ["google", "meta", "tiktok"] {
        connect(&mut c, p).await;
    }
    let runner = Runner::new(
        t.app.clone(),
        adpilot::jobs::catalog::registry(),
        WorkerOptions {
            workers: 2,
            poll_interval: Duration::from_millis(25),
            lease: Duration::from_secs(5),
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_secs(1),
            ..WorkerOptions::default()
        },
    )
    .start();
    let form = c.get("/campaigns/new").await;
    let google = account_value(&form.body, "Google Ads: Acme Outdoor US");
    let meta = account_value(&form.body, "Meta Ads: Northwind Shop");
    let tiktok = account_value(&form.body, "TikTok Ads: Globex Apparel");
    let mut create = async |accounts: &[&str]| {
        let mut fields = vec![
            ("name", "Spring Sale"),
            ("objective", "traffic"),
            ("daily_budget", "25"),
            ("start", "paused"),
        ];
        fields.extend(accounts.iter().map(|a| ("account", *a)));
        let r = c.post("/campaigns", &fields).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let status_path = r.location().expect("status page").to_string();
        wait_until_settled(&mut c, &status_path).await
    };
    let named = |p: Platform| {
        let mut ids: Vec<String> = sb
            .campaigns(&TruthQuery::default())
            .into_iter()
            .filter(|k| k.platform == p && k.name == "Spring Sale")
            .map(|k| k.campaign_id)
            .collect();
        ids.sort();
        ids
    };
    let creates = |p: Platform| {
        sb.calls()
            .iter()
            .filter(|k| {
                k.platform == Some(p)
                    && k.method == "POST"
                    && (k.path.contains("campaigns:mutate")
                        || k.path.ends_with("/campaigns")
                        || k.path.contains("campaign/create"))
            })
            .count()
    };

    // Meta allows two campaigns with one name: one already exists before the lost answer.
    let settled = create(&[&meta]).await;
    assert!(settled.contains("badge ok\">created"), "{settled}");
    let before = named(Platform::Meta);
    assert_eq!(before.len(), 1);

    // Each platform carries the create out, then its answer never reaches adpilot.
    for (p, path) in [
        (Platform::Google, "campaigns:mutate"),
        (Platform::Meta, "/campaigns"),
        (Platform::Tiktok, "campaign/create"),
    ] {
        sb.inject_fault(
            FaultSpec::new(FaultKind::LostResponse)
                .platform(p)
                .method("POST")
                .path_contains(path)
                .delay_ms(3000)
                .count(1),
        )
        .expect("fault");
    }
    sb.clear_calls();
    let settled = create(&[&google, &meta, &tiktok]).await;
    assert_eq!(
        settled.matches("badge ok\">created").count(),
        3,
        "{settled}"
    );
    assert_eq!(
        settled.matches("answer was lost on the way").count(),
        3,
        "{settled}"
    );
    assert_eq!(named(Platform::Google).len(), 1, "one Google campaign");
    assert_eq!(named(Platform::Tiktok).len(), 1, "one TikTok campaign");
    let meta_now = named(Platform::Meta);
    assert_eq!(
        meta_now.len(),
        2,
        "one new Meta campaign beside the old one"
    );
    let new_meta: Vec<&String> = meta_now.iter().filter(|i| !before.contains(i)).collect();
    assert_eq!(new_meta.len(), 1);
    assert!(
        settled.contains(new_meta[0].as_str()) && !settled.contains(before[0].as_str()),
        "the new campaign is the one recorded, not the older namesake: {settled}"
    );
    for p in [Platform::Google, Platform::Meta, Platform::Tiktok] {
        assert_eq!(creates(p), 1, "{p:?}: the create was sent once");
    }

    // A refusal that proves nothing was made (a 503 before any work) is sent again after a
    // look that finds nothing new, and the older namesakes are left alone.
    sb.inject_fault(
        FaultSpec::new(FaultKind::ServerError)
            .platform(Platform::Meta)
            .method("POST")
            .path_contains("/campaigns")
            .count(1),
    )
    .expect("fault");
    let settled = create(&[&meta]).await;
    assert!(settled.contains("badge ok\">created"), "{settled}");
    assert!(!settled.contains("answer was lost"), "{settled}");
    assert_eq!(named(Platform::Meta).len(), 3, "a third, made by the retry");
    runner.shutdown().await;
}

/// A push whose job stopped trying (its last attempt failed or its worker died) stops showing
/// "sending…", says what to check, and is finished by retrying the job from the Jobs page.
#[tokio::test]
async fn a_push_whose_job_gave_up_says_so_and_a_retry_from_the_jobs_page_finishes_it() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    connect(&mut c, "google").await;
    let form = c.get("/campaigns/new").await;
    let google = account_value(&form.body, "Google Ads: Acme Outdoor US");
    let r = c
        .post(
            "/campaigns",
            &[
                ("name", "Autumn Sale"),
                ("account", &google),
                ("objective", "traffic"),
                ("daily_budget", "30"),
                ("start", "paused"),
            ],
        )
        .await;
    let status_path = r.location().expect("status page").to_string();
    // What the reaper does to a job whose last attempt's worker died.
    let mut admin = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let job: Id = diesel::sql_query(
        "UPDATE jobs SET state = 'dead', attempts = max_attempts, finished_at = now(),
           last_error = 'the worker stopped before finishing (its lease expired)'
         WHERE kind = 'campaigns.push' RETURNING id",
    )
    .get_result(&mut admin)
    .await
    .expect("the push's job");
    let page = c
        .request(
            axum::http::Method::GET,
            &status_path,
            None,
            &[("hx-request", "true")],
        )
        .await;
    page.assert_status(StatusCode::OK);
    assert!(
        !page.body.contains("data-hx-trigger=\"every 2s\""),
        "stops polling: {}",
        page.body
    );
    assert!(page.body.contains("badge bad\">stopped"), "{}", page.body);
    assert!(
        page.body.contains("its lease expired")
            && page
                .body
                .contains("check Google Ads for &#34;Autumn Sale&#34;")
            && page.body.contains("Jobs page"),
        "{}",
        page.body
    );

    let r = c.post(&format!("/jobs/{}/retry", job.id), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let runner = workers(&t);
    let settled = wait_until_settled(&mut c, &status_path).await;
    assert!(settled.contains("badge ok\">created"), "{settled}");
    let made = sb
        .campaigns(&TruthQuery::default())
        .into_iter()
        .filter(|k| k.name == "Autumn Sale")
        .count();
    assert_eq!(made, 1);
    runner.shutdown().await;
}

#[tokio::test]
async fn bad_campaign_input_comes_back_with_field_errors_and_saves_nothing() {
    let Synced { t, mut c, .. } = synced().await;
    let form = c.get("/campaigns/new").await;
    let usd = account_value(&form.body, "Google Ads: Acme Outdoor US");
    let eur = account_value(&form.body, "Google Ads: Acme Outdoor DE");
    let jpy = account_value(&form.body, "Google Ads: Acme Outdoor JP");
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (
            vec![("name", "  "), ("account", &usd), ("daily_budget", "10")],
            "Give the campaign a name.",
        ),
        (
            vec![("name", "A"), ("account", &usd), ("daily_budget", "0")],
            "The amount must be above zero.",
        ),
        (
            vec![("name", "A"), ("account", &usd), ("daily_budget", "abc")],
            "Write the amount with digits only",
        ),
        (
            vec![("name", "A"), ("daily_budget", "10")],
            "Choose at least one ad account.",
        ),
        (
            vec![
                ("name", "A"),
                ("account", &usd),
                ("account", &eur),
                ("daily_budget", "10"),
            ],
            "different currencies (EUR, USD)",
        ),
        (
            vec![("name", "A"), ("account", &jpy), ("daily_budget", "10.5")],
            "JPY amounts have 0 decimal places.",
        ),
        (
            vec![
                ("name", "A"),
                ("account", "not-mine"),
                ("daily_budget", "10"),
            ],
            "not managed by adpilot",
        ),
    ];
    for (fields, message) in cases {
        let mut fields = fields;
        fields.push(("objective", "traffic"));
        let r = c.post("/campaigns", &fields).await;
        r.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
        assert!(r.body.contains(message), "expected {message:?}");
        assert!(r.body.contains("aria-invalid=\"true\""));
    }
    // The name typed is kept.
    let r = c
        .post(
            "/campaigns",
            &[
                ("name", "Keep me"),
                ("daily_budget", "abc"),
                ("objective", "traffic"),
            ],
        )
        .await;
    assert!(r.body.contains("value=\"Keep me\""));
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM campaign_pushes").await,
        0
    );
    assert_eq!(
        count(
            &t,
            "SELECT count(*) AS n FROM jobs WHERE kind = 'campaigns.push'"
        )
        .await,
        0
    );
}

/// Column labels of the campaign table, in order.
fn campaign_table_headers(html: &str) -> Vec<String> {
    let start = html.find("id=\"campaign-table\"").expect("campaign table");
    let head = &html[start..];
    let head = &head[..head.find("</thead>").expect("thead")];
    head.split("<th scope")
        .skip(1)
        .map(|th| {
            strip_tags(&th[th.find('>').expect("th") + 1..])
                .trim()
                .to_string()
        })
        .collect()
}

/// Amounts in two currencies cannot be ordered without an exchange rate: sorting by a money
/// column groups the rows by currency and orders them by the amount within each.
#[tokio::test]
async fn money_columns_sort_within_each_currency() {
    let Synced {
        t: _t,
        mut c,
        today,
        ..
    } = synced().await;
    let (from, to) = (today - Days::days(30), today - Days::days(2));
    for (sort, label, dir) in [("spend", "Spend", "desc"), ("revenue", "Revenue", "asc")] {
        let frag = c
            .request(
                axum::http::Method::GET,
                &format!("/dashboard/table?range=custom&from={from}&to={to}&per=500&sort={sort}&dir={dir}"),
                None,
                &[("hx-request", "true")],
            )
            .await;
        frag.assert_status(StatusCode::OK);
        let headers = campaign_table_headers(&frag.body);
        let money = headers
            .iter()
            .position(|h| h.starts_with(label))
            .unwrap_or_else(|| panic!("a {label} column in {headers:?}"));
        let currency = headers
            .iter()
            .position(|h| h.starts_with("Currency"))
            .expect("a currency column");
        let rows: Vec<(String, f64)> = campaign_table(&frag.body)
            .into_iter()
            .map(|(_, cells)| {
                let v = cells[money].replace(',', "");
                (
                    cells[currency].clone(),
                    v.parse().unwrap_or_else(|_| panic!("{label} {v}")),
                )
            })
            .collect();
        let currencies: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        let mut seen: Vec<&str> = currencies.clone();
        seen.dedup();
        let mut distinct = seen.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() > 1, "several currencies: {distinct:?}");
        assert_eq!(
            seen.len(),
            distinct.len(),
            "sorted by {sort}, each currency's rows are together: {currencies:?}"
        );
        for run in rows.chunk_by(|a, b| a.0 == b.0) {
            let ordered = run.windows(2).all(|w| {
                if dir == "asc" {
                    w[0].1 <= w[1].1
                } else {
                    w[0].1 >= w[1].1
                }
            });
            assert!(ordered, "{sort} {dir} within {}: {run:?}", run[0].0);
        }
    }
}

// ---------- the table below the campaigns: ad groups / ad sets and ads ----------

type LevelSums = HashMap<Uuid, (Currency, adpilot::analytics::queries::Metrics)>;

/// Each object's sums over `from..=to` straight from the stored level rows (admin role), with
/// its campaign's currency.
async fn stored_level_sums(
    t: &TestApp,
    level: adpilot::platforms::Level,
    from: NaiveDate,
    to: NaiveDate,
) -> LevelSums {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Text)]
        currency: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        impressions: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        clicks: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        spend_micros: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        conversions: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        revenue_micros: i64,
    }
    let (daily, obj) = match level {
        adpilot::platforms::Level::Ad => ("ad_metrics_daily", "ad_id"),
        _ => ("ad_group_metrics_daily", "ad_group_id"),
    };
    let mut c = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT m.{obj} AS id, c.currency, sum(m.impressions)::int8 AS impressions,
                sum(m.clicks)::int8 AS clicks, sum(m.spend_micros)::int8 AS spend_micros,
                sum(m.conversions)::text AS conversions, sum(m.revenue_micros)::int8 AS revenue_micros
         FROM {daily} m JOIN campaigns c ON c.id = m.campaign_id
         WHERE m.date BETWEEN $1 AND $2
         GROUP BY m.{obj}, c.currency"
    ))
    .bind::<diesel::sql_types::Date, _>(from)
    .bind::<diesel::sql_types::Date, _>(to)
    .load(&mut c)
    .await
    .expect("level sums");
    rows.into_iter()
        .map(|r| {
            (
                r.id,
                (
                    r.currency.parse().expect("currency"),
                    adpilot::analytics::queries::Metrics {
                        impressions: r.impressions,
                        clicks: r.clicks,
                        spend_micros: r.spend_micros,
                        conversions: r.conversions.parse().expect("decimal"),
                        revenue_micros: r.revenue_micros,
                    },
                ),
            )
        })
        .collect()
}

fn by_currency(
    sums: &LevelSums,
) -> BTreeMap<Currency, (i64, adpilot::analytics::queries::Metrics)> {
    let mut out: BTreeMap<Currency, (i64, adpilot::analytics::queries::Metrics)> = BTreeMap::new();
    for (currency, m) in sums.values() {
        let e = out.entry(*currency).or_default();
        e.0 += 1;
        e.1.impressions += m.impressions;
        e.1.clicks += m.clicks;
        e.1.spend_micros += m.spend_micros;
        e.1.conversions += m.conversions;
        e.1.revenue_micros += m.revenue_micros;
    }
    out
}

async fn level_page_of(
    t: &TestApp,
    org: Uuid,
    level: adpilot::platforms::Level,
    range: adpilot::analytics::range::DateRange,
    sort: adpilot::analytics::queries::Sort,
    limit: Option<i64>,
    offset: i64,
) -> adpilot::analytics::level_table::LevelPage {
    t.app
        .db
        .tenant(org, async move |c| {
            Ok::<_, adpilot::db::DbError>(
                adpilot::analytics::level_table::level_page(
                    c,
                    level,
                    range,
                    &adpilot::analytics::queries::Filters::default(),
                    sort,
                    limit,
                    offset,
                )
                .await?,
            )
        })
        .await
        .expect("level page")
}

/// The ids of the rows of the dashboard's level table, in the order shown.
fn level_table_ids(html: &str, path: &str) -> Vec<Uuid> {
    let start = html.find("class=\"level-rows\"").expect("level table");
    let body = &html[start..];
    let body = &body[body.find("<tbody>").expect("tbody")..body.find("</tbody>").expect("end")];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            let at = row.find(path).expect("object link") + path.len();
            row[at..at + 36].parse().expect("object id")
        })
        .collect()
}

/// The dashboard switched to ad groups or ads: per currency, its totals and every row equal the
/// sums of the stored level rows over the range (and the previous period's), the SQL sort and
/// pages agree with the campaign table's ordering, the page shows a page of rows linking down
/// with the range kept, Meta rows say "ad set", and the CSV carries every row.
#[tokio::test]
async fn the_level_switch_shows_the_stored_level_rows_per_currency_sorted_paged_and_in_csv() {
    use adpilot::analytics::queries::{CampaignRow, Sort, SortKey};
    use adpilot::analytics::range::DateRange;
    use adpilot::platforms::Level;
    let Synced {
        t, mut c, today, ..
    } = synced().await;
    let org = org_of(&t).await;
    let range = DateRange {
        from: today - Days::days(29),
        to: today,
    };
    let prev = range.previous();
    for (level, path, tab) in [
        (Level::AdGroup, "/ad-groups/", "ad_group"),
        (Level::Ad, "/ads/", "ad"),
    ] {
        let cur = stored_level_sums(&t, level, range.from, range.to).await;
        let before = stored_level_sums(&t, level, prev.from, prev.to).await;
        assert!(
            cur.len() > 10,
            "the sandbox has {level:?} rows ({})",
            cur.len()
        );
        let want = by_currency(&cur);
        let want_prev = by_currency(&before);
        assert!(want.len() >= 3, "three currencies: {:?}", want.keys());

        let all = level_page_of(&t, org, level, range, Sort::default(), None, 0).await;
        assert_eq!(all.total, cur.len() as i64);
        assert_eq!(all.rows.len(), cur.len());
        let got: BTreeMap<Currency, (i64, _, _)> = all
            .totals
            .iter()
            .map(|x| {
                (
                    x.currency,
                    (x.objects, x.current.clone(), x.previous.clone()),
                )
            })
            .collect();
        for (currency, (n, m)) in &want {
            let g = got.get(currency).expect("a total per currency");
            assert_eq!((g.0, &g.1), (*n, m), "{level:?} {currency} totals");
            let p = want_prev
                .get(currency)
                .map(|x| x.1.clone())
                .unwrap_or_default();
            assert_eq!(g.2, p, "{level:?} {currency} previous totals");
        }
        for r in &all.rows {
            let (currency, m) = cur.get(&r.id).expect("a stored object");
            assert_eq!(
                (&r.currency, &r.metrics),
                (currency, m),
                "{level:?} {}",
                r.name
            );
            let p = before.get(&r.id).map(|x| x.1.clone()).unwrap_or_default();
            assert_eq!(r.previous, p, "{level:?} {} previous", r.name);
            assert_eq!(r.group.is_some(), level == Level::Ad);
        }

        // The database's order is the campaign table's order, and pages cut it without gaps.
        for sort in [
            Sort::default(),
            Sort {
                key: SortKey::Cpa,
                desc: false,
            },
            Sort {
                key: SortKey::Roas,
                desc: true,
            },
            Sort {
                key: SortKey::Ctr,
                desc: true,
            },
            Sort {
                key: SortKey::Name,
                desc: false,
            },
            Sort {
                key: SortKey::Account,
                desc: true,
            },
        ] {
            let full = level_page_of(&t, org, level, range, sort, None, 0).await;
            let as_row = |r: &adpilot::analytics::level_table::LevelRow| CampaignRow {
                campaign_id: r.id,
                name: r.name.clone(),
                platform: r.platform,
                status: r.status.clone(),
                account_id: Uuid::nil(),
                account_name: r.account_name.clone(),
                currency: r.currency,
                metrics: r.metrics.clone(),
            };
            let mut expected: Vec<CampaignRow> = full.rows.iter().map(as_row).collect();
            expected.sort_by(|a, b| sort.compare(a, b));
            let ids: Vec<Uuid> = full.rows.iter().map(|r| r.id).collect();
            let want_ids: Vec<Uuid> = expected.iter().map(|r| r.campaign_id).collect();
            assert_eq!(ids, want_ids, "{level:?} sorted by {sort:?}");
            // Four or five pages: the cuts fall mid-currency and mid-ties.
            let per = full.total / 4 + 1;
            let mut paged = Vec::new();
            let mut offset = 0;
            loop {
                let p = level_page_of(&t, org, level, range, sort, Some(per), offset).await;
                assert_eq!(p.total, full.total);
                if p.rows.is_empty() {
                    break;
                }
                paged.extend(p.rows.iter().map(|r| r.id));
                offset += per;
            }
            assert_eq!(paged, ids, "{level:?} pages of {sort:?}");
        }

        // The page: the switch, one page of rows in the database's order, totals per
        // currency, links down with the range kept.
        let q = format!(
            "range=custom&from={}&to={}&level={tab}&sort=cpa&dir=asc&per=10",
            range.from, range.to
        );
        let page = c.get(&format!("/dashboard?{q}")).await;
        page.assert_status(StatusCode::OK);
        let ids = level_table_ids(&page.body, path);
        let first10 = level_page_of(
            &t,
            org,
            level,
            range,
            Sort {
                key: SortKey::Cpa,
                desc: false,
            },
            Some(10),
            0,
        )
        .await;
        assert_eq!(ids, first10.rows.iter().map(|r| r.id).collect::<Vec<_>>());
        assert!(
            page.body.contains("aria-current=\"page\">"),
            "the current level is marked"
        );
        assert!(
            page.body.contains(&format!(
                "{path}{}?range=custom&#38;from={}&#38;to={}",
                ids[0], range.from, range.to
            )),
            "a row links to its page with the range"
        );
        assert!(
            page.body
                .contains(&format!("page 1 of {}", cur.len().div_ceil(10))),
            "paged by 10"
        );
        for (currency, (n, m)) in &want {
            let noun = if level == Level::Ad {
                "ads"
            } else {
                "ad groups and ad sets"
            };
            let spend = format_major(m.spend_micros, *currency);
            let total_row = format!("All {n} {noun} in {currency}");
            let at = page
                .body
                .find(&total_row)
                .unwrap_or_else(|| panic!("{total_row}"));
            let tail = &page.body[at..];
            let row_end = tail.find("</tr>").expect("end of the totals row");
            assert!(
                tail[..row_end].contains(&format!(">{spend}<")),
                "{total_row}: spend {spend}"
            );
        }
        if level == Level::AdGroup {
            assert!(page.body.contains(">ad set</span>"), "Meta rows say ad set");
            assert!(
                page.body.contains(">ad group</span>"),
                "the others say ad group"
            );
        }
        // The switch keeps the range, the filters and the sort.
        assert!(page.body.contains(&format!(
            "/dashboard?range=custom&#38;from={}&#38;to={}&#38;sort=cpa&#38;dir=asc&#38;per=10&#38;kpi1=spend&#38;kpi2=conversions#campaigns",
            range.from, range.to
        )), "a link back to campaigns with the same range and sort");
        // The form keeps the level when the range or filters change.
        assert!(
            page.body
                .contains(&format!("name=\"level\" value=\"{tab}\""))
        );

        // The htmx fragment is the same table.
        let frag = c.get(&format!("/dashboard/table?{q}")).await;
        frag.assert_status(StatusCode::OK);
        assert!(frag.body.contains("class=\"level-rows\""));

        // The CSV: every row in the table's order, with its own numbers.
        let csv = c.get(&format!("/dashboard/campaigns.csv?{q}")).await;
        csv.assert_status(StatusCode::OK);
        let (header, rows) = csv_rows(&csv.body);
        assert_eq!(&header[..3], ["Level", "ID", "Name"]);
        assert_eq!(rows.len(), cur.len(), "every {level:?} row");
        let spend_col = header.iter().position(|h| h == "Spend").expect("spend");
        let cur_col = header
            .iter()
            .position(|h| h == "Currency")
            .expect("currency");
        let full = level_page_of(
            &t,
            org,
            level,
            range,
            Sort {
                key: SortKey::Cpa,
                desc: false,
            },
            None,
            0,
        )
        .await;
        for (row, want_row) in rows.iter().zip(&full.rows) {
            let id: Uuid = row[1].parse().expect("id");
            assert_eq!(id, want_row.id, "the CSV keeps the table's order");
            let (currency, m) = cur.get(&id).expect("stored");
            assert_eq!(row[cur_col], currency.as_str());
            assert_eq!(
                row[spend_col],
                format_major(m.spend_micros, *currency).replace(',', ""),
                "{level:?} {id} spend"
            );
            let word = &row[0];
            match level {
                Level::Ad => assert_eq!(word, "ad"),
                _ => assert!(word == "ad set" || word == "ad group", "{word}"),
            }
        }
    }
}

/// A client given one ad account sees nothing of the others at any level: not on the
/// dashboard's ad-group and ad tables or their CSVs, not on the ad group, ad or CSV pages of
/// another account (404), and the database itself hides the other accounts' level rows.
#[tokio::test]
async fn a_client_of_one_account_sees_nothing_of_another_account_at_any_level() {
    let Synced {
        t, mut c, today, ..
    } = synced().await;
    let org = org_of(&t).await;
    #[derive(diesel::QueryableByName)]
    struct Obj {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        account_id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        campaign_id: Uuid,
        #[diesel(sql_type = diesel::sql_types::Text)]
        kind: String,
    }
    let mut admin = adpilot::db::connect_one(&t.db.admin_url)
        .await
        .expect("admin");
    let objects: Vec<Obj> = diesel::sql_query(
        "SELECT id, account_id, campaign_id, 'group' AS kind FROM ad_groups
         UNION ALL SELECT id, account_id, campaign_id, 'ad' FROM ads",
    )
    .load(&mut admin)
    .await
    .expect("objects");
    // The granted account: a Meta one (ad sets), with level rows.
    #[derive(diesel::QueryableByName)]
    struct Acc {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    let mine: Acc = diesel::sql_query(
        "SELECT a.id FROM ad_accounts a
         WHERE a.platform = 'meta' AND EXISTS (SELECT 1 FROM ad_metrics_daily m WHERE m.account_id = a.id)
         ORDER BY a.id LIMIT 1",
    )
    .get_result(&mut admin)
    .await
    .expect("a meta account with ads");
    let mine = mine.id;
    let (own, others): (Vec<&Obj>, Vec<&Obj>) = objects.iter().partition(|o| o.account_id == mine);
    assert!(!own.is_empty() && !others.is_empty());

    let mut client = t
        .invite_and_join(&mut c, "customer@one.test", "client")
        .await;
    let client_id = {
        let mut admin = adpilot::db::connect_one(&t.db.admin_url)
            .await
            .expect("admin");
        diesel::sql_query("SELECT id FROM users WHERE email = 'customer@one.test'")
            .get_result::<Acc>(&mut admin)
            .await
            .expect("client")
            .id
    };
    c.get("/settings").await;
    let r = c
        .post(
            &format!("/settings/members/{client_id}/accounts"),
            &[("account", &mine.to_string())],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "grant: {}", r.body);

    let range = format!(
        "range=custom&from={}&to={}&per=500",
        today - Days::days(29),
        today
    );
    let mut seen = String::new();
    for level in ["ad_group", "ad"] {
        for path in [
            format!("/dashboard?{range}&level={level}"),
            format!("/dashboard/table?{range}&level={level}"),
            format!("/dashboard/campaigns.csv?{range}&level={level}"),
            format!(
                "/dashboard?{range}&level={level}&account={}",
                others[0].account_id
            ),
        ] {
            let r = client.get(&path).await;
            r.assert_status(StatusCode::OK);
            for o in &others {
                assert!(
                    !r.body.contains(&o.id.to_string()),
                    "client GET {path} shows another account's {} {}",
                    o.kind,
                    o.id
                );
            }
            seen.push_str(&r.body);
        }
    }
    assert!(
        own.iter().any(|o| seen.contains(&o.id.to_string())),
        "the client sees the granted account's ad sets and ads"
    );
    for o in others.iter().take(40) {
        let paths = if o.kind == "group" {
            vec![
                format!("/ad-groups/{}", o.id),
                format!("/ad-groups/{}/ads.csv", o.id),
                format!("/campaigns/{}/ad-groups.csv", o.campaign_id),
                format!("/campaigns/{}", o.campaign_id),
            ]
        } else {
            vec![format!("/ads/{}", o.id), format!("/ads/{}/days.csv", o.id)]
        };
        for path in paths {
            client.get(&path).await.assert_status(StatusCode::NOT_FOUND);
        }
    }
    let own_group = own.iter().find(|o| o.kind == "group").expect("own ad set");
    client
        .get(&format!("/ad-groups/{}", own_group.id))
        .await
        .assert_status(StatusCode::OK);

    // The database hides them too, whatever the query joins.
    let scope = adpilot::auth::scope::account_scope(&t.app.db, org, client_id)
        .await
        .expect("scope");
    assert_eq!(scope, Some(vec![mine]));
    let count = |scope: Option<Vec<Uuid>>| {
        let db = t.app.db.clone();
        async move {
            adpilot::db::with_account_scope(
                scope,
                db.tenant(org, async move |c| {
                    #[derive(diesel::QueryableByName)]
                    struct N {
                        #[diesel(sql_type = diesel::sql_types::BigInt)]
                        n: i64,
                    }
                    let mut total = 0;
                    for table in [
                        "ad_groups",
                        "ads",
                        "ad_group_metrics_daily",
                        "ad_metrics_daily",
                    ] {
                        let n: N = diesel::sql_query(format!(
                            "SELECT count(*) AS n FROM {table} WHERE account_id <> $1"
                        ))
                        .bind::<diesel::sql_types::Uuid, _>(mine)
                        .get_result(c)
                        .await?;
                        total += n.n;
                    }
                    for sql in [
                        "SELECT count(*) AS n FROM ad_group_metric_revisions r
                         WHERE NOT EXISTS (SELECT 1 FROM ad_groups g WHERE g.id = r.ad_group_id AND g.account_id = $1)",
                        "SELECT count(*) AS n FROM ad_metric_revisions r
                         WHERE NOT EXISTS (SELECT 1 FROM ads a WHERE a.id = r.ad_id AND a.account_id = $1)",
                    ] {
                        let n: N = diesel::sql_query(sql)
                            .bind::<diesel::sql_types::Uuid, _>(mine)
                            .get_result(c)
                            .await?;
                        total += n.n;
                    }
                    Ok::<_, adpilot::db::DbError>(total)
                }),
            )
            .await
            .expect("count")
        }
    };
    assert!(
        count(None).await > 0,
        "unscoped, the other accounts' rows are there"
    );
    assert_eq!(
        count(scope).await,
        0,
        "the client's scope hides every one of them"
    );
}

/// The level tables as a marketer sees them in Chromium, on a desktop (1280 px) and a phone
/// (390 px): the dashboard switched to ad sets and ads (htmx swaps the table and the address),
/// down to an ad and back up by the breadcrumbs; no page is wider than the window (tables
/// scroll in their own box), and every page has its heading and labelled table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_level_pages_read_well_in_chromium_on_a_desktop_and_a_phone() {
    let Some(b) = crate::webdriver::Browser::start("levels").await else {
        return;
    };
    let at = now();
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(at),
        ..SandboxConfig::default()
    })
    .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let t = TestApp::build(&["--public-url", &url], Some(&sb)).await;
    let app = t.app.clone();
    let server = tokio::spawn(async move {
        let _ = adpilot::server::serve(app, listener).await;
    });
    // Forms come from the live server's origin.
    let mut c = t.client();
    c.origin = Some(url.clone());
    c.get("/signup").await.assert_status(StatusCode::OK);
    let r = c
        .post(
            "/signup",
            &[
                ("name", "Ann"),
                ("email", "ann@example.com"),
                ("password", "a good long password"),
                ("org_name", "Acme"),
                ("time_zone", "UTC"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "sign-up: {}", r.body);
    for p in ["google", "meta"] {
        connect(&mut c, p).await;
    }
    let org = org_of(&t).await;
    for a in adpilot::analytics::sync::accounts_to_sync(&t.app, org)
        .await
        .expect("accounts")
    {
        for _ in 0..20 {
            if sync_account(&t.app, org, a, at)
                .await
                .expect("sync")
                .backfill_done
            {
                break;
            }
        }
    }

    b.goto(&format!("{url}/login")).await;
    b.fill("input[name=email]", "ann@example.com").await;
    b.fill("input[name=password]", "a good long password").await;
    b.click("form button[type=submit]").await;
    b.wait_for_text("Acme", Duration::from_secs(10), None).await;

    for (width, name) in [(1280, "desktop"), (390, "phone")] {
        b.set_window(width, 1000).await;
        b.goto(&format!("{url}/dashboard?range=last_7&level=ad_group"))
            .await;
        b.wait_for_text("By ad group", Duration::from_secs(10), None)
            .await;
        b.script(
            "document.getElementById('campaigns').scrollIntoView();",
            vec![],
        )
        .await;
        b.shot(&format!("{name}-dashboard-ad-sets")).await;
        assert!(
            !b.page_overflows().await,
            "{name}: the dashboard fits the window"
        );
        let text = b.text("#campaign-table").await;
        assert!(
            text.contains("AD SET") || text.contains("ad set"),
            "{name}: Meta rows say ad set"
        );
        assert!(text.contains("All "), "{name}: totals per currency");

        // The switch swaps the table in place and keeps the address in step.
        b.click_text("Ads").await;
        b.find("#campaign-table .level-rows tbody tr th a[href^='/ads/']")
            .await;
        assert!(
            b.url().await.contains("level=ad"),
            "{name}: the address says ads"
        );
        b.shot(&format!("{name}-dashboard-ads")).await;
        assert!(!b.page_overflows().await, "{name}: the ads table fits");

        // Down to an ad, then up through the breadcrumbs.
        b.click("#campaign-table .level-rows tbody tr th a").await;
        b.wait_for_text("Day by day", Duration::from_secs(10), None)
            .await;
        let at = b.url().await;
        assert!(
            at.contains("/ads/") && at.contains("range=last_7"),
            "{name}: the ad's page keeps the range ({at})"
        );
        b.shot(&format!("{name}-ad")).await;
        assert!(!b.page_overflows().await, "{name}: the ad page fits");
        b.click("nav.breadcrumbs a[href^='/ad-groups/']").await;
        b.wait_for_text("Ads (", Duration::from_secs(10), None)
            .await;
        b.shot(&format!("{name}-ad-group")).await;
        assert!(!b.page_overflows().await, "{name}: the ad group page fits");
        b.click("nav.breadcrumbs a[href^='/campaigns/']").await;
        b.wait_for_text("Daily budget", Duration::from_secs(10), None)
            .await;
        b.script(
            "document.getElementById('level-table').scrollIntoView();",
            vec![],
        )
        .await;
        b.shot(&format!("{name}-campaign")).await;
        assert!(!b.page_overflows().await, "{name}: the campaign page fits");
    }
    b.quit().await;
    server.abort();
}
