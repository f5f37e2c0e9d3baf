//! `adgroup/status/update/`, `ad/status/update/`, `adgroup/budget/update/` and
//! `adgroup/update/` (budget, bid, name), with TikTok's answers and refusals (HTTP 200 with a
//! non-zero `code`): unknown or deleted ids, a budget on an ad group whose campaign has budget
//! optimisation on, a bid on an ad group without a custom bid, `bid_price` on an oCPM ad group
//! (which bids with `conversion_bid_price`), amounts that are not positive numbers in the
//! currency's decimals. A call is checked whole before anything changes.

use axum::response::Response;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{Params, bad, reply};
use crate::sandbox::level_writes::Refusal;
use crate::sandbox::server::State;
use crate::sandbox::wire::{decimal_from_json, micros_from_major};
use crate::sandbox::world::{Account, CampaignStatus};
use crate::types::Platform;

const P: Platform = Platform::Tiktok;

fn switch_param(p: &Params) -> Result<CampaignStatus, Response> {
    match p.str("operation_status").as_deref() {
        Some("ENABLE") => Ok(CampaignStatus::Enabled),
        Some("DISABLE") => Ok(CampaignStatus::Paused),
        Some("DELETE") => Ok(CampaignStatus::Removed),
        _ => Err(bad(
            "operation_status: Must be one of ENABLE, DISABLE, DELETE.",
        )),
    }
}

/// An amount in major units with at most the currency's decimals, above zero.
fn amount(v: &Value, key: &str, acc: &Account) -> Result<i64, Response> {
    let d: Decimal =
        decimal_from_json(v).ok_or_else(|| bad(&format!("{key}: Not a valid number.")))?;
    if d <= Decimal::ZERO {
        return Err(bad(&format!("{key}: Must be greater than 0.")));
    }
    micros_from_major(d, acc.currency).ok_or_else(|| {
        bad(&format!(
            "{key}: {} allows {} decimal places.",
            acc.currency,
            acc.currency.minor_unit_exponent()
        ))
    })
}

/// The ad group, if it is this advertiser's and neither it nor its campaign is deleted.
fn live_group(
    s: &State,
    acc: &Account,
    id: &str,
) -> Result<crate::sandbox::hierarchy::AdGroup, Response> {
    let g = match s.world.ad_group(P, id) {
        Some(g) if g.account_id == acc.id => g.clone(),
        _ => {
            return Err(bad(&format!(
                "adgroup_id {id} does not exist under advertiser {}.",
                acc.id
            )));
        }
    };
    let campaign_deleted = s
        .world
        .campaign(P, &g.campaign_id)
        .is_none_or(|c| c.status() == CampaignStatus::Removed);
    if g.status() == CampaignStatus::Removed || campaign_deleted {
        return Err(bad(&format!(
            "Ad group {id} is deleted and cannot be edited."
        )));
    }
    Ok(g)
}

pub(super) fn adgroup_status_update(
    s: &mut State,
    p: &Params,
    acc: &Account,
    now: DateTime<Utc>,
) -> Response {
    let Some(ids) = p.list("adgroup_ids").filter(|l| !l.is_empty()) else {
        return bad("adgroup_ids: Missing data for required field.");
    };
    if ids.len() > 20 {
        return bad("adgroup_ids: Length must be between 1 and 20.");
    }
    let status = match switch_param(p) {
        Ok(st) => st,
        Err(r) => return r,
    };
    for id in &ids {
        if let Err(r) = live_group(s, acc, id) {
            return r;
        }
    }
    for id in &ids {
        if s.world.set_ad_group_status(P, id, status, now).is_err() {
            return bad(&format!("Ad group {id} is deleted and cannot be edited."));
        }
    }
    s.dirty = true;
    reply(
        0,
        "OK",
        json!({"adgroup_ids": ids, "status": status.wire(P)}),
    )
}

pub(super) fn ad_status_update(
    s: &mut State,
    p: &Params,
    acc: &Account,
    now: DateTime<Utc>,
) -> Response {
    let Some(ids) = p.list("ad_ids").filter(|l| !l.is_empty()) else {
        return bad("ad_ids: Missing data for required field.");
    };
    if ids.len() > 20 {
        return bad("ad_ids: Length must be between 1 and 20.");
    }
    let status = match switch_param(p) {
        Ok(st) => st,
        Err(r) => return r,
    };
    for id in &ids {
        let a = match s.world.ad(P, id) {
            Some(a) if a.account_id == acc.id => a,
            _ => {
                return bad(&format!(
                    "ad_id {id} does not exist under advertiser {}.",
                    acc.id
                ));
            }
        };
        // Children of a deleted parent are deleted with it and cannot change.
        let group_live = live_group(s, acc, &a.ad_group_id).is_ok();
        if a.status() == CampaignStatus::Removed || !group_live {
            return bad(&format!("Ad {id} is deleted and cannot be edited."));
        }
    }
    for id in &ids {
        if s.world.set_ad_status(P, id, status, now).is_err() {
            return bad(&format!("Ad {id} is deleted and cannot be edited."));
        }
    }
    s.dirty = true;
    reply(0, "OK", json!({"ad_ids": ids, "status": status.wire(P)}))
}

fn budget_on_campaign(id: &str) -> Response {
    bad(&format!(
        "budget: Ad group {id} belongs to a campaign with Campaign Budget Optimization on; its budget is set on the campaign."
    ))
}

fn set_budget(
    s: &mut State,
    acc: &Account,
    id: &str,
    micros: i64,
    now: DateTime<Utc>,
) -> Result<(), Response> {
    match s.world.set_ad_group_budget(P, id, micros, now) {
        Ok(()) => Ok(()),
        Err(Refusal::BudgetOnCampaign) => Err(budget_on_campaign(id)),
        Err(_) => Err(bad(&format!(
            "adgroup_id {id} does not exist under advertiser {}.",
            acc.id
        ))),
    }
}

/// `{"advertiser_id", "budget": [{"adgroup_id", "budget"}]}`.
pub(super) fn adgroup_budget_update(
    s: &mut State,
    p: &Params,
    acc: &Account,
    now: DateTime<Utc>,
) -> Response {
    let Some(items) = p.json("budget").and_then(|v| v.as_array().cloned()) else {
        return bad("budget: Missing data for required field.");
    };
    if items.is_empty() || items.len() > 20 {
        return bad("budget: Length must be between 1 and 20.");
    }
    let mut planned = Vec::new();
    for item in &items {
        let Some(id) = item.get("adgroup_id").and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }) else {
            return bad("budget.adgroup_id: Missing data for required field.");
        };
        let Some(v) = item.get("budget") else {
            return bad("budget.budget: Missing data for required field.");
        };
        let micros = match amount(v, "budget.budget", acc) {
            Ok(m) => m,
            Err(r) => return r,
        };
        let g = match live_group(s, acc, &id) {
            Ok(g) => g,
            Err(r) => return r,
        };
        if g.daily_budget_micros.is_none() {
            return budget_on_campaign(&id);
        }
        planned.push((id, micros));
    }
    for (id, micros) in planned {
        if let Err(r) = set_budget(s, acc, &id, micros, now) {
            return r;
        }
    }
    s.dirty = true;
    reply(0, "OK", json!({}))
}

/// `{"advertiser_id", "adgroup_id", "budget"?, "bid_price"?, "conversion_bid_price"?,
/// "adgroup_name"?}`; answers with the updated ad group's id and fields.
pub(super) fn adgroup_update(
    s: &mut State,
    p: &Params,
    acc: &Account,
    now: DateTime<Utc>,
) -> Response {
    let Some(id) = p.str("adgroup_id") else {
        return bad("adgroup_id: Missing data for required field.");
    };
    let g = match live_group(s, acc, &id) {
        Ok(g) => g,
        Err(r) => return r,
    };
    let budget = match p.raw("budget").map(|v| amount(&v, "budget", acc)) {
        Some(Err(r)) => return r,
        Some(Ok(m)) => Some(m),
        None => None,
    };
    let bid_price = match p.raw("bid_price").map(|v| amount(&v, "bid_price", acc)) {
        Some(Err(r)) => return r,
        Some(Ok(m)) => Some(m),
        None => None,
    };
    let conversion_bid = match p
        .raw("conversion_bid_price")
        .map(|v| amount(&v, "conversion_bid_price", acc))
    {
        Some(Err(r)) => return r,
        Some(Ok(m)) => Some(m),
        None => None,
    };
    let name = p.str("adgroup_name").filter(|n| !n.trim().is_empty());
    if budget.is_none() && bid_price.is_none() && conversion_bid.is_none() && name.is_none() {
        return bad(
            "No fields to update: send budget, bid_price, conversion_bid_price or adgroup_name.",
        );
    }
    if budget.is_some() && g.daily_budget_micros.is_none() {
        return budget_on_campaign(&id);
    }
    // The sandbox's ad groups bill by oCPM: they bid per conversion.
    if bid_price.is_some() {
        return bad(
            "bid_price: Not allowed when billing_event is OCPM; set conversion_bid_price instead.",
        );
    }
    if conversion_bid.is_some() && g.bid.amount_micros.is_none() {
        return bad(&format!(
            "conversion_bid_price: Only allowed when bid_type is BID_TYPE_CUSTOM (this ad group uses {}).",
            g.bid.strategy
        ));
    }
    if let Some(m) = budget
        && let Err(r) = set_budget(s, acc, &id, m, now)
    {
        return r;
    }
    if let Some(m) = conversion_bid
        && s.world.set_ad_group_bid(P, &id, m).is_err()
    {
        return bad(&format!(
            "conversion_bid_price: Only allowed when bid_type is BID_TYPE_CUSTOM (this ad group uses {}).",
            g.bid.strategy
        ));
    }
    if let Some(n) = name
        && let Some(gm) = s
            .world
            .ad_groups
            .iter_mut()
            .find(|x| x.platform == P && x.id == id)
    {
        gm.name = n;
    }
    s.dirty = true;
    reply(0, "OK", json!({"adgroup_id": id, "advertiser_id": acc.id}))
}
