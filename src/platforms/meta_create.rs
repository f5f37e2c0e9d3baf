//! Creating a Meta ad that can serve: what each of Meta's five create calls takes (campaign,
//! ad set, image, link creative, ad), the look-ups the form needs (Pages the token may
//! advertise for, places, interests) and the finds a retry uses to tell what an earlier
//! attempt already made. Meta has no atomic create (platform-apis-levels.md §2.4); the
//! caller records each step (see `campaigns::meta_push`).

use serde::{Deserialize, Serialize};

use super::model::{AccountRef, CampaignStatus, Credentials};
use super::{Adapter, PlatformError, check_currency, check_positive};
use crate::types::Money;

/// A Facebook Page the token's user may advertise for (`tasks` holds `ADVERTISE`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaPage {
    pub id: String,
    pub name: String,
}

/// A Meta Pixel (dataset) of the ad account (`/act_{id}/adspixels`): what a leads or sales ad
/// set optimises for, with the website event it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaPixel {
    pub id: String,
    pub name: String,
}

/// The ad set's `promoted_object` for website conversions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaPromotedObject {
    pub pixel_id: String,
    /// Meta's standard event, e.g. `PURCHASE`, `LEAD`.
    pub custom_event_type: String,
}

/// A place from `/search?type=adgeolocation`. `kind` is Meta's `type`: country, region, city.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaLocation {
    pub key: String,
    pub name: String,
    pub kind: String,
    pub country_code: String,
    /// "Texas, United States" for a city; empty for a country.
    #[serde(default)]
    pub context: String,
}

impl MetaLocation {
    /// How the place reads to a person ("Austin, Texas, United States").
    pub fn label(&self) -> String {
        if self.context.is_empty() {
            self.name.clone()
        } else {
            format!("{}, {}", self.name, self.context)
        }
    }
}

/// An interest from `/search?type=adinterest`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaInterest {
    pub id: String,
    pub name: String,
}

/// What the campaign step sends. `daily_budget` None: the budget lives on the ad set (ABO).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaCampaignSpec {
    pub name: String,
    pub objective: String,
    pub status: CampaignStatus,
    pub daily_budget: Option<Money>,
}

/// What the ad-set step sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaAdSetSpec {
    pub name: String,
    pub campaign_id: String,
    pub status: CampaignStatus,
    /// Set when the budget lives on the ad set (ABO).
    pub daily_budget: Option<Money>,
    pub optimization_goal: String,
    pub billing_event: String,
    /// RFC 3339 with offset; None starts now.
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub locations: Vec<MetaLocation>,
    pub age_min: u8,
    pub age_max: u8,
    /// Meta's codes: 1 men, 2 women; empty for everyone.
    pub genders: Vec<u8>,
    pub interests: Vec<MetaInterest>,
    /// Website conversions (leads, sales): the Pixel and the event the ad set optimises for.
    pub promoted_object: Option<MetaPromotedObject>,
}

/// What the creative step sends: a link ad from an uploaded image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaCreativeSpec {
    pub name: String,
    pub page_id: String,
    pub link: String,
    pub message: String,
    pub headline: String,
    pub description: String,
    pub image_hash: String,
    pub call_to_action: String,
}

/// Calls to action a link ad may carry (`AdCreativeLinkDataCallToAction.Type`), with words.
pub const META_CALLS_TO_ACTION: [(&str, &str); 9] = [
    ("LEARN_MORE", "Learn more"),
    ("SHOP_NOW", "Shop now"),
    ("SIGN_UP", "Sign up"),
    ("BOOK_NOW", "Book now"),
    ("ORDER_NOW", "Order now"),
    ("CONTACT_US", "Contact us"),
    ("GET_QUOTE", "Get quote"),
    ("SUBSCRIBE", "Subscribe"),
    ("APPLY_NOW", "Apply now"),
];

/// What a JPEG or PNG says about itself, read from its header (nothing is decoded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(u16::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
    ])))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([
        *b.get(at)?,
        *b.get(at + 1)?,
        *b.get(at + 2)?,
        *b.get(at + 3)?,
    ]))
}

/// The type and size of a JPEG or PNG; None for anything else (or a truncated header).
pub fn sniff(b: &[u8]) -> Option<ImageInfo> {
    if b.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        if b.get(12..16)? != b"IHDR" {
            return None;
        }
        return Some(ImageInfo {
            mime: "image/png",
            width: be32(b, 16)?,
            height: be32(b, 20)?,
        });
    }
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut i = 2;
    loop {
        if *b.get(i)? != 0xFF {
            return None;
        }
        while *b.get(i)? == 0xFF {
            i += 1;
        }
        let marker = *b.get(i)?;
        i += 1;
        match marker {
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            0xD8..=0xDA => return None,
            // Start of frame (not DHT C4, JPG C8, DAC CC): precision, height, width.
            0xC0..=0xCF if !matches!(marker, 0xC4 | 0xC8 | 0xCC) => {
                return Some(ImageInfo {
                    mime: "image/jpeg",
                    height: be16(b, i + 3)?,
                    width: be16(b, i + 5)?,
                });
            }
            _ => {
                let len = be16(b, i)? as usize;
                if len < 2 {
                    return None;
                }
                i += len;
            }
        }
    }
}

fn meta(a: &Adapter) -> Result<&super::meta::MetaAds, PlatformError> {
    match a {
        Adapter::Meta(m) => Ok(m),
        _ => Err(PlatformError::invalid(
            "Meta ad sets, creatives and ads are created on Meta only",
        )),
    }
}

impl Adapter {
    /// Pages the token's user may advertise for.
    pub async fn meta_pages(&self, creds: &Credentials) -> Result<Vec<MetaPage>, PlatformError> {
        meta(self)?.pages(creds).await
    }

    /// The ad account's Pixels (leads and sales ad sets optimise for one).
    pub async fn meta_pixels(
        &self,
        creds: &Credentials,
        account: &AccountRef,
    ) -> Result<Vec<MetaPixel>, PlatformError> {
        meta(self)?.pixels(creds, account).await
    }

    /// Meta's places for a typed name, best first.
    pub async fn meta_find_locations(
        &self,
        creds: &Credentials,
        query: &str,
    ) -> Result<Vec<MetaLocation>, PlatformError> {
        meta(self)?.search_locations(creds, query).await
    }

    /// Meta's interests for a typed word, best first.
    pub async fn meta_find_interests(
        &self,
        creds: &Credentials,
        query: &str,
    ) -> Result<Vec<MetaInterest>, PlatformError> {
        meta(self)?.search_interests(creds, query).await
    }

    pub async fn meta_create_campaign(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        spec: &MetaCampaignSpec,
    ) -> Result<String, PlatformError> {
        if let Some(b) = &spec.daily_budget {
            check_currency(account, b)?;
            check_positive(b)?;
        }
        meta(self)?.create_tree_campaign(creds, account, spec).await
    }

    pub async fn meta_create_ad_set(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        spec: &MetaAdSetSpec,
    ) -> Result<String, PlatformError> {
        if let Some(b) = &spec.daily_budget {
            check_currency(account, b)?;
            check_positive(b)?;
        }
        meta(self)?.create_ad_set(creds, account, spec).await
    }

    /// The ad set called `name` in the campaign, if there is one.
    pub async fn meta_find_ad_set(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
        name: &str,
    ) -> Result<Option<String>, PlatformError> {
        meta(self)?
            .find_child(creds, account, campaign_id, "adsets", name)
            .await
    }

    /// Uploads an image; Meta answers its hash. The same bytes give the same hash, so an
    /// upload repeated after a lost answer adds nothing to the account's image library.
    pub async fn meta_upload_image(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<String, PlatformError> {
        meta(self)?
            .upload_image(creds, account, file_name, bytes)
            .await
    }

    pub async fn meta_create_creative(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        spec: &MetaCreativeSpec,
    ) -> Result<String, PlatformError> {
        meta(self)?.create_creative(creds, account, spec).await
    }

    /// The creative called `name` in the ad account, if there is one.
    pub async fn meta_find_creative(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        name: &str,
    ) -> Result<Option<String>, PlatformError> {
        meta(self)?.find_creative(creds, account, name).await
    }

    pub async fn meta_create_ad(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        name: &str,
        ad_set_id: &str,
        creative_id: &str,
        status: CampaignStatus,
    ) -> Result<String, PlatformError> {
        meta(self)?
            .create_ad(creds, account, name, ad_set_id, creative_id, status)
            .await
    }

    /// The ad called `name` in the ad set, if there is one.
    pub async fn meta_find_ad(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        ad_set_id: &str,
        name: &str,
    ) -> Result<Option<String>, PlatformError> {
        meta(self)?
            .find_child(creds, account, ad_set_id, "ads", name)
            .await
    }
}
