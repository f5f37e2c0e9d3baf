//! Performance summaries: a short narrative of a period's results, written by a model from
//! numbers adpilot computed. The model must not invent figures: every number in its text has
//! to appear in the input (checked, with one repair request), else a plain template summary is
//! used. The dashboard and email reports call [`performance_summary`].

use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::config::Task;
use super::provider::JsonSchema;
use super::{Ai, AiError};
use crate::db::{Db, DbError};

/// A period's figures, already formatted by the caller (amounts with their currency).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SummaryInput {
    /// e.g. "1–7 November 2026".
    pub period: String,
    pub previous_period: String,
    pub totals: Vec<Figure>,
    pub movers: Vec<Mover>,
    /// What rules or people did in the period, one sentence each.
    pub actions: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// The ISO currency of the totals this figure belongs to: totals are per currency.
    pub currency: String,
    pub metric: String,
    pub current: String,
    pub previous: String,
    /// e.g. "+12.5%".
    pub change: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Mover {
    pub campaign: String,
    pub currency: String,
    pub metric: String,
    pub current: String,
    pub previous: String,
    pub change: String,
}

#[derive(Debug, Clone)]
pub struct Summary {
    pub text: String,
    /// "provider/model", or "template".
    pub generator: String,
    /// Why the template was used, when a model was configured.
    pub fallback_reason: Option<String>,
}

static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    // Digits with optional thousands separators and decimals: 1,234.50 12 0.7 3.5
    Regex::new(r"\d+(?:,\d{3})*(?:\.\d+)?").unwrap_or_else(|_| unreachable!())
});

/// A number in canonical form: no thousands separators, no trailing decimal zeros.
fn canonical(raw: &str) -> String {
    let s = raw.replace(',', "");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The numbers in `text`, canonical.
pub fn numbers(text: &str) -> Vec<String> {
    NUMBER
        .find_iter(text)
        .map(|m| canonical(m.as_str()))
        .collect()
}

/// Numbers in `output` that appear nowhere in `input`.
pub fn invented_numbers(output: &str, input: &str) -> Vec<String> {
    let known: HashSet<String> = numbers(input).into_iter().collect();
    let mut seen = HashSet::new();
    numbers(output)
        .into_iter()
        .filter(|n| !known.contains(n) && seen.insert(n.clone()))
        .collect()
}

/// "spend", but "CPA": a label as it reads inside a sentence.
fn in_sentence(label: &str) -> String {
    if label
        .chars()
        .filter(|c| c.is_alphabetic())
        .all(char::is_uppercase)
    {
        return label.to_string();
    }
    let mut c = label.chars();
    match c.next() {
        Some(first) => first.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The summary without a model: short lines from the figures, nothing else: the period, one
/// line per currency, the movers, the actions.
pub fn template_summary(input: &SummaryInput) -> String {
    let mut lines = vec![format!(
        "{}, compared with {}:",
        input.period, input.previous_period
    )];
    let mut currencies: Vec<&str> = Vec::new();
    for f in &input.totals {
        if !currencies.contains(&f.currency.as_str()) {
            currencies.push(&f.currency);
        }
    }
    for currency in &currencies {
        let figures: Vec<String> = input
            .totals
            .iter()
            .filter(|f| f.currency == *currency)
            .map(|f| format!("{} {} ({})", in_sentence(&f.metric), f.current, f.change))
            .collect();
        lines.push(format!("{currency}: {}.", figures.join(", ")));
    }
    if input.totals.is_empty() {
        lines.push("No results yet.".to_string());
    }
    if !input.movers.is_empty() {
        let movers: Vec<String> = input
            .movers
            .iter()
            .map(|m| {
                let now = format!(
                    "{} ({}): {} {}",
                    m.campaign,
                    m.currency,
                    in_sentence(&m.metric),
                    m.current
                );
                if m.previous == "–" {
                    now
                } else {
                    format!("{now} (was {}, {})", m.previous, m.change)
                }
            })
            .collect();
        lines.push(format!("Biggest movers: {}.", movers.join("; ")));
    }
    if input.actions.is_empty() {
        lines.push("No automated actions were taken.".to_string());
    } else {
        lines.push(format!("Actions taken: {}", input.actions.join(" ")));
    }
    lines.join("\n")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Out {
    summary: String,
}

#[derive(Serialize)]
struct Vars<'a> {
    input: &'a SummaryInput,
    numbers_json: String,
}

/// A short narrative of the period: the model's when it is configured and keeps to the input's
/// numbers, else the template's. Only a database failure is an error.
pub async fn performance_summary(
    ai: &Ai,
    db: &Db,
    org: Uuid,
    input: &SummaryInput,
) -> Result<Summary, DbError> {
    let template = |reason: Option<String>| Summary {
        text: template_summary(input),
        generator: "template".into(),
        fallback_reason: reason,
    };
    if !ai.available(Task::PerformanceSummary) {
        return Ok(template(None));
    }
    let numbers_json = serde_json::to_string_pretty(input).unwrap_or_default();
    let prompt = match ai.render(
        Task::PerformanceSummary,
        None,
        &Vars {
            input,
            numbers_json: numbers_json.clone(),
        },
    ) {
        Ok(p) => p,
        Err(e) => return Ok(template(Some(e.to_string()))),
    };
    let schema = JsonSchema {
        name: "performance_summary",
        schema: serde_json::json!({"type": "object",
            "properties": {"summary": {"type": "string"}},
            "required": ["summary"], "additionalProperties": false}),
    };
    let result = ai
        .generate_json::<Out, _>(db, org, Task::PerformanceSummary, &prompt, &schema, |o: &Out| {
            let mut e = Vec::new();
            if o.summary.trim().is_empty() {
                e.push("\"summary\" is empty".to_string());
            }
            let invented = invented_numbers(&o.summary, &numbers_json);
            if !invented.is_empty() {
                e.push(format!(
                    "these numbers are not in the input: {}; use only the numbers given, exactly as written",
                    invented.join(", ")
                ));
            }
            e
        })
        .await;
    match result {
        Ok(g) => Ok(Summary {
            text: g.value.summary.trim().to_string(),
            generator: format!("{}/{}", g.provider, g.model),
            fallback_reason: None,
        }),
        Err(AiError::Db(e)) => Err(e),
        Err(e) => Ok(template(Some(e.to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> SummaryInput {
        SummaryInput {
            period: "1–7 November 2026".into(),
            previous_period: "25–31 October".into(),
            totals: vec![Figure {
                currency: "EUR".into(),
                metric: "Spend".into(),
                current: "1,234.50 EUR".into(),
                previous: "1,100.00 EUR".into(),
                change: "+12.2%".into(),
            }],
            movers: vec![Mover {
                campaign: "Summer sale".into(),
                currency: "EUR".into(),
                metric: "CPA".into(),
                current: "45.10 EUR".into(),
                previous: "30.00 EUR".into(),
                change: "+50.3%".into(),
            }],
            actions: vec!["Rule \"Stop losers\" paused Summer sale.".into()],
        }
    }

    #[test]
    fn numbers_are_compared_in_canonical_form() {
        assert_eq!(
            numbers("spent 1,234.50 EUR, up 12.0% in 7 days"),
            ["1234.5", "12", "7"]
        );
        let json = serde_json::to_string(&input()).expect("json");
        assert!(
            invented_numbers("Spend rose 12.2% to 1234.5 EUR; CPA hit 45.1.", &json).is_empty()
        );
        assert_eq!(
            invented_numbers("Spend rose 15% to 1,234.50 EUR.", &json),
            ["15"]
        );
    }

    #[test]
    fn the_template_summary_uses_only_given_numbers() {
        let i = input();
        let json = serde_json::to_string(&i).expect("json");
        let t = template_summary(&i);
        assert!(invented_numbers(&t, &json).is_empty(), "{t}");
        assert!(t.contains("Summer sale"));
        assert!(t.contains("Stop losers"));
    }
}
