//! Facebook Login (manual flow): code -> short-lived token -> long-lived token. Meta has no
//! refresh tokens; a long-lived token is renewed by exchanging it while it is still valid.

use chrono::Utc;
use reqwest::Method;
use serde_json::Value;

use super::{MetaAds, p};
use crate::platforms::errors::PlatformError;
use crate::platforms::model::{AuthorizationRequest, TokenSet};
use crate::platforms::settings::{join_url, versioned};
use crate::platforms::wire::{access_token, expiry_after, int};

impl MetaAds {
    pub(crate) fn authorization_url(
        &self,
        req: &AuthorizationRequest<'_>,
    ) -> Result<String, PlatformError> {
        let s = self.settings();
        let dialog = join_url(
            &s.dialog_url,
            &format!("{}/dialog/oauth", versioned(&s.api_version)),
        );
        let scope = s.scopes.join(",");
        url::Url::parse_with_params(
            &dialog,
            &[
                ("client_id", s.app_id.as_str()),
                ("redirect_uri", req.redirect_uri),
                ("state", req.state),
                ("scope", scope.as_str()),
                ("response_type", "code"),
            ],
        )
        .map(String::from)
        .map_err(|e| PlatformError::unexpected(format!("the Meta dialog URL is invalid: {e}")))
    }

    async fn long_lived(&self, short: &str) -> Result<TokenSet, PlatformError> {
        let s = self.settings();
        let v = self
            .request(
                None,
                "",
                Method::GET,
                &self.graph("oauth/access_token"),
                &vec![
                    p("grant_type", "fb_exchange_token"),
                    p("client_id", s.app_id.clone()),
                    p("client_secret", s.app_secret.clone()),
                    p("fb_exchange_token", short),
                ],
                true,
            )
            .await?;
        token_set(&v, Utc::now())
    }

    pub(crate) async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        _pkce_verifier: Option<&str>,
    ) -> Result<TokenSet, PlatformError> {
        let s = self.settings();
        // Hand-written, not through the oauth2 crate (chosen after checking what we send):
        // Meta documents this exchange as a GET with everything in the query, which is what
        // adpilot has always sent and what the contract tests check, while oauth2 always POSTs
        // a form; and the renewal that must follow (`fb_exchange_token`) is Meta's own grant,
        // so oauth2 would carry only half of the flow.
        // Single-use code: only refusals are retried (idempotent = false).
        let v = self
            .request(
                None,
                "",
                Method::GET,
                &self.graph("oauth/access_token"),
                &vec![
                    p("client_id", s.app_id.clone()),
                    p("redirect_uri", redirect_uri),
                    p("client_secret", s.app_secret.clone()),
                    p("code", code),
                ],
                false,
            )
            .await?;
        let short = token_set(&v, Utc::now())?;
        // Some flows already return a ~60-day token, but the exchange is what guarantees it.
        self.long_lived(&short.access_token).await
    }

    pub(crate) async fn renew_token(
        &self,
        tokens: &TokenSet,
    ) -> Result<Option<TokenSet>, PlatformError> {
        self.long_lived(&tokens.access_token).await.map(Some)
    }

    pub(crate) async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        let r = self
            .request(
                Some(&tokens.access_token),
                "",
                Method::DELETE,
                &self.graph("me/permissions"),
                &Vec::new(),
                true,
            )
            .await;
        match r {
            Ok(_) => Ok(()),
            // The token is already invalid: nothing is left to revoke.
            Err(PlatformError::Auth {
                needs_reconnect: true,
                ..
            }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// Reads the Graph API's token answer (also fed arbitrary JSON by the fuzz target).
pub(crate) fn token_set(v: &Value, now: chrono::DateTime<Utc>) -> Result<TokenSet, PlatformError> {
    let expires_in = int(v.get("expires_in"), "expires_in")?;
    Ok(TokenSet {
        access_token: access_token(v)?,
        refresh_token: None,
        // No expires_in: a non-expiring (system user) token.
        expires_at: expiry_after(now, expires_in),
        scope: None,
        advertiser_ids: Vec::new(),
    })
}
