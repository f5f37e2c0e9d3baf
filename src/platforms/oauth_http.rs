//! The `oauth2` crate over our own HTTP client. Its `reqwest` feature is built for reqwest
//! 0.12; we use 0.13, so oauth2 gets an async closure instead (it accepts any
//! `Fn(http::Request<Vec<u8>>) -> Future<Output = Result<http::Response<Vec<u8>>, _>>`).
//! oauth2 builds the requests and reads the successful answers; sending, retrying and
//! classifying refusals stay with [`platform_call`], so the errors users see do not change.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use oauth2::basic::{BasicErrorResponse, BasicTokenType};
use oauth2::{AccessToken, RefreshToken, RequestTokenError, Scope, TokenResponse};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::Shared;
use super::call::{no_slot, platform_call};
use super::errors::PlatformError;

/// How a platform turns a refused token request into an error.
pub(crate) type Classify = fn(StatusCode, &HeaderMap, &str) -> PlatformError;

/// The HTTP client handed to oauth2's `request_async`. A named type with a boxed `Send`
/// future, because a closure's future is not provably `Send` for every lifetime oauth2 asks.
pub(crate) struct OAuthHttp<'a> {
    shared: &'a Shared,
    idempotent: bool,
    classify: Classify,
}

impl<'a> OAuthHttp<'a> {
    /// `idempotent` as for [`platform_call`]: false for single-use codes.
    pub(crate) fn new(shared: &'a Shared, idempotent: bool, classify: Classify) -> Self {
        OAuthHttp {
            shared,
            idempotent,
            classify,
        }
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for OAuthHttp<'_> {
    type Error = PlatformError;
    type Future =
        Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, PlatformError>> + Send + 'c>>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(send(self.shared, self.idempotent, self.classify, request))
    }
}

/// Sends one request oauth2 built. A refusal becomes the platform's `PlatformError` here, by
/// `classify`; only successes reach oauth2's reader.
async fn send(
    shared: &Shared,
    idempotent: bool,
    classify: Classify,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, PlatformError> {
    let (parts, body) = request.into_parts();
    let url = parts.uri.to_string();
    platform_call(
        shared,
        idempotent,
        no_slot,
        |http| {
            http.request(parts.method.clone(), url.as_str())
                .headers(parts.headers.clone())
                .body(body.clone())
        },
        |answer| {
            if !answer.status.is_success() {
                return Err(classify(answer.status, &answer.headers, &answer.body));
            }
            let mut response = oauth2::HttpResponse::new(answer.body.into_bytes());
            *response.status_mut() = answer.status;
            *response.headers_mut() = answer.headers;
            Ok(response)
        },
    )
    .await
}

/// What a failed oauth2 token request means to the caller. Refusals were classified in
/// [`send`]; what is left is an answer oauth2 could not read.
pub(crate) fn token_error(
    platform: &str,
    e: RequestTokenError<PlatformError, BasicErrorResponse>,
) -> PlatformError {
    match e {
        RequestTokenError::Request(e) => e,
        RequestTokenError::Parse(e, _) => {
            PlatformError::unexpected(format!("{platform} token response unreadable: {e}"))
        }
        RequestTokenError::ServerResponse(e) => {
            PlatformError::unexpected(format!("{platform} token response unreadable: {e}"))
        }
        RequestTokenError::Other(m) => {
            PlatformError::unexpected(format!("{platform} token response unreadable: {m}"))
        }
    }
}

/// A token endpoint's JSON as it came, for the adapters' own readers (`token_set`, shared with
/// the fuzz target through `parse_token_response`). oauth2's `StandardTokenResponse` would
/// refuse answers those readers accept (no `token_type`, `expires_in` as a string) and would
/// add a second reader whose rules could drift from the first.
pub(crate) struct RawTokenResponse {
    pub(crate) json: Value,
    access_token: AccessToken,
}

/// The trait wants a token type by reference; the readers do not look at it.
static BEARER: BasicTokenType = BasicTokenType::Bearer;

impl TokenResponse for RawTokenResponse {
    type TokenType = BasicTokenType;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }

    fn token_type(&self) -> &BasicTokenType {
        &BEARER
    }

    fn expires_in(&self) -> Option<Duration> {
        self.json
            .get("expires_in")
            .and_then(Value::as_u64)
            .map(Duration::from_secs)
    }

    // Refresh token and scopes are read from `json` by `token_set`, which also handles a
    // refresh answer that leaves the refresh token out.
    fn refresh_token(&self) -> Option<&RefreshToken> {
        None
    }

    fn scopes(&self) -> Option<&Vec<Scope>> {
        None
    }
}

impl<'de> Deserialize<'de> for RawTokenResponse {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let json = Value::deserialize(d)?;
        // Emptiness and absence are judged by `token_set`, with its own messages.
        let access_token = AccessToken::new(
            json.get("access_token")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
        );
        Ok(RawTokenResponse { json, access_token })
    }
}

impl Serialize for RawTokenResponse {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(s)
    }
}

impl fmt::Debug for RawTokenResponse {
    // Tokens stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawTokenResponse").finish_non_exhaustive()
    }
}
