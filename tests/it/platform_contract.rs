//! The adapters against the sandbox over real HTTP: what they normalize equals the sandbox's
//! truth, writes land, retry hints are honoured, and the operator CLI prints the same numbers.

use std::time::Duration;
use tokio::process::Command;

use adpilot::platforms::{
    AccountRef, CampaignStatus, Credentials, NewCampaign, PlatformSettings, Platforms,
};
use adpilot::sandbox::{
    CampaignStatus as TruthStatus, FaultKind, FaultSpec, SandboxConfig, TruthQuery,
};
use adpilot::types::{Money, Platform};
use rust_decimal::Decimal;

use crate::support::*;

fn small_pages() -> SandboxConfig {
    SandboxConfig {
        google_page_size: 50,
        meta_max_page_size: 40,
        tiktok_max_page_size: 30,
        fixed_now: Some(chrono::Utc::now()),
        ..SandboxConfig::default()
    }
}

/// Campaigns a listing returns (Google and TikTok list only live ones; Meta all of them).
fn live_campaigns(
    sb: &adpilot::sandbox::SandboxHandle,
    platform: Platform,
    account: &str,
) -> usize {
    sb.campaigns(&TruthQuery {
        platform: Some(platform),
        account_id: Some(account.to_string()),
        ..Default::default()
    })
    .iter()
    .filter(|c| platform == Platform::Meta || c.status != TruthStatus::Removed)
    .count()
}

fn adapters(sb: &adpilot::sandbox::SandboxHandle) -> Platforms {
    let mut s = PlatformSettings::default();
    adpilot::server::use_sandbox(&mut s, sb);
    s.retry.base_delay = Duration::from_millis(20);
    s.limits.meta_max_slowdown = Duration::from_millis(10);
    Platforms::new(s).expect("platforms")
}

#[tokio::test]
async fn every_adapter_reads_exactly_the_sandbox_truth_over_several_pages() {
    let sb = sandbox(small_pages()).await;
    let p = adapters(&sb);
    for platform in Platform::ALL {
        let creds = Credentials::new(sb.issue_token(platform, None).access_token);
        let a = p.adapter(platform);
        let listed = a.list_accounts(&creds).await.expect("accounts");
        let truth_accounts = sb.accounts(Some(platform));
        assert_eq!(listed.len(), truth_accounts.len(), "{platform} accounts");
        for ta in truth_accounts {
            let got = listed
                .iter()
                .find(|l| l.id.trim_start_matches("act_") == ta.id.trim_start_matches("act_"))
                .expect("account listed");
            assert_eq!(
                (got.currency, got.time_zone.as_str()),
                (ta.currency, ta.time_zone.as_str())
            );
            let r = AccountRef::new(ta.id.clone(), ta.currency);
            let campaigns = a.list_campaigns(&creds, &r).await.expect("campaigns");
            assert_eq!(
                campaigns.len(),
                live_campaigns(&sb, platform, &ta.id),
                "{platform} {} campaigns",
                ta.id
            );
            let to = sb.clock().now().date_naive();
            let from = to - chrono::Days::new(44);
            let rows = a
                .daily_metrics(&creds, &r, from, to)
                .await
                .expect("metrics");
            let truth = sb.daily_metrics(&TruthQuery {
                platform: Some(platform),
                account_id: Some(ta.id.clone()),
                from: Some(from),
                to: Some(to),
                ..Default::default()
            });
            assert_eq!(rows.len(), truth.len(), "{platform} {} rows", ta.id);
            for t in &truth {
                let g = rows
                    .iter()
                    .find(|g| g.campaign_id == t.campaign_id && g.date == t.date)
                    .expect("row present");
                assert_eq!(
                    (
                        g.impressions,
                        g.clicks,
                        g.spend.micros,
                        g.revenue.micros,
                        g.conversions
                    ),
                    (
                        t.impressions,
                        t.clicks,
                        t.spend_micros,
                        t.revenue_micros,
                        Decimal::from(t.conversions)
                    ),
                    "{platform} {} {}",
                    t.campaign_id,
                    t.date
                );
                assert_eq!(g.spend.currency, ta.currency);
            }
        }
    }
}

#[tokio::test]
async fn writes_change_the_sandbox_state() {
    let sb = sandbox(SandboxConfig::default()).await;
    let p = adapters(&sb);
    for platform in Platform::ALL {
        let creds = Credentials::new(sb.issue_token(platform, None).access_token);
        let a = p.adapter(platform);
        let ta = sb
            .accounts(Some(platform))
            .into_iter()
            .next()
            .expect("account");
        let r = AccountRef::new(ta.id.clone(), ta.currency);
        let budget = Money::from_major(Decimal::from(70), ta.currency).expect("money");
        let created = a
            .create_campaign(
                &creds,
                &r,
                &NewCampaign {
                    name: format!("adpilot test {platform}"),
                    daily_budget: budget,
                    status: CampaignStatus::Paused,
                },
            )
            .await
            .expect("create");
        let q = TruthQuery {
            platform: Some(platform),
            campaign_id: Some(created.id.clone()),
            ..Default::default()
        };
        let truth = sb.campaigns(&q);
        assert_eq!(
            truth.len(),
            1,
            "{platform}: created campaign is in the sandbox"
        );
        assert_eq!(truth[0].status, TruthStatus::Paused);
        a.resume(&creds, &r, &created.id).await.expect("resume");
        assert_eq!(sb.campaigns(&q)[0].status, TruthStatus::Enabled);
        let new_budget = Money::from_major(Decimal::from(90), ta.currency).expect("money");
        a.set_daily_budget(&creds, &r, &created.id, new_budget)
            .await
            .expect("budget");
        assert_eq!(sb.campaigns(&q)[0].daily_budget_micros, new_budget.micros);
        assert_eq!(
            a.daily_budget(&creds, &r, &created.id)
                .await
                .expect("read budget"),
            Some(new_budget)
        );
        a.pause(&creds, &r, &created.id).await.expect("pause");
        assert_eq!(sb.campaigns(&q)[0].status, TruthStatus::Paused);
    }
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_platform_hint() {
    let sb = sandbox(SandboxConfig::default()).await;
    let p = adapters(&sb);
    for platform in Platform::ALL {
        let creds = Credentials::new(sb.issue_token(platform, None).access_token);
        let ta = sb
            .accounts(Some(platform))
            .into_iter()
            .next()
            .expect("account");
        let r = AccountRef::new(ta.id.clone(), ta.currency);
        sb.clear_calls();
        sb.inject_fault(
            FaultSpec::new(FaultKind::RateLimit)
                .platform(platform)
                .count(2)
                .retry_after_secs(1),
        )
        .expect("fault");
        let campaigns = p
            .adapter(platform)
            .list_campaigns(&creds, &r)
            .await
            .expect("campaigns after the rate limit");
        assert_eq!(campaigns.len(), live_campaigns(&sb, platform, &ta.id));
        let calls = sb.calls();
        let limited: Vec<_> = calls.iter().filter(|c| c.fault.is_some()).collect();
        assert_eq!(limited.len(), 2, "{platform}: two rate-limited answers");
        let ok = calls
            .iter()
            .rfind(|c| c.fault.is_none())
            .expect("a successful call");
        let waited = ok.elapsed_ms.saturating_sub(limited[0].elapsed_ms);
        if platform == Platform::Tiktok {
            // TikTok's 40100 carries no hint: plain exponential backoff (20 ms base here).
            assert!(waited >= 20, "{platform}: backed off, waited {waited} ms");
        } else {
            assert!(
                waited >= 1900,
                "{platform}: two hints of 1 s honoured, waited {waited} ms"
            );
        }
        sb.clear_faults();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_cli_prints_the_sandbox_numbers() {
    let sb = sandbox(SandboxConfig {
        fixed_now: Some(chrono::Utc::now()),
        ..SandboxConfig::default()
    })
    .await;
    for platform in Platform::ALL {
        let token = sb.issue_token(platform, None).access_token;
        let ta = sb
            .accounts(Some(platform))
            .into_iter()
            .next()
            .expect("account");
        let to = sb.clock().now().date_naive();
        let from = to - chrono::Days::new(9);
        let out = Command::new(env!("CARGO_BIN_EXE_adpilot"))
            .args([
                "platform",
                "metrics",
                "--platform",
                platform.as_str(),
                "--base-url",
                &sb.base_url(),
                "--access-token",
                &token,
                "--account",
                &ta.id,
            ])
            .args([
                "--from",
                &from.to_string(),
                "--to",
                &to.to_string(),
                "--app-id",
                "7000000000000000001",
                "--app-secret",
                "s",
            ])
            .output()
            .await
            .expect("run adpilot platform metrics");
        assert!(
            out.status.success(),
            "{platform}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        let truth = sb.daily_metrics(&TruthQuery {
            platform: Some(platform),
            account_id: Some(ta.id.clone()),
            from: Some(from),
            to: Some(to),
            ..Default::default()
        });
        assert_eq!(lines.len(), truth.len(), "{platform}");
        for t in &truth {
            let l = lines
                .iter()
                .find(|l| {
                    l["campaign_id"] == t.campaign_id.as_str()
                        && l["date"] == t.date.to_string().as_str()
                })
                .expect("line for the campaign-day");
            assert_eq!(
                l["spend"],
                t.spend.as_str(),
                "{platform} spend as decimal string"
            );
            assert_eq!(l["revenue"], t.revenue.as_str());
            assert_eq!(l["impressions"].as_i64(), Some(t.impressions));
        }
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_adpilot"))
        .args([
            "platform",
            "metrics",
            "--platform",
            "google",
            "--base-url",
            &sb.base_url(),
            "--access-token",
            "nope",
            "--account",
            "1",
            "--from",
            "2026-01-01",
            "--to",
            "2026-01-02",
        ])
        .output()
        .await
        .expect("run");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("error: auth"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

/// Each odd answer the sandbox can give (fault kinds for the demo and the browser journey)
/// reaches the user as a plain message, or is read as what it means.
#[tokio::test]
async fn the_sandbox_gives_every_odd_answer_and_the_adapters_say_what_it_means() {
    let sb = sandbox(SandboxConfig::default()).await;
    let p = adapters(&sb);
    let first = |platform: Platform| {
        let ta = sb
            .accounts(Some(platform))
            .into_iter()
            .next()
            .expect("account");
        (
            Credentials::new(sb.issue_token(platform, None).access_token),
            ta.clone(),
            AccountRef::new(ta.id.clone(), ta.currency),
        )
    };
    let fault = |kind: FaultKind, platform: Platform| {
        sb.inject_fault(FaultSpec::new(kind).platform(platform).count(1))
            .expect("fault");
    };
    let today = sb.clock().now().date_naive();

    let (mc, _, mr) = first(Platform::Meta);
    let meta = p.adapter(Platform::Meta);
    fault(FaultKind::PermanentError, Platform::Meta);
    sb.clear_calls();
    let e = meta.list_campaigns(&mc, &mr).await.expect_err("refused");
    assert_eq!(e.kind(), "invalid");
    assert!(
        e.message()
            .starts_with("Ad account has no payment method: "),
        "{e}"
    );
    assert_eq!(sb.calls().len(), 1, "not retried");
    fault(FaultKind::MissingPermission, Platform::Meta);
    let e = meta
        .list_campaigns(&mc, &mr)
        .await
        .expect_err("no permission");
    assert!(e.message().contains("\"ads_read\" permission"), "{e}");
    fault(FaultKind::WrongShape, Platform::Meta);
    let e = meta
        .daily_metrics(&mc, &mr, today - chrono::Days::new(3), today)
        .await
        .expect_err("no data list");
    assert!(e.message().contains("\"data\""), "{e}");
    sb.inject_fault(
        FaultSpec::new(FaultKind::AccountOnHold)
            .platform(Platform::Meta)
            .count(2),
    )
    .expect("fault");
    let on_hold = meta.list_campaigns(&mc, &mr).await.expect("campaigns");
    assert!(on_hold.iter().all(|c| c.status != CampaignStatus::Active));
    let accounts = meta.list_accounts(&mc).await.expect("accounts");
    assert_eq!(accounts[0].status.as_str(), "unsettled (payment due)");

    let (gc, _, gr) = first(Platform::Google);
    fault(FaultKind::WrongShape, Platform::Google);
    let e = p
        .adapter(Platform::Google)
        .daily_metrics(&gc, &gr, today - chrono::Days::new(3), today)
        .await
        .expect_err("a searchStream answer");
    assert!(e.message().contains("JSON array"), "{e}");
    fault(FaultKind::MissingPermission, Platform::Google);
    let e = p
        .adapter(Platform::Google)
        .list_campaigns(&gc, &gr)
        .await
        .expect_err("no permission");
    assert_eq!(e.kind(), "auth");

    let (tc, ta, tr) = first(Platform::Tiktok);
    let tiktok = p.adapter(Platform::Tiktok);
    fault(FaultKind::WrongShape, Platform::Tiktok);
    let e = tiktok.list_campaigns(&tc, &tr).await.expect_err("no list");
    assert!(e.message().contains("data.list"), "{e}");
    fault(FaultKind::SecondaryStatusOnly, Platform::Tiktok);
    let listed = tiktok.list_campaigns(&tc, &tr).await.expect("campaigns");
    let truth = sb.campaigns(&TruthQuery {
        platform: Some(Platform::Tiktok),
        account_id: Some(ta.id.clone()),
        ..Default::default()
    });
    for c in &listed {
        let t = truth
            .iter()
            .find(|t| t.campaign_id == c.id)
            .expect("in truth");
        assert_eq!(
            c.status == CampaignStatus::Active,
            t.status == TruthStatus::Enabled,
            "{}",
            c.id
        );
    }
    sb.inject_fault(
        FaultSpec::new(FaultKind::LegacyAdvertiserInfo)
            .platform(Platform::Tiktok)
            .path_contains("advertiser/info"),
    )
    .expect("fault");
    let accounts = tiktok.list_accounts(&tc).await.expect("accounts");
    let got = accounts.iter().find(|a| a.id == ta.id).expect("listed");
    assert_eq!(
        (got.currency, got.time_zone.as_str()),
        (ta.currency, ta.time_zone.as_str())
    );
    sb.clear_faults();
}
