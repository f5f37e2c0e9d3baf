//! The Graph calls of a Meta create beyond the campaign (platform-apis-levels.md §2.4, §4.2):
//! Pages from `/me/accounts`, `/search` look-ups, `/act_{id}/adsets`, `/act_{id}/adimages`
//! (base64 `bytes`), `/act_{id}/adcreatives` with an `object_story_spec`, `/act_{id}/ads`.
//! Writes are never repeated by the retry layer (`idempotent: false`): a lost answer is found
//! by the caller instead.

use base64::Engine;
use reqwest::Method;
use serde_json::{Value, json};

use super::{MetaAds, account_digits, numeric, p};
use crate::platforms::PlatformError;
use crate::platforms::meta_create::{
    MetaAdSetSpec, MetaCampaignSpec, MetaCreativeSpec, MetaInterest, MetaLocation, MetaPage,
    MetaPixel,
};
use crate::platforms::meta_offset;
use crate::platforms::model::{AccountRef, CampaignStatus, Credentials};
use crate::platforms::wire::{required_text, text};

fn status_word(s: CampaignStatus) -> &'static str {
    match s {
        CampaignStatus::Active => "ACTIVE",
        _ => "PAUSED",
    }
}

/// The `id` of a create's answer.
fn new_id(v: &Value, what: &str) -> Result<String, PlatformError> {
    let id = required_text(v.get("id"), what)?;
    numeric(&id, what)
}

impl MetaAds {
    pub(crate) async fn pages(&self, creds: &Credentials) -> Result<Vec<MetaPage>, PlatformError> {
        let rows = self
            .get_all(
                creds,
                "",
                "me/accounts",
                vec![p("fields", "id,name,tasks"), p("limit", "100")],
            )
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            // Without `tasks` (a Page shared through Business Manager answers so) the Page is
            // offered; Meta refuses the creative if the user may not advertise for it.
            let may = match r.get("tasks").and_then(Value::as_array) {
                Some(t) => t.iter().any(|t| t.as_str() == Some("ADVERTISE")),
                None => true,
            };
            if may {
                out.push(MetaPage {
                    id: required_text(r.get("id"), "page id")?,
                    name: text(r.get("name")).unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    /// `GET /act_{id}/adspixels?fields=id,name` (platform-apis-levels.md §2.4).
    pub(crate) async fn pixels(
        &self,
        creds: &Credentials,
        account: &AccountRef,
    ) -> Result<Vec<MetaPixel>, PlatformError> {
        let id = account_digits(&account.id)?;
        let rows = self
            .get_all(
                creds,
                &id,
                &format!("act_{id}/adspixels"),
                vec![p("fields", "id,name"), p("limit", "100")],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let pid = text(r.get("id"))
                    .or_else(|| r.get("id").and_then(Value::as_i64).map(|n| n.to_string()))
                    .ok_or_else(|| PlatformError::unexpected("a Meta Pixel has no id"))?;
                Ok(MetaPixel {
                    name: text(r.get("name")).unwrap_or_else(|| pid.clone()),
                    id: numeric(&pid, "pixel")?,
                })
            })
            .collect()
    }

    async fn search(
        &self,
        creds: &Credentials,
        params: Vec<(String, String)>,
    ) -> Result<Vec<Value>, PlatformError> {
        let v = self
            .request(
                Some(&creds.access_token),
                "",
                Method::GET,
                &self.graph("search"),
                &params,
                true,
            )
            .await?;
        v.get("data")
            .and_then(Value::as_array)
            .cloned()
            .ok_or_else(|| PlatformError::unexpected("Meta's search answer has no \"data\" list"))
    }

    pub(crate) async fn search_locations(
        &self,
        creds: &Credentials,
        query: &str,
    ) -> Result<Vec<MetaLocation>, PlatformError> {
        let rows = self
            .search(
                creds,
                vec![
                    p("type", "adgeolocation"),
                    p("q", query),
                    p("location_types", r#"["country","region","city"]"#),
                    p("limit", "10"),
                ],
            )
            .await?;
        let mut out = Vec::new();
        for r in &rows {
            let kind = text(r.get("type")).unwrap_or_default();
            if !matches!(kind.as_str(), "country" | "region" | "city") {
                continue;
            }
            let country_name = text(r.get("country_name")).unwrap_or_default();
            let region = text(r.get("region")).unwrap_or_default();
            let context = [region, country_name]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(", ");
            out.push(MetaLocation {
                // A country's key is its ISO code; regions and cities have numeric keys,
                // which some answers send as numbers.
                key: text(r.get("key"))
                    .or_else(|| r.get("key").and_then(Value::as_i64).map(|n| n.to_string()))
                    .ok_or_else(|| PlatformError::unexpected("a Meta place has no key"))?,
                name: text(r.get("name")).unwrap_or_default(),
                kind,
                country_code: text(r.get("country_code")).unwrap_or_default(),
                context,
            });
        }
        Ok(out)
    }

    pub(crate) async fn search_interests(
        &self,
        creds: &Credentials,
        query: &str,
    ) -> Result<Vec<MetaInterest>, PlatformError> {
        let rows = self
            .search(
                creds,
                vec![p("type", "adinterest"), p("q", query), p("limit", "10")],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(MetaInterest {
                    id: text(r.get("id"))
                        .or_else(|| r.get("id").and_then(Value::as_i64).map(|n| n.to_string()))
                        .ok_or_else(|| PlatformError::unexpected("a Meta interest has no id"))?,
                    name: text(r.get("name")).unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn post(
        &self,
        creds: &Credentials,
        account: &str,
        path: &str,
        params: Vec<(String, String)>,
    ) -> Result<Value, PlatformError> {
        self.request(
            Some(&creds.access_token),
            account,
            Method::POST,
            &self.graph(path),
            &params,
            false,
        )
        .await
    }

    pub(crate) async fn create_tree_campaign(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        spec: &MetaCampaignSpec,
    ) -> Result<String, PlatformError> {
        let id = account_digits(&account.id)?;
        let mut params = vec![
            p("name", spec.name.clone()),
            p("objective", spec.objective.clone()),
            p("status", status_word(spec.status)),
            p("special_ad_categories", "[]"),
        ];
        match spec.daily_budget {
            // In Meta's unit for the currency (cents for USD, whole units for JPY).
            Some(b) => params.push(p("daily_budget", meta_offset::to_units(b).to_string())),
            // Budgets on the ad sets: Meta requires the sharing choice (v23+).
            None => params.push(p("is_adset_budget_sharing_enabled", "false")),
        }
        let v = self
            .post(creds, &id, &format!("act_{id}/campaigns"), params)
            .await?;
        new_id(&v, "campaign")
    }

    pub(crate) async fn create_ad_set(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        spec: &MetaAdSetSpec,
    ) -> Result<String, PlatformError> {
        let id = account_digits(&account.id)?;
        let mut params = vec![
            p("name", spec.name.clone()),
            p("campaign_id", numeric(&spec.campaign_id, "campaign")?),
            p("status", status_word(spec.status)),
            p("billing_event", spec.billing_event.clone()),
            p("optimization_goal", spec.optimization_goal.clone()),
            p("bid_strategy", "LOWEST_COST_WITHOUT_CAP"),
            p("destination_type", "WEBSITE"),
            p("targeting", targeting(spec).to_string()),
        ];
        if let Some(b) = spec.daily_budget {
            params.push(p("daily_budget", meta_offset::to_units(b).to_string()));
        }
        if let Some(o) = &spec.promoted_object {
            params.push(p(
                "promoted_object",
                json!({"pixel_id": o.pixel_id, "custom_event_type": o.custom_event_type})
                    .to_string(),
            ));
        }
        if let Some(t) = &spec.start_time {
            params.push(p("start_time", t.clone()));
        }
        if let Some(t) = &spec.end_time {
            params.push(p("end_time", t.clone()));
        }
        let v = self
            .post(creds, &id, &format!("act_{id}/adsets"), params)
            .await?;
        new_id(&v, "ad set")
    }

    /// The child (`adsets` of a campaign, `ads` of an ad set) called `name`.
    pub(crate) async fn find_child(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        parent: &str,
        edge: &str,
        name: &str,
    ) -> Result<Option<String>, PlatformError> {
        let id = account_digits(&account.id)?;
        let parent = numeric(parent, "parent")?;
        let rows = self
            .get_all(
                creds,
                &id,
                &format!("{parent}/{edge}"),
                vec![p("fields", "id,name,status"), p("limit", "100")],
            )
            .await?;
        Ok(rows
            .iter()
            .filter(|r| text(r.get("status")).as_deref() != Some("DELETED"))
            .find(|r| text(r.get("name")).as_deref() == Some(name))
            .and_then(|r| text(r.get("id"))))
    }

    pub(crate) async fn upload_image(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        file_name: &str,
        bytes: &[u8],
    ) -> Result<String, PlatformError> {
        let id = account_digits(&account.id)?;
        let params = vec![
            p("name", file_name),
            p(
                "bytes",
                base64::engine::general_purpose::STANDARD.encode(bytes),
            ),
        ];
        let v = self
            .post(creds, &id, &format!("act_{id}/adimages"), params)
            .await?;
        // `{"images":{"<name>":{"hash":…,"url":…}}}`: the key is the file name or a name
        // Meta made up, so the first entry is the one.
        v.get("images")
            .and_then(Value::as_object)
            .and_then(|m| m.values().next())
            .and_then(|i| text(i.get("hash")))
            .filter(|h| !h.is_empty())
            .ok_or_else(|| PlatformError::unexpected("Meta's image upload answer has no hash"))
    }

    pub(crate) async fn create_creative(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        spec: &MetaCreativeSpec,
    ) -> Result<String, PlatformError> {
        let id = account_digits(&account.id)?;
        let mut link_data = json!({
            "link": spec.link,
            "message": spec.message,
            "name": spec.headline,
            "image_hash": spec.image_hash,
            "call_to_action": {"type": spec.call_to_action, "value": {"link": spec.link}},
        });
        if !spec.description.is_empty() {
            link_data["description"] = json!(spec.description);
        }
        let story = json!({"page_id": numeric(&spec.page_id, "Page")?, "link_data": link_data});
        let params = vec![
            p("name", spec.name.clone()),
            p("object_story_spec", story.to_string()),
        ];
        let v = self
            .post(creds, &id, &format!("act_{id}/adcreatives"), params)
            .await?;
        new_id(&v, "ad creative")
    }

    pub(crate) async fn find_creative(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        name: &str,
    ) -> Result<Option<String>, PlatformError> {
        let id = account_digits(&account.id)?;
        let rows = self
            .get_all(
                creds,
                &id,
                &format!("act_{id}/adcreatives"),
                vec![p("fields", "id,name"), p("limit", "100")],
            )
            .await?;
        Ok(rows
            .iter()
            .find(|r| text(r.get("name")).as_deref() == Some(name))
            .and_then(|r| text(r.get("id"))))
    }

    pub(crate) async fn create_ad(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        name: &str,
        ad_set_id: &str,
        creative_id: &str,
        status: CampaignStatus,
    ) -> Result<String, PlatformError> {
        let id = account_digits(&account.id)?;
        let params = vec![
            p("name", name),
            p("adset_id", numeric(ad_set_id, "ad set")?),
            p(
                "creative",
                json!({"creative_id": numeric(creative_id, "ad creative")?}).to_string(),
            ),
            p("status", status_word(status)),
        ];
        let v = self
            .post(creds, &id, &format!("act_{id}/ads"), params)
            .await?;
        new_id(&v, "ad")
    }
}

/// The ad set's `targeting` object. Hard limits (age, gender, interests) go with
/// `advantage_audience: 0`, which Meta requires on every ad-set create since v23: opting in
/// would let Meta widen the age range the person chose.
pub(crate) fn targeting(spec: &MetaAdSetSpec) -> Value {
    let mut countries = Vec::new();
    let mut regions = Vec::new();
    let mut cities = Vec::new();
    for l in &spec.locations {
        match l.kind.as_str() {
            "country" => countries.push(json!(l.key)),
            "region" => regions.push(json!({"key": l.key})),
            _ => cities.push(json!({"key": l.key, "radius": 10, "distance_unit": "mile"})),
        }
    }
    let mut geo = json!({"location_types": ["home", "recent"]});
    if !countries.is_empty() {
        geo["countries"] = json!(countries);
    }
    if !regions.is_empty() {
        geo["regions"] = json!(regions);
    }
    if !cities.is_empty() {
        geo["cities"] = json!(cities);
    }
    let mut t = json!({
        "geo_locations": geo,
        "age_min": spec.age_min,
        "age_max": spec.age_max,
        "targeting_automation": {"advantage_audience": 0},
    });
    if !spec.genders.is_empty() {
        t["genders"] = json!(spec.genders);
    }
    if !spec.interests.is_empty() {
        t["flexible_spec"] = json!([{"interests": spec
            .interests
            .iter()
            .map(|i| json!({"id": i.id, "name": i.name}))
            .collect::<Vec<_>>()}]);
    }
    t
}
