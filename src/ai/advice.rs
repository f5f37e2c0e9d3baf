//! Targeting suggestions (campaign form) and optimization recommendations (dashboard and
//! campaign pages), as library functions for those pages to call.
//!
//! Optimization advice keeps to adpilot's numbers like the summary does: every number in a
//! recommendation must appear in the input, and a suggested rule must pass our checker; a
//! reply that breaks either gets one repair request, then is refused.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::config::Task;
use super::provider::JsonSchema;
use super::summary::invented_numbers;
use super::{Ai, AiError, Generated};
use crate::automation::language;
use crate::db::Db;
use crate::types::Platform;

pub const MAX_SUGGESTIONS: usize = 10;

#[derive(Debug, Clone, Serialize)]
pub struct TargetingBrief {
    pub product: String,
    pub description: String,
    pub audience: String,
    pub platform: Platform,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suggestion {
    /// keyword, interest or audience.
    pub kind: String,
    pub value: String,
    pub why: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SuggestionsOut {
    suggestions: Vec<Suggestion>,
}

const KINDS: [&str; 3] = ["keyword", "interest", "audience"];

/// Suggestions the user may accept into the campaign's notes or settings.
pub async fn targeting(
    ai: &Ai,
    db: &Db,
    org: Uuid,
    brief: &TargetingBrief,
) -> Result<Generated<Vec<Suggestion>>, AiError> {
    let prompt = ai.render(Task::Targeting, Some(brief.platform.as_str()), brief)?;
    let schema = JsonSchema {
        name: "targeting",
        schema: serde_json::json!({"type": "object",
            "properties": {"suggestions": {"type": "array", "items": {"type": "object",
                "properties": {"kind": {"type": "string", "enum": KINDS},
                               "value": {"type": "string"}, "why": {"type": "string"}},
                "required": ["kind", "value", "why"], "additionalProperties": false}}},
            "required": ["suggestions"], "additionalProperties": false}),
    };
    let g = ai
        .generate_json::<SuggestionsOut, _>(db, org, Task::Targeting, &prompt, &schema, |o| {
            let mut e = Vec::new();
            if o.suggestions.len() > MAX_SUGGESTIONS {
                e.push(format!("give at most {MAX_SUGGESTIONS} suggestions"));
            }
            for s in &o.suggestions {
                if !KINDS.contains(&s.kind.as_str()) {
                    e.push(format!(
                        "kind \"{}\" must be one of {}",
                        s.kind,
                        KINDS.join(", ")
                    ));
                }
                if s.value.trim().is_empty() {
                    e.push("a suggestion has an empty value".into());
                }
            }
            e
        })
        .await?;
    Ok(Generated {
        value: g.value.suggestions,
        provider: g.provider,
        model: g.model,
        cached: g.cached,
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recommendation {
    pub title: String,
    /// The numbers behind it.
    pub detail: String,
    /// Rule text for "make this a rule", or empty when it maps to no rule.
    pub rule: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecommendationsOut {
    suggestions: Vec<Recommendation>,
}

/// Problems of a set of recommendations against the numbers they were drawn from.
pub fn recommendation_errors(items: &[Recommendation], numbers_json: &str) -> Vec<String> {
    let mut e = Vec::new();
    if items.len() > 5 {
        e.push("give at most 5 suggestions".into());
    }
    for (i, r) in items.iter().enumerate() {
        let n = i + 1;
        if r.title.trim().is_empty() {
            e.push(format!("suggestion {n} has no title"));
        }
        let invented = invented_numbers(&format!("{} {}", r.title, r.detail), numbers_json);
        if !invented.is_empty() {
            e.push(format!(
                "suggestion {n} uses numbers that are not in the data: {}",
                invented.join(", ")
            ));
        }
        if !r.rule.trim().is_empty() {
            let checked = language::check_single(&r.rule);
            for d in checked.diagnostics.iter().filter(|d| d.is_error()) {
                e.push(format!(
                    "the rule of suggestion {n}: {}",
                    super::rules::describe(d)
                ));
            }
        }
    }
    e
}

/// Concrete suggestions from adpilot's own numbers (trend, CPA/ROAS against the account's
/// median, budget pacing), given by the caller in any serializable shape.
pub async fn optimization(
    ai: &Ai,
    db: &Db,
    org: Uuid,
    numbers: &impl Serialize,
) -> Result<Generated<Vec<Recommendation>>, AiError> {
    let numbers_json = serde_json::to_string_pretty(numbers).unwrap_or_default();
    let prompt = ai.render(
        Task::Optimization,
        None,
        &serde_json::json!({"numbers_json": numbers_json}),
    )?;
    let schema = JsonSchema {
        name: "optimization",
        schema: serde_json::json!({"type": "object",
            "properties": {"suggestions": {"type": "array", "items": {"type": "object",
                "properties": {"title": {"type": "string"}, "detail": {"type": "string"},
                               "rule": {"type": "string"}},
                "required": ["title", "detail", "rule"], "additionalProperties": false}}},
            "required": ["suggestions"], "additionalProperties": false}),
    };
    let g = ai
        .generate_json::<RecommendationsOut, _>(
            db,
            org,
            Task::Optimization,
            &prompt,
            &schema,
            |o| recommendation_errors(&o.suggestions, &numbers_json),
        )
        .await?;
    Ok(Generated {
        value: g.value.suggestions,
        provider: g.provider,
        model: g.model,
        cached: g.cached,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recommendations_keep_to_the_numbers_and_to_valid_rules() {
        let data = r#"{"campaigns":[{"name":"Brand","cpa":"12.40","median_cpa":"30.00"}]}"#;
        let ok = Recommendation {
            title: "Shift budget to Brand".into(),
            detail: "CPA 12.40 against a median of 30.00".into(),
            rule: String::new(),
        };
        assert!(recommendation_errors(std::slice::from_ref(&ok), data).is_empty());
        let invented = Recommendation {
            detail: "CPA 12.40, 60% below the median".into(),
            ..ok.clone()
        };
        let e = recommendation_errors(&[invented], data);
        assert!(e[0].contains("60"), "{e:?}");
        let bad_rule = Recommendation {
            rule: "rule \"x\" when cpz > 1 then pause".into(),
            ..ok
        };
        let e = recommendation_errors(&[bad_rule], data);
        assert!(e.iter().any(|x| x.contains("line 1")), "{e:?}");
    }
}
