//! TikTok advertiser authorization: `auth_code` -> long-term access token (no refresh).

use reqwest::Method;
use serde_json::{Value, json};

use super::{Req, TiktokAds};
use crate::platforms::errors::PlatformError;
use crate::platforms::model::{AuthorizationRequest, TokenSet};
use crate::platforms::wire::{access_token, text};

impl TiktokAds {
    pub(crate) fn authorization_url(
        &self,
        req: &AuthorizationRequest<'_>,
    ) -> Result<String, PlatformError> {
        let s = self.settings();
        url::Url::parse_with_params(
            &s.authorize_url,
            &[
                ("app_id", s.app_id.as_str()),
                ("state", req.state),
                ("redirect_uri", req.redirect_uri),
            ],
        )
        .map(String::from)
        .map_err(|e| {
            PlatformError::unexpected(format!("the TikTok authorization URL is invalid: {e}"))
        })
    }

    pub(crate) async fn exchange_code(
        &self,
        code: &str,
        _redirect_uri: &str,
        _pkce_verifier: Option<&str>,
    ) -> Result<TokenSet, PlatformError> {
        let s = self.settings();
        // Hand-written, not through the oauth2 crate: TikTok's token call is not standard
        // OAuth 2. The request is a JSON body with `app_id`/`secret`/`auth_code` (not a form
        // with `grant_type`/`client_id`/`client_secret`/`code`), and the answer is wrapped in
        // `{code, message, data}`, errors included with HTTP 200, which oauth2 cannot read.
        let body = json!({"app_id": s.app_id, "secret": s.secret, "auth_code": code});
        // auth_code is single use: only refusals are retried.
        let data = self
            .call(
                None,
                "",
                Req {
                    method: Method::POST,
                    path: "oauth2/access_token/",
                    query: &Vec::new(),
                    body: Some((
                        "application/json".to_string(),
                        body.to_string().into_bytes(),
                    )),
                    idempotent: false,
                },
            )
            .await?;
        token_set(&data)
    }

    pub(crate) async fn renew_token(
        &self,
        _tokens: &TokenSet,
    ) -> Result<Option<TokenSet>, PlatformError> {
        Ok(None)
    }

    pub(crate) async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        let s = self.settings();
        let body =
            json!({"app_id": s.app_id, "secret": s.secret, "access_token": tokens.access_token});
        let r = self
            .call(
                None,
                "",
                Req {
                    method: Method::POST,
                    path: "oauth2/revoke_token/",
                    query: &Vec::new(),
                    body: Some((
                        "application/json".to_string(),
                        body.to_string().into_bytes(),
                    )),
                    idempotent: true,
                },
            )
            .await;
        match r {
            Ok(_) => Ok(()),
            // Already invalid: nothing left to revoke.
            Err(PlatformError::Auth {
                needs_reconnect: true,
                ..
            }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Reads the `data` of TikTok's token answer (also fed arbitrary JSON by the fuzz target).
pub(crate) fn token_set(data: &Value) -> Result<TokenSet, PlatformError> {
    let scope = data.get("scope").map(|s| match s {
        Value::Array(a) => a
            .iter()
            .filter_map(|x| text(Some(x)))
            .collect::<Vec<_>>()
            .join(","),
        other => text(Some(other)).unwrap_or_default(),
    });
    Ok(TokenSet {
        access_token: access_token(data)?,
        refresh_token: None,
        // Advertiser tokens are long-term: valid until revoked.
        expires_at: None,
        scope,
        advertiser_ids: data
            .get("advertiser_ids")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| text(Some(v)))
            .collect(),
    })
}
