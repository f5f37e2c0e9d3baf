//! The dashboard's and campaign page's AI section, loaded after the page (htmx `load`) so the
//! page itself never waits for a model: a short performance summary and optimization
//! recommendations, both built from numbers adpilot computed itself, both refused by
//! `ai::summary`/`ai::advice` when the model writes a number that is not in the input.
//! Members spend tokens; a client sees the template summary and no model recommendations.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::{Router, routing::get};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::format::{Kpi, delta};
use super::queries::{self, CampaignAgg, Filters};
use super::views::{DashParams, DashQuery, org_today};
use crate::ai::advice::Recommendation;
use crate::ai::config::Task;
use crate::ai::summary::{self, Figure, Mover, SummaryInput};
use crate::ai::{AiError, Generated, advice};
use crate::app::AppState;
use crate::campaigns::DoneAction;
use crate::types::Currency;
use crate::web::context::{Shell, Viewer};
use crate::web::error::{AppError, AppResult};
use crate::web::page::Page;

pub fn router() -> Router<AppState> {
    Router::new().route("/dashboard/insights", get(insights))
}

/// Campaigns given to the optimization prompt: the biggest spenders, enough for concrete
/// advice, few enough to keep the prompt short.
const MAX_CAMPAIGNS: usize = 25;

#[derive(Debug, Default, Deserialize)]
struct CampaignParam {
    campaign: Option<String>,
}

pub struct RecommendationView {
    pub title: String,
    pub detail: String,
    /// "/rules/new?text=…" when the advice maps to a rule that passed our checker.
    pub rule_link: Option<String>,
}

#[derive(Template)]
#[template(path = "analytics/insights.html")]
struct InsightsFragment {
    has_data: bool,
    summary: Option<summary::Summary>,
    recommendations: Vec<RecommendationView>,
    recommendations_by: Option<String>,
    /// Why there are no recommendations (no provider, budget spent, client role...).
    recommendations_note: Option<String>,
    can_write: bool,
}

#[derive(Template)]
#[template(path = "analytics/insights_page.html")]
struct InsightsPage {
    shell: Shell,
    back: String,
    f: InsightsFragment,
}

fn money(micros: Decimal, currency: Currency) -> String {
    super::format::money(micros, currency, true)
}

/// The period's figures as the summary prompt gets them (formatted as the dashboard shows them).
fn summary_input(p: &DashParams, aggs: &[CampaignAgg], actions: &[DoneAction]) -> SummaryInput {
    let previous = p.range.previous();
    let figures = [
        Kpi::Spend,
        Kpi::Revenue,
        Kpi::Conversions,
        Kpi::Cpa,
        Kpi::Roas,
        Kpi::Clicks,
    ];
    let totals = queries::totals(aggs)
        .iter()
        .flat_map(|t| {
            figures.iter().map(move |k| Figure {
                currency: t.currency.to_string(),
                metric: k.label().to_string(),
                current: k.display(&t.current, t.currency, true),
                previous: k.display(&t.previous, t.currency, true),
                change: delta(*k, &t.current, &t.previous)
                    .map(|d| d.text)
                    .unwrap_or_else(|| "–".into()),
            })
        })
        .collect();
    let mut movers: Vec<&CampaignAgg> = aggs.iter().collect();
    movers.sort_by_key(|a| {
        std::cmp::Reverse((a.row.metrics.spend_micros - a.previous.spend_micros).abs())
    });
    let movers = movers
        .into_iter()
        .filter(|a| a.row.metrics.spend_micros != a.previous.spend_micros)
        .take(3)
        .map(|a| Mover {
            campaign: a.row.name.clone(),
            currency: a.row.currency.to_string(),
            metric: Kpi::Spend.label().to_string(),
            current: Kpi::Spend.display(&a.row.metrics, a.row.currency, true),
            previous: Kpi::Spend.display(&a.previous, a.row.currency, true),
            change: delta(Kpi::Spend, &a.row.metrics, &a.previous)
                .map(|d| d.text)
                .unwrap_or_else(|| "new".into()),
        })
        .collect();
    SummaryInput {
        period: format!("{} to {}", p.range.from, p.range.to),
        previous_period: format!("{} to {}", previous.from, previous.to),
        totals,
        movers,
        actions: actions
            .iter()
            .map(|a| {
                if a.message.is_empty() {
                    format!("{}: {}.", a.campaign, a.kind)
                } else {
                    format!("{}: {} ({}).", a.campaign, a.kind, a.message)
                }
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct OptCampaign {
    name: String,
    platform: &'static str,
    account: String,
    status: String,
    currency: String,
    spend: String,
    previous_spend: String,
    conversions: String,
    cpa: String,
    previous_cpa: String,
    account_median_cpa: String,
    roas: String,
    previous_roas: String,
    account_median_roas: String,
    daily_budget: String,
    /// Spend over the range against daily budget × days, as a percentage.
    budget_pacing: String,
}

#[derive(Serialize)]
struct OptNumbers {
    period: String,
    days: i64,
    campaigns: Vec<OptCampaign>,
}

fn median(mut v: Vec<Decimal>) -> Option<Decimal> {
    if v.is_empty() {
        return None;
    }
    v.sort();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / Decimal::TWO
    })
}

/// The numbers the optimization prompt gets: per campaign the trend, CPA and ROAS against its
/// account's median, and budget pacing.
fn opt_numbers(
    p: &DashParams,
    aggs: &[CampaignAgg],
    budgets: &HashMap<Uuid, Option<i64>>,
) -> OptNumbers {
    let in_range: Vec<&CampaignAgg> = aggs
        .iter()
        .filter(|a| a.in_range && a.row.metrics.spend_micros > 0)
        .collect();
    let per_account = |f: fn(&queries::Metrics) -> Option<Decimal>| {
        let mut m: HashMap<Uuid, Vec<Decimal>> = HashMap::new();
        for a in &in_range {
            if let Some(v) = f(&a.row.metrics) {
                m.entry(a.row.account_id).or_default().push(v);
            }
        }
        m.into_iter()
            .filter_map(|(k, v)| median(v).map(|x| (k, x)))
            .collect::<HashMap<Uuid, Decimal>>()
    };
    let cpa_median = per_account(queries::Metrics::cpa_micros);
    let roas_median = per_account(queries::Metrics::roas);
    let mut rows = in_range.clone();
    rows.sort_by_key(|a| std::cmp::Reverse(a.row.metrics.spend_micros));
    let days = p.range.days();
    let campaigns = rows
        .into_iter()
        .take(MAX_CAMPAIGNS)
        .map(|a| {
            let r = &a.row;
            let cur = r.currency;
            let budget = budgets.get(&r.campaign_id).copied().flatten();
            let pacing = budget
                .filter(|b| *b > 0 && days > 0)
                .map(|b| {
                    let pct = Decimal::from(r.metrics.spend_micros) * Decimal::ONE_HUNDRED
                        / (Decimal::from(b) * Decimal::from(days));
                    format!("{}%", pct.round_dp(0))
                })
                .unwrap_or_else(|| "–".into());
            OptCampaign {
                name: r.name.clone(),
                platform: r.platform.label(),
                account: r.account_name.clone(),
                status: r.status.clone(),
                currency: cur.as_str().to_string(),
                spend: Kpi::Spend.display(&r.metrics, cur, true),
                previous_spend: Kpi::Spend.display(&a.previous, cur, true),
                conversions: Kpi::Conversions.display(&r.metrics, cur, true),
                cpa: Kpi::Cpa.display(&r.metrics, cur, true),
                previous_cpa: Kpi::Cpa.display(&a.previous, cur, true),
                account_median_cpa: cpa_median
                    .get(&r.account_id)
                    .map(|m| money(*m, cur))
                    .unwrap_or_else(|| "–".into()),
                roas: Kpi::Roas.display(&r.metrics, cur, true),
                previous_roas: Kpi::Roas.display(&a.previous, cur, true),
                account_median_roas: roas_median
                    .get(&r.account_id)
                    .map(|m| m.round_dp(2).to_string())
                    .unwrap_or_else(|| "–".into()),
                daily_budget: budget
                    .map(|b| money(Decimal::from(b), cur))
                    .unwrap_or_else(|| "–".into()),
                budget_pacing: pacing,
            }
        })
        .collect();
    OptNumbers {
        period: format!("{} to {}", p.range.from, p.range.to),
        days,
        campaigns,
    }
}

/// Why a model may not be asked now (rate or plan limit), as a sentence; None when it may.
async fn refusal(app: &AppState, v: &Viewer) -> AppResult<Option<String>> {
    if let Err(secs) = app.ai.check_rate(v.user_id) {
        return Ok(Some(format!(
            "Too many AI requests. Try again in {secs} seconds."
        )));
    }
    match crate::billing::enforce::check(app, v.org_id, crate::billing::Limit::AiTokensPerMonth)
        .await
    {
        Ok(()) => Ok(None),
        Err(e @ crate::billing::enforce::LimitError::Reached { .. }) => Ok(Some(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// The campaigns' aggregates, the recent changes to them and their daily budgets.
type Figures = (
    Vec<CampaignAgg>,
    Vec<DoneAction>,
    HashMap<Uuid, Option<i64>>,
);

async fn load_figures(app: &AppState, v: &Viewer, p: &DashParams) -> AppResult<Figures> {
    let (range, filters) = (p.range, p.filters.clone());
    let time_zone = v.tz().name().to_string();
    let figures = app
        .db
        .tenant(v.org_id, async move |c| {
            let aggs = queries::campaign_aggregates(c, range, &filters).await?;
            let mut actions =
                crate::campaigns::actions_between(c, range.from, range.to, &time_zone, 20).await?;
            let names: Vec<&str> = aggs.iter().map(|a| a.row.name.as_str()).collect();
            actions.retain(|a| names.contains(&a.campaign.as_str()));
            let budgets: HashMap<Uuid, Option<i64>> = crate::campaigns::list_all(c)
                .await?
                .into_iter()
                .map(|c| (c.id, c.daily_budget_micros))
                .collect();
            Ok::<_, AppError>((aggs, actions, budgets))
        })
        .await?;
    Ok(figures)
}

/// Shows a model's recommendations, each with a link that opens its rule in the editor.
fn show_recommendations(f: &mut InsightsFragment, g: Generated<Vec<Recommendation>>) {
    f.recommendations_by = Some(format!(
        "{}/{}{}",
        g.provider,
        g.model,
        if g.cached { " (from cache)" } else { "" }
    ));
    f.recommendations = g
        .value
        .into_iter()
        .map(|r| RecommendationView {
            rule_link: (!r.rule.trim().is_empty()).then(|| {
                let mut s = url::form_urlencoded::Serializer::new(String::new());
                s.append_pair("text", r.rule.trim());
                format!("/rules/new?{}", s.finish())
            }),
            title: r.title,
            detail: r.detail,
        })
        .collect();
    if f.recommendations.is_empty() {
        f.recommendations_note =
            Some("The model found nothing to recommend for this period.".into());
    }
}

async fn insights(
    State(app): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Query(q): Query<DashQuery>,
    Query(cp): Query<CampaignParam>,
) -> AppResult<Response> {
    let mut p = DashParams::parse(&q, org_today(&v));
    let campaign: Option<Uuid> = cp.campaign.as_deref().and_then(|s| s.trim().parse().ok());
    if campaign.is_some() {
        p.filters = Filters {
            campaign_id: campaign,
            ..Filters::default()
        };
    }
    let (aggs, actions, budgets) = load_figures(&app, &v, &p).await?;
    let can_write = v.role.can_write();
    let has_data = aggs.iter().any(|a| a.in_range);
    let mut f = InsightsFragment {
        has_data,
        summary: None,
        recommendations: Vec::new(),
        recommendations_by: None,
        recommendations_note: None,
        can_write,
    };
    if has_data {
        let input = summary_input(&p, &aggs, &actions);
        let summary_model = app.ai.available(Task::PerformanceSummary);
        let opt_model = app.ai.available(Task::Optimization);
        // Only members spend tokens; one refusal check covers both calls of this load.
        let refused = if can_write && (summary_model || opt_model) {
            refusal(&app, &v).await?
        } else {
            None
        };
        let template = |reason: Option<String>| summary::Summary {
            text: summary::template_summary(&input),
            generator: "template".into(),
            fallback_reason: reason,
        };
        f.summary = Some(match (&refused, can_write && summary_model) {
            (Some(r), true) => template(Some(r.clone())),
            (None, true) => {
                summary::performance_summary(&app.ai, &app.db, v.org_id, &input).await?
            }
            _ => template(None),
        });
        if !opt_model {
            f.recommendations_note = Some("No AI provider is configured, so there are no recommendations. The summary above is built from adpilot's own numbers.".into());
        } else if !can_write {
            f.recommendations_note =
                Some("Recommendations are available to members of the organization.".into());
        } else if let Some(r) = refused {
            f.recommendations_note = Some(r);
        } else {
            let numbers = opt_numbers(&p, &aggs, &budgets);
            match advice::optimization(&app.ai, &app.db, v.org_id, &numbers).await {
                Ok(g) => show_recommendations(&mut f, g),
                Err(AiError::Db(e)) => return Err(e.into()),
                Err(e) => f.recommendations_note = Some(e.to_string()),
            }
        }
    }
    if headers.contains_key("hx-request") {
        return Ok(Page(f).into_response());
    }
    let back = match campaign {
        Some(id) => format!("/campaigns/{id}"),
        None => "/dashboard".into(),
    };
    Ok(Page(InsightsPage {
        shell: v.shell("dashboard"),
        back,
        f,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_or_the_mean_of_the_two_middles() {
        assert_eq!(median(vec![]), None);
        assert_eq!(
            median(vec![Decimal::from(3), Decimal::from(1), Decimal::from(2)]),
            Some(Decimal::from(2))
        );
        assert_eq!(
            median(vec![Decimal::from(4), Decimal::from(1)]),
            Some(Decimal::new(25, 1))
        );
    }
}
