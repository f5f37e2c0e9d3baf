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
use crate::sandbox::world::{
    Account, Campaign, CampaignStatus, IdKind, NewCampaign, World, micros_per_minor,
};
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
        let p = if let Some(c) = op.get("create") {
            plan_budget_create(&s.world, acc, i, c, &mut errors)
        } else if let Some(u) = op.get("update") {
            plan_budget_update(&s.world, acc, i, op, u, &mut errors)
        } else {
            errors.push(op_error(
                "requestError",
                "INVALID_INPUT",
                "Expected a create or update operation (the sandbox does not remove budgets).",
                i,
                "operation",
                "operation",
            ));
            None
        };
        planned.extend(p);
    }
    if !errors.is_empty() {
        return Err(failed(errors));
    }
    if body.get("validateOnly") == Some(&Value::Bool(true)) {
        return Ok(json!({}));
    }
    let mut results = Vec::new();
    for p in planned {
        let id = apply_budget(&mut s.world, acc, p, now);
        results.push(json!({"resourceName": format!("customers/{}/campaignBudgets/{id}", acc.id)}));
    }
    s.dirty = true;
    Ok(json!({ "results": results }))
}

/// A budget amount read from an operation, its refusal pushed to `errors` when it has one.
fn budget_amount(
    v: Option<&Value>,
    acc: &Account,
    (i, op): (usize, &str),
    errors: &mut Vec<Value>,
    missing: &str,
) -> Option<i64> {
    match v.map(|v| amount_micros(v, acc)) {
        Some(Ok(a)) => Some(a),
        Some(Err(code)) => {
            errors.push(op_error(
                "campaignBudgetError",
                code,
                "The budget amount is not valid for this currency.",
                i,
                op,
                "amount_micros",
            ));
            None
        }
        None => {
            errors.push(op_error(
                "fieldError",
                "REQUIRED",
                missing,
                i,
                op,
                "amount_micros",
            ));
            None
        }
    }
}

fn plan_budget_create(
    w: &World,
    acc: &Account,
    i: usize,
    c: &Value,
    errors: &mut Vec<Value>,
) -> Option<BudgetOp> {
    let amount = budget_amount(
        c.get("amountMicros"),
        acc,
        (i, "create"),
        errors,
        "The required field was not present.",
    )?;
    let name = c
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !name.is_empty()
        && w.budgets
            .iter()
            .any(|b| b.platform == Platform::Google && b.account_id == acc.id && b.name == name)
    {
        errors.push(op_error(
            "campaignBudgetError",
            "DUPLICATE_NAME",
            "A budget with this name already exists.",
            i,
            "create",
            "name",
        ));
        return None;
    }
    Some(BudgetOp::Create { name, amount })
}

fn plan_budget_update(
    w: &World,
    acc: &Account,
    i: usize,
    op: &Value,
    u: &Value,
    errors: &mut Vec<Value>,
) -> Option<BudgetOp> {
    let rn = u.get("resourceName").and_then(Value::as_str).unwrap_or("");
    let Some(id) = resource_id(rn, &acc.id, "campaignBudgets").filter(|id| {
        w.budget(Platform::Google, id)
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
        return None;
    };
    let mask = update_mask(op);
    if mask.is_empty() {
        errors.push(mask_missing(i));
        return None;
    }
    let mut amount = None;
    let mut name = None;
    let before = errors.len();
    for f in &mask {
        match f.as_str() {
            "amountMicros" | "amount_micros" => {
                amount = budget_amount(
                    u.get("amountMicros"),
                    acc,
                    (i, "update"),
                    errors,
                    "amountMicros is in updateMask but missing.",
                );
            }
            "name" => name = u.get("name").and_then(Value::as_str).map(String::from),
            other => errors.push(op_error(
                "fieldMaskError",
                "FIELD_NOT_FOUND",
                format!("The sandbox cannot update '{other}' on budgets."),
                i,
                "update",
                other,
            )),
        }
    }
    (errors.len() == before).then(|| BudgetOp::Update {
        id: id.to_string(),
        amount,
        name,
    })
}

fn mask_missing(i: usize) -> Value {
    op_error(
        "fieldMaskError",
        "FIELD_MASK_MISSING",
        "updateMask is required for update operations.",
        i,
        "update",
        "update_mask",
    )
}

/// Writes one checked budget operation; the budget's id.
fn apply_budget(w: &mut World, acc: &Account, p: BudgetOp, now: DateTime<Utc>) -> String {
    match p {
        BudgetOp::Create { name, amount } => {
            let id = w.new_id(Platform::Google, IdKind::Budget);
            let name = if name.is_empty() {
                format!("Budget {id}")
            } else {
                name
            };
            w.add_budget(Platform::Google, &acc.id, id.clone(), name, amount, now);
            id
        }
        BudgetOp::Update { id, amount, name } => {
            if let Some(a) = amount {
                w.set_budget(Platform::Google, &id, a, now);
            }
            if let Some(n) = name
                && let Some(b) = w.budget_mut(Platform::Google, &id)
            {
                b.name = n;
            }
            id
        }
    }
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
    let mut plan = CampaignPlan {
        w: &s.world,
        acc,
        existing_names: s
            .world
            .campaigns_of(Platform::Google, &acc.id)
            .filter(|c| c.status() != CampaignStatus::Removed)
            .map(|c| c.name.clone())
            .collect(),
        errors: Vec::new(),
    };
    let mut planned = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        let p = if let Some(c) = op.get("create") {
            plan.create(i, c)
        } else if let Some(u) = op.get("update") {
            plan.update(i, op, u)
        } else if let Some(rn) = op.get("remove").and_then(Value::as_str) {
            plan.remove(i, rn)
        } else {
            plan.errors.push(op_error(
                "requestError",
                "INVALID_INPUT",
                "Expected a create, update or remove operation.",
                i,
                "operation",
                "operation",
            ));
            None
        };
        planned.extend(p);
    }
    let errors = plan.errors;
    if !errors.is_empty() {
        return Err(failed(errors));
    }
    if body.get("validateOnly") == Some(&Value::Bool(true)) {
        return Ok(json!({}));
    }
    let mut results = Vec::new();
    for p in planned {
        let id = apply_campaign(&mut s.world, acc, p, now);
        results.push(json!({"resourceName": format!("customers/{}/campaigns/{id}", acc.id)}));
    }
    s.dirty = true;
    Ok(json!({ "results": results }))
}

/// A `campaigns:mutate` request checked operation by operation before anything is written.
struct CampaignPlan<'a> {
    w: &'a World,
    acc: &'a Account,
    existing_names: Vec<String>,
    errors: Vec<Value>,
}

impl<'a> CampaignPlan<'a> {
    fn budget_of(&self, rn: &str) -> Option<String> {
        resource_id(rn, &self.acc.id, "campaignBudgets")
            .filter(|id| {
                self.w
                    .budget(Platform::Google, id)
                    .is_some_and(|b| b.account_id == self.acc.id)
            })
            .map(String::from)
    }

    fn campaign_of(&self, rn: &str) -> Option<&'a Campaign> {
        let w: &'a World = self.w;
        resource_id(rn, &self.acc.id, "campaigns")
            .and_then(|id| w.campaign(Platform::Google, id))
            .filter(|c| c.account_id == self.acc.id)
    }

    fn error(
        &mut self,
        kind: &str,
        code: &str,
        message: impl Into<String>,
        i: usize,
        op: &str,
        field: &str,
    ) {
        self.errors
            .push(op_error(kind, code, message, i, op, field));
    }

    fn required(&mut self, i: usize, op: &str, field: &str) {
        self.error(
            "fieldError",
            "REQUIRED",
            "The required field was not present.",
            i,
            op,
            field,
        );
    }

    fn create(&mut self, i: usize, c: &Value) -> Option<CampaignOp> {
        let before = self.errors.len();
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        if name.is_empty() {
            self.required(i, "create", "name");
        } else if self.existing_names.contains(&name) {
            self.error(
                "campaignError",
                "DUPLICATE_CAMPAIGN_NAME",
                "A campaign with this name already exists.",
                i,
                "create",
                "name",
            );
        }
        let budget = match c.get("campaignBudget").and_then(Value::as_str) {
            Some(rn) => {
                let b = self.budget_of(rn);
                if b.is_none() {
                    self.error(
                        "mutateError",
                        "RESOURCE_NOT_FOUND",
                        format!("Budget '{rn}' was not found."),
                        i,
                        "create",
                        "campaign_budget",
                    );
                }
                b
            }
            None => {
                self.required(i, "create", "campaign_budget");
                None
            }
        };
        let channel = c
            .get("advertisingChannelType")
            .and_then(Value::as_str)
            .unwrap_or("");
        if !CHANNEL_TYPES.contains(&channel) {
            self.error(
                "fieldError",
                "REQUIRED",
                "advertisingChannelType is required (SEARCH, DISPLAY, ...).",
                i,
                "create",
                "advertising_channel_type",
            );
        }
        if !matches!(
            c.get("containsEuPoliticalAdvertising")
                .and_then(Value::as_str),
            Some("DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING" | "CONTAINS_EU_POLITICAL_ADVERTISING")
        ) {
            self.required(i, "create", "contains_eu_political_advertising");
        }
        let status = match status_field(c.get("status")) {
            Ok(st) => st.unwrap_or(CampaignStatus::Enabled),
            Err(()) => {
                self.error(
                    "requestError",
                    "INVALID_ENUM_VALUE",
                    "status must be ENABLED or PAUSED on create.",
                    i,
                    "create",
                    "status",
                );
                CampaignStatus::Paused
            }
        };
        let budget = budget.filter(|_| self.errors.len() == before)?;
        Some(CampaignOp::Create {
            name,
            budget,
            status,
            channel: channel.to_string(),
        })
    }

    fn update(&mut self, i: usize, op: &Value, u: &Value) -> Option<CampaignOp> {
        let rn = u.get("resourceName").and_then(Value::as_str).unwrap_or("");
        let Some(c) = self.campaign_of(rn) else {
            self.error(
                "mutateError",
                "RESOURCE_NOT_FOUND",
                format!("Campaign '{rn}' was not found."),
                i,
                "update",
                "resource_name",
            );
            return None;
        };
        if c.status() == CampaignStatus::Removed {
            self.error(
                "campaignError",
                "CANNOT_MODIFY_FOR_REMOVED_CAMPAIGN",
                "A removed campaign cannot be changed.",
                i,
                "update",
                "status",
            );
            return None;
        }
        let mask = update_mask(op);
        if mask.is_empty() {
            self.errors.push(mask_missing(i));
            return None;
        }
        let (mut status, mut name, mut budget) = (None, None, None);
        for f in &mask {
            match f.as_str() {
                "status" => match status_field(u.get("status")) {
                    Ok(Some(st)) => status = Some(st),
                    _ => self.error(
                        "requestError",
                        "INVALID_ENUM_VALUE",
                        "status must be ENABLED or PAUSED (use remove to remove).",
                        i,
                        "update",
                        "status",
                    ),
                },
                "name" => match u
                    .get("name")
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                {
                    Some(n) => name = Some(n.to_string()),
                    None => self.error(
                        "fieldError",
                        "REQUIRED",
                        "name is in updateMask but empty.",
                        i,
                        "update",
                        "name",
                    ),
                },
                "campaignBudget" | "campaign_budget" => match u
                    .get("campaignBudget")
                    .and_then(Value::as_str)
                    .and_then(|rn| self.budget_of(rn))
                {
                    Some(b) => budget = Some(b),
                    None => self.error(
                        "mutateError",
                        "RESOURCE_NOT_FOUND",
                        "The budget was not found.",
                        i,
                        "update",
                        "campaign_budget",
                    ),
                },
                other => self.error(
                    "fieldMaskError",
                    "FIELD_NOT_FOUND",
                    format!("The sandbox cannot update '{other}' on campaigns."),
                    i,
                    "update",
                    other,
                ),
            }
        }
        Some(CampaignOp::Update {
            id: c.id.clone(),
            status,
            name,
            budget,
        })
    }

    fn remove(&mut self, i: usize, rn: &str) -> Option<CampaignOp> {
        let found = self
            .campaign_of(rn)
            .map(|c| CampaignOp::Remove { id: c.id.clone() });
        if found.is_none() {
            self.error(
                "mutateError",
                "RESOURCE_NOT_FOUND",
                format!("Campaign '{rn}' was not found."),
                i,
                "remove",
                "resource_name",
            );
        }
        found
    }
}

/// Writes one checked campaign operation; the campaign's id.
fn apply_campaign(w: &mut World, acc: &Account, p: CampaignOp, now: DateTime<Utc>) -> String {
    match p {
        CampaignOp::Create {
            name,
            budget,
            status,
            channel,
        } => {
            let id = w.new_id(Platform::Google, IdKind::Campaign);
            let new = NewCampaign {
                id: id.clone(),
                name,
                objective: channel,
                budget_id: Some(budget),
                status,
            };
            w.add_campaign(acc, new, now);
            id
        }
        CampaignOp::Update {
            id,
            status,
            name,
            budget,
        } => {
            if let Some(st) = status {
                w.set_status(Platform::Google, &id, st, now);
            }
            if let Some(cm) = w.campaign_mut(Platform::Google, &id) {
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
            w.set_status(Platform::Google, &id, CampaignStatus::Removed, now);
            id
        }
    }
}
