//! What a Meta create calls beyond the campaign, with Meta's validation and answers
//! (platform-apis-levels.md §2.4, §4.2): `/me/accounts` (Pages with their tasks),
//! `/search?type=adgeolocation|adinterest`, `/act_{id}/adimages` (base64 `bytes`, answered
//! `{"images":{name:{hash,url}}}`, the same bytes giving the same hash), `/act_{id}/adsets`
//! (targeting with the v23 Advantage audience flag, budget on exactly one level, the
//! optimization goal the objective allows), `/act_{id}/adcreatives` (a Page the token may
//! advertise for, an image hash that exists, text limits) and `/act_{id}/ads`, with listings
//! of each under their parent so a client can find what it made. Ids are 18-digit strings.
//!
//! Places and interests are small fixed tables; country keys are ISO codes as on Meta, the
//! numeric keys of regions, cities and interests are illustrative (Hanoi's come from Meta's
//! documentation example).

use axum::http::StatusCode;
use axum::response::Response;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::super::create_store::{MetaAdSetExtra, MetaCreative, MetaImage};
use super::super::hierarchy::{Ad, AdGroup, Bid};
use super::super::server::{App, State};
use super::super::wire::{ApiRequest, json_response};
use super::super::world::{Account, Campaign, CampaignStatus, Change, IdKind};
use super::{error, invalid, invalid_user, paged};
use crate::platforms::meta_offset;
use crate::types::Platform;

/// A Page: id, name, the sandbox user's tasks on it.
pub struct Page {
    pub id: &'static str,
    pub name: &'static str,
    pub tasks: &'static [&'static str],
}

pub static PAGES: [Page; 3] = [
    Page {
        id: "108923451827344211",
        name: "Acme Outdoor",
        tasks: &[
            "ADVERTISE",
            "ANALYZE",
            "CREATE_CONTENT",
            "MANAGE",
            "MODERATE",
        ],
    },
    Page {
        id: "108923451827344377",
        name: "Acme Outdoor Deals",
        tasks: &["ADVERTISE", "ANALYZE"],
    },
    // Seen by the user but not theirs to advertise for: a creative in its name is refused.
    Page {
        id: "108923451827344519",
        name: "Partner Brand",
        tasks: &["ANALYZE"],
    },
];

/// key, name, type, country code, region, country name.
type Place = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

static PLACES: [Place; 13] = [
    ("US", "United States", "country", "US", "", "United States"),
    (
        "GB",
        "United Kingdom",
        "country",
        "GB",
        "",
        "United Kingdom",
    ),
    ("DE", "Germany", "country", "DE", "", "Germany"),
    ("FR", "France", "country", "FR", "", "France"),
    ("CA", "Canada", "country", "CA", "", "Canada"),
    ("VN", "Vietnam", "country", "VN", "", "Vietnam"),
    ("3886", "Texas", "region", "US", "", "United States"),
    ("3847", "California", "region", "US", "", "United States"),
    ("3658", "Hanoi", "region", "VN", "", "Vietnam"),
    ("2418779", "Austin", "city", "US", "Texas", "United States"),
    ("2421836", "Paris", "city", "FR", "Ile-de-France", "France"),
    ("2420379", "Paris", "city", "US", "Texas", "United States"),
    ("1006824", "Hanoi", "city", "VN", "Hanoi", "Vietnam"),
];

/// id, name, topic, audience size lower bound.
static INTERESTS: [(&str, &str, &str, i64); 8] = [
    (
        "6003384248805",
        "Running",
        "Fitness and wellness",
        412_000_000,
    ),
    (
        "6003277229526",
        "Trail running",
        "Fitness and wellness",
        18_400_000,
    ),
    (
        "6003119618154",
        "Hiking",
        "Sports and outdoors",
        301_000_000,
    ),
    (
        "6003012461997",
        "Marathon",
        "Fitness and wellness",
        42_100_000,
    ),
    (
        "6003348604581",
        "Camping",
        "Sports and outdoors",
        187_000_000,
    ),
    (
        "6003107902433",
        "Outdoor recreation",
        "Sports and outdoors",
        268_000_000,
    ),
    ("6003397425735", "Yoga", "Fitness and wellness", 295_000_000),
    (
        "6002985584323",
        "Cycling",
        "Sports and outdoors",
        240_000_000,
    ),
];

/// Optimization goals each objective takes (the ones that matter, §2.2).
fn goals(objective: &str) -> &'static [&'static str] {
    match objective {
        "OUTCOME_TRAFFIC" => &["LINK_CLICKS", "LANDING_PAGE_VIEWS", "IMPRESSIONS", "REACH"],
        "OUTCOME_SALES" => &["OFFSITE_CONVERSIONS", "VALUE", "LINK_CLICKS"],
        "OUTCOME_LEADS" => &["LEAD_GENERATION", "QUALITY_LEAD", "OFFSITE_CONVERSIONS"],
        "OUTCOME_AWARENESS" => &["REACH", "IMPRESSIONS"],
        "OUTCOME_ENGAGEMENT" => &["POST_ENGAGEMENT", "THRUPLAY", "CONVERSATIONS"],
        _ => &["APP_INSTALLS"],
    }
}

const BILLING_EVENTS: [&str; 4] = ["IMPRESSIONS", "LINK_CLICKS", "CLICKS", "THRUPLAY"];
/// Text limits the sandbox enforces on link creatives. Meta shows less (125/40/30 before
/// "See more"); these hard caps are UNVERIFIED and chosen generously.
const MAX_MESSAGE: usize = 2200;
const MAX_HEADLINE: usize = 255;
const MAX_DESCRIPTION: usize = 255;
const CTAS: [&str; 13] = [
    "LEARN_MORE",
    "SHOP_NOW",
    "SIGN_UP",
    "BOOK_NOW",
    "APPLY_NOW",
    "CONTACT_US",
    "DOWNLOAD",
    "GET_QUOTE",
    "ORDER_NOW",
    "SUBSCRIBE",
    "BUY_NOW",
    "CALL_NOW",
    "NO_BUTTON",
];

fn missing(field: &str) -> Response {
    invalid(&format!("(#100) The parameter {field} is required"))
}

/// A code-100 refusal with Meta's subcode and words for people.
fn refused(subcode: i64, message: &str, title: &str, user_msg: &str) -> Response {
    let v = json!({"error": {
        "message": message, "type": "OAuthException", "code": 100,
        "error_subcode": subcode, "is_transient": false,
        "error_user_title": title, "error_user_msg": user_msg,
        "fbtrace_id": super::trace_id(),
    }});
    super::super::wire::with_code(json_response(StatusCode::BAD_REQUEST, &v), 100)
}

fn json_param(req: &ApiRequest, key: &str) -> Result<Option<Value>, Response> {
    match req.param(key) {
        None => Ok(None),
        Some(s) => serde_json::from_str(s)
            .map(Some)
            .map_err(|_| invalid(&format!("(#100) Param {key} must be a JSON object"))),
    }
}

/// The one Pixel every sandbox ad account has: its id is the account's digits and a 7, so a
/// Pixel of another account can be told apart (Meta refuses an ad set promoting one).
pub fn pixel_id(account_id: &str) -> String {
    format!("{account_id}7")
}

/// `/act_{id}/adspixels`.
pub(super) fn pixels(app: &App, req: &ApiRequest, acc: &Account) -> Response {
    let items = vec![json!({"id": pixel_id(&acc.id), "name": format!("{} website", acc.name)})];
    paged(app, req, items)
}

/// Meta's standard website events a conversion ad set may optimise for (the ones that
/// matter, platform-apis-levels.md §2.4).
const PIXEL_EVENTS: [&str; 6] = [
    "PURCHASE",
    "LEAD",
    "COMPLETE_REGISTRATION",
    "ADD_TO_CART",
    "INITIATED_CHECKOUT",
    "CONTACT",
];

/// A website-conversion ad set's `promoted_object` (any ad set of a sales campaign, or one
/// optimised for conversions): Meta needs one naming a Pixel of the ad account and a
/// standard event. The refusal's subcode and words are the sandbox's
/// (UNVERIFIED against Meta's exact ones); its shape is Meta's code-100 refusal.
fn check_promoted_object(
    req: &ApiRequest,
    acc: &Account,
    objective: &str,
    goal: &str,
) -> Result<Option<Value>, Response> {
    let o = json_param(req, "promoted_object")?;
    if goal != "OFFSITE_CONVERSIONS" && objective != "OUTCOME_SALES" {
        return Ok(o);
    }
    let Some(o) = o.filter(Value::is_object) else {
        return Err(refused(
            1_885_024,
            "(#100) Invalid parameter",
            "Promoted object required",
            "Ad sets optimised for website conversions need a promoted_object with the pixel_id and the custom_event_type to optimise for.",
        ));
    };
    let pixel = o.get("pixel_id").and_then(|p| {
        p.as_str()
            .map(str::to_string)
            .or_else(|| p.as_i64().map(|n| n.to_string()))
    });
    if pixel.as_deref() != Some(pixel_id(&acc.id).as_str()) {
        return Err(refused(
            1_885_024,
            "(#100) Invalid parameter",
            "Invalid Pixel",
            "The pixel_id in promoted_object is not a Pixel this ad account may use.",
        ));
    }
    let event = o.get("custom_event_type").and_then(Value::as_str);
    if !event.is_some_and(|e| PIXEL_EVENTS.contains(&e)) {
        return Err(invalid(&format!(
            "(#100) promoted_object[custom_event_type] must be one of {{{}}}",
            PIXEL_EVENTS.join(", ")
        )));
    }
    Ok(Some(o))
}

pub(super) fn pages(app: &App, req: &ApiRequest) -> Response {
    let items = PAGES
        .iter()
        .map(|p| json!({"id": p.id, "name": p.name, "tasks": p.tasks, "category": "Sports & Recreation"}))
        .collect();
    paged(app, req, items)
}

fn place_json(p: &Place) -> Value {
    let (key, name, kind, cc, region, country) = *p;
    let mut v = json!({"key": key, "name": name, "type": kind, "country_code": cc,
        "supports_region": true, "supports_city": true});
    if kind != "country" {
        v["country_name"] = json!(country);
    }
    if kind == "city" {
        v["region"] = json!(region);
        if let Some(r) = PLACES
            .iter()
            .find(|r| r.2 == "region" && r.1 == region && r.3 == cc)
        {
            v["region_id"] = json!(r.0.parse::<i64>().unwrap_or(0));
        }
    }
    v
}

/// `/search`: `type=adgeolocation` (q as "City, Region, Country", each part narrowing) or
/// `type=adinterest`.
pub(super) fn search(req: &ApiRequest) -> Response {
    let q = req.param("q").unwrap_or("").trim().to_lowercase();
    match req.param("type") {
        Some("adgeolocation") => {
            if q.is_empty() {
                return missing("q");
            }
            let types: Vec<String> = req
                .param("location_types")
                .and_then(|t| serde_json::from_str::<Vec<String>>(t).ok())
                .unwrap_or_else(|| vec!["country".into(), "region".into(), "city".into()]);
            let mut parts = q.split(',').map(str::trim).filter(|s| !s.is_empty());
            let head = parts.next().unwrap_or("");
            let rest: Vec<&str> = parts.collect();
            let mut hits: Vec<(u8, Value)> = PLACES
                .iter()
                .filter(|p| types.iter().any(|t| t == p.2))
                .filter(|p| p.1.to_lowercase().starts_with(head))
                .filter(|p| {
                    rest.iter().all(|r| {
                        p.4.to_lowercase().starts_with(r)
                            || p.5.to_lowercase().starts_with(r)
                            || p.3.eq_ignore_ascii_case(r)
                    })
                })
                .map(|p| (u8::from(p.1.to_lowercase() != head), place_json(p)))
                .collect();
            hits.sort_by_key(|(rank, _)| *rank);
            json_response(
                StatusCode::OK,
                &json!({"data": hits.into_iter().map(|(_, v)| v).collect::<Vec<_>>()}),
            )
        }
        Some("adinterest") => {
            if q.is_empty() {
                return missing("q");
            }
            let mut hits: Vec<(u8, Value)> = INTERESTS
                .iter()
                .filter(|(_, name, _, _)| name.to_lowercase().contains(&q))
                .map(|(id, name, topic, size)| {
                    (
                        u8::from(name.to_lowercase() != q),
                        json!({"id": id, "name": name,
                            "audience_size_lower_bound": size,
                            "audience_size_upper_bound": size + size / 5,
                            "path": ["Interests", topic, name], "topic": topic}),
                    )
                })
                .collect();
            hits.sort_by_key(|(rank, _)| *rank);
            json_response(
                StatusCode::OK,
                &json!({"data": hits.into_iter().map(|(_, v)| v).collect::<Vec<_>>()}),
            )
        }
        Some(other) => invalid(&format!(
            "(#100) Param type must be one of {{adgeolocation, adinterest, adlocale}}, got {other}"
        )),
        None => missing("type"),
    }
}

/// The sandbox's image hash: 32 hex digits from the bytes (Meta's is an MD5 of the content;
/// the sandbox takes the start of a SHA-256, the same shape).
fn image_hash(bytes: &[u8]) -> String {
    hex::encode(&Sha256::digest(bytes)[..16])
}

fn image_size(b: &[u8]) -> Option<(u32, u32)> {
    crate::platforms::meta_create::sniff(b).map(|i| (i.width, i.height))
}

pub(super) fn upload_image(s: &mut State, req: &ApiRequest, acc: &Account) -> Response {
    let Some(b64) = req.param("bytes") else {
        return refused(
            1_487_242,
            "(#100) Image data is required",
            "No image",
            "Upload an image file or send its bytes.",
        );
    };
    let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
        return refused(
            1_487_242,
            "(#100) Invalid image bytes",
            "Invalid image",
            "The image data could not be read as base64.",
        );
    };
    let Some((width, height)) = image_size(&bytes) else {
        return refused(
            1_487_242,
            "(#100) Invalid image",
            "Image format not supported",
            "The file is not an image Meta can use. Use a JPG or PNG file.",
        );
    };
    let hash = image_hash(&bytes);
    let name = req
        .param("name")
        .filter(|n| !n.trim().is_empty())
        .unwrap_or("bytes")
        .to_string();
    let created = &mut s.world.created;
    if !created
        .meta_images
        .iter()
        .any(|i| i.account_id == acc.id && i.hash == hash)
    {
        created.meta_images.push(MetaImage {
            account_id: acc.id.clone(),
            hash: hash.clone(),
            name: name.clone(),
            width,
            height,
            bytes: bytes.len(),
        });
        s.dirty = true;
    }
    json_response(
        StatusCode::OK,
        &json!({"images": {name: {"hash": hash,
            "url": format!("https://scontent.sandbox.invalid/v/t45.1600-4/{hash}.jpg")}}}),
    )
}

pub(super) fn list_images(app: &App, s: &State, req: &ApiRequest, acc: &Account) -> Response {
    let only: Option<Vec<String>> = req
        .param("hashes")
        .and_then(|h| serde_json::from_str(h).ok());
    let items = s
        .world
        .created
        .meta_images
        .iter()
        .filter(|i| i.account_id == acc.id)
        .filter(|i| only.as_ref().is_none_or(|o| o.contains(&i.hash)))
        .map(|i| {
            json!({"hash": i.hash, "id": format!("{}:{}", acc.id, i.hash),
            "name": i.name, "width": i.width, "height": i.height})
        })
        .collect();
    paged(app, req, items)
}

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%z")
        .or_else(|_| DateTime::parse_from_rfc3339(s))
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// A key or id Meta takes as a string or a number.
fn key_text(k: &Value) -> Option<String> {
    k.as_str()
        .map(str::to_string)
        .or_else(|| k.as_i64().map(|n| n.to_string()))
}

/// Checks `targeting` as Meta does for an ad set.
fn check_targeting(t: &Value) -> Result<(), Response> {
    let flag = advantage_flag(t)?;
    check_places(t)?;
    check_ages(t, flag)?;
    if let Some(g) = t.get("genders") {
        let ok = g
            .as_array()
            .is_some_and(|a| a.iter().all(|x| matches!(x.as_i64(), Some(1 | 2))));
        if !ok {
            return Err(invalid(
                "(#100) Param genders must be an array of 1 (men) and 2 (women)",
            ));
        }
    }
    check_interests(t)
}

/// Since v23 the Advantage audience flag (0 or 1) must be given.
fn advantage_flag(t: &Value) -> Result<i64, Response> {
    t.get("targeting_automation")
        .and_then(|a| a.get("advantage_audience"))
        .and_then(Value::as_i64)
        .filter(|f| matches!(f, 0 | 1))
        .ok_or_else(|| {
            refused(
                1_870_227,
                "(#100) Invalid parameter",
                "Advantage Audience Flag Required",
                "To create your ad set, you need to enable or disable the Advantage audience feature (targeting_automation.advantage_audience 0 or 1).",
            )
        })
}

/// At least one place, each a known country, region or city.
fn check_places(t: &Value) -> Result<(), Response> {
    let geo = t.get("geo_locations").cloned().unwrap_or(Value::Null);
    let list = |k: &str| {
        geo.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let (countries, regions, cities) = (list("countries"), list("regions"), list("cities"));
    if countries.is_empty() && regions.is_empty() && cities.is_empty() {
        return Err(refused(
            1_487_756,
            "(#100) Invalid parameter",
            "Location required",
            "Your audience needs at least one location: add a country, region or city.",
        ));
    }
    let known = |kind: &str, key: &str| PLACES.iter().any(|p| p.2 == kind && p.0 == key);
    for c in &countries {
        if !c.as_str().is_some_and(|k| known("country", k)) {
            return Err(invalid(&format!(
                "(#100) Invalid country code {c} in geo_locations[countries]"
            )));
        }
    }
    for (kind, items) in [("region", &regions), ("city", &cities)] {
        for r in items {
            let key = r.get("key").and_then(key_text).unwrap_or_default();
            if !known(kind, &key) {
                return Err(invalid(&format!(
                    "(#100) Invalid {kind} key {key} in geo_locations"
                )));
            }
        }
    }
    Ok(())
}

/// Ages 13 to 65, in order; with Advantage audience on, only the widest range is a limit.
fn check_ages(t: &Value, flag: i64) -> Result<(), Response> {
    let age = |k: &str, d: i64| t.get(k).and_then(Value::as_i64).unwrap_or(d);
    let (min, max) = (age("age_min", 18), age("age_max", 65));
    if !(13..=65).contains(&min) || !(13..=65).contains(&max) || min > max {
        return Err(refused(
            1_487_123,
            "(#100) Invalid parameter",
            "Invalid age range",
            "age_min must be at least 13 (18 in most countries), age_max at most 65, and age_min no more than age_max.",
        ));
    }
    if flag == 1 && (min > 25 || max < 65) {
        return Err(refused(
            1_870_189,
            "(#100) Invalid parameter",
            "Age range not available with Advantage audience",
            "With Advantage audience on, the age range can only be a suggestion: set advantage_audience to 0 to keep it as a limit.",
        ));
    }
    Ok(())
}

/// Every interest (in `flexible_spec` or the older top-level list) is a known one.
fn check_interests(t: &Value) -> Result<(), Response> {
    let interests: Vec<Value> = t
        .get("flexible_spec")
        .and_then(Value::as_array)
        .map(|f| {
            f.iter()
                .filter_map(|o| o.get("interests").and_then(Value::as_array))
                .flatten()
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    for i in interests.iter().chain(
        t.get("interests")
            .and_then(Value::as_array)
            .into_iter()
            .flatten(),
    ) {
        let id = i.get("id").and_then(key_text).unwrap_or_default();
        if !INTERESTS.iter().any(|(x, ..)| *x == id) {
            return Err(invalid(&format!(
                "(#100) Invalid interest id {id} in targeting"
            )));
        }
    }
    Ok(())
}

fn status_param(req: &ApiRequest) -> Result<CampaignStatus, Response> {
    match req.param("status").unwrap_or("ACTIVE") {
        "ACTIVE" => Ok(CampaignStatus::Enabled),
        "PAUSED" => Ok(CampaignStatus::Paused),
        other => Err(invalid(&format!(
            "(#100) Param status must be one of {{ACTIVE, PAUSED}} on create, got {other}"
        ))),
    }
}

/// An ad set as asked for, checked.
struct NewAdSet<'r> {
    name: &'r str,
    campaign: Campaign,
    billing: &'r str,
    goal: &'r str,
    promoted_object: Option<Value>,
    targeting: Value,
    status: CampaignStatus,
    budget: Option<i64>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
}

pub(super) fn create_ad_set(
    s: &mut State,
    req: &ApiRequest,
    acc: &Account,
    now: DateTime<Utc>,
) -> Response {
    match check_ad_set(s, req, acc, now) {
        Ok(new) => add_ad_set(s, req, acc, new, now),
        Err(r) => r,
    }
}

/// Checks an ad set create in Meta's order: parent, optimization, targeting, status, budget,
/// schedule.
fn check_ad_set<'r>(
    s: &State,
    req: &'r ApiRequest,
    acc: &Account,
    now: DateTime<Utc>,
) -> Result<NewAdSet<'r>, Response> {
    let (name, campaign) = ad_set_parent(s, req, acc)?;
    let (billing, goal) = ad_set_optimization(req, &campaign)?;
    let promoted_object = check_promoted_object(req, acc, &campaign.objective, goal)?;
    let targeting = match json_param(req, "targeting")? {
        Some(t) if t.is_object() => t,
        _ => return Err(missing("targeting")),
    };
    check_targeting(&targeting)?;
    let status = status_param(req)?;
    let budget = ad_set_budget(req, acc, &campaign)?;
    let (start, end) = ad_set_schedule(req, now)?;
    Ok(NewAdSet {
        name,
        campaign,
        billing,
        goal,
        promoted_object,
        targeting,
        status,
        budget,
        start,
        end,
    })
}

/// The ad set's name and its campaign (live, in this account).
fn ad_set_parent<'r>(
    s: &State,
    req: &'r ApiRequest,
    acc: &Account,
) -> Result<(&'r str, Campaign), Response> {
    let Some(name) = req.param("name").filter(|n| !n.trim().is_empty()) else {
        return Err(missing("name"));
    };
    let Some(campaign_id) = req.param("campaign_id") else {
        return Err(missing("campaign_id"));
    };
    let Some(campaign) = s
        .world
        .campaign(Platform::Meta, campaign_id)
        .filter(|c| c.account_id == acc.id && c.status() != CampaignStatus::Removed)
        .cloned()
    else {
        return Err(invalid(&format!(
            "(#100) Param campaign_id must be a valid campaign id in this ad account, got {campaign_id}"
        )));
    };
    Ok((name, campaign))
}

/// The billing event, and an optimization goal the campaign's objective allows.
fn ad_set_optimization<'r>(
    req: &'r ApiRequest,
    campaign: &Campaign,
) -> Result<(&'r str, &'r str), Response> {
    let Some(billing) = req.param("billing_event") else {
        return Err(missing("billing_event"));
    };
    if !BILLING_EVENTS.contains(&billing) {
        return Err(invalid(&format!(
            "(#100) Param billing_event must be one of {{{}}}",
            BILLING_EVENTS.join(", ")
        )));
    }
    let Some(goal) = req.param("optimization_goal") else {
        return Err(missing("optimization_goal"));
    };
    if !goals(&campaign.objective).contains(&goal) {
        return Err(refused(
            2_490_408,
            "(#100) Invalid parameter",
            "Optimization goal not available",
            &format!(
                "The optimization goal {goal} is not available for the campaign objective {}.",
                campaign.objective
            ),
        ));
    }
    Ok((billing, goal))
}

/// The ad set's daily budget (micros): required exactly when the campaign has no budget of
/// its own (Advantage campaign budget).
fn ad_set_budget(
    req: &ApiRequest,
    acc: &Account,
    campaign: &Campaign,
) -> Result<Option<i64>, Response> {
    let cbo = campaign.budget_id.is_some() && !campaign.budget_on_ad_groups;
    let budget = match req.param("daily_budget") {
        Some(v) => match v.trim().parse::<i64>().ok().filter(|n| *n > 0) {
            Some(units) => Some(units.saturating_mul(meta_offset::micros_per_unit(acc.currency))),
            None => {
                return Err(invalid(
                    "(#100) Param daily_budget must be a positive integer in the currency's minor units",
                ));
            }
        },
        None => None,
    };
    if req.param("lifetime_budget").is_some() {
        return Err(invalid_user(
            "(#100) lifetime_budget is not supported by the adpilot sandbox",
            "Use daily_budget.",
        ));
    }
    match (cbo, budget) {
        (true, Some(_)) => Err(refused(
            1_885_621,
            "(#100) Invalid parameter",
            "Budget set at campaign level",
            "You can't set an ad set budget because this campaign uses Advantage campaign budget. Change the campaign's budget instead.",
        )),
        (false, None) => Err(refused(
            1_885_272,
            "(#100) Invalid parameter",
            "Budget required",
            "This campaign has no budget of its own, so each ad set needs a daily or lifetime budget.",
        )),
        _ => Ok(budget),
    }
}

/// The optional start and end times, the end after the start (or now).
fn ad_set_schedule(
    req: &ApiRequest,
    now: DateTime<Utc>,
) -> Result<(Option<DateTime<Utc>>, Option<DateTime<Utc>>), Response> {
    let start = match req.param("start_time") {
        Some(t) => match parse_time(t) {
            Some(t) => Some(t),
            None => return Err(invalid("(#100) Param start_time must be an ISO 8601 time")),
        },
        None => None,
    };
    let end = match req.param("end_time") {
        Some(t) => match parse_time(t) {
            Some(e) if e > start.unwrap_or(now) => Some(e),
            Some(_) => {
                return Err(refused(
                    1_487_006,
                    "(#100) Invalid parameter",
                    "End time before start",
                    "The ad set's end time must be after its start time.",
                ));
            }
            None => return Err(invalid("(#100) Param end_time must be an ISO 8601 time")),
        },
        None => None,
    };
    Ok((start, end))
}

/// Stores a checked ad set (and its budget, see `World::add_ad_group_budget`).
fn add_ad_set(
    s: &mut State,
    req: &ApiRequest,
    acc: &Account,
    new: NewAdSet<'_>,
    now: DateTime<Utc>,
) -> Response {
    let id = s.world.new_id(Platform::Meta, IdKind::Campaign);
    if let Some(b) = new.budget {
        s.world.add_ad_group_budget(
            Platform::Meta,
            &acc.id,
            &new.campaign.id,
            format!("{} ad set budgets", new.campaign.name),
            b,
            now,
        );
    }
    s.world.ad_groups.push(AdGroup {
        platform: Platform::Meta,
        account_id: acc.id.clone(),
        campaign_id: new.campaign.id.clone(),
        id: id.clone(),
        name: new.name.to_string(),
        created_at: now,
        status_history: vec![Change {
            at: now,
            value: new.status,
        }],
        weight: 100,
        daily_budget_micros: new.budget,
        bid: Bid {
            strategy: req
                .param("bid_strategy")
                .unwrap_or("LOWEST_COST_WITHOUT_CAP")
                .to_string(),
            amount_micros: None,
        },
        kind: new.goal.to_string(),
    });
    s.world.created.meta_ad_sets.push(MetaAdSetExtra {
        ad_set_id: id.clone(),
        billing_event: new.billing.to_string(),
        optimization_goal: new.goal.to_string(),
        promoted_object: new.promoted_object,
        targeting: new.targeting,
        start_time: new
            .start
            .map(|t| t.format("%Y-%m-%dT%H:%M:%S%z").to_string()),
        end_time: new.end.map(|t| t.format("%Y-%m-%dT%H:%M:%S%z").to_string()),
    });
    s.dirty = true;
    json_response(StatusCode::OK, &json!({ "id": id }))
}

fn text_over(v: &Value, key: &str, max: usize) -> bool {
    v.get(key)
        .and_then(Value::as_str)
        .is_some_and(|t| t.chars().count() > max)
}

pub(super) fn create_creative(s: &mut State, req: &ApiRequest, acc: &Account) -> Response {
    add_creative(s, req, acc).unwrap_or_else(|r| r)
}

/// Checks a creative create as Meta does (name, Page, link data) and stores it.
fn add_creative(s: &mut State, req: &ApiRequest, acc: &Account) -> Result<Response, Response> {
    let Some(name) = req.param("name").filter(|n| !n.trim().is_empty()) else {
        return Err(missing("name"));
    };
    let story = match json_param(req, "object_story_spec")? {
        Some(v) if v.is_object() => v,
        _ => return Err(missing("object_story_spec")),
    };
    let page_id = check_page(&story)?;
    let Some(link) = story.get("link_data").filter(|l| l.is_object()) else {
        return Err(invalid(
            "(#100) object_story_spec must have link_data (or video_data)",
        ));
    };
    let checked = check_link_data(s, acc, link)?;
    let id = s.world.new_id(Platform::Meta, IdKind::Campaign);
    let text = |k: &str| {
        link.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    s.world.created.meta_creatives.push(MetaCreative {
        account_id: acc.id.clone(),
        id: id.clone(),
        name: name.to_string(),
        page_id,
        link: checked.url.to_string(),
        message: text("message"),
        headline: text("name"),
        description: text("description"),
        image_hash: checked.hash.to_string(),
        call_to_action: checked.cta.to_string(),
    });
    s.dirty = true;
    Ok(json_response(StatusCode::OK, &json!({ "id": id })))
}

/// The story's Page: a known one the token may advertise for.
fn check_page(story: &Value) -> Result<String, Response> {
    let Some(page_id) = story.get("page_id").and_then(key_text) else {
        return Err(invalid("(#100) object_story_spec requires page_id"));
    };
    match PAGES.iter().find(|p| p.id == page_id) {
        Some(p) if p.tasks.contains(&"ADVERTISE") => Ok(page_id),
        Some(_) => Err(error(
            StatusCode::FORBIDDEN,
            200,
            Some(1_815_694),
            "(#200) You do not have permission to advertise for this Page. You need the Advertise task on the Page.",
            "OAuthException",
        )),
        None => Err(invalid(&format!(
            "(#100) Param object_story_spec[page_id] must be a valid Page ID, got {page_id}"
        ))),
    }
}

/// What a checked `link_data` points at.
struct LinkData<'l> {
    url: &'l str,
    hash: &'l str,
    cta: &'l str,
}

/// `link_data`: an http(s) link, an image already in the account's library, texts within
/// Meta's lengths and a known button.
fn check_link_data<'l>(
    s: &State,
    acc: &Account,
    link: &'l Value,
) -> Result<LinkData<'l>, Response> {
    let url = link.get("link").and_then(Value::as_str).unwrap_or("");
    let ok_url = url::Url::parse(url)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if !ok_url {
        return Err(refused(
            1_487_194,
            "(#100) Invalid parameter",
            "Invalid link",
            "The link in your ad must be a valid http or https URL.",
        ));
    }
    let Some(hash) = link.get("image_hash").and_then(Value::as_str) else {
        return Err(invalid("(#100) link_data requires image_hash (or picture)"));
    };
    if !s
        .world
        .created
        .meta_images
        .iter()
        .any(|i| i.account_id == acc.id && i.hash == hash)
    {
        return Err(refused(
            1_487_242,
            "(#100) Invalid parameter",
            "Image not found",
            &format!(
                "The image with hash {hash} is not in this ad account's image library. Upload it first."
            ),
        ));
    }
    for (key, max, what) in [
        ("message", MAX_MESSAGE, "primary text"),
        ("name", MAX_HEADLINE, "headline"),
        ("description", MAX_DESCRIPTION, "description"),
    ] {
        if text_over(link, key, max) {
            return Err(refused(
                1_487_390,
                "(#100) Invalid parameter",
                "Text too long",
                &format!("The ad's {what} is longer than {max} characters."),
            ));
        }
    }
    let cta = link
        .get("call_to_action")
        .and_then(|c| c.get("type"))
        .and_then(Value::as_str)
        .unwrap_or("NO_BUTTON");
    if !CTAS.contains(&cta) {
        return Err(invalid(&format!(
            "(#100) Param call_to_action[type] must be one of {{{}}}",
            CTAS.join(", ")
        )));
    }
    Ok(LinkData { url, hash, cta })
}

pub(super) fn list_creatives(app: &App, s: &State, req: &ApiRequest, acc: &Account) -> Response {
    let items = s
        .world
        .created
        .meta_creatives
        .iter()
        .filter(|c| c.account_id == acc.id)
        .map(|c| json!({"id": c.id, "name": c.name}))
        .collect();
    paged(app, req, items)
}

pub(super) fn create_ad(
    s: &mut State,
    req: &ApiRequest,
    acc: &Account,
    now: DateTime<Utc>,
) -> Response {
    let Some(name) = req.param("name").filter(|n| !n.trim().is_empty()) else {
        return missing("name");
    };
    let Some(ad_set_id) = req.param("adset_id") else {
        return missing("adset_id");
    };
    let Some(group) = s
        .world
        .ad_group(Platform::Meta, ad_set_id)
        .filter(|g| g.account_id == acc.id && g.status() != CampaignStatus::Removed)
        .cloned()
    else {
        return invalid(&format!(
            "(#100) Param adset_id must be a valid ad set id in this ad account, got {ad_set_id}"
        ));
    };
    let creative_id = match json_param(req, "creative") {
        Ok(Some(c)) => c.get("creative_id").and_then(|x| {
            x.as_str()
                .map(str::to_string)
                .or_else(|| x.as_i64().map(|n| n.to_string()))
        }),
        Ok(None) => return missing("creative"),
        Err(r) => return r,
    };
    let Some(creative) = creative_id.and_then(|id| {
        s.world
            .created
            .meta_creatives
            .iter()
            .find(|c| c.id == id && c.account_id == acc.id)
            .cloned()
    }) else {
        return refused(
            1_487_853,
            "(#100) Invalid parameter",
            "Creative not found",
            "The ad's creative does not exist in this ad account.",
        );
    };
    let status = match status_param(req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let id = s.world.new_id(Platform::Meta, IdKind::Campaign);
    s.world.ads.push(Ad {
        platform: Platform::Meta,
        account_id: acc.id.clone(),
        campaign_id: group.campaign_id.clone(),
        ad_group_id: group.id.clone(),
        id: id.clone(),
        name: name.to_string(),
        created_at: now,
        status_history: vec![Change {
            at: now,
            value: status,
        }],
        weight: 100,
        ad_type: "LINK".into(),
        headlines: vec![creative.headline.clone()],
        descriptions: if creative.description.is_empty() {
            Vec::new()
        } else {
            vec![creative.description.clone()]
        },
        primary_text: Some(creative.message.clone()),
        final_url: creative.link.clone(),
        approval: "PENDING_REVIEW".into(),
    });
    s.world
        .created
        .meta_ad_creatives
        .push((id.clone(), creative.id.clone()));
    s.dirty = true;
    json_response(StatusCode::OK, &json!({ "id": id }))
}

/// `GET /{campaign_id}/adsets` and `GET /{adset_id}/ads`: one parent's children, or None when
/// the id is neither.
pub(super) fn children(
    app: &App,
    s: &State,
    req: &ApiRequest,
    accounts: &[String],
    parent: &str,
    edge: &str,
) -> Option<Response> {
    let items: Vec<Value> = match edge {
        "adsets" => {
            let c = s
                .world
                .campaign(Platform::Meta, parent)
                .filter(|c| accounts.contains(&c.account_id))?;
            s.world
                .ad_groups_of(Platform::Meta, &c.id)
                .map(|g| json!({"id": g.id, "name": g.name, "status": g.status().wire(Platform::Meta), "campaign_id": c.id}))
                .collect()
        }
        "ads" => {
            let g = s
                .world
                .ad_group(Platform::Meta, parent)
                .filter(|g| accounts.contains(&g.account_id))?;
            s.world
                .ads_of(Platform::Meta, &g.id)
                .map(|a| json!({"id": a.id, "name": a.name, "status": a.status().wire(Platform::Meta), "adset_id": g.id}))
                .collect()
        }
        _ => return None,
    };
    Some(paged(app, req, items))
}
