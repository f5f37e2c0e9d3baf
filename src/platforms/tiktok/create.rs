//! Creating a TikTok ad that can serve (platform-apis-levels.md §3.4, §4.3): what each create
//! call takes (campaign, ad group, image, identity, ad), the look-ups the form needs (places
//! through `/tool/targeting/search/`, interest categories, the advertiser's identities) and
//! the finds a retry uses to tell what an earlier attempt already made. TikTok has no atomic
//! create; the caller records each step (see `campaigns::tiktok_push`). Writes are never
//! repeated by the retry layer: a lost answer is found by the caller instead.
//!
//! Only the traffic objective is created (`TRAFFIC`, optimised for clicks billed per click):
//! conversions need a TikTok Pixel, which adpilot does not set up. Ads are single-image ads;
//! TikTok's own feed takes video, so the ad group is placed on Pangle (TikTok's partner apps),
//! where image ads run.

use md5::{Digest, Md5};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::{Req, TiktokAds, body_with_number, json_list, numeric, p};
use crate::platforms::model::{AccountRef, CampaignStatus, Credentials};
use crate::platforms::wire::{required_text, text};
use crate::platforms::{Adapter, PlatformError, check_currency, check_positive, round_to_minor};
use crate::types::Money;

/// A place from TikTok's targeting search: `level` is COUNTRY, PROVINCE, CITY or DISTRICT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiktokLocation {
    pub id: String,
    pub name: String,
    pub level: String,
    /// "Paris, Texas, United States".
    #[serde(default)]
    pub description: String,
}

/// An interest category (`/tool/interest_category/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiktokInterest {
    pub id: String,
    pub name: String,
}

/// A CUSTOMIZED_USER identity the ads can run as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiktokIdentity {
    pub id: String,
    pub display_name: String,
}

/// What the campaign step sends; the budget lives on the ad group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TiktokCampaignSpec {
    pub name: String,
    pub objective: String,
    pub status: CampaignStatus,
}

/// What the ad-group step sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TiktokAdGroupSpec {
    pub name: String,
    pub campaign_id: String,
    pub status: CampaignStatus,
    pub daily_budget: Money,
    pub placements: Vec<String>,
    pub location_ids: Vec<String>,
    pub age_groups: Vec<String>,
    /// GENDER_UNLIMITED, GENDER_MALE or GENDER_FEMALE.
    pub gender: String,
    pub interest_category_ids: Vec<String>,
    /// `YYYY-MM-DD HH:MM:SS`, UTC.
    pub schedule_start: String,
    pub schedule_end: Option<String>,
    pub optimization_goal: String,
    pub billing_event: String,
}

/// What one ad step sends: a single-image ad.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TiktokAdSpec {
    pub name: String,
    pub adgroup_id: String,
    pub status: CampaignStatus,
    pub identity_id: String,
    pub image_id: String,
    pub ad_text: String,
    pub call_to_action: String,
    pub landing_page_url: String,
}

/// Calls to action a TikTok ad may carry (bububa `enum/call_to_action.go`), with words.
pub const TIKTOK_CALLS_TO_ACTION: [(&str, &str); 9] = [
    ("LEARN_MORE", "Learn more"),
    ("SHOP_NOW", "Shop now"),
    ("SIGN_UP", "Sign up"),
    ("CONTACT_US", "Contact us"),
    ("APPLY_NOW", "Apply now"),
    ("BOOK_NOW", "Book now"),
    ("ORDER_NOW", "Order now"),
    ("GET_QUOTE", "Get quote"),
    ("SUBSCRIBE", "Subscribe"),
];

fn switch(s: CampaignStatus) -> &'static str {
    match s {
        CampaignStatus::Active => "ENABLE",
        _ => "DISABLE",
    }
}

/// A `multipart/form-data` body of text fields and one file.
fn multipart(fields: &[(&str, &str)], file: (&str, &str, &[u8])) -> (String, Vec<u8>) {
    let boundary = format!("adpilot{}", uuid::Uuid::new_v4().simple());
    let mut b = Vec::new();
    for (k, v) in fields {
        b.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    let (name, file_name, bytes) = file;
    // A quote or line break in the file name would end the header early.
    let safe: String = file_name
        .chars()
        .map(|c| if c == '"' || c.is_control() { '_' } else { c })
        .collect();
    b.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{safe}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    b.extend_from_slice(bytes);
    b.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), b)
}

fn first_id(data: &Value, key: &str, list: &str) -> Option<String> {
    data.get(list)
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|v| text(Some(v)))
        .or_else(|| {
            data.get("creatives")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .and_then(|c| text(c.get(key)))
        })
        .or_else(|| text(data.get(key)))
}

impl TiktokAds {
    pub(crate) async fn find_locations(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        query: &str,
    ) -> Result<Vec<TiktokLocation>, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        // GET with JSON-array query parameters (as bububa sends it; TikTok's SDK says POST,
        // and both are taken): a look-up changes nothing.
        let data = self
            .get(
                creds,
                &id,
                "tool/targeting/search/",
                &vec![
                    p("advertiser_id", id.clone()),
                    p("objective_type", "TRAFFIC"),
                    p("placements", json_list(&["PLACEMENT_PANGLE"])),
                    p("search_type", "FUZZY_SEARCH"),
                    p("keywords", json_list(&[query])),
                    p("geo_types", json_list(&["COUNTRY", "PROVINCE", "CITY"])),
                ],
            )
            .await?;
        let rows = data
            .get("targeting_tag_list")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut out = Vec::new();
        for r in &rows {
            let Some(geo) = r.get("geo") else { continue };
            let level = text(geo.get("geo_type")).unwrap_or_default();
            // Zip codes go into `zipcode_ids`, not `location_ids`.
            if level == "ZIP_CODE" {
                continue;
            }
            out.push(TiktokLocation {
                id: required_text(geo.get("geo_id"), "geo.geo_id")?,
                name: text(r.get("name")).unwrap_or_default(),
                level,
                description: text(geo.get("description")).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    pub(crate) async fn interest_categories(
        &self,
        creds: &Credentials,
        account: &AccountRef,
    ) -> Result<Vec<TiktokInterest>, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let data = self
            .get(
                creds,
                &id,
                "tool/interest_category/",
                &vec![
                    p("advertiser_id", id.clone()),
                    p("version", "2"),
                    p("placements", json_list(&["PLACEMENT_PANGLE"])),
                ],
            )
            .await?;
        let rows = data
            .get("interest_categories")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                PlatformError::unexpected("TikTok's interest categories answer has no list")
            })?;
        rows.iter()
            .map(|r| {
                Ok(TiktokInterest {
                    id: required_text(r.get("id"), "interest category id")?,
                    name: text(r.get("name")).unwrap_or_default(),
                })
            })
            .collect()
    }

    pub(crate) async fn identities(
        &self,
        creds: &Credentials,
        account: &AccountRef,
    ) -> Result<Vec<TiktokIdentity>, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let mut out = Vec::new();
        let mut page = 1;
        loop {
            let data = self
                .get(
                    creds,
                    &id,
                    "identity/get/",
                    &vec![
                        p("advertiser_id", id.clone()),
                        p("identity_type", "CUSTOMIZED_USER"),
                        p("page", page.to_string()),
                        p("page_size", "100"),
                    ],
                )
                .await?;
            let rows = data
                .get("identity_list")
                .or_else(|| data.get("list"))
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for r in &rows {
                out.push(TiktokIdentity {
                    id: required_text(r.get("identity_id"), "identity_id")?,
                    display_name: text(r.get("display_name")).unwrap_or_default(),
                });
            }
            let total = data
                .get("page_info")
                .and_then(|i| i.get("total_page"))
                .and_then(Value::as_i64)
                .unwrap_or(1);
            if rows.is_empty() || page >= total || page >= 100 {
                return Ok(out);
            }
            page += 1;
        }
    }

    pub(crate) async fn create_tree_campaign(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        spec: &TiktokCampaignSpec,
    ) -> Result<String, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let body = json!({
            "advertiser_id": id,
            "campaign_name": spec.name,
            "objective_type": spec.objective,
            // The daily budget is the ad group's.
            "budget_mode": "BUDGET_MODE_INFINITE",
            "operation_status": switch(spec.status),
        });
        let data = self
            .post(creds, &id, "campaign/create/", body.to_string(), false)
            .await?;
        required_text(data.get("campaign_id"), "campaign_id")
    }

    pub(crate) async fn create_ad_group(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        spec: &TiktokAdGroupSpec,
    ) -> Result<String, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let mut f = Map::new();
        f.insert("advertiser_id".into(), json!(id));
        f.insert(
            "campaign_id".into(),
            json!(numeric(&spec.campaign_id, "campaign")?),
        );
        f.insert("adgroup_name".into(), json!(spec.name));
        f.insert("operation_status".into(), json!(switch(spec.status)));
        f.insert("promotion_type".into(), json!("WEBSITE"));
        f.insert("placement_type".into(), json!("PLACEMENT_TYPE_NORMAL"));
        f.insert("placements".into(), json!(spec.placements));
        f.insert("location_ids".into(), json!(spec.location_ids));
        if !spec.age_groups.is_empty() {
            f.insert("age_groups".into(), json!(spec.age_groups));
        }
        f.insert("gender".into(), json!(spec.gender));
        if !spec.interest_category_ids.is_empty() {
            f.insert(
                "interest_category_ids".into(),
                json!(spec.interest_category_ids),
            );
        }
        f.insert("budget_mode".into(), json!("BUDGET_MODE_DAY"));
        match &spec.schedule_end {
            Some(end) => {
                f.insert("schedule_type".into(), json!("SCHEDULE_START_END"));
                f.insert("schedule_end_time".into(), json!(end));
            }
            None => {
                f.insert("schedule_type".into(), json!("SCHEDULE_FROM_NOW"));
            }
        }
        f.insert("schedule_start_time".into(), json!(spec.schedule_start));
        f.insert("optimization_goal".into(), json!(spec.optimization_goal));
        f.insert("billing_event".into(), json!(spec.billing_event));
        f.insert("bid_type".into(), json!("BID_TYPE_NO_BID"));
        f.insert("pacing".into(), json!("PACING_MODE_SMOOTH"));
        let body = body_with_number(f, "budget", round_to_minor(spec.daily_budget).to_major());
        let data = self
            .post(creds, &id, "adgroup/create/", body, false)
            .await?;
        required_text(data.get("adgroup_id"), "adgroup_id")
    }

    /// The ad group called `name` in the campaign, if there is one.
    pub(crate) async fn find_ad_group(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
        name: &str,
    ) -> Result<Option<String>, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let campaign = numeric(campaign_id, "campaign")?;
        let rows = self
            .get_pages(
                creds,
                &id,
                "adgroup/get/",
                &vec![
                    p("advertiser_id", id.clone()),
                    p("filtering", json!({"campaign_ids": [campaign]}).to_string()),
                    p(
                        "fields",
                        json_list(&["adgroup_id", "adgroup_name", "campaign_id"]),
                    ),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .filter(|r| text(r.get("campaign_id")).as_deref() == Some(campaign.as_str()))
            .find(|r| text(r.get("adgroup_name")).as_deref() == Some(name))
            .and_then(|r| text(r.get("adgroup_id"))))
    }

    /// Uploads an image file with its MD5 signature; TikTok answers its `image_id`.
    pub(crate) async fn upload_image(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<String, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let signature = hex::encode(Md5::digest(bytes));
        let body = multipart(
            &[
                ("advertiser_id", &id),
                ("upload_type", "UPLOAD_BY_FILE"),
                ("file_name", file_name),
                ("image_signature", &signature),
            ],
            ("image_file", file_name, bytes),
        );
        let data = self
            .call(
                Some(&creds.access_token),
                &id,
                Req {
                    method: Method::POST,
                    path: "file/image/ad/upload/",
                    query: &Vec::new(),
                    body: Some(body),
                    idempotent: false,
                },
            )
            .await?;
        required_text(data.get("image_id"), "image_id")
    }

    /// The image uploaded under `file_name` (unique in the advertiser), if there is one.
    pub(crate) async fn find_image(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        file_name: &str,
    ) -> Result<Option<String>, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let rows = self
            .get_pages(
                creds,
                &id,
                "file/image/ad/search/",
                &vec![
                    p("advertiser_id", id.clone()),
                    p(
                        "filtering",
                        json!({ "file_names": [file_name] }).to_string(),
                    ),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .find(|r| text(r.get("file_name")).as_deref() == Some(file_name))
            .and_then(|r| text(r.get("image_id"))))
    }

    pub(crate) async fn create_identity(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        display_name: &str,
        image_id: &str,
    ) -> Result<String, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let body = json!({
            "advertiser_id": id,
            "display_name": display_name,
            "image_uri": image_id,
        });
        let data = self
            .post(creds, &id, "identity/create/", body.to_string(), false)
            .await?;
        required_text(data.get("identity_id"), "identity_id")
    }

    pub(crate) async fn create_ad(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        spec: &TiktokAdSpec,
    ) -> Result<String, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let body = json!({
            "advertiser_id": id,
            "adgroup_id": numeric(&spec.adgroup_id, "ad group")?,
            "operation_status": switch(spec.status),
            "creatives": [{
                "ad_name": spec.name,
                "identity_type": "CUSTOMIZED_USER",
                "identity_id": spec.identity_id,
                "ad_format": "SINGLE_IMAGE",
                "image_ids": [spec.image_id],
                "ad_text": spec.ad_text,
                "call_to_action": spec.call_to_action,
                "landing_page_url": spec.landing_page_url,
            }],
        });
        let data = self
            .post(creds, &id, "ad/create/", body.to_string(), false)
            .await?;
        // The answer's shape is UNVERIFIED: `ad_ids[]`, else `creatives[].ad_id`, else `ad_id`.
        first_id(&data, "ad_id", "ad_ids")
            .ok_or_else(|| PlatformError::unexpected("TikTok's ad create answer has no ad id"))
    }

    /// The ad called `name` in the ad group, if there is one.
    pub(crate) async fn find_ad(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        adgroup_id: &str,
        name: &str,
    ) -> Result<Option<String>, PlatformError> {
        let id = numeric(&account.id, "advertiser")?;
        let group = numeric(adgroup_id, "ad group")?;
        let rows = self
            .get_pages(
                creds,
                &id,
                "ad/get/",
                &vec![
                    p("advertiser_id", id.clone()),
                    p("filtering", json!({"adgroup_ids": [group]}).to_string()),
                    p("fields", json_list(&["ad_id", "ad_name", "adgroup_id"])),
                ],
            )
            .await?;
        Ok(rows
            .iter()
            .filter(|r| text(r.get("adgroup_id")).as_deref() == Some(group.as_str()))
            .find(|r| text(r.get("ad_name")).as_deref() == Some(name))
            .and_then(|r| text(r.get("ad_id"))))
    }
}

fn tiktok(a: &Adapter) -> Result<&TiktokAds, PlatformError> {
    match a {
        Adapter::Tiktok(t) => Ok(t),
        _ => Err(PlatformError::invalid(
            "TikTok ad groups, images, identities and ads are created on TikTok only",
        )),
    }
}

impl Adapter {
    /// TikTok's places for a typed name, best first.
    pub async fn tiktok_find_locations(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        query: &str,
    ) -> Result<Vec<TiktokLocation>, PlatformError> {
        tiktok(self)?.find_locations(creds, account, query).await
    }

    pub async fn tiktok_interest_categories(
        &self,
        creds: &Credentials,
        account: &AccountRef,
    ) -> Result<Vec<TiktokInterest>, PlatformError> {
        tiktok(self)?.interest_categories(creds, account).await
    }

    /// The advertiser's CUSTOMIZED_USER identities.
    pub async fn tiktok_identities(
        &self,
        creds: &Credentials,
        account: &AccountRef,
    ) -> Result<Vec<TiktokIdentity>, PlatformError> {
        tiktok(self)?.identities(creds, account).await
    }

    pub async fn tiktok_create_campaign(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        spec: &TiktokCampaignSpec,
    ) -> Result<String, PlatformError> {
        tiktok(self)?
            .create_tree_campaign(creds, account, spec)
            .await
    }

    pub async fn tiktok_create_ad_group(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        spec: &TiktokAdGroupSpec,
    ) -> Result<String, PlatformError> {
        check_currency(account, &spec.daily_budget)?;
        check_positive(&spec.daily_budget)?;
        tiktok(self)?.create_ad_group(creds, account, spec).await
    }

    pub async fn tiktok_find_ad_group(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        campaign_id: &str,
        name: &str,
    ) -> Result<Option<String>, PlatformError> {
        tiktok(self)?
            .find_ad_group(creds, account, campaign_id, name)
            .await
    }

    pub async fn tiktok_upload_image(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<String, PlatformError> {
        tiktok(self)?
            .upload_image(creds, account, file_name, bytes)
            .await
    }

    pub async fn tiktok_find_image(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        file_name: &str,
    ) -> Result<Option<String>, PlatformError> {
        tiktok(self)?.find_image(creds, account, file_name).await
    }

    pub async fn tiktok_create_identity(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        display_name: &str,
        image_id: &str,
    ) -> Result<String, PlatformError> {
        tiktok(self)?
            .create_identity(creds, account, display_name, image_id)
            .await
    }

    /// The identity called `display_name`, if the advertiser has one.
    pub async fn tiktok_find_identity(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        display_name: &str,
    ) -> Result<Option<String>, PlatformError> {
        Ok(tiktok(self)?
            .identities(creds, account)
            .await?
            .into_iter()
            .find(|i| i.display_name == display_name)
            .map(|i| i.id))
    }

    pub async fn tiktok_create_ad(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        spec: &TiktokAdSpec,
    ) -> Result<String, PlatformError> {
        tiktok(self)?.create_ad(creds, account, spec).await
    }

    pub async fn tiktok_find_ad(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        adgroup_id: &str,
        name: &str,
    ) -> Result<Option<String>, PlatformError> {
        tiktok(self)?
            .find_ad(creds, account, adgroup_id, name)
            .await
    }
}
