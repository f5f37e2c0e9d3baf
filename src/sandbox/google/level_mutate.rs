//! `adGroups:mutate` (update `status`, `cpcBidMicros`, `name`) and `adGroupAds:mutate`
//! (update `status`), validated whole before anything is applied, `validateOnly` honoured.
//! Refusals as Google words them: an unknown or removed resource, a field the mask names that
//! the resource does not have (ad groups have no budget: it is the campaign's CampaignBudget),
//! a bid that is not a whole number of the currency's minor units.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::GErr;
use super::mutate::{amount_micros, failed, op_error, operations, status_field, update_mask};
use crate::sandbox::server::State;
use crate::sandbox::world::{Account, CampaignStatus};
use crate::types::Platform;

const P: Platform = Platform::Google;

/// `customers/{cid}/{collection}/{id}` → id, for this customer only.
fn id_in<'a>(rn: &'a str, cid: &str, collection: &str) -> Option<&'a str> {
    let rest = rn.strip_prefix("customers/")?;
    let (c, rest) = rest.split_once('/')?;
    let (coll, id) = rest.split_once('/')?;
    (c == cid && coll == collection && !id.is_empty()).then_some(id)
}

enum GroupOp {
    Update {
        id: String,
        status: Option<CampaignStatus>,
        bid: Option<i64>,
        name: Option<String>,
    },
}

type GroupFields = (Option<CampaignStatus>, Option<i64>, Option<String>);

/// The values of the fields the update mask names, refusals going to `errors`.
fn group_fields(
    u: &Value,
    mask: &[String],
    acc: &Account,
    i: usize,
    errors: &mut Vec<Value>,
) -> GroupFields {
    let (mut status, mut bid, mut name) = (None, None, None);
    for f in mask {
        match f.as_str() {
            "status" => match status_field(u.get("status")) {
                Ok(Some(st)) => status = Some(st),
                _ => errors.push(op_error(
                    "requestError",
                    "INVALID_ENUM_VALUE",
                    "status must be ENABLED or PAUSED (use remove to remove).",
                    i,
                    "update",
                    "status",
                )),
            },
            "cpcBidMicros" | "cpc_bid_micros" => {
                match u.get("cpcBidMicros").map(|v| amount_micros(v, acc)) {
                    Some(Ok(m)) => bid = Some(m),
                    Some(Err(code)) => errors.push(op_error(
                        "adGroupError",
                        code,
                        "The bid is not a positive whole number of the currency's minor units, in micros.",
                        i,
                        "update",
                        "cpc_bid_micros",
                    )),
                    None => errors.push(op_error(
                        "fieldError",
                        "REQUIRED",
                        "cpcBidMicros is in updateMask but absent.",
                        i,
                        "update",
                        "cpc_bid_micros",
                    )),
                }
            }
            "name" => match u
                .get("name")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|n| !n.is_empty())
            {
                Some(n) => name = Some(n.to_string()),
                None => errors.push(op_error(
                    "fieldError",
                    "REQUIRED",
                    "name is in updateMask but empty.",
                    i,
                    "update",
                    "name",
                )),
            },
            other => errors.push(op_error(
                "fieldMaskError",
                "FIELD_NOT_FOUND",
                format!("The field '{other}' does not exist on AdGroup."),
                i,
                "update",
                other,
            )),
        }
    }
    (status, bid, name)
}

/// One update operation checked against the world; `None` when it was refused.
fn plan_group_op(
    s: &State,
    acc: &Account,
    i: usize,
    op: &Value,
    errors: &mut Vec<Value>,
) -> Option<GroupOp> {
    let Some(u) = op.get("update") else {
        errors.push(op_error(
            "requestError",
            "INVALID_INPUT",
            "The sandbox takes update operations on ad groups.",
            i,
            "operation",
            "operation",
        ));
        return None;
    };
    let rn = u.get("resourceName").and_then(Value::as_str).unwrap_or("");
    let group = id_in(rn, &acc.id, "adGroups")
        .and_then(|id| s.world.ad_group(P, id))
        .filter(|g| g.account_id == acc.id);
    let Some(g) = group else {
        errors.push(op_error(
            "mutateError",
            "RESOURCE_NOT_FOUND",
            format!("Ad group '{rn}' was not found."),
            i,
            "update",
            "resource_name",
        ));
        return None;
    };
    let campaign_removed = s
        .world
        .campaign(P, &g.campaign_id)
        .is_none_or(|c| c.status() == CampaignStatus::Removed);
    if g.status() == CampaignStatus::Removed || campaign_removed {
        errors.push(op_error(
            "adGroupError",
            "CANNOT_MODIFY_REMOVED_AD_GROUP",
            "A removed ad group cannot be changed.",
            i,
            "update",
            "status",
        ));
        return None;
    }
    let mask = update_mask(op);
    if mask.is_empty() {
        errors.push(op_error(
            "fieldMaskError",
            "FIELD_MASK_MISSING",
            "updateMask is required for update operations.",
            i,
            "update",
            "update_mask",
        ));
        return None;
    }
    let (status, bid, name) = group_fields(u, &mask, acc, i, errors);
    Some(GroupOp::Update {
        id: g.id.clone(),
        status,
        bid,
        name,
    })
}

pub(super) fn mutate_ad_groups(
    s: &mut State,
    acc: &Account,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Value, GErr> {
    let ops = operations(body)?;
    let mut planned = Vec::new();
    let mut errors = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if let Some(p) = plan_group_op(s, acc, i, op, &mut errors) {
            planned.push(p);
        }
    }
    if !errors.is_empty() {
        return Err(failed(errors));
    }
    if body.get("validateOnly") == Some(&Value::Bool(true)) {
        return Ok(json!({}));
    }
    let mut results = Vec::new();
    for GroupOp::Update {
        id,
        status,
        bid,
        name,
    } in planned
    {
        // Checked above; a refusal here would mean the world changed in between, which the
        // single state lock rules out.
        if let Some(st) = status {
            let _ = s.world.set_ad_group_status(P, &id, st, now);
        }
        if let Some(m) = bid {
            let _ = s.world.set_ad_group_bid(P, &id, m);
        }
        if let Some(n) = name
            && let Some(g) = s
                .world
                .ad_groups
                .iter_mut()
                .find(|g| g.platform == P && g.id == id)
        {
            g.name = n;
        }
        results.push(json!({"resourceName": format!("customers/{}/adGroups/{id}", acc.id)}));
    }
    s.dirty = true;
    Ok(json!({ "results": results }))
}

/// One update operation checked against the world: (ad group id, ad id, new status), or
/// `None` when it was refused or changes nothing.
fn plan_ad_op(
    s: &State,
    acc: &Account,
    i: usize,
    op: &Value,
    errors: &mut Vec<Value>,
) -> Option<(String, String, CampaignStatus)> {
    let Some(u) = op.get("update") else {
        errors.push(op_error(
            "requestError",
            "INVALID_INPUT",
            "The sandbox takes update operations on ad group ads.",
            i,
            "operation",
            "operation",
        ));
        return None;
    };
    let rn = u.get("resourceName").and_then(Value::as_str).unwrap_or("");
    // `adGroupAds/{ad group id}~{ad id}`: the ad must be in that ad group.
    let ad = id_in(rn, &acc.id, "adGroupAds")
        .and_then(|key| key.split_once('~'))
        .and_then(|(g, a)| s.world.ad(P, a).filter(|ad| ad.ad_group_id == g))
        .filter(|ad| ad.account_id == acc.id);
    let Some(ad) = ad else {
        errors.push(op_error(
            "mutateError",
            "RESOURCE_NOT_FOUND",
            format!("Ad group ad '{rn}' was not found."),
            i,
            "update",
            "resource_name",
        ));
        return None;
    };
    let parent_removed = s
        .world
        .ad_group(P, &ad.ad_group_id)
        .is_none_or(|g| g.status() == CampaignStatus::Removed);
    if ad.status() == CampaignStatus::Removed || parent_removed {
        errors.push(op_error(
            "adGroupAdError",
            "CANNOT_OPERATE_ON_REMOVED_ADGROUPAD",
            "A removed ad cannot be changed.",
            i,
            "update",
            "status",
        ));
        return None;
    }
    let mask = update_mask(op);
    if mask.is_empty() {
        errors.push(op_error(
            "fieldMaskError",
            "FIELD_MASK_MISSING",
            "updateMask is required for update operations.",
            i,
            "update",
            "update_mask",
        ));
        return None;
    }
    let mut status = None;
    for f in &mask {
        match f.as_str() {
            "status" => match status_field(u.get("status")) {
                Ok(Some(st)) => status = Some(st),
                _ => errors.push(op_error(
                    "requestError",
                    "INVALID_ENUM_VALUE",
                    "status must be ENABLED or PAUSED (use remove to remove).",
                    i,
                    "update",
                    "status",
                )),
            },
            other => errors.push(op_error(
                "fieldMaskError",
                "FIELD_NOT_FOUND",
                format!("The field '{other}' does not exist on AdGroupAd."),
                i,
                "update",
                other,
            )),
        }
    }
    status.map(|st| (ad.ad_group_id.clone(), ad.id.clone(), st))
}

pub(super) fn mutate_ad_group_ads(
    s: &mut State,
    acc: &Account,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Value, GErr> {
    let ops = operations(body)?;
    let mut planned: Vec<(String, String, CampaignStatus)> = Vec::new();
    let mut errors = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if let Some(p) = plan_ad_op(s, acc, i, op, &mut errors) {
            planned.push(p);
        }
    }
    if !errors.is_empty() {
        return Err(failed(errors));
    }
    if body.get("validateOnly") == Some(&Value::Bool(true)) {
        return Ok(json!({}));
    }
    let mut results = Vec::new();
    for (g, a, st) in planned {
        let _ = s.world.set_ad_status(P, &a, st, now);
        results.push(json!({"resourceName": format!("customers/{}/adGroupAds/{g}~{a}", acc.id)}));
    }
    s.dirty = true;
    Ok(json!({ "results": results }))
}
