//! Ad groups and ads: `GET /adgroup/get/`, `GET /ad/get/`, and the integrated report at
//! `data_level=AUCTION_ADGROUP|AUCTION_AD`.
//!
//! As on TikTok, reports leave out deleted ad groups and ads unless the `filtering` asks for
//! `adgroup_status`/`ad_status` `STATUS_ALL`, and the attribute "metrics" (`campaign_id`,
//! `adgroup_id`) come back as bare JSON numbers while the dimensions carry ids as strings.

use std::collections::BTreeMap;

use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::{Params, REPORT_METRICS, bad, metric_value, only_fields, page_of, reply, tt_time};
use crate::sandbox::create_store::{TiktokAdExtra, TiktokAdGroupExtra};
use crate::sandbox::hierarchy::{Ad, AdGroup, ad_days, ad_group_days, has_ad_groups};
use crate::sandbox::metrics::{DayMetrics, campaign_days};
use crate::sandbox::server::State;
use crate::sandbox::wire::decimal_number;
use crate::sandbox::world::{Account, Campaign, CampaignStatus};
use crate::types::{Money, Platform};

fn ids_in(v: Option<&Value>) -> Option<Vec<String>> {
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

fn switch(st: CampaignStatus) -> &'static str {
    match st {
        CampaignStatus::Enabled => "ENABLE",
        CampaignStatus::Paused => "DISABLE",
        CampaignStatus::Removed => "DELETE",
    }
}

/// Deleting a campaign deletes its ad groups and ads on TikTok, whatever their own switch.
fn deleted(c: &Campaign, g: &AdGroup, a: Option<&Ad>) -> bool {
    c.status() == CampaignStatus::Removed
        || g.status() == CampaignStatus::Removed
        || a.is_some_and(|a| a.status() == CampaignStatus::Removed)
}

fn adgroup_secondary(c: &Campaign, g: &AdGroup) -> &'static str {
    match (g.status(), c.status()) {
        (CampaignStatus::Removed, _) | (_, CampaignStatus::Removed) => "ADGROUP_STATUS_DELETE",
        (CampaignStatus::Paused, _) => "ADGROUP_STATUS_DISABLE",
        (CampaignStatus::Enabled, CampaignStatus::Enabled) => "ADGROUP_STATUS_DELIVERY_OK",
        (CampaignStatus::Enabled, _) => "ADGROUP_STATUS_CAMPAIGN_DISABLE",
    }
}

fn ad_secondary(c: &Campaign, g: &AdGroup, a: &Ad) -> &'static str {
    match (a.status(), g.status(), c.status()) {
        (CampaignStatus::Removed, _, _)
        | (_, CampaignStatus::Removed, _)
        | (_, _, CampaignStatus::Removed) => "AD_STATUS_DELETE",
        (CampaignStatus::Paused, _, _) => "AD_STATUS_DISABLE",
        (_, CampaignStatus::Enabled, CampaignStatus::Enabled) => "AD_STATUS_DELIVERY_OK",
        (_, CampaignStatus::Enabled, _) => "AD_STATUS_CAMPAIGN_DISABLE",
        _ => "AD_STATUS_ADGROUP_DISABLE",
    }
}

fn major(micros: i64, acc: &Account) -> Value {
    decimal_number(Money::new(micros, acc.currency).to_major())
}

/// An ad group as TikTok lists it; one made by `/adgroup/create/` shows the settings it was
/// made with.
pub(super) fn adgroup_json(
    acc: &Account,
    c: &Campaign,
    g: &AdGroup,
    made: Option<&TiktokAdGroupExtra>,
) -> Value {
    let (mode, budget) = match g.daily_budget_micros {
        Some(b) => ("BUDGET_MODE_DAY", major(b, acc)),
        // Budget optimisation on the campaign: TikTok reports the ad group as unlimited.
        None => ("BUDGET_MODE_INFINITE", json!(0.0)),
    };
    let bid = g.bid.amount_micros.map(|b| major(b, acc));
    let mut v = json!({
        "advertiser_id": acc.id,
        "campaign_id": c.id,
        "adgroup_id": g.id,
        "adgroup_name": g.name,
        "operation_status": switch(g.status()),
        "secondary_status": adgroup_secondary(c, g),
        "budget_mode": mode,
        "budget": budget,
        "bid_type": g.bid.strategy,
        "bid_price": 0.0,
        "conversion_bid_price": bid.unwrap_or(json!(0.0)),
        "optimization_goal": g.kind,
        "billing_event": "OCPM",
        "placement_type": "PLACEMENT_TYPE_NORMAL",
        "placements": ["PLACEMENT_TIKTOK"],
        "location_ids": ["6252001"],
        "schedule_type": "SCHEDULE_FROM_NOW",
        "schedule_start_time": tt_time(g.created_at),
        "pacing": "PACING_MODE_SMOOTH",
        "create_time": tt_time(g.created_at),
        "modify_time": tt_time(g.status_history.last().map(|h| h.at).unwrap_or(g.created_at)),
    });
    if let Some(m) = made {
        v["promotion_type"] = json!(m.promotion_type);
        v["placement_type"] = json!(m.placement_type);
        v["placements"] = json!(m.placements);
        v["location_ids"] = json!(m.location_ids);
        v["age_groups"] = json!(m.age_groups);
        v["gender"] = json!(m.gender);
        v["interest_category_ids"] = json!(m.interest_category_ids);
        v["budget_mode"] = json!(m.budget_mode);
        v["schedule_type"] = json!(m.schedule_type);
        v["schedule_start_time"] = json!(m.schedule_start_time);
        v["schedule_end_time"] = json!(m.schedule_end_time);
        v["optimization_goal"] = json!(m.optimization_goal);
        v["billing_event"] = json!(m.billing_event);
        v["pacing"] = json!(m.pacing);
    }
    v
}

fn ad_json(
    acc: &Account,
    c: &Campaign,
    g: &AdGroup,
    a: &Ad,
    made: Option<&TiktokAdExtra>,
) -> Value {
    let mut v = json!({
        "advertiser_id": acc.id,
        "campaign_id": c.id,
        "adgroup_id": g.id,
        "ad_id": a.id,
        "ad_name": a.name,
        "operation_status": switch(a.status()),
        "secondary_status": ad_secondary(c, g, a),
        "ad_format": a.ad_type,
        "ad_text": a.primary_text.clone().unwrap_or_default(),
        "call_to_action": "SHOP_NOW",
        "landing_page_url": a.final_url,
        "video_id": format!("v10033g50000{}", &a.id[a.id.len().saturating_sub(8)..]),
        "image_ids": [],
        "identity_type": "CUSTOMIZED_USER",
        "display_name": "Globex Apparel",
        "create_time": tt_time(a.created_at),
        "modify_time": tt_time(a.status_history.last().map(|h| h.at).unwrap_or(a.created_at)),
    });
    if let Some(m) = made {
        v["ad_format"] = json!(m.ad_format);
        v["call_to_action"] = json!(m.call_to_action);
        v["image_ids"] = json!(m.image_ids);
        v["identity_id"] = json!(m.identity_id);
        v["identity_type"] = json!(m.identity_type);
        if let Some(o) = v.as_object_mut() {
            o.remove("video_id");
            o.remove("display_name");
        }
    }
    v
}

struct Filter {
    campaigns: Option<Vec<String>>,
    adgroups: Option<Vec<String>>,
    with_deleted: bool,
}

fn filter(p: &Params) -> Filter {
    let f = p.json("filtering").unwrap_or(Value::Null);
    Filter {
        campaigns: ids_in(f.get("campaign_ids")),
        adgroups: ids_in(f.get("adgroup_ids")),
        with_deleted: f.get("primary_status").and_then(Value::as_str) == Some("STATUS_ALL"),
    }
}

fn campaigns_of<'a>(s: &'a State, acc: &Account, only: Option<&Vec<String>>) -> Vec<&'a Campaign> {
    let mut cs: Vec<&Campaign> = s
        .world
        .campaigns
        .iter()
        .filter(|c| c.platform == Platform::Tiktok && c.account_id == acc.id)
        .filter(|c| has_ad_groups(c))
        .filter(|c| only.is_none_or(|ids| ids.contains(&c.id)))
        .collect();
    cs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
    cs
}

pub(super) fn adgroups(s: &State, p: &Params, acc: &Account, page: usize, size: usize) -> Response {
    let f = filter(p);
    let fields = p.list("fields");
    let mut items = Vec::new();
    for c in campaigns_of(s, acc, f.campaigns.as_ref()) {
        for g in s.world.ad_groups_of(Platform::Tiktok, &c.id) {
            if f.adgroups.as_ref().is_some_and(|ids| !ids.contains(&g.id))
                || (!f.with_deleted && deleted(c, g, None))
            {
                continue;
            }
            let made = s
                .world
                .created
                .tiktok_ad_groups
                .iter()
                .find(|x| x.adgroup_id == g.id);
            items.push(only_fields(
                adgroup_json(acc, c, g, made),
                fields.as_deref(),
            ));
        }
    }
    reply(0, "OK", page_of(items, page, size))
}

pub(super) fn ads(s: &State, p: &Params, acc: &Account, page: usize, size: usize) -> Response {
    let f = filter(p);
    let fields = p.list("fields");
    let mut items = Vec::new();
    for c in campaigns_of(s, acc, f.campaigns.as_ref()) {
        for g in s.world.ad_groups_of(Platform::Tiktok, &c.id) {
            if f.adgroups.as_ref().is_some_and(|ids| !ids.contains(&g.id)) {
                continue;
            }
            for a in s.world.ads_of(Platform::Tiktok, &g.id) {
                if deleted(c, g, Some(a)) && !f.with_deleted {
                    continue;
                }
                let made = s.world.created.tiktok_ads.iter().find(|x| x.ad_id == a.id);
                items.push(only_fields(ad_json(acc, c, g, a, made), fields.as_deref()));
            }
        }
    }
    reply(0, "OK", page_of(items, page, size))
}

/// Attribute "metrics" a level report may ask for besides the figures.
const ATTRIBUTES: [&str; 5] = [
    "campaign_id",
    "adgroup_id",
    "adgroup_name",
    "ad_name",
    "ad_text",
];

/// The dates and page a level report covers.
pub(super) struct ReportWindow {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub page: usize,
    pub size: usize,
}

/// The filters a level report honours: which campaigns, and whether deleted objects count.
struct LevelFilters {
    only_campaigns: Option<Vec<String>>,
    with_deleted: bool,
}

/// One level report row: the object and its parents with the (summed) figures.
type LevelRow<'a> = (&'a Campaign, &'a AdGroup, Option<&'a Ad>, DayMetrics);
type LevelKey = (Option<NaiveDate>, String);

/// The report at ad-group or ad level; `level` is `AUCTION_ADGROUP` or `AUCTION_AD`.
pub(super) fn report(
    s: &State,
    p: &Params,
    acc: &Account,
    level: &str,
    window: ReportWindow,
    now: DateTime<Utc>,
) -> Response {
    let ads_level = level == "AUCTION_AD";
    let id_dim = if ads_level { "ad_id" } else { "adgroup_id" };
    let by_day = match level_dimensions(p, level, id_dim) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let metrics = p
        .list("metrics")
        .unwrap_or_else(|| vec!["spend".into(), "impressions".into()]);
    if let Some(m) = metrics
        .iter()
        .find(|m| !REPORT_METRICS.contains(&m.as_str()) && !ATTRIBUTES.contains(&m.as_str()))
    {
        return bad(&format!("metrics: Invalid metric {m}."));
    }
    let filters = level_filters(p);
    let mut rows: BTreeMap<LevelKey, LevelRow<'_>> = BTreeMap::new();
    for c in campaigns_of(s, acc, filters.only_campaigns.as_ref()) {
        let days = campaign_days(&s.world, acc, c, window.start, window.end, now);
        let groups = ad_group_days(&s.world, acc, c, &days, now);
        let found: Vec<(&AdGroup, Option<&Ad>, DayMetrics)> = if ads_level {
            ad_days(&s.world, acc, &groups, now)
                .into_iter()
                .map(|(g, a, m)| (g, Some(a), m))
                .collect()
        } else {
            groups.into_iter().map(|(g, m)| (g, None, m)).collect()
        };
        for (g, a, m) in found {
            if deleted(c, g, a) && !filters.with_deleted {
                continue;
            }
            let id = a.map(|a| a.id.clone()).unwrap_or_else(|| g.id.clone());
            rows.entry((by_day.then_some(m.date), id))
                .and_modify(|(_, _, _, t)| t.add(&m))
                .or_insert((c, g, a, m));
        }
    }
    let items: Vec<Value> = rows
        .iter()
        .map(|(key, row)| level_item(acc, id_dim, &metrics, key, row))
        .collect();
    reply(0, "OK", page_of(items, window.page, window.size))
}

/// Checks the dimensions: the level's id, optionally the day. Returns whether rows are per day.
fn level_dimensions(p: &Params, level: &str, id_dim: &str) -> Result<bool, Response> {
    let Some(dims) = p.list("dimensions").filter(|d| !d.is_empty()) else {
        return Err(bad("dimensions: Missing data for required field."));
    };
    if let Some(d) = dims
        .iter()
        .find(|d| d.as_str() != id_dim && d.as_str() != "stat_time_day")
    {
        return Err(bad(&format!(
            "dimensions: Invalid dimension {d} for {level}."
        )));
    }
    if !dims.iter().any(|d| d == id_dim) {
        return Err(bad(&format!(
            "dimensions: {id_dim} goes with data_level {level}."
        )));
    }
    Ok(dims.iter().any(|d| d == "stat_time_day"))
}

fn level_filters(p: &Params) -> LevelFilters {
    let mut out = LevelFilters {
        only_campaigns: None,
        with_deleted: false,
    };
    if let Some(Value::Array(fs)) = p.json("filtering") {
        for flt in fs {
            let name = flt.get("field_name").and_then(Value::as_str).unwrap_or("");
            let values = match flt.get("filter_value") {
                Some(Value::String(s)) => crate::sandbox::wire::list_param(s),
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect(),
                _ => Vec::new(),
            };
            match name {
                "campaign_ids" => out.only_campaigns = Some(values),
                "adgroup_status" | "ad_status" => {
                    out.with_deleted |= values.iter().any(|v| v == "STATUS_ALL");
                }
                _ => {}
            }
        }
    }
    out
}

fn level_item(
    acc: &Account,
    id_dim: &str,
    metrics: &[String],
    (d, id): &LevelKey,
    (c, g, a, m): &LevelRow<'_>,
) -> Value {
    let number = |id: &str| {
        id.parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| json!(id))
    };
    let mut dims = Map::new();
    dims.insert(id_dim.into(), json!(id));
    if let Some(d) = d {
        dims.insert("stat_time_day".into(), json!(format!("{d} 00:00:00")));
    }
    let mut ms = Map::new();
    for k in metrics {
        let v = match k.as_str() {
            "campaign_id" => number(&c.id),
            "adgroup_id" => number(&g.id),
            "adgroup_name" => json!(g.name),
            "ad_name" => a.map(|a| json!(a.name)).unwrap_or(Value::Null),
            "ad_text" => a
                .and_then(|a| a.primary_text.clone())
                .map(Value::String)
                .unwrap_or(Value::Null),
            other => metric_value(other, m, acc, &c.name),
        };
        ms.insert(k.clone(), v);
    }
    json!({"dimensions": dims, "metrics": ms})
}
