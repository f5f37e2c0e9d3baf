//! Grants, access/refresh tokens and single-use authorization codes for the three platforms.
//!
//! A grant is what the user approved on the authorization page (which ad accounts); every token
//! issued from it (Google refreshes, Meta's long-lived exchange) points back to it, so revoking
//! any of them revokes them all, as the platforms do.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::types::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenKind {
    Access,
    Refresh,
    /// Meta's long-lived user token (from fb_exchange_token).
    LongLived,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub id: String,
    pub platform: Platform,
    pub client_id: String,
    pub accounts: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub revoked: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Token {
    pub value: String,
    pub platform: Platform,
    pub grant_id: String,
    pub kind: TokenKind,
    pub issued_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// What a consent approved, for [`AuthStore::new_code`].
pub struct CodeRequest {
    pub client_id: String,
    pub redirect_uri: String,
    pub accounts: Vec<String>,
    /// Google: access_type=offline was requested, so a refresh token is due.
    pub offline: bool,
    /// PKCE challenge and method (Google).
    pub code_challenge: Option<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthCode {
    pub value: String,
    pub platform: Platform,
    pub client_id: String,
    pub redirect_uri: String,
    pub accounts: Vec<String>,
    /// Google: access_type=offline was requested, so a refresh token is due.
    pub offline: bool,
    /// PKCE challenge and method (Google).
    pub code_challenge: Option<(String, String)>,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

/// Why a presented token is not usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    Missing,
    Unknown,
    Expired,
    Revoked,
}

/// Why an authorization code cannot be exchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeProblem {
    Unknown,
    Used,
    Expired,
    /// Client id or redirect URI differ from the authorization request.
    Mismatch,
    /// PKCE verifier missing or wrong.
    Verifier,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuthStore {
    pub grants: Vec<Grant>,
    pub tokens: Vec<Token>,
    pub codes: Vec<AuthCode>,
}

/// A random token value with a platform-looking prefix.
pub fn random_token(prefix: &str) -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("{prefix}{a}{b}")
}

impl AuthStore {
    pub fn new_grant(
        &mut self,
        platform: Platform,
        client_id: &str,
        accounts: Vec<String>,
        now: DateTime<Utc>,
    ) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.grants.push(Grant {
            id: id.clone(),
            platform,
            client_id: client_id.to_string(),
            accounts,
            created_at: now,
            revoked: false,
        });
        id
    }

    pub fn issue(
        &mut self,
        platform: Platform,
        grant_id: &str,
        kind: TokenKind,
        ttl: Option<Duration>,
        now: DateTime<Utc>,
    ) -> Token {
        let prefix = match (platform, kind) {
            (Platform::Google, TokenKind::Refresh) => "1//sbx-",
            (Platform::Google, _) => "ya29.sbx-",
            (Platform::Meta, _) => "EAAsbx",
            (Platform::Tiktok, _) => "",
        };
        let t = Token {
            value: random_token(prefix),
            platform,
            grant_id: grant_id.to_string(),
            kind,
            issued_at: now,
            expires_at: ttl.map(|d| now + d),
        };
        self.tokens.push(t.clone());
        t
    }

    pub fn grant(&self, id: &str) -> Option<&Grant> {
        self.grants.iter().find(|g| g.id == id)
    }

    /// Checks a token presented to an API or token endpoint.
    pub fn check(
        &self,
        platform: Platform,
        value: Option<&str>,
        kinds: &[TokenKind],
        now: DateTime<Utc>,
    ) -> Result<(&Token, &Grant), TokenProblem> {
        let value = match value.map(str::trim) {
            Some(v) if !v.is_empty() => v,
            _ => return Err(TokenProblem::Missing),
        };
        let token = self
            .tokens
            .iter()
            .find(|t| t.platform == platform && t.value == value && kinds.contains(&t.kind))
            .ok_or(TokenProblem::Unknown)?;
        let grant = self.grant(&token.grant_id).ok_or(TokenProblem::Unknown)?;
        if grant.revoked {
            return Err(TokenProblem::Revoked);
        }
        if token.expires_at.is_some_and(|e| e <= now) {
            return Err(TokenProblem::Expired);
        }
        Ok((token, grant))
    }

    /// Revokes the grant behind `value`; false when the token is unknown.
    pub fn revoke_token(&mut self, platform: Platform, value: &str) -> bool {
        let grant_id = self
            .tokens
            .iter()
            .find(|t| t.platform == platform && t.value == value)
            .map(|t| t.grant_id.clone());
        match grant_id {
            Some(id) => {
                for g in self.grants.iter_mut().filter(|g| g.id == id) {
                    g.revoked = true;
                }
                true
            }
            None => false,
        }
    }

    /// Revokes every grant of `platform` (admin / tests).
    pub fn revoke_all(&mut self, platform: Platform) -> usize {
        let mut n = 0;
        for g in self.grants.iter_mut().filter(|g| g.platform == platform) {
            g.revoked = true;
            n += 1;
        }
        n
    }

    /// Makes every token of `platform` of the given kinds expire at `now` (admin / tests).
    pub fn expire_all(
        &mut self,
        platform: Platform,
        kinds: &[TokenKind],
        now: DateTime<Utc>,
    ) -> usize {
        let mut n = 0;
        for t in self
            .tokens
            .iter_mut()
            .filter(|t| t.platform == platform && kinds.contains(&t.kind))
        {
            t.expires_at = Some(now);
            n += 1;
        }
        n
    }

    /// Issues an authorization code for what the person approved, valid for `ttl`.
    pub fn new_code(
        &mut self,
        platform: Platform,
        approved: CodeRequest,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> String {
        let value = match platform {
            Platform::Google => random_token("4/sbx-"),
            Platform::Meta => random_token("AQsbx"),
            Platform::Tiktok => random_token(""),
        };
        self.codes.push(AuthCode {
            value: value.clone(),
            platform,
            client_id: approved.client_id,
            redirect_uri: approved.redirect_uri,
            accounts: approved.accounts,
            offline: approved.offline,
            code_challenge: approved.code_challenge,
            expires_at: now + ttl,
            used: false,
        });
        value
    }

    /// Redeems a code once. `redirect_uri` is checked when the platform sends it.
    pub fn redeem_code(
        &mut self,
        platform: Platform,
        value: &str,
        client_id: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<AuthCode, CodeProblem> {
        let code = self
            .codes
            .iter_mut()
            .find(|c| c.platform == platform && c.value == value)
            .ok_or(CodeProblem::Unknown)?;
        if code.used {
            return Err(CodeProblem::Used);
        }
        if code.expires_at <= now {
            return Err(CodeProblem::Expired);
        }
        if code.client_id != client_id || redirect_uri.is_some_and(|r| r != code.redirect_uri) {
            return Err(CodeProblem::Mismatch);
        }
        if let Some((challenge, method)) = &code.code_challenge {
            let ok = verifier.is_some_and(|v| pkce_matches(challenge, method, v));
            if !ok {
                return Err(CodeProblem::Verifier);
            }
        }
        code.used = true;
        Ok(code.clone())
    }

    /// Drops codes a day after they expired, so a long-running sandbox does not grow; until
    /// then a reused code is still reported as used rather than unknown.
    pub fn prune_codes(&mut self, now: DateTime<Utc>) {
        self.codes
            .retain(|c| c.expires_at > now - Duration::days(1));
    }
}

/// RFC 7636: S256 compares BASE64URL(SHA256(verifier)) without padding; plain compares as is.
pub fn pkce_matches(challenge: &str, method: &str, verifier: &str) -> bool {
    use base64::Engine;
    use sha2::Digest;
    let computed = if method.eq_ignore_ascii_case("S256") {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier))
    } else {
        verifier.to_string()
    };
    subtle::ConstantTimeEq::ct_eq(computed.as_bytes(), challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636_example() {
        // Appendix B of RFC 7636.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(challenge, "S256", verifier));
        assert!(!pkce_matches(challenge, "S256", "wrong"));
    }

    #[test]
    fn codes_are_single_use_and_revocation_covers_the_grant() {
        let now = Utc::now();
        let mut s = AuthStore::default();
        let approved = CodeRequest {
            client_id: "cid".into(),
            redirect_uri: "http://x/cb".into(),
            accounts: vec!["1".into()],
            offline: true,
            code_challenge: None,
        };
        let code = s.new_code(Platform::Google, approved, Duration::minutes(10), now);
        assert!(
            s.redeem_code(
                Platform::Google,
                &code,
                "cid",
                Some("http://x/cb"),
                None,
                now
            )
            .is_ok()
        );
        assert_eq!(
            s.redeem_code(
                Platform::Google,
                &code,
                "cid",
                Some("http://x/cb"),
                None,
                now
            )
            .err(),
            Some(CodeProblem::Used)
        );
        let g = s.new_grant(Platform::Google, "cid", vec!["1".into()], now);
        let access = s.issue(
            Platform::Google,
            &g,
            TokenKind::Access,
            Some(Duration::hours(1)),
            now,
        );
        let refresh = s.issue(Platform::Google, &g, TokenKind::Refresh, None, now);
        assert!(s.revoke_token(Platform::Google, &refresh.value));
        assert_eq!(
            s.check(
                Platform::Google,
                Some(&access.value),
                &[TokenKind::Access],
                now
            )
            .err(),
            Some(TokenProblem::Revoked)
        );
    }
}
