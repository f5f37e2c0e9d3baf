//! Creating a campaign that can serve: the whole Google Search tree (budget, campaign,
//! locations, languages, ad group, keywords, one responsive search ad per kept variation) in
//! one atomic request against the sandbox, exactly as the form asked; refusals that create
//! nothing; a lost answer that is found rather than created twice.

use std::time::Duration;

use adpilot::jobs::worker::{Runner, WorkerOptions};
use adpilot::platforms::create::{Keyword, MatchType, SearchAd, SearchCampaignSpec, Target};
use adpilot::platforms::{AccountRef, CampaignStatus, Credentials, PlatformError};
use adpilot::sandbox::{FaultKind, FaultSpec, SandboxConfig, SandboxHandle, TruthQuery};
use adpilot::types::{Currency, Money, Platform};
use axum::http::StatusCode;
use uuid::Uuid;

use crate::connections::connect;
use crate::support::*;

fn account_value(page: &str, label_part: &str) -> String {
    let at = page.find(label_part).expect("account listed");
    let before = &page[..at];
    let v = before.rfind("value=\"").expect("value") + 7;
    before[v..v + 36].to_string()
}

async fn wait_until_settled(c: &mut Client, status_path: &str) -> String {
    for _ in 0..300 {
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

const HEADLINES_1: [&str; 3] = [
    "Trail Running Shoes",
    "Free 30-Day Returns",
    "Shop Top Brands",
];
const DESCRIPTIONS_1: [&str; 2] = [
    "Lightweight trail shoes for every distance. Order today.",
    "Free shipping over $50. Easy returns.",
];
const HEADLINES_2: [&str; 4] = [
    "Grip On Every Trail",
    "Waterproof Trail Shoes",
    "New Season Colours",
    "Order Before Friday",
];
const DESCRIPTIONS_2: [&str; 2] = [
    "Tested on real mountains by real runners.",
    "Members save 10% on every order.",
];

/// The form of a complete Google Search campaign with two kept copy variations.
fn complete_form(account: &str) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = [
        ("name", "Trail Shoes Spring"),
        ("account", account),
        ("objective", "traffic"),
        ("daily_budget", "40.50"),
        ("start", "paused"),
        (
            "final_url",
            "https://shop.example.com/trail?utm_source=google",
        ),
        ("locations", "United States\nParis, Texas"),
        ("language", "1000"),
        ("language", "1001"),
        (
            "keywords",
            "[trail running shoes]\n\"running shoes\"\nbuy trail shoes",
        ),
        ("ad_group", "Trail shoes - core"),
        ("max_cpc", "1.25"),
        ("product", "Trail running shoes"),
        (
            "generator:google",
            "offline drafts (built-in copywriter, no AI provider)",
        ),
        ("pick", "google:1"),
        ("pick", "google:2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for h in HEADLINES_1 {
        f.push(("line:1:google_headline".into(), h.into()));
    }
    for d in DESCRIPTIONS_1 {
        f.push(("line:1:google_description".into(), d.into()));
    }
    for h in HEADLINES_2 {
        f.push(("line:2:google_headline".into(), h.into()));
    }
    for d in DESCRIPTIONS_2 {
        f.push(("line:2:google_description".into(), d.into()));
    }
    f
}

fn pairs(f: &[(String, String)]) -> Vec<(&str, &str)> {
    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn workers(t: &TestApp) -> adpilot::jobs::worker::RunnerHandle {
    Runner::new(
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
    .start()
}

fn named(sb: &SandboxHandle, name: &str) -> Vec<adpilot::sandbox::TruthCampaign> {
    sb.campaigns(&TruthQuery::default())
        .into_iter()
        .filter(|k| k.platform == Platform::Google && k.name == name)
        .collect()
}

/// Checks the whole tree of the campaign on the sandbox against what the form asked.
fn assert_tree(sb: &SandboxHandle, campaign_id: &str) {
    let q = TruthQuery {
        platform: Some(Platform::Google),
        campaign_id: Some(campaign_id.to_string()),
        ..TruthQuery::default()
    };
    let groups = sb.ad_groups(&q);
    assert_eq!(groups.len(), 1, "{groups:?}");
    assert_eq!(groups[0].name, "Trail shoes - core");
    assert_eq!(groups[0].bid_micros, Some(1_250_000));
    assert_eq!(groups[0].bid_strategy, "MANUAL_CPC");
    let mut ads = sb.ads(&q);
    ads.sort_by_key(|a| a.headlines.len());
    assert_eq!(ads.len(), 2, "one ad per kept variation");
    assert_eq!(ads[0].headlines, HEADLINES_1);
    assert_eq!(ads[0].descriptions, DESCRIPTIONS_1);
    assert_eq!(ads[1].headlines, HEADLINES_2);
    assert_eq!(ads[1].descriptions, DESCRIPTIONS_2);
    for a in &ads {
        assert_eq!(a.ad_type, "RESPONSIVE_SEARCH_AD");
        assert_eq!(
            a.final_url,
            "https://shop.example.com/trail?utm_source=google"
        );
        assert_eq!(a.ad_group_id, groups[0].ad_group_id);
    }
    let created = sb.created();
    let mut criteria: Vec<(String, String)> = created
        .criteria
        .iter()
        .filter(|c| c.campaign_id == campaign_id)
        .map(|c| (c.kind.clone(), c.value.clone()))
        .collect();
    criteria.sort();
    assert_eq!(
        criteria,
        [
            ("LANGUAGE".to_string(), "1000".to_string()),
            ("LANGUAGE".into(), "1001".into()),
            ("LOCATION".into(), "1026339".into()),
            ("LOCATION".into(), "2840".into()),
        ],
        "United States and Paris, Texas (not Paris, France); English and German"
    );
    let mut keywords: Vec<(String, String)> = created
        .keywords
        .iter()
        .filter(|k| k.campaign_id == campaign_id)
        .map(|k| (k.text.clone(), k.match_type.clone()))
        .collect();
    keywords.sort();
    assert_eq!(
        keywords,
        [
            ("buy trail shoes".to_string(), "BROAD".to_string()),
            ("running shoes".into(), "PHRASE".into()),
            ("trail running shoes".into(), "EXACT".into()),
        ]
    );
}

#[tokio::test]
async fn a_complete_google_search_campaign_is_created_exactly_as_the_form_asked() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    connect(&mut c, "google").await;
    let runner = workers(&t);
    let form = c.get("/campaigns/new").await;
    form.assert_status(StatusCode::OK);
    assert!(form.body.contains("name=\"final_url\"") && form.body.contains("name=\"keywords\""));
    let google_us = account_value(&form.body, "Google Ads: Acme Outdoor US");
    // "Check with Google Ads" runs Google's validation (validateOnly) and makes nothing.
    let r = c
        .post("/campaigns/new/check", &pairs(&complete_form(&google_us)))
        .await;
    r.assert_status(StatusCode::OK);
    assert!(r.body.contains("would accept it"), "{}", r.body);
    assert!(named(&sb, "Trail Shoes Spring").is_empty());
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM campaign_pushes").await,
        0
    );
    let r = c
        .post("/campaigns", &pairs(&complete_form(&google_us)))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let status_path = r.location().expect("status page").to_string();
    let settled = wait_until_settled(&mut c, &status_path).await;
    assert!(settled.contains("badge ok\">created"), "{settled}");

    let made = named(&sb, "Trail Shoes Spring");
    assert_eq!(made.len(), 1);
    assert_eq!(made[0].daily_budget_micros, 40_500_000);
    assert_eq!(made[0].status, adpilot::sandbox::CampaignStatus::Paused);
    assert_tree(&sb, &made[0].campaign_id);
    let mutates: Vec<_> = sb
        .calls()
        .into_iter()
        .filter(|k| k.path.contains("googleAds:mutate"))
        .collect();
    assert_eq!(
        mutates.len(),
        2,
        "the validate-only check and one atomic create"
    );

    // The status page lists every object with its id and links the new ad group's page,
    // which shows the ad group as the level pages do.
    for what in [
        "Keyword [trail running shoes]",
        "Keyword \"running shoes\"",
        "Keyword buy trail shoes",
        "Location United States",
        "Location Paris, Texas, United States",
        "Language English",
        "Responsive search ad 2",
    ] {
        let shown = settled.contains(what) || settled.contains(&what.replace('"', "&#34;"));
        assert!(shown, "{what} in {settled}");
    }
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM campaign_push_steps").await,
        1 + 1 + 2 + 2 + 1 + 3 + 2
    );
    let link = settled
        .split("href=\"/ad-groups/")
        .nth(1)
        .and_then(|s| s.get(..36))
        .expect("a link to the new ad group");
    assert!(link.parse::<Uuid>().is_ok());
    let page = c.get(&format!("/ad-groups/{link}")).await;
    page.assert_status(StatusCode::OK);
    assert!(page.body.contains("Trail shoes - core"), "{}", page.body);
    runner.shutdown().await;
}

fn spec(name: &str, currency: Currency) -> SearchCampaignSpec {
    SearchCampaignSpec {
        name: name.into(),
        daily_budget: Money::new(20_000_000, currency),
        status: CampaignStatus::Paused,
        ad_group_name: "Core".into(),
        max_cpc: Money::new(1_000_000, currency),
        final_url: "https://shop.example.com/".into(),
        locations: vec![Target {
            id: "2840".into(),
            name: "United States".into(),
        }],
        languages: vec![],
        keywords: vec![Keyword {
            text: "trail shoes".into(),
            match_type: MatchType::Phrase,
        }],
        ads: vec![SearchAd {
            headlines: HEADLINES_1.iter().map(|s| s.to_string()).collect(),
            descriptions: DESCRIPTIONS_1.iter().map(|s| s.to_string()).collect(),
        }],
    }
}

#[tokio::test]
async fn a_google_create_refused_by_validation_creates_nothing_and_validate_only_checks() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let token = sb.issue_token(Platform::Google, None);
    let creds = Credentials::new(token.access_token);
    let usd: Currency = "USD".parse().expect("usd");
    let account_id = sb
        .accounts(Some(Platform::Google))
        .into_iter()
        .find(|a| a.currency == usd)
        .expect("a USD account")
        .id;
    let account = AccountRef::new(account_id, usd);
    let adapter = t.app.platforms.adapter(Platform::Google);
    let total = |sb: &SandboxHandle| {
        (
            sb.campaigns(&TruthQuery::default()).len(),
            sb.ad_groups(&TruthQuery::default()).len(),
            sb.ads(&TruthQuery::default()).len(),
            sb.created().keywords.len() + sb.created().criteria.len(),
        )
    };
    let before = total(&sb);

    // A headline over 30 characters in the last operation: the whole request is refused.
    let mut bad = spec("Refused", usd);
    bad.ads[0].headlines[2] = "This headline is much longer than thirty".into();
    let e = adapter
        .create_search_campaign(&creds, &account, &bad, false)
        .await
        .expect_err("refused");
    assert!(matches!(e, PlatformError::Invalid { .. }), "{e:?}");
    assert!(e.to_string().contains("Too long"), "{e}");
    // A keyword twice, a location Google does not know: refused too.
    let mut dup = spec("Refused too", usd);
    dup.keywords.push(dup.keywords[0].clone());
    dup.locations.push(Target {
        id: "999999999".into(),
        name: "Atlantis".into(),
    });
    let e = adapter
        .create_search_campaign(&creds, &account, &dup, false)
        .await
        .expect_err("refused");
    assert!(matches!(e, PlatformError::Invalid { .. }), "{e:?}");
    assert_eq!(total(&sb), before, "nothing was written");

    // validateOnly checks a good request and writes nothing either.
    let good = spec("Checked first", usd);
    let checked = adapter
        .create_search_campaign(&creds, &account, &good, true)
        .await
        .expect("valid");
    assert!(checked.is_none());
    assert_eq!(total(&sb), before);
    let tree = adapter
        .create_search_campaign(&creds, &account, &good, false)
        .await
        .expect("created")
        .expect("a tree");
    let kinds: Vec<&str> = tree.objects.iter().map(|o| o.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "budget", "campaign", "location", "ad_group", "keyword", "ad"
        ]
    );
    let (c0, g0, a0, k0) = before;
    assert_eq!(total(&sb), (c0 + 1, g0 + 1, a0 + 1, k0 + 2));
    // The same name again: Google's DUPLICATE_CAMPAIGN_NAME, and still nothing new.
    let again = adapter
        .create_search_campaign(&creds, &account, &good, false)
        .await
        .expect_err("duplicate name");
    assert!(again.to_string().contains("already exists"), "{again}");
    assert_eq!(total(&sb), (c0 + 1, g0 + 1, a0 + 1, k0 + 2));

    // The location look-up finds places by name, best match first.
    let found = adapter
        .find_locations(&creds, &["Paris".into(), "Atlantis".into()])
        .await
        .expect("looked up");
    assert_eq!(found[0].1[0].id, "1006094", "{found:?}");
    assert!(found[1].1.is_empty());
}

#[tokio::test]
async fn bad_input_is_refused_at_its_field_keeping_what_was_typed_and_nothing_is_sent() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    connect(&mut c, "google").await;
    let form = c.get("/campaigns/new").await;
    let google_us = account_value(&form.body, "Google Ads: Acme Outdoor US");
    sb.clear_calls();
    let edit = |f: &mut Vec<(String, String)>, key: &str, value: &str| {
        for (k, v) in f.iter_mut() {
            if k == key {
                *v = value.to_string();
            }
        }
    };

    let mut f = complete_form(&google_us);
    edit(&mut f, "final_url", "ftp://shop.example.com/trail");
    edit(&mut f, "keywords", "trail shoes!\n[running shoes]");
    edit(&mut f, "max_cpc", "1.255");
    let r = c.post("/campaigns", &pairs(&f)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"final-url-error\""), "{}", r.body);
    assert!(r.body.contains("must start with https://"));
    assert!(
        r.body.contains("id=\"keywords-error\"") && r.body.contains("does not allow in keywords")
    );
    assert!(
        r.body.contains("id=\"max-cpc-error\"")
            && r.body.contains("USD amounts have 2 decimal places")
    );
    assert!(
        r.body.contains("value=\"ftp://shop.example.com/trail\""),
        "typed URL kept"
    );
    assert!(
        r.body.contains("trail shoes!\n[running shoes]"),
        "typed keywords kept"
    );

    // A place Google's look-up does not know: refused at the field after the look-up.
    let mut f = complete_form(&google_us);
    edit(&mut f, "locations", "United States\nAtlantis");
    let r = c.post("/campaigns", &pairs(&f)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"locations-error\""), "{}", r.body);
    assert!(r.body.contains("knows no location called"));
    assert!(r.body.contains("Atlantis"));

    // Ads and targeting without any kept Google copy: no ads, so no create.
    let f: Vec<(String, String)> = complete_form(&google_us)
        .into_iter()
        .filter(|(k, _)| k != "pick")
        .collect();
    let r = c.post("/campaigns", &pairs(&f)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"google-copy-error\""), "{}", r.body);

    // A headline over the limit in a kept variation: the copy check refuses it.
    let mut f = complete_form(&google_us);
    edit(
        &mut f,
        "line:1:google_headline",
        "This headline is much longer than thirty",
    );
    let r = c.post("/campaigns", &pairs(&f)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"copy-errors\""), "{}", r.body);

    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM campaign_pushes").await,
        0
    );
    let writes: Vec<_> = sb
        .calls()
        .into_iter()
        .filter(|k| k.path.contains(":mutate"))
        .collect();
    assert!(
        writes.is_empty(),
        "nothing sent to the platform: {writes:?}"
    );
    assert!(named(&sb, "Trail Shoes Spring").is_empty());
}

/// The answer to the one create request is lost: the retry finds the campaign Google made
/// (the request was atomic, so the whole tree exists) and records it instead of sending the
/// create again.
#[tokio::test]
async fn a_lost_answer_is_found_on_google_and_the_tree_is_not_made_twice() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::build_with(&[], Some(&sb), |c| {
        c.platforms.request_timeout = Duration::from_millis(1500);
    })
    .await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    connect(&mut c, "google").await;
    let runner = workers(&t);
    let form = c.get("/campaigns/new").await;
    let google_us = account_value(&form.body, "Google Ads: Acme Outdoor US");
    sb.inject_fault(
        FaultSpec::new(FaultKind::LostResponse)
            .platform(Platform::Google)
            .method("POST")
            .path_contains("googleAds:mutate")
            .delay_ms(3000)
            .count(1),
    )
    .expect("fault");
    let r = c
        .post("/campaigns", &pairs(&complete_form(&google_us)))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let status_path = r.location().expect("status page").to_string();
    let settled = wait_until_settled(&mut c, &status_path).await;
    assert!(settled.contains("badge ok\">created"), "{settled}");
    assert!(settled.contains("answer was lost on the way"), "{settled}");
    let made = named(&sb, "Trail Shoes Spring");
    assert_eq!(made.len(), 1, "one campaign");
    assert_tree(&sb, &made[0].campaign_id);
    let sent = sb
        .calls()
        .into_iter()
        .filter(|k| k.path.contains("googleAds:mutate"))
        .count();
    assert_eq!(sent, 1, "the create was sent once");
    assert!(settled.contains("badge ok\">found"), "{settled}");
    runner.shutdown().await;
}

/// In Chromium: a marketer fills the form (offline copy drafted and kept, ads and targeting
/// typed), creates, follows the status page to the new ad group's page. Screenshots at 1280
/// and 390 px wide under `target/screenshots/create-*.png`.
#[tokio::test]
async fn a_marketer_creates_a_complete_google_campaign_in_the_browser() {
    use crate::journey::{LiveServer, connect};
    use crate::webdriver::Browser;
    let Some(b) = Browser::start("create").await else {
        return;
    };
    let sb = sandbox(SandboxConfig::default()).await;
    let s = LiveServer::start(&sb).await;
    s.sign_up(&b).await;
    connect(&b, &s, "Google Ads", "google").await;

    b.goto(&s.at("/campaigns/new")).await;
    b.fill("input[name=name]", "Trail Shoes Spring").await;
    b.click("input[name=account]").await;
    b.fill("input[name=daily_budget]", "40").await;
    b.fill("input[name=final_url]", "https://shop.example.com/trail")
        .await;
    b.fill("textarea[name=locations]", "United States\nParis, Texas")
        .await;
    b.click("input[name=language][value='1000']").await;
    b.fill(
        "textarea[name=keywords]",
        "[trail running shoes]\n\"running shoes\"",
    )
    .await;
    b.fill("input[name=max_cpc]", "1.25").await;
    b.fill("input[name=product]", "Trail running shoes").await;
    b.fill("textarea[name=benefits]", "Grippy soles, Free returns")
        .await;
    b.click_text("Draft copy").await;
    b.find("#copy-google .variation").await;
    b.click("#copy-google input[name=pick]").await;
    b.script(
        "document.querySelector('.ads-targeting').scrollIntoView()",
        vec![],
    )
    .await;
    b.shot("form-1280").await;
    b.set_window(390, 844).await;
    b.script(
        "document.querySelector('.ads-targeting').scrollIntoView()",
        vec![],
    )
    .await;
    b.shot("form-390").await;
    b.set_window(1280, 1400).await;
    b.click_text("Create campaign").await;
    b.wait_for_text("What Google Ads made", Duration::from_secs(30), None)
        .await;
    let status = b.text("#push-status").await;
    assert!(
        status.contains("Keyword [trail running shoes]")
            && status.contains("Responsive search ad 1"),
        "{status}"
    );
    b.shot("status-1280").await;
    b.set_window(390, 844).await;
    b.shot("status-390").await;
    b.set_window(1280, 1400).await;
    b.click("#push-status a[href^='/ad-groups/']").await;
    b.wait_for_text("Trail Shoes Spring", Duration::from_secs(10), None)
        .await;
    b.shot("ad-group").await;
    let made = named(&sb, "Trail Shoes Spring");
    assert_eq!(made.len(), 1);
    assert_eq!(
        sb.ads(&TruthQuery {
            campaign_id: Some(made[0].campaign_id.clone()),
            ..TruthQuery::default()
        })
        .len(),
        1
    );
    b.quit().await;
    s.stop().await;
}
