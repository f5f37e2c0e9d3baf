//! What a report says: KPIs per currency with the change against the previous period, a
//! per-platform table, best and worst campaigns by ROAS, rule actions taken and open alerts,
//! rendered as mail-client-safe HTML (inline styles, tables) and as plain text with the same
//! numbers.

use askama::Template;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use uuid::Uuid;

use crate::analytics::format::{Kpi, delta};
use crate::analytics::queries::{self, CampaignRow, CurrencyTotals, Filters, PlatformRow};
use crate::analytics::range::DateRange;
use crate::app::App;
use crate::types::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Yesterday,
    Last7Days,
    MonthToDate,
}

impl Period {
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "yesterday" => Some(Period::Yesterday),
            "last_7_days" => Some(Period::Last7Days),
            "month_to_date" => Some(Period::MonthToDate),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Yesterday => "yesterday",
            Period::Last7Days => "last_7_days",
            Period::MonthToDate => "month_to_date",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Period::Yesterday => "Yesterday",
            Period::Last7Days => "Last 7 days",
            Period::MonthToDate => "Month to date",
        }
    }

    /// The dates covered when sending on `today` (the organization's date).
    pub fn range(self, today: NaiveDate) -> DateRange {
        let yesterday = today - Duration::days(1);
        match self {
            Period::Yesterday => DateRange {
                from: yesterday,
                to: yesterday,
            },
            Period::Last7Days => DateRange {
                from: today - Duration::days(7),
                to: yesterday,
            },
            // On the 1st, "month to date" is the whole previous month so far complete.
            Period::MonthToDate if today.day() == 1 => DateRange {
                from: yesterday.with_day(1).unwrap_or(yesterday),
                to: yesterday,
            },
            Period::MonthToDate => DateRange {
                from: today.with_day(1).unwrap_or(today),
                to: yesterday,
            },
        }
    }
}

pub struct KpiLine {
    pub label: &'static str,
    pub value: String,
    pub previous: String,
    pub change: String,
}

pub struct CurrencyBlock {
    pub currency: String,
    pub kpis: Vec<KpiLine>,
}

pub struct TableRow {
    pub name: String,
    pub platform: String,
    pub currency: String,
    pub spend: String,
    pub conversions: String,
    pub cpa: String,
    pub roas: String,
}

pub struct ActionLine {
    pub at: DateTime<Utc>,
    pub campaign: String,
    pub kind: String,
    pub message: String,
}

/// Everything a report shows, already formatted.
pub struct ReportData {
    pub org_name: String,
    pub title: String,
    pub range: DateRange,
    pub previous: DateRange,
    pub blocks: Vec<CurrencyBlock>,
    pub platforms: Vec<TableRow>,
    pub best: Vec<TableRow>,
    pub worst: Vec<TableRow>,
    pub actions: Vec<ActionLine>,
    pub alerts: Vec<String>,
    pub summary: Option<String>,
}

fn block(t: &CurrencyTotals) -> CurrencyBlock {
    CurrencyBlock {
        currency: t.currency.to_string(),
        kpis: Kpi::TABLE
            .iter()
            .map(|k| KpiLine {
                label: k.label(),
                value: k.display(&t.current, t.currency, true),
                previous: k.display(&t.previous, t.currency, true),
                change: delta(*k, &t.current, &t.previous)
                    .map(|d| d.text)
                    .unwrap_or_else(|| "–".into()),
            })
            .collect(),
    }
}

fn campaign_row(r: &CampaignRow) -> TableRow {
    TableRow {
        name: r.name.clone(),
        platform: r.platform.label().into(),
        currency: r.currency.to_string(),
        spend: Kpi::Spend.display(&r.metrics, r.currency, true),
        conversions: Kpi::Conversions.display(&r.metrics, r.currency, true),
        cpa: Kpi::Cpa.display(&r.metrics, r.currency, true),
        roas: Kpi::Roas.display(&r.metrics, r.currency, true),
    }
}

fn platform_row(p: &PlatformRow) -> TableRow {
    TableRow {
        name: format!("{} campaigns", p.campaigns),
        platform: p.platform.label().into(),
        currency: p.currency.to_string(),
        spend: Kpi::Spend.display(&p.metrics, p.currency, true),
        conversions: Kpi::Conversions.display(&p.metrics, p.currency, true),
        cpa: Kpi::Cpa.display(&p.metrics, p.currency, true),
        roas: Kpi::Roas.display(&p.metrics, p.currency, true),
    }
}

/// Which campaigns a report covers.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub platform: Option<Platform>,
    /// Empty: every managed account.
    pub account_ids: Vec<Uuid>,
    pub campaign_search: Option<String>,
}

/// Builds the report for an organization over `range`, optionally one platform only.
///
/// A report limited to some ad accounts is built inside that account scope, so the database
/// leaves out every other account's campaigns, changes and alerts (not only the campaign
/// table); for a restricted viewer's preview the scope narrows further to their accounts.
pub async fn build(
    app: &App,
    org_id: Uuid,
    title: &str,
    range: DateRange,
    scope: &Scope,
) -> Result<ReportData, crate::db::DbError> {
    let accounts = (!scope.account_ids.is_empty()).then(|| scope.account_ids.clone());
    crate::db::with_account_scope(accounts, build_scoped(app, org_id, title, range, scope)).await
}

async fn build_scoped(
    app: &App,
    org_id: Uuid,
    title: &str,
    range: DateRange,
    scope: &Scope,
) -> Result<ReportData, crate::db::DbError> {
    let previous = range.previous();
    let filters = Filters {
        platform: scope.platform,
        search: scope.campaign_search.clone(),
        ..Filters::default()
    };
    let accounts = scope.account_ids.clone();
    let (org_name, aggs, actions, alerts) = app
        .db
        .tenant(org_id, async move |c| {
            let (org_name, time_zone) = crate::auth::accounts::org_settings(c, org_id).await?;
            let mut aggs = queries::campaign_aggregates(c, range, &filters).await?;
            if !accounts.is_empty() {
                aggs.retain(|a| accounts.contains(&a.row.account_id));
            }
            // Changes adpilot made, as the campaigns module records them.
            let actions =
                crate::campaigns::actions_between(c, range.from, range.to, &time_zone, 50).await?;
            let alerts: Vec<String> = crate::reports::alerts::list(c, 50)
                .await?
                .into_iter()
                .filter(|a| a.state == "open")
                .map(|a| a.title)
                .collect();
            Ok::<_, crate::db::DbError>((org_name, aggs, actions, alerts))
        })
        .await?;
    let totals = queries::totals(&aggs);
    let mut with_spend: Vec<&CampaignRow> = aggs
        .iter()
        .filter(|a| a.in_range && a.row.metrics.spend_micros > 0)
        .map(|a| &a.row)
        .collect();
    with_spend.sort_by(|a, b| {
        b.metrics
            .roas()
            .unwrap_or_default()
            .cmp(&a.metrics.roas().unwrap_or_default())
            .then_with(|| a.name.cmp(&b.name))
    });
    let best: Vec<TableRow> = with_spend.iter().take(5).map(|r| campaign_row(r)).collect();
    let worst: Vec<TableRow> = with_spend
        .iter()
        .rev()
        .take(5)
        .map(|r| campaign_row(r))
        .collect();
    let blocks: Vec<CurrencyBlock> = totals.iter().map(block).collect();
    let actions: Vec<ActionLine> = actions
        .into_iter()
        .map(|a| ActionLine {
            at: a.at,
            campaign: a.campaign,
            kind: a.kind,
            message: a.message,
        })
        .collect();
    let summary = summarize(app, org_id, range, previous, &blocks, &with_spend, &actions).await;
    Ok(ReportData {
        org_name,
        title: title.to_string(),
        range,
        previous,
        blocks,
        platforms: queries::platforms(&aggs).iter().map(platform_row).collect(),
        best,
        worst,
        actions,
        alerts,
        summary,
    })
}

/// A short narrative from the model when one is configured for summaries; it may only repeat
/// numbers given to it (checked in `ai::summary`, which falls back to a template otherwise).
async fn summarize(
    app: &App,
    org_id: Uuid,
    range: DateRange,
    previous: DateRange,
    blocks: &[CurrencyBlock],
    campaigns: &[&CampaignRow],
    actions: &[ActionLine],
) -> Option<String> {
    use crate::ai::summary::{Figure, Mover, SummaryInput, performance_summary};
    if blocks.is_empty()
        || !app
            .ai
            .available(crate::ai::config::Task::PerformanceSummary)
    {
        return None;
    }
    let input = SummaryInput {
        period: format!("{} to {}", range.from, range.to),
        previous_period: format!("{} to {}", previous.from, previous.to),
        totals: blocks
            .iter()
            .flat_map(|b| {
                b.kpis.iter().map(move |k| Figure {
                    currency: b.currency.to_string(),
                    metric: k.label.to_string(),
                    current: k.value.clone(),
                    previous: k.previous.clone(),
                    change: k.change.clone(),
                })
            })
            .collect(),
        movers: campaigns
            .iter()
            .take(3)
            .map(|r| Mover {
                campaign: r.name.clone(),
                currency: r.currency.to_string(),
                metric: "ROAS".into(),
                current: Kpi::Roas.display(&r.metrics, r.currency, true),
                previous: "–".into(),
                change: "–".into(),
            })
            .collect(),
        actions: actions
            .iter()
            .take(10)
            .map(|a| format!("{}: {} ({})", a.campaign, a.kind, a.message))
            .collect(),
    };
    match performance_summary(&app.ai, &app.db, org_id, &input).await {
        Ok(s) => Some(s.text),
        Err(e) => {
            tracing::warn!(error = %e, "report summary unavailable");
            None
        }
    }
}

#[derive(Template)]
#[template(path = "reports/email.html")]
pub struct EmailHtml<'a> {
    pub r: &'a ReportData,
    pub unsubscribe_url: &'a str,
    pub dashboard_url: &'a str,
}

impl EmailHtml<'_> {
    fn tables(&self) -> Vec<(&'static str, &[TableRow])> {
        vec![
            ("By platform", &self.r.platforms),
            ("Best campaigns by ROAS", &self.r.best),
            ("Weakest campaigns by ROAS", &self.r.worst),
        ]
    }
}

/// The plain-text part: the same numbers as the HTML.
pub fn text(r: &ReportData, unsubscribe_url: &str, dashboard_url: &str) -> String {
    let mut s = format!(
        "{} — {}\n{} to {} (compared with {} to {})\n\n",
        r.title, r.org_name, r.range.from, r.range.to, r.previous.from, r.previous.to
    );
    if let Some(sum) = &r.summary {
        s.push_str(&format!("{sum}\n\n"));
    }
    if r.blocks.is_empty() {
        s.push_str("No ad data in this period.\n\n");
    }
    for b in &r.blocks {
        s.push_str(&format!("Totals in {}\n", b.currency));
        for k in &b.kpis {
            s.push_str(&format!(
                "  {:<12} {:>16}   (before: {}, change {})\n",
                k.label, k.value, k.previous, k.change
            ));
        }
        s.push('\n');
    }
    let table = |s: &mut String, title: &str, rows: &[TableRow]| {
        if rows.is_empty() {
            return;
        }
        s.push_str(&format!("{title}\n"));
        for t in rows {
            s.push_str(&format!(
                "  {} ({}, {}): spend {}, conversions {}, CPA {}, ROAS {}\n",
                t.name, t.platform, t.currency, t.spend, t.conversions, t.cpa, t.roas
            ));
        }
        s.push('\n');
    };
    table(&mut s, "By platform", &r.platforms);
    table(&mut s, "Best campaigns by ROAS", &r.best);
    table(&mut s, "Weakest campaigns by ROAS", &r.worst);
    if !r.actions.is_empty() {
        s.push_str("Rule and manual actions\n");
        for a in &r.actions {
            s.push_str(&format!(
                "  {} {} {}: {}\n",
                a.at.format("%Y-%m-%d %H:%M UTC"),
                a.campaign,
                a.kind,
                a.message
            ));
        }
        s.push('\n');
    }
    if !r.alerts.is_empty() {
        s.push_str("Open alerts\n");
        for a in &r.alerts {
            s.push_str(&format!("  {a}\n"));
        }
        s.push('\n');
    }
    s.push_str(&format!(
        "Dashboard: {dashboard_url}\nUnsubscribe: {unsubscribe_url}\n"
    ));
    s
}
