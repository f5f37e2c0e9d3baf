//! The marketer's journey in a real headless Chromium against a real server (workers and
//! scheduler running, platforms served by the sandbox over HTTP): sign up, connect Google Ads
//! and Meta, first sync, dashboard, a new campaign with offline AI copy, a rule written with a typo, fixed,
//! backtested, run in dry run and then live (the sandbox's campaign ends up paused and the
//! history says why), a report preview, and a client-role teammate who sees read-only pages.
//! Every page visited is saved under `target/screenshots/journey-*.png`.

use std::time::Duration;

use adpilot::sandbox::{CampaignStatus, SandboxConfig, TruthQuery};
use adpilot::types::Platform;
use chrono::Utc;

use crate::support::{TestApp, sandbox};
use crate::webdriver::Browser;

/// A server on a real port with its job workers and scheduler, as `adpilot serve` runs it.
pub(crate) struct LiveServer {
    t: TestApp,
    url: String,
    jobs: Option<adpilot::jobs::catalog::Running>,
    task: tokio::task::JoinHandle<()>,
}

impl LiveServer {
    pub(crate) async fn start(sb: &adpilot::sandbox::SandboxHandle) -> LiveServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let t = TestApp::build(&["--public-url", &url], Some(sb)).await;
        let jobs = adpilot::jobs::catalog::start(t.app.clone())
            .await
            .expect("jobs");
        let app = t.app.clone();
        let task = tokio::spawn(async move {
            let _ = adpilot::server::serve(app, listener).await;
        });
        LiveServer {
            t,
            url,
            jobs: Some(jobs),
            task,
        }
    }

    pub(crate) fn at(&self, path: &str) -> String {
        format!("{}{}", self.url, path)
    }

    /// Ann signs up in the browser and lands on her new organization's first page.
    pub(crate) async fn sign_up(&self, b: &crate::webdriver::Browser) {
        b.goto(&self.at("/signup")).await;
        b.fill("input[name=name]", "Ann Marketer").await;
        b.fill("input[name=email]", "ann@example.com").await;
        b.fill("input[name=password]", "correct horse battery")
            .await;
        b.fill("input[name=org_name]", "Acme Marketing").await;
        b.click("form button[type=submit]").await;
        b.wait_for_text("Acme Marketing", Duration::from_secs(10), None)
            .await;
    }

    /// The minute ticks of the scheduler, `minutes` from now: due rule checks are queued
    /// now instead of waiting for the wall clock.
    async fn tick_rules(&self, minutes: i64) {
        let at = Utc::now() + chrono::Duration::minutes(minutes);
        adpilot::automation::jobs::enqueue_due(&self.t.app, at)
            .await
            .expect("rule tick");
    }

    pub(crate) async fn stop(mut self) {
        if let Some(j) = self.jobs.take() {
            j.shutdown().await;
        }
        self.task.abort();
    }
}

/// Version 2: below the campaign, with the time of day and a bid action.
const AD_SET_BID_RULE: &str = "rule \"Evening bids\"
  for ad sets on meta where status is active
  when clicks in last 7 days >= 0 and hour of day >= 0
  then increase bid by 10% up to 50
";

const RULE_WITH_TYPO: &str = "rule \"Stop Brand spend\"
  for campaigns on google where name contains \"Brand\"
  when spnd in last 7 days > 1 and clicks in last 7 days >= 1
  then pause
  check every 5 minutes";

async fn log_in(b: &Browser, s: &LiveServer, email: &str, password: &str) {
    b.goto(&s.at("/login")).await;
    b.fill("input[name=email]", email).await;
    b.fill("input[name=password]", password).await;
    b.click("form button[type=submit]").await;
    b.wait_for_text("Log out", Duration::from_secs(10), None)
        .await;
}

/// Connects `platform` the way a user does: the button, the platform's consent page, the
/// account choice.
pub(crate) async fn connect(b: &Browser, s: &LiveServer, label: &str, slug: &str) {
    b.goto(&s.at("/connections")).await;
    b.click_text(&format!("Connect {label}")).await;
    // The sandbox's consent page, on another origin.
    b.find("form button[value=approve], form button[name=decision]")
        .await;
    b.shot(&format!("consent-{slug}")).await;
    b.click("form button[value=approve]").await;
    b.wait_for_text("Choose the", Duration::from_secs(15), None)
        .await;
    b.shot(&format!("accounts-{slug}")).await;
    b.click_text("Save and start syncing").await;
    b.wait_for_text(label, Duration::from_secs(10), None).await;
}

/// Reloads the connections page until every managed account has synced its history.
async fn wait_for_first_sync(b: &Browser, s: &LiveServer) {
    b.goto(&s.at("/connections")).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    loop {
        let page = b.body_text().await;
        let busy = ["% loaded", "queued", "not yet"]
            .iter()
            .any(|w| page.contains(w));
        if !busy && page.contains("UTC") {
            return;
        }
        if std::time::Instant::now() > deadline {
            b.shot("sync-timeout").await;
            panic!("the first sync did not finish; the page says:\n{page}");
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
        b.goto(&s.at("/connections")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketer_goes_from_sign_up_to_a_live_rule_and_a_read_only_client() {
    let Some(b) = Browser::start("journey").await else {
        return;
    };
    let sb = sandbox(SandboxConfig::default()).await;
    let s = LiveServer::start(&sb).await;

    // Sign up.
    b.goto(&s.at("/signup")).await;
    b.shot("signup").await;
    b.fill("input[name=name]", "Ann Marketer").await;
    b.fill("input[name=email]", "ann@example.com").await;
    b.fill("input[name=password]", "correct horse battery")
        .await;
    b.fill("input[name=org_name]", "Acme Marketing").await;
    b.click("form button[type=submit]").await;
    b.wait_for_text("Acme Marketing", Duration::from_secs(10), None)
        .await;
    b.shot("first-dashboard").await;
    assert!(
        b.text("#onboarding").await.contains("0 of 5 done"),
        "a new organization gets the getting-started checklist"
    );

    // Connect Google Ads and Meta; the first sync and backfill run in the background.
    connect(&b, &s, "Google Ads", "google").await;
    connect(&b, &s, "Meta", "meta").await;
    wait_for_first_sync(&b, &s).await;
    b.shot("connections-synced").await;

    // The dashboard shows the synced spend, per currency, for a real preset range.
    b.goto(&s.at("/dashboard?range=last_30")).await;
    b.wait_for_text("Spend", Duration::from_secs(10), None)
        .await;
    let summary = b.text("#range-summary").await;
    assert!(
        summary.contains("(30 days)"),
        "the preset's 30 days, not another range: {summary}"
    );
    let dash = b.body_text().await;
    assert!(
        dash.contains("USD"),
        "a USD total on the dashboard:\n{dash}"
    );
    assert!(
        b.exists("#campaign-table tbody tr").await,
        "campaign rows on the dashboard"
    );
    assert!(b.exists("svg").await, "the daily chart is drawn");
    b.shot("dashboard").await;
    assert!(
        b.text("#onboarding").await.contains("2 of 5 done"),
        "connecting and the first sync tick themselves off"
    );

    // Down the levels of a Meta campaign, every step a click: the dashboard filtered to it,
    // its page with its ad sets, one ad set paused from its own page (the sandbox sees exactly
    // one pause), then one of its ads.
    let (campaign, campaign_name, ad_set, ad_set_ext) = {
        #[derive(diesel::QueryableByName)]
        struct Pick {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            campaign_id: uuid::Uuid,
            #[diesel(sql_type = diesel::sql_types::Text)]
            campaign_name: String,
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
            #[diesel(sql_type = diesel::sql_types::Text)]
            external_id: String,
        }
        let mut c = adpilot::db::connect_one(&s.t.db.admin_url)
            .await
            .expect("admin");
        let p: Pick = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query(
                "SELECT g.campaign_id, c.name AS campaign_name, g.id, g.external_id
                 FROM ad_groups g
                 JOIN campaigns c ON c.org_id = g.org_id AND c.id = g.campaign_id
                 WHERE g.platform = 'meta' AND g.status = 'active' AND c.status = 'active'
                   AND EXISTS (SELECT 1 FROM ads a WHERE a.ad_group_id = g.id)
                 ORDER BY c.name, g.name LIMIT 1",
            ),
            &mut c,
        )
        .await
        .expect("an active Meta ad set");
        (p.campaign_id, p.campaign_name, p.id, p.external_id)
    };
    b.select("select[name=platform]", "meta").await;
    b.fill("input[name=q]", &campaign_name).await;
    b.click("form.filters button[type=submit]").await;
    b.find(&format!(
        "#campaign-table tbody tr a[href^='/campaigns/{campaign}']"
    ))
    .await;
    assert!(
        b.text("#range-summary").await.contains("(30 days)"),
        "filtering keeps the chosen preset"
    );
    b.shot("dashboard-filtered").await;
    b.click(&format!(
        "#campaign-table tbody tr a[href^='/campaigns/{campaign}']"
    ))
    .await;
    b.wait_for_text("Ad sets", Duration::from_secs(10), None)
        .await;
    assert!(
        b.url().await.contains(&format!("/campaigns/{campaign}")),
        "on the campaign's page"
    );
    b.shot("campaign").await;
    b.set_width(390).await;
    b.shot("campaign-phone").await;
    b.set_width(1280).await;
    b.click(&format!("#level-table a[href^='/ad-groups/{ad_set}']"))
        .await;
    b.wait_for_text("Change on Meta Ads", Duration::from_secs(10), None)
        .await;
    b.shot("ad-set").await;
    b.set_width(390).await;
    b.shot("ad-set-phone").await;
    b.set_width(1280).await;
    sb.clear_calls();
    b.click("#pause-button").await;
    b.wait_for_text("paused on Meta Ads", Duration::from_secs(20), None)
        .await;
    b.shot("ad-set-paused").await;
    let pauses: Vec<String> = sb
        .calls()
        .into_iter()
        .filter(|c| c.method == "POST" && c.path.ends_with(&format!("/{ad_set_ext}")))
        .map(|c| c.path)
        .collect();
    assert_eq!(
        pauses.len(),
        1,
        "the sandbox saw exactly one change of the ad set: {pauses:?}"
    );
    let truth = sb.ad_groups(&TruthQuery {
        platform: Some(Platform::Meta),
        ad_group_id: Some(ad_set_ext.clone()),
        ..TruthQuery::default()
    });
    assert_eq!(
        truth.first().map(|g| g.status),
        Some(CampaignStatus::Paused),
        "the ad set is paused on the platform"
    );
    assert!(
        b.text("#history").await.contains("pause"),
        "the ad set's history shows the change"
    );
    b.click("#level-table a[href^='/ads/']").await;
    b.wait_for_text("Day by day", Duration::from_secs(10), None)
        .await;
    b.shot("ad").await;
    b.set_width(390).await;
    b.shot("ad-phone").await;
    b.set_width(1280).await;

    // An ad set with a budget of its own: a decimal comma comes back with its error and what
    // was typed; ten times the budget asks first.
    let with_budget: uuid::Uuid = {
        #[derive(diesel::QueryableByName)]
        struct Pick {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        let mut c = adpilot::db::connect_one(&s.t.db.admin_url)
            .await
            .expect("admin");
        let p: Pick = diesel_async::RunQueryDsl::get_result(
            diesel::sql_query(
                "SELECT id FROM ad_groups WHERE platform = 'meta' AND status = 'active'
                   AND budget_micros IS NOT NULL ORDER BY name LIMIT 1",
            ),
            &mut c,
        )
        .await
        .expect("a Meta ad set with its own budget");
        p.id
    };
    b.goto(&s.at(&format!("/ad-groups/{with_budget}"))).await;
    b.fill("#budget-form input[name=budget]", "12,50").await;
    b.click("#budget-form button[type=submit]").await;
    b.find("#budget-error").await;
    b.shot("ad-set-budget-error").await;
    b.fill("#budget-form input[name=budget]", "99999").await;
    b.click("#budget-form button[type=submit]").await;
    b.find("#confirm-change").await;
    b.shot("ad-set-budget-confirm").await;
    b.set_width(390).await;
    b.shot("ad-set-budget-confirm-phone").await;
    b.set_width(1280).await;

    // A new campaign with ad copy from the offline copywriter (no AI provider is configured),
    // pushed to Google Ads through a job; the page follows it.
    b.goto(&s.at("/campaigns/new")).await;
    b.fill("input[name=name]", "Winter sale").await;
    b.click("input[name=account]").await;
    b.fill("input[name=daily_budget]", "25").await;
    b.fill("input[name=product]", "Trail running shoes").await;
    b.fill("textarea[name=benefits]", "Grippy soles, Free returns")
        .await;
    b.fill("input[name=keyword]", "trail shoes").await;
    b.click_text("Draft copy").await;
    b.find("#copy-google .variation").await;
    assert!(
        b.text("#copy-google").await.contains("offline drafts"),
        "the drafts say which generator made them"
    );
    b.shot("campaign-copy-drafted").await;
    let drafted = b.text("#campaign-copy").await;
    assert!(
        b.exists("#copy-google .badge.ok").await,
        "offline drafts are within Google's limits:\n{drafted}"
    );
    b.click("#copy-google input[name=pick]").await;
    b.shot("campaign-new-with-copy").await;
    b.click_text("Create campaign").await;
    b.wait_for_text("platform ID", Duration::from_secs(30), None)
        .await;
    b.shot("campaign-pushed").await;
    b.click("#push-status a[href^='/campaigns/']").await;
    b.wait_for_text("Ad copy", Duration::from_secs(10), None)
        .await;
    let page = b.text("#ad-copy").await;
    assert!(
        page.to_lowercase().contains("trail shoes"),
        "the kept variation is on the campaign page, with its keyword:\n{page}"
    );
    b.shot("campaign-with-copy").await;

    // A rule with a typo: the editor points at it while typing, before anything is saved.
    b.goto(&s.at("/rules/new")).await;
    b.fill("#rule-text", RULE_WITH_TYPO).await;
    b.wait_for_text("line 3, column", Duration::from_secs(10), None)
        .await;
    let check = b.text("#check-result").await;
    assert!(
        check.contains("spnd") && check.contains("spend"),
        "the error names the unknown metric and suggests the right one:\n{check}"
    );
    b.shot("rule-typo").await;
    b.fill("#rule-text", &RULE_WITH_TYPO.replace("spnd", "spend"))
        .await;
    b.wait_for_text("The rule checks", Duration::from_secs(10), None)
        .await;
    b.shot("rule-fixed").await;
    b.select("#mode", "dry_run").await;
    b.click_text("Save rule").await;
    b.wait_for_text("Stop Brand spend", Duration::from_secs(10), None)
        .await;
    let rule_url = b.url().await;
    let rule_path = rule_url
        .strip_prefix(&s.url)
        .unwrap_or(&rule_url)
        .split('?')
        .next()
        .unwrap_or_default()
        .to_string();
    assert!(
        rule_path.starts_with("/rules/"),
        "on the rule's page: {rule_url}"
    );

    // Backtest over the synced history.
    b.goto(&s.at(&format!("{rule_path}/backtest"))).await;
    b.wait_for_text("Backtest", Duration::from_secs(20), None)
        .await;
    b.shot("rule-backtest").await;

    // Dry run: the next check logs what it would do and changes nothing on the platform.
    let brand_google = |sb: &adpilot::sandbox::SandboxHandle| {
        sb.campaigns(&TruthQuery {
            platform: Some(Platform::Google),
            ..TruthQuery::default()
        })
        .into_iter()
        .filter(|c| c.name.contains("Brand") && c.status == CampaignStatus::Enabled)
        .count()
    };
    let active_before = brand_google(&sb);
    assert!(
        active_before > 0,
        "the sandbox has active Brand campaigns on Google"
    );
    s.tick_rules(6).await;
    b.goto(&s.at(&format!("{rule_path}/history"))).await;
    b.wait_for_text(
        "pause: would run (dry run)",
        Duration::from_secs(30),
        Some(Duration::from_secs(1)),
    )
    .await;
    b.shot("rule-dry-run-history").await;
    assert_eq!(brand_google(&sb), active_before, "dry run changed nothing");

    // Live: the next check pauses them at the platform, and the history says why.
    b.goto(&s.at(&rule_path)).await;
    b.click_text("Make it live").await;
    // It says what the first check would change before anything goes live.
    b.find("#golive-confirm").await;
    let confirm = b.text("#golive-count").await;
    assert!(
        confirm.contains("This will change"),
        "the confirmation counts what changes now:\n{confirm}"
    );
    b.shot("rule-go-live-confirm").await;
    b.click("#golive-confirm button[type=submit]").await;
    b.wait_for_text("Mode: live", Duration::from_secs(10), None)
        .await;
    s.tick_rules(12).await;
    b.goto(&s.at(&format!("{rule_path}/history"))).await;
    b.wait_for_text(
        "pause: done",
        Duration::from_secs(30),
        Some(Duration::from_secs(1)),
    )
    .await;
    let history = b.body_text().await;
    assert!(
        history.contains("spend") && history.contains("clicks"),
        "the history shows the values the condition saw:\n{history}"
    );
    b.shot("rule-live-history").await;
    assert_eq!(
        brand_google(&sb),
        0,
        "every active Brand campaign on Google is paused"
    );

    // Rules version 2 in the editor: an ad-set rule with the time of day and a bid change is
    // checked as it is typed and previewed against the synced ad sets before it is saved.
    b.goto(&s.at("/rules/new")).await;
    b.fill("#rule-text", AD_SET_BID_RULE).await;
    b.wait_for_text("The rule checks", Duration::from_secs(10), None)
        .await;
    b.click_text("Preview: what matches now").await;
    b.wait_for_text("match now", Duration::from_secs(30), None)
        .await;
    let preview = b.text("#preview").await;
    assert!(
        preview.contains("ad sets in scope") && preview.contains("bid"),
        "the preview lists the ad sets and their bid changes:\n{preview}"
    );
    assert!(
        !preview.contains("; 0 match now"),
        "every active ad set matches a rule with no real condition:\n{preview}"
    );
    b.shot("rule-ad-set-preview").await;

    // A report schedule and its preview.
    b.goto(&s.at("/reports")).await;
    b.fill("input[name=name]", "Weekly performance").await;
    b.fill("input[name=send_time]", "09:00").await;
    b.fill("textarea[name=recipients]", "boss@example.com")
        .await;
    b.click_text("Schedule report").await;
    b.wait_for_text("Weekly performance", Duration::from_secs(10), None)
        .await;
    b.click_text("Preview").await;
    b.find("iframe.email-preview").await;
    b.shot("report-preview").await;
    // The email itself, as the frame shows it.
    let frame = b
        .script(
            "return document.querySelector('iframe.email-preview').src",
            vec![],
        )
        .await;
    b.goto(frame.as_str().unwrap_or_default()).await;
    b.wait_for_text("Spend", Duration::from_secs(20), None)
        .await;
    b.shot("report-email").await;

    // Invite a client, who joins through the emailed link and sees read-only pages.
    b.goto(&s.at("/settings")).await;
    b.fill("input[name=email]", "carol@client.example").await;
    b.select("select[name=role]", "client").await;
    b.click_text("Send invitation").await;
    b.wait_for_text("carol@client.example", Duration::from_secs(10), None)
        .await;
    b.shot("settings-invited").await;
    b.goto(&s.at("/dashboard")).await;
    b.wait_for_text("Spend", Duration::from_secs(10), None)
        .await;
    assert!(
        !b.exists("#onboarding").await,
        "every getting-started step is done, so the checklist is gone"
    );
    let link = s.t.last_email_link(&s.at("/invites/"));
    let link = link.strip_prefix(&s.url).unwrap_or(&link).to_string();
    b.clear_cookies().await;
    b.goto(&s.at(&link)).await;
    b.fill("input[name=name]", "Carol Client").await;
    b.fill("input[name=password]", "another long password")
        .await;
    b.shot("invite-accept").await;
    b.click_text("Create account and join").await;
    b.wait_for_text("Acme Marketing", Duration::from_secs(10), None)
        .await;
    // A client sees only the ad accounts granted to them (Settings → Members); grant all.
    {
        use diesel_async::RunQueryDsl;
        let mut c = adpilot::db::connect_one(&s.t.db.admin_url)
            .await
            .expect("admin");
        diesel::sql_query(
            "INSERT INTO membership_accounts (org_id, user_id, account_id) \
             SELECT m.org_id, m.user_id, a.id FROM memberships m \
             JOIN users u ON u.id = m.user_id JOIN ad_accounts a ON a.org_id = m.org_id \
             WHERE u.email = 'carol@client.example'",
        )
        .execute(&mut c)
        .await
        .expect("grant the client its accounts");
    }
    b.goto(&s.at("/dashboard")).await;
    b.wait_for_text("Spend", Duration::from_secs(10), None)
        .await;
    b.shot("client-dashboard").await;
    b.goto(&s.at(&rule_path)).await;
    b.find("#rule-text[readonly]").await;
    assert!(
        !b.body_text().await.contains("Save rule"),
        "a client cannot save rules"
    );
    b.shot("client-rule").await;
    b.goto(&s.at("/campaigns")).await;
    b.click("table a[href^='/campaigns/']").await;
    b.wait_for_text("Daily budget", Duration::from_secs(10), None)
        .await;
    let page = b.body_text().await;
    assert!(
        !page.contains("Change budget") && !page.contains("Pause"),
        "a client sees no controls on a campaign page:\n{page}"
    );
    b.shot("client-campaign").await;

    // And the password the client chose works on the login page.
    b.clear_cookies().await;
    log_in(&b, &s, "carol@client.example", "another long password").await;

    b.quit().await;
    s.stop().await;
}

/// Ticks the first ad account whose label contains `name` in the create form.
async fn tick_account(b: &Browser, name: &str) {
    let ticked = b
        .script(
            "const l = [...document.querySelectorAll('fieldset.accounts label')]
               .find(l => l.innerText.includes(arguments[0]));
             if (!l) return false;
             const i = l.querySelector('input[name=account]');
             if (!i.checked) i.click();
             return i.checked;",
            vec![serde_json::json!(name)],
        )
        .await;
    assert_eq!(ticked.as_bool(), Some(true), "account {name} ticked");
}

/// Waits until every push on the status page has settled (none still sending), and returns
/// the section's text.
async fn settled_status(b: &Browser) -> String {
    // The first syncs of the three new connections share the job workers with the pushes.
    let deadline = std::time::Instant::now() + Duration::from_secs(300);
    loop {
        let status = b.text("#push-status").await;
        // The badges are upper-cased by the style sheet.
        let lower = status.to_lowercase();
        let waiting = ["pending", "sent, not confirmed"]
            .iter()
            .any(|w| lower.contains(w));
        if !waiting {
            return status;
        }
        if std::time::Instant::now() > deadline {
            b.shot("create-status-timeout").await;
            panic!("the pushes did not settle; the status says:\n{status}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One campaign on Google Ads, Meta and TikTok from the one form: offline AI copy drafted and
/// one variation kept per platform, one real PNG chosen in the Meta section (it serves TikTok
/// too), targeting typed per platform; the status page lists what each platform made and
/// links the new Meta ad set's page. Screenshots at 1280 and 390 px under
/// `target/screenshots/journey3-*.png`; no page may scroll sideways on a phone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_marketer_creates_one_campaign_on_google_meta_and_tiktok_at_once() {
    let Some(b) = Browser::start("journey3").await else {
        return;
    };
    let sb = sandbox(SandboxConfig::default()).await;
    let s = LiveServer::start(&sb).await;
    s.sign_up(&b).await;
    connect(&b, &s, "Google Ads", "google").await;
    connect(&b, &s, "Meta Ads", "meta").await;
    connect(&b, &s, "TikTok Ads", "tiktok").await;
    let image = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/images/trail-shoes.png");

    b.goto(&s.at("/campaigns/new")).await;
    b.fill("input[name=name]", "Trail Shoes Everywhere").await;
    for account in ["Acme Outdoor US", "Northwind Shop", "Globex Apparel"] {
        tick_account(&b, account).await;
    }
    b.fill("input[name=daily_budget]", "30").await;
    // Google: a Search campaign.
    b.fill("input[name=final_url]", "https://shop.example.com/trail")
        .await;
    b.fill("textarea[name=locations]", "United States").await;
    b.click("input[name=language][value='1000']").await;
    b.fill(
        "textarea[name=keywords]",
        "[trail running shoes]\n\"running shoes\"",
    )
    .await;
    b.fill("input[name=max_cpc]", "1.25").await;
    // Meta: the Page, the image (shared with TikTok), an ad set with its own targeting.
    b.fill(
        "input[name=meta_link]",
        "https://shop.example.com/trail?utm_source=meta",
    )
    .await;
    b.select("select[name=meta_page]", "108923451827344211")
        .await;
    let file = b.find("input[name=meta_image]").await;
    b.type_into(&file, &image.to_string_lossy()).await;
    b.fill("input[name=meta_ad_set]", "Trail runners US").await;
    b.fill("textarea[name=meta_locations]", "United States")
        .await;
    b.fill("input[name=meta_age_min]", "25").await;
    b.fill("input[name=meta_age_max]", "54").await;
    b.fill("textarea[name=meta_interests]", "Running").await;
    // TikTok: a new identity named here, with the image as its picture.
    b.fill(
        "input[name=tiktok_link]",
        "https://shop.example.com/trail?utm_source=tiktok",
    )
    .await;
    b.select("select[name=tiktok_identity]", "new").await;
    b.fill("input[name=tiktok_display_name]", "Acme Trail")
        .await;
    b.fill("input[name=tiktok_ad_group]", "Trail runners TikTok")
        .await;
    b.fill("textarea[name=tiktok_locations]", "United States")
        .await;
    b.script(
        "for (const i of document.querySelectorAll('input[name=tiktok_age]')) {
           i.checked = ['AGE_25_34', 'AGE_35_44'].includes(i.value);
         }",
        vec![],
    )
    .await;
    b.fill("textarea[name=tiktok_interests]", "Sports & Outdoors")
        .await;
    // The brief, and offline drafts for all three platforms.
    b.fill("input[name=product]", "Trail running shoes").await;
    b.fill("textarea[name=benefits]", "Grippy soles, Free returns")
        .await;
    b.fill("input[name=keyword]", "trail shoes").await;
    b.click_text("Draft copy").await;
    b.wait_for_text("Keep variation 1", Duration::from_secs(60), None)
        .await;
    for p in ["google", "meta", "tiktok"] {
        b.find(&format!("#copy-{p} .variation")).await;
        assert!(
            b.exists(&format!("#copy-{p} .badge.ok")).await,
            "offline {p} drafts are within the platform's limits:\n{}",
            b.text(&format!("#copy-{p}")).await
        );
        b.click(&format!("#copy-{p} input[name=pick]")).await;
    }
    b.script(
        "document.querySelector('#campaign-copy').scrollIntoView()",
        vec![],
    )
    .await;
    assert!(
        !b.shots_both("create-form-copy").await,
        "the form with three platforms' drafts scrolls sideways on a phone"
    );
    b.script(
        "document.querySelector('#tiktok-section').scrollIntoView()",
        vec![],
    )
    .await;
    assert!(!b.shots_both("create-form-tiktok").await);

    b.click_text("Create campaign").await;
    b.wait_for_text("What TikTok Ads made", Duration::from_secs(60), None)
        .await;
    let status = settled_status(&b).await;
    let lower = status.to_lowercase();
    assert!(
        !lower.contains("refused") && !lower.contains("error") && !lower.contains("stopped"),
        "{status}"
    );
    for made in [
        "What Google Ads made",
        "What Meta Ads made",
        "What TikTok Ads made",
        "Keyword [trail running shoes]",
        "Responsive search ad 1",
        "Ad set \u{201c}Trail runners US\u{201d}",
        "Ad group \u{201c}Trail runners TikTok\u{201d}",
        "Identity \u{201c}Acme Trail\u{201d}",
    ] {
        assert!(
            status.contains(made),
            "{made} on the status page:\n{status}"
        );
    }
    assert_eq!(
        status
            .matches("Image trail-shoes.png (1080 × 1080)")
            .count(),
        2,
        "the one image uploaded to Meta and TikTok:\n{status}"
    );
    assert!(
        !b.shots_both("create-status").await,
        "the status page scrolls sideways on a phone"
    );
    // Exactly one campaign per platform, each with one ad from its kept variation.
    for platform in [Platform::Google, Platform::Meta, Platform::Tiktok] {
        let made: Vec<_> = sb
            .campaigns(&TruthQuery {
                platform: Some(platform),
                ..TruthQuery::default()
            })
            .into_iter()
            .filter(|k| k.name == "Trail Shoes Everywhere")
            .collect();
        assert_eq!(made.len(), 1, "one campaign on {platform:?}: {made:?}");
        let q = TruthQuery {
            platform: Some(platform),
            campaign_id: Some(made[0].campaign_id.clone()),
            ..TruthQuery::default()
        };
        assert_eq!(sb.ad_groups(&q).len(), 1, "one ad group on {platform:?}");
        assert_eq!(sb.ads(&q).len(), 1, "one ad on {platform:?}");
    }

    // The new Meta ad set's page, from the link on the status page.
    let href = b
        .script(
            "const d = [...document.querySelectorAll('#push-status details.push-steps')]
               .find(d => d.querySelector('summary').innerText.includes('Meta Ads'));
             const a = d && d.querySelector('a[href^=\"/ad-groups/\"]');
             return a ? a.getAttribute('href') : null;",
            vec![],
        )
        .await;
    let href = href
        .as_str()
        .expect("the status page links the Meta ad set")
        .to_string();
    b.click(&format!("#push-status a[href='{href}']")).await;
    b.wait_for_text("Trail runners US", Duration::from_secs(10), None)
        .await;
    assert!(b.url().await.ends_with(&href), "on the ad set's page");
    assert!(
        b.body_text().await.contains("Meta Ads"),
        "the ad set's page names its platform"
    );
    assert!(
        !b.shots_both("create-ad-set").await,
        "the new ad set's page scrolls sideways on a phone"
    );
    b.quit().await;
    s.stop().await;
}
