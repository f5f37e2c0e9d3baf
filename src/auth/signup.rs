//! Sign-up by emailed link. Once an instance has users, the sign-up form answers the same for
//! every address ("check your inbox"), so it no longer tells anyone which emails have
//! accounts: a new address gets a link that creates the account, a registered one gets a note
//! that it already has one. The instance's first sign-up (its operator, with nothing to
//! reveal) is created at once, so a fresh install works without mail.

use chrono::{DateTime, Duration, Utc};
use diesel::sql_types::{Bytea, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use super::AuthError;
use super::accounts::{self, CheckedAccount, NewAccount};
use super::tokens::{hash_token, new_token};
use crate::db::Db;

/// How long an emailed sign-up link works.
pub const LINK_HOURS: i64 = 24;
/// Links sent to one address per hour at most; more requests get the same answer and no mail,
/// so the form cannot be used to flood someone's inbox.
const MAILS_PER_HOUR: i64 = 3;

/// What a sign-up did.
#[derive(Debug)]
pub enum Requested {
    /// The instance's first account, created at once.
    Created { user_id: Uuid, org_id: Uuid },
    /// The answer for every later sign-up; `mail` is None when the address had its share of
    /// mails this hour.
    Pending { email: String, mail: Option<Mail> },
}

/// The mail a sign-up sends, by whether the address is registered.
#[derive(Debug)]
pub enum Mail {
    /// A new address: the token of the confirmation link.
    Confirm { token: String },
    /// A registered address: a note that it has an account.
    AlreadyRegistered,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(diesel::QueryableByName)]
struct Pending {
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    password_hash: String,
    #[diesel(sql_type = Text)]
    org_name: String,
    #[diesel(sql_type = Text)]
    time_zone: String,
}

/// Checks the form (every error shows as before, nothing about the address), then creates the
/// first account or records a pending sign-up.
pub async fn request(db: &Db, new: NewAccount, now: DateTime<Utc>) -> Result<Requested, AuthError> {
    // Hashing happens on both paths below, so their timing does not tell them apart either.
    let checked = accounts::check_new_account(&new)?;
    if !accounts::has_users(db).await? {
        let (user_id, org_id) = accounts::create_account(db, checked).await?;
        return Ok(Requested::Created { user_id, org_id });
    }
    let registered = accounts::email_registered(db, &checked.email).await?;
    let token = new_token();
    let email = checked.email.clone();
    let sent_recently = db
        .global(async |c| {
            diesel::sql_query(
                "DELETE FROM signup_requests WHERE expires_at < $1",
            )
            .bind::<Timestamptz, _>(now)
            .execute(c)
            .await?;
            let n: Count = diesel::sql_query(
                "SELECT count(*) AS n FROM signup_requests \
                 WHERE lower(email) = lower($1) AND created_at > $2",
            )
            .bind::<Text, _>(&checked.email)
            .bind::<Timestamptz, _>(now - Duration::hours(1))
            .get_result(c)
            .await?;
            if n.n >= MAILS_PER_HOUR {
                return Ok::<_, AuthError>(true);
            }
            // A registered address keeps a row too: it counts towards the hourly limit, and
            // its token matches nothing that can create an account twice (see `confirm`).
            diesel::sql_query(
                "INSERT INTO signup_requests \
                 (id, token_hash, email, name, password_hash, org_name, time_zone, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind::<SqlUuid, _>(Uuid::now_v7())
            .bind::<Bytea, _>(hash_token(&token))
            .bind::<Text, _>(&checked.email)
            .bind::<Text, _>(&checked.name)
            .bind::<Text, _>(&checked.password_hash)
            .bind::<Text, _>(&checked.org_name)
            .bind::<Text, _>(&checked.time_zone)
            .bind::<Timestamptz, _>(now)
            .bind::<Timestamptz, _>(now + Duration::hours(LINK_HOURS))
            .execute(c)
            .await?;
            Ok(false)
        })
        .await?;
    let mail = match (sent_recently, registered) {
        (true, _) => None,
        (false, true) => Some(Mail::AlreadyRegistered),
        (false, false) => Some(Mail::Confirm { token }),
    };
    Ok(Requested::Pending { email, mail })
}

/// Whether a link's token is a live pending sign-up (the confirmation page asks before it
/// creates anything).
pub async fn is_pending(db: &Db, token: &str, now: DateTime<Utc>) -> Result<bool, AuthError> {
    let hash = hash_token(token);
    db.global(async move |c| {
        let n: Count = diesel::sql_query(
            "SELECT count(*) AS n FROM signup_requests WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind::<Bytea, _>(&hash)
        .bind::<Timestamptz, _>(now)
        .get_result(c)
        .await?;
        Ok::<_, AuthError>(n.n > 0)
    })
    .await
}

/// Creates the account of a pending sign-up; the link works once. An address that got an
/// account in the meantime is refused like any taken email.
pub async fn confirm(db: &Db, token: &str, now: DateTime<Utc>) -> Result<(Uuid, Uuid), AuthError> {
    let hash = hash_token(token);
    let pending: Option<Pending> = db
        .global(async move |c| {
            let rows: Vec<Pending> = diesel::sql_query(
                "DELETE FROM signup_requests WHERE token_hash = $1 AND expires_at > $2 \
                 RETURNING email, name, password_hash, org_name, time_zone",
            )
            .bind::<Bytea, _>(&hash)
            .bind::<Timestamptz, _>(now)
            .load(c)
            .await?;
            Ok::<_, AuthError>(rows.into_iter().next())
        })
        .await?;
    let Some(p) = pending else {
        return Err(AuthError::invalid(
            "form",
            "This sign-up link has expired or was already used. Sign up again to get a new one.",
        ));
    };
    accounts::create_account(
        db,
        CheckedAccount {
            email: p.email,
            name: p.name,
            password_hash: p.password_hash,
            org_name: p.org_name,
            time_zone: p.time_zone,
        },
    )
    .await
}
