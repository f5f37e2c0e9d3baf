//! Creating a TikTok ad that can serve, over real HTTP against the sandbox: campaign → ad group
//! (placement, targeting, budget, schedule) → image → identity → ads, as recorded steps with
//! exactly the values typed; a refusal at each step, then "Try again", which continues from
//! the refused step and ends with one of everything; bad input refused at its field with
//! nothing sent to TikTok; a lost answer found, not made twice.

use std::time::Duration;

use adpilot::jobs::worker::{Runner, WorkerOptions};
use adpilot::sandbox::{FaultKind, FaultSpec, SandboxConfig, SandboxHandle, TruthQuery};
use adpilot::types::Platform;
use axum::http::StatusCode;

use crate::campaign_create_meta::png;
use crate::connections::connect;
use crate::support::*;

const LINK: &str = "https://shop.example.com/trail?utm_source=tiktok";
const COPY: [&str; 2] = [
    "Lightweight trail shoes for every distance.",
    "Grip on every trail, rain or shine.",
];
/// The identity every sandbox advertiser has already.
const READY_IDENTITY: &str = "7301245110987654321";

fn account_value(page: &str, label_part: &str) -> String {
    let at = page.find(label_part).expect("account listed");
    let before = &page[..at];
    let v = before.rfind("value=\"").expect("value") + 7;
    before[v..v + 36].to_string()
}

async fn settled(c: &mut Client, status_path: &str) -> String {
    for _ in 0..600 {
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

/// The create form of a complete TikTok ad with two kept copy variations and a new identity
/// called `identity`.
fn tiktok_form(account: &str, name: &str, identity: &str) -> Vec<(String, String)> {
    let mut f: Vec<(String, String)> = [
        ("name", name),
        ("account", account),
        ("objective", "traffic"),
        ("daily_budget", "25.00"),
        ("start", "paused"),
        ("tiktok_link", LINK),
        ("tiktok_identity", "new"),
        ("tiktok_display_name", identity),
        ("tiktok_cta", "SHOP_NOW"),
        ("tiktok_ad_group", "US women 25-44"),
        ("tiktok_start", ""),
        ("tiktok_end", ""),
        ("tiktok_locations", "United States\nParis, Texas"),
        ("tiktok_age", "AGE_25_34"),
        ("tiktok_age", "AGE_35_44"),
        ("tiktok_gender", "women"),
        ("tiktok_interests", "Sports & Outdoors\nrunning"),
        ("product", "Trail running shoes"),
        (
            "generator:tiktok",
            "offline drafts (built-in copywriter, no AI provider)",
        ),
        ("pick", "tiktok:1"),
        ("pick", "tiktok:2"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (i, text) in COPY.iter().enumerate() {
        f.push((format!("line:{}:tiktok_ad_text", i + 1), text.to_string()));
    }
    f
}

fn pairs(f: &[(String, String)]) -> Vec<(&str, &str)> {
    f.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn set(f: &mut [(String, String)], key: &str, value: &str) {
    for (k, v) in f.iter_mut() {
        if k == key {
            *v = value.to_string();
        }
    }
}

fn named(sb: &SandboxHandle, name: &str) -> Vec<adpilot::sandbox::TruthCampaign> {
    sb.campaigns(&TruthQuery::default())
        .into_iter()
        .filter(|k| k.platform == Platform::Tiktok && k.name == name)
        .collect()
}

fn tiktok_posts(sb: &SandboxHandle) -> usize {
    sb.calls()
        .into_iter()
        .filter(|k| k.platform == Some(Platform::Tiktok) && k.method == "POST")
        .count()
}

/// The whole tree of the one campaign called `name`: exactly one campaign, ad group, image,
/// identity called `identity` (None: the ready-made one was used), and one ad per kept
/// variation, with the values the form asked for.
fn assert_tree(sb: &SandboxHandle, name: &str, identity: Option<&str>) {
    let made = named(sb, name);
    assert_eq!(made.len(), 1, "one campaign called {name}: {made:?}");
    let k = &made[0];
    assert_eq!(k.status, adpilot::sandbox::CampaignStatus::Paused);
    assert_eq!(k.objective, "TRAFFIC");
    let q = TruthQuery {
        platform: Some(Platform::Tiktok),
        campaign_id: Some(k.campaign_id.clone()),
        ..TruthQuery::default()
    };
    let groups = sb.ad_groups(&q);
    assert_eq!(groups.len(), 1, "one ad group: {groups:?}");
    let g = &groups[0];
    assert_eq!(g.name, "US women 25-44");
    assert_eq!(g.status, adpilot::sandbox::CampaignStatus::Paused);
    assert_eq!(g.bid_strategy, "BID_TYPE_NO_BID");
    assert_eq!(
        g.daily_budget_micros,
        Some(25_000_000),
        "$25.00 a day on the ad group"
    );
    let created = sb.created();
    let extra: Vec<_> = created
        .tiktok_ad_groups
        .iter()
        .filter(|x| x.adgroup_id == g.ad_group_id)
        .collect();
    assert_eq!(extra.len(), 1);
    let x = extra[0];
    assert_eq!(x.promotion_type, "WEBSITE");
    assert_eq!(x.placement_type, "PLACEMENT_TYPE_NORMAL");
    assert_eq!(x.placements, vec!["PLACEMENT_PANGLE"]);
    assert_eq!(
        x.location_ids,
        vec!["6252001", "4717560"],
        "the US and Paris, Texas (not Paris, France)"
    );
    assert_eq!(x.age_groups, vec!["AGE_25_34", "AGE_35_44"]);
    assert_eq!(x.gender, "GENDER_FEMALE");
    assert_eq!(x.interest_category_ids, vec!["17000000000", "17020000000"]);
    assert_eq!(x.budget_mode, "BUDGET_MODE_DAY");
    assert_eq!(x.schedule_type, "SCHEDULE_FROM_NOW");
    assert_eq!(x.schedule_end_time, None);
    assert_eq!(
        (x.optimization_goal.as_str(), x.billing_event.as_str()),
        ("CLICK", "CPC")
    );
    // Every upload's file name starts with its push's tag: this tree's uploads are those
    // with the tag of the image its ads show.
    let mut ads = sb.ads(&q);
    ads.sort_by(|a, b| a.name.cmp(&b.name));
    let shown = created
        .tiktok_ads
        .iter()
        .find(|x| ads.iter().any(|a| a.ad_id == x.ad_id))
        .and_then(|x| x.image_ids.first().cloned())
        .expect("an ad with an image");
    let tag = created
        .tiktok_images
        .iter()
        .find(|i| i.image_id == shown)
        .and_then(|i| i.file_name.split('-').next())
        .expect("the shown image was uploaded")
        .to_string();
    let images: Vec<_> = created
        .tiktok_images
        .iter()
        .filter(|i| i.account_id == k.account_id && i.file_name.starts_with(&format!("{tag}-")))
        .collect();
    assert_eq!(
        images.len(),
        1,
        "one image uploaded for this push: {images:?}"
    );
    assert_eq!((images[0].width, images[0].height), (1080, 1080));
    let identity_id = match identity {
        Some(display_name) => {
            let ids: Vec<_> = created
                .tiktok_identities
                .iter()
                .filter(|i| i.account_id == k.account_id && i.display_name == display_name)
                .collect();
            assert_eq!(ids.len(), 1, "one identity called {display_name}: {ids:?}");
            assert_eq!(
                ids[0].image_uri.as_deref(),
                Some(images[0].image_id.as_str()),
                "the identity's picture is the uploaded image"
            );
            ids[0].identity_id.clone()
        }
        None => READY_IDENTITY.to_string(),
    };
    assert_eq!(ads.len(), 2, "one ad per kept variation: {ads:?}");
    for (i, a) in ads.iter().enumerate() {
        assert_eq!(a.ad_group_id, g.ad_group_id);
        assert_eq!(a.name, format!("US women 25-44 \u{2013} ad {}", i + 1));
        assert_eq!(a.status, adpilot::sandbox::CampaignStatus::Paused);
        let x = created
            .tiktok_ads
            .iter()
            .find(|x| x.ad_id == a.ad_id)
            .expect("the ad's settings");
        assert_eq!(x.ad_format, "SINGLE_IMAGE");
        assert_eq!(x.ad_text, COPY[i]);
        assert_eq!(x.call_to_action, "SHOP_NOW");
        assert_eq!(x.landing_page_url, LINK);
        assert_eq!(x.identity_type, "CUSTOMIZED_USER");
        assert_eq!(x.identity_id, identity_id);
        assert_eq!(x.image_ids, vec![images[0].image_id.clone()]);
        assert!(
            a.ad_id.len() >= 16 && a.ad_id.chars().all(|c| c.is_ascii_digit()),
            "TikTok ids are strings of 16 or more digits: {}",
            a.ad_id
        );
    }
}

async fn start(sb: &SandboxHandle, t: &TestApp) -> (Client, String) {
    let _ = sb;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    connect(&mut c, "tiktok").await;
    let form = c.get("/campaigns/new").await;
    form.assert_status(StatusCode::OK);
    let account = account_value(&form.body, "TikTok Ads: Globex Apparel");
    (c, account)
}

/// A TikTok account chosen, every TikTok field filled, an image uploaded and a new identity
/// asked for: the ad group, image, identity and ads exist on TikTok with what was typed, and
/// the status page lists each step and links the new ad group's page.
#[tokio::test]
async fn a_complete_tiktok_ad_is_created_exactly_as_the_form_asked() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let (mut c, account) = start(&sb, &t).await;
    let form = c.get("/campaigns/new").await;
    assert!(
        form.body.contains("id=\"tiktok-section\"")
            && form.body.contains("Globex Apparel</option>"),
        "the TikTok section lists the advertiser's identities"
    );
    let runner = workers(&t);
    let f = tiktok_form(&account, "Trail Shoes TikTok", "Globex Trail");
    let image = png(1080, 1080);
    let r = c
        .post_multipart(
            "/campaigns",
            &pairs(&f),
            &[("tiktok_image", "trail shoes.png", "image/png", &image)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let status_path = r.location().expect("status page").to_string();
    let page = settled(&mut c, &status_path).await;
    assert!(page.contains("badge ok\">created"), "{page}");
    for step in [
        "Campaign \u{201c}Trail Shoes TikTok\u{201d}",
        "Ad group \u{201c}US women 25-44\u{201d}",
        "Image trail shoes.png (1080 × 1080)",
        "Identity \u{201c}Globex Trail\u{201d}",
        "Ad 2",
    ] {
        assert!(page.contains(step), "step {step} listed: {page}");
    }
    assert!(
        page.contains("href=\"/ad-groups/"),
        "links the new ad group's page: {page}"
    );
    assert!(!page.contains("Try again"), "{page}");
    assert_tree(&sb, "Trail Shoes TikTok", Some("Globex Trail"));

    // An identity from the advertiser's list is used as it is: nothing new is made for it.
    let mut f = tiktok_form(&account, "Trail Shoes Listed", "");
    set(&mut f, "tiktok_identity", READY_IDENTITY);
    let r = c
        .post_multipart(
            "/campaigns",
            &pairs(&f),
            &[("tiktok_image", "listed.png", "image/png", &image)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = settled(&mut c, r.location().expect("status page")).await;
    assert!(!page.contains("Identity \u{201c}"), "{page}");
    assert_tree(&sb, "Trail Shoes Listed", None);
    runner.shutdown().await;
}

/// TikTok refuses each step once in turn (campaign, ad group, image, identity, ad). The push
/// stops there and says which steps exist; "Try again" continues from the refused step and
/// the advertiser ends with exactly one of everything.
#[tokio::test]
async fn a_refusal_at_each_tiktok_step_then_try_again_makes_one_of_everything() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let (mut c, account) = start(&sb, &t).await;
    let runner = workers(&t);
    let image = png(1080, 1080);
    for (what, path_end, made_before) in [
        ("campaign", "/campaign/create/", 0),
        ("ad group", "/adgroup/create/", 1),
        ("image", "/file/image/ad/upload/", 2),
        ("identity", "/identity/create/", 3),
        ("ad", "/ad/create/", 4),
    ] {
        let name = format!("Trail refused {what}");
        let identity = format!("Trail {what}");
        sb.inject_fault(
            FaultSpec::new(FaultKind::PermanentError)
                .platform(Platform::Tiktok)
                .method("POST")
                .path_ends_with(path_end)
                .count(1),
        )
        .expect("fault");
        let f = tiktok_form(&account, &name, &identity);
        let r = c
            .post_multipart(
                "/campaigns",
                &pairs(&f),
                &[("tiktok_image", "shoe.png", "image/png", &image)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let status_path = r.location().expect("status page").to_string();
        let page = settled(&mut c, &status_path).await;
        assert!(page.contains("badge bad\">error"), "{what}: {page}");
        assert!(
            page.contains(&format!(
                "TikTok refused the {what}: objective_type: This objective is not available"
            )),
            "the platform's words, naming the step: {page}"
        );
        assert_eq!(
            page.matches("badge ok\">created").count(),
            made_before,
            "{what}: the steps before it exist: {page}"
        );
        assert!(page.contains("badge bad\">refused"), "{page}");
        assert!(page.contains("Try again"), "{page}");
        let r = c.post(&format!("{status_path}/retry"), &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let page = settled(&mut c, &status_path).await;
        assert!(page.contains("badge ok\">created"), "{what}: {page}");
        assert!(!page.contains("badge bad"), "{what}: {page}");
        assert_tree(&sb, &name, Some(&identity));
    }
    runner.shutdown().await;
}

/// Each mistake is refused at its field with what to do, the rest of the form kept, and
/// nothing sent to TikTok.
#[tokio::test]
async fn bad_tiktok_input_is_refused_at_its_field_and_nothing_is_sent() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let (mut c, account) = start(&sb, &t).await;
    sb.clear_calls();
    let good = png(1080, 1080);
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec();
    let huge = png(2000, 2000);
    let long_text = "Trail shoes that grip every single mountain path, forest track and rocky ridge you will ever run on daily";
    let cases: Vec<(&str, Vec<(&str, &str)>, &[u8], &str, &str)> = vec![
        (
            "not an image",
            vec![],
            &gif,
            "tiktok-image-error",
            "not a JPEG or PNG image",
        ),
        (
            "over TikTok's pixel limit",
            vec![],
            &huge,
            "tiktok-image-error",
            "TikTok takes at most 3686400 pixels",
        ),
        (
            "unknown place",
            vec![("tiktok_locations", "United States\nAtlantis")],
            &good,
            "tiktok-locations-error",
            "TikTok knows no location called \u{201c}Atlantis\u{201d}",
        ),
        (
            "unknown interest category",
            vec![("tiktok_interests", "Underwater basket weaving")],
            &good,
            "tiktok-interests-error",
            "TikTok has no interest category called",
        ),
        (
            "copy over TikTok's limit",
            vec![("line:1:tiktok_ad_text", long_text)],
            &good,
            "copy-errors",
            "Variation 1 of the TikTok Ads copy has 1 problem flagged",
        ),
        (
            "no identity",
            vec![("tiktok_identity", "")],
            &good,
            "tiktok-identity-error",
            "Choose the identity the ads run as",
        ),
        (
            "a new identity without a name",
            vec![("tiktok_display_name", "")],
            &good,
            "tiktok-display-name-error",
            "Enter the display name of the new identity",
        ),
        (
            "an identity not the advertiser's",
            vec![("tiktok_identity", "7301245110000000000")],
            &good,
            "tiktok-identity-error",
            "is not one of this TikTok advertiser",
        ),
        (
            "ftp landing page",
            vec![("tiktok_link", "ftp://shop.example.com/trail")],
            &good,
            "tiktok-link-error",
            "must start with https://",
        ),
        (
            "no age group",
            vec![("tiktok_age", "")],
            &good,
            "tiktok-age-error",
            "Choose age groups from the list",
        ),
    ];
    for (what, changes, image, error_id, message) in cases {
        let mut f = tiktok_form(&account, "Trail Shoes Bad", "Globex Trail");
        for (k, v) in &changes {
            set(&mut f, k, v);
        }
        let r = c
            .post_multipart(
                "/campaigns",
                &pairs(&f),
                &[("tiktok_image", "shoe.png", "image/png", image)],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            r.body
        );
        assert!(
            r.body.contains(&format!("id=\"{error_id}\"")),
            "{what}: {}",
            r.body
        );
        assert!(
            r.body.contains(&message.replace('"', "&#34;")),
            "{what}: says {message}: {}",
            r.body
        );
        assert!(
            r.body.contains("value=\"US women 25-44\"")
                && r.body.contains(">United States\nParis, Texas<")
                || what == "unknown place",
            "{what}: what was typed is kept"
        );
        assert_eq!(tiktok_posts(&sb), 0, "{what}: nothing was sent to TikTok");
    }
    assert!(named(&sb, "Trail Shoes Bad").is_empty());

    // A good image is kept across a form shown again: fixing the other field is enough.
    let mut f = tiktok_form(&account, "Trail Shoes Kept", "Globex Kept");
    set(&mut f, "tiktok_link", "shop.example.com");
    let r = c
        .post_multipart(
            "/campaigns",
            &pairs(&f),
            &[("tiktok_image", "kept.png", "image/png", &good)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"tiktok-image-kept\""), "{}", r.body);
    let marker = "name=\"tiktok_image_id\" value=\"";
    let at = r.body.find(marker).expect("kept image id") + marker.len();
    let kept_id = r.body[at..at + 36].to_string();
    set(&mut f, "tiktok_link", LINK);
    f.push(("tiktok_image_id".into(), kept_id));
    let runner = workers(&t);
    let r = c.post_multipart("/campaigns", &pairs(&f), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let status_path = r.location().expect("status page").to_string();
    let page = settled(&mut c, &status_path).await;
    assert!(page.contains("Image kept.png (1080 × 1080)"), "{page}");
    assert!(page.contains("badge ok\">created"), "{page}");
    runner.shutdown().await;
}

/// TikTok makes the ad group but its answer is lost: the job's next attempt finds the ad
/// group by name under the new campaign instead of creating a second one, and carries on.
#[tokio::test]
async fn a_lost_ad_group_answer_is_found_on_tiktok_not_made_twice() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::build_with(&[], Some(&sb), |c| {
        c.platforms.request_timeout = Duration::from_millis(1500);
    })
    .await;
    let (mut c, account) = start(&sb, &t).await;
    let runner = workers(&t);
    sb.inject_fault(
        FaultSpec::new(FaultKind::LostResponse)
            .platform(Platform::Tiktok)
            .method("POST")
            .path_ends_with("/adgroup/create/")
            .delay_ms(3000)
            .count(1),
    )
    .expect("fault");
    let f = tiktok_form(&account, "Trail Shoes Lost", "Globex Lost");
    let image = png(1080, 1080);
    let r = c
        .post_multipart(
            "/campaigns",
            &pairs(&f),
            &[("tiktok_image", "shoe.png", "image/png", &image)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let status_path = r.location().expect("status page").to_string();
    let page = settled(&mut c, &status_path).await;
    assert!(page.contains("badge ok\">created"), "{page}");
    assert!(
        page.contains("badge ok\">found</span>\n        <a href=\"/ad-groups/"),
        "the ad group is recorded as found: {page}"
    );
    let sent = sb
        .calls()
        .into_iter()
        .filter(|k| k.method == "POST" && k.path.ends_with("/adgroup/create/"))
        .count();
    assert_eq!(sent, 1, "the ad group create was sent once");
    assert_tree(&sb, "Trail Shoes Lost", Some("Globex Lost"));
    runner.shutdown().await;
}

/// A Meta and a TikTok account chosen together, one image chosen in the Meta section: the
/// TikTok ad uses that image (uploaded to TikTok as well), and both platforms get their
/// whole tree.
#[tokio::test]
async fn with_meta_and_tiktok_chosen_the_meta_image_serves_both() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let mut c = t.sign_up("ann@example.com", "Acme").await;
    connect(&mut c, "meta").await;
    connect(&mut c, "tiktok").await;
    let form = c.get("/campaigns/new").await;
    let meta = account_value(&form.body, "Meta Ads: Northwind Shop");
    let tiktok = account_value(&form.body, "TikTok Ads: Globex Apparel");
    let runner = workers(&t);
    let mut f = crate::campaign_create_meta::meta_form(&meta, "Trail Shoes Both", "ad_set");
    f.extend(
        tiktok_form(&tiktok, "Trail Shoes Both", "Globex Both")
            .into_iter()
            .filter(|(k, _)| {
                k.starts_with("tiktok_")
                    || k.starts_with("line:")
                    || k.starts_with("generator:")
                    || k == "account"
                    || k == "pick"
            }),
    );
    let image = png(1080, 1080);
    let r = c
        .post_multipart(
            "/campaigns",
            &pairs(&f),
            &[("meta_image", "both.png", "image/png", &image)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let status_path = r.location().expect("status page").to_string();
    let page = settled(&mut c, &status_path).await;
    assert!(!page.contains("badge bad"), "{page}");
    assert_eq!(
        page.matches("Image both.png (1080 × 1080)").count(),
        2,
        "the one image is a step on both platforms: {page}"
    );
    assert_tree(&sb, "Trail Shoes Both", Some("Globex Both"));
    let on_meta = sb
        .campaigns(&TruthQuery::default())
        .into_iter()
        .filter(|k| k.platform == Platform::Meta && k.name == "Trail Shoes Both")
        .count();
    assert_eq!(on_meta, 1);
    assert_eq!(sb.created().meta_images.len(), 1);
    runner.shutdown().await;
}

/// Ticked AI interest suggestions for TikTok go into the interest categories field as the
/// TikTok category each maps to, looked up on the sandbox's `/tool/interest_category/`; the
/// mapping is said, a suggestion with no category is said and not added, an unticked one is
/// left out, and nothing is sent to TikTok.
#[tokio::test]
async fn ticked_tiktok_interest_suggestions_fill_the_field_as_tiktok_categories() {
    let sb = sandbox(SandboxConfig::default()).await;
    let t = TestApp::with_sandbox(&sb).await;
    let (mut c, account) = start(&sb, &t).await;
    sb.clear_calls();
    let suggestions = [
        "tiktok|interest|trail running|Runners off road.",
        "tiktok|interest|Fitness & Yoga|Active people.",
        "tiktok|interest|Underwater basket weaving|A niche.",
        "tiktok|interest|Music|Not ticked.",
        "tiktok|interest|pets|Already typed.",
    ];
    let mut f: Vec<(&str, &str)> = vec![
        ("name", "Trail Shoes Suggested"),
        ("account", &account),
        ("objective", "traffic"),
        ("daily_budget", "25"),
        ("product", "Trail running shoes"),
        ("tiktok_interests", "Pets"),
        ("targeting_by", "openai/gpt-4o-mini"),
        ("copy_action", "apply"),
        ("target", "TikTok Ads: interest trail running"),
        ("target", "TikTok Ads: interest Fitness & Yoga"),
        ("target", "TikTok Ads: interest Underwater basket weaving"),
        ("target", "TikTok Ads: interest pets"),
    ];
    for s in &suggestions {
        f.push(("suggestion", s));
    }
    let r = c.post("/campaigns/new/targeting", &f).await;
    r.assert_status(StatusCode::OK);
    let field = r
        .body
        .split("name=\"tiktok_interests\"")
        .nth(1)
        .and_then(|s| s.split('>').nth(1))
        .and_then(|s| s.split("</textarea").next())
        .expect("the interest categories field");
    assert_eq!(
        field, "Pets\nRunning\nFitness &#38; Yoga\n",
        "the typed category kept, the ticked suggestions added as TikTok names them, once each"
    );
    let added = r
        .body
        .split("id=\"targeting-added\"")
        .nth(1)
        .and_then(|s| s.split("</div>").next())
        .expect("what was added is said");
    assert!(
        added.contains("\u{201c}trail running\u{201d} as TikTok")
            && added.contains("\u{201c}Running\u{201d}: added"),
        "a suggestion that becomes another name says so: {added}"
    );
    assert!(
        added.contains("\u{201c}Fitness &#38; Yoga\u{201d}: added"),
        "{added}"
    );
    assert!(
        added.contains("\u{201c}Pets\u{201d}: already in"),
        "{added}"
    );
    assert!(!added.contains("Music"), "not ticked, not added: {added}");
    assert!(
        r.body.contains(
            "TikTok has no interest category for \u{201c}Underwater basket weaving\u{201d}"
        ),
        "the suggestion with no category is said"
    );
    let calls = sb.calls();
    assert!(
        calls
            .iter()
            .any(|k| k.platform == Some(Platform::Tiktok)
                && k.path.contains("/tool/interest_category/")),
        "TikTok's categories were looked up"
    );
    assert_eq!(tiktok_posts(&sb), 0, "nothing was sent to TikTok");
    assert_eq!(
        count(&t, "SELECT count(*) AS n FROM campaign_pushes").await,
        0
    );
}
