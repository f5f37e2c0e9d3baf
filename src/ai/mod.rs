//! AI assistance: the model router, providers, prompt rendering, output checks, cache and
//! budgets, and what is built on them (ad copy, rule drafts, performance summaries).
//!
//! [`Ai::generate_json`] is the one way to ask a model for something: it picks the route of the
//! task (primary, then fallback on passing failures), serves repeats from the cache, enforces
//! the organization's monthly token budget before calling, records every call, and validates
//! the reply, asking once for a repair that quotes what was wrong.

pub mod advice;
pub mod config;
pub mod copy;
pub mod copywriter;
pub mod prompts;
pub mod provider;
pub mod routes;
pub mod rules;
pub mod saved;
pub mod schema;
pub mod summary;
pub mod usage;

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, Utc};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::db::{Db, DbError};
use config::{AiConfig, ProviderConfig, Task};
use prompts::{Prompt, PromptError};
use provider::{CallError, ChatRequest, JsonSchema, Message, Role};

/// Most tokens a reply may take; drafts and summaries are short.
const MAX_REPLY_TOKENS: u32 = 2000;

/// The AI service held by the application.
pub struct Ai {
    pub config: AiConfig,
    /// Err when no HTTP client could be built (no TLS backend): calls then fail with that
    /// message instead of the server refusing to start over an optional feature.
    http: Result<reqwest::Client, String>,
    per_user: DefaultKeyedRateLimiter<Uuid>,
}

/// What a model produced, and which model.
#[derive(Debug, Clone)]
pub struct Generated<T> {
    pub value: T,
    pub provider: String,
    pub model: String,
    pub cached: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AiError {
    #[error("no AI provider is configured for this task")]
    NotConfigured,
    #[error(
        "This organization has used {} of its {} AI tokens this month. The budget resets on {} at 00:00 UTC.",
        thousands(*used),
        thousands(*limit),
        resets.format("%-d %B %Y")
    )]
    Budget {
        used: u64,
        limit: u64,
        resets: DateTime<Utc>,
    },
    #[error("{provider}/{model} could not answer: {error}")]
    Provider {
        provider: String,
        model: String,
        error: CallError,
    },
    #[error(
        "{provider}/{model} gave an answer that failed our checks, also after one correction: {}",
        errors.join("; ")
    )]
    Invalid {
        provider: String,
        model: String,
        errors: Vec<String>,
    },
    #[error(transparent)]
    Prompt(#[from] PromptError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for AiError {
    fn from(e: diesel::result::Error) -> Self {
        AiError::Db(DbError::Query(e))
    }
}

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The reply text as JSON: models sometimes wrap it in a code fence or a sentence.
fn json_part(text: &str) -> &str {
    let t = text.trim();
    match (t.find('{'), t.rfind('}')) {
        (Some(a), Some(b)) if a < b => &t[a..=b],
        _ => t,
    }
}

/// Parses and validates a reply; the errors are written for the model to act on.
fn parse_reply<T: DeserializeOwned>(
    text: &str,
    validate: &impl Fn(&T) -> Vec<String>,
) -> Result<T, Vec<String>> {
    let value: T = serde_json::from_str(json_part(text)).map_err(|e| {
        vec![format!(
            "the reply is not JSON of the requested shape ({e}); reply with one JSON object only"
        )]
    })?;
    let errors = validate(&value);
    if errors.is_empty() {
        Ok(value)
    } else {
        Err(errors)
    }
}

impl Ai {
    pub fn new(config: AiConfig) -> Ai {
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("adpilot/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"));
        let per_minute = NonZeroU32::new(config.per_minute).unwrap_or(NonZeroU32::MIN);
        Ai {
            per_user: RateLimiter::keyed(Quota::per_minute(per_minute)),
            config,
            http,
        }
    }

    /// The usable providers and models for `task`, primary first.
    pub fn candidates(&self, task: Task) -> Vec<(&ProviderConfig, &str)> {
        let Some(route) = self.config.route(&self.config.tier, task) else {
            return Vec::new();
        };
        std::iter::once(&route.primary)
            .chain(route.fallback.as_ref())
            .filter_map(|m| {
                self.config
                    .providers
                    .get(&m.provider)
                    .filter(|p| p.usable())
                    .map(|p| (p, m.model.as_str()))
            })
            .collect()
    }

    /// Whether a model can be asked for `task` (else offline or template output is used).
    pub fn available(&self, task: Task) -> bool {
        !self.candidates(task).is_empty()
    }

    /// Refuses a user's request beyond the per-minute allowance; returns seconds to wait.
    pub fn check_rate(&self, user: Uuid) -> Result<(), u64> {
        self.per_user.check_key(&user).map_err(|not_until| {
            use governor::clock::{Clock, DefaultClock};
            not_until
                .wait_time_from(DefaultClock::default().now())
                .as_secs()
                .max(1)
        })
    }

    /// Renders the prompt of `task` (for `platform`, when it has its own template).
    pub fn render(
        &self,
        task: Task,
        platform: Option<&str>,
        ctx: &impl serde::Serialize,
    ) -> Result<Prompt, PromptError> {
        let dir = self.config.prompts_dir.as_deref();
        let name = prompts::template_name(dir, task.as_str(), platform);
        prompts::render(dir, &name, ctx)
    }

    fn cache_key(
        task: Task,
        provider: &str,
        model: &str,
        prompt: &Prompt,
        schema: &JsonSchema,
    ) -> Vec<u8> {
        let mut h = Sha256::new();
        for part in [
            task.as_str(),
            provider,
            model,
            &prompt.system,
            &prompt.user,
            &schema.schema.to_string(),
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part.as_bytes());
        }
        h.finalize().to_vec()
    }

    /// Asks the route of `task` for JSON that parses as `T` and passes `validate`.
    pub async fn generate_json<T, F>(
        &self,
        db: &Db,
        org: Uuid,
        task: Task,
        prompt: &Prompt,
        schema: &JsonSchema,
        validate: F,
    ) -> Result<Generated<T>, AiError>
    where
        T: DeserializeOwned,
        F: Fn(&T) -> Vec<String>,
    {
        let ask = Ask {
            ai: self,
            db,
            org,
            task,
            prompt,
            schema,
        };
        let candidates = self.candidates(task);
        if candidates.is_empty() {
            return Err(AiError::NotConfigured);
        }
        let keys: Vec<Vec<u8>> = candidates
            .iter()
            .map(|(p, m)| Self::cache_key(task, &p.name, m, prompt, schema))
            .collect();
        // A repeat within the hour costs nothing, so it is served even over budget.
        if let Some(g) = ask.cached_reply(&candidates, &keys, &validate).await? {
            return Ok(g);
        }
        ask.within_budget().await?;
        let mut last_error = None;
        for (i, &(p, model)) in candidates.iter().enumerate() {
            let messages = vec![Message {
                role: Role::User,
                content: prompt.user.clone(),
            }];
            let reply = match ask.call(p, model, &messages).await? {
                Ok(r) => r,
                Err(e) => {
                    let has_next = i + 1 < candidates.len();
                    tracing::warn!(provider = %p.name, model, error = %e, fallback = e.try_fallback() && has_next, "AI call failed");
                    if e.try_fallback() && has_next {
                        last_error = Some((p, model, e));
                        continue;
                    }
                    return Err(provider_error(p, model, e));
                }
            };
            return ask
                .accept_or_repair(p, model, messages, reply, &keys[i], &validate)
                .await;
        }
        match last_error {
            Some((p, model, error)) => Err(provider_error(p, model, error)),
            None => Err(AiError::NotConfigured),
        }
    }
}

fn provider_error(p: &ProviderConfig, model: &str, error: CallError) -> AiError {
    AiError::Provider {
        provider: p.name.clone(),
        model: model.to_string(),
        error,
    }
}

fn generated<T>(value: T, p: &ProviderConfig, model: &str, cached: bool) -> Generated<T> {
    Generated {
        value,
        provider: p.name.clone(),
        model: model.to_string(),
        cached,
    }
}

/// One request for generated JSON: who asks, for what, with which prompt and schema.
struct Ask<'a> {
    ai: &'a Ai,
    db: &'a Db,
    org: Uuid,
    task: Task,
    prompt: &'a Prompt,
    schema: &'a JsonSchema,
}

impl Ask<'_> {
    /// A cached reply of any candidate that still passes validation.
    async fn cached_reply<T, F>(
        &self,
        candidates: &[(&ProviderConfig, &str)],
        keys: &[Vec<u8>],
        validate: &F,
    ) -> Result<Option<Generated<T>>, AiError>
    where
        T: DeserializeOwned,
        F: Fn(&T) -> Vec<String>,
    {
        let lookup = keys.to_vec();
        let hit = self
            .db
            .tenant(self.org, async move |c| {
                for (i, k) in lookup.iter().enumerate() {
                    if let Some(text) = usage::cache_get(c, k).await? {
                        return Ok::<_, AiError>(Some((i, text)));
                    }
                }
                Ok(None)
            })
            .await?;
        let Some((i, text)) = hit else {
            return Ok(None);
        };
        let (p, model) = candidates[i];
        let Ok(value) = parse_reply(&text, validate) else {
            return Ok(None);
        };
        self.record(p, model, (0, 0), true, "ok").await?;
        Ok(Some(generated(value, p, model, true)))
    }

    /// Refuses a call once the organization's monthly tokens are used up.
    async fn within_budget(&self) -> Result<(), AiError> {
        // A soft limit: requests running at once may each pass the check, so an organization
        // can go over by the calls in flight, never by more; a lock per call would cost more.
        let limit = self.ai.config.monthly_tokens;
        let (start, resets) = usage::month_bounds(Utc::now());
        let used = self
            .db
            .tenant(self.org, async move |c| {
                Ok::<_, AiError>(usage::tokens_since(c, start).await?)
            })
            .await?;
        if used >= limit {
            return Err(AiError::Budget {
                used,
                limit,
                resets,
            });
        }
        Ok(())
    }

    /// Takes a valid reply; else one repair, where the model sees its answer and exactly what
    /// was wrong with it.
    async fn accept_or_repair<T, F>(
        &self,
        p: &ProviderConfig,
        model: &str,
        mut messages: Vec<Message>,
        reply: String,
        key: &[u8],
        validate: &F,
    ) -> Result<Generated<T>, AiError>
    where
        T: DeserializeOwned,
        F: Fn(&T) -> Vec<String>,
    {
        let errors = match parse_reply(&reply, validate) {
            Ok(value) => {
                self.cache(key, model, &reply).await?;
                return Ok(generated(value, p, model, false));
            }
            Err(errors) => errors,
        };
        messages.push(Message {
            role: Role::Assistant,
            content: reply,
        });
        messages.push(Message {
            role: Role::User,
            content: format!(
                "Your reply did not pass validation:\n{}\nReply again with the corrected JSON object only.",
                errors
                    .iter()
                    .map(|e| format!("- {e}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ),
        });
        let repaired = self
            .call(p, model, &messages)
            .await?
            .map_err(|e| provider_error(p, model, e))?;
        match parse_reply(&repaired, validate) {
            Ok(value) => {
                self.cache(key, model, &repaired).await?;
                Ok(generated(value, p, model, false))
            }
            Err(errors) => Err(AiError::Invalid {
                provider: p.name.clone(),
                model: model.to_string(),
                errors,
            }),
        }
    }

    /// One HTTP call, recorded in the usage table whatever its outcome. The outer result is
    /// the database's; the inner one the provider's.
    async fn call(
        &self,
        p: &ProviderConfig,
        model: &str,
        messages: &[Message],
    ) -> Result<Result<String, CallError>, AiError> {
        let req = ChatRequest {
            model,
            system: &self.prompt.system,
            messages,
            schema: Some(self.schema),
            max_tokens: MAX_REPLY_TOKENS,
        };
        let result = match &self.ai.http {
            Ok(http) => provider::call(http, p, &req, self.ai.config.timeout).await,
            Err(e) => Err(CallError::Network(e.clone())),
        };
        match result {
            Ok(reply) => {
                self.record(
                    p,
                    model,
                    (reply.input_tokens, reply.output_tokens),
                    false,
                    "ok",
                )
                .await?;
                Ok(Ok(reply.text))
            }
            Err(e) => {
                self.record(p, model, (0, 0), false, e.outcome()).await?;
                Ok(Err(e))
            }
        }
    }

    /// Writes one call's usage: `(input, output)` tokens, whether it came from the cache.
    async fn record(
        &self,
        p: &ProviderConfig,
        model: &str,
        (input, output): (u64, u64),
        cached: bool,
        outcome: &str,
    ) -> Result<(), AiError> {
        let cost = self.ai.config.cost_micros(model, input, output);
        let rec = usage::UsageRecord {
            org_id: self.org,
            task: self.task.as_str(),
            provider: &p.name,
            model,
            input_tokens: input,
            output_tokens: output,
            cost_micros: cost,
            cached,
            outcome,
        };
        self.db
            .tenant(self.org, async move |c| {
                Ok::<_, AiError>(usage::record(c, &rec).await?)
            })
            .await
    }

    async fn cache(&self, key: &[u8], model: &str, text: &str) -> Result<(), AiError> {
        let (ttl, org, task) = (self.ai.config.cache_ttl, self.org, self.task);
        self.db
            .tenant(org, async move |c| {
                Ok::<_, AiError>(
                    usage::cache_put(c, org, key, task.as_str(), model, text, ttl).await?,
                )
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_inside_fences_and_sentences() {
        assert_eq!(json_part("```json\n{\"a\":1}\n```"), "{\"a\":1}");
        assert_eq!(json_part("Here you go: {\"a\":{}} Enjoy"), "{\"a\":{}}");
        assert_eq!(json_part("no json"), "no json");
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(5_000_000), "5,000,000");
    }
}
