//! `googleAds:search` and `googleAds:searchStream`: GAQL over the sandbox's customers,
//! campaigns, budgets and daily metrics, with fixed-size pages bound to the query by their
//! `pageToken`.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use super::{GErr, invalid};
use crate::sandbox::gaql::{self, Condition, Literal, Op, Query};
use crate::sandbox::hierarchy::{Ad, AdGroup, ad_days, ad_group_days, has_ad_groups};
use crate::sandbox::metrics::{DayMetrics, campaign_days};
use crate::sandbox::rng;
use crate::sandbox::server::{App, State};
use crate::sandbox::wire::decimal_number;
use crate::sandbox::world::{Account, Budget, Campaign};
use crate::types::{Money, Platform};

fn camel(field: &str) -> String {
    field
        .split('.')
        .map(|part| {
            let mut out = String::new();
            let mut up = false;
            for ch in part.chars() {
                if ch == '_' {
                    up = true;
                } else if up {
                    out.push(ch.to_ascii_uppercase());
                    up = false;
                } else {
                    out.push(ch);
                }
            }
            out
        })
        .collect::<Vec<_>>()
        .join(".")
}

const CUSTOMER_FIELDS: [&str; 8] = [
    "id",
    "descriptive_name",
    "currency_code",
    "time_zone",
    "manager",
    "status",
    "resource_name",
    "test_account",
];
const CAMPAIGN_FIELDS: [&str; 8] = [
    "id",
    "name",
    "status",
    "resource_name",
    "campaign_budget",
    "advertising_channel_type",
    "start_date_time",
    "end_date_time",
];
const BUDGET_FIELDS: [&str; 9] = [
    "id",
    "name",
    "amount_micros",
    "resource_name",
    "delivery_method",
    "explicitly_shared",
    "status",
    "period",
    "total_amount_micros",
];
const AD_GROUP_FIELDS: [&str; 7] = [
    "id",
    "name",
    "status",
    "type",
    "cpc_bid_micros",
    "resource_name",
    "campaign",
];
const AD_GROUP_AD_FIELDS: [&str; 15] = [
    "status",
    "resource_name",
    "ad_group",
    "ad.id",
    "ad.name",
    "ad.type",
    "ad.resource_name",
    "ad.final_urls",
    "ad.responsive_search_ad.headlines",
    "ad.responsive_search_ad.descriptions",
    "ad.responsive_search_ad.path1",
    "ad.responsive_search_ad.path2",
    "policy_summary.approval_status",
    "policy_summary.review_status",
    "ad_strength",
];
const METRIC_FIELDS: [&str; 10] = [
    "impressions",
    "clicks",
    "cost_micros",
    "conversions",
    "conversions_value",
    "ctr",
    "average_cpc",
    "interactions",
    "all_conversions",
    "all_conversions_value",
];
/// Segments by conversion action; only conversion metrics may be selected with them.
const ACTION_SEGMENTS: [&str; 3] = [
    "conversion_action",
    "conversion_action_name",
    "conversion_action_category",
];
const CONVERSION_METRICS: [&str; 4] = [
    "conversions",
    "conversions_value",
    "all_conversions",
    "all_conversions_value",
];

/// The conversion actions every sandbox customer has: a primary purchase (all of the day's
/// conversions and value) and a secondary sign-up (in all_conversions only).
struct Action {
    id: &'static str,
    name: &'static str,
    category: &'static str,
    primary: bool,
}
const ACTIONS: [Action; 2] = [
    Action {
        id: "9001",
        name: "Purchase",
        category: "PURCHASE",
        primary: true,
    },
    Action {
        id: "9002",
        name: "Newsletter sign-up",
        category: "SIGNUP",
        primary: false,
    },
];

fn check_field(resource: &str, field: &str) -> Result<(), GErr> {
    let (prefix, name) = field.split_once('.').unwrap_or((field, ""));
    let known = match prefix {
        "customer" => CUSTOMER_FIELDS.contains(&name),
        "campaign" => CAMPAIGN_FIELDS.contains(&name),
        "campaign_budget" => BUDGET_FIELDS.contains(&name),
        "ad_group" => AD_GROUP_FIELDS.contains(&name),
        "ad_group_ad" => AD_GROUP_AD_FIELDS.contains(&name),
        "metrics" => METRIC_FIELDS.contains(&name),
        "segments" => name == "date" || ACTION_SEGMENTS.contains(&name),
        _ => false,
    };
    if !known {
        return Err(invalid(
            "queryError",
            "UNRECOGNIZED_FIELD",
            format!("Unrecognized field in the query: '{field}'."),
        ));
    }
    let allowed = match resource {
        "customer" => prefix == "customer",
        "campaign_budget" => prefix == "campaign_budget" || prefix == "customer",
        // A resource can select itself and the resources it belongs to, not its children.
        "campaign" => prefix != "ad_group" && prefix != "ad_group_ad",
        "ad_group" => prefix != "ad_group_ad",
        _ => true,
    };
    if !allowed {
        let code = if prefix == "metrics" || prefix == "segments" {
            "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE"
        } else {
            "PROHIBITED_RESOURCE_TYPE_IN_SELECT_CLAUSE"
        };
        return Err(invalid(
            "queryError",
            code,
            format!("'{field}' cannot be selected with FROM {resource} in the sandbox."),
        ));
    }
    Ok(())
}

/// One result row before it is rendered.
#[derive(Clone, Copy)]
struct Row<'a> {
    account: &'a Account,
    campaign: Option<&'a Campaign>,
    budget: Option<&'a Budget>,
    ad_group: Option<&'a AdGroup>,
    ad: Option<&'a Ad>,
    date: Option<NaiveDate>,
    metrics: Option<DayMetrics>,
    action: Option<&'a Action>,
}

/// Whether a day has anything to report for the action; rows with nothing are left out, as
/// Google does.
fn reports_action(x: &Action, m: &DayMetrics) -> bool {
    if x.primary {
        m.conversions != 0
    } else {
        m.clicks >= 10
    }
}

fn budget_name(cid: &str, b: &Budget) -> String {
    format!("customers/{cid}/campaignBudgets/{}", b.id)
}

fn value(row: &Row, field: &str) -> Value {
    let a = row.account;
    let (prefix, name) = field.split_once('.').unwrap_or((field, ""));
    match (prefix, name) {
        ("customer", _) => customer_value(a, name),
        ("campaign", _) => row
            .campaign
            .map_or(Value::Null, |c| campaign_value(row, c, name)),
        ("campaign_budget", _) => row.budget.map_or(Value::Null, |b| budget_value(a, b, name)),
        ("ad_group", _) => match (row.ad_group, row.campaign) {
            (Some(g), Some(c)) => ad_group_value(a, c, g, name),
            _ => Value::Null,
        },
        ("ad_group_ad", _) => match (row.ad, row.ad_group) {
            (Some(ad), Some(g)) => ad_group_ad_value(a, g, ad, name),
            _ => Value::Null,
        },
        ("segments", "date") => row
            .date
            .map(|d| json!(d.to_string()))
            .unwrap_or(Value::Null),
        ("segments", s) if ACTION_SEGMENTS.contains(&s) => match row.action {
            None => Value::Null,
            Some(x) => match s {
                "conversion_action" => {
                    json!(format!("customers/{}/conversionActions/{}", a.id, x.id))
                }
                "conversion_action_name" => json!(x.name),
                _ => json!(x.category),
            },
        },
        ("metrics", _) => row
            .metrics
            .map_or(Value::Null, |m| metrics_value(a, row.action, &m, name)),
        _ => Value::Null,
    }
}

fn customer_value(a: &Account, name: &str) -> Value {
    match name {
        "id" => json!(a.id),
        "descriptive_name" => json!(a.name),
        "currency_code" => json!(a.currency.as_str()),
        "time_zone" => json!(a.time_zone),
        "manager" | "test_account" => json!(false),
        "status" => json!("ENABLED"),
        "resource_name" => json!(format!("customers/{}", a.id)),
        _ => Value::Null,
    }
}

fn campaign_value(row: &Row, c: &Campaign, name: &str) -> Value {
    let a = row.account;
    match name {
        "id" => json!(c.id),
        "name" => json!(c.name),
        "status" => json!(c.status().wire(Platform::Google)),
        "resource_name" => json!(format!("customers/{}/campaigns/{}", a.id, c.id)),
        "campaign_budget" => row
            .budget
            .map(|b| json!(budget_name(&a.id, b)))
            .unwrap_or(Value::Null),
        "advertising_channel_type" => json!(c.objective),
        // In the customer's time zone, "yyyy-MM-dd HH:mm:ss" (v23+); no end is unset.
        "start_date_time" => json!(format!(
            "{} 00:00:00",
            a.local_date(c.created_at).format("%Y-%m-%d")
        )),
        "end_date_time" => c
            .ends_at
            .map(|t| {
                json!(
                    t.with_timezone(&a.tz())
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string()
                )
            })
            .unwrap_or(Value::Null),
        _ => Value::Null,
    }
}

fn budget_value(a: &Account, b: &Budget, name: &str) -> Value {
    match name {
        "id" => json!(b.id),
        "name" => json!(b.name),
        // A total budget (custom period) has no daily amount.
        "amount_micros" if b.lifetime_micros.is_some() => Value::Null,
        "amount_micros" => json!(b.current().to_string()),
        "period" if b.lifetime_micros.is_some() => json!("CUSTOM_PERIOD"),
        "period" => json!("DAILY"),
        "total_amount_micros" => b
            .lifetime_micros
            .map(|m| json!(m.to_string()))
            .unwrap_or(Value::Null),
        "resource_name" => json!(budget_name(&a.id, b)),
        "delivery_method" => json!("STANDARD"),
        "explicitly_shared" => json!(b.explicitly_shared),
        "status" => json!("ENABLED"),
        _ => Value::Null,
    }
}

fn ad_group_value(a: &Account, c: &Campaign, g: &AdGroup, name: &str) -> Value {
    match name {
        "id" => json!(g.id),
        "name" => json!(g.name),
        "status" => json!(g.status().wire(Platform::Google)),
        "type" => json!(g.kind),
        "cpc_bid_micros" => g
            .bid
            .amount_micros
            .map(|m| json!(m.to_string()))
            .unwrap_or(Value::Null),
        "resource_name" => json!(format!("customers/{}/adGroups/{}", a.id, g.id)),
        "campaign" => json!(format!("customers/{}/campaigns/{}", a.id, c.id)),
        _ => Value::Null,
    }
}

fn ad_group_ad_value(a: &Account, g: &AdGroup, ad: &Ad, name: &str) -> Value {
    match name {
        "status" => json!(ad.status().wire(Platform::Google)),
        "resource_name" => {
            json!(format!("customers/{}/adGroupAds/{}~{}", a.id, g.id, ad.id))
        }
        "ad_group" => json!(format!("customers/{}/adGroups/{}", a.id, g.id)),
        "ad.id" => json!(ad.id),
        "ad.name" => json!(ad.name),
        "ad.type" => json!(ad.ad_type),
        "ad.resource_name" => json!(format!("customers/{}/ads/{}", a.id, ad.id)),
        "ad.final_urls" => json!([ad.final_url]),
        "ad.responsive_search_ad.headlines" if ad.ad_type == "RESPONSIVE_SEARCH_AD" => {
            Value::Array(
                ad.headlines
                    .iter()
                    .enumerate()
                    .map(|(i, h)| {
                        if i == 0 {
                            json!({"text": h, "pinnedField": "HEADLINE_1"})
                        } else {
                            json!({"text": h})
                        }
                    })
                    .collect(),
            )
        }
        "ad.responsive_search_ad.descriptions" if ad.ad_type == "RESPONSIVE_SEARCH_AD" => {
            Value::Array(ad.descriptions.iter().map(|d| json!({"text": d})).collect())
        }
        "ad.responsive_search_ad.path1" if ad.ad_type == "RESPONSIVE_SEARCH_AD" => {
            json!("shop")
        }
        "policy_summary.approval_status" => json!(ad.approval),
        "policy_summary.review_status" => json!("REVIEWED"),
        "ad_strength" if ad.ad_type == "RESPONSIVE_SEARCH_AD" => json!("GOOD"),
        _ => Value::Null,
    }
}

fn metrics_value(a: &Account, action: Option<&Action>, m: &DayMetrics, name: &str) -> Value {
    // Sign-ups: one per ten clicks, seen only in all_conversions.
    let signups = m.clicks / 10;
    let value_of = |micros: i64| decimal_number(Money::new(micros, a.currency).to_major());
    if let Some(x) = action {
        let (count, value) = if x.primary {
            (m.conversions, m.revenue_micros)
        } else {
            (signups, 0)
        };
        return match name {
            "conversions" if x.primary => decimal_number(Decimal::from(count)),
            "conversions_value" if x.primary => value_of(value),
            "conversions" => decimal_number(Decimal::ZERO),
            "conversions_value" => value_of(0),
            "all_conversions" => decimal_number(Decimal::from(count)),
            "all_conversions_value" => value_of(value),
            _ => Value::Null,
        };
    }
    match name {
        // Clicks plus the other engagements Google counts (here one in eight more).
        "interactions" => json!((m.clicks + m.clicks / 8).to_string()),
        "all_conversions" => decimal_number(Decimal::from(m.conversions + signups)),
        "all_conversions_value" => value_of(m.revenue_micros),
        "impressions" => json!(m.impressions.to_string()),
        "clicks" => json!(m.clicks.to_string()),
        "cost_micros" => json!(m.spend_micros.to_string()),
        // Doubles on the wire; exact for whole conversions and minor-unit amounts.
        "conversions" => decimal_number(Decimal::from(m.conversions)),
        "conversions_value" => decimal_number(Money::new(m.revenue_micros, a.currency).to_major()),
        "ctr" => ratio(m.clicks, m.impressions),
        "average_cpc" => ratio(m.spend_micros, m.clicks),
        _ => Value::Null,
    }
}

fn ratio(num: i64, den: i64) -> Value {
    if den == 0 {
        return json!(0.0);
    }
    Decimal::from(num)
        .checked_div(Decimal::from(den))
        .map(|d| decimal_number(d.round_dp(10)))
        .unwrap_or(json!(0.0))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => {
            if *b {
                "TRUE".into()
            } else {
                "FALSE".into()
            }
        }
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn cmp_values(a: &str, b: &str) -> std::cmp::Ordering {
    match (a.parse::<Decimal>(), b.parse::<Decimal>()) {
        (Ok(x), Ok(y)) => x.cmp(&y),
        _ => a.cmp(b),
    }
}

fn like(pattern: &str, s: &str) -> bool {
    // '%' matches any run of characters; other characters match themselves.
    let parts: Vec<&str> = pattern.split('%').collect();
    let mut rest = s;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(p) => rest = &rest[p + part.len()..],
                None => return false,
            }
        }
    }
    parts.len() > 1 || rest.is_empty()
}

fn matches(row: &Row, c: &Condition, range: Option<(NaiveDate, NaiveDate)>) -> bool {
    let v = text(&value(row, c.field()));
    match c {
        Condition::Compare(_, op, lit) => {
            let o = cmp_values(&v, lit.text());
            match op {
                Op::Eq => v.eq_ignore_ascii_case(lit.text()) || o.is_eq(),
                Op::Ne => !(v.eq_ignore_ascii_case(lit.text()) || o.is_eq()),
                Op::Lt => o.is_lt(),
                Op::Le => o.is_le(),
                Op::Gt => o.is_gt(),
                Op::Ge => o.is_ge(),
                Op::Like => like(lit.text(), &v),
                Op::NotLike => !like(lit.text(), &v),
            }
        }
        Condition::In(_, vals, negated) => {
            let found = vals
                .iter()
                .any(|l| l.text().eq_ignore_ascii_case(&v) || cmp_values(&v, l.text()).is_eq());
            found != *negated
        }
        Condition::Between(_, a, b) => {
            cmp_values(&v, a.text()).is_ge() && cmp_values(&v, b.text()).is_le()
        }
        // Resolved into `range` per account.
        Condition::During(..) => match (range, row.date) {
            (Some((from, to)), Some(d)) => d >= from && d <= to,
            _ => true,
        },
    }
}

fn during(preset: &str, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), GErr> {
    let y = today - Duration::days(1);
    let month_start = today.with_day(1).unwrap_or(today);
    let days_from_monday = i64::from(today.weekday().num_days_from_monday());
    Ok(match preset {
        "TODAY" => (today, today),
        "YESTERDAY" => (y, y),
        "LAST_7_DAYS" => (today - Duration::days(7), y),
        "LAST_14_DAYS" => (today - Duration::days(14), y),
        "LAST_30_DAYS" => (today - Duration::days(30), y),
        "THIS_MONTH" => (month_start, today),
        "LAST_MONTH" => {
            let end = month_start - Duration::days(1);
            (end.with_day(1).unwrap_or(end), end)
        }
        "THIS_WEEK_MON_TODAY" => (today - Duration::days(days_from_monday), today),
        "LAST_WEEK_MON_SUN" => {
            let mon = today - Duration::days(days_from_monday + 7);
            (mon, mon + Duration::days(6))
        }
        other => {
            return Err(invalid(
                "queryError",
                "INVALID_VALUE_WITH_DURING_OPERATOR",
                format!("'{other}' is not a date range the sandbox knows for DURING."),
            ));
        }
    })
}

fn parse_date(l: &Literal) -> Result<NaiveDate, GErr> {
    NaiveDate::parse_from_str(l.text(), "%Y-%m-%d").map_err(|_| {
        invalid(
            "queryError",
            "INVALID_DATE_FORMAT",
            format!("'{}' is not a date in YYYY-MM-DD form.", l.text()),
        )
    })
}

/// The finite date range the WHERE clause allows, if it sets one.
fn date_range(q: &Query, today: NaiveDate) -> Result<Option<(NaiveDate, NaiveDate)>, GErr> {
    let mut from: Option<NaiveDate> = None;
    let mut to: Option<NaiveDate> = None;
    let lower = |f: &mut Option<NaiveDate>, d: NaiveDate| *f = Some(f.map_or(d, |x| x.max(d)));
    let upper = |t: &mut Option<NaiveDate>, d: NaiveDate| *t = Some(t.map_or(d, |x| x.min(d)));
    for c in q.conditions.iter().filter(|c| c.field() == "segments.date") {
        match c {
            Condition::Between(_, a, b) => {
                lower(&mut from, parse_date(a)?);
                upper(&mut to, parse_date(b)?);
            }
            Condition::During(_, p) => {
                let (a, b) = during(p, today)?;
                lower(&mut from, a);
                upper(&mut to, b);
            }
            Condition::Compare(_, op, l) => {
                let d = parse_date(l)?;
                match op {
                    Op::Eq => {
                        lower(&mut from, d);
                        upper(&mut to, d);
                    }
                    Op::Ge => lower(&mut from, d),
                    Op::Gt => lower(&mut from, d + Duration::days(1)),
                    Op::Le => upper(&mut to, d),
                    Op::Lt => upper(&mut to, d - Duration::days(1)),
                    _ => {}
                }
            }
            Condition::In(_, vals, false) => {
                for l in vals {
                    let d = parse_date(l)?;
                    from = Some(from.map_or(d, |x| x.min(d)));
                    to = Some(to.map_or(d, |x| x.max(d)));
                }
            }
            Condition::In(..) => {}
        }
    }
    Ok(match (from, to) {
        (Some(a), Some(b)) => Some((a, b)),
        _ => None,
    })
}

fn page_token(offset: usize, key: u64) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{offset}:{key:x}"))
}

fn read_page_token(token: &str, key: u64) -> Option<usize> {
    use base64::Engine;
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (offset, k) = s.split_once(':')?;
    (k == format!("{key:x}")).then(|| offset.parse().ok())?
}

fn render_row(row: &Row, q: &Query) -> Value {
    let mut out = Map::new();
    // `a.b.c` goes to {"a":{"b":{"c":v}}} (each part in lowerCamelCase); a null value leaves
    // only the objects on its way, as proto3 JSON does for unset fields.
    let mut put = |path: &str, v: Value| {
        let parts: Vec<String> = path.split('.').map(camel).collect();
        let Some((last, objs)) = parts.split_last() else {
            return;
        };
        let mut cur = &mut out;
        for o in objs {
            let entry = cur
                .entry(o.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(m) = entry else {
                return;
            };
            cur = m;
        }
        if !v.is_null() {
            cur.insert(last.clone(), v);
        }
    };
    for f in &q.fields {
        put(f, value(row, f));
    }
    // Every selected resource carries its resourceName.
    for (prefix, rn) in [
        ("customer", "customer.resource_name"),
        ("campaign", "campaign.resource_name"),
        ("campaign_budget", "campaign_budget.resource_name"),
        ("ad_group", "ad_group.resource_name"),
        ("ad_group_ad", "ad_group_ad.resource_name"),
        ("ad_group_ad.ad", "ad_group_ad.ad.resource_name"),
    ] {
        if q.fields
            .iter()
            .any(|f| f.starts_with(&format!("{prefix}.")))
        {
            put(rn, value(row, rn));
        }
    }
    Value::Object(out)
}

/// What the query asks for beyond its resource: the dates it covers and how rows are split.
struct Shape {
    today: NaiveDate,
    range: Option<(NaiveDate, NaiveDate)>,
    segmented: bool,
    wants_metrics: bool,
    by_action: bool,
}

/// The query text and its parsed form, once the request and every field in it are valid.
fn parse_request<'b>(app: &App, body: &'b Value) -> Result<(&'b str, Query), GErr> {
    if body.get("pageSize").is_some() {
        return Err(invalid(
            "requestError",
            "PAGE_SIZE_NOT_SUPPORTED",
            format!(
                "Setting the page size is not supported. Search Responses will have fixed page size of '{}' rows.",
                app.config.google_page_size
            ),
        ));
    }
    let Some(text_q) = body.get("query").and_then(Value::as_str) else {
        return Err(invalid(
            "fieldError",
            "REQUIRED",
            "The required field 'query' was not present.",
        ));
    };
    let q = gaql::parse(text_q).map_err(|e| invalid("queryError", e.code, e.message))?;
    if !matches!(
        q.resource.as_str(),
        "customer" | "campaign" | "campaign_budget" | "ad_group" | "ad_group_ad"
    ) {
        return Err(invalid(
            "queryError",
            "INVALID_RESOURCE_NAME",
            format!(
                "The sandbox serves FROM customer, campaign, campaign_budget, ad_group and ad_group_ad, not '{}'.",
                q.resource
            ),
        ));
    }
    for f in q
        .fields
        .iter()
        .map(String::as_str)
        .chain(q.conditions.iter().map(Condition::field))
    {
        check_field(&q.resource, f)?;
    }
    for (f, _) in &q.order_by {
        check_field(&q.resource, f)?;
    }
    Ok((text_q, q))
}

fn shape(q: &Query, today: NaiveDate) -> Result<Shape, GErr> {
    let range = date_range(q, today)?;
    let segmented = q.fields.iter().any(|f| f == "segments.date");
    let wants_metrics = q.fields.iter().any(|f| f.starts_with("metrics."))
        || q.conditions
            .iter()
            .any(|c| c.field().starts_with("metrics."));
    let by_action = q.fields.iter().any(|f| {
        f.strip_prefix("segments.")
            .is_some_and(|s| ACTION_SEGMENTS.contains(&s))
    });
    if by_action
        && let Some(f) = q.fields.iter().find(|f| {
            f.strip_prefix("metrics.")
                .is_some_and(|m| !CONVERSION_METRICS.contains(&m))
        })
    {
        return Err(invalid(
            "queryError",
            "PROHIBITED_METRIC_IN_SELECT_OR_WHERE_CLAUSE",
            format!("'{f}' cannot be selected with a conversion action segment."),
        ));
    }
    if segmented && range.is_none() {
        return Err(invalid(
            "queryError",
            "EXPECTED_FILTERS_ON_DATE_RANGE",
            "Filters on segments.date with a finite date range are required when segments.date is selected.",
        ));
    }
    Ok(Shape {
        today,
        range,
        segmented,
        wants_metrics,
        by_action,
    })
}

/// The values every row source needs: where the rows come from and how they are split.
struct Source<'a> {
    s: &'a State,
    acc: &'a Account,
    now: DateTime<Utc>,
    shape: &'a Shape,
}

impl Source<'_> {
    /// The dates metrics are read over; without a date filter, everything up to today.
    fn dates(&self) -> (NaiveDate, NaiveDate) {
        self.shape
            .range
            .unwrap_or((NaiveDate::MIN, self.shape.today))
    }

    fn bare_row(&self) -> Row<'_> {
        Row {
            account: self.acc,
            campaign: None,
            budget: None,
            ad_group: None,
            ad: None,
            date: None,
            metrics: None,
            action: None,
        }
    }
}

fn collect_rows<'a>(src: &'a Source<'a>, resource: &str) -> Vec<Row<'a>> {
    match resource {
        "customer" => vec![src.bare_row()],
        "campaign_budget" => budget_rows(src),
        "ad_group" => ad_group_rows(src, false),
        "ad_group_ad" => ad_group_rows(src, true),
        _ => campaign_rows(src),
    }
}

fn budget_rows<'a>(src: &'a Source<'a>) -> Vec<Row<'a>> {
    src.s
        .world
        .budgets
        .iter()
        .filter(|b| b.platform == Platform::Google && b.account_id == src.acc.id)
        .map(|b| Row {
            budget: Some(b),
            ..src.bare_row()
        })
        .collect()
}

/// Ad group rows, or with `ads_level` one row per ad, for every Google campaign with ad groups.
fn ad_group_rows<'a>(src: &'a Source<'a>, ads_level: bool) -> Vec<Row<'a>> {
    let world = &src.s.world;
    let mut cs: Vec<&Campaign> = world
        .campaigns_of(Platform::Google, &src.acc.id)
        .filter(|c| has_ad_groups(c))
        .collect();
    cs.sort_by(|a, b| a.id.cmp(&b.id));
    let mut rows = Vec::new();
    for c in cs {
        let base = Row {
            campaign: Some(c),
            ..src.bare_row()
        };
        if !src.shape.segmented && !src.shape.wants_metrics {
            push_plain_ad_groups(src, base, ads_level, &mut rows);
            continue;
        }
        for (g, ad, m) in ad_group_metrics(src, c, ads_level) {
            push_metric_rows(
                src.shape,
                Row {
                    ad_group: Some(g),
                    ad,
                    ..base
                },
                m,
                &mut rows,
            );
        }
    }
    rows
}

/// The campaign's ad groups (or their ads) without metrics.
fn push_plain_ad_groups<'a>(
    src: &'a Source<'a>,
    base: Row<'a>,
    ads_level: bool,
    rows: &mut Vec<Row<'a>>,
) {
    let world = &src.s.world;
    let Some(c) = base.campaign else {
        return;
    };
    for g in world.ad_groups_of(Platform::Google, &c.id) {
        if ads_level {
            for ad in world.ads_of(Platform::Google, &g.id) {
                rows.push(Row {
                    ad_group: Some(g),
                    ad: Some(ad),
                    ..base
                });
            }
        } else {
            rows.push(Row {
                ad_group: Some(g),
                ..base
            });
        }
    }
}

type LevelDay<'a> = (&'a AdGroup, Option<&'a Ad>, DayMetrics);

/// The campaign's ad groups (or ads) with their metrics: per day when segmented by date,
/// otherwise one total per object over the range.
fn ad_group_metrics<'a>(
    src: &'a Source<'a>,
    c: &'a Campaign,
    ads_level: bool,
) -> Vec<LevelDay<'a>> {
    let world = &src.s.world;
    let (from, to) = src.dates();
    let days = campaign_days(world, src.acc, c, from, to, src.now);
    let groups = ad_group_days(world, src.acc, c, &days, src.now);
    let found: Vec<LevelDay<'a>> = if ads_level {
        ad_days(world, src.acc, &groups, src.now)
            .into_iter()
            .map(|(g, ad, m)| (g, Some(ad), m))
            .collect()
    } else {
        groups.into_iter().map(|(g, m)| (g, None, m)).collect()
    };
    if src.shape.segmented {
        return found;
    }
    let mut totals: Vec<LevelDay<'a>> = Vec::new();
    for (g, ad, m) in found {
        match totals
            .iter_mut()
            .find(|(tg, ta, _)| tg.id == g.id && ta.map(|x| &x.id) == ad.map(|x| &x.id))
        {
            Some((_, _, t)) => t.add(&m),
            None => totals.push((g, ad, m)),
        }
    }
    totals
}

/// One row for the metrics, or with a conversion action segment one per action that has
/// something to report that day.
fn push_metric_rows<'a>(shape: &Shape, base: Row<'a>, m: DayMetrics, rows: &mut Vec<Row<'a>>) {
    if shape.segmented && shape.by_action {
        for x in &ACTIONS {
            if reports_action(x, &m) {
                rows.push(Row {
                    date: Some(m.date),
                    metrics: Some(m),
                    action: Some(x),
                    ..base
                });
            }
        }
        return;
    }
    rows.push(Row {
        date: shape.segmented.then_some(m.date),
        metrics: Some(m),
        ..base
    });
}

fn campaign_rows<'a>(src: &'a Source<'a>) -> Vec<Row<'a>> {
    let world = &src.s.world;
    let mut cs: Vec<&Campaign> = world.campaigns_of(Platform::Google, &src.acc.id).collect();
    cs.sort_by(|a, b| a.id.cmp(&b.id));
    let (from, to) = src.dates();
    let mut rows = Vec::new();
    for c in cs {
        let base = Row {
            campaign: Some(c),
            budget: c
                .budget_id
                .as_deref()
                .and_then(|id| world.budget(Platform::Google, id)),
            ..src.bare_row()
        };
        if src.shape.segmented {
            for m in campaign_days(world, src.acc, c, from, to, src.now) {
                push_metric_rows(src.shape, base, m, &mut rows);
            }
        } else if src.shape.wants_metrics {
            let mut total = DayMetrics::zero(to);
            for m in campaign_days(world, src.acc, c, from, to, src.now) {
                total.add(&m);
            }
            push_metric_rows(src.shape, base, total, &mut rows);
        } else {
            rows.push(base);
        }
    }
    rows
}

/// WHERE, ORDER BY and LIMIT, in that order.
fn filter_and_order(rows: &mut Vec<Row>, q: &Query, range: Option<(NaiveDate, NaiveDate)>) {
    rows.retain(|r| q.conditions.iter().all(|c| matches(r, c, range)));
    if !q.order_by.is_empty() {
        rows.sort_by(|a, b| {
            for (f, desc) in &q.order_by {
                let o = cmp_values(&text(&value(a, f)), &text(&value(b, f)));
                let o = if *desc { o.reverse() } else { o };
                if !o.is_eq() {
                    return o;
                }
            }
            std::cmp::Ordering::Equal
        });
    }
    if let Some(l) = q.limit {
        rows.truncate(l);
    }
}

/// The rendered rows and what every response about them carries.
struct Rendered<'a> {
    rows: Vec<Value>,
    field_mask: String,
    consumption: String,
    size: usize,
    rid: &'a str,
}

/// `searchStream`: every row, in batches of the page size, the last one with the consumption.
fn stream_batches(r: &Rendered) -> Value {
    let mut batches: Vec<Value> = r
        .rows
        .chunks(r.size)
        .map(|c| json!({"results": c, "fieldMask": r.field_mask, "requestId": r.rid}))
        .collect();
    if batches.is_empty() {
        batches.push(json!({"fieldMask": r.field_mask, "requestId": r.rid}));
    }
    if let Some(last) = batches.last_mut() {
        last["queryResourceConsumption"] = json!(r.consumption);
    }
    Value::Array(batches)
}

/// `search`: the page the request's `pageToken` points at, and the token for the next one.
fn search_page(r: &Rendered, body: &Value, key: u64) -> Result<Value, GErr> {
    let offset = match body
        .get("pageToken")
        .and_then(Value::as_str)
        .filter(|t| !t.is_empty())
    {
        Some(t) => read_page_token(t, key).ok_or_else(|| {
            invalid(
                "requestError",
                "INVALID_PAGE_TOKEN",
                "Page token is invalid for this query.",
            )
        })?,
        None => 0,
    };
    let end = (offset + r.size).min(r.rows.len());
    let page: Vec<Value> = r
        .rows
        .get(offset.min(end)..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    // proto3 JSON leaves out an empty list, as the real API does.
    let mut out = json!({"fieldMask": r.field_mask, "queryResourceConsumption": r.consumption});
    if !page.is_empty() {
        out["results"] = json!(page);
    }
    if end < r.rows.len() {
        out["nextPageToken"] = json!(page_token(end, key));
    }
    if body.get("returnTotalResultsCount") == Some(&Value::Bool(true)) {
        out["totalResultsCount"] = json!(r.rows.len().to_string());
    }
    Ok(out)
}

pub(super) fn search(
    app: &App,
    s: &State,
    acc: &Account,
    body: &Value,
    now: DateTime<Utc>,
    rid: &str,
    stream: bool,
) -> Result<Value, GErr> {
    let (text_q, q) = parse_request(app, body)?;
    let shape = shape(&q, acc.local_date(now))?;
    let src = Source {
        s,
        acc,
        now,
        shape: &shape,
    };
    let mut rows = collect_rows(&src, &q.resource);
    filter_and_order(&mut rows, &q, shape.range);
    let rendered = Rendered {
        field_mask: q
            .fields
            .iter()
            .map(|f| camel(f))
            .collect::<Vec<_>>()
            .join(","),
        consumption: (rows.len() / 100 + 1).to_string(),
        rows: rows.iter().map(|r| render_row(r, &q)).collect(),
        size: app.config.google_page_size.max(1),
        rid,
    };
    if stream {
        return Ok(stream_batches(&rendered));
    }
    let key = rng::hash(app.config.seed, &[rng::label(text_q), rng::label(&acc.id)]);
    search_page(&rendered, body, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_become_lower_camel_case() {
        assert_eq!(camel("metrics.cost_micros"), "metrics.costMicros");
        assert_eq!(
            camel("campaign_budget.amount_micros"),
            "campaignBudget.amountMicros"
        );
    }

    #[test]
    fn like_matches_percent_wildcards() {
        assert!(like("Brand%", "Brand - Exact 01"));
        assert!(like("%Exact%", "Brand - Exact 01"));
        assert!(!like("Search%", "Brand - Exact 01"));
        assert!(like("abc", "abc"));
    }

    #[test]
    fn page_tokens_are_bound_to_the_query() {
        let t = page_token(10_000, 77);
        assert_eq!(read_page_token(&t, 77), Some(10_000));
        assert_eq!(read_page_token(&t, 78), None);
    }
}
