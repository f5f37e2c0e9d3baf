//! Google OAuth 2.0 (web server flow) with offline access, PKCE and refresh tokens.

use chrono::Utc;
use serde_json::Value;

use super::GoogleAds;
use super::errors::classify_oauth;
use crate::platforms::call::{Answer, no_slot, platform_call};
use crate::platforms::errors::PlatformError;
use crate::platforms::model::{AuthorizationRequest, TokenSet};
use crate::platforms::wire::{access_token, expiry_after, int, text};

const SCOPE: &str = "https://www.googleapis.com/auth/adwords";

impl GoogleAds {
    pub(crate) fn authorization_url(
        &self,
        req: &AuthorizationRequest<'_>,
    ) -> Result<String, PlatformError> {
        let s = self.settings();
        let mut params = vec![
            ("client_id", s.client_id.as_str()),
            ("redirect_uri", req.redirect_uri),
            ("response_type", "code"),
            ("scope", SCOPE),
            // offline + consent: a refresh token on every consent, also on re-connects.
            ("access_type", "offline"),
            ("prompt", "consent"),
            ("include_granted_scopes", "true"),
            ("state", req.state),
        ];
        if let Some(challenge) = req.pkce_challenge {
            params.push(("code_challenge", challenge));
            params.push(("code_challenge_method", "S256"));
        }
        url::Url::parse_with_params(&s.oauth_authorize_url, &params)
            .map(String::from)
            .map_err(|e| {
                PlatformError::unexpected(format!(
                    "the Google authorization URL \"{}\" is invalid: {e}",
                    s.oauth_authorize_url
                ))
            })
    }

    async fn token_request(
        &self,
        form: &[(&str, &str)],
        retry_transient: bool,
    ) -> Result<Value, PlatformError> {
        let url = self.settings().oauth_token_url.as_str();
        platform_call(
            &self.shared,
            retry_transient,
            no_slot,
            |http| http.post(url).form(form),
            |answer| answer.json_or("Google token response unreadable", classify_oauth),
        )
        .await
    }

    pub(crate) async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: Option<&str>,
    ) -> Result<TokenSet, PlatformError> {
        let s = self.settings();
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", s.client_id.as_str()),
            ("client_secret", s.client_secret.as_str()),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(v) = pkce_verifier {
            form.push(("code_verifier", v));
        }
        // A code is single-use: a timeout may have consumed it, so only refusals are retried.
        let v = self.token_request(&form, false).await?;
        token_set(&v, None, Utc::now())
    }

    pub(crate) async fn renew_token(
        &self,
        tokens: &TokenSet,
    ) -> Result<Option<TokenSet>, PlatformError> {
        let Some(refresh) = tokens.refresh_token.as_deref() else {
            return Err(PlatformError::Auth {
                needs_reconnect: true,
                message: "Google gave no refresh token; connect the account again".into(),
            });
        };
        let s = self.settings();
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh),
            ("client_id", s.client_id.as_str()),
            ("client_secret", s.client_secret.as_str()),
        ];
        let v = self.token_request(&form, true).await?;
        // The refresh response omits refresh_token: the old one stays valid.
        token_set(&v, Some(refresh.to_string()), Utc::now()).map(Some)
    }

    pub(crate) async fn revoke(&self, tokens: &TokenSet) -> Result<(), PlatformError> {
        // Revoking the refresh token ends the whole grant; the access token alone would not.
        let token = tokens
            .refresh_token
            .as_deref()
            .unwrap_or(&tokens.access_token);
        let url = self.settings().oauth_revoke_url.as_str();
        platform_call(
            &self.shared,
            true,
            no_slot,
            |http| {
                http.post(url)
                    .query(&[("token", token)])
                    .header("content-type", "application/x-www-form-urlencoded")
            },
            |Answer {
                 status,
                 headers,
                 body,
             }| {
                if status.is_success() {
                    return Ok(());
                }
                match classify_oauth(status, &headers, &body) {
                    // Already revoked or expired: the goal is reached.
                    PlatformError::Auth { .. } => Ok(()),
                    e if body.contains("invalid_token") => {
                        tracing::debug!(error = %e, "google token already invalid");
                        Ok(())
                    }
                    e => Err(e),
                }
            },
        )
        .await
    }
}

/// Reads the token endpoint's answer (also fed arbitrary JSON by the fuzz target).
pub(crate) fn token_set(
    v: &Value,
    previous_refresh: Option<String>,
    now: chrono::DateTime<Utc>,
) -> Result<TokenSet, PlatformError> {
    let expires_in = int(v.get("expires_in"), "expires_in")?;
    Ok(TokenSet {
        access_token: access_token(v)?,
        refresh_token: text(v.get("refresh_token")).or(previous_refresh),
        expires_at: expiry_after(now, expires_in),
        scope: text(v.get("scope")),
        advertiser_ids: Vec::new(),
    })
}
