//! AI settings: flags and environment variables ([`AiArgs`], flattened into the main settings)
//! and the routing file (providers, prices, per-tier routes), validated once at start into
//! [`AiConfig`].
//!
//! The routing file is TOML. adpilot embeds a default (`src/ai/default_config.toml`); a file
//! named by ADPILOT_AI_CONFIG is laid over it table by table, so an operator's file only needs
//! what it changes.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

pub const DEFAULT_CONFIG: &str = include_str!("default_config.toml");

#[derive(Debug, Clone, clap::Args)]
pub struct AiArgs {
    /// TOML file with AI providers, prices and routes (laid over the built-in defaults).
    #[arg(long, env = "ADPILOT_AI_CONFIG")]
    pub ai_config: Option<PathBuf>,

    /// Directory of prompt templates that replace the built-in ones file by file
    /// (same layout as prompts/ in the source: TASK/PLATFORM.j2).
    #[arg(long, env = "ADPILOT_PROMPTS_DIR")]
    pub prompts_dir: Option<PathBuf>,

    /// Tokens (input + output) an organization may use per calendar month (UTC).
    #[arg(long, env = "ADPILOT_AI_MONTHLY_TOKENS", default_value_t = 5_000_000)]
    pub ai_monthly_tokens: u64,

    /// Plan tier whose routes are used until billing assigns tiers per organization.
    #[arg(long, env = "ADPILOT_AI_TIER", default_value = "default")]
    pub ai_tier: String,

    /// Seconds one model call may take before the fallback model is tried.
    #[arg(long, env = "ADPILOT_AI_TIMEOUT_SECS", default_value_t = 60)]
    pub ai_timeout_secs: u64,

    /// AI requests (drafts, rule drafts) one user may make per minute.
    #[arg(long, env = "ADPILOT_AI_PER_MINUTE", default_value_t = 20)]
    pub ai_per_minute: u32,

    /// Base URL of the provider named "openai" (any OpenAI-compatible server).
    #[arg(long, env = "ADPILOT_OPENAI_BASE_URL")]
    pub openai_base_url: Option<String>,

    /// Base URL of the provider named "anthropic".
    #[arg(long, env = "ADPILOT_ANTHROPIC_BASE_URL")]
    pub anthropic_base_url: Option<String>,
}

/// The tasks adpilot asks models to do; each has its own route and prompts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Task {
    AdCopy,
    RuleFromText,
    PerformanceSummary,
    Targeting,
    Optimization,
}

impl Task {
    pub const ALL: [Task; 5] = [
        Task::AdCopy,
        Task::RuleFromText,
        Task::PerformanceSummary,
        Task::Targeting,
        Task::Optimization,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Task::AdCopy => "ad_copy",
            Task::RuleFromText => "rule_from_text",
            Task::PerformanceSummary => "performance_summary",
            Task::Targeting => "targeting",
            Task::Optimization => "optimization",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Task::AdCopy => "Ad copy",
            Task::RuleFromText => "Rule drafts",
            Task::PerformanceSummary => "Performance summaries",
            Task::Targeting => "Targeting suggestions",
            Task::Optimization => "Optimization advice",
        }
    }

    pub fn parse(s: &str) -> Option<Task> {
        Task::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for Task {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderKind {
    /// OpenAI Chat Completions (and compatible servers).
    OpenAi,
    /// Anthropic Messages.
    Anthropic,
}

#[derive(Clone)]
pub struct ProviderConfig {
    pub name: String,
    pub kind: ProviderKind,
    /// Without a trailing slash.
    pub base_url: String,
    pub api_key: Option<String>,
    /// A local server that needs no key.
    pub no_key: bool,
    /// Whether to ask for output by JSON schema (else JSON mode / prompt only).
    pub json_schema: bool,
    /// OpenAI kind: send the reply limit as the older `max_tokens` (some compatible servers
    /// know only that) instead of `max_completion_tokens`.
    pub legacy_max_tokens: bool,
}

impl ProviderConfig {
    /// Whether calls can be made: a key is set, or the server needs none.
    pub fn usable(&self) -> bool {
        self.no_key || self.api_key.is_some()
    }
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The key stays out of logs.
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelRef {
    pub provider: String,
    pub model: String,
}

impl ModelRef {
    fn parse(s: &str) -> Option<ModelRef> {
        let (p, m) = s.split_once('/')?;
        let (p, m) = (p.trim(), m.trim());
        (!p.is_empty() && !m.is_empty()).then(|| ModelRef {
            provider: p.to_string(),
            model: m.to_string(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Route {
    pub primary: ModelRef,
    pub fallback: Option<ModelRef>,
}

/// Price of a model in millionths of a dollar per million tokens.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    pub input: u64,
    pub output: u64,
}

#[derive(Debug, Clone)]
pub struct AiConfig {
    pub providers: BTreeMap<String, ProviderConfig>,
    pub prices: BTreeMap<String, Price>,
    pub tiers: BTreeMap<String, BTreeMap<Task, Route>>,
    pub prompts_dir: Option<PathBuf>,
    pub monthly_tokens: u64,
    pub tier: String,
    pub timeout: Duration,
    pub per_minute: u32,
    pub cache_ttl: Duration,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    providers: BTreeMap<String, ProviderFile>,
    #[serde(default)]
    prices: BTreeMap<String, Price>,
    #[serde(default)]
    tiers: BTreeMap<String, BTreeMap<String, RouteFile>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderFile {
    kind: String,
    base_url: String,
    api_key: Option<String>,
    api_key_env: Option<String>,
    #[serde(default)]
    no_key: bool,
    json_schema: Option<bool>,
    #[serde(default)]
    legacy_max_tokens: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RouteFile {
    primary: String,
    fallback: Option<String>,
}

/// The built-in configuration with the operator's file and base-URL overrides laid over it.
fn merged_file(args: &AiArgs, problems: &mut Vec<String>) -> FileConfig {
    let mut merged = match toml::from_str::<FileConfig>(DEFAULT_CONFIG) {
        Ok(c) => c,
        Err(e) => {
            problems.push(format!("the built-in AI configuration is invalid: {e}"));
            FileConfig::default()
        }
    };
    if let Some(path) = args
        .ai_config
        .as_ref()
        .filter(|p| !p.as_os_str().is_empty())
    {
        match std::fs::read_to_string(path) {
            Ok(text) => match toml::from_str::<FileConfig>(&text) {
                Ok(file) => {
                    merged.providers.extend(file.providers);
                    merged.prices.extend(file.prices);
                    for (tier, routes) in file.tiers {
                        merged.tiers.entry(tier).or_default().extend(routes);
                    }
                }
                Err(e) => problems.push(format!(
                    "ADPILOT_AI_CONFIG {}: {}",
                    path.display(),
                    e.to_string().replace('\n', " ")
                )),
            },
            Err(e) => problems.push(format!(
                "ADPILOT_AI_CONFIG {} cannot be read: {e}",
                path.display()
            )),
        }
    }
    let overrides = [
        ("openai", "ADPILOT_OPENAI_BASE_URL", &args.openai_base_url),
        (
            "anthropic",
            "ADPILOT_ANTHROPIC_BASE_URL",
            &args.anthropic_base_url,
        ),
    ];
    for (name, var, value) in overrides {
        if let Some(v) = value.as_ref().filter(|v| !v.trim().is_empty()) {
            match merged.providers.get_mut(name) {
                Some(p) => p.base_url = v.trim().to_string(),
                None => problems.push(format!("{var} is set but no provider \"{name}\" exists")),
            }
        }
    }
    merged
}

/// The configured providers, each with its key read from the file or its environment variable.
fn providers(
    files: BTreeMap<String, ProviderFile>,
    problems: &mut Vec<String>,
) -> BTreeMap<String, ProviderConfig> {
    let mut providers = BTreeMap::new();
    for (name, p) in files {
        let kind = match p.kind.as_str() {
            "openai" => ProviderKind::OpenAi,
            "anthropic" => ProviderKind::Anthropic,
            other => {
                problems.push(format!(
                    "AI provider \"{name}\": kind \"{other}\" is unknown: use openai or anthropic"
                ));
                continue;
            }
        };
        if !url::Url::parse(&p.base_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
            problems.push(format!(
                "AI provider \"{name}\": base_url \"{}\" is not an http(s) URL",
                p.base_url
            ));
        }
        let api_key = p
            .api_key
            .clone()
            .or_else(|| {
                p.api_key_env
                    .as_ref()
                    .and_then(|var| std::env::var(var).ok())
            })
            .map(|k| k.trim().to_string())
            .filter(|k| !k.is_empty());
        providers.insert(
            name.clone(),
            ProviderConfig {
                name,
                kind,
                base_url: p.base_url.trim_end_matches('/').to_string(),
                api_key,
                no_key: p.no_key,
                json_schema: p.json_schema.unwrap_or(true),
                legacy_max_tokens: p.legacy_max_tokens,
            },
        );
    }
    providers
}

/// Each tier's route per task, naming only providers that exist.
fn tiers(
    files: BTreeMap<String, BTreeMap<String, RouteFile>>,
    providers: &BTreeMap<String, ProviderConfig>,
    problems: &mut Vec<String>,
) -> BTreeMap<String, BTreeMap<Task, Route>> {
    let mut tiers: BTreeMap<String, BTreeMap<Task, Route>> = BTreeMap::new();
    for (tier, routes) in files {
        for (task_name, r) in routes {
            let Some(task) = Task::parse(&task_name) else {
                problems.push(format!(
                    "AI tier \"{tier}\": task \"{task_name}\" is unknown: use one of {}",
                    Task::ALL.map(Task::as_str).join(", ")
                ));
                continue;
            };
            let mut parse = |s: &str| match ModelRef::parse(s) {
                Some(m) if providers.contains_key(&m.provider) => Some(m),
                Some(m) => {
                    problems.push(format!(
                        "AI tier \"{tier}\", task {task_name}: no provider named \"{}\"",
                        m.provider
                    ));
                    None
                }
                None => {
                    problems.push(format!(
                        "AI tier \"{tier}\", task {task_name}: \"{s}\" is not PROVIDER/MODEL"
                    ));
                    None
                }
            };
            let primary = parse(&r.primary);
            let fallback = r.fallback.as_deref().and_then(&mut parse);
            if let Some(primary) = primary {
                tiers
                    .entry(tier.clone())
                    .or_default()
                    .insert(task, Route { primary, fallback });
            }
        }
    }
    tiers
}

impl AiConfig {
    /// Validates the AI settings, adding one line per problem to `problems`.
    pub fn from_args(args: &AiArgs, problems: &mut Vec<String>) -> AiConfig {
        let merged = merged_file(args, problems);
        let providers = providers(merged.providers, problems);
        let tiers = tiers(merged.tiers, &providers, problems);
        if !tiers.contains_key(&args.ai_tier) {
            problems.push(format!(
                "ADPILOT_AI_TIER=\"{}\" names no tier of the AI configuration",
                args.ai_tier
            ));
        }
        if args.ai_timeout_secs == 0 {
            problems.push("ADPILOT_AI_TIMEOUT_SECS must be at least 1".to_string());
        }
        AiConfig {
            providers,
            prices: merged.prices,
            tiers,
            prompts_dir: args
                .prompts_dir
                .clone()
                .filter(|p| !p.as_os_str().is_empty()),
            monthly_tokens: args.ai_monthly_tokens,
            tier: args.ai_tier.clone(),
            timeout: Duration::from_secs(args.ai_timeout_secs.max(1)),
            per_minute: args.ai_per_minute.max(1),
            cache_ttl: Duration::from_secs(3600),
        }
    }

    /// The route of `task` for `tier`, else the default tier's.
    pub fn route(&self, tier: &str, task: Task) -> Option<&Route> {
        self.tiers
            .get(tier)
            .and_then(|t| t.get(&task))
            .or_else(|| self.tiers.get("default").and_then(|t| t.get(&task)))
    }

    /// Estimated cost of a call in millionths of a dollar (0 for a model without a price).
    pub fn cost_micros(&self, model: &str, input: u64, output: u64) -> u64 {
        // Dated model names ("gpt-4o-mini-2024-07-18") use the price of their base name.
        let price = self.prices.get(model).copied().or_else(|| {
            self.prices
                .iter()
                .filter(|(k, _)| model.starts_with(k.as_str()))
                .max_by_key(|(k, _)| k.len())
                .map(|(_, p)| *p)
        });
        let Some(p) = price else { return 0 };
        let micros = (u128::from(input) * u128::from(p.input)
            + u128::from(output) * u128::from(p.output))
            / 1_000_000;
        u64::try_from(micros).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> AiArgs {
        AiArgs {
            ai_config: None,
            prompts_dir: None,
            ai_monthly_tokens: 1000,
            ai_tier: "default".into(),
            ai_timeout_secs: 5,
            ai_per_minute: 10,
            openai_base_url: None,
            anthropic_base_url: None,
        }
    }

    #[test]
    fn the_built_in_configuration_is_valid_and_routes_every_task() {
        let mut problems = Vec::new();
        let c = AiConfig::from_args(&args(), &mut problems);
        assert!(problems.is_empty(), "{problems:?}");
        for tier in ["default", "pro", "unknown-tier"] {
            for task in Task::ALL {
                assert!(c.route(tier, task).is_some(), "{tier} {task}");
            }
        }
    }

    #[test]
    fn an_operator_file_is_laid_over_the_defaults_and_checked() {
        let dir = std::env::temp_dir().join(format!("adpilot-ai-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("ai.toml");
        std::fs::write(
            &path,
            "[providers.local]\nkind = \"openai\"\nbase_url = \"http://127.0.0.1:1/v1\"\nno_key = true\n\
             [tiers.default]\nad_copy = { primary = \"local/llama3\", fallback = \"nowhere/x\" }\n",
        )
        .expect("write");
        let mut a = args();
        a.ai_config = Some(path);
        let mut problems = Vec::new();
        let c = AiConfig::from_args(&a, &mut problems);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("no provider named \"nowhere\""));
        let r = c.route("default", Task::AdCopy).expect("route");
        assert_eq!(r.primary.provider, "local");
        // Untouched tasks keep the built-in route.
        assert!(c.route("default", Task::RuleFromText).is_some());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn cost_uses_the_base_model_price_for_dated_names() {
        let mut problems = Vec::new();
        let c = AiConfig::from_args(&args(), &mut problems);
        // 1M input at $0.15 + 1M output at $0.60 = $0.75.
        assert_eq!(
            c.cost_micros("gpt-4o-mini-2024-07-18", 1_000_000, 1_000_000),
            750_000
        );
        assert_eq!(c.cost_micros("unknown", 10, 10), 0);
    }
}
