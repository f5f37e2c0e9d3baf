//! Ad sets and ads: `GET /act_{id}/adsets`, `GET /act_{id}/ads` (with nested field
//! selection such as `creative{id,object_story_spec}`), and insights at `level=adset|ad`.

use std::collections::BTreeMap;

use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};

use super::{
    InsightsOf, State, insight_row, invalid, list_param, meta_time, nonexisting_field, paged,
};
use crate::platforms::meta_offset;
use crate::sandbox::hierarchy::{Ad, AdGroup, ad_days, ad_group_days, has_ad_groups};
use crate::sandbox::metrics::{DayMetrics, campaign_days};
use crate::sandbox::server::App;
use crate::sandbox::wire::ApiRequest;
use crate::sandbox::world::{Account, Campaign, CampaignStatus};
use crate::types::Platform;

/// Splits a `fields` parameter at top-level commas: `id,creative{id,name}` gives
/// `[("id", None), ("creative", Some(["id", "name"]))]`.
pub(super) fn field_list(spec: &str) -> Vec<(String, Option<Vec<String>>)> {
    let mut out = Vec::new();
    let mut depth = 0_i32;
    let mut cur = String::new();
    let mut push = |cur: &mut String| {
        let t = cur.trim();
        if !t.is_empty() {
            match t.split_once('{') {
                Some((name, rest)) => {
                    let inner = rest.strip_suffix('}').unwrap_or(rest);
                    out.push((
                        name.trim().to_string(),
                        Some(
                            field_list(inner)
                                .into_iter()
                                .map(|(n, _)| n)
                                .collect::<Vec<_>>(),
                        ),
                    ));
                }
                None => out.push((t.to_string(), None)),
            }
        }
        cur.clear();
    };
    for ch in spec.chars() {
        match ch {
            '{' => {
                depth += 1;
                cur.push(ch);
            }
            '}' => {
                depth -= 1;
                cur.push(ch);
            }
            ',' if depth == 0 => push(&mut cur),
            _ => cur.push(ch),
        }
    }
    push(&mut cur);
    out
}

/// Fields Meta leaves out of ad sets and ads when they have no value.
fn optional(f: &str) -> bool {
    matches!(
        f,
        "daily_budget" | "lifetime_budget" | "budget_remaining" | "bid_amount" | "end_time"
    )
}

pub(super) fn pick(req: &ApiRequest, full: &Value) -> Result<Value, String> {
    let spec = req.param("fields").unwrap_or("id");
    let mut out = Map::new();
    for (f, sub) in field_list(spec) {
        match (full.get(&f), sub) {
            (Some(Value::Object(o)), Some(sub)) => {
                let mut inner = Map::new();
                if let Some(id) = o.get("id") {
                    inner.insert("id".into(), id.clone());
                }
                for s in sub {
                    if let Some(v) = o.get(&s) {
                        inner.insert(s, v.clone());
                    }
                }
                out.insert(f, Value::Object(inner));
            }
            (Some(v), _) => {
                out.insert(f, v.clone());
            }
            (None, _) if optional(&f) => {}
            (None, _) => return Err(f),
        }
    }
    if let Some(id) = full.get("id") {
        out.insert("id".into(), id.clone());
    }
    Ok(Value::Object(out))
}

fn campaign_word(c: &Campaign) -> Option<&'static str> {
    match c.status() {
        CampaignStatus::Enabled => None,
        CampaignStatus::Paused => Some("CAMPAIGN_PAUSED"),
        CampaignStatus::Removed => Some("DELETED"),
    }
}

/// Ad set `effective_status`: its own switch first, then what its campaign allows.
fn adset_effective(c: &Campaign, g: &AdGroup) -> &'static str {
    match g.status() {
        CampaignStatus::Enabled => campaign_word(c).unwrap_or("ACTIVE"),
        other => other.wire(Platform::Meta),
    }
}

fn ad_effective(c: &Campaign, g: &AdGroup, a: &Ad) -> &'static str {
    match a.status() {
        CampaignStatus::Enabled => match (g.status(), campaign_word(c)) {
            (CampaignStatus::Enabled, None) if a.approval == "DISAPPROVED" => "DISAPPROVED",
            (CampaignStatus::Enabled, None) => "ACTIVE",
            (CampaignStatus::Enabled, Some(w)) => w,
            (CampaignStatus::Paused, _) => "ADSET_PAUSED",
            (CampaignStatus::Removed, _) => "DELETED",
        },
        other => other.wire(Platform::Meta),
    }
}

pub(super) fn adset_json(acc: &Account, c: &Campaign, g: &AdGroup) -> Value {
    let status = g.status().wire(Platform::Meta);
    // Meta's unit for the currency (see `meta_offset`), as for campaign budgets.
    let minor = meta_offset::micros_per_unit(acc.currency);
    let mut v = json!({
        "id": g.id,
        "name": g.name,
        "account_id": acc.id,
        "campaign_id": c.id,
        "status": status,
        "configured_status": status,
        "effective_status": adset_effective(c, g),
        "bid_strategy": g.bid.strategy,
        "billing_event": "IMPRESSIONS",
        "optimization_goal": g.kind,
        "promoted_object": {"pixel_id": "1234567890", "custom_event_type": "PURCHASE"},
        "targeting": {
            "age_min": 18, "age_max": 65,
            "geo_locations": {"countries": [acc.currency.as_str().get(..2).unwrap_or("US")], "location_types": ["home", "recent"]},
            "targeting_automation": {"advantage_audience": 0},
        },
        "created_time": meta_time(g.created_at),
        "start_time": meta_time(g.created_at),
        "updated_time": meta_time(g.status_history.last().map(|h| h.at).unwrap_or(g.created_at)),
    });
    if let Some(b) = g.daily_budget_micros {
        v["daily_budget"] = json!((b / minor).to_string());
        v["lifetime_budget"] = json!("0");
        v["budget_remaining"] = json!((b / minor).to_string());
    }
    if let Some(bid) = g.bid.amount_micros {
        v["bid_amount"] = json!(bid / minor);
    }
    v
}

pub(super) fn ad_json(acc: &Account, c: &Campaign, g: &AdGroup, a: &Ad) -> Value {
    let status = a.status().wire(Platform::Meta);
    let mut link = json!({"link": a.final_url, "call_to_action": {"type": "SHOP_NOW"}});
    if let Some(m) = &a.primary_text {
        link["message"] = json!(m);
    }
    if let Some(h) = a.headlines.first() {
        link["name"] = json!(h);
    }
    if let Some(d) = a.descriptions.first() {
        link["description"] = json!(d);
    }
    json!({
        "id": a.id,
        "name": a.name,
        "account_id": acc.id,
        "adset_id": g.id,
        "campaign_id": c.id,
        "status": status,
        "configured_status": status,
        "effective_status": ad_effective(c, g, a),
        "creative": {
            "id": format!("{}7", &a.id[..a.id.len().saturating_sub(1)]),
            "name": format!("{} creative", a.name),
            "object_story_spec": {"page_id": "112704783733939", "link_data": link},
        },
        "created_time": meta_time(a.created_at),
        "updated_time": meta_time(a.status_history.last().map(|h| h.at).unwrap_or(a.created_at)),
    })
}

/// The ids a `filtering` parameter restricts `field` (e.g. `campaign.id`) to.
fn filter_ids(req: &ApiRequest, field: &str) -> Option<Vec<String>> {
    let v: Value = serde_json::from_str(req.param("filtering")?).ok()?;
    v.as_array()?.iter().find_map(|flt| {
        (flt.get("field")?.as_str()? == field).then(|| match flt.get("value") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| {
                    x.as_str()
                        .map(String::from)
                        .unwrap_or_else(|| x.to_string())
                })
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        })
    })
}

/// Whether an object with this effective status is listed: the `effective_status` parameter
/// when given, else everything but deleted and archived objects, as Meta does.
fn listed(req: &ApiRequest, effective: &str) -> bool {
    match req
        .param("effective_status")
        .map(list_param)
        .filter(|l| !l.is_empty())
    {
        Some(w) => w.iter().any(|x| x == effective),
        None => effective != "DELETED" && effective != "ARCHIVED",
    }
}

fn campaigns_in<'a>(s: &'a State, req: &ApiRequest, acc: &Account) -> Vec<&'a Campaign> {
    let only = filter_ids(req, "campaign.id");
    let mut cs: Vec<&Campaign> = s
        .world
        .campaigns
        .iter()
        .filter(|c| c.platform == Platform::Meta && c.account_id == acc.id)
        .filter(|c| has_ad_groups(c))
        .filter(|c| only.as_ref().is_none_or(|ids| ids.contains(&c.id)))
        .collect();
    cs.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
    cs
}

pub(super) fn list_adsets(app: &App, s: &State, req: &ApiRequest, acc: &Account) -> Response {
    let only = filter_ids(req, "adset.id");
    let mut items = Vec::new();
    for c in campaigns_in(s, req, acc) {
        for g in s.world.ad_groups_of(Platform::Meta, &c.id) {
            if only.as_ref().is_some_and(|ids| !ids.contains(&g.id))
                || !listed(req, adset_effective(c, g))
            {
                continue;
            }
            match pick(req, &with_created(s, adset_json(acc, c, g), &g.id)) {
                Ok(v) => items.push(v),
                Err(f) => return nonexisting_field(&f),
            }
        }
    }
    paged(app, req, items)
}

/// An ad set made by a create answers with what the create set (its targeting, billing
/// event and schedule, and no conversion pixel), not the seeded defaults.
fn with_created(s: &State, mut v: Value, id: &str) -> Value {
    if let Some(x) = s
        .world
        .created
        .meta_ad_sets
        .iter()
        .find(|x| x.ad_set_id == id)
    {
        v["targeting"] = x.targeting.clone();
        v["billing_event"] = json!(x.billing_event);
        if let Some(o) = v.as_object_mut() {
            o.remove("promoted_object");
            if let Some(t) = &x.start_time {
                o.insert("start_time".into(), json!(t));
            }
            if let Some(t) = &x.end_time {
                o.insert("end_time".into(), json!(t));
            }
        }
    }
    v
}

pub(super) fn list_ads(app: &App, s: &State, req: &ApiRequest, acc: &Account) -> Response {
    let only_sets = filter_ids(req, "adset.id");
    let mut items = Vec::new();
    for c in campaigns_in(s, req, acc) {
        for g in s.world.ad_groups_of(Platform::Meta, &c.id) {
            if only_sets.as_ref().is_some_and(|ids| !ids.contains(&g.id)) {
                continue;
            }
            for a in s.world.ads_of(Platform::Meta, &g.id) {
                if !listed(req, ad_effective(c, g, a)) {
                    continue;
                }
                match pick(req, &ad_json(acc, c, g, a)) {
                    Ok(v) => items.push(v),
                    Err(f) => return nonexisting_field(&f),
                }
            }
        }
    }
    paged(app, req, items)
}

/// Insights at `level=adset` or `level=ad`: one row per object and day with delivery (or one
/// per object over the range without `time_increment=1`).
pub(super) fn level_insights(
    app: &App,
    s: &State,
    req: &ApiRequest,
    acc: &Account,
    q: &InsightsOf,
    now: DateTime<Utc>,
) -> Response {
    let ads_level = q.level == "ad";
    let only_sets = filter_ids(req, "adset.id");
    let only_ads = filter_ids(req, "ad.id");
    type Key = (NaiveDate, String);
    let mut rows: BTreeMap<Key, (&Campaign, &AdGroup, Option<&Ad>, DayMetrics)> = BTreeMap::new();
    for c in campaigns_in(s, req, acc) {
        let days = campaign_days(&s.world, acc, c, q.since, q.until, now);
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
            if only_sets.as_ref().is_some_and(|ids| !ids.contains(&g.id))
                || only_ads
                    .as_ref()
                    .is_some_and(|ids| a.is_none_or(|a| !ids.contains(&a.id)))
            {
                continue;
            }
            let day = if q.daily { m.date } else { q.since };
            let id = a.map(|a| a.id.clone()).unwrap_or_else(|| g.id.clone());
            rows.entry((day, id))
                .and_modify(|(_, _, _, t)| t.add(&m))
                .or_insert((c, g, a, m));
        }
    }
    let items: Vec<Value> = rows
        .iter()
        .map(|((d, _), (c, g, a, m))| {
            let (start, stop) = if q.daily {
                (*d, *d)
            } else {
                (q.since, q.until)
            };
            let mut full = insight_row(acc, Some(c), m, start, stop);
            full["adset_id"] = json!(g.id);
            full["adset_name"] = json!(g.name);
            if let Some(a) = a {
                full["ad_id"] = json!(a.id);
                full["ad_name"] = json!(a.name);
            }
            if full.get("inline_link_clicks").is_none() {
                full["inline_link_clicks"] = json!(m.clicks.to_string());
            }
            let mut out = Map::new();
            for f in &q.fields {
                if let Some(v) = full.get(f) {
                    out.insert(f.clone(), v.clone());
                }
            }
            out.insert("date_start".into(), full["date_start"].clone());
            out.insert("date_stop".into(), full["date_stop"].clone());
            Value::Object(out)
        })
        .collect();
    paged(app, req, items)
}

/// A level that insights cannot be asked for.
pub(super) fn bad_level(level: &str) -> Response {
    invalid(&format!(
        "(#100) level must be one of account, campaign, adset, ad; got {level}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_fields_split_at_the_top_level_only() {
        let f = field_list("id,name,creative{id,object_story_spec},status");
        assert_eq!(f.len(), 4);
        assert_eq!(
            f[2],
            (
                "creative".to_string(),
                Some(vec!["id".to_string(), "object_story_spec".to_string()])
            )
        );
    }
}
