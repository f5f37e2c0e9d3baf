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
    /// The flight figures a listing gives (rules language version 2); creates and updates
    /// leave them empty.
    pub flight: Flight,
}

/// A campaign's figures without a window: its lifetime budget, its dates and its age.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flight {
    /// Google's total budget of a custom period, Meta's `lifetime_budget`, TikTok's budget in
    /// `BUDGET_MODE_TOTAL`; None with a daily or no campaign budget.
    pub lifetime_budget: Option<Money>,
    /// What the platform itself says is left of the lifetime budget (Meta only).
    pub budget_remaining: Option<Money>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    /// None where the platform does not say (Google).
    pub created_at: Option<DateTime<Utc>>,
}

/// One conversion type's figures on one row: how many, and their value in major units of the
/// account's currency (exact decimals, as the platform sent them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeFigure {
    #[serde(with = "rust_decimal::serde::str")]
    pub count: Decimal,
    #[serde(with = "rust_decimal::serde::str")]
    pub value: Decimal,
    /// Google's conversion action category (PURCHASE, SUBMIT_LEAD_FORM, ...), which the named
    /// metrics are read from; absent elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
}

/// Conversion figures by the platform's own type name: Meta action types, Google conversion
/// actions (by name), TikTok metric names. [`DEFAULT_TYPE`] holds the platform's own headline
/// figure, so every derivation can be redone from storage.
pub type ConversionTypes = std::collections::BTreeMap<String, TypeFigure>;

/// The key of the platform-defined conversions (Google `metrics.conversions`, TikTok's
/// configured metrics, Meta's first action type of the configured priority list).
pub const DEFAULT_TYPE: &str = "(platform default)";

/// One campaign on one day (the account's local date).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyMetrics {
    pub campaign_id: String,
    pub campaign_name: String,
    pub date: NaiveDate,
    pub impressions: i64,
    /// Clicks to the destination (Meta link clicks), comparable across platforms.
    pub clicks: i64,
    /// Every click the platform counts (Meta "clicks (all)", Google interactions); None where
    /// the platform has no such figure (TikTok).
    pub all_clicks: Option<i64>,
    pub spend: Money,
    /// The platform-defined conversions. Fractional on Google (data-driven attribution).
    pub conversions: Decimal,
    pub revenue: Money,
    /// Per conversion type, including [`DEFAULT_TYPE`].
    pub conversion_types: ConversionTypes,
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

/// A level of an account's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Campaign,
    /// Google ad group, Meta ad set, TikTok ad group.
    AdGroup,
    Ad,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Campaign => "campaign",
            Level::AdGroup => "ad_group",
            Level::Ad => "ad",
        }
    }
}

impl std::str::FromStr for Level {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "campaign" => Ok(Level::Campaign),
            "ad_group" | "adgroup" | "ad_set" | "adset" => Ok(Level::AdGroup),
            "ad" => Ok(Level::Ad),
            other => Err(format!(
                "\"{other}\" is not a level (campaign, ad_group or ad)"
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetPeriod {
    Daily,
    Lifetime,
}

impl BudgetPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            BudgetPeriod::Daily => "daily",
            BudgetPeriod::Lifetime => "lifetime",
        }
    }
}

/// A budget set on an ad group (Meta ad-set budgets, TikTok ad-group budgets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelBudget {
    pub period: BudgetPeriod,
    pub amount: Money,
}

/// A Google ad group, Meta ad set or TikTok ad group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdGroup {
    pub id: String,
    pub campaign_id: String,
    pub name: String,
    /// The object's own switch (Google `status`, Meta `status`, TikTok `operation_status`).
    pub status: CampaignStatus,
    /// The platform's finer state as it spells it (Meta `effective_status`, TikTok
    /// `secondary_status`, Google's serving state computed from the ad group and campaign).
    pub delivery: Option<String>,
    /// None where the budget lives on the campaign (always on Google).
    pub budget: Option<LevelBudget>,
    pub bid: Option<Money>,
    pub bid_strategy: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ad {
    pub id: String,
    pub ad_group_id: String,
    pub campaign_id: String,
    pub name: String,
    pub status: CampaignStatus,
    pub delivery: Option<String>,
    /// Google `ad.type`, Meta creative kind (`link`, `video`, ...), TikTok `ad_format`.
    pub ad_type: Option<String>,
    pub headlines: Vec<String>,
    pub descriptions: Vec<String>,
    /// Meta `message`, TikTok `ad_text`.
    pub primary_text: Option<String>,
    pub final_url: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

/// One object of a level on one day (the account's local date). The ids of the levels above
/// it are set; those below are None.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelMetrics {
    pub level: Level,
    pub campaign_id: String,
    pub ad_group_id: Option<String>,
    pub ad_id: Option<String>,
    /// The object's name as the report gave it (may be empty).
    pub name: String,
    pub date: NaiveDate,
    /// Link clicks where the platform separates them (Meta `inline_link_clicks`).
    pub impressions: i64,
    pub clicks: i64,
    /// All clicks where the platform reports them separately (Meta `clicks`); None elsewhere.
    pub all_clicks: Option<i64>,
    pub spend: Money,
    pub conversions: Decimal,
    pub revenue: Money,
    /// Per conversion type, including [`DEFAULT_TYPE`], as on [`DailyMetrics`], so that the
    /// account's conversion settings re-derive every level's history.
    pub conversion_types: ConversionTypes,
}

impl LevelMetrics {
    /// The platform id of the object the row is about.
    pub fn object_id(&self) -> &str {
        match self.level {
            Level::Campaign => &self.campaign_id,
            Level::AdGroup => self.ad_group_id.as_deref().unwrap_or(""),
            Level::Ad => self.ad_id.as_deref().unwrap_or(""),
        }
    }
}
