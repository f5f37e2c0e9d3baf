//! Ad platform adapters: Google Ads (REST), Meta Marketing (Graph) and TikTok Marketing v1.3
//! behind one interface.
//!
//! Build one [`Platforms`] at start (it holds the HTTP client, the settings and the shared rate
//! limiters), clone it freely, and ask it for an [`Adapter`] per platform. Every adapter call
//! retries rate limits and transient failures by the settings' [`RetryPolicy`] and returns a
//! [`PlatformError`] sorted by what the caller should do next.
//!
//! Wire formats follow `shared/platform-apis.md`; points it marks UNVERIFIED are noted where
//! they are handled.

mod call;
pub mod cli;
pub mod create;
pub mod errors;
mod google;
pub mod limits;
mod meta;
pub mod meta_create;
pub mod meta_offset;
pub mod model;
mod oauth_http;
pub mod retry;
pub mod settings;
mod tiktok;
mod wire;

#[cfg(test)]
mod testkit;

use std::sync::Arc;

use chrono::NaiveDate;

use crate::types::{Money, Platform};

pub use errors::PlatformError;
pub use limits::RateLimits;
pub use model::{
    AccountRef, AccountStatus, Ad, AdAccount, AdGroup, AuthorizationRequest, BudgetPeriod,
    Campaign, CampaignStatus, Credentials, DailyMetrics, Flight, Level, LevelBudget, LevelMetrics,
    NewCampaign, TokenSet,
};
pub use retry::RetryPolicy;
pub use settings::{GoogleSettings, LimitSettings, MetaSettings, PlatformSettings, TiktokSettings};
/// TikTok's create types and calls (they live with the TikTok adapter).
pub use tiktok::create as tiktok_create;

use google::GoogleAds;
use meta::MetaAds;
use tiktok::TiktokAds;

/// What every adapter shares: one HTTP client, the settings, the rate limiters.
pub(crate) struct Shared {
    pub(crate) http: reqwest::Client,
    pub(crate) settings: PlatformSettings,
    pub(crate) limits: RateLimits,
}

/// The entry point: holds the state shared by all adapters. Cheap to clone.
#[derive(Clone)]
pub struct Platforms {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Platforms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Platforms").finish_non_exhaustive()
    }
}

impl Platforms {
    /// Builds the HTTP client from the settings (timeouts, no redirects: a platform API that
    /// redirects is misconfigured, and following would carry tokens elsewhere). The rustls
    /// crypto provider must be installed before (the binary does it at start).
    pub fn new(settings: PlatformSettings) -> Result<Self, PlatformError> {
        // reqwest is built without a default crypto provider and panics without one; the
        // binary installs ring at start, this covers any other entry (tests, tools).
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(
                settings
                    .request_timeout
                    .min(std::time::Duration::from_secs(15)),
            )
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("adpilot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| PlatformError::unexpected(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self::with_http_client(settings, http))
    }

    /// With a client the caller built.
    pub fn with_http_client(settings: PlatformSettings, http: reqwest::Client) -> Self {
        let limits = RateLimits::new(settings.limits.clone());
        Platforms {
            shared: Arc::new(Shared {
                http,
                settings,
                limits,
            }),
        }
    }

    pub fn settings(&self) -> &PlatformSettings {
        &self.shared.settings
    }

    pub fn adapter(&self, platform: Platform) -> Adapter {
        let shared = self.shared.clone();
        match platform {
            Platform::Google => Adapter::Google(GoogleAds::new(shared)),
            Platform::Meta => Adapter::Meta(MetaAds::new(shared)),
            Platform::Tiktok => Adapter::Tiktok(TiktokAds::new(shared)),
        }
    }
}

/// One platform's adapter. All futures are `Send`.
#[derive(Clone)]
pub enum Adapter {
    Google(GoogleAds),
    Meta(MetaAds),
    Tiktok(TiktokAds),
}

macro_rules! dispatch {
    ($self:ident, $a:ident => $e:expr) => {
        match $self {
            Adapter::Google($a) => $e,
            Adapter::Meta($a) => $e,
            Adapter::Tiktok($a) => $e,
        }
    };
}

impl Adapter {
    pub fn platform(&self) -> Platform {
        match self {
            Adapter::Google(_) => Platform::Google,
            Adapter::Meta(_) => Platform::Meta,
            Adapter::Tiktok(_) => Platform::Tiktok,
        }
    }

    /// Where to send the user's browser to grant access.
    pub fn authorization_url(
        &self,
        req: &AuthorizationRequest<'_>,
    ) -> Result<String, PlatformError> {
        dispatch!(self, a => a.authorization_url(req))
    }

    /// Trades the callback's `code` (TikTok: `auth_code`) for tokens. Meta's short-lived token
    /// is exchanged for a long-lived one right away.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: Option<&str>,
    ) -> Result<TokenSet, PlatformError> {
        dispatch!(self, a => a.exchange_code(code, redirect_uri, pkce_verifier).await)
    }

    /// Google: a refresh with the refresh token. Meta: a new long-lived token from the current
    /// one (only while it is still valid). TikTok: `None`, advertiser tokens do not expire.
    pub async fn renew_token(&self, tokens: &TokenSet) -> Result<Option<TokenSet>, PlatformError> {
        dispatch!(self, a => a.renew_token(tokens).await)
    }

    pub async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        dispatch!(self, a => a.revoke(tokens).await)
    }

    pub async fn list_accounts(
        &self,
        creds: &Credentials,
    ) -> Result<Vec<AdAccount>, PlatformError> {
        dispatch!(self, a => a.list_accounts(creds).await)
    }

    /// One account's details (currency, time zone), by id in any accepted spelling.
    pub async fn account(
        &self,
        creds: &Credentials,
        account_id: &str,
    ) -> Result<AdAccount, PlatformError> {
        dispatch!(self, a => a.account(creds, account_id).await)
    }

    pub async fn list_campaigns(
        &self,
        creds: &Credentials,
        account: &AccountRef,
    ) -> Result<Vec<Campaign>, PlatformError> {
        dispatch!(self, a => a.list_campaigns(creds, account).await)
    }

    /// One row per campaign per day with activity, `from..=to` in the account's time zone.
    pub async fn daily_metrics(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DailyMetrics>, PlatformError> {
        if to < from {
            return Err(PlatformError::invalid(format!(
                "the date range ends ({to}) before it starts ({from})"
            )));
        }
        dispatch!(self, a => a.daily_metrics(creds, account, from, to).await)
    }

    /// Ad groups (Meta ad sets) of the account, or of one campaign. Deleted ones are listed
    /// where the platform lists them (Google); elsewhere they are simply absent.
    pub async fn list_ad_groups(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: Option<&str>,
    ) -> Result<Vec<AdGroup>, PlatformError> {
        dispatch!(self, a => a.list_ad_groups(creds, account, campaign_id).await)
    }

    /// Ads of the account, or of one campaign.
    pub async fn list_ads(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: Option<&str>,
    ) -> Result<Vec<Ad>, PlatformError> {
        dispatch!(self, a => a.list_ads(creds, account, campaign_id).await)
    }

    /// One row per object of `level` per day with activity, `from..=to` in the account's time
    /// zone, from the platform's own report at that level (deleted objects included).
    pub async fn level_metrics(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        level: Level,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<LevelMetrics>, PlatformError> {
        if to < from {
            return Err(PlatformError::invalid(format!(
                "the date range ends ({to}) before it starts ({from})"
            )));
        }
        match level {
            Level::Campaign => Ok(self
                .daily_metrics(creds, account, from, to)
                .await?
                .into_iter()
                .map(|m| LevelMetrics {
                    level,
                    campaign_id: m.campaign_id,
                    ad_group_id: None,
                    ad_id: None,
                    name: m.campaign_name,
                    date: m.date,
                    impressions: m.impressions,
                    clicks: m.clicks,
                    all_clicks: m.all_clicks,
                    spend: m.spend,
                    conversions: m.conversions,
                    revenue: m.revenue,
                    conversion_types: m.conversion_types,
                })
                .collect()),
            _ => dispatch!(self, a => a.level_metrics(creds, account, level, from, to).await),
        }
    }

    pub async fn create_campaign(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        new: &NewCampaign,
    ) -> Result<Campaign, PlatformError> {
        if new.status == CampaignStatus::Removed {
            return Err(PlatformError::invalid(
                "a new campaign starts active or paused",
            ));
        }
        check_currency(account, &new.daily_budget)?;
        check_positive(&new.daily_budget)?;
        dispatch!(self, a => a.create_campaign(creds, account, new).await)
    }

    /// Active or Paused. (Removing is not offered: it cannot be undone on any platform.)
    pub async fn set_status(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
        status: CampaignStatus,
    ) -> Result<(), PlatformError> {
        if status == CampaignStatus::Removed {
            return Err(PlatformError::invalid(
                "campaigns can be paused or resumed here, not removed",
            ));
        }
        dispatch!(self, a => a.set_status(creds, account, campaign_id, status).await)
    }

    pub async fn pause(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
    ) -> Result<(), PlatformError> {
        self.set_status(creds, account, campaign_id, CampaignStatus::Paused)
            .await
    }

    pub async fn resume(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
    ) -> Result<(), PlatformError> {
        self.set_status(creds, account, campaign_id, CampaignStatus::Active)
            .await
    }

    /// `None` when the campaign has no daily budget of its own.
    pub async fn daily_budget(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
    ) -> Result<Option<Money>, PlatformError> {
        dispatch!(self, a => a.daily_budget(creds, account, campaign_id).await)
    }

    /// Sets the daily budget, rounded to the currency's minor unit (whole yen for JPY).
    pub async fn set_daily_budget(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
        budget: Money,
    ) -> Result<(), PlatformError> {
        check_currency(account, &budget)?;
        check_positive(&budget)?;
        dispatch!(self, a => a.set_daily_budget(creds, account, campaign_id, budget).await)
    }
}

impl Adapter {
    /// One ad group (Meta ad set) read from the platform now: its status, its own budget and
    /// bid as the platform holds them (what a change is computed from and checked against).
    pub async fn ad_group(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
    ) -> Result<AdGroup, PlatformError> {
        dispatch!(self, a => a.ad_group(creds, account, ad_group_id).await)
    }

    /// Active or Paused (removing is not offered, as for campaigns).
    pub async fn set_ad_group_status(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
        status: CampaignStatus,
    ) -> Result<(), PlatformError> {
        if status == CampaignStatus::Removed {
            return Err(PlatformError::invalid(
                "ad groups can be paused or resumed here, not removed",
            ));
        }
        dispatch!(self, a => a.set_ad_group_status(creds, account, ad_group_id, status).await)
    }

    /// Active or Paused. Google needs the ad's ad group (`adGroupAds/{ad group}~{ad}`); the
    /// others address the ad by its own id.
    pub async fn set_ad_status(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
        ad_id: &str,
        status: CampaignStatus,
    ) -> Result<(), PlatformError> {
        if status == CampaignStatus::Removed {
            return Err(PlatformError::invalid(
                "ads can be paused or resumed here, not removed",
            ));
        }
        dispatch!(self, a => a.set_ad_status(creds, account, ad_group_id, ad_id, status).await)
    }

    /// The ad group's own daily or lifetime budget. Refused by Google (ad groups have none)
    /// and, in their own words, by Meta and TikTok when the campaign holds the budget.
    pub async fn set_ad_group_budget(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
        budget: LevelBudget,
    ) -> Result<(), PlatformError> {
        check_currency(account, &budget.amount)?;
        check_positive(&budget.amount)?;
        dispatch!(self, a => a.set_ad_group_budget(creds, account, ad_group_id, budget).await)
    }

    /// Google `cpc_bid_micros`, Meta `bid_amount`, TikTok `bid_price` (or
    /// `conversion_bid_price` for oCPM ad groups).
    pub async fn set_ad_group_bid(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_group_id: &str,
        bid: Money,
    ) -> Result<(), PlatformError> {
        check_currency(account, &bid)?;
        if bid.micros <= 0 {
            return Err(PlatformError::invalid("a bid must be more than zero"));
        }
        dispatch!(self, a => a.set_ad_group_bid(creds, account, ad_group_id, bid).await)
    }
}

/// Refuses (never rounds) an amount that is not a whole number of the currency's minor units:
/// what a person typed, or a rule computed, is sent as it is or not at all.
pub(crate) fn whole_minor_units(money: &Money, what: &str) -> Result<(), PlatformError> {
    let per_minor =
        crate::types::MICROS_PER_UNIT / 10_i64.pow(money.currency.minor_unit_exponent());
    if money.micros % per_minor != 0 {
        return Err(PlatformError::invalid(format!(
            "a {what} of {} {} has more decimals than {} allows",
            money.to_major(),
            money.currency,
            money.currency
        )));
    }
    Ok(())
}

fn check_currency(account: &AccountRef, money: &Money) -> Result<(), PlatformError> {
    if money.currency != account.currency {
        return Err(PlatformError::invalid(format!(
            "the budget is in {} but the account spends in {}",
            money.currency, account.currency
        )));
    }
    Ok(())
}

fn check_positive(money: &Money) -> Result<(), PlatformError> {
    if money.to_minor_units() <= 0 {
        return Err(PlatformError::invalid(
            "a daily budget must be more than zero",
        ));
    }
    Ok(())
}

/// Rounds to the currency's minor unit, in micros (Google rejects budgets that are not a
/// multiple of the minor unit; Meta and TikTok take minor or major units anyway).
pub(crate) fn round_to_minor(money: Money) -> Money {
    let per_minor =
        crate::types::MICROS_PER_UNIT / 10_i64.pow(money.currency.minor_unit_exponent());
    Money::new(money.to_minor_units() * per_minor, money.currency)
}

/// Reads a response fully. Bodies are small (one page), so there is no streaming.
pub(crate) async fn read_response(
    resp: reqwest::Response,
) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap, String), PlatformError> {
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.text().await?;
    Ok((status, headers, body))
}

/// The first part of a body for error messages, so an HTML error page does not flood logs.
pub(crate) fn snippet(body: &str) -> String {
    let t = body.trim();
    match t.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &t[..i]),
        None => t.to_string(),
    }
}

/// Reads a token endpoint's successful answer as the adapter does once its HTTP call is done:
/// the pure part of the OAuth code exchange (TikTok's envelope included), with no network.
/// Fed arbitrary bodies by the OAuth callback fuzz target.
pub fn parse_token_response(
    platform: Platform,
    body: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<TokenSet, PlatformError> {
    let json = || {
        serde_json::from_str::<serde_json::Value>(body).map_err(|e| {
            PlatformError::unexpected(format!(
                "{} token response unreadable: {e}",
                platform.label()
            ))
        })
    };
    match platform {
        Platform::Google => google::token_set(&json()?, None, now),
        Platform::Meta => meta::token_set(&json()?, now),
        Platform::Tiktok => tiktok::token_set(&tiktok::envelope(
            reqwest::StatusCode::OK,
            &reqwest::header::HeaderMap::new(),
            body,
        )?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn a_huge_expires_in_caps_the_expiry_instead_of_panicking() {
        // Found while writing the oauth_callback fuzz target: `now + seconds(expires_in)` panicked.
        let now = chrono::Utc::now();
        for p in [Platform::Google, Platform::Meta] {
            for huge in [
                "9223372036854775807",
                "100000000000000",
                "\"99999999999999\"",
            ] {
                let body = format!(r#"{{"access_token":"tok","expires_in":{huge}}}"#);
                let t = parse_token_response(p, &body, now).expect("tokens");
                assert_eq!(t.expires_at, Some(chrono::DateTime::<chrono::Utc>::MAX_UTC));
            }
            let t = parse_token_response(p, r#"{"access_token":"tok","expires_in":3600}"#, now)
                .expect("tokens");
            assert_eq!(t.expires_at, Some(now + chrono::TimeDelta::seconds(3600)));
            assert!(parse_token_response(p, "not json", now).is_err());
            // Found by the oauth_callback fuzz target: an empty token was taken as a token.
            for empty in [
                r#"{"access_token":""}"#,
                r#"{"access_token":"  ","expires_in":60}"#,
            ] {
                assert!(parse_token_response(p, empty, now).is_err(), "{empty}");
            }
        }
        let t = parse_token_response(
            Platform::Tiktok,
            r#"{"code":0,"message":"OK","data":{"access_token":"tok","advertiser_ids":["1",2]}}"#,
            now,
        )
        .expect("tokens");
        assert_eq!(t.advertiser_ids, vec!["1".to_string(), "2".to_string()]);
        assert!(
            parse_token_response(Platform::Tiktok, r#"{"code":40001,"message":"no"}"#, now)
                .is_err()
        );
    }

    #[test]
    fn adapter_futures_are_send() {
        let p = Platforms::with_http_client(PlatformSettings::default(), reqwest::Client::new());
        let a = p.adapter(Platform::Meta);
        let c = Credentials::new("t");
        let acct = AccountRef::new("1", "USD".parse().expect("cur"));
        let d = NaiveDate::from_ymd_opt(2025, 1, 1).expect("date");
        assert_send(&a.daily_metrics(&c, &acct, d, d));
        assert_send(&a.list_accounts(&c));
        assert_send(&a.set_daily_budget(&c, &acct, "1", Money::new(1, acct.currency)));
        assert_send(&a.create_campaign(
            &c,
            &acct,
            &NewCampaign {
                name: "x".into(),
                daily_budget: Money::new(1, acct.currency),
                status: CampaignStatus::Paused,
            },
        ));
    }

    #[test]
    fn budgets_round_to_the_minor_unit() {
        let jpy = "JPY".parse().expect("cur");
        assert_eq!(
            round_to_minor(Money::new(5_000_400_000, jpy)).micros,
            5_000_000_000
        );
        let usd = "USD".parse().expect("cur");
        assert_eq!(
            round_to_minor(Money::new(12_345_678, usd)).micros,
            12_350_000
        );
    }

    #[tokio::test]
    async fn a_budget_in_another_currency_is_refused_before_any_call() {
        let p = Platforms::with_http_client(
            PlatformSettings::with_api_origin("http://127.0.0.1:9"),
            reqwest::Client::new(),
        );
        let acct = AccountRef::new("1", "JPY".parse().expect("cur"));
        let usd = "USD".parse().expect("cur");
        let e = p
            .adapter(Platform::Tiktok)
            .set_daily_budget(
                &Credentials::new("t"),
                &acct,
                "9",
                Money::new(50_000_000, usd),
            )
            .await
            .expect_err("currency mismatch");
        assert_eq!(e.kind(), "invalid");
        assert!(e.message().contains("JPY"));
    }
}
