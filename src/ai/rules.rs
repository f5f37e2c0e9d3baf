//! Rules from plain English: the model drafts rule text, our own checker judges it, and the
//! checker's errors go back to the model once. The draft is returned with whatever the checker
//! still says; nothing is ever saved here (the rule editor shows it and the user saves).

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::config::Task;
use super::provider::JsonSchema;
use super::{Ai, AiError};
use crate::automation::language::{self, Diagnostic};
use crate::db::Db;

pub const MAX_DESCRIPTION: usize = 2000;

#[derive(Debug, Clone)]
pub struct RuleDraft {
    pub text: String,
    pub explanation: String,
    pub diagnostics: Vec<Diagnostic>,
    /// "provider/model".
    pub generator: String,
    /// Whether the checker's errors were sent back to the model.
    pub corrected: bool,
}

impl RuleDraft {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Out {
    rule: String,
    explanation: String,
}

fn schema() -> JsonSchema {
    JsonSchema {
        name: "rule_draft",
        schema: serde_json::json!({"type": "object",
            "properties": {"rule": {"type": "string"}, "explanation": {"type": "string"}},
            "required": ["rule", "explanation"], "additionalProperties": false}),
    }
}

#[derive(Serialize)]
struct Vars<'a> {
    description: &'a str,
    previous_rule: &'a str,
    errors: Vec<String>,
}

/// "line 2, column 8: message (help)".
pub fn describe(d: &Diagnostic) -> String {
    let mut s = format!("line {}, column {}: {}", d.line, d.col, d.message);
    if let Some(h) = &d.help {
        s.push_str(&format!(" ({h})"));
    }
    s
}

/// Drafts one rule from `description`.
pub async fn draft_rule(
    ai: &Ai,
    db: &Db,
    org: Uuid,
    description: &str,
) -> Result<RuleDraft, AiError> {
    let description = description.trim();
    let ask = async |previous: &str, errors: Vec<String>| -> Result<(Out, String), AiError> {
        let prompt = ai.render(
            Task::RuleFromText,
            None,
            &Vars {
                description,
                previous_rule: previous,
                errors,
            },
        )?;
        let g = ai
            .generate_json::<Out, _>(
                db,
                org,
                Task::RuleFromText,
                &prompt,
                &schema(),
                |o: &Out| {
                    if o.rule.trim().is_empty() {
                        vec!["\"rule\" is empty; write the rule text there".to_string()]
                    } else {
                        Vec::new()
                    }
                },
            )
            .await?;
        Ok((g.value, format!("{}/{}", g.provider, g.model)))
    };
    let (first, generator) = ask("", Vec::new()).await?;
    let checked = language::check_single(&first.rule);
    if !checked.has_errors() {
        return Ok(RuleDraft {
            text: first.rule.trim().to_string(),
            explanation: first.explanation,
            diagnostics: checked.diagnostics,
            generator,
            corrected: false,
        });
    }
    let errors: Vec<String> = checked
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(describe)
        .collect();
    match ask(&first.rule, errors).await {
        Ok((second, generator)) => {
            let checked = language::check_single(&second.rule);
            Ok(RuleDraft {
                text: second.rule.trim().to_string(),
                explanation: second.explanation,
                diagnostics: checked.diagnostics,
                generator,
                corrected: true,
            })
        }
        // The first draft, with its errors, is still worth showing the user.
        Err(e) => {
            tracing::warn!(error = %e, "rule draft correction failed");
            Ok(RuleDraft {
                text: first.rule.trim().to_string(),
                explanation: first.explanation,
                diagnostics: checked.diagnostics,
                generator,
                corrected: false,
            })
        }
    }
}
