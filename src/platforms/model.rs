//! The normalized shapes every adapter returns, whatever the platform's wire format.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::types::{Currency, Money};

/// What a connection holds to call a platform on a user's behalf.
#[derive(Clone, Default)]
pub struct Credentials {
    pub access_token: String,
    /// Google only: the manager account to act through; overrides the settings' value.
    pub login_customer_id: Option<String>,
    /// Meta only: this connection's conversion action types in priority order; overrides the
    /// settings' list.
    pub conversion_action_types: Option<Vec<String>>,
}

impl Credentials {
    pub fn new(access_token: impl Into<String>) -> Self {
        Credentials {
            access_token: access_token.into(),
            ..Credentials::default()
        }
    }
}

// Tokens never reach logs through Debug.
impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_token", &"<redacted>")
            .field("login_customer_id", &self.login_customer_id)
            .field("conversion_action_types", &self.conversion_action_types)
            .finish()
    }
}

/// An ad account as the adapters need it for money: its id and currency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRef {
    /// Google customer id (dashes allowed), Meta `act_123` or `123`, TikTok advertiser id.
    pub id: String,
    pub currency: Currency,
}

impl AccountRef {
    pub fn new(id: impl Into<String>, currency: Currency) -> Self {
        AccountRef {
            id: id.into(),
            currency,
        }
    }
}

/// The pieces of an authorization redirect that the caller owns.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizationRequest<'a> {
    /// One-time value bound to the browser session.
    pub state: &'a str,
    pub redirect_uri: &'a str,
    /// PKCE S256 challenge (base64url of SHA-256 of the verifier). Only Google uses it; the
    /// others ignore it.
    pub pkce_challenge: Option<&'a str>,
}

/// Tokens returned by a code exchange or a renewal.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: String,
    /// Google only.
    pub refresh_token: Option<String>,
    /// None when the platform says the token does not expire (TikTok advertiser tokens).
    pub expires_at: Option<DateTime<Utc>>,
    pub scope: Option<String>,
    /// TikTok returns the advertisers the user granted with the token.
    pub advertiser_ids: Vec<String>,
}

impl fmt::Debug for TokenSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSet")
            .field("access_token", &"<redacted>")
            .field(
                "refresh_token",
                &self.refresh_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_at", &self.expires_at)
            .field("scope", &self.scope)
            .field("advertiser_ids", &self.advertiser_ids)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    Disabled,
    Closed,
    /// A status we do not map, as the platform spelled it.
    Other(String),
}

impl AccountStatus {
    pub fn as_str(&self) -> &str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Disabled => "disabled",
            AccountStatus::Closed => "closed",
            AccountStatus::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdAccount {
    /// Google: digits; Meta: digits without `act_`; TikTok: advertiser id.
    pub id: String,
    pub name: String,
    pub currency: Currency,
    /// IANA name, e.g. "America/Los_Angeles".
    pub time_zone: String,
    pub status: AccountStatus,
    /// Google manager (MCC) accounts have no campaigns of their own.
    pub manager: bool,
}

impl AdAccount {
    pub fn to_ref(&self) -> AccountRef {
        AccountRef::new(self.id.clone(), self.currency)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignStatus {
    Active,
    Paused,
    Removed,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Active => "active",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Removed => "removed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Campaign {
    pub id: String,
    pub name: String,
    pub status: CampaignStatus,
    /// None when the campaign has no daily budget of its own (Meta ad-set budgets, TikTok
    /// total or unlimited budgets).
    pub daily_budget: Option<Money>,
}

/// One campaign on one day (the account's local date).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyMetrics {
    pub campaign_id: String,
    pub campaign_name: String,
    pub date: NaiveDate,
    pub impressions: i64,
    pub clicks: i64,
    pub spend: Money,
    /// Fractional on Google (data-driven attribution).
    pub conversions: Decimal,
    pub revenue: Money,
}

/// A campaign to create. It gets each platform's plainest setup (Google Search with manual
/// CPC, Meta OUTCOME_TRAFFIC, TikTok TRAFFIC); ads and targeting are added on the platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCampaign {
    pub name: String,
    pub daily_budget: Money,
    /// `Active` or `Paused`; `Removed` is refused.
    pub status: CampaignStatus,
}
