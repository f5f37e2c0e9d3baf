//! `campaignBudgets:mutate` and `campaigns:mutate`: create, update (with `updateMask`) and
//! remove, validated as a whole before anything is applied (`partialFailure` is not
//! imitated), `validateOnly` honoured.

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{GErr, gerr, invalid};
use crate::sandbox::server::State;
use crate::sandbox::wire::decimal_from_json;
use crate::sandbox::world::{Account, CampaignStatus, IdKind, micros_per_minor};
use crate::types::Platform;

const CHANNEL_TYPES: [&str; 9] = [
    "SEARCH",
    "DISPLAY",
    "SHOPPING",
    "HOTEL",
    "VIDEO",
    "MULTI_CHANNEL",
    "LOCAL",
    "PERFORMANCE_MAX",
    "DEMAND_GEN",
];

fn location(index: usize, op: &str, field: &str) -> Value {
    json!({"fieldPathElements": [
        {"fieldName": "operations", "index": index},
        {"fieldName": op},
        {"fieldName": field},
    ]})
}

pub(super) fn op_error(
    kind: &str,
    code: &str,
    message: impl Into<String>,
    index: usize,
    op: &str,
    field: &str,
) -> Value {
    json!({"errorCode": {kind: code}, "message": message.into(), "location": location(index, op, field)})
}

pub(super) fn failed(errors: Vec<Value>) -> GErr {
    gerr(
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        "Request contains an invalid argument.",
        errors,
    )
}

pub(super) fn operations(body: &Value) -> Result<&Vec<Value>, GErr> {
    match body.get("operations").and_then(Value::as_array) {
        Some(ops) if !ops.is_empty() => Ok(ops),
        _ => Err(invalid(
            "fieldError",
            "REQUIRED",
            "The required field 'operations' was not present or empty.",
        )),
    }
}

pub(super) fn update_mask(op: &Value) -> Vec<String> {
    op.get("updateMask")
        .and_then(Value::as_str)
        .map(|m| {
            m.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn amount_micros(v: &Value, acc: &Account) -> Result<i64, &'static str> {
    let d = decimal_from_json(v).ok_or("INVALID_AMOUNT")?;
    if d.scale() > 0 && d.fract() != Decimal::ZERO {
        return Err("INVALID_AMOUNT");
    }
    let m = i64::try_from(d.trunc().mantissa()).map_err(|_| "INVALID_AMOUNT")?;
    if m <= 0 {
        return Err("INVALID_AMOUNT");
    }
    if m % micros_per_minor(acc.currency) != 0 {
        return Err("NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT");
    }
    Ok(m)
}

fn resource_id<'a>(rn: &'a str, cid: &str, collection: &str) -> Option<&'a str> {
    let rest = rn.strip_prefix("customers/")?;
    let (c, rest) = rest.split_once('/')?;
    let (coll, id) = rest.split_once('/')?;
    (c == cid && coll == collection && !id.is_empty()).then_some(id)
}

enum BudgetOp {
    Create {
        name: String,
        amount: i64,
    },
    Update {
        id: String,
        amount: Option<i64>,
        name: Option<String>,
    },
}

pub(super) fn mutate_budgets(
    s: &mut State,
    acc: &Account,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Value, GErr> {
    let ops = operations(body)?;
    let mut planned = Vec::new();
    let mut errors = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if let Some(c) = op.get("create") {
            let amount = match c.get("amountMicros").map(|v| amount_micros(v, acc)) {
                Some(Ok(a)) => a,
                Some(Err(code)) => {
                    errors.push(op_error(
                        "campaignBudgetError",
                        code,
                        "The budget amount is not valid for this currency.",
                        i,
                        "create",
                        "amount_micros",
                    ));
                    continue;
                }
                None => {
                    errors.push(op_error(
                        "fieldError",
                        "REQUIRED",
                        "The required field was not present.",
                        i,
                        "create",
                        "amount_micros",
                    ));
                    continue;
                }
            };
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            if !name.is_empty()
                && s.world.budgets.iter().any(|b| {
                    b.platform == Platform::Google && b.account_id == acc.id && b.name == name
                })
            {
                errors.push(op_error(
                    "campaignBudgetError",
                    "DUPLICATE_NAME",
                    "A budget with this name already exists.",
                    i,
                    "create",
                    "name",
                ));
                continue;
            }
            planned.push(BudgetOp::Create { name, amount });
        } else if let Some(u) = op.get("update") {
            let rn = u.get("resourceName").and_then(Value::as_str).unwrap_or("");
            let Some(id) = resource_id(rn, &acc.id, "campaignBudgets").filter(|id| {
                s.world
                    .budget(Platform::Google, id)
                    .is_some_and(|b| b.account_id == acc.id)
            }) else {
                errors.push(op_error(
                    "mutateError",
                    "RESOURCE_NOT_FOUND",
                    format!("Budget '{rn}' was not found."),
                    i,
                    "update",
                    "resource_name",
                ));
                continue;
            };
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
                continue;
            }
            let mut amount = None;
            let mut name = None;
            let mut bad = false;
            for f in &mask {
                match f.as_str() {
                    "amountMicros" | "amount_micros" => {
                        match u.get("amountMicros").map(|v| amount_micros(v, acc)) {
                            Some(Ok(a)) => amount = Some(a),
                            Some(Err(code)) => {
                                errors.push(op_error(
                                    "campaignBudgetError",
                                    code,
                                    "The budget amount is not valid for this currency.",
                                    i,
                                    "update",
                                    "amount_micros",
                                ));
                                bad = true;
                            }
                            None => {
                                errors.push(op_error(
                                    "fieldError",
                                    "REQUIRED",
                                    "amountMicros is in updateMask but missing.",
                                    i,
                                    "update",
                                    "amount_micros",
                                ));
                                bad = true;
                            }
                        }
                    }
                    "name" => name = u.get("name").and_then(Value::as_str).map(String::from),
                    other => {
                        errors.push(op_error(
                            "fieldMaskError",
                            "FIELD_NOT_FOUND",
                            format!("The sandbox cannot update '{other}' on budgets."),
                            i,
                            "update",
                            other,
                        ));
                        bad = true;
                    }
                }
            }
            if !bad {
                planned.push(BudgetOp::Update {
                    id: id.to_string(),
                    amount,
                    name,
                });
            }
        } else {
            errors.push(op_error(
                "requestError",
                "INVALID_INPUT",
                "Expected a create or update operation (the sandbox does not remove budgets).",
                i,
                "operation",
                "operation",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(failed(errors));
    }
    if body.get("validateOnly") == Some(&Value::Bool(true)) {
        return Ok(json!({}));
    }
    let mut results = Vec::new();
    for p in planned {
        match p {
            BudgetOp::Create { name, amount } => {
                let id = s.world.new_id(Platform::Google, IdKind::Budget);
                let name = if name.is_empty() {
                    format!("Budget {id}")
                } else {
                    name
                };
                s.world
                    .add_budget(Platform::Google, &acc.id, id.clone(), name, amount, now);
                results.push(
                    json!({"resourceName": format!("customers/{}/campaignBudgets/{id}", acc.id)}),
                );
            }
            BudgetOp::Update { id, amount, name } => {
                if let Some(a) = amount {
                    s.world.set_budget(Platform::Google, &id, a, now);
                }
                if let Some(n) = name
                    && let Some(b) = s.world.budget_mut(Platform::Google, &id)
                {
                    b.name = n;
                }
                results.push(
                    json!({"resourceName": format!("customers/{}/campaignBudgets/{id}", acc.id)}),
                );
            }
        }
    }
    s.dirty = true;
    Ok(json!({ "results": results }))
}

enum CampaignOp {
    Create {
        name: String,
        budget: String,
        status: CampaignStatus,
        channel: String,
    },
    Update {
        id: String,
        status: Option<CampaignStatus>,
        name: Option<String>,
        budget: Option<String>,
    },
    Remove {
        id: String,
    },
}

pub(super) fn status_field(v: Option<&Value>) -> Result<Option<CampaignStatus>, ()> {
    match v.and_then(Value::as_str) {
        None => Ok(None),
        Some("ENABLED") => Ok(Some(CampaignStatus::Enabled)),
        Some("PAUSED") => Ok(Some(CampaignStatus::Paused)),
        Some(_) => Err(()),
    }
}

pub(super) fn mutate_campaigns(
    s: &mut State,
    acc: &Account,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Value, GErr> {
    let ops = operations(body)?;
    let mut planned = Vec::new();
    let mut errors = Vec::new();
    let existing_names: Vec<String> = s
        .world
        .campaigns_of(Platform::Google, &acc.id)
        .filter(|c| c.status() != CampaignStatus::Removed)
        .map(|c| c.name.clone())
        .collect();
    let budget_of = |rn: &str| {
        resource_id(rn, &acc.id, "campaignBudgets")
            .filter(|id| {
                s.world
                    .budget(Platform::Google, id)
                    .is_some_and(|b| b.account_id == acc.id)
            })
            .map(String::from)
    };
    let campaign_of = |rn: &str| {
        resource_id(rn, &acc.id, "campaigns")
            .and_then(|id| s.world.campaign(Platform::Google, id))
            .filter(|c| c.account_id == acc.id)
    };
    for (i, op) in ops.iter().enumerate() {
        if let Some(c) = op.get("create") {
            let before = errors.len();
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .trim()
                .to_string();
            if name.is_empty() {
                errors.push(op_error(
                    "fieldError",
                    "REQUIRED",
                    "The required field was not present.",
                    i,
                    "create",
                    "name",
                ));
            } else if existing_names.contains(&name) {
                errors.push(op_error(
                    "campaignError",
                    "DUPLICATE_CAMPAIGN_NAME",
                    "A campaign with this name already exists.",
                    i,
                    "create",
                    "name",
                ));
            }
            let budget = match c.get("campaignBudget").and_then(Value::as_str) {
                Some(rn) => match budget_of(rn) {
                    Some(b) => Some(b),
                    None => {
                        errors.push(op_error(
                            "mutateError",
                            "RESOURCE_NOT_FOUND",
                            format!("Budget '{rn}' was not found."),
                            i,
                            "create",
                            "campaign_budget",
                        ));
                        None
                    }
                },
                None => {
                    errors.push(op_error(
                        "fieldError",
                        "REQUIRED",
                        "The required field was not present.",
                        i,
                        "create",
                        "campaign_budget",
                    ));
                    None
                }
            };
            let channel = c
                .get("advertisingChannelType")
                .and_then(Value::as_str)
                .unwrap_or("");
            if !CHANNEL_TYPES.contains(&channel) {
                errors.push(op_error(
                    "fieldError",
                    "REQUIRED",
                    "advertisingChannelType is required (SEARCH, DISPLAY, ...).",
                    i,
                    "create",
                    "advertising_channel_type",
                ));
            }
            match c
                .get("containsEuPoliticalAdvertising")
                .and_then(Value::as_str)
            {
                Some("DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING")
                | Some("CONTAINS_EU_POLITICAL_ADVERTISING") => {}
                _ => errors.push(op_error(
                    "fieldError",
                    "REQUIRED",
                    "The required field was not present.",
                    i,
                    "create",
                    "contains_eu_political_advertising",
                )),
            }
            let status = match status_field(c.get("status")) {
                Ok(st) => st.unwrap_or(CampaignStatus::Enabled),
                Err(()) => {
                    errors.push(op_error(
                        "requestError",
                        "INVALID_ENUM_VALUE",
                        "status must be ENABLED or PAUSED on create.",
                        i,
                        "create",
                        "status",
                    ));
                    CampaignStatus::Paused
                }
            };
            if errors.len() == before
                && let Some(budget) = budget
            {
                planned.push(CampaignOp::Create {
                    name,
                    budget,
                    status,
                    channel: channel.to_string(),
                });
            }
        } else if let Some(u) = op.get("update") {
            let rn = u.get("resourceName").and_then(Value::as_str).unwrap_or("");
            let Some(c) = campaign_of(rn) else {
                errors.push(op_error(
                    "mutateError",
                    "RESOURCE_NOT_FOUND",
                    format!("Campaign '{rn}' was not found."),
                    i,
                    "update",
                    "resource_name",
                ));
                continue;
            };
            if c.status() == CampaignStatus::Removed {
                errors.push(op_error(
                    "campaignError",
                    "CANNOT_MODIFY_FOR_REMOVED_CAMPAIGN",
                    "A removed campaign cannot be changed.",
                    i,
                    "update",
                    "status",
                ));
                continue;
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
                continue;
            }
            let (mut status, mut name, mut budget) = (None, None, None);
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
                    "campaignBudget" | "campaign_budget" => match u
                        .get("campaignBudget")
                        .and_then(Value::as_str)
                        .and_then(budget_of)
                    {
                        Some(b) => budget = Some(b),
                        None => errors.push(op_error(
                            "mutateError",
                            "RESOURCE_NOT_FOUND",
                            "The budget was not found.",
                            i,
                            "update",
                            "campaign_budget",
                        )),
                    },
                    other => errors.push(op_error(
                        "fieldMaskError",
                        "FIELD_NOT_FOUND",
                        format!("The sandbox cannot update '{other}' on campaigns."),
                        i,
                        "update",
                        other,
                    )),
                }
            }
            planned.push(CampaignOp::Update {
                id: c.id.clone(),
                status,
                name,
                budget,
            });
        } else if let Some(rn) = op.get("remove").and_then(Value::as_str) {
            match campaign_of(rn) {
                Some(c) => planned.push(CampaignOp::Remove { id: c.id.clone() }),
                None => errors.push(op_error(
                    "mutateError",
                    "RESOURCE_NOT_FOUND",
                    format!("Campaign '{rn}' was not found."),
                    i,
                    "remove",
                    "resource_name",
                )),
            }
        } else {
            errors.push(op_error(
                "requestError",
                "INVALID_INPUT",
                "Expected a create, update or remove operation.",
                i,
                "operation",
                "operation",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(failed(errors));
    }
    if body.get("validateOnly") == Some(&Value::Bool(true)) {
        return Ok(json!({}));
    }
    let mut results = Vec::new();
    for p in planned {
        let id = match p {
            CampaignOp::Create {
                name,
                budget,
                status,
                channel,
            } => {
                let id = s.world.new_id(Platform::Google, IdKind::Campaign);
                s.world
                    .add_campaign(acc, id.clone(), name, channel, Some(budget), status, now);
                id
            }
            CampaignOp::Update {
                id,
                status,
                name,
                budget,
            } => {
                if let Some(st) = status {
                    s.world.set_status(Platform::Google, &id, st, now);
                }
                if let Some(cm) = s.world.campaign_mut(Platform::Google, &id) {
                    if let Some(n) = name {
                        cm.name = n;
                    }
                    if let Some(b) = budget {
                        cm.budget_id = Some(b);
                    }
                }
                id
            }
            CampaignOp::Remove { id } => {
                s.world
                    .set_status(Platform::Google, &id, CampaignStatus::Removed, now);
                id
            }
        };
        results.push(json!({"resourceName": format!("customers/{}/campaigns/{id}", acc.id)}));
    }
    s.dirty = true;
    Ok(json!({ "results": results }))
}
