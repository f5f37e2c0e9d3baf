//! `GET /{id}` and `POST /{id}` on ad sets and ads: read one, or change `status`,
//! `daily_budget` / `lifetime_budget` (ad sets, in Meta's unit for the currency) and
//! `bid_amount` (ad sets). Answers `{"success":true}`; refuses as Meta does: a budget on an ad
//! set whose campaign holds the budget, a bid under a strategy without one, a field the object
//! does not have, a value that is not a positive whole number, a deleted object.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::levels::{ad_json, adset_json, pick};
use super::{State, invalid, invalid_user, nonexisting_field, parse_minor};
use crate::platforms::meta_offset;
use crate::sandbox::level_writes::Refusal;
use crate::sandbox::tokens::Grant;
use crate::sandbox::wire::{ApiRequest, json_response};
use crate::sandbox::world::CampaignStatus;
use crate::types::Platform;

const P: Platform = Platform::Meta;

/// Parameters a write may carry besides the token.
fn is_auth_param(k: &str) -> bool {
    matches!(k, "access_token" | "appsecret_proof" | "format" | "method")
}

/// `GET /{id}` for an ad set or ad the token may see; None when the id is neither.
pub(super) fn get_object(s: &State, grant: &Grant, req: &ApiRequest, id: &str) -> Option<Response> {
    let full = if let Some(g) = s.world.ad_group(P, id) {
        let c = s.world.campaign(P, &g.campaign_id)?;
        let acc = s.world.account(P, &g.account_id)?;
        grant
            .accounts
            .contains(&g.account_id)
            .then(|| adset_json(acc, c, g))?
    } else {
        let a = s.world.ad(P, id)?;
        let g = s.world.ad_group(P, &a.ad_group_id)?;
        let c = s.world.campaign(P, &a.campaign_id)?;
        let acc = s.world.account(P, &a.account_id)?;
        grant
            .accounts
            .contains(&a.account_id)
            .then(|| ad_json(acc, c, g, a))?
    };
    Some(match pick(req, &full) {
        Ok(v) => json_response(StatusCode::OK, &v),
        Err(f) => nonexisting_field(&f),
    })
}

fn status_param(req: &ApiRequest) -> Result<Option<CampaignStatus>, Response> {
    match req.param("status") {
        None => Ok(None),
        Some(v) => CampaignStatus::from_wire(P, v).map(Some).ok_or_else(|| {
            invalid("(#100) Param status must be one of {ACTIVE, PAUSED, DELETED, ARCHIVED}")
        }),
    }
}

fn amount_param(req: &ApiRequest, key: &str) -> Result<Option<i64>, Response> {
    match req.param(key) {
        None => Ok(None),
        Some(v) => parse_minor(v).map(Some).ok_or_else(|| {
            invalid(&format!(
                "(#100) Param {key} must be a positive integer in the currency's minor units"
            ))
        }),
    }
}

fn removed() -> Response {
    invalid_user(
        "(#100) Invalid parameter",
        "A deleted object cannot be edited.",
    )
}

/// `POST /{id}` for an ad set or ad the token may change; None when the id is neither.
pub(super) fn update_object(
    s: &mut State,
    grant: &Grant,
    req: &ApiRequest,
    id: &str,
    now: DateTime<Utc>,
) -> Option<Response> {
    if let Some(g) = s.world.ad_group(P, id).cloned() {
        if !grant.accounts.contains(&g.account_id) {
            return None;
        }
        return Some(update_adset(s, req, &g, now));
    }
    let a = s.world.ad(P, id).cloned()?;
    if !grant.accounts.contains(&a.account_id) {
        return None;
    }
    Some(update_ad(s, req, &a.id, now))
}

fn update_adset(
    s: &mut State,
    req: &ApiRequest,
    g: &crate::sandbox::hierarchy::AdGroup,
    now: DateTime<Utc>,
) -> Response {
    const KNOWN: [&str; 5] = [
        "status",
        "daily_budget",
        "lifetime_budget",
        "bid_amount",
        "name",
    ];
    if let Some((k, _)) = req
        .form
        .iter()
        .chain(req.query.iter())
        .find(|(k, _)| !is_auth_param(k) && !KNOWN.contains(&k.as_str()))
    {
        return invalid(&format!("(#100) Param {k} is not a field of AdSet"));
    }
    let status = match status_param(req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let (daily, lifetime, bid) = match (
        amount_param(req, "daily_budget"),
        amount_param(req, "lifetime_budget"),
        amount_param(req, "bid_amount"),
    ) {
        (Ok(d), Ok(l), Ok(b)) => (d, l, b),
        (Err(r), _, _) | (_, Err(r), _) | (_, _, Err(r)) => return r,
    };
    let name = req.param("name").filter(|n| !n.trim().is_empty());
    if status.is_none() && daily.is_none() && lifetime.is_none() && bid.is_none() && name.is_none()
    {
        return invalid(
            "(#100) No fields to update (status, daily_budget, lifetime_budget, bid_amount or name)",
        );
    }
    if g.status() == CampaignStatus::Removed {
        return removed();
    }
    let Some(acc) = s.world.account(P, &g.account_id).cloned() else {
        return invalid("(#100) The ad set's account is gone");
    };
    let per = meta_offset::micros_per_unit(acc.currency);
    if let Err(r) = check_adset_change(g, daily, lifetime, bid) {
        return r;
    }
    if let Some(units) = daily {
        match s
            .world
            .set_ad_group_budget(P, &g.id, units.saturating_mul(per), now)
        {
            Ok(()) => {}
            Err(Refusal::BudgetOnCampaign) => return budget_on_campaign(),
            Err(_) => return removed(),
        }
    }
    if let Some(units) = bid {
        match s
            .world
            .set_ad_group_bid(P, &g.id, units.saturating_mul(per))
        {
            Ok(()) => {}
            Err(Refusal::NoBidStrategy(st)) => return no_bid(&st),
            Err(_) => return removed(),
        }
    }
    if let Some(st) = status
        && s.world.set_ad_group_status(P, &g.id, st, now).is_err()
    {
        return removed();
    }
    if let Some(n) = name
        && let Some(gm) = s
            .world
            .ad_groups
            .iter_mut()
            .find(|x| x.platform == P && x.id == g.id)
    {
        gm.name = n.to_string();
    }
    s.dirty = true;
    json_response(StatusCode::OK, &json!({"success": true}))
}

/// Refuses budget and bid changes the ad set cannot take, before anything changes: Meta
/// applies a call whole or not at all.
fn check_adset_change(
    g: &crate::sandbox::hierarchy::AdGroup,
    daily: Option<i64>,
    lifetime: Option<i64>,
    bid: Option<i64>,
) -> Result<(), Response> {
    if daily.is_some() && lifetime.is_some() {
        return Err(invalid_user(
            "(#100) Invalid parameter",
            "An ad set can have a daily budget or a lifetime budget, not both.",
        ));
    }
    if (daily.is_some() || lifetime.is_some()) && g.daily_budget_micros.is_none() {
        // Meta's refusal when the campaign holds the budget (Advantage campaign budget).
        return Err(budget_on_campaign());
    }
    if lifetime.is_some() {
        return Err(invalid_user(
            "(#100) Invalid parameter",
            "This ad set uses a daily budget. A lifetime budget needs an end time and cannot replace a daily budget on an existing ad set.",
        ));
    }
    if bid.is_some() && g.bid.amount_micros.is_none() {
        return Err(no_bid(&g.bid.strategy));
    }
    Ok(())
}

fn budget_on_campaign() -> Response {
    let v = json!({"error": {
        "message": "Invalid parameter", "type": "OAuthException", "code": 100,
        "error_subcode": 1885621,
        "error_user_title": "Can't Set Ad Set Budget",
        "error_user_msg": "This ad set's campaign uses Advantage campaign budget, so its budget is set on the campaign. Change the campaign's budget instead.",
        "fbtrace_id": "AsbxLevelWrite",
    }});
    crate::sandbox::wire::with_code(json_response(StatusCode::BAD_REQUEST, &v), 100)
}

fn no_bid(strategy: &str) -> Response {
    invalid_user(
        "(#100) Invalid parameter",
        &format!(
            "A bid amount can't be set on an ad set with the bid strategy {strategy}. Choose a bid cap or cost cap strategy to use a bid amount."
        ),
    )
}

fn update_ad(s: &mut State, req: &ApiRequest, id: &str, now: DateTime<Utc>) -> Response {
    if let Some((k, _)) = req
        .form
        .iter()
        .chain(req.query.iter())
        .find(|(k, _)| !is_auth_param(k) && !matches!(k.as_str(), "status" | "name"))
    {
        return invalid(&format!("(#100) Param {k} is not a field of Ad"));
    }
    let status = match status_param(req) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let name = req.param("name").filter(|n| !n.trim().is_empty());
    if status.is_none() && name.is_none() {
        return invalid("(#100) No fields to update (status or name)");
    }
    if let Some(st) = status
        && s.world.set_ad_status(P, id, st, now).is_err()
    {
        return removed();
    }
    if let Some(n) = name
        && let Some(am) = s
            .world
            .ads
            .iter_mut()
            .find(|x| x.platform == P && x.id == id)
    {
        am.name = n.to_string();
    }
    s.dirty = true;
    json_response(StatusCode::OK, &json!({"success": true}))
}
