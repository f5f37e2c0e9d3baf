//! `googleAds:mutate` (heterogeneous operations with temporary resource names, one
//! transaction) and `geoTargetConstants:suggest`.
//!
//! The whole request is validated before anything is written, like Google's atomic mode: one
//! refused operation leaves nothing behind, and every error carries `fieldPathElements`
//! starting at `mutate_operations[i]`. `partialFailure: true` is refused (not imitated);
//! `validateOnly` answers `{}`. Only `create` operations of the six types a complete Search
//! campaign needs are served.

use std::collections::{HashMap, HashSet};

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{GErr, gerr, invalid};
use crate::sandbox::create_store::{self, Criterion, KeywordCriterion};
use crate::sandbox::hierarchy::{Ad, AdGroup, Bid};
use crate::sandbox::server::State;
use crate::sandbox::wire::decimal_from_json;
use crate::sandbox::world::{
    Account, CampaignStatus, Change, IdKind, NewCampaign, World, micros_per_minor,
};
use crate::types::Platform;

const HEADLINE_MAX: usize = 30;
const DESCRIPTION_MAX: usize = 90;
const PATH_MAX: usize = 15;
const KEYWORD_MAX: usize = 80;
const KEYWORD_WORDS: usize = 10;

/// Google counts East Asian wide and full-width characters twice in ad text.
fn width(s: &str) -> usize {
    s.chars()
        .map(|c| {
            let u = c as u32;
            let wide = matches!(u,
                0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF
                | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF
                | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6);
            if wide { 2 } else { 1 }
        })
        .sum()
}

/// One path element: a field name and, for repeated fields, the index.
type Step<'a> = (&'a str, Option<usize>);

struct Errors {
    list: Vec<Value>,
}

impl Errors {
    fn add(
        &mut self,
        kind: &str,
        code: &str,
        message: &str,
        trigger: Option<&str>,
        path: &[Step<'_>],
    ) {
        let mut elements = Vec::new();
        for (name, index) in path {
            match index {
                Some(i) => elements.push(json!({"fieldName": name, "index": i})),
                None => elements.push(json!({"fieldName": name})),
            }
        }
        let mut e = json!({
            "errorCode": {kind: code},
            "message": message,
            "location": {"fieldPathElements": elements},
        });
        if let Some(t) = trigger {
            e["trigger"] = json!({"stringValue": t});
        }
        self.list.push(e);
    }
}

/// A reference to a resource: made earlier in this request (temporary id) or existing.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Ref {
    Temp(i64),
    Real(String),
}

enum Planned {
    Budget {
        temp: Option<i64>,
        name: String,
        amount: i64,
    },
    Campaign {
        temp: Option<i64>,
        name: String,
        budget: Ref,
        status: CampaignStatus,
        channel: String,
    },
    Criterion {
        campaign: Ref,
        kind: &'static str,
        value: String,
        negative: bool,
    },
    AdGroup {
        temp: Option<i64>,
        campaign: Ref,
        name: String,
        status: CampaignStatus,
        cpc: Option<i64>,
    },
    Keyword {
        ad_group: Ref,
        text: String,
        match_type: String,
        negative: bool,
        status: CampaignStatus,
    },
    Ad {
        ad_group: Ref,
        status: CampaignStatus,
        headlines: Vec<String>,
        descriptions: Vec<String>,
        final_url: String,
    },
}

/// The operation kinds served, with their snake-case name for error paths and result key.
const KINDS: [(&str, &str, &str); 6] = [
    (
        "campaignBudgetOperation",
        "campaign_budget_operation",
        "campaignBudgetResult",
    ),
    ("campaignOperation", "campaign_operation", "campaignResult"),
    (
        "campaignCriterionOperation",
        "campaign_criterion_operation",
        "campaignCriterionResult",
    ),
    ("adGroupOperation", "ad_group_operation", "adGroupResult"),
    (
        "adGroupCriterionOperation",
        "ad_group_criterion_operation",
        "adGroupCriterionResult",
    ),
    (
        "adGroupAdOperation",
        "ad_group_ad_operation",
        "adGroupAdResult",
    ),
];

fn status_of(v: Option<&Value>) -> Result<CampaignStatus, ()> {
    match v.and_then(Value::as_str) {
        None | Some("ENABLED") => Ok(CampaignStatus::Enabled),
        Some("PAUSED") => Ok(CampaignStatus::Paused),
        Some(_) => Err(()),
    }
}

/// `customers/{cid}/{collection}/{id}` → the id, when the customer and collection match.
fn parse_rn<'a>(rn: &'a str, cid: &str, collection: &str) -> Option<&'a str> {
    let rest = rn.strip_prefix("customers/")?;
    let (c, rest) = rest.split_once('/')?;
    let (coll, id) = rest.split_once('/')?;
    (c == cid && coll == collection && !id.is_empty()).then_some(id)
}

fn is_http_url(s: &str) -> bool {
    let Ok(u) = url::Url::parse(s.trim()) else {
        return false;
    };
    matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| h.contains('.'))
}

struct Ctx<'a> {
    cid: &'a str,
    errors: Errors,
    /// Temporary ids defined so far, by collection.
    defined: HashMap<&'static str, HashSet<i64>>,
    all_temps: HashSet<i64>,
}

impl Ctx<'_> {
    /// The temporary id a create's own `resourceName` defines, if any.
    fn define(
        &mut self,
        op: &Value,
        collection: &'static str,
        path: &[Step<'_>],
    ) -> Result<Option<i64>, ()> {
        let Some(rn) = op.get("resourceName").and_then(Value::as_str) else {
            return Ok(None);
        };
        match parse_rn(rn, self.cid, collection).and_then(|id| id.parse::<i64>().ok()) {
            Some(t) if t < 0 && self.all_temps.insert(t) => {
                self.defined.entry(collection).or_default().insert(t);
                Ok(Some(t))
            }
            Some(t) if t < 0 => {
                self.errors.add(
                    "mutateError",
                    "DUPLICATE_TEMPORARY_ID",
                    "Temporary resource ids must be unique across the request.",
                    Some(rn),
                    path,
                );
                Err(())
            }
            _ => {
                self.errors.add(
                    "mutateError",
                    "INVALID_RESOURCE_NAME",
                    "A create may only name a temporary resource (a negative id).",
                    Some(rn),
                    path,
                );
                Err(())
            }
        }
    }

    /// A reference to another resource: a temporary id defined earlier, or an existing one.
    fn reference(
        &mut self,
        v: Option<&Value>,
        collection: &'static str,
        exists: &dyn Fn(&str) -> bool,
        path: &[Step<'_>],
    ) -> Option<Ref> {
        let Some(rn) = v.and_then(Value::as_str) else {
            self.errors.add(
                "fieldError",
                "REQUIRED",
                "The required field was not present.",
                None,
                path,
            );
            return None;
        };
        let id = parse_rn(rn, self.cid, collection);
        match id.map(|i| (i, i.parse::<i64>())) {
            Some((_, Ok(t))) if t < 0 => {
                if self.defined.get(collection).is_some_and(|s| s.contains(&t)) {
                    Some(Ref::Temp(t))
                } else {
                    self.errors.add("mutateError", "RESOURCE_NOT_FOUND", "The temporary resource is referenced before it is created in this request.", Some(rn), path);
                    None
                }
            }
            Some((i, _)) if exists(i) => Some(Ref::Real(i.to_string())),
            _ => {
                self.errors.add(
                    "mutateError",
                    "RESOURCE_NOT_FOUND",
                    "Resource was not found.",
                    Some(rn),
                    path,
                );
                None
            }
        }
    }
}

fn amount(v: Option<&Value>, acc: &Account) -> Result<i64, &'static str> {
    let d = v.and_then(decimal_from_json).ok_or("INVALID_AMOUNT")?;
    if d.fract() != rust_decimal::Decimal::ZERO {
        return Err("INVALID_AMOUNT");
    }
    let m = rust_decimal::prelude::ToPrimitive::to_i64(&d).ok_or("INVALID_AMOUNT")?;
    if m <= 0 {
        return Err("INVALID_AMOUNT");
    }
    if m % micros_per_minor(acc.currency) != 0 {
        return Err("NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT");
    }
    Ok(m)
}

pub(super) fn mutate_all(
    s: &mut State,
    acc: &Account,
    body: &Value,
    now: DateTime<Utc>,
) -> Result<Value, GErr> {
    let ops = match body.get("mutateOperations").and_then(Value::as_array) {
        Some(ops) if !ops.is_empty() => ops,
        _ => {
            return Err(invalid(
                "fieldError",
                "REQUIRED",
                "The required field 'mutate_operations' was not present or empty.",
            ));
        }
    };
    if body.get("partialFailure").and_then(Value::as_bool) == Some(true) {
        return Err(invalid(
            "requestError",
            "UNSUPPORTED",
            "The sandbox does not imitate partialFailure; send the operations atomically.",
        ));
    }
    let validate_only = body.get("validateOnly").and_then(Value::as_bool) == Some(true);
    let cid = acc.id.clone();
    let mut plan = Plan::new(&s.world, acc, &cid);
    for (i, op) in ops.iter().enumerate() {
        plan.operation(i, op);
    }
    let Plan { cx, planned, .. } = plan;
    if !cx.errors.list.is_empty() {
        return Err(gerr(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "Request contains an invalid argument.",
            cx.errors.list,
        ));
    }
    if validate_only {
        return Ok(json!({}));
    }
    Ok(apply(s, acc, planned, ops.len(), now))
}

/// One operation of the request: its index and kind, for error paths, and its `create` body.
struct Op<'v> {
    i: usize,
    snake: &'static str,
    c: &'v Value,
}

impl Op<'_> {
    fn base(&self) -> [Step<'static>; 3] {
        [
            ("mutate_operations", Some(self.i)),
            (self.snake, None),
            ("create", None),
        ]
    }

    /// The path to a field of this operation's `create`.
    fn at(&self, extra: &[Step<'static>]) -> Vec<Step<'static>> {
        let mut p = self.base().to_vec();
        p.extend_from_slice(extra);
        p
    }
}

/// Google's refusal of a keyword's text, if it refuses it: code and message.
fn keyword_text_error(text: &str) -> Option<(&'static str, &'static str)> {
    if text.is_empty() {
        Some(("KEYWORD_TEXT_TOO_SHORT", "Keyword text is empty."))
    } else if text.chars().count() > KEYWORD_MAX {
        Some(("KEYWORD_TEXT_TOO_LONG", "Keyword text is too long."))
    } else if text.split_whitespace().count() > KEYWORD_WORDS {
        Some(("KEYWORD_HAS_TOO_MANY_WORDS", "Keyword has too many words."))
    } else if text
        .chars()
        .any(|ch| "!@%^*=;<>,()[]{}|\\`~\"".contains(ch))
    {
        Some((
            "KEYWORD_HAS_INVALID_CHARS",
            "Keyword has invalid characters.",
        ))
    } else {
        None
    }
}

fn campaign_exists(w: &World, acc: &Account, id: &str) -> bool {
    w.campaign(Platform::Google, id)
        .is_some_and(|c| c.account_id == acc.id && c.status() != CampaignStatus::Removed)
}

fn budget_exists(w: &World, acc: &Account, id: &str) -> bool {
    w.budget(Platform::Google, id)
        .is_some_and(|b| b.account_id == acc.id)
}

fn group_exists(w: &World, acc: &Account, id: &str) -> bool {
    w.ad_group(Platform::Google, id)
        .is_some_and(|g| g.account_id == acc.id && g.status() != CampaignStatus::Removed)
}

/// The whole request checked before anything is written: the names and keys already taken
/// (existing ones and those this request makes), the errors so far and the planned writes.
struct Plan<'a> {
    world: &'a World,
    acc: &'a Account,
    cx: Ctx<'a>,
    campaign_names: HashSet<String>,
    budget_names: HashSet<String>,
    group_names: HashSet<(Ref, String)>,
    keywords_seen: HashSet<(Ref, String, String, bool)>,
    criteria_seen: HashSet<(Ref, String)>,
    planned: Vec<(usize, Planned)>,
}

impl<'a> Plan<'a> {
    fn new(w: &'a World, acc: &'a Account, cid: &'a str) -> Self {
        let campaign_names = w
            .campaigns_of(Platform::Google, &acc.id)
            .filter(|c| c.status() != CampaignStatus::Removed)
            .map(|c| c.name.clone())
            .collect();
        let budget_names = w
            .budgets
            .iter()
            .filter(|b| b.platform == Platform::Google && b.account_id == acc.id)
            .map(|b| b.name.clone())
            .collect();
        let group_names = w
            .ad_groups
            .iter()
            .filter(|g| {
                g.platform == Platform::Google
                    && g.account_id == acc.id
                    && g.status() != CampaignStatus::Removed
            })
            .map(|g| (Ref::Real(g.campaign_id.clone()), g.name.clone()))
            .collect();
        let keywords_seen = w
            .created
            .keywords
            .iter()
            .filter(|k| k.account_id == acc.id)
            .map(|k| {
                (
                    Ref::Real(k.ad_group_id.clone()),
                    k.text.to_lowercase(),
                    k.match_type.clone(),
                    k.negative,
                )
            })
            .collect();
        // Keyed as the request's criteria are below: `KIND:value`.
        let criteria_seen = w
            .created
            .criteria
            .iter()
            .filter(|c| c.account_id == acc.id)
            .map(|c| {
                (
                    Ref::Real(c.campaign_id.clone()),
                    format!("{}:{}", c.kind, c.value),
                )
            })
            .collect();
        Plan {
            world: w,
            acc,
            cx: Ctx {
                cid,
                errors: Errors { list: Vec::new() },
                defined: HashMap::new(),
                all_temps: HashSet::new(),
            },
            campaign_names,
            budget_names,
            group_names,
            keywords_seen,
            criteria_seen,
            planned: Vec::new(),
        }
    }

    fn operation(&mut self, i: usize, op: &Value) {
        let Some(&(key, snake, _)) = KINDS.iter().find(|(k, _, _)| op.get(*k).is_some()) else {
            self.cx.errors.add("requestError", "UNSUPPORTED", "The sandbox serves campaign budget, campaign, campaign criterion, ad group, ad group criterion and ad group ad operations in googleAds:mutate.", None, &[("mutate_operations", Some(i))]);
            return;
        };
        let Some(c) = op.get(key).and_then(|o| o.get("create")) else {
            self.cx.errors.add(
                "requestError",
                "UNSUPPORTED",
                "The sandbox serves only create operations in googleAds:mutate.",
                None,
                &[("mutate_operations", Some(i)), (snake, None)],
            );
            return;
        };
        let op = Op { i, snake, c };
        match key {
            "campaignBudgetOperation" => self.plan_budget(&op),
            "campaignOperation" => self.plan_campaign(&op),
            "campaignCriterionOperation" => self.plan_criterion(&op),
            "adGroupOperation" => self.plan_ad_group(&op),
            "adGroupCriterionOperation" => self.plan_keyword(&op),
            _ => self.plan_ad(&op),
        }
    }

    fn plan_budget(&mut self, op: &Op<'_>) {
        let (acc, c) = (self.acc, op.c);
        let before = self.cx.errors.list.len();
        let temp = self
            .cx
            .define(c, "campaignBudgets", &op.at(&[("resource_name", None)]))
            .ok()
            .flatten();
        let amount = match amount(c.get("amountMicros"), acc) {
            Ok(a) => a,
            Err(code) => {
                self.cx.errors.add(
                    "campaignBudgetError",
                    code,
                    "The budget amount is not valid for this currency.",
                    None,
                    &op.at(&[("amount_micros", None)]),
                );
                0
            }
        };
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if !name.is_empty() && !self.budget_names.insert(name.clone()) {
            self.cx.errors.add(
                "campaignBudgetError",
                "DUPLICATE_NAME",
                "A budget with this name already exists.",
                Some(&name),
                &op.at(&[("name", None)]),
            );
        }
        if self.cx.errors.list.len() == before {
            self.planned
                .push((op.i, Planned::Budget { temp, name, amount }));
        }
    }

    fn plan_campaign(&mut self, op: &Op<'_>) {
        let (w, acc, c) = (self.world, self.acc, op.c);
        let before = self.cx.errors.list.len();
        let temp = self
            .cx
            .define(c, "campaigns", &op.at(&[("resource_name", None)]))
            .ok()
            .flatten();
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        if name.is_empty() {
            self.cx.errors.add(
                "fieldError",
                "REQUIRED",
                "The required field was not present.",
                None,
                &op.at(&[("name", None)]),
            );
        } else if !self.campaign_names.insert(name.clone()) {
            self.cx.errors.add(
                "campaignError",
                "DUPLICATE_CAMPAIGN_NAME",
                "A campaign already exists with this name.",
                Some(&name),
                &op.at(&[("name", None)]),
            );
        }
        let budget = self.cx.reference(
            c.get("campaignBudget"),
            "campaignBudgets",
            &|id: &str| budget_exists(w, acc, id),
            &op.at(&[("campaign_budget", None)]),
        );
        let channel = c
            .get("advertisingChannelType")
            .and_then(Value::as_str)
            .unwrap_or("");
        if channel != "SEARCH" {
            self.cx.errors.add(
                "campaignError",
                "INVALID_ADVERTISING_CHANNEL_TYPE",
                "The sandbox creates SEARCH campaigns in googleAds:mutate.",
                Some(channel),
                &op.at(&[("advertising_channel_type", None)]),
            );
        }
        match c
            .get("containsEuPoliticalAdvertising")
            .and_then(Value::as_str)
        {
            Some("DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING")
            | Some("CONTAINS_EU_POLITICAL_ADVERTISING") => {}
            _ => self.cx.errors.add(
                "fieldError",
                "REQUIRED",
                "The required field was not present.",
                None,
                &op.at(&[("contains_eu_political_advertising", None)]),
            ),
        }
        let strategies: Vec<&'static str> = [
            ("manualCpc", "MANUAL_CPC"),
            ("targetSpend", "TARGET_SPEND"),
            ("maximizeConversions", "MAXIMIZE_CONVERSIONS"),
            ("maximizeConversionValue", "MAXIMIZE_CONVERSION_VALUE"),
        ]
        .into_iter()
        .filter(|(k, _)| c.get(*k).is_some())
        .map(|(_, v)| v)
        .collect();
        if strategies.len() != 1 {
            self.cx.errors.add(
                "biddingError",
                "BIDDING_STRATEGY_NOT_SUPPORTED",
                "Set exactly one bidding strategy on the campaign.",
                None,
                &op.at(&[("campaign_bidding_strategy", None)]),
            );
        }
        let status = self.status(op);
        if self.cx.errors.list.len() == before
            && let Some(budget) = budget
        {
            self.planned.push((
                op.i,
                Planned::Campaign {
                    temp,
                    name,
                    budget,
                    status,
                    channel: channel.to_string(),
                },
            ));
        }
    }

    fn plan_criterion(&mut self, op: &Op<'_>) {
        let (w, acc, c) = (self.world, self.acc, op.c);
        let before = self.cx.errors.list.len();
        let campaign = self.cx.reference(
            c.get("campaign"),
            "campaigns",
            &|id: &str| campaign_exists(w, acc, id),
            &op.at(&[("campaign", None)]),
        );
        let negative = c.get("negative").and_then(Value::as_bool).unwrap_or(false);
        let (kind, value) = if let Some(l) = c.get("location") {
            let v = l
                .get("geoTargetConstant")
                .and_then(Value::as_str)
                .unwrap_or("");
            let id = v.strip_prefix("geoTargetConstants/").unwrap_or("");
            if create_store::place(id).is_none() {
                self.cx.errors.add(
                    "criterionError",
                    "INVALID_GEO_TARGET_CONSTANT",
                    "The geo target constant does not exist.",
                    Some(v),
                    &op.at(&[("location", None), ("geo_target_constant", None)]),
                );
            }
            ("LOCATION", id.to_string())
        } else if let Some(l) = c.get("language") {
            let v = l
                .get("languageConstant")
                .and_then(Value::as_str)
                .unwrap_or("");
            let id = v.strip_prefix("languageConstants/").unwrap_or("");
            if negative {
                self.cx.errors.add(
                    "criterionError",
                    "CANNOT_EXCLUDE_CRITERIA_TYPE",
                    "Languages cannot be excluded.",
                    None,
                    &op.at(&[("negative", None)]),
                );
            }
            if !create_store::LANGUAGES.iter().any(|(l, _)| *l == id) {
                self.cx.errors.add(
                    "criterionError",
                    "INVALID_LANGUAGE_CONSTANT",
                    "The language constant does not exist.",
                    Some(v),
                    &op.at(&[("language", None), ("language_constant", None)]),
                );
            }
            ("LANGUAGE", id.to_string())
        } else {
            self.cx.errors.add(
                "criterionError",
                "CRITERION_TYPE_NOT_SUPPORTED",
                "The sandbox serves location and language campaign criteria.",
                None,
                &op.base(),
            );
            ("", String::new())
        };
        if let Some(camp) = &campaign
            && !value.is_empty()
            && !self
                .criteria_seen
                .insert((camp.clone(), format!("{kind}:{value}")))
        {
            self.cx.errors.add(
                "campaignCriterionError",
                "DUPLICATE_CRITERION",
                "The campaign already has this criterion.",
                Some(&value),
                &op.base(),
            );
        }
        if self.cx.errors.list.len() == before
            && let Some(campaign) = campaign
        {
            self.planned.push((
                op.i,
                Planned::Criterion {
                    campaign,
                    kind,
                    value,
                    negative,
                },
            ));
        }
    }

    fn plan_ad_group(&mut self, op: &Op<'_>) {
        let (w, acc, c) = (self.world, self.acc, op.c);
        let before = self.cx.errors.list.len();
        let temp = self
            .cx
            .define(c, "adGroups", &op.at(&[("resource_name", None)]))
            .ok()
            .flatten();
        let campaign = self.cx.reference(
            c.get("campaign"),
            "campaigns",
            &|id: &str| campaign_exists(w, acc, id),
            &op.at(&[("campaign", None)]),
        );
        let name = c
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        if name.is_empty() {
            self.cx.errors.add(
                "fieldError",
                "REQUIRED",
                "The required field was not present.",
                None,
                &op.at(&[("name", None)]),
            );
        } else if name.chars().count() > 255 {
            self.cx.errors.add(
                "stringLengthError",
                "TOO_LONG",
                "Too long.",
                Some(&name),
                &op.at(&[("name", None)]),
            );
        } else if let Some(camp) = &campaign
            && !self.group_names.insert((camp.clone(), name.clone()))
        {
            self.cx.errors.add(
                "adGroupError",
                "DUPLICATE_ADGROUP_NAME",
                "AdGroup with the same name already exists for the campaign.",
                Some(&name),
                &op.at(&[("name", None)]),
            );
        }
        if let Some(t) = c.get("type").and_then(Value::as_str)
            && t != "SEARCH_STANDARD"
        {
            self.cx.errors.add(
                "adGroupError",
                "AD_GROUP_TYPE_NOT_VALID_FOR_ADVERTISING_CHANNEL_TYPE",
                "The ad group type is not valid for the campaign's channel type.",
                Some(t),
                &op.at(&[("type", None)]),
            );
        }
        let cpc = match c.get("cpcBidMicros") {
            None => None,
            Some(v) => match amount(Some(v), acc) {
                Ok(a) => Some(a),
                Err(code) => {
                    self.cx.errors.add(
                        "biddingError",
                        if code == "INVALID_AMOUNT" {
                            "BID_TOO_SMALL"
                        } else {
                            "BID_TOO_MANY_FRACTIONAL_DIGITS"
                        },
                        "The bid is not valid for this currency.",
                        None,
                        &op.at(&[("cpc_bid_micros", None)]),
                    );
                    None
                }
            },
        };
        let status = self.status(op);
        if self.cx.errors.list.len() == before
            && let Some(campaign) = campaign
        {
            self.planned.push((
                op.i,
                Planned::AdGroup {
                    temp,
                    campaign,
                    name,
                    status,
                    cpc,
                },
            ));
        }
    }

    fn plan_keyword(&mut self, op: &Op<'_>) {
        let (w, acc, c) = (self.world, self.acc, op.c);
        let before = self.cx.errors.list.len();
        let ad_group = self.cx.reference(
            c.get("adGroup"),
            "adGroups",
            &|id: &str| group_exists(w, acc, id),
            &op.at(&[("ad_group", None)]),
        );
        let negative = c.get("negative").and_then(Value::as_bool).unwrap_or(false);
        let Some(k) = c.get("keyword") else {
            self.cx.errors.add(
                "criterionError",
                "CRITERION_TYPE_NOT_SUPPORTED",
                "The sandbox serves keyword ad group criteria.",
                None,
                &op.base(),
            );
            return;
        };
        let text = k
            .get("text")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_string();
        let kpath = |f: &'static str| op.at(&[("keyword", None), (f, None)]);
        if let Some((code, message)) = keyword_text_error(&text) {
            let trigger = (!text.is_empty()).then_some(text.as_str());
            self.cx
                .errors
                .add("criterionError", code, message, trigger, &kpath("text"));
        }
        let match_type = k.get("matchType").and_then(Value::as_str).unwrap_or("");
        if !matches!(match_type, "EXACT" | "PHRASE" | "BROAD") {
            self.cx.errors.add(
                "fieldError",
                "REQUIRED",
                "The keyword match type must be EXACT, PHRASE or BROAD.",
                Some(match_type),
                &kpath("match_type"),
            );
        }
        let status = self.status(op);
        if let Some(g) = &ad_group
            && self.cx.errors.list.len() == before
            && !self.keywords_seen.insert((
                g.clone(),
                text.to_lowercase(),
                match_type.to_string(),
                negative,
            ))
        {
            self.cx.errors.add(
                "criterionError",
                "DUPLICATE_KEYWORD",
                "The ad group already has this keyword with this match type.",
                Some(&text),
                &kpath("text"),
            );
        }
        if self.cx.errors.list.len() == before
            && let Some(ad_group) = ad_group
        {
            self.planned.push((
                op.i,
                Planned::Keyword {
                    ad_group,
                    text,
                    match_type: match_type.to_string(),
                    negative,
                    status,
                },
            ));
        }
    }

    fn plan_ad(&mut self, op: &Op<'_>) {
        let (w, acc, c) = (self.world, self.acc, op.c);
        let before = self.cx.errors.list.len();
        let ad_group = self.cx.reference(
            c.get("adGroup"),
            "adGroups",
            &|id: &str| group_exists(w, acc, id),
            &op.at(&[("ad_group", None)]),
        );
        let status = self.status(op);
        let ad = c.get("ad").cloned().unwrap_or(Value::Null);
        let urls = self.final_urls(op, &ad);
        let Some(rsa) = ad.get("responsiveSearchAd") else {
            self.cx.errors.add(
                "adError",
                "AD_TYPE_NOT_SUPPORTED",
                "The sandbox creates responsive search ads.",
                None,
                &op.at(&[("ad", None)]),
            );
            return;
        };
        let (headlines, descriptions) = self.rsa_texts(op, rsa);
        if self.cx.errors.list.len() == before
            && let Some(ad_group) = ad_group
        {
            self.planned.push((
                op.i,
                Planned::Ad {
                    ad_group,
                    status,
                    headlines,
                    descriptions,
                    final_url: urls[0].clone(),
                },
            ));
        }
    }

    fn status(&mut self, op: &Op<'_>) -> CampaignStatus {
        status_of(op.c.get("status")).unwrap_or_else(|()| {
            self.cx.errors.add(
                "requestError",
                "INVALID_ENUM_VALUE",
                "status must be ENABLED or PAUSED on create.",
                None,
                &op.at(&[("status", None)]),
            );
            CampaignStatus::Paused
        })
    }

    fn final_urls(&mut self, op: &Op<'_>, ad: &Value) -> Vec<String> {
        let urls: Vec<String> = ad
            .get("finalUrls")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if urls.is_empty() {
            self.cx.errors.add(
                "adError",
                "FINAL_URL_REQUIRED",
                "The ad needs a final URL.",
                None,
                &op.at(&[("ad", None), ("final_urls", None)]),
            );
        }
        for (u, url) in urls.iter().enumerate() {
            if !is_http_url(url) {
                self.cx.errors.add(
                    "urlFieldError",
                    "INVALID_URL",
                    "The final URL is not a valid http or https address.",
                    Some(url),
                    &op.at(&[("ad", None), ("final_urls", Some(u))]),
                );
            }
        }
        urls
    }

    /// A responsive search ad's headlines and descriptions, their counts and widths checked.
    fn rsa_texts(&mut self, op: &Op<'_>, rsa: &Value) -> (Vec<String>, Vec<String>) {
        let texts = |field: &str| -> Vec<String> {
            rsa.get(field)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|x| {
                            x.get("text")
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string()
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        let headlines = texts("headlines");
        let descriptions = texts("descriptions");
        for (field, list, lo, hi, max, few, many) in [
            (
                "headlines",
                &headlines,
                3,
                15,
                HEADLINE_MAX,
                "TOO_FEW_HEADLINES",
                "TOO_MANY_HEADLINES",
            ),
            (
                "descriptions",
                &descriptions,
                2,
                4,
                DESCRIPTION_MAX,
                "TOO_FEW_DESCRIPTIONS",
                "TOO_MANY_DESCRIPTIONS",
            ),
        ] {
            if list.len() < lo {
                self.cx.errors.add(
                    "adError",
                    few,
                    &format!("A responsive search ad needs at least {lo} {field}."),
                    None,
                    &op.at(&[("ad", None), ("responsive_search_ad", None), (field, None)]),
                );
            } else if list.len() > hi {
                self.cx.errors.add(
                    "adError",
                    many,
                    &format!("A responsive search ad takes at most {hi} {field}."),
                    None,
                    &op.at(&[("ad", None), ("responsive_search_ad", None), (field, None)]),
                );
            }
            for (j, t) in list.iter().enumerate() {
                let p = op.at(&[
                    ("ad", None),
                    ("responsive_search_ad", None),
                    (field, Some(j)),
                    ("text", None),
                ]);
                if t.trim().is_empty() {
                    self.cx
                        .errors
                        .add("adError", "TEXT_TOO_SHORT", "Text is empty.", None, &p);
                } else if width(t) > max {
                    self.cx
                        .errors
                        .add("adError", "TOO_LONG", "Too long.", Some(t), &p);
                }
            }
        }
        for f in ["path1", "path2"] {
            if let Some(p) = rsa.get(f).and_then(Value::as_str)
                && width(p) > PATH_MAX
            {
                self.cx.errors.add(
                    "adError",
                    "TOO_LONG",
                    "Too long.",
                    Some(p),
                    &op.at(&[("ad", None), ("responsive_search_ad", None), (f, None)]),
                );
            }
        }
        (headlines, descriptions)
    }
}

/// Writes the validated operations in order; temporary ids become real ones.
fn apply(
    s: &mut State,
    acc: &Account,
    planned: Vec<(usize, Planned)>,
    count: usize,
    now: DateTime<Utc>,
) -> Value {
    let mut results = vec![json!({}); count];
    let mut writer = Writer {
        w: &mut s.world,
        acc,
        now,
        real: HashMap::new(),
    };
    for (i, p) in planned {
        let (key, rn) = writer.write(p);
        results[i] = json!({ key: {"resourceName": rn} });
    }
    s.dirty = true;
    json!({ "mutateOperationResponses": results })
}

/// Writes planned operations into the world, remembering which real id each temporary id got.
struct Writer<'a> {
    w: &'a mut World,
    acc: &'a Account,
    now: DateTime<Utc>,
    real: HashMap<i64, String>,
}

impl Writer<'_> {
    fn resolve(&self, r: &Ref) -> String {
        match r {
            Ref::Temp(t) => self.real.get(t).cloned().unwrap_or_default(),
            Ref::Real(id) => id.clone(),
        }
    }

    fn remember(&mut self, temp: Option<i64>, id: &str) {
        if let Some(t) = temp {
            self.real.insert(t, id.to_string());
        }
    }

    fn campaign_of(&self, ad_group: &str) -> String {
        self.w
            .ad_group(Platform::Google, ad_group)
            .map(|g| g.campaign_id.clone())
            .unwrap_or_default()
    }

    /// One planned operation written: its result key and resource name.
    fn write(&mut self, p: Planned) -> (&'static str, String) {
        let (cid, now) = (self.acc.id.clone(), self.now);
        match p {
            Planned::Budget { temp, name, amount } => {
                let id = self.w.new_id(Platform::Google, IdKind::Budget);
                let name = if name.is_empty() {
                    format!("Budget {id}")
                } else {
                    name
                };
                self.w
                    .add_budget(Platform::Google, &cid, id.clone(), name, amount, now);
                self.remember(temp, &id);
                (
                    "campaignBudgetResult",
                    format!("customers/{cid}/campaignBudgets/{id}"),
                )
            }
            Planned::Campaign {
                temp,
                name,
                budget,
                status,
                channel,
            } => {
                let id = self.w.new_id(Platform::Google, IdKind::Campaign);
                let budget = self.resolve(&budget);
                let new = NewCampaign {
                    id: id.clone(),
                    name,
                    objective: channel,
                    budget_id: Some(budget),
                    status,
                };
                self.w.add_campaign(self.acc, new, now);
                self.remember(temp, &id);
                ("campaignResult", format!("customers/{cid}/campaigns/{id}"))
            }
            Planned::Criterion {
                campaign,
                kind,
                value,
                negative,
            } => {
                let campaign = self.resolve(&campaign);
                let rn = format!("customers/{cid}/campaignCriteria/{campaign}~{value}");
                self.w.created.criteria.push(Criterion {
                    platform: Platform::Google,
                    account_id: cid,
                    campaign_id: campaign,
                    id: value.clone(),
                    kind: kind.to_string(),
                    value,
                    negative,
                });
                ("campaignCriterionResult", rn)
            }
            Planned::AdGroup {
                temp,
                campaign,
                name,
                status,
                cpc,
            } => self.ad_group(temp, &campaign, name, status, cpc),
            Planned::Keyword {
                ad_group,
                text,
                match_type,
                negative,
                status,
            } => {
                let id = self.w.new_id(Platform::Google, IdKind::Campaign);
                let ad_group = self.resolve(&ad_group);
                let campaign_id = self.campaign_of(&ad_group);
                let rn = format!("customers/{cid}/adGroupCriteria/{ad_group}~{id}");
                self.w.created.keywords.push(KeywordCriterion {
                    platform: Platform::Google,
                    account_id: cid,
                    campaign_id,
                    ad_group_id: ad_group,
                    id,
                    text,
                    match_type,
                    negative,
                    status: status.wire(Platform::Google).to_string(),
                });
                ("adGroupCriterionResult", rn)
            }
            Planned::Ad {
                ad_group,
                status,
                headlines,
                descriptions,
                final_url,
            } => self.ad(&ad_group, status, headlines, descriptions, final_url),
        }
    }

    fn ad_group(
        &mut self,
        temp: Option<i64>,
        campaign: &Ref,
        name: String,
        status: CampaignStatus,
        cpc: Option<i64>,
    ) -> (&'static str, String) {
        let (cid, now) = (self.acc.id.clone(), self.now);
        let id = self.w.new_id(Platform::Google, IdKind::Campaign);
        let campaign_id = self.resolve(campaign);
        self.w.ad_groups.push(AdGroup {
            platform: Platform::Google,
            account_id: cid.clone(),
            campaign_id,
            id: id.clone(),
            name,
            created_at: now,
            status_history: vec![Change {
                at: now,
                value: status,
            }],
            weight: 100,
            daily_budget_micros: None,
            bid: Bid {
                strategy: "MANUAL_CPC".into(),
                amount_micros: cpc,
            },
            kind: "SEARCH_STANDARD".into(),
        });
        self.remember(temp, &id);
        ("adGroupResult", format!("customers/{cid}/adGroups/{id}"))
    }

    fn ad(
        &mut self,
        ad_group: &Ref,
        status: CampaignStatus,
        headlines: Vec<String>,
        descriptions: Vec<String>,
        final_url: String,
    ) -> (&'static str, String) {
        let (cid, now) = (self.acc.id.clone(), self.now);
        let id = self.w.new_id(Platform::Google, IdKind::Campaign);
        let ad_group = self.resolve(ad_group);
        let campaign_id = self.campaign_of(&ad_group);
        let rn = format!("customers/{cid}/adGroupAds/{ad_group}~{id}");
        self.w.ads.push(Ad {
            platform: Platform::Google,
            account_id: cid,
            campaign_id,
            ad_group_id: ad_group,
            id,
            name: String::new(),
            created_at: now,
            status_history: vec![Change {
                at: now,
                value: status,
            }],
            weight: 100,
            ad_type: "RESPONSIVE_SEARCH_AD".into(),
            headlines,
            descriptions,
            primary_text: None,
            final_url,
            approval: "APPROVED".into(),
        });
        ("adGroupAdResult", rn)
    }
}

/// `POST /v{N}/geoTargetConstants:suggest` with `locationNames.names` (at most 25) or
/// `geoTargets.geoTargetConstants`.
pub(super) fn suggest(body: &Value) -> Result<Value, GErr> {
    let country = body.get("countryCode").and_then(Value::as_str);
    let locale = body.get("locale").and_then(Value::as_str).unwrap_or("en");
    let mut out = Vec::new();
    let render = |p: &create_store::Place, term: &str| {
        json!({
            "geoTargetConstant": {
                "resourceName": format!("geoTargetConstants/{}", p.id),
                "id": p.id, "name": p.name, "countryCode": p.country,
                "targetType": p.kind, "status": "ENABLED", "canonicalName": p.canonical,
            },
            "locale": locale,
            "reach": "1000000",
            "searchTerm": term,
        })
    };
    if let Some(names) = body
        .get("locationNames")
        .and_then(|l| l.get("names"))
        .and_then(Value::as_array)
    {
        if names.len() > 25 {
            return Err(invalid(
                "requestError",
                "TOO_MANY_NAMES",
                "At most 25 location names may be suggested at once.",
            ));
        }
        for n in names.iter().filter_map(Value::as_str) {
            for p in create_store::find_places(n, country) {
                out.push(render(p, n));
            }
        }
    } else if let Some(ids) = body
        .get("geoTargets")
        .and_then(|g| g.get("geoTargetConstants"))
        .and_then(Value::as_array)
    {
        for rn in ids.iter().filter_map(Value::as_str) {
            if let Some(p) =
                create_store::place(rn.strip_prefix("geoTargetConstants/").unwrap_or(rn))
            {
                out.push(render(p, ""));
            }
        }
    } else {
        return Err(invalid(
            "fieldError",
            "REQUIRED",
            "Either location_names or geo_targets is required.",
        ));
    }
    Ok(json!({ "geoTargetConstantSuggestions": out }))
}
