//! Model providers over reqwest: OpenAI Chat Completions (and compatible servers) and Anthropic
//! Messages. One function, [`call`], sends a chat and classifies every failure so the router
//! can decide between the fallback model and giving up.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::config::{ProviderConfig, ProviderKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

/// A JSON schema the reply must follow (sent where the provider supports it).
#[derive(Debug, Clone)]
pub struct JsonSchema {
    pub name: &'static str,
    pub schema: Value,
}

#[derive(Debug, Clone)]
pub struct ChatRequest<'a> {
    pub model: &'a str,
    pub system: &'a str,
    pub messages: &'a [Message],
    pub schema: Option<&'a JsonSchema>,
    pub max_tokens: u32,
}

#[derive(Debug, Clone)]
pub struct ChatReply {
    pub text: String,
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum CallError {
    #[error("rate limited{}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited { retry_after: Option<Duration> },
    #[error("the provider's quota or spending limit is used up: {0}")]
    QuotaExhausted(String),
    #[error("the provider had a server error (HTTP {0})")]
    Server(u16),
    #[error("the provider did not answer in time")]
    Timeout,
    #[error("the provider cannot be reached: {0}")]
    Network(String),
    #[error("the provider refused the API key (HTTP {0})")]
    Auth(u16),
    #[error("the provider rejected the request (HTTP {status}): {message}")]
    BadRequest { status: u16, message: String },
    #[error("the provider's answer could not be read: {0}")]
    BadResponse(String),
}

impl CallError {
    /// Whether the fallback model should be tried. Rate limits, server trouble and timeouts are
    /// passing problems of one provider; a bad request, a bad key or a spent quota would fail
    /// the same way again, so they end the attempt.
    pub fn try_fallback(&self) -> bool {
        matches!(
            self,
            CallError::RateLimited { .. }
                | CallError::Server(_)
                | CallError::Timeout
                | CallError::Network(_)
                | CallError::BadResponse(_)
        )
    }

    /// Short label for the usage table.
    pub fn outcome(&self) -> &'static str {
        match self {
            CallError::RateLimited { .. } => "rate_limited",
            CallError::QuotaExhausted(_) => "quota",
            CallError::Server(_) => "server_error",
            CallError::Timeout => "timeout",
            CallError::Network(_) => "network",
            CallError::Auth(_) => "auth",
            CallError::BadRequest { .. } => "bad_request",
            CallError::BadResponse(_) => "bad_response",
        }
    }
}

/// Sends one chat to `provider` and returns the text of the reply with token counts.
pub async fn call(
    http: &reqwest::Client,
    provider: &ProviderConfig,
    req: &ChatRequest<'_>,
    timeout: Duration,
) -> Result<ChatReply, CallError> {
    let (url, body) = match provider.kind {
        ProviderKind::OpenAi => (
            format!("{}/chat/completions", provider.base_url),
            openai_body(provider, req),
        ),
        ProviderKind::Anthropic => (
            format!("{}/v1/messages", provider.base_url),
            anthropic_body(provider, req),
        ),
    };
    let mut builder = http.post(&url).timeout(timeout).json(&body);
    match provider.kind {
        ProviderKind::OpenAi => {
            if let Some(key) = &provider.api_key {
                builder = builder.bearer_auth(key);
            }
        }
        ProviderKind::Anthropic => {
            if let Some(key) = &provider.api_key {
                builder = builder.header("x-api-key", key);
            }
            builder = builder.header("anthropic-version", "2023-06-01");
        }
    }
    let resp = builder.send().await.map_err(transport_error)?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let text = resp.text().await.map_err(transport_error)?;
    if !(200..300).contains(&status) {
        return Err(classify(provider.kind, status, retry_after, &text));
    }
    match provider.kind {
        ProviderKind::OpenAi => parse_openai(&text),
        ProviderKind::Anthropic => parse_anthropic(&text),
    }
}

fn transport_error(e: reqwest::Error) -> CallError {
    if e.is_timeout() {
        CallError::Timeout
    } else {
        CallError::Network(e.to_string())
    }
}

fn openai_body(provider: &ProviderConfig, req: &ChatRequest<'_>) -> Value {
    let mut messages = vec![json!({"role": "system", "content": req.system})];
    messages.extend(
        req.messages
            .iter()
            .map(|m| json!({"role": m.role.as_str(), "content": m.content})),
    );
    let mut body = json!({"model": req.model, "messages": messages});
    let limit_field = if provider.legacy_max_tokens {
        "max_tokens"
    } else {
        "max_completion_tokens"
    };
    body[limit_field] = json!(req.max_tokens);
    if let Some(schema) = req.schema {
        body["response_format"] = if provider.json_schema {
            json!({"type": "json_schema", "json_schema": {
                "name": schema.name, "strict": true, "schema": schema.schema}})
        } else {
            // JSON mode: the prompt itself asks for JSON, as this mode requires.
            json!({"type": "json_object"})
        };
    }
    body
}

fn anthropic_body(provider: &ProviderConfig, req: &ChatRequest<'_>) -> Value {
    let messages: Vec<Value> = req
        .messages
        .iter()
        .map(|m| json!({"role": m.role.as_str(), "content": m.content}))
        .collect();
    let mut body = json!({
        "model": req.model,
        "max_tokens": req.max_tokens,
        "system": req.system,
        "messages": messages,
    });
    if let (Some(schema), true) = (req.schema, provider.json_schema) {
        body["output_config"] = json!({"format": {"type": "json_schema", "schema": schema.schema}});
    }
    body
}

/// Maps an error status and body to what the router needs to know.
fn classify(
    kind: ProviderKind,
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
) -> CallError {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let err = &v["error"];
    let message = err["message"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| body.chars().take(300).collect());
    let quota = match kind {
        // OpenAI signals a spent quota with 429 and code/type insufficient_quota.
        ProviderKind::OpenAi => {
            err["code"].as_str() == Some("insufficient_quota")
                || err["type"].as_str() == Some("insufficient_quota")
        }
        // Anthropic: a 429 whose details say the spend limit is enforced, or a 402 billing error.
        ProviderKind::Anthropic => {
            err["details"]["error_code"].as_str() == Some("enforced_spend_limit_reached")
                || err["type"].as_str() == Some("billing_error")
        }
    };
    match status {
        _ if quota => CallError::QuotaExhausted(message),
        402 => CallError::QuotaExhausted(message),
        429 => CallError::RateLimited { retry_after },
        401 | 403 => CallError::Auth(status),
        408 => CallError::Timeout,
        500..=599 => CallError::Server(status),
        _ => CallError::BadRequest { status, message },
    }
}

#[derive(Deserialize)]
struct OpenAiResponse {
    choices: Vec<OpenAiChoice>,
    #[serde(default)]
    usage: Option<OpenAiUsage>,
}

#[derive(Deserialize)]
struct OpenAiChoice {
    message: OpenAiMessage,
}

#[derive(Deserialize)]
struct OpenAiMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct OpenAiUsage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

fn parse_openai(body: &str) -> Result<ChatReply, CallError> {
    let r: OpenAiResponse =
        serde_json::from_str(body).map_err(|e| CallError::BadResponse(e.to_string()))?;
    let usage = r.usage.unwrap_or(OpenAiUsage {
        prompt_tokens: 0,
        completion_tokens: 0,
    });
    let choice = r
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| CallError::BadResponse("no choices in the reply".into()))?;
    // A refusal comes back as text the validator will reject, so the user sees why.
    let text = choice
        .message
        .content
        .or(choice.message.refusal)
        .unwrap_or_default();
    Ok(ChatReply {
        text,
        input_tokens: usage.prompt_tokens,
        output_tokens: usage.completion_tokens,
    })
}

#[derive(Deserialize)]
struct AnthropicResponse {
    content: Vec<AnthropicBlock>,
    #[serde(default)]
    usage: Option<AnthropicUsage>,
}

#[derive(Deserialize)]
struct AnthropicBlock {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct AnthropicUsage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
}

fn parse_anthropic(body: &str) -> Result<ChatReply, CallError> {
    let r: AnthropicResponse =
        serde_json::from_str(body).map_err(|e| CallError::BadResponse(e.to_string()))?;
    let text: String = r
        .content
        .into_iter()
        .filter(|b| b.kind == "text")
        .filter_map(|b| b.text)
        .collect();
    let usage = r.usage.unwrap_or(AnthropicUsage {
        input_tokens: 0,
        output_tokens: 0,
    });
    Ok(ChatReply {
        text,
        input_tokens: usage.input_tokens,
        output_tokens: usage.output_tokens,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_errors_are_told_apart_from_rate_limits() {
        let openai_quota = r#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","code":"insufficient_quota"}}"#;
        let openai_rate = r#"{"error":{"message":"Rate limit reached","type":"requests","code":"rate_limit_exceeded"}}"#;
        assert!(matches!(
            classify(ProviderKind::OpenAi, 429, None, openai_quota),
            CallError::QuotaExhausted(_)
        ));
        let e = classify(ProviderKind::OpenAi, 429, None, openai_rate);
        assert!(matches!(e, CallError::RateLimited { .. }) && e.try_fallback());
        let anth_spend = r#"{"type":"error","error":{"type":"rate_limit_error","message":"limit","details":{"error_code":"enforced_spend_limit_reached"}}}"#;
        let e = classify(ProviderKind::Anthropic, 429, None, anth_spend);
        assert!(matches!(e, CallError::QuotaExhausted(_)) && !e.try_fallback());
        let overloaded =
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#;
        assert!(classify(ProviderKind::Anthropic, 529, None, overloaded).try_fallback());
        assert!(!classify(ProviderKind::Anthropic, 400, None, "{}").try_fallback());
        assert!(!classify(ProviderKind::OpenAi, 401, None, "not json").try_fallback());
    }

    #[test]
    fn replies_of_both_formats_are_read() {
        let o = parse_openai(r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"{\"a\":1}","refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":3,"total_tokens":15}}"#).expect("openai");
        assert_eq!(
            (o.text.as_str(), o.input_tokens, o.output_tokens),
            ("{\"a\":1}", 12, 3)
        );
        let a = parse_anthropic(r#"{"id":"msg_1","type":"message","role":"assistant","content":[{"type":"text","text":"{\"a\":1}"}],"stop_reason":"end_turn","usage":{"input_tokens":7,"output_tokens":2}}"#).expect("anthropic");
        assert_eq!(
            (a.text.as_str(), a.input_tokens, a.output_tokens),
            ("{\"a\":1}", 7, 2)
        );
        assert!(parse_openai(r#"{"choices":[]}"#).is_err());
    }
}
