//! Browser sessions stored in PostgreSQL; the cookie carries a random token, the table its hash.

use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::AuthError;
use super::tokens::{hash_token, new_token};
use crate::db::Db;
use crate::db::schema::{sessions, users};

pub const COOKIE: &str = "adpilot_session";

/// A live session with its user.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: Uuid,
    pub user_id: Uuid,
    pub user_email: String,
    pub user_name: String,
    pub org_id: Option<Uuid>,
    pub csrf_token: String,
}

/// Starts a session for `user` and returns the cookie token.
pub async fn create(
    db: &Db,
    user_id: Uuid,
    org_id: Option<Uuid>,
    max_age: Duration,
    user_agent: Option<String>,
    ip: Option<String>,
) -> Result<String, AuthError> {
    let token = new_token();
    let expires = Utc::now()
        + chrono::Duration::from_std(max_age).unwrap_or_else(|_| chrono::Duration::days(30));
    let row = (
        sessions::id.eq(Uuid::now_v7()),
        sessions::token_hash.eq(hash_token(&token)),
        sessions::user_id.eq(user_id),
        sessions::org_id.eq(org_id),
        sessions::csrf_token.eq(new_token()),
        sessions::expires_at.eq(expires),
        sessions::user_agent.eq(user_agent.map(|s| s.chars().take(300).collect::<String>())),
        sessions::ip.eq(ip),
    );
    db.global(async move |c| {
        diesel::insert_into(sessions::table)
            .values(row)
            .execute(c)
            .await?;
        Ok::<_, AuthError>(())
    })
    .await?;
    Ok(token)
}

/// The session for a cookie token, if it exists and has not timed out. Refreshes its
/// last-seen time (at most once a minute, to spare writes).
pub async fn lookup(
    db: &Db,
    token: &str,
    idle: Duration,
) -> Result<Option<SessionInfo>, AuthError> {
    let hash = hash_token(token);
    let now = Utc::now();
    let idle = chrono::Duration::from_std(idle).unwrap_or_else(|_| chrono::Duration::hours(12));
    db.global(async move |c| {
        let row: Option<(
            Uuid,
            Uuid,
            String,
            String,
            Option<Uuid>,
            String,
            DateTime<Utc>,
            DateTime<Utc>,
        )> = sessions::table
            .inner_join(users::table)
            .filter(sessions::token_hash.eq(&hash))
            .select((
                sessions::id,
                sessions::user_id,
                users::email,
                users::name,
                sessions::org_id,
                sessions::csrf_token,
                sessions::last_seen_at,
                sessions::expires_at,
            ))
            .first(c)
            .await
            .optional()?;
        let Some((id, user_id, user_email, user_name, org_id, csrf_token, last_seen, expires)) =
            row
        else {
            return Ok(None);
        };
        if expires <= now || last_seen + idle <= now {
            diesel::delete(sessions::table.find(id)).execute(c).await?;
            return Ok(None);
        }
        if now - last_seen > chrono::Duration::minutes(1) {
            diesel::update(sessions::table.find(id))
                .set(sessions::last_seen_at.eq(now))
                .execute(c)
                .await?;
        }
        Ok::<_, AuthError>(Some(SessionInfo {
            id,
            user_id,
            user_email,
            user_name,
            org_id,
            csrf_token,
        }))
    })
    .await
}

pub async fn set_org(db: &Db, session_id: Uuid, org_id: Uuid) -> Result<(), AuthError> {
    db.global(async move |c| {
        diesel::update(sessions::table.find(session_id))
            .set(sessions::org_id.eq(Some(org_id)))
            .execute(c)
            .await?;
        Ok(())
    })
    .await
}

pub async fn delete(db: &Db, session_id: Uuid) -> Result<(), AuthError> {
    db.global(async move |c| {
        diesel::delete(sessions::table.find(session_id))
            .execute(c)
            .await?;
        Ok(())
    })
    .await
}

/// Ends every session of a user (password change, removal).
pub async fn delete_all_for_user(db: &Db, user_id: Uuid) -> Result<usize, AuthError> {
    db.global(async move |c| {
        Ok(
            diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id)))
                .execute(c)
                .await?,
        )
    })
    .await
}

/// Removes expired sessions; returns how many.
pub async fn prune(db: &Db, idle: Duration) -> Result<usize, AuthError> {
    let now = Utc::now();
    let idle = chrono::Duration::from_std(idle).unwrap_or_else(|_| chrono::Duration::hours(12));
    db.global(async move |c| {
        Ok(diesel::delete(
            sessions::table.filter(
                sessions::expires_at
                    .le(now)
                    .or(sessions::last_seen_at.le(now - idle)),
            ),
        )
        .execute(c)
        .await?)
    })
    .await
}
