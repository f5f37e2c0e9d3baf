//! Pause, resume, budget and bid forms of the ad group (Meta: ad set) and ad pages. Every
//! change goes through [`super::actions`], the audited path campaigns and rules use; clients
//! are refused by the `Writer` extractor, and every post carries the CSRF token and an intent
//! minted when the page was drawn (a double submit is one change).
//!
//! Amounts are read exactly as typed: too many decimals for the currency, a comma where a
//! decimal point was probably meant, or nothing above zero re-render the form with the field's
//! error and what was typed. A budget or bid that at least halves or grows by half asks for a
//! confirmation first.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Form, Router, routing::post};
use rust_decimal::Decimal;
use serde::Deserialize;
use uuid::Uuid;

use super::actions::{self, ActionKind, ActionOutcome, ActionRequest, ActionState, Source, Target};
use super::level_routes::render_ad_group;
use super::levels::LevelHead;
use crate::analytics::views::DashQuery;
use crate::app::AppState;
use crate::automation::eval::BudgetPlan;
use crate::types::{Currency, Money, Platform};
use crate::web::context::{FlashKind, Writer};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/ad-groups/{id}/pause", post(group_pause))
        .route("/ad-groups/{id}/resume", post(group_resume))
        .route("/ad-groups/{id}/budget", post(group_budget))
        .route("/ad-groups/{id}/bid", post(group_bid))
        .route("/ads/{id}/pause", post(ad_pause))
        .route("/ads/{id}/resume", post(ad_resume))
}

#[derive(Debug, Default, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    intent: Option<String>,
    #[serde(default)]
    budget: Option<String>,
    #[serde(default)]
    bid: Option<String>,
    /// "yes" once the person confirmed a big jump.
    #[serde(default)]
    confirm: Option<String>,
}

impl ChangeForm {
    /// The intent minted with the page; a missing or malformed one gets a new one (the change
    /// then is not protected against a double submit, but still happens once per submit).
    fn intent(&self) -> Uuid {
        self.intent
            .as_deref()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or_else(Uuid::now_v7)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Budget,
    Bid,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Budget => "budget",
            Field::Bid => "bid",
        }
    }
}

/// A change waiting for "yes, change it".
#[derive(Debug, Clone)]
pub struct Confirm {
    pub action: String,
    pub field: &'static str,
    pub value: String,
    pub question: String,
}

/// What the forms show when the page is drawn: a fresh intent, or the submitted one with what
/// was typed and its error, or a change to confirm.
#[derive(Debug, Clone)]
pub struct ChangeForms {
    intent: Uuid,
    budget: String,
    budget_error: Option<String>,
    bid: String,
    bid_error: Option<String>,
    confirm: Option<Confirm>,
}

impl ChangeForms {
    pub fn fresh() -> Self {
        ChangeForms {
            intent: Uuid::now_v7(),
            budget: String::new(),
            budget_error: None,
            bid: String::new(),
            bid_error: None,
            confirm: None,
        }
    }

    fn typed(field: Field, intent: Uuid, value: &str, error: Option<String>) -> Self {
        let mut f = ChangeForms {
            intent,
            ..ChangeForms::fresh()
        };
        match field {
            Field::Budget => {
                f.budget = value.to_string();
                f.budget_error = error;
            }
            Field::Bid => {
                f.bid = value.to_string();
                f.bid_error = error;
            }
        }
        f
    }
}

/// The change controls of an ad group's or ad's page, ready for the template.
#[derive(Debug, Clone)]
pub struct ChangeView {
    /// A member who may change things, on an object that is not removed.
    pub can_change: bool,
    pub removed: bool,
    pub paused: bool,
    pub platform: &'static str,
    pub base: String,
    pub intent: String,
    pub currency: String,
    pub show_budget: bool,
    pub budget_label: String,
    pub budget: String,
    pub budget_error: Option<String>,
    /// Why there is no budget form (the budget lives on the campaign).
    pub budget_note: String,
    pub show_bid: bool,
    pub bid_label: String,
    pub bid: String,
    pub bid_error: Option<String>,
    pub bid_note: String,
    pub confirm: Option<Confirm>,
}

impl ChangeView {
    pub fn for_ad_group(
        head: &LevelHead,
        platform: Platform,
        currency: Currency,
        can_write: bool,
        forms: ChangeForms,
    ) -> Self {
        let period = head
            .budget
            .as_deref()
            .and_then(|b| b.split_once(' '))
            .map(|(_, p)| p.to_string());
        let budget_label = match period.as_deref() {
            Some("lifetime") => format!("New lifetime budget ({currency})"),
            _ => format!("New daily budget ({currency})"),
        };
        let budget_note = match platform {
            Platform::Google => {
                "Google Ads ad groups have no budget of their own: the campaign's budget pays for them."
            }
            Platform::Meta => {
                "This ad set has no budget of its own: the campaign's budget (Advantage campaign budget) is shared out by Meta. Change it on the campaign."
            }
            Platform::Tiktok => {
                "This ad group has no budget of its own: the campaign's budget optimisation shares out the campaign budget. Change it on the campaign."
            }
        };
        let bid_label = match platform {
            Platform::Google => format!("New max CPC bid ({currency})"),
            Platform::Meta => format!("New bid amount ({currency})"),
            Platform::Tiktok => format!("New bid ({currency})"),
        };
        let bid_note = match platform {
            Platform::Google => {
                "This ad group has no bid of its own: its campaign's bid strategy sets the bids."
            }
            _ => {
                "No bid amount: the bid strategy lets the platform bid (set a bid cap or cost cap on the platform to use one)."
            }
        };
        Self::build(head, platform, currency, can_write, forms, "/ad-groups/").with_amounts(
            period.is_some(),
            budget_label,
            budget_note,
            head.bid.is_some(),
            bid_label,
            bid_note,
        )
    }

    pub fn for_ad(
        head: &LevelHead,
        platform: Platform,
        currency: Currency,
        can_write: bool,
        forms: ChangeForms,
    ) -> Self {
        Self::build(head, platform, currency, can_write, forms, "/ads/")
    }

    fn build(
        head: &LevelHead,
        platform: Platform,
        currency: Currency,
        can_write: bool,
        forms: ChangeForms,
        prefix: &str,
    ) -> Self {
        let removed = head.status == "removed";
        ChangeView {
            can_change: can_write && !removed,
            removed,
            paused: head.status == "paused",
            platform: platform.label(),
            base: format!("{prefix}{}", head.id),
            intent: forms.intent.to_string(),
            currency: currency.to_string(),
            show_budget: false,
            budget_label: String::new(),
            budget: forms.budget,
            budget_error: forms.budget_error,
            budget_note: String::new(),
            show_bid: false,
            bid_label: String::new(),
            bid: forms.bid,
            bid_error: forms.bid_error,
            bid_note: String::new(),
            confirm: forms.confirm,
        }
    }

    fn with_amounts(
        mut self,
        show_budget: bool,
        budget_label: String,
        budget_note: &str,
        show_bid: bool,
        bid_label: String,
        bid_note: &str,
    ) -> Self {
        self.show_budget = show_budget;
        self.budget_label = budget_label;
        self.budget_note = budget_note.to_string();
        self.show_bid = show_bid;
        self.bid_label = bid_label;
        self.bid_note = bid_note.to_string();
        self
    }
}

/// An amount exactly as a person typed it, in `currency`: digits with an optional decimal
/// point, thousands commas only in their proper places. Never rounded: more decimals than the
/// currency has is an error, not a quietly different amount.
pub fn parse_amount(raw: &str, currency: Currency, what: &str) -> Result<Money, String> {
    let t = raw.trim();
    let example = if currency.minor_unit_exponent() == 0 {
        "such as 5000"
    } else {
        "such as 50 or 12.50"
    };
    if t.is_empty() {
        return Err(format!("Enter a {what} in {currency}, {example}."));
    }
    let plain = if t.contains(',') {
        let (int, frac) = match t.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (t, None),
        };
        let mut groups = int.split(',');
        let first_ok = groups
            .next()
            .is_some_and(|g| (1..=3).contains(&g.len()) && g.chars().all(|c| c.is_ascii_digit()));
        let rest_ok = groups.all(|g| g.len() == 3 && g.chars().all(|c| c.is_ascii_digit()));
        if !(first_ok && rest_ok) {
            // "12,50" is a decimal comma in much of the world; guessing would change the
            // amount a hundredfold one way or the other.
            return Err(format!(
                "Use a point for decimals and no spaces, {example} (\"{t}\" is ambiguous)."
            ));
        }
        match frac {
            Some(f) => format!("{}.{f}", int.replace(',', "")),
            None => int.replace(',', ""),
        }
    } else {
        t.to_string()
    };
    let ok_chars = !plain.is_empty()
        && plain.chars().all(|c| c.is_ascii_digit() || c == '.')
        && plain.matches('.').count() <= 1;
    let amount: Option<Decimal> = if ok_chars { plain.parse().ok() } else { None };
    let Some(amount) = amount else {
        return Err(format!(
            "\"{t}\" is not an amount. Enter a {what} in {currency}, {example}."
        ));
    };
    if amount <= Decimal::ZERO {
        return Err(format!("A {what} must be more than zero."));
    }
    let exp = currency.minor_unit_exponent();
    if amount.normalize().scale() > exp {
        return Err(if exp == 0 {
            format!("{currency} has no decimals: enter a whole amount, {example}.")
        } else {
            format!(
                "{currency} has {exp} decimals: \"{t}\" has more, and adpilot will not round what you typed."
            )
        });
    }
    Money::from_major(amount, currency)
        .filter(|m| m.to_minor_units() > 0)
        .ok_or_else(|| format!("That {what} is too large."))
}

/// A jump worth a second look: to at least one and a half times, or at most half, the amount
/// now.
fn big_jump(now: i64, to: i64) -> bool {
    now > 0 && (to.saturating_mul(2) >= now.saturating_mul(3) || to.saturating_mul(2) <= now)
}

fn parse_id(id: &str) -> AppResult<Uuid> {
    id.parse().map_err(|_| AppError::NotFound)
}

fn flash_for(to: &str, outcome: ActionOutcome) -> Response {
    let message = outcome.message.unwrap_or_default();
    match outcome.state {
        ActionState::Succeeded => {
            redirect_with_flash(to, FlashKind::Success, &format!("Done: {message}."))
        }
        ActionState::Skipped => {
            redirect_with_flash(to, FlashKind::Info, &format!("Nothing to do: {message}."))
        }
        ActionState::Failed => redirect_with_flash(
            to,
            FlashKind::Error,
            &format!("The platform refused: {message}."),
        ),
        ActionState::Pending | ActionState::Executing => {
            redirect_with_flash(to, FlashKind::Info, &message)
        }
    }
}

async fn switch(
    app: &AppState,
    w: &Writer,
    target: Target,
    kind: ActionKind,
    form: &ChangeForm,
) -> AppResult<Response> {
    let outcome = actions::request(
        app,
        w.org_id,
        ActionRequest {
            target,
            kind,
            source: Source::User(w.user_id),
            intent_key: format!("user:{}", form.intent()),
            budget: None,
            bid: None,
        },
    )
    .await?;
    let to = match target {
        Target::Ad(id) => format!("/ads/{id}"),
        other => format!("/ad-groups/{}", other.id()),
    };
    Ok(flash_for(&to, outcome))
}

async fn group_pause(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> AppResult<Response> {
    let t = Target::AdGroup(parse_id(&id)?);
    switch(&app, &w, t, ActionKind::Pause, &form).await
}

async fn group_resume(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> AppResult<Response> {
    let t = Target::AdGroup(parse_id(&id)?);
    switch(&app, &w, t, ActionKind::Resume, &form).await
}

async fn ad_pause(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> AppResult<Response> {
    let t = Target::Ad(parse_id(&id)?);
    switch(&app, &w, t, ActionKind::Pause, &form).await
}

async fn ad_resume(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> AppResult<Response> {
    let t = Target::Ad(parse_id(&id)?);
    switch(&app, &w, t, ActionKind::Resume, &form).await
}

async fn group_budget(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> AppResult<Response> {
    amount_change(&app, &w, parse_id(&id)?, Field::Budget, form).await
}

async fn group_bid(
    State(app): State<AppState>,
    w: Writer,
    Path(id): Path<String>,
    Form(form): Form<ChangeForm>,
) -> AppResult<Response> {
    amount_change(&app, &w, parse_id(&id)?, Field::Bid, form).await
}

async fn amount_change(
    app: &AppState,
    w: &Writer,
    id: Uuid,
    field: Field,
    form: ChangeForm,
) -> AppResult<Response> {
    let head = app
        .db
        .tenant(w.org_id, async move |c| {
            super::levels::ad_group_head(c, id)
                .await?
                .ok_or(AppError::NotFound)
        })
        .await?;
    let currency: Currency = head
        .currency
        .parse()
        .map_err(|_| AppError::Internal("a stored currency does not parse".into()))?;
    let intent = form.intent();
    let raw = match field {
        Field::Budget => form.budget.clone(),
        Field::Bid => form.bid.clone(),
    }
    .unwrap_or_default();
    let what = match (field, head.budget.as_deref()) {
        (Field::Bid, _) => "bid".to_string(),
        (Field::Budget, Some(b)) if b.ends_with("lifetime") => "lifetime budget".to_string(),
        (Field::Budget, _) => "daily budget".to_string(),
    };
    let q = DashQuery::default();
    if crate::web::form::has_forbidden_control(&raw) {
        let kept = crate::web::form::scrub(&raw);
        let message = crate::web::form::CONTROL_MESSAGE.to_string();
        let forms = ChangeForms::typed(field, intent, &kept, Some(message));
        return render_ad_group(app, w, id, &q, forms, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let money = match parse_amount(&raw, currency, &what) {
        Ok(m) => m,
        Err(message) => {
            let forms = ChangeForms::typed(field, intent, &raw, Some(message));
            return render_ad_group(app, w, id, &q, forms, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    let now: Option<i64> = match field {
        Field::Budget => head
            .budget
            .as_deref()
            .and_then(|b| b.split_once(' '))
            .and_then(|(m, _)| m.parse().ok()),
        Field::Bid => head.bid.as_deref().and_then(|b| b.parse().ok()),
    };
    if form.confirm.as_deref() != Some("yes")
        && let Some(now) = now.filter(|n| big_jump(*n, money.micros))
    {
        let from = Money::new(now, currency);
        let ratio = Decimal::from(money.micros) / Decimal::from(now);
        let how = if money.micros > now {
            format!(
                "raises the {what} from {from} to {money}, {}× what it is now",
                ratio.round_dp(1).normalize()
            )
        } else {
            format!("cuts the {what} from {from} to {money}")
        };
        let mut forms = ChangeForms::typed(field, intent, &raw, None);
        forms.confirm = Some(Confirm {
            action: format!("/ad-groups/{id}/{}", field.name()),
            field: field.name(),
            value: raw.trim().to_string(),
            question: format!("This {how}. Change it?"),
        });
        return render_ad_group(app, w, id, &q, forms, StatusCode::OK).await;
    }
    let (kind, budget, bid) = match field {
        Field::Budget => (ActionKind::SetBudget, Some(BudgetPlan::Set(money)), None),
        Field::Bid => (ActionKind::SetBid, None, Some(BudgetPlan::Set(money))),
    };
    let outcome = actions::request(
        app,
        w.org_id,
        ActionRequest {
            target: Target::AdGroup(id),
            kind,
            source: Source::User(w.user_id),
            intent_key: format!("user:{intent}"),
            budget,
            bid,
        },
    )
    .await?;
    Ok(flash_for(&format!("/ad-groups/{id}"), outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(s: &str) -> Currency {
        s.parse().expect("currency")
    }

    #[test]
    fn typed_amounts_are_taken_exactly_or_refused() {
        let usd = cur("USD");
        assert_eq!(
            parse_amount("12.50", usd, "bid").map(|m| m.micros),
            Ok(12_500_000)
        );
        assert_eq!(
            parse_amount(" 1,250.5 ", usd, "budget").map(|m| m.micros),
            Ok(1_250_500_000)
        );
        for bad in ["12,50", "12.505", "abc", "0", "-5", "", "1e3", "12 50"] {
            assert!(parse_amount(bad, usd, "bid").is_err(), "{bad}");
        }
        let jpy = cur("JPY");
        assert_eq!(
            parse_amount("5000", jpy, "budget").map(|m| m.micros),
            Ok(5_000_000_000)
        );
        assert!(parse_amount("5000.5", jpy, "budget").is_err());
    }

    #[test]
    fn big_jumps_ask_first() {
        assert!(big_jump(50, 75));
        assert!(big_jump(50, 25));
        assert!(!big_jump(50, 60));
        assert!(!big_jump(50, 40));
        assert!(!big_jump(0, 40));
    }
}
