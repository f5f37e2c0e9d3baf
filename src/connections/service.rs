//! Connection services: start and finish the OAuth flow, pick accounts, refresh, disconnect.
//!
//! Platform calls never run inside a database transaction: each step reads or writes in a short
//! tenant transaction, calls the platform, then records the outcome in another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::vault::{Binding, Field, Vault};
use super::{ConnError, ConnectionStatus};
use crate::app::App;
use crate::audit;
use crate::auth::tokens::{hash_token, new_token};
use crate::db::Conn;
use crate::db::schema::{ad_accounts, connections, oauth_states};
use crate::platforms::{
    AccountRef, AdAccount, AuthorizationRequest, Credentials, PlatformError, TokenSet,
};
use crate::types::{Currency, Platform};

/// How long a connect attempt may take between leaving for the platform and coming back.
pub const STATE_TTL_MINUTES: i64 = 10;

/// The exact redirect URI registered with each platform.
pub fn redirect_uri(app: &App, platform: Platform) -> String {
    app.config.url(&format!("/connections/{platform}/callback"))
}

/// Whether the operator configured the platform's app credentials.
pub fn configured(app: &App, platform: Platform) -> bool {
    let s = app.platforms.settings();
    match platform {
        Platform::Google => !s.google.client_id.is_empty(),
        Platform::Meta => !s.meta.app_id.is_empty(),
        Platform::Tiktok => !s.tiktok.app_id.is_empty(),
    }
}

/// Starts connecting: stores a one-time state bound to this session and platform (with a PKCE
/// verifier for Google) and returns the platform's authorization URL.
pub async fn start(
    app: &App,
    org_id: Uuid,
    user_id: Uuid,
    session_id: Uuid,
    platform: Platform,
    reconnect_id: Option<Uuid>,
) -> Result<String, ConnError> {
    if !configured(app, platform) {
        return Err(ConnError::NotConfigured(platform.label()));
    }
    let state = new_token();
    let id = Uuid::now_v7();
    let (verifier, challenge) = if platform == Platform::Google {
        let v = new_token();
        let c = URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()));
        (Some(v), Some(c))
    } else {
        (None, None)
    };
    let verifier_enc = match &verifier {
        Some(v) => Some(app.vault.encrypt(
            v,
            &Binding {
                org_id,
                platform,
                row_id: id,
                field: Field::Verifier,
            },
        )?),
        None => None,
    };
    let state_hash = hash_token(&state);
    app.db
        .tenant(org_id, async move |c| {
            // Old, unused attempts of this session go: only the newest link works.
            diesel::delete(oauth_states::table.filter(oauth_states::expires_at.lt(Utc::now())))
                .execute(c)
                .await?;
            diesel::insert_into(oauth_states::table)
                .values((
                    oauth_states::id.eq(id),
                    oauth_states::org_id.eq(org_id),
                    oauth_states::session_id.eq(session_id),
                    oauth_states::user_id.eq(user_id),
                    oauth_states::platform.eq(platform.as_str()),
                    oauth_states::state_hash.eq(state_hash),
                    oauth_states::pkce_verifier_enc.eq(verifier_enc),
                    oauth_states::reconnect_id.eq(reconnect_id),
                    oauth_states::expires_at.eq(Utc::now() + Duration::minutes(STATE_TTL_MINUTES)),
                ))
                .execute(c)
                .await?;
            Ok::<_, ConnError>(())
        })
        .await?;
    let redirect = redirect_uri(app, platform);
    Ok(app
        .platforms
        .adapter(platform)
        .authorization_url(&AuthorizationRequest {
            state: &state,
            redirect_uri: &redirect,
            pkce_challenge: challenge.as_deref(),
        })?)
}

/// What the platform put on the callback URL.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct CallbackParams {
    pub state: Option<String>,
    pub code: Option<String>,
    pub auth_code: Option<String>,
    pub error: Option<String>,
    pub error_reason: Option<String>,
    pub error_description: Option<String>,
}

/// Parses the callback's query string as the route's `Query` extractor does.
pub fn parse_callback_query(query: &str) -> Result<CallbackParams, ConnError> {
    serde_urlencoded::from_str(query)
        .map_err(|_| ConnError::BadState("its query string is malformed"))
}

/// What is stored of a connect attempt's state when the browser comes back.
#[derive(Debug, Clone)]
pub struct StoredState {
    pub session_id: Uuid,
    pub platform: String,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

/// The checks on a stored state (pure): unused, this browser session's, this platform's, and
/// not expired.
pub fn check_state(
    s: &StoredState,
    session_id: Uuid,
    platform: Platform,
    now: DateTime<Utc>,
) -> Result<(), ConnError> {
    if s.used_at.is_some() {
        return Err(ConnError::BadState("it was already used"));
    }
    if s.session_id != session_id {
        return Err(ConnError::BadState(
            "it was started in another browser session",
        ));
    }
    if s.platform != platform.as_str() {
        return Err(ConnError::BadState(
            "it was issued for a different platform",
        ));
    }
    if s.expires_at < now {
        return Err(ConnError::BadState(
            "it expired (connecting must finish within 10 minutes)",
        ));
    }
    Ok(())
}

/// The authorization code of a callback whose state checked out: a declined consent is
/// `Denied`, a callback without a code is refused (pure).
pub fn authorization_code(params: &CallbackParams, platform: Platform) -> Result<&str, ConnError> {
    if params.error.is_some() {
        return Err(ConnError::Denied(platform.label()));
    }
    params
        .code
        .as_deref()
        .or(params.auth_code.as_deref())
        .filter(|c| !c.is_empty())
        .ok_or(ConnError::BadState("it carries no authorization code"))
}

/// Consumes the state: it must exist, be unused and unexpired, belong to this session, and be
/// for this platform. It is marked used before anything else happens, so it never works twice.
async fn consume_state(
    app: &App,
    org_id: Uuid,
    session_id: Uuid,
    platform: Platform,
    state: &str,
) -> Result<(Uuid, Option<String>, Option<Uuid>), ConnError> {
    let hash = hash_token(state);
    let row = app
        .db
        .tenant(org_id, async move |c| {
            let row: Option<(
                Uuid,
                Uuid,
                String,
                Option<String>,
                Option<Uuid>,
                DateTime<Utc>,
                Option<DateTime<Utc>>,
            )> = oauth_states::table
                .filter(oauth_states::state_hash.eq(&hash))
                .select((
                    oauth_states::id,
                    oauth_states::session_id,
                    oauth_states::platform,
                    oauth_states::pkce_verifier_enc,
                    oauth_states::reconnect_id,
                    oauth_states::expires_at,
                    oauth_states::used_at,
                ))
                .for_update()
                .first(c)
                .await
                .optional()?;
            let Some((id, sid, p, verifier, reconnect, expires, used)) = row else {
                return Err(ConnError::BadState("it is unknown or was altered"));
            };
            let stored = StoredState {
                session_id: sid,
                platform: p,
                expires_at: expires,
                used_at: used,
            };
            // A refusal rolls this transaction back; the caller then marks the row used.
            check_state(&stored, session_id, platform, Utc::now())?;
            diesel::update(oauth_states::table.find(id))
                .set(oauth_states::used_at.eq(Some(Utc::now())))
                .execute(c)
                .await?;
            Ok((id, verifier, reconnect))
        })
        .await;
    // The state row is marked used even when the attempt is refused (the transaction commits
    // only on success, so refusals are recorded in a second, tiny transaction).
    if let Err(ConnError::BadState(why)) = &row {
        if *why != "it is unknown or was altered" {
            let hash = hash_token(state);
            let _ = app
                .db
                .tenant(org_id, async move |c| {
                    diesel::update(oauth_states::table.filter(oauth_states::state_hash.eq(&hash)))
                        .set(oauth_states::used_at.eq(Some(Utc::now())))
                        .execute(c)
                        .await
                        .map_err(ConnError::from)
                })
                .await;
        }
    }
    row
}

/// Finishes connecting: checks the state, exchanges the code, lists the ad accounts the grant
/// reaches and stores the connection (tokens encrypted) with its accounts not yet managed.
/// Returns the connection to pick accounts for.
pub async fn finish(
    app: &App,
    org_id: Uuid,
    user_id: Uuid,
    session_id: Uuid,
    platform: Platform,
    params: &CallbackParams,
) -> Result<Uuid, ConnError> {
    let state = params
        .state
        .as_deref()
        .ok_or(ConnError::BadState("it carries no state"))?;
    let (state_id, verifier_enc, reconnect_id) =
        consume_state(app, org_id, session_id, platform, state).await?;
    if params.error.is_some() {
        tracing::info!(%platform, error = ?params.error, reason = ?params.error_reason, "consent declined");
    }
    let code = authorization_code(params, platform)?;
    let verifier = match verifier_enc {
        Some(enc) => Some(app.vault.decrypt(
            &enc,
            &Binding {
                org_id,
                platform,
                row_id: state_id,
                field: Field::Verifier,
            },
        )?),
        None => None,
    };
    let adapter = app.platforms.adapter(platform);
    let tokens = adapter
        .exchange_code(code, &redirect_uri(app, platform), verifier.as_deref())
        .await
        .map_err(|e| ConnError::Exchange {
            platform: platform.label(),
            message: e.message().to_string(),
        })?;
    let mut accounts = adapter
        .list_accounts(&Credentials::new(&tokens.access_token))
        .await?;
    accounts.retain(|a| !a.manager);
    if accounts.is_empty() {
        // Nothing is stored; the grant is handed back where the platform allows it.
        let _ = adapter.revoke(&tokens).await;
        return Err(ConnError::NoAccounts(platform.label()));
    }
    let connection_id = reconnect_id.unwrap_or_else(Uuid::now_v7);
    let new = NewConnection {
        org_id,
        user_id,
        platform,
        id: connection_id,
        reconnect: reconnect_id.is_some(),
        tokens: &tokens,
        accounts: &accounts,
    };
    store_connection(app, new).await?;
    Ok(connection_id)
}

fn encrypt_tokens(
    vault: &Vault,
    org_id: Uuid,
    platform: Platform,
    id: Uuid,
    tokens: &TokenSet,
) -> Result<(String, Option<String>), ConnError> {
    let access = vault.encrypt(
        &tokens.access_token,
        &Binding {
            org_id,
            platform,
            row_id: id,
            field: Field::Access,
        },
    )?;
    let refresh = match &tokens.refresh_token {
        Some(r) => Some(vault.encrypt(
            r,
            &Binding {
                org_id,
                platform,
                row_id: id,
                field: Field::Refresh,
            },
        )?),
        None => None,
    };
    Ok((access, refresh))
}

/// A connection about to be stored: new, or `reconnect`ing the existing one with `id`.
struct NewConnection<'a> {
    org_id: Uuid,
    user_id: Uuid,
    platform: Platform,
    id: Uuid,
    reconnect: bool,
    tokens: &'a TokenSet,
    accounts: &'a [AdAccount],
}

/// The connection's tokens as stored: encrypted, with the key version that encrypted them.
struct SealedTokens {
    access: String,
    refresh: Option<String>,
    key_version: i32,
}

async fn store_connection(app: &App, new: NewConnection<'_>) -> Result<(), ConnError> {
    let (access, refresh) =
        encrypt_tokens(&app.vault, new.org_id, new.platform, new.id, new.tokens)?;
    let sealed = SealedTokens {
        access,
        refresh,
        key_version: app.vault.current_version(),
    };
    let new = &new;
    app.db
        .tenant(new.org_id, async move |c| {
            write_tokens(c, new, &sealed).await?;
            for a in new.accounts {
                attach_account(c, new, a).await?;
            }
            let ids: Vec<&str> = new.accounts.iter().map(|a| a.id.as_str()).collect();
            let action = if new.reconnect {
                "connection.reconnected"
            } else {
                "connection.connected"
            };
            audit::record(
                c,
                new.org_id,
                Some(new.user_id),
                action,
                new.platform.label(),
                json!({"connection_id": new.id, "accounts": ids}),
            )
            .await?;
            Ok(())
        })
        .await
}

/// Puts the tokens on the connection being reconnected (which becomes healthy again), or
/// creates the connection with them.
async fn write_tokens(
    c: &mut Conn,
    new: &NewConnection<'_>,
    sealed: &SealedTokens,
) -> Result<(), ConnError> {
    let (id, platform) = (new.id, new.platform);
    let (access, refresh, key_version) = (&sealed.access, &sealed.refresh, sealed.key_version);
    let (expires, scope) = (new.tokens.expires_at, new.tokens.scope.as_ref());
    if new.reconnect {
        let n = diesel::update(
            connections::table
                .find(id)
                .filter(connections::platform.eq(platform.as_str())),
        )
        .set((
            connections::access_token_enc.eq(Some(access)),
            connections::refresh_token_enc.eq(refresh.as_ref()),
            connections::token_expires_at.eq(expires),
            connections::scope.eq(scope),
            connections::key_version.eq(Some(key_version)),
            connections::status.eq(ConnectionStatus::Healthy.as_str()),
            connections::last_error.eq(None::<String>),
            connections::reconnect_notified_at.eq(None::<DateTime<Utc>>),
            connections::rate_limited_until.eq(None::<DateTime<Utc>>),
            connections::updated_at.eq(Utc::now()),
        ))
        .execute(c)
        .await?;
        if n == 0 {
            return Err(ConnError::NotFound);
        }
    } else {
        diesel::insert_into(connections::table)
            .values((
                connections::id.eq(id),
                connections::org_id.eq(new.org_id),
                connections::platform.eq(platform.as_str()),
                connections::status.eq(ConnectionStatus::Pending.as_str()),
                connections::access_token_enc.eq(Some(access)),
                connections::refresh_token_enc.eq(refresh.as_ref()),
                connections::token_expires_at.eq(expires),
                connections::scope.eq(scope),
                connections::key_version.eq(Some(key_version)),
                connections::created_by.eq(Some(new.user_id)),
            ))
            .execute(c)
            .await?;
    }
    Ok(())
}

/// Puts an ad account on the connection. An account already known to the organization moves
/// to this connection and keeps its managed flag and history.
async fn attach_account(
    c: &mut Conn,
    new: &NewConnection<'_>,
    a: &AdAccount,
) -> Result<(), ConnError> {
    let id = new.id;
    diesel::insert_into(ad_accounts::table)
        .values((
            ad_accounts::id.eq(Uuid::now_v7()),
            ad_accounts::org_id.eq(new.org_id),
            ad_accounts::connection_id.eq(Some(id)),
            ad_accounts::platform.eq(new.platform.as_str()),
            ad_accounts::external_id.eq(&a.id),
            ad_accounts::name.eq(&a.name),
            ad_accounts::currency.eq(a.currency.as_str()),
            ad_accounts::time_zone.eq(&a.time_zone),
            ad_accounts::status.eq(a.status.as_str()),
        ))
        .on_conflict((
            ad_accounts::org_id,
            ad_accounts::platform,
            ad_accounts::external_id,
        ))
        .do_update()
        .set((
            ad_accounts::connection_id.eq(Some(id)),
            ad_accounts::name.eq(&a.name),
            ad_accounts::currency.eq(a.currency.as_str()),
            ad_accounts::time_zone.eq(&a.time_zone),
            ad_accounts::status.eq(a.status.as_str()),
            ad_accounts::connection_removed_at.eq(None::<DateTime<Utc>>),
            ad_accounts::updated_at.eq(Utc::now()),
        ))
        .execute(c)
        .await?;
    Ok(())
}

/// A connection as the Connections page shows it.
#[derive(Debug, Clone)]
pub struct ConnectionView {
    pub id: Uuid,
    pub platform: Platform,
    pub status: ConnectionStatus,
    pub created_at: DateTime<Utc>,
    pub token_expires_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub rate_limited_until: Option<DateTime<Utc>>,
    pub accounts: Vec<AccountView>,
}

#[derive(Debug, Clone)]
pub struct AccountView {
    pub id: Uuid,
    pub external_id: String,
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub status: String,
    pub managed: bool,
}

fn parse_platform(s: &str) -> Platform {
    // The column has a CHECK constraint.
    s.parse().unwrap_or(Platform::Google)
}

fn parse_status(s: &str) -> ConnectionStatus {
    s.parse().unwrap_or(ConnectionStatus::NeedsReconnect)
}

async fn load_views(c: &mut Conn, only: Option<Uuid>) -> Result<Vec<ConnectionView>, ConnError> {
    let mut q = connections::table
        .filter(connections::removed_at.is_null())
        .select((
            connections::id,
            connections::platform,
            connections::status,
            connections::created_at,
            connections::token_expires_at,
            connections::last_error,
            connections::rate_limited_until,
        ))
        .order(connections::created_at.asc())
        .into_boxed();
    if let Some(id) = only {
        q = q.filter(connections::id.eq(id));
    }
    let rows: Vec<(
        Uuid,
        String,
        String,
        DateTime<Utc>,
        Option<DateTime<Utc>>,
        Option<String>,
        Option<DateTime<Utc>>,
    )> = q.load(c).await?;
    let accounts: Vec<(
        Uuid,
        Option<Uuid>,
        String,
        String,
        String,
        String,
        String,
        bool,
    )> = ad_accounts::table
        .filter(ad_accounts::connection_id.is_not_null())
        .select((
            ad_accounts::id,
            ad_accounts::connection_id,
            ad_accounts::external_id,
            ad_accounts::name,
            ad_accounts::currency,
            ad_accounts::time_zone,
            ad_accounts::status,
            ad_accounts::managed,
        ))
        .order(ad_accounts::name.asc())
        .load(c)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                platform,
                status,
                created_at,
                token_expires_at,
                last_error,
                rate_limited_until,
            )| ConnectionView {
                id,
                platform: parse_platform(&platform),
                status: parse_status(&status),
                created_at,
                token_expires_at,
                last_error,
                rate_limited_until,
                accounts: accounts
                    .iter()
                    .filter(|a| a.1 == Some(id))
                    .map(|a| AccountView {
                        id: a.0,
                        external_id: a.2.clone(),
                        name: a.3.clone(),
                        currency: a.4.clone(),
                        time_zone: a.5.clone(),
                        status: a.6.clone(),
                        managed: a.7,
                    })
                    .collect(),
            },
        )
        .collect())
}

pub async fn list(app: &App, org_id: Uuid) -> Result<Vec<ConnectionView>, ConnError> {
    app.db
        .tenant(org_id, async move |c| load_views(c, None).await)
        .await
}

pub async fn get(app: &App, org_id: Uuid, id: Uuid) -> Result<ConnectionView, ConnError> {
    app.db
        .tenant(org_id, async move |c| {
            load_views(c, Some(id))
                .await?
                .into_iter()
                .next()
                .ok_or(ConnError::NotFound)
        })
        .await
}

/// Saves which of the connection's accounts adpilot manages; the connection becomes healthy.
pub async fn choose_accounts(
    app: &App,
    org_id: Uuid,
    user_id: Uuid,
    id: Uuid,
    chosen: Vec<Uuid>,
) -> Result<usize, ConnError> {
    if chosen.is_empty() {
        return Err(ConnError::NothingChosen);
    }
    app.db
        .tenant(org_id, async move |c| {
            let platform: String = connections::table
                .find(id)
                .filter(connections::removed_at.is_null())
                .select(connections::platform)
                .first(c)
                .await?;
            let n = diesel::update(
                ad_accounts::table
                    .filter(ad_accounts::connection_id.eq(Some(id)))
                    .filter(ad_accounts::id.eq_any(&chosen)),
            )
            .set((
                ad_accounts::managed.eq(true),
                ad_accounts::updated_at.eq(Utc::now()),
            ))
            .execute(c)
            .await?;
            if n == 0 {
                return Err(ConnError::NothingChosen);
            }
            diesel::update(
                ad_accounts::table
                    .filter(ad_accounts::connection_id.eq(Some(id)))
                    .filter(ad_accounts::id.ne_all(&chosen)),
            )
            .set((
                ad_accounts::managed.eq(false),
                ad_accounts::updated_at.eq(Utc::now()),
            ))
            .execute(c)
            .await?;
            diesel::update(
                connections::table
                    .find(id)
                    .filter(connections::status.eq(ConnectionStatus::Pending.as_str())),
            )
            .set((
                connections::status.eq(ConnectionStatus::Healthy.as_str()),
                connections::updated_at.eq(Utc::now()),
            ))
            .execute(c)
            .await?;
            let picked: Vec<String> = ad_accounts::table
                .filter(ad_accounts::connection_id.eq(Some(id)))
                .filter(ad_accounts::managed.eq(true))
                .select(ad_accounts::external_id)
                .load(c)
                .await?;
            audit::record(
                c,
                org_id,
                Some(user_id),
                "connection.accounts_selected",
                parse_platform(&platform).label(),
                json!({"connection_id": id, "accounts": picked}),
            )
            .await?;
            Ok(n)
        })
        .await
}

/// The decrypted tokens of a connection (never logged, never rendered).
pub async fn tokens(app: &App, org_id: Uuid, id: Uuid) -> Result<(Platform, TokenSet), ConnError> {
    let (platform, access, refresh, expires, scope): (
        String,
        Option<String>,
        Option<String>,
        Option<DateTime<Utc>>,
        Option<String>,
    ) = app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, ConnError>(
                connections::table
                    .find(id)
                    .filter(connections::removed_at.is_null())
                    .select((
                        connections::platform,
                        connections::access_token_enc,
                        connections::refresh_token_enc,
                        connections::token_expires_at,
                        connections::scope,
                    ))
                    .first(c)
                    .await?,
            )
        })
        .await?;
    let platform = parse_platform(&platform);
    let access = access.ok_or(ConnError::NotFound)?;
    let access = app.vault.decrypt(
        &access,
        &Binding {
            org_id,
            platform,
            row_id: id,
            field: Field::Access,
        },
    )?;
    let refresh = match refresh {
        Some(r) => Some(app.vault.decrypt(
            &r,
            &Binding {
                org_id,
                platform,
                row_id: id,
                field: Field::Refresh,
            },
        )?),
        None => None,
    };
    Ok((
        platform,
        TokenSet {
            access_token: access,
            refresh_token: refresh,
            expires_at: expires,
            scope,
            advertiser_ids: vec![],
        },
    ))
}

/// Credentials and account reference for calling the platform about one managed account.
pub async fn account_access(
    app: &App,
    org_id: Uuid,
    account_id: Uuid,
) -> Result<(Platform, Credentials, AccountRef), ConnError> {
    let (connection_id, external_id, currency): (Option<Uuid>, String, String) = app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, ConnError>(
                ad_accounts::table
                    .find(account_id)
                    .select((
                        ad_accounts::connection_id,
                        ad_accounts::external_id,
                        ad_accounts::currency,
                    ))
                    .first(c)
                    .await?,
            )
        })
        .await?;
    let connection_id = connection_id.ok_or(ConnError::NotFound)?;
    let (platform, tokens) = tokens(app, org_id, connection_id).await?;
    let currency: Currency = currency.parse().map_err(|_| ConnError::NotFound)?;
    Ok((
        platform,
        Credentials::new(tokens.access_token),
        AccountRef::new(external_id, currency),
    ))
}

/// Disconnects: revokes at the platform where possible, deletes the tokens, and keeps the
/// synced history marked as from a removed connection (unless `delete_accounts`).
pub async fn disconnect(
    app: &App,
    org_id: Uuid,
    user_id: Uuid,
    id: Uuid,
    delete_accounts: bool,
) -> Result<(), ConnError> {
    let revoke_result = match tokens(app, org_id, id).await {
        Ok((platform, t)) => Some(app.platforms.adapter(platform).revoke(&t).await),
        Err(ConnError::NotFound) => return Err(ConnError::NotFound),
        // Undecryptable tokens cannot be revoked, but the connection can still be removed.
        Err(_) => None,
    };
    let revoked = matches!(revoke_result, Some(Ok(())));
    app.db
        .tenant(org_id, async move |c| {
            let platform: String = diesel::update(connections::table.find(id).filter(connections::removed_at.is_null()))
                .set((
                    connections::status.eq(ConnectionStatus::Removed.as_str()),
                    connections::access_token_enc.eq(None::<String>),
                    connections::refresh_token_enc.eq(None::<String>),
                    connections::removed_at.eq(Some(Utc::now())),
                    connections::updated_at.eq(Utc::now()),
                ))
                .returning(connections::platform)
                .get_result(c)
                .await?;
            if delete_accounts {
                diesel::delete(ad_accounts::table.filter(ad_accounts::connection_id.eq(Some(id)))).execute(c).await?;
            } else {
                diesel::update(ad_accounts::table.filter(ad_accounts::connection_id.eq(Some(id))))
                    .set((ad_accounts::managed.eq(false), ad_accounts::connection_removed_at.eq(Some(Utc::now()))))
                    .execute(c)
                    .await?;
            }
            audit::record(c, org_id, Some(user_id), "connection.disconnected", parse_platform(&platform).label(), json!({"connection_id": id, "revoked_at_platform": revoked, "history_deleted": delete_accounts})).await?;
            Ok(())
        })
        .await
}

/// What a refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshOutcome {
    Renewed,
    StillValid,
    NeedsReconnect,
    RateLimited,
    Failed(String),
}

/// Refreshes one connection's tokens: Google's when they expire within 10 minutes, Meta's
/// long-lived token before its 60 days run out (within 7 days), and TikTok's checked by a
/// cheap call. An Auth failure marks the connection "needs reconnecting" (and tells the caller
/// so it can notify once).
pub async fn refresh_connection(
    app: &App,
    org_id: Uuid,
    id: Uuid,
) -> Result<RefreshOutcome, ConnError> {
    let (platform, t) = tokens(app, org_id, id).await?;
    let now = Utc::now();
    let due = match platform {
        Platform::Google => t.expires_at.is_none_or(|e| e - now < Duration::minutes(10)),
        Platform::Meta => t.expires_at.is_some_and(|e| e - now < Duration::days(7)),
        Platform::Tiktok => true,
    };
    if !due {
        return Ok(RefreshOutcome::StillValid);
    }
    let adapter = app.platforms.adapter(platform);
    let result = match platform {
        Platform::Tiktok => adapter
            .list_accounts(&Credentials::new(&t.access_token))
            .await
            .map(|_| None),
        _ => adapter.renew_token(&t).await,
    };
    let outcome = match result {
        Ok(Some(renewed)) => {
            store_renewed(app, org_id, id, platform, &t, renewed).await?;
            RefreshOutcome::Renewed
        }
        Ok(None) => {
            mark(app, org_id, id, ConnectionStatus::Healthy, None, None).await?;
            RefreshOutcome::StillValid
        }
        Err(PlatformError::Auth { message, .. }) => {
            needs_reconnect(app, org_id, id, platform, message).await?;
            RefreshOutcome::NeedsReconnect
        }
        Err(PlatformError::RateLimited { retry_after, .. }) => {
            let until = Utc::now()
                + Duration::from_std(retry_after.unwrap_or(std::time::Duration::from_secs(60)))
                    .unwrap_or(Duration::minutes(1));
            mark(
                app,
                org_id,
                id,
                ConnectionStatus::RateLimited,
                Some("The platform asked us to slow down.".into()),
                Some(until),
            )
            .await?;
            RefreshOutcome::RateLimited
        }
        Err(e) => {
            let m = e.message().to_string();
            app.db
                .tenant(org_id, async move |c| {
                    diesel::update(connections::table.find(id))
                        .set((
                            connections::last_error.eq(Some(&m)),
                            connections::updated_at.eq(Utc::now()),
                        ))
                        .execute(c)
                        .await?;
                    Ok::<_, ConnError>(())
                })
                .await?;
            RefreshOutcome::Failed(e.message().to_string())
        }
    };
    Ok(outcome)
}

/// Stores renewed tokens (keeping the refresh token when the platform sent no new one) and
/// marks the connection healthy.
async fn store_renewed(
    app: &App,
    org_id: Uuid,
    id: Uuid,
    platform: Platform,
    old: &TokenSet,
    mut renewed: TokenSet,
) -> Result<(), ConnError> {
    if renewed.refresh_token.is_none() {
        renewed.refresh_token = old.refresh_token.clone();
    }
    let (access, refresh) = encrypt_tokens(&app.vault, org_id, platform, id, &renewed)?;
    let key_version = app.vault.current_version();
    app.db
        .tenant(org_id, async move |c| {
            diesel::update(connections::table.find(id))
                .set((
                    connections::access_token_enc.eq(Some(access)),
                    connections::refresh_token_enc.eq(refresh),
                    connections::token_expires_at.eq(renewed.expires_at),
                    connections::key_version.eq(Some(key_version)),
                    connections::status.eq(ConnectionStatus::Healthy.as_str()),
                    connections::last_refreshed_at.eq(Some(Utc::now())),
                    connections::last_error.eq(None::<String>),
                    connections::updated_at.eq(Utc::now()),
                ))
                .execute(c)
                .await?;
            Ok::<_, ConnError>(())
        })
        .await?;
    Ok(())
}

/// Marks the connection as needing a reconnect, with the platform's reason in the audit log.
async fn needs_reconnect(
    app: &App,
    org_id: Uuid,
    id: Uuid,
    platform: Platform,
    message: String,
) -> Result<(), ConnError> {
    mark(
        app,
        org_id,
        id,
        ConnectionStatus::NeedsReconnect,
        Some(message.clone()),
        None,
    )
    .await?;
    app.db
        .tenant(org_id, async move |c| {
            audit::record(
                c,
                org_id,
                None,
                "connection.refresh_failed",
                platform.label(),
                json!({"connection_id": id, "error": message}),
            )
            .await?;
            Ok::<_, ConnError>(())
        })
        .await?;
    Ok(())
}

async fn mark(
    app: &App,
    org_id: Uuid,
    id: Uuid,
    status: ConnectionStatus,
    error: Option<String>,
    until: Option<DateTime<Utc>>,
) -> Result<(), ConnError> {
    app.db
        .tenant(org_id, async move |c| {
            diesel::update(connections::table.find(id))
                .set((
                    connections::status.eq(status.as_str()),
                    connections::last_error.eq(error),
                    connections::rate_limited_until.eq(until),
                    connections::last_checked_at.eq(Some(Utc::now())),
                    connections::updated_at.eq(Utc::now()),
                ))
                .execute(c)
                .await?;
            Ok(())
        })
        .await
}

/// Connections of an organization that need a refresh check now.
pub async fn due_for_refresh(app: &App, org_id: Uuid) -> Result<Vec<Uuid>, ConnError> {
    app.db
        .tenant(org_id, async move |c| {
            Ok(connections::table
                .filter(connections::removed_at.is_null())
                .filter(connections::status.ne(ConnectionStatus::NeedsReconnect.as_str()))
                .filter(connections::status.ne(ConnectionStatus::Pending.as_str()))
                .select(connections::id)
                .load(c)
                .await?)
        })
        .await
}

/// Claims the right to email owners about a connection that needs reconnecting: true once per
/// incident (cleared when the connection is reconnected).
pub async fn claim_reconnect_notice(app: &App, org_id: Uuid, id: Uuid) -> Result<bool, ConnError> {
    app.db
        .tenant(org_id, async move |c| {
            let n = diesel::update(
                connections::table
                    .find(id)
                    .filter(connections::status.eq(ConnectionStatus::NeedsReconnect.as_str()))
                    .filter(connections::reconnect_notified_at.is_null()),
            )
            .set(connections::reconnect_notified_at.eq(Some(Utc::now())))
            .execute(c)
            .await?;
            Ok(n == 1)
        })
        .await
}

/// Re-encrypts every token of an organization still under an older key; returns how many.
pub async fn reencrypt_org(app: &App, org_id: Uuid) -> Result<usize, ConnError> {
    let current = app.vault.current_version();
    let rows: Vec<(Uuid, String, Option<String>, Option<String>)> = app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, ConnError>(
                connections::table
                    .filter(connections::key_version.lt(current))
                    .filter(connections::access_token_enc.is_not_null())
                    .select((
                        connections::id,
                        connections::platform,
                        connections::access_token_enc,
                        connections::refresh_token_enc,
                    ))
                    .load(c)
                    .await?,
            )
        })
        .await?;
    let mut n = 0;
    for (id, platform, access, refresh) in rows {
        let platform = parse_platform(&platform);
        let bind = |field| Binding {
            org_id,
            platform,
            row_id: id,
            field,
        };
        let access = match access {
            Some(a) => Some(app.vault.encrypt(
                &app.vault.decrypt(&a, &bind(Field::Access))?,
                &bind(Field::Access),
            )?),
            None => None,
        };
        let refresh = match refresh {
            Some(r) => Some(app.vault.encrypt(
                &app.vault.decrypt(&r, &bind(Field::Refresh))?,
                &bind(Field::Refresh),
            )?),
            None => None,
        };
        app.db
            .tenant(org_id, async move |c| {
                diesel::update(connections::table.find(id))
                    .set((
                        connections::access_token_enc.eq(access),
                        connections::refresh_token_enc.eq(refresh),
                        connections::key_version.eq(Some(current)),
                    ))
                    .execute(c)
                    .await?;
                Ok::<_, ConnError>(())
            })
            .await?;
        n += 1;
    }
    reencrypt_pending_verifiers(app, org_id, current).await?;
    Ok(n)
}

/// A connect under way keeps its PKCE verifier in the vault too. Without this, a Google connect
/// started before a rotation could not be finished after the old key was retired.
async fn reencrypt_pending_verifiers(
    app: &App,
    org_id: Uuid,
    current: i32,
) -> Result<usize, ConnError> {
    let prefix = format!("v{current}:%");
    let rows: Vec<(Uuid, String, Option<String>)> = app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, ConnError>(
                oauth_states::table
                    .filter(oauth_states::used_at.is_null())
                    .filter(oauth_states::expires_at.gt(Utc::now()))
                    .filter(oauth_states::pkce_verifier_enc.is_not_null())
                    .filter(oauth_states::pkce_verifier_enc.not_like(prefix))
                    .select((
                        oauth_states::id,
                        oauth_states::platform,
                        oauth_states::pkce_verifier_enc,
                    ))
                    .load(c)
                    .await?,
            )
        })
        .await?;
    let mut n = 0;
    for (id, platform, old) in rows {
        let Some(old) = old else { continue };
        let bind = Binding {
            org_id,
            platform: parse_platform(&platform),
            row_id: id,
            field: Field::Verifier,
        };
        let new = app.vault.encrypt(&app.vault.decrypt(&old, &bind)?, &bind)?;
        app.db
            .tenant(org_id, async move |c| {
                // Only if the callback has not used it meanwhile.
                diesel::update(
                    oauth_states::table
                        .find(id)
                        .filter(oauth_states::pkce_verifier_enc.eq(&old)),
                )
                .set(oauth_states::pkce_verifier_enc.eq(Some(new)))
                .execute(c)
                .await?;
                Ok::<_, ConnError>(())
            })
            .await?;
        n += 1;
    }
    Ok(n)
}

/// The organization's managed ad accounts (for sync, dashboards and rules).
#[derive(Debug, Clone)]
pub struct ManagedAccount {
    pub id: Uuid,
    pub connection_id: Option<Uuid>,
    pub platform: Platform,
    pub external_id: String,
    pub name: String,
    pub currency: Currency,
    pub time_zone: String,
}

pub async fn managed_accounts(c: &mut Conn) -> QueryResult<Vec<ManagedAccount>> {
    let rows: Vec<(Uuid, Option<Uuid>, String, String, String, String, String)> =
        ad_accounts::table
            .filter(ad_accounts::managed.eq(true))
            .select((
                ad_accounts::id,
                ad_accounts::connection_id,
                ad_accounts::platform,
                ad_accounts::external_id,
                ad_accounts::name,
                ad_accounts::currency,
                ad_accounts::time_zone,
            ))
            .order(ad_accounts::name.asc())
            .load(c)
            .await?;
    Ok(rows
        .into_iter()
        .filter_map(
            |(id, connection_id, platform, external_id, name, currency, time_zone)| {
                Some(ManagedAccount {
                    id,
                    connection_id,
                    platform: parse_platform(&platform),
                    external_id,
                    name,
                    currency: currency.parse().ok()?,
                    time_zone,
                })
            },
        )
        .collect())
}

/// Platforms whose connection needs reconnecting, for the banner every member sees.
pub async fn needing_reconnect(app: &App, org_id: Uuid) -> Result<Vec<Platform>, ConnError> {
    app.db
        .tenant(org_id, async move |c| {
            let rows: Vec<String> = connections::table
                .filter(connections::removed_at.is_null())
                .filter(connections::status.eq(ConnectionStatus::NeedsReconnect.as_str()))
                .select(connections::platform)
                .load(c)
                .await?;
            Ok(rows.iter().map(|p| parse_platform(p)).collect())
        })
        .await
}

/// After a refresh found a connection needing reconnecting: emails the organization's owners
/// and admins, once per incident. Returns how many emails were sent.
pub async fn notify_needs_reconnect(app: &App, org_id: Uuid, id: Uuid) -> Result<usize, ConnError> {
    if !claim_reconnect_notice(app, org_id, id).await? {
        return Ok(0);
    }
    let (platform, recipients, org_name) = app
        .db
        .tenant(org_id, async move |c| {
            let platform: String = connections::table
                .find(id)
                .select(connections::platform)
                .first(c)
                .await?;
            let members = crate::auth::accounts::members(c).await?;
            let (org_name, _) = crate::auth::accounts::org_settings(c, org_id).await?;
            let to: Vec<String> = members
                .into_iter()
                .filter(|m| m.role.is_admin())
                .map(|m| m.email)
                .collect();
            Ok::<_, ConnError>((parse_platform(&platform), to, org_name))
        })
        .await?;
    let link = app.config.url("/connections");
    let mut sent = 0;
    for to in recipients {
        let email = crate::mailer::Email {
            to: to.clone(),
            subject: format!("{} needs reconnecting in {org_name}", platform.label()),
            text: format!(
                "adpilot can no longer reach {} for {org_name}: the platform refused its access token.\n\nUntil it is reconnected, syncing and rules for its ad accounts are paused.\n\nReconnect it here: {link}\n",
                platform.label()
            ),
            html: None,
            headers: vec![],
        };
        match app.mailer.send(&email).await {
            Ok(()) => sent += 1,
            Err(e) => tracing::warn!(error = %e, "reconnect notice not sent"),
        }
    }
    Ok(sent)
}

/// Managed ad accounts of the current organization (what the plan's account limit counts).
pub async fn managed_account_count(c: &mut Conn) -> diesel::QueryResult<u64> {
    crate::db::count(
        c,
        diesel::sql_query(
            "SELECT count(*) AS n FROM ad_accounts \
             WHERE managed AND connection_removed_at IS NULL",
        ),
    )
    .await
}

/// Managed ad accounts if `connection`'s choice became exactly `chosen`.
pub async fn managed_account_count_after_choice(
    c: &mut Conn,
    connection: Uuid,
    chosen: &[Uuid],
) -> diesel::QueryResult<u64> {
    use diesel::sql_types::{Array, Uuid as SqlUuid};
    crate::db::count(
        c,
        diesel::sql_query(
            "SELECT (SELECT count(*) FROM ad_accounts \
                     WHERE managed AND connection_removed_at IS NULL \
                       AND connection_id IS DISTINCT FROM $1) \
                  + (SELECT count(*) FROM ad_accounts \
                     WHERE connection_id = $1 AND id = ANY($2)) AS n",
        )
        .bind::<SqlUuid, _>(connection)
        .bind::<Array<SqlUuid>, _>(chosen.to_vec()),
    )
    .await
}
