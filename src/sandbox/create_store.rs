//! What campaign creates leave beside campaigns, ad groups and ads: Google campaign criteria
//! (locations, languages) and keywords, Meta images, creatives and ad-set targeting, TikTok
//! images, identities and ad-group and ad settings, and the places the location look-ups know.
//!
//! The geo target constants are a small fixed table of well-known places (the US is 2840,
//! Paris 1006094 on Google); ids of smaller places are illustrative.

use serde::{Deserialize, Serialize};

use crate::types::Platform;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    pub platform: Platform,
    pub account_id: String,
    pub campaign_id: String,
    pub id: String,
    /// `LOCATION` or `LANGUAGE`.
    pub kind: String,
    /// The constant's id (`2840`, `1000`).
    pub value: String,
    pub negative: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeywordCriterion {
    pub platform: Platform,
    pub account_id: String,
    pub campaign_id: String,
    pub ad_group_id: String,
    pub id: String,
    pub text: String,
    pub match_type: String,
    pub negative: bool,
    pub status: String,
}

/// A Meta ad image, keyed by its hash within the ad account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaImage {
    pub account_id: String,
    pub hash: String,
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub bytes: usize,
}

/// A Meta link ad creative as created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaCreative {
    pub account_id: String,
    pub id: String,
    pub name: String,
    pub page_id: String,
    pub link: String,
    pub message: String,
    pub headline: String,
    pub description: String,
    pub image_hash: String,
    pub call_to_action: String,
}

/// What a Meta ad-set create set beyond the world's ad group (targeting, schedule).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaAdSetExtra {
    pub ad_set_id: String,
    pub billing_event: String,
    #[serde(default)]
    pub optimization_goal: String,
    /// `promoted_object` as sent (website conversions: `pixel_id`, `custom_event_type`).
    #[serde(default)]
    pub promoted_object: Option<serde_json::Value>,
    pub targeting: serde_json::Value,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

/// A TikTok ad image (`/file/image/ad/upload/`), keyed by its `image_id` in the advertiser.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiktokImage {
    pub account_id: String,
    pub image_id: String,
    pub file_name: String,
    /// Lowercase hex MD5 of the bytes.
    pub signature: String,
    pub width: u32,
    pub height: u32,
    pub size: usize,
}

/// A CUSTOMIZED_USER identity made with `/identity/create/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiktokIdentity {
    pub account_id: String,
    pub identity_id: String,
    pub display_name: String,
    /// The avatar's image id.
    pub image_uri: Option<String>,
}

/// What a TikTok ad-group create set beyond the world's ad group (targeting, schedule,
/// optimisation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiktokAdGroupExtra {
    pub adgroup_id: String,
    pub promotion_type: String,
    pub placement_type: String,
    pub placements: Vec<String>,
    pub location_ids: Vec<String>,
    pub age_groups: Vec<String>,
    pub gender: String,
    pub interest_category_ids: Vec<String>,
    pub budget_mode: String,
    pub schedule_type: String,
    pub schedule_start_time: String,
    pub schedule_end_time: Option<String>,
    pub optimization_goal: String,
    pub billing_event: String,
    pub pacing: String,
}

/// What a TikTok ad create set beyond the world's ad.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiktokAdExtra {
    pub ad_id: String,
    pub ad_format: String,
    pub ad_text: String,
    pub call_to_action: String,
    pub landing_page_url: String,
    pub identity_type: String,
    pub identity_id: String,
    pub image_ids: Vec<String>,
}

/// Everything a create made that the world's campaigns, ad groups and ads do not hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Created {
    #[serde(default)]
    pub criteria: Vec<Criterion>,
    #[serde(default)]
    pub keywords: Vec<KeywordCriterion>,
    #[serde(default)]
    pub meta_images: Vec<MetaImage>,
    #[serde(default)]
    pub meta_creatives: Vec<MetaCreative>,
    #[serde(default)]
    pub meta_ad_sets: Vec<MetaAdSetExtra>,
    /// (ad id, creative id) of each Meta ad created.
    #[serde(default)]
    pub meta_ad_creatives: Vec<(String, String)>,
    #[serde(default)]
    pub tiktok_images: Vec<TiktokImage>,
    #[serde(default)]
    pub tiktok_identities: Vec<TiktokIdentity>,
    #[serde(default)]
    pub tiktok_ad_groups: Vec<TiktokAdGroupExtra>,
    #[serde(default)]
    pub tiktok_ads: Vec<TiktokAdExtra>,
}

/// One place: id, name, country code, target type, canonical name.
pub struct Place {
    pub id: &'static str,
    pub name: &'static str,
    pub country: &'static str,
    pub kind: &'static str,
    pub canonical: &'static str,
}

pub static PLACES: [Place; 16] = [
    Place {
        id: "2840",
        name: "United States",
        country: "US",
        kind: "Country",
        canonical: "United States",
    },
    Place {
        id: "2826",
        name: "United Kingdom",
        country: "GB",
        kind: "Country",
        canonical: "United Kingdom",
    },
    Place {
        id: "2276",
        name: "Germany",
        country: "DE",
        kind: "Country",
        canonical: "Germany",
    },
    Place {
        id: "2250",
        name: "France",
        country: "FR",
        kind: "Country",
        canonical: "France",
    },
    Place {
        id: "2392",
        name: "Japan",
        country: "JP",
        kind: "Country",
        canonical: "Japan",
    },
    Place {
        id: "2124",
        name: "Canada",
        country: "CA",
        kind: "Country",
        canonical: "Canada",
    },
    Place {
        id: "2036",
        name: "Australia",
        country: "AU",
        kind: "Country",
        canonical: "Australia",
    },
    Place {
        id: "21137",
        name: "California",
        country: "US",
        kind: "State",
        canonical: "California,United States",
    },
    Place {
        id: "21167",
        name: "New York",
        country: "US",
        kind: "State",
        canonical: "New York,United States",
    },
    Place {
        id: "1023191",
        name: "New York",
        country: "US",
        kind: "City",
        canonical: "New York,New York,United States",
    },
    Place {
        id: "1014221",
        name: "Los Angeles",
        country: "US",
        kind: "City",
        canonical: "Los Angeles,California,United States",
    },
    Place {
        id: "1006094",
        name: "Paris",
        country: "FR",
        kind: "City",
        canonical: "Paris,Ile-de-France,France",
    },
    Place {
        id: "1026339",
        name: "Paris",
        country: "US",
        kind: "City",
        canonical: "Paris,Texas,United States",
    },
    Place {
        id: "1006886",
        name: "London",
        country: "GB",
        kind: "City",
        canonical: "London,England,United Kingdom",
    },
    Place {
        id: "1003854",
        name: "Berlin",
        country: "DE",
        kind: "City",
        canonical: "Berlin,Berlin,Germany",
    },
    Place {
        id: "1009309",
        name: "Tokyo",
        country: "JP",
        kind: "City",
        canonical: "Tokyo,Tokyo,Japan",
    },
];

/// Google language constants the sandbox knows.
pub const LANGUAGES: [(&str, &str); 8] = [
    ("1000", "en"),
    ("1001", "de"),
    ("1002", "fr"),
    ("1003", "es"),
    ("1004", "it"),
    ("1005", "ja"),
    ("1010", "nl"),
    ("1014", "pt"),
];

/// Places whose name (or canonical name) starts with `term`, case-insensitive; exact names
/// first, then by table order (a stand-in for reach).
pub fn find_places<'a>(term: &str, country: Option<&str>) -> Vec<&'a Place> {
    let t = term.trim().to_lowercase();
    if t.is_empty() {
        return Vec::new();
    }
    // "Paris, Texas" finds Paris,Texas,United States by its canonical name.
    let norm = |s: &str| {
        s.to_lowercase()
            .split(',')
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(",")
    };
    let tn = norm(&t);
    let mut found: Vec<&Place> = PLACES
        .iter()
        .filter(|p| p.name.to_lowercase().starts_with(&t) || norm(p.canonical).starts_with(&tn))
        .filter(|p| country.is_none_or(|c| c.eq_ignore_ascii_case(p.country)))
        .collect();
    found.sort_by_key(|p| p.name.to_lowercase() != t);
    found
}

pub fn place(id: &str) -> Option<&'static Place> {
    PLACES.iter().find(|p| p.id == id)
}
