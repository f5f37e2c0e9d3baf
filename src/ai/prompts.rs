//! Prompt templates: files in `prompts/` (TASK/PLATFORM.j2 or TASK/default.j2), embedded in the
//! binary, each replaceable by a file of the same path in the operator's ADPILOT_PROMPTS_DIR.
//! Templates are read on every render, so an operator's edit applies without a restart.
//!
//! A template defines two blocks, `system` and `user`. Rendering is strict: a variable the
//! template uses but the caller did not give is an error, never an empty string.

use std::path::Path;

use minijinja::{Environment, UndefinedBehavior};
use rust_embed::RustEmbed;
use serde::Serialize;

#[derive(RustEmbed)]
#[folder = "prompts/"]
#[include = "*.j2"]
struct Embedded;

/// A rendered prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prompt {
    pub system: String,
    pub user: String,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum PromptError {
    #[error("no prompt template {0}")]
    Missing(String),
    #[error("prompt template {name}: {message}")]
    Render { name: String, message: String },
}

/// The template's source: the operator's file if there is one, else the built-in one.
fn source(dir: Option<&Path>, name: &str) -> Result<String, PromptError> {
    // Names are ours (task/platform), never user input; the check keeps it that way.
    if name.contains("..") || name.starts_with('/') {
        return Err(PromptError::Missing(name.to_string()));
    }
    if let Some(dir) = dir {
        let path = dir.join(name);
        if path.is_file() {
            return std::fs::read_to_string(&path).map_err(|e| PromptError::Render {
                name: name.to_string(),
                message: format!("cannot read {}: {e}", path.display()),
            });
        }
    }
    let file = Embedded::get(name).ok_or_else(|| PromptError::Missing(name.to_string()))?;
    String::from_utf8(file.data.into_owned()).map_err(|_| PromptError::Render {
        name: name.to_string(),
        message: "not UTF-8".into(),
    })
}

/// The template for `task` on `platform`, else the task's default template.
pub fn template_name(dir: Option<&Path>, task: &str, platform: Option<&str>) -> String {
    if let Some(p) = platform {
        let name = format!("{task}/{p}.j2");
        let exists = dir.is_some_and(|d| d.join(&name).is_file()) || Embedded::get(&name).is_some();
        if exists {
            return name;
        }
    }
    format!("{task}/default.j2")
}

/// Renders the `system` and `user` blocks of template `name` with `ctx`.
pub fn render(dir: Option<&Path>, name: &str, ctx: &impl Serialize) -> Result<Prompt, PromptError> {
    let src = source(dir, name)?;
    let err = |e: minijinja::Error| PromptError::Render {
        name: name.to_string(),
        message: e.to_string(),
    };
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.add_template_owned(name.to_string(), src).map_err(err)?;
    // Each block is rendered through a child template that empties the other block, so the
    // file stays one template with two blocks (and text outside them renders with both).
    env.add_template_owned(
        "__system",
        format!("{{% extends {name:?} %}}{{% block user %}}{{% endblock %}}"),
    )
    .map_err(err)?;
    env.add_template_owned(
        "__user",
        format!("{{% extends {name:?} %}}{{% block system %}}{{% endblock %}}"),
    )
    .map_err(err)?;
    let ctx = minijinja::Value::from_serialize(ctx);
    let system = env
        .get_template("__system")
        .and_then(|t| t.render(&ctx))
        .map_err(err)?;
    let user = env
        .get_template("__user")
        .and_then(|t| t.render(&ctx))
        .map_err(err)?;
    if !src_has_blocks(&env, name) {
        return Err(PromptError::Render {
            name: name.to_string(),
            message: "the template must define the blocks system and user".into(),
        });
    }
    Ok(Prompt {
        system: system.trim().to_string(),
        user: user.trim().to_string(),
    })
}

/// Whether template `name` defines both blocks (a file without them would render as the whole
/// text twice).
fn src_has_blocks(env: &Environment<'_>, name: &str) -> bool {
    env.get_template(name).is_ok_and(|t| {
        let src = t.source();
        src.contains("{% block system %}") && src.contains("{% block user %}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_missing_variable_is_an_error_not_an_empty_string() {
        let dir = std::env::temp_dir().join(format!("adpilot-prompts-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(dir.join("ad_copy")).expect("dir");
        std::fs::write(
            dir.join("ad_copy/google.j2"),
            "{% block system %}S {{ product }}{% endblock %}{% block user %}U {{ nope }}{% endblock %}",
        )
        .expect("write");
        let name = template_name(Some(&dir), "ad_copy", Some("google"));
        let e = render(Some(&dir), &name, &json!({"product": "Tea"})).expect_err("strict");
        assert!(e.to_string().contains("ad_copy/google.j2"), "{e}");
        let ok = render(Some(&dir), &name, &json!({"product": "Tea", "nope": 1})).expect("ok");
        assert_eq!(ok.system, "S Tea");
        assert_eq!(ok.user, "U 1");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Sample variables of each task, as its callers give them.
    fn sample(task: &str) -> serde_json::Value {
        match task {
            "ad_copy" => json!({"product": "Tea", "description": "Green tea", "audience": "",
                "tone": "friendly", "benefits": ["calm"], "keyword": "green tea", "avoid": [],
                "variations": 2, "platform": "google"}),
            "rule_from_text" => json!({"description": "pause losers", "previous_rule": "rule",
                "errors": ["line 1, column 1: x"]}),
            "performance_summary" => json!({"input": {"period": "May", "previous_period": "April",
                "totals": [], "movers": [], "actions": []}, "numbers_json": "{}"}),
            "targeting" => json!({"product": "Tea", "description": "", "audience": "",
                "platform": "meta"}),
            _ => json!({"numbers_json": "{}"}),
        }
    }

    #[test]
    fn every_built_in_template_renders_with_its_callers_variables() {
        for name in Embedded::iter() {
            let task = name.split('/').next().unwrap_or_default().to_string();
            let p = render(None, &name, &sample(&task)).unwrap_or_else(|e| panic!("{e}"));
            assert!(!p.system.is_empty() && !p.user.is_empty(), "{name}");
            assert!(p.system.contains("JSON"), "{name} asks for JSON");
        }
    }

    #[test]
    fn every_built_in_template_has_both_blocks() {
        for name in Embedded::iter() {
            let src = source(None, &name).expect("source");
            assert!(src.contains("{% block system %}"), "{name}");
            assert!(src.contains("{% block user %}"), "{name}");
        }
        assert!(Embedded::get("ad_copy/google.j2").is_some());
    }
}
