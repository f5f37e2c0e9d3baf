//! What a TikTok create calls beyond the campaign, with TikTok's validation and answers
//! (platform-apis-levels.md §3.4, §4.3): `/tool/targeting/search/` (places by keyword),
//! `/tool/region/`, `/tool/interest_category/`, `/adgroup/create/` (placement, targeting,
//! budget, schedule, the optimisation goal and billing event the objective allows),
//! `/file/image/ad/upload/` (multipart with an MD5 `image_signature`, a `file_name` unique in
//! the advertiser), `/file/image/ad/search/`, `/identity/get/` and `/identity/create/`
//! (CUSTOMIZED_USER), and `/ad/create/` (an identity and image ids that exist, `ad_text` within
//! 100 characters without emoji, a known call to action, an http(s) landing page). Every
//! answer is HTTP 200 in TikTok's envelope; refusals carry code 40002 and TikTok's
//! "field: reason" wording. Ids are strings of digits (image ids TikTok's path-like strings).
//!
//! Places are a small fixed table with GeoNames-style ids (the US is 6252001, Paris 2988507
//! as in the reference); interest category ids and the ready-made identity are illustrative.

// Helpers return the finished platform error response as their Err side.
#![allow(clippy::result_large_err)]

use axum::response::Response;
use chrono::{DateTime, NaiveDateTime, Utc};
use md5::{Digest, Md5};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{Params, bad, page_of, reply, tt_time};
use crate::sandbox::create_store::{
    TiktokAdExtra, TiktokAdGroupExtra, TiktokIdentity, TiktokImage,
};
use crate::sandbox::hierarchy::{Ad, AdGroup, Bid};
use crate::sandbox::server::State;
use crate::sandbox::wire::{ApiRequest, decimal_from_json, micros_from_major};
use crate::sandbox::world::{Account, Campaign, CampaignStatus, Change, IdKind};
use crate::types::Platform;

const P: Platform = Platform::Tiktok;

/// location id, name, level, region code, parent id, description.
type Geo = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

pub static GEOS: [Geo; 12] = [
    (
        "6252001",
        "United States",
        "COUNTRY",
        "US",
        "0",
        "United States",
    ),
    ("6251999", "Canada", "COUNTRY", "CA", "0", "Canada"),
    (
        "2635167",
        "United Kingdom",
        "COUNTRY",
        "GB",
        "0",
        "United Kingdom",
    ),
    ("3017382", "France", "COUNTRY", "FR", "0", "France"),
    ("2921044", "Germany", "COUNTRY", "DE", "0", "Germany"),
    (
        "4736286",
        "Texas",
        "PROVINCE",
        "US",
        "6252001",
        "Texas, United States",
    ),
    (
        "5332921",
        "California",
        "PROVINCE",
        "US",
        "6252001",
        "California, United States",
    ),
    (
        "3012874",
        "Île-de-France",
        "PROVINCE",
        "FR",
        "3017382",
        "Île-de-France, France",
    ),
    (
        "2988507",
        "Paris",
        "CITY",
        "FR",
        "3012874",
        "Paris, Île-de-France, France",
    ),
    (
        "4717560",
        "Paris",
        "CITY",
        "US",
        "4736286",
        "Paris, Texas, United States",
    ),
    (
        "4671654",
        "Austin",
        "CITY",
        "US",
        "4736286",
        "Austin, Texas, United States",
    ),
    (
        "5368361",
        "Los Angeles",
        "CITY",
        "US",
        "5332921",
        "Los Angeles, California, United States",
    ),
];

/// id, name, level, parent id ("0" at the top).
pub static INTEREST_CATEGORIES: [(&str, &str, u8, &str); 9] = [
    ("17000000000", "Sports & Outdoors", 1, "0"),
    ("17010000000", "Outdoor Activities", 2, "17000000000"),
    ("17020000000", "Running", 2, "17000000000"),
    ("25000000000", "Fitness & Yoga", 1, "0"),
    ("12000000000", "Food & Beverages", 1, "0"),
    ("20000000000", "Technology", 1, "0"),
    ("21000000000", "Travel", 1, "0"),
    ("13000000000", "Music", 1, "0"),
    ("19000000000", "Pets", 1, "0"),
];

/// A CUSTOMIZED_USER identity every sandbox advertiser has already: id, display name.
pub static READY_IDENTITIES: [(&str, &str); 1] = [("7301245110987654321", "Globex Apparel")];

const PLACEMENTS: [&str; 3] = [
    "PLACEMENT_TIKTOK",
    "PLACEMENT_PANGLE",
    "PLACEMENT_GLOBAL_APP_BUNDLE",
];
const AGE_GROUPS: [&str; 6] = [
    "AGE_13_17",
    "AGE_18_24",
    "AGE_25_34",
    "AGE_35_44",
    "AGE_45_54",
    "AGE_55_100",
];
const GENDERS: [&str; 3] = ["GENDER_UNLIMITED", "GENDER_MALE", "GENDER_FEMALE"];
pub const CALLS_TO_ACTION: [&str; 11] = [
    "LEARN_MORE",
    "SHOP_NOW",
    "SIGN_UP",
    "CONTACT_US",
    "APPLY_NOW",
    "BOOK_NOW",
    "DOWNLOAD_NOW",
    "ORDER_NOW",
    "GET_QUOTE",
    "SUBSCRIBE",
    "WATCH_NOW",
];
/// Total pixels an ad image may have (1440 × 2560).
const MAX_PIXELS: u64 = 3_686_400;
const MAX_AD_TEXT: usize = 100;
const MAX_DISPLAY_NAME: usize = 40;
/// Smallest daily ad-group budget in USD (historically 20; UNVERIFIED, other currencies
/// are not checked).
const MIN_USD_DAILY: i64 = 20;

fn ids(v: Option<&Value>) -> Option<Vec<String>> {
    v.and_then(Value::as_array).map(|a| {
        a.iter()
            .map(|x| {
                x.as_str()
                    .map(String::from)
                    .unwrap_or_else(|| x.to_string())
            })
            .collect()
    })
}

fn geo_json(g: &Geo) -> Value {
    let (id, name, level, region, parent, description) = *g;
    json!({"keyword": name, "targeting_type": "GEO", "name": name,
        "status_info": {"status": "ENABLED"},
        "geo": {"geo_id": id, "geo_type": level, "description": description,
                "region_code": region, "parent_id": parent}})
}

/// `/tool/targeting/search/`: FUZZY_SEARCH with exactly one keyword ("Paris, Texas": the first
/// part starts the name, each further part narrows by the description).
pub(super) fn targeting_search(p: &Params) -> Response {
    if p.str("objective_type").is_none() {
        return bad("objective_type: Missing data for required field.");
    }
    match p.str("search_type").as_deref() {
        Some("FUZZY_SEARCH") => {}
        Some(other) => {
            return bad(&format!(
                "search_type: {other} is not supported by the adpilot sandbox; use FUZZY_SEARCH."
            ));
        }
        None => return bad("search_type: Missing data for required field."),
    }
    let keywords = p.list("keywords").unwrap_or_default();
    let [keyword] = keywords.as_slice() else {
        return bad("keywords: FUZZY_SEARCH takes exactly one keyword.");
    };
    let types = p.list("geo_types");
    let q = keyword.trim().to_lowercase();
    let mut parts = q.split(',').map(str::trim).filter(|s| !s.is_empty());
    let head = parts.next().unwrap_or("").to_string();
    let rest: Vec<&str> = parts.collect();
    let mut hits: Vec<(u8, Value)> = GEOS
        .iter()
        .filter(|g| types.as_ref().is_none_or(|t| t.iter().any(|t| t == g.2)))
        .filter(|g| !head.is_empty() && g.1.to_lowercase().starts_with(&head))
        .filter(|g| {
            let d = g.5.to_lowercase();
            rest.iter()
                .all(|r| d.split(',').skip(1).any(|x| x.trim().starts_with(r)))
        })
        .map(|g| (u8::from(g.1.to_lowercase() != head), geo_json(g)))
        .collect();
    hits.sort_by_key(|(rank, _)| *rank);
    let list: Vec<Value> = hits.into_iter().map(|(_, v)| v).collect();
    reply(
        0,
        "OK",
        json!({"targeting_tag_list": list, "targeting_tag": []}),
    )
}

/// `/tool/region/`: every place the objective may target, as `region_info`.
pub(super) fn region(p: &Params) -> Response {
    if p.str("objective_type").is_none() {
        return bad("objective_type: Missing data for required field.");
    }
    let info: Vec<Value> = GEOS
        .iter()
        .map(|g| {
            let next: Vec<&str> = GEOS.iter().filter(|c| c.4 == g.0).map(|c| c.0).collect();
            json!({"location_id": g.0, "name": g.1, "parent_id": g.4, "region_code": g.3,
                "country_code": g.3, "next_level_ids": next, "area_type": "ADMIN",
                "level": g.2, "support_below_18": false})
        })
        .collect();
    let mut codes: Vec<&str> = GEOS
        .iter()
        .filter(|g| g.2 == "COUNTRY")
        .map(|g| g.3)
        .collect();
    codes.dedup();
    reply(0, "OK", json!({"region_list": codes, "region_info": info}))
}

/// `/tool/interest_category/` (the answer's shape is UNVERIFIED: bububa's model).
pub(super) fn interest_categories() -> Response {
    let list: Vec<Value> = INTEREST_CATEGORIES
        .iter()
        .map(|(id, name, level, _)| {
            let subs: Vec<&str> = INTEREST_CATEGORIES
                .iter()
                .filter(|c| c.3 == *id)
                .map(|c| c.0)
                .collect();
            json!({"id": id, "name": name, "level": level, "sub_category_ids": subs,
                "placements": ["PLACEMENT_TIKTOK", "PLACEMENT_PANGLE"]})
        })
        .collect();
    reply(0, "OK", json!({ "interest_categories": list }))
}

fn parse_tt_time(s: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

fn list_of(p: &Params, key: &str, allowed: impl Fn(&str) -> bool) -> Result<Vec<String>, Response> {
    let items = p.list(key).unwrap_or_default();
    match items.iter().find(|x| !allowed(x)) {
        Some(x) => Err(bad(&format!("{key}: Invalid value {x}."))),
        None => Ok(items),
    }
}

fn switch(p: &Params) -> Result<CampaignStatus, Response> {
    match p.str("operation_status").as_deref() {
        None | Some("ENABLE") => Ok(CampaignStatus::Enabled),
        Some("DISABLE") => Ok(CampaignStatus::Paused),
        Some(_) => Err(bad("operation_status: Must be one of ENABLE, DISABLE.")),
    }
}

/// The ad group's daily budget in micros; None for an unlimited one under campaign budget
/// optimisation.
fn adgroup_budget(
    p: &Params,
    acc: &Account,
    campaign_has_budget: bool,
) -> Result<Option<i64>, Response> {
    let mode = p
        .str("budget_mode")
        .ok_or_else(|| bad("budget_mode: Missing data for required field."))?;
    match mode.as_str() {
        "BUDGET_MODE_DAY" => {}
        "BUDGET_MODE_INFINITE" if campaign_has_budget => return Ok(None),
        "BUDGET_MODE_INFINITE" => {
            return Err(bad(
                "budget_mode: BUDGET_MODE_INFINITE is only allowed when the campaign has budget optimization on; set a daily budget.",
            ));
        }
        "BUDGET_MODE_TOTAL" | "BUDGET_MODE_DYNAMIC_DAILY_BUDGET" => {
            return Err(bad(&format!(
                "budget_mode: {mode} is not supported by the adpilot sandbox; use BUDGET_MODE_DAY."
            )));
        }
        _ => return Err(bad("budget_mode: Invalid value.")),
    }
    let v = p
        .raw("budget")
        .ok_or_else(|| bad("budget: Required when budget_mode is BUDGET_MODE_DAY."))?;
    let d: Decimal = decimal_from_json(&v).ok_or_else(|| bad("budget: Not a valid number."))?;
    if d <= Decimal::ZERO {
        return Err(bad("budget: Must be greater than 0."));
    }
    if acc.currency.as_str() == "USD" && d < Decimal::from(MIN_USD_DAILY) {
        return Err(bad(&format!(
            "budget: The daily budget of an ad group must be at least {MIN_USD_DAILY}.00 USD."
        )));
    }
    micros_from_major(d, acc.currency).map(Some).ok_or_else(|| {
        bad(&format!(
            "budget: {} allows {} decimal places.",
            acc.currency,
            acc.currency.minor_unit_exponent()
        ))
    })
}

/// Optimisation goals and their billing events for an objective (traffic only, here).
fn goal_ok(objective: &str, goal: &str, billing: &str) -> bool {
    match objective {
        "TRAFFIC" => matches!(
            (goal, billing),
            ("CLICK", "CPC") | ("TRAFFIC_LANDING_PAGE_VIEW", "OCPM") | ("REACH", "CPM")
        ),
        "WEB_CONVERSIONS" | "CONVERSIONS" => goal == "CONVERT" && billing == "OCPM",
        _ => false,
    }
}

struct Schedule {
    kind: String,
    start: String,
    end: Option<String>,
}

fn schedule(p: &Params, now: DateTime<Utc>) -> Result<Schedule, Response> {
    let kind = p
        .str("schedule_type")
        .ok_or_else(|| bad("schedule_type: Missing data for required field."))?;
    let start = p
        .str("schedule_start_time")
        .ok_or_else(|| bad("schedule_start_time: Missing data for required field."))?;
    let Some(start_t) = parse_tt_time(&start) else {
        return Err(bad(
            "schedule_start_time: Must be in the format YYYY-MM-DD HH:MM:SS (UTC+0).",
        ));
    };
    let end = match kind.as_str() {
        "SCHEDULE_FROM_NOW" => None,
        "SCHEDULE_START_END" => {
            let e = p.str("schedule_end_time").ok_or_else(|| {
                bad("schedule_end_time: Required when schedule_type is SCHEDULE_START_END.")
            })?;
            match parse_tt_time(&e) {
                Some(t) if t > start_t.max(now) => Some(e),
                Some(_) => {
                    return Err(bad(
                        "schedule_end_time: The end time must be later than the start time and the current time.",
                    ));
                }
                None => {
                    return Err(bad(
                        "schedule_end_time: Must be in the format YYYY-MM-DD HH:MM:SS (UTC+0).",
                    ));
                }
            }
        }
        _ => {
            return Err(bad(
                "schedule_type: Must be one of SCHEDULE_FROM_NOW, SCHEDULE_START_END.",
            ));
        }
    };
    Ok(Schedule { kind, start, end })
}

struct Targeting {
    placement_type: String,
    placements: Vec<String>,
    location_ids: Vec<String>,
    age_groups: Vec<String>,
    gender: String,
    interests: Vec<String>,
}

fn targeting(p: &Params) -> Result<Targeting, Response> {
    let placement_type = p
        .str("placement_type")
        .ok_or_else(|| bad("placement_type: Missing data for required field."))?;
    let placements = list_of(p, "placements", |x| PLACEMENTS.contains(&x))?;
    match placement_type.as_str() {
        "PLACEMENT_TYPE_AUTOMATIC" => {}
        "PLACEMENT_TYPE_NORMAL" if !placements.is_empty() => {}
        "PLACEMENT_TYPE_NORMAL" => {
            return Err(bad(
                "placements: Required when placement_type is PLACEMENT_TYPE_NORMAL.",
            ));
        }
        _ => {
            return Err(bad(
                "placement_type: Must be one of PLACEMENT_TYPE_AUTOMATIC, PLACEMENT_TYPE_NORMAL.",
            ));
        }
    }
    let location_ids = p.list("location_ids").unwrap_or_default();
    if location_ids.is_empty() {
        return Err(bad("location_ids: Missing data for required field."));
    }
    if let Some(x) = location_ids
        .iter()
        .find(|x| !GEOS.iter().any(|g| g.0 == *x))
    {
        return Err(bad(&format!("location_ids: Invalid location id {x}.")));
    }
    let age_groups = list_of(p, "age_groups", |x| AGE_GROUPS.contains(&x))?;
    let gender = p.str("gender").unwrap_or_else(|| "GENDER_UNLIMITED".into());
    if !GENDERS.contains(&gender.as_str()) {
        return Err(bad(
            "gender: Must be one of GENDER_UNLIMITED, GENDER_MALE, GENDER_FEMALE.",
        ));
    }
    let interests = p.list("interest_category_ids").unwrap_or_default();
    if let Some(x) = interests
        .iter()
        .find(|x| !INTEREST_CATEGORIES.iter().any(|c| c.0 == *x))
    {
        return Err(bad(&format!(
            "interest_category_ids: Invalid interest category id {x}."
        )));
    }
    Ok(Targeting {
        placement_type,
        placements,
        location_ids,
        age_groups,
        gender,
        interests,
    })
}

/// An ad group as asked for, checked.
struct NewAdGroup {
    campaign: Campaign,
    name: String,
    promotion: String,
    targeting: Targeting,
    budget: Option<i64>,
    sched: Schedule,
    goal: String,
    billing: String,
    bid_type: String,
    pacing: String,
    status: CampaignStatus,
}

/// `/adgroup/create/`: checked whole, then the ad group and its settings are stored.
pub(super) fn adgroup_create(
    s: &mut State,
    p: &Params,
    acc: &Account,
    now: DateTime<Utc>,
) -> Response {
    match check_adgroup(s, p, acc, now) {
        Ok(new) => add_adgroup(s, acc, new, now),
        Err(r) => r,
    }
}

/// Checks an ad group create in TikTok's order: parent and name, promotion, targeting,
/// budget, schedule, optimization, bidding, status.
fn check_adgroup(
    s: &State,
    p: &Params,
    acc: &Account,
    now: DateTime<Utc>,
) -> Result<NewAdGroup, Response> {
    let (campaign, name) = adgroup_parent(s, p, acc)?;
    let promotion = p.str("promotion_type").unwrap_or_default();
    if !matches!(promotion.as_str(), "WEBSITE" | "WEBSITE_OR_DISPLAY") {
        return Err(bad(&format!(
            "promotion_type: Must be WEBSITE for objective {}.",
            campaign.objective
        )));
    }
    let targeting = targeting(p)?;
    let campaign_has_budget = campaign.budget_id.is_some() && !campaign.budget_on_ad_groups;
    let budget = adgroup_budget(p, acc, campaign_has_budget)?;
    let sched = schedule(p, now)?;
    let (goal, billing) = adgroup_optimization(p, &campaign)?;
    let bid_type = p
        .str("bid_type")
        .unwrap_or_else(|| "BID_TYPE_NO_BID".into());
    if bid_type != "BID_TYPE_NO_BID" {
        return Err(bad(
            "bid_type: The adpilot sandbox creates BID_TYPE_NO_BID ad groups only.",
        ));
    }
    let pacing = p
        .str("pacing")
        .unwrap_or_else(|| "PACING_MODE_SMOOTH".into());
    let status = switch(p)?;
    Ok(NewAdGroup {
        campaign,
        name,
        promotion,
        targeting,
        budget,
        sched,
        goal,
        billing,
        bid_type,
        pacing,
        status,
    })
}

/// The ad group's campaign (live, in this account) and its name.
fn adgroup_parent(s: &State, p: &Params, acc: &Account) -> Result<(Campaign, String), Response> {
    let Some(campaign_id) = p.str("campaign_id") else {
        return Err(bad("campaign_id: Missing data for required field."));
    };
    let Some(campaign) = s
        .world
        .campaign(P, &campaign_id)
        .filter(|c| c.account_id == acc.id && c.status() != CampaignStatus::Removed)
        .cloned()
    else {
        return Err(bad(&format!(
            "campaign_id: Campaign {campaign_id} does not exist."
        )));
    };
    let Some(name) = p.str("adgroup_name").filter(|n| !n.trim().is_empty()) else {
        return Err(bad("adgroup_name: Missing data for required field."));
    };
    if name.chars().count() > 512 {
        return Err(bad("adgroup_name: Length must be between 1 and 512."));
    }
    Ok((campaign, name))
}

/// The optimization goal and billing event, a pair the campaign's objective allows.
fn adgroup_optimization(p: &Params, campaign: &Campaign) -> Result<(String, String), Response> {
    let (Some(goal), Some(billing)) = (p.str("optimization_goal"), p.str("billing_event")) else {
        return Err(bad("optimization_goal: Missing data for required field."));
    };
    if !goal_ok(&campaign.objective, &goal, &billing) {
        return Err(bad(&format!(
            "optimization_goal: {goal} with billing_event {billing} is not available for objective {}.",
            campaign.objective
        )));
    }
    Ok((goal, billing))
}

/// Stores a checked ad group (its budget joins the campaign's) and answers with it.
fn add_adgroup(s: &mut State, acc: &Account, new: NewAdGroup, now: DateTime<Utc>) -> Response {
    let campaign = &new.campaign;
    let id = s.world.new_id(P, IdKind::Campaign);
    if let Some(b) = new.budget {
        s.world.add_ad_group_budget(
            P,
            &acc.id,
            &campaign.id,
            format!("{} ad group budgets", campaign.name),
            b,
            now,
        );
    }
    s.world.ad_groups.push(AdGroup {
        platform: P,
        account_id: acc.id.clone(),
        campaign_id: campaign.id.clone(),
        id: id.clone(),
        name: new.name.clone(),
        created_at: now,
        status_history: vec![Change {
            at: now,
            value: new.status,
        }],
        weight: 100,
        daily_budget_micros: new.budget,
        bid: Bid {
            strategy: new.bid_type.clone(),
            amount_micros: None,
        },
        kind: new.goal.clone(),
    });
    let t = new.targeting;
    let extra = TiktokAdGroupExtra {
        adgroup_id: id.clone(),
        promotion_type: new.promotion,
        placement_type: t.placement_type,
        placements: t.placements,
        location_ids: t.location_ids,
        age_groups: t.age_groups,
        gender: t.gender,
        interest_category_ids: t.interests,
        budget_mode: if new.budget.is_some() {
            "BUDGET_MODE_DAY"
        } else {
            "BUDGET_MODE_INFINITE"
        }
        .into(),
        schedule_type: new.sched.kind,
        schedule_start_time: new.sched.start,
        schedule_end_time: new.sched.end,
        optimization_goal: new.goal,
        billing_event: new.billing,
        pacing: new.pacing,
    };
    s.world.created.tiktok_ad_groups.push(extra);
    s.dirty = true;
    let answer = match s.world.ad_group(P, &id) {
        Some(g) => super::levels::adgroup_json(
            acc,
            &new.campaign,
            g,
            s.world.created.tiktok_ad_groups.last(),
        ),
        None => json!({ "adgroup_id": id }),
    };
    reply(0, "OK", answer)
}

fn md5_hex(bytes: &[u8]) -> String {
    hex::encode(Md5::digest(bytes))
}

fn image_json(i: &TiktokImage) -> Value {
    json!({"image_id": i.image_id, "material_id": i.image_id.rsplit('/').next().unwrap_or(""),
        "width": i.width, "height": i.height, "format": "jpeg",
        "image_url": format!("https://p16-sandbox.invalid/{}", i.image_id),
        "signature": i.signature, "size": i.size, "file_name": i.file_name,
        "displayable": true, "is_carousel_usable": true})
}

/// `/file/image/ad/upload/` with `UPLOAD_BY_FILE`: a multipart body whose `image_file` is a
/// JPEG or PNG of at most 1440 × 2560 pixels, `image_signature` its MD5, and `file_name` new
/// in the advertiser.
pub(super) fn image_upload(s: &mut State, p: &Params, req: &ApiRequest, acc: &Account) -> Response {
    match p.str("upload_type").as_deref() {
        None | Some("UPLOAD_BY_FILE") => {}
        Some("UPLOAD_BY_URL") => {
            return bad(
                "image_url: The adpilot sandbox cannot download images; upload the file with UPLOAD_BY_FILE.",
            );
        }
        Some(_) => {
            return bad(
                "upload_type: Must be one of UPLOAD_BY_FILE, UPLOAD_BY_URL, UPLOAD_BY_FILE_ID.",
            );
        }
    }
    if !req.multipart {
        return bad("image_file: UPLOAD_BY_FILE needs a multipart/form-data body.");
    }
    let Some(file) = req.files.iter().find(|f| f.name == "image_file") else {
        return bad("image_file: Missing data for required field.");
    };
    let Some(signature) = p.str("image_signature") else {
        return bad("image_signature: Missing data for required field.");
    };
    let md5 = md5_hex(&file.bytes);
    if !signature.eq_ignore_ascii_case(&md5) {
        return bad(
            "image_signature: The signature does not match the file. Send the MD5 of the image.",
        );
    }
    let Some(info) = crate::platforms::meta_create::sniff(&file.bytes) else {
        return bad("image_file: The image format is not supported. Use JPG, JPEG or PNG.");
    };
    if u64::from(info.width) * u64::from(info.height) > MAX_PIXELS {
        return bad(&format!(
            "image_file: The image is {} × {} pixels; at most {MAX_PIXELS} pixels (1440 × 2560) are allowed.",
            info.width, info.height
        ));
    }
    let file_name = p.str("file_name").unwrap_or_else(|| file.file_name.clone());
    if file_name.is_empty() || file_name.chars().count() > 100 {
        return bad("file_name: Length must be between 1 and 100.");
    }
    let images = &mut s.world.created.tiktok_images;
    if images
        .iter()
        .any(|i| i.account_id == acc.id && i.file_name == file_name)
    {
        return bad(&format!(
            "file_name: The material name {file_name} already exists. Please use another name."
        ));
    }
    let image = TiktokImage {
        account_id: acc.id.clone(),
        image_id: format!(
            "ad-site-i18n-sg/{}{}",
            md5.get(..20).unwrap_or(""),
            images.len() + 1
        ),
        file_name,
        signature: md5,
        width: info.width,
        height: info.height,
        size: file.bytes.len(),
    };
    let answer = image_json(&image);
    images.push(image);
    s.dirty = true;
    reply(0, "OK", answer)
}

/// `/file/image/ad/search/`: the advertiser's images, filtered by `image_ids` or by
/// `file_names` (the name filter is UNVERIFIED on TikTok; clients match names themselves too).
pub(super) fn image_search(
    s: &State,
    p: &Params,
    acc: &Account,
    page: usize,
    size: usize,
) -> Response {
    let f = p.json("filtering").unwrap_or(Value::Null);
    let only_ids = ids(f.get("image_ids"));
    let only_names = ids(f.get("file_names"));
    let items: Vec<Value> = s
        .world
        .created
        .tiktok_images
        .iter()
        .filter(|i| i.account_id == acc.id)
        .filter(|i| only_ids.as_ref().is_none_or(|x| x.contains(&i.image_id)))
        .filter(|i| only_names.as_ref().is_none_or(|x| x.contains(&i.file_name)))
        .map(image_json)
        .collect();
    reply(0, "OK", page_of(items, page, size))
}

fn identity_exists(s: &State, acc: &Account, id: &str) -> bool {
    READY_IDENTITIES.iter().any(|(x, _)| *x == id)
        || s.world
            .created
            .tiktok_identities
            .iter()
            .any(|i| i.account_id == acc.id && i.identity_id == id)
}

/// `/identity/get/`: the advertiser's CUSTOMIZED_USER identities.
pub(super) fn identity_get(
    s: &State,
    p: &Params,
    acc: &Account,
    page: usize,
    size: usize,
) -> Response {
    match p.str("identity_type").as_deref() {
        None | Some("CUSTOMIZED_USER") => {}
        Some(_) => {
            return reply(
                0,
                "OK",
                json!({"identity_list": [], "page_info": {"page": page, "page_size": size, "total_number": 0, "total_page": 0}}),
            );
        }
    }
    let mut items: Vec<Value> = READY_IDENTITIES
        .iter()
        .map(|(id, name)| {
            json!({"identity_id": id, "identity_type": "CUSTOMIZED_USER", "display_name": name,
                "profile_image": "", "can_pull_video": false})
        })
        .collect();
    items.extend(
        s.world
            .created
            .tiktok_identities
            .iter()
            .filter(|i| i.account_id == acc.id)
            .map(|i| {
                json!({"identity_id": i.identity_id, "identity_type": "CUSTOMIZED_USER",
                    "display_name": i.display_name,
                    "profile_image": i.image_uri.clone().unwrap_or_default(),
                    "can_pull_video": false})
            }),
    );
    let mut paged = page_of(items, page, size);
    // TikTok names the list `identity_list` here.
    if let Some(list) = paged.get_mut("list").map(Value::take) {
        paged["identity_list"] = list;
        if let Some(m) = paged.as_object_mut() {
            m.remove("list");
        }
    }
    reply(0, "OK", paged)
}

/// `/identity/create/`: a display name of 1–40 characters and, when given, an avatar image
/// that is in the advertiser's library.
pub(super) fn identity_create(s: &mut State, p: &Params, acc: &Account) -> Response {
    let Some(name) = p.str("display_name").filter(|n| !n.trim().is_empty()) else {
        return bad("display_name: Missing data for required field.");
    };
    if name.chars().count() > MAX_DISPLAY_NAME {
        return bad(&format!(
            "display_name: Length must be between 1 and {MAX_DISPLAY_NAME}."
        ));
    }
    let image_uri = p.str("image_uri");
    if let Some(uri) = &image_uri
        && !s
            .world
            .created
            .tiktok_images
            .iter()
            .any(|i| i.account_id == acc.id && i.image_id == *uri)
    {
        return bad(&format!("image_uri: Image {uri} does not exist."));
    }
    let id = s.world.new_id(P, IdKind::Campaign);
    s.world.created.tiktok_identities.push(TiktokIdentity {
        account_id: acc.id.clone(),
        identity_id: id.clone(),
        display_name: name,
        image_uri,
    });
    s.dirty = true;
    reply(0, "OK", json!({ "identity_id": id }))
}

/// TikTok's count: CJK characters count twice.
fn text_len(t: &str) -> usize {
    t.chars().map(|c| if is_cjk(c) { 2 } else { 1 }).sum()
}

fn is_cjk(c: char) -> bool {
    matches!(u32::from(c), 0x1100..=0x11FF | 0x2E80..=0xA4CF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF)
}

fn is_emoji(c: char) -> bool {
    matches!(u32::from(c), 0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0xFE0F)
}

/// One creative of `/ad/create/`, checked.
fn check_creative(
    s: &State,
    acc: &Account,
    placements: &[String],
    c: &Value,
) -> Result<TiktokAdExtra, Response> {
    let text = |k: &str| c.get(k).and_then(Value::as_str).map(str::to_string);
    let identity_type = text("identity_type")
        .ok_or_else(|| bad("creatives[0].identity_type: Missing data for required field."))?;
    if identity_type != "CUSTOMIZED_USER" {
        return Err(bad(&format!(
            "identity_type: {identity_type} is not supported by the adpilot sandbox; use CUSTOMIZED_USER."
        )));
    }
    let identity_id = text("identity_id")
        .ok_or_else(|| bad("creatives[0].identity_id: Missing data for required field."))?;
    if !identity_exists(s, acc, &identity_id) {
        return Err(bad(&format!(
            "identity_id: Identity {identity_id} does not exist."
        )));
    }
    let format = text("ad_format")
        .ok_or_else(|| bad("creatives[0].ad_format: Missing data for required field."))?;
    let image_ids = ids(c.get("image_ids")).unwrap_or_default();
    match format.as_str() {
        "SINGLE_IMAGE" if image_ids.len() != 1 => {
            return Err(bad("image_ids: SINGLE_IMAGE ads take exactly one image."));
        }
        "SINGLE_IMAGE" if placements.iter().any(|p| p == "PLACEMENT_TIKTOK") => {
            return Err(bad(
                "ad_format: SINGLE_IMAGE is not available on placement PLACEMENT_TIKTOK; use a video, or place the ad group on Pangle.",
            ));
        }
        "SINGLE_IMAGE" => {}
        "SINGLE_VIDEO" => {
            return Err(bad("video_id: Video does not exist."));
        }
        _ => {
            return Err(bad(
                "ad_format: Must be one of SINGLE_IMAGE, SINGLE_VIDEO, CAROUSEL_ADS.",
            ));
        }
    }
    for i in &image_ids {
        if !s
            .world
            .created
            .tiktok_images
            .iter()
            .any(|x| x.account_id == acc.id && x.image_id == *i)
        {
            return Err(bad(&format!("image_ids: Image {i} does not exist.")));
        }
    }
    let ad_text = text("ad_text").unwrap_or_default();
    if ad_text.trim().is_empty() {
        return Err(bad("ad_text: Missing data for required field."));
    }
    if text_len(&ad_text) > MAX_AD_TEXT {
        return Err(bad(&format!(
            "ad_text: The ad text must be 1 to {MAX_AD_TEXT} characters (Chinese, Japanese and Korean characters count as 2)."
        )));
    }
    if ad_text.chars().any(is_emoji) {
        return Err(bad("ad_text: Emoji are not allowed in the ad text."));
    }
    let cta = text("call_to_action")
        .ok_or_else(|| bad("call_to_action: Missing data for required field."))?;
    if !CALLS_TO_ACTION.contains(&cta.as_str()) {
        return Err(bad(&format!("call_to_action: Invalid value {cta}.")));
    }
    let url = text("landing_page_url").unwrap_or_default();
    let ok_url = url::Url::parse(&url)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if !ok_url {
        return Err(bad(
            "landing_page_url: Please enter a valid URL starting with http:// or https://.",
        ));
    }
    if text("ad_name").is_some_and(|n| n.chars().count() > 512) {
        return Err(bad("ad_name: Length must be between 0 and 512."));
    }
    Ok(TiktokAdExtra {
        ad_id: String::new(),
        ad_format: format,
        ad_text,
        call_to_action: cta,
        landing_page_url: url,
        identity_type,
        identity_id,
        image_ids,
    })
}

/// `/ad/create/`: 1–20 creatives under one ad group, all checked before any is made.
pub(super) fn ad_create(s: &mut State, p: &Params, acc: &Account, now: DateTime<Utc>) -> Response {
    let Some(group_id) = p.str("adgroup_id") else {
        return bad("adgroup_id: Missing data for required field.");
    };
    let Some(group) = s
        .world
        .ad_group(P, &group_id)
        .filter(|g| g.account_id == acc.id && g.status() != CampaignStatus::Removed)
        .cloned()
    else {
        return bad(&format!("adgroup_id: Ad group {group_id} does not exist."));
    };
    let creatives = p
        .json("creatives")
        .and_then(|c| c.as_array().cloned())
        .unwrap_or_default();
    if creatives.is_empty() || creatives.len() > 20 {
        return bad("creatives: Length must be between 1 and 20.");
    }
    let placements = s
        .world
        .created
        .tiktok_ad_groups
        .iter()
        .find(|x| x.adgroup_id == group.id)
        .map(|x| x.placements.clone())
        .unwrap_or_else(|| vec!["PLACEMENT_TIKTOK".into()]);
    let mut checked = Vec::new();
    for c in &creatives {
        match check_creative(s, acc, &placements, c) {
            Ok(x) => checked.push((
                c.get("ad_name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                x,
            )),
            Err(r) => return r,
        }
    }
    let status = match switch(p) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut made = Vec::new();
    for (name, mut extra) in checked {
        let id = s.world.new_id(P, IdKind::Campaign);
        let name = if name.is_empty() {
            format!("{}_{}", group.name, tt_time(now))
        } else {
            name
        };
        s.world.ads.push(Ad {
            platform: P,
            account_id: acc.id.clone(),
            campaign_id: group.campaign_id.clone(),
            ad_group_id: group.id.clone(),
            id: id.clone(),
            name: name.clone(),
            created_at: now,
            status_history: vec![Change {
                at: now,
                value: status,
            }],
            weight: 100,
            ad_type: extra.ad_format.clone(),
            headlines: Vec::new(),
            descriptions: Vec::new(),
            primary_text: Some(extra.ad_text.clone()),
            final_url: extra.landing_page_url.clone(),
            approval: "AD_STATUS_AUDIT".into(),
        });
        extra.ad_id = id.clone();
        made.push(
            json!({"ad_id": id, "ad_name": name, "ad_text": extra.ad_text,
            "identity_id": extra.identity_id, "image_ids": extra.image_ids}),
        );
        s.world.created.tiktok_ads.push(extra);
    }
    s.dirty = true;
    let ad_ids: Vec<Value> = made.iter().map(|m| m["ad_id"].clone()).collect();
    reply(0, "OK", json!({"ad_ids": ad_ids, "creatives": made}))
}
