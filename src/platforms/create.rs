//! Creating a complete campaign that can serve, not only the campaign: what the form asks for
//! on each platform, the location look-ups that feed it, and what the platform made.
//!
//! Google Search is created in one `googleAds:mutate` with temporary resource names, so the
//! budget, campaign, criteria, ad group, keywords and ads exist together or not at all.

use serde::{Deserialize, Serialize};

use super::model::{AccountRef, Campaign, CampaignStatus, Credentials};
use super::{Adapter, PlatformError, check_currency, check_positive};
use crate::types::Money;

/// Google keyword match types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchType {
    Exact,
    Phrase,
    Broad,
}

impl MatchType {
    pub fn wire(self) -> &'static str {
        match self {
            MatchType::Exact => "EXACT",
            MatchType::Phrase => "PHRASE",
            MatchType::Broad => "BROAD",
        }
    }

    pub fn from_wire(s: &str) -> Option<MatchType> {
        match s {
            "EXACT" => Some(MatchType::Exact),
            "PHRASE" => Some(MatchType::Phrase),
            "BROAD" => Some(MatchType::Broad),
            _ => None,
        }
    }

    /// The keyword as Google Ads Editor writes it: `[exact]`, `"phrase"`, broad.
    pub fn notation(self, text: &str) -> String {
        match self {
            MatchType::Exact => format!("[{text}]"),
            MatchType::Phrase => format!("\"{text}\""),
            MatchType::Broad => text.to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keyword {
    pub text: String,
    pub match_type: MatchType,
}

/// One responsive search ad: 3-15 headlines, 2-4 descriptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchAd {
    pub headlines: Vec<String>,
    pub descriptions: Vec<String>,
}

/// A place or language the platform knows, by its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub id: String,
    pub name: String,
}

/// A complete Google Search campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchCampaignSpec {
    pub name: String,
    pub daily_budget: Money,
    pub status: CampaignStatus,
    pub ad_group_name: String,
    /// Manual CPC default bid of the ad group.
    pub max_cpc: Money,
    pub final_url: String,
    /// Geo target constant ids (`2840`), with the canonical name for people.
    pub locations: Vec<Target>,
    /// Language constant ids (`1000`); none means all languages.
    pub languages: Vec<Target>,
    pub keywords: Vec<Keyword>,
    pub ads: Vec<SearchAd>,
}

/// What the platform made, ids as the platform spells them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedObject {
    /// `budget`, `campaign`, `location`, `language`, `ad_group`, `keyword`, `ad`.
    pub kind: String,
    /// What it is, in words ("Keyword [running shoes]").
    pub label: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTree {
    pub campaign: Campaign,
    pub objects: Vec<CreatedObject>,
}

/// A location the platform's look-up found for a typed name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocationMatch {
    pub id: String,
    pub name: String,
    /// "Paris, Ile-de-France, France".
    pub canonical_name: String,
    pub kind: String,
}

/// Google language constants offered by the form (`SELECT language_constant.id ...`).
pub const GOOGLE_LANGUAGES: [(&str, &str); 8] = [
    ("1000", "English"),
    ("1001", "German"),
    ("1002", "French"),
    ("1003", "Spanish"),
    ("1004", "Italian"),
    ("1005", "Japanese"),
    ("1010", "Dutch"),
    ("1014", "Portuguese"),
];

impl Adapter {
    /// Creates budget, campaign, location and language criteria, ad group, keywords and ads
    /// in one atomic request (Google only). With `validate_only`, Google checks everything and
    /// creates nothing; the answer is then `Ok(None)`.
    pub async fn create_search_campaign(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        spec: &SearchCampaignSpec,
        validate_only: bool,
    ) -> Result<Option<CreatedTree>, PlatformError> {
        if spec.status == CampaignStatus::Removed {
            return Err(PlatformError::invalid(
                "a new campaign starts active or paused",
            ));
        }
        check_currency(account, &spec.daily_budget)?;
        check_positive(&spec.daily_budget)?;
        check_currency(account, &spec.max_cpc)?;
        check_positive(&spec.max_cpc)?;
        match self {
            Adapter::Google(g) => {
                g.create_search_campaign(creds, account, spec, validate_only)
                    .await
            }
            _ => Err(PlatformError::invalid(
                "complete Search campaigns are created on Google Ads only",
            )),
        }
    }

    /// Up to 25 place names looked up at once; each name gets the platform's matches, best
    /// first (Google only so far).
    pub async fn find_locations(
        &self,
        creds: &Credentials,
        names: &[String],
    ) -> Result<Vec<(String, Vec<LocationMatch>)>, PlatformError> {
        match self {
            Adapter::Google(g) => g.suggest_locations(creds, names).await,
            _ => Err(PlatformError::invalid(
                "location look-up is available for Google Ads only",
            )),
        }
    }
}
