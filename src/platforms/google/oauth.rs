//! Google OAuth 2.0 (web server flow) with offline access, PKCE and refresh tokens. The
//! authorization URL, code exchange and refresh are standard OAuth 2 and built by the `oauth2`
//! crate; revocation is Google's own (the token in the query) and stays hand-written.

use std::borrow::Cow;

use chrono::Utc;
use oauth2::basic::{
    BasicErrorResponse, BasicRevocationErrorResponse, BasicTokenIntrospectionResponse,
};
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointNotSet,
    EndpointSet, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, Scope,
    StandardRevocableToken, TokenUrl,
};
use serde_json::Value;

use super::GoogleAds;
use super::errors::classify_oauth;
use crate::platforms::call::{Answer, no_slot, platform_call};
use crate::platforms::errors::PlatformError;
use crate::platforms::model::{AuthorizationRequest, TokenSet};
use crate::platforms::oauth_http::{self, OAuthHttp, RawTokenResponse};
use crate::platforms::wire::{access_token, expiry_after, int, text};

const SCOPE: &str = "https://www.googleapis.com/auth/adwords";

type Client<HasAuthUrl = EndpointNotSet, HasTokenUrl = EndpointNotSet> = oauth2::Client<
    BasicErrorResponse,
    RawTokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    HasAuthUrl,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    HasTokenUrl,
>;

impl GoogleAds {
    pub(crate) fn authorization_url(
        &self,
        req: &AuthorizationRequest<'_>,
    ) -> Result<String, PlatformError> {
        let s = self.settings();
        let auth_url = AuthUrl::new(s.oauth_authorize_url.clone()).map_err(|e| {
            PlatformError::unexpected(format!(
                "the Google authorization URL \"{}\" is invalid: {e}",
                s.oauth_authorize_url
            ))
        })?;
        let client: Client<EndpointSet> =
            Client::new(ClientId::new(s.client_id.clone())).set_auth_uri(auth_url);
        let mut auth = client
            .authorize_url(|| CsrfToken::new(req.state.to_string()))
            .set_redirect_uri(Cow::Owned(redirect_url(req.redirect_uri)?))
            .add_scope(Scope::new(SCOPE.to_string()))
            // offline + consent: a refresh token on every consent, also on re-connects.
            .add_extra_param("access_type", "offline")
            .add_extra_param("prompt", "consent")
            .add_extra_param("include_granted_scopes", "true");
        if let Some(challenge) = req.pkce_challenge {
            auth = auth.set_pkce_challenge(s256_challenge(challenge)?);
        }
        let (url, _state) = auth.url();
        Ok(url.into())
    }

    fn token_client(&self) -> Result<Client<EndpointNotSet, EndpointSet>, PlatformError> {
        let s = self.settings();
        let token_url = TokenUrl::new(s.oauth_token_url.clone()).map_err(|e| {
            PlatformError::unexpected(format!(
                "the Google token URL \"{}\" is invalid: {e}",
                s.oauth_token_url
            ))
        })?;
        Ok(Client::new(ClientId::new(s.client_id.clone()))
            .set_client_secret(ClientSecret::new(s.client_secret.clone()))
            // Google takes the client credentials in the form, as we always sent them.
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(token_url))
    }

    pub(crate) async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        pkce_verifier: Option<&str>,
    ) -> Result<TokenSet, PlatformError> {
        let client = self.token_client()?;
        let mut request = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .set_redirect_uri(Cow::Owned(redirect_url(redirect_uri)?));
        if let Some(v) = pkce_verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(v.to_string()));
        }
        // A code is single-use: a timeout may have consumed it, so only refusals are retried.
        let http = OAuthHttp::new(&self.shared, false, classify_oauth);
        let answer = request
            .request_async(&http)
            .await
            .map_err(|e| oauth_http::token_error("Google", e))?;
        token_set(&answer.json, None, Utc::now())
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
        let client = self.token_client()?;
        let refresh_token = RefreshToken::new(refresh.to_string());
        let http = OAuthHttp::new(&self.shared, true, classify_oauth);
        let answer = client
            .exchange_refresh_token(&refresh_token)
            .request_async(&http)
            .await
            .map_err(|e| oauth_http::token_error("Google", e))?;
        // The refresh response omits refresh_token: the old one stays valid. When it has
        // one (rotation), the new one replaces it.
        token_set(&answer.json, Some(refresh.to_string()), Utc::now()).map(Some)
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

fn redirect_url(uri: &str) -> Result<RedirectUrl, PlatformError> {
    RedirectUrl::new(uri.to_string()).map_err(|e| {
        PlatformError::unexpected(format!("the OAuth redirect URI \"{uri}\" is invalid: {e}"))
    })
}

/// oauth2 makes a challenge only from a verifier, but ours was made and stored (encrypted, with
/// the state) by the connection flow before the adapter is asked; its serde form is the one
/// public way in for a challenge made elsewhere.
fn s256_challenge(challenge: &str) -> Result<PkceCodeChallenge, PlatformError> {
    serde_json::from_value(serde_json::json!({
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }))
    .map_err(|e| PlatformError::unexpected(format!("the PKCE challenge is unusable: {e}")))
}
