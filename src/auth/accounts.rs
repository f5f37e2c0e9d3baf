//! Accounts services: sign-up, login, organizations, members, roles and invitations.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde_json::json;
use uuid::Uuid;

use super::tokens::{hash_token, new_token};
use super::{AuthError, Role, password};
use crate::audit;
use crate::db::schema::{invitations, memberships, organizations, users};
use crate::db::{Conn, Db};

pub const INVITE_DAYS: i64 = 7;

/// Lower-cases and checks an email address; the message says what is wrong.
pub fn normalize_email(raw: &str) -> Result<String, AuthError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.parse::<lettre::Address>().is_ok()
        && email.rsplit_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(email)
    } else {
        Err(AuthError::invalid(
            "email",
            "Enter an email address such as name@example.com.",
        ))
    }
}

fn check_name(field: &'static str, raw: &str, what: &str) -> Result<String, AuthError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(AuthError::invalid(field, format!("Enter {what}.")));
    }
    if name.chars().count() > 120 {
        return Err(AuthError::invalid(field, "Use at most 120 characters."));
    }
    if name.chars().any(char::is_control) {
        return Err(AuthError::invalid(
            field,
            "Remove the invisible control characters (such as NUL) from it.",
        ));
    }
    Ok(name.to_string())
}

/// Every problem of a sign-up form at once ([`sign_up`] stops at the first), so the page can
/// show them together.
pub fn sign_up_problems(new: &NewAccount) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let mut note = |r: Result<String, AuthError>| {
        if let Err(AuthError::Invalid { field, message }) = r {
            out.push((field, message));
        }
    };
    let email = normalize_email(&new.email);
    let email_text = email.as_ref().ok().cloned().unwrap_or_default();
    if crate::web::form::has_forbidden_control(&new.email) {
        note(Err(AuthError::invalid(
            "email",
            crate::web::form::CONTROL_MESSAGE,
        )));
    } else {
        note(email);
    }
    note(check_name("name", &new.name, "your name"));
    note(check_name(
        "org_name",
        &new.org_name,
        "a name for your organization",
    ));
    note(check_time_zone(&new.time_zone));
    if crate::web::form::has_forbidden_control(&new.password) {
        out.push((
            "password",
            "Remove the invisible control characters (such as NUL) from the password.".into(),
        ));
    } else if let Some(why) = password::weakness(&new.password, &email_text) {
        out.push(("password", why));
    }
    out
}

pub fn check_time_zone(raw: &str) -> Result<String, AuthError> {
    raw.trim()
        .parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| {
            AuthError::invalid(
                "time_zone",
                "Choose a time zone such as Europe/Berlin or America/New_York.",
            )
        })
}

#[derive(Debug, Clone)]
pub struct NewAccount {
    pub email: String,
    pub name: String,
    pub password: String,
    pub org_name: String,
    pub time_zone: String,
}

/// A user's membership in one organization.
#[derive(Debug, Clone)]
pub struct OrgMembership {
    pub org_id: Uuid,
    pub org_name: String,
    pub time_zone: String,
    pub role: Role,
}

#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub since: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Invitation {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

fn role_of(s: &str) -> Role {
    // The column has a CHECK constraint; anything else is read as the least privilege.
    s.parse().unwrap_or(Role::Client)
}

async fn email_taken(c: &mut Conn, email: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = ")
                .bind::<diesel::sql_types::Text, _>(email.to_string()),
        ),
    ))
    .get_result(c)
    .await
}

async fn insert_user(
    c: &mut Conn,
    id: Uuid,
    email: &str,
    name: &str,
    hash: &str,
) -> Result<(), AuthError> {
    if email_taken(c, email).await? {
        return Err(AuthError::invalid(
            "email",
            "An account with this email already exists. Log in instead.",
        ));
    }
    let r = diesel::insert_into(users::table)
        .values((
            users::id.eq(id),
            users::email.eq(email),
            users::name.eq(name),
            users::password_hash.eq(hash),
        ))
        .execute(c)
        .await;
    match r {
        Ok(_) => Ok(()),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(AuthError::invalid(
            "email",
            "An account with this email already exists. Log in instead.",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Signs up: creates the user, their organization and the owner membership, all or nothing.
pub async fn sign_up(db: &Db, new: NewAccount) -> Result<(Uuid, Uuid), AuthError> {
    create_account(db, check_new_account(&new)?).await
}

/// A sign-up that passed every check, its password already hashed (so it can wait for the
/// email's confirmation without keeping the password).
#[derive(Debug, Clone)]
pub struct CheckedAccount {
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub org_name: String,
    pub time_zone: String,
}

/// Checks a sign-up form and hashes its password; writes nothing.
pub fn check_new_account(new: &NewAccount) -> Result<CheckedAccount, AuthError> {
    let email = normalize_email(&new.email)?;
    let name = check_name("name", &new.name, "your name")?;
    let org_name = check_name("org_name", &new.org_name, "a name for your organization")?;
    let time_zone = check_time_zone(&new.time_zone)?;
    if let Some(why) = password::weakness(&new.password, &email) {
        return Err(AuthError::invalid("password", why));
    }
    let password_hash = password::hash(&new.password)?;
    Ok(CheckedAccount {
        email,
        name,
        password_hash,
        org_name,
        time_zone,
    })
}

/// Whether an account has this email (case-insensitive).
pub async fn email_registered(db: &Db, email: &str) -> Result<bool, AuthError> {
    let email = email.to_string();
    db.global(async move |c| Ok::<_, AuthError>(email_taken(c, &email).await?))
        .await
}

/// Whether the instance has any user yet (its first sign-up is its operator's).
pub async fn has_users(db: &Db) -> Result<bool, AuthError> {
    db.global(async move |c| {
        Ok::<_, AuthError>(
            diesel::select(diesel::dsl::exists(users::table.select(users::id)))
                .get_result(c)
                .await?,
        )
    })
    .await
}

/// Creates the user, its organization and its owner membership.
pub async fn create_account(db: &Db, new: CheckedAccount) -> Result<(Uuid, Uuid), AuthError> {
    let CheckedAccount {
        email,
        name,
        password_hash: hash,
        org_name,
        time_zone,
    } = new;
    let user_id = Uuid::now_v7();
    let org_id = Uuid::now_v7();
    // The organization row is written inside its own tenant context (its policy checks it).
    db.tenant(org_id, async move |c| {
        insert_user(c, user_id, &email, &name, &hash).await?;
        diesel::insert_into(organizations::table)
            .values((
                organizations::id.eq(org_id),
                organizations::name.eq(&org_name),
                organizations::time_zone.eq(&time_zone),
            ))
            .execute(c)
            .await?;
        diesel::insert_into(memberships::table)
            .values((
                memberships::org_id.eq(org_id),
                memberships::user_id.eq(user_id),
                memberships::role.eq(Role::Owner.as_str()),
            ))
            .execute(c)
            .await?;
        audit::record(
            c,
            org_id,
            Some(user_id),
            "org.created",
            &org_name,
            json!({"email": email}),
        )
        .await?;
        Ok::<_, AuthError>(())
    })
    .await?;
    Ok((user_id, org_id))
}

/// Creates one more organization owned by an existing user.
pub async fn create_org(
    db: &Db,
    user_id: Uuid,
    name: &str,
    time_zone: &str,
) -> Result<Uuid, AuthError> {
    let name = check_name("org_name", name, "a name for the organization")?;
    let time_zone = check_time_zone(time_zone)?;
    let org_id = Uuid::now_v7();
    db.tenant(org_id, async move |c| {
        diesel::insert_into(organizations::table)
            .values((
                organizations::id.eq(org_id),
                organizations::name.eq(&name),
                organizations::time_zone.eq(&time_zone),
            ))
            .execute(c)
            .await?;
        diesel::insert_into(memberships::table)
            .values((
                memberships::org_id.eq(org_id),
                memberships::user_id.eq(user_id),
                memberships::role.eq(Role::Owner.as_str()),
            ))
            .execute(c)
            .await?;
        audit::record(c, org_id, Some(user_id), "org.created", &name, json!({})).await?;
        Ok::<_, AuthError>(())
    })
    .await?;
    Ok(org_id)
}

/// Checks a login. The same error for an unknown email and a wrong password.
pub async fn authenticate(db: &Db, email: &str, password_given: &str) -> Result<Uuid, AuthError> {
    let email = email.trim().to_lowercase();
    let found: Option<(Uuid, String)> = db
        .global(async move |c| {
            Ok::<_, AuthError>(
                users::table
                    .filter(
                        diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = ")
                            .bind::<diesel::sql_types::Text, _>(email),
                    )
                    .select((users::id, users::password_hash))
                    .first(c)
                    .await
                    .optional()?,
            )
        })
        .await?;
    let password_given = password_given.to_string();
    tokio::task::spawn_blocking(move || match found {
        Some((id, hash)) if password::verify(&password_given, &hash) => Ok(id),
        Some(_) => Err(AuthError::BadCredentials),
        None => {
            password::verify_dummy(&password_given);
            Err(AuthError::BadCredentials)
        }
    })
    .await
    .map_err(|e| AuthError::Internal(e.to_string()))?
}

/// Every organization the user belongs to, by name.
pub async fn user_orgs(db: &Db, user_id: Uuid) -> Result<Vec<OrgMembership>, AuthError> {
    db.user_scope(user_id, async move |c| {
        let rows: Vec<(Uuid, String, String, String)> = memberships::table
            .inner_join(organizations::table)
            .filter(memberships::user_id.eq(user_id))
            .select((
                organizations::id,
                organizations::name,
                organizations::time_zone,
                memberships::role,
            ))
            .order(organizations::name.asc())
            .load(c)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(org_id, org_name, time_zone, role)| OrgMembership {
                org_id,
                org_name,
                time_zone,
                role: role_of(&role),
            })
            .collect())
    })
    .await
}

/// Changes a user's password after checking the current one. The caller ends their sessions.
pub async fn change_password(
    db: &Db,
    user_id: Uuid,
    current: &str,
    new: &str,
) -> Result<(), AuthError> {
    let (email, hash): (String, String) = db
        .global(async move |c| {
            Ok::<_, AuthError>(
                users::table
                    .find(user_id)
                    .select((users::email, users::password_hash))
                    .first(c)
                    .await?,
            )
        })
        .await?;
    let cur = current.to_string();
    let ok = tokio::task::spawn_blocking(move || password::verify(&cur, &hash))
        .await
        .map_err(|e| AuthError::Internal(e.to_string()))?;
    if !ok {
        return Err(AuthError::invalid(
            "current_password",
            "This is not your current password.",
        ));
    }
    if let Some(why) = password::weakness(new, &email) {
        return Err(AuthError::invalid("new_password", why));
    }
    let new_hash = password::hash(new)?;
    db.global(async move |c| {
        diesel::update(users::table.find(user_id))
            .set((
                users::password_hash.eq(new_hash),
                users::password_changed_at.eq(Utc::now()),
            ))
            .execute(c)
            .await?;
        Ok(())
    })
    .await
}

/// Members of the current organization (call inside its tenant transaction; row-level
/// security limits the memberships to that organization).
pub async fn members(c: &mut Conn) -> QueryResult<Vec<Member>> {
    let rows: Vec<(Uuid, String, String, String, DateTime<Utc>)> = memberships::table
        .inner_join(users::table)
        .select((
            users::id,
            users::name,
            users::email,
            memberships::role,
            memberships::created_at,
        ))
        .order((memberships::created_at.asc(), users::email.asc()))
        .load(c)
        .await?;
    Ok(rows
        .into_iter()
        .map(|(user_id, name, email, role, since)| Member {
            user_id,
            name,
            email,
            role: role_of(&role),
            since,
        })
        .collect())
}

/// The time zone of the tenant transaction's organization (UTC if unset or unknown).
pub async fn current_org_time_zone(c: &mut Conn) -> QueryResult<chrono_tz::Tz> {
    let tz: Option<String> = organizations::table
        .select(organizations::time_zone)
        .first(c)
        .await
        .optional()?;
    Ok(tz.and_then(|t| t.parse().ok()).unwrap_or(chrono_tz::UTC))
}

/// Whether `org` exists (and, inside a tenant transaction, is that tenant).
pub async fn org_exists(c: &mut Conn, org: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        organizations::table.filter(organizations::id.eq(org)),
    ))
    .get_result(c)
    .await
}

/// The organization's name and time zone.
pub async fn org_settings(c: &mut Conn, org_id: Uuid) -> QueryResult<(String, String)> {
    organizations::table
        .find(org_id)
        .select((organizations::name, organizations::time_zone))
        .first(c)
        .await
}

pub async fn update_org(
    db: &Db,
    org_id: Uuid,
    actor: Uuid,
    name: &str,
    time_zone: &str,
) -> Result<(), AuthError> {
    let name = check_name("name", name, "a name for the organization")?;
    let time_zone = check_time_zone(time_zone)?;
    db.tenant(org_id, async move |c| {
        let n = diesel::update(organizations::table.find(org_id))
            .set((
                organizations::name.eq(&name),
                organizations::time_zone.eq(&time_zone),
            ))
            .execute(c)
            .await?;
        if n == 0 {
            return Err(AuthError::NotFound);
        }
        audit::record(
            c,
            org_id,
            Some(actor),
            "org.updated",
            &name,
            json!({"time_zone": time_zone}),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Creates an invitation and returns it with the token for the link (shown once, stored hashed).
pub async fn invite(
    db: &Db,
    org_id: Uuid,
    actor: Uuid,
    actor_role: Role,
    email: &str,
    role: &str,
) -> Result<(Invitation, String), AuthError> {
    let email = normalize_email(email)?;
    let role: Role = role
        .parse()
        .map_err(|m: String| AuthError::invalid("role", m))?;
    if role == Role::Owner {
        return Err(AuthError::invalid(
            "role",
            "Invite as admin, member or client; an owner can make someone owner later.",
        ));
    }
    if role == Role::Admin && actor_role != Role::Owner {
        return Err(AuthError::invalid("role", "Only owners can invite admins."));
    }
    let token = new_token();
    let hash = hash_token(&token);
    let now = Utc::now();
    let inv = Invitation {
        id: Uuid::now_v7(),
        org_id,
        email: email.clone(),
        role,
        created_at: now,
        expires_at: now + chrono::Duration::days(INVITE_DAYS),
    };
    let row = inv.clone();
    db.tenant(org_id, async move |c| {
        let already: bool = diesel::select(diesel::dsl::exists(
            memberships::table
                .inner_join(users::table)
                .filter(memberships::org_id.eq(org_id))
                .filter(
                    diesel::dsl::sql::<diesel::sql_types::Bool>("lower(users.email) = ")
                        .bind::<diesel::sql_types::Text, _>(email.clone()),
                ),
        ))
        .get_result(c)
        .await?;
        if already {
            return Err(AuthError::invalid(
                "email",
                "This person is already a member.",
            ));
        }
        // A new invitation replaces any pending one for the same address.
        diesel::update(
            invitations::table
                .filter(invitations::email.eq(&email))
                .filter(invitations::accepted_at.is_null())
                .filter(invitations::revoked_at.is_null()),
        )
        .set(invitations::revoked_at.eq(Some(now)))
        .execute(c)
        .await?;
        diesel::insert_into(invitations::table)
            .values((
                invitations::id.eq(row.id),
                invitations::org_id.eq(org_id),
                invitations::email.eq(&row.email),
                invitations::role.eq(row.role.as_str()),
                invitations::token_hash.eq(&hash),
                invitations::invited_by.eq(Some(actor)),
                invitations::expires_at.eq(row.expires_at),
            ))
            .execute(c)
            .await?;
        audit::record(
            c,
            org_id,
            Some(actor),
            "member.invited",
            &email,
            json!({"role": row.role.as_str()}),
        )
        .await?;
        Ok(())
    })
    .await?;
    Ok((inv, token))
}

pub async fn pending_invitations(c: &mut Conn) -> QueryResult<Vec<Invitation>> {
    let rows: Vec<(Uuid, Uuid, String, String, DateTime<Utc>, DateTime<Utc>)> = invitations::table
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .filter(invitations::expires_at.gt(Utc::now()))
        .select((
            invitations::id,
            invitations::org_id,
            invitations::email,
            invitations::role,
            invitations::created_at,
            invitations::expires_at,
        ))
        .order(invitations::created_at.desc())
        .load(c)
        .await?;
    Ok(rows
        .into_iter()
        .map(
            |(id, org_id, email, role, created_at, expires_at)| Invitation {
                id,
                org_id,
                email,
                role: role_of(&role),
                created_at,
                expires_at,
            },
        )
        .collect())
}

pub async fn revoke_invitation(
    db: &Db,
    org_id: Uuid,
    actor: Uuid,
    id: Uuid,
) -> Result<(), AuthError> {
    db.tenant(org_id, async move |c| {
        let email: Option<String> = diesel::update(
            invitations::table
                .find(id)
                .filter(invitations::accepted_at.is_null()),
        )
        .set(invitations::revoked_at.eq(Some(Utc::now())))
        .returning(invitations::email)
        .get_result(c)
        .await
        .optional()?;
        let email = email.ok_or(AuthError::NotFound)?;
        audit::record(
            c,
            org_id,
            Some(actor),
            "member.invitation_revoked",
            &email,
            json!({}),
        )
        .await?;
        Ok(())
    })
    .await
}

/// A usable invitation of organization `org_id` for this token, with the organization's name.
pub async fn find_invitation(
    db: &Db,
    org_id: Uuid,
    token: &str,
) -> Result<(Invitation, String), AuthError> {
    let hash = hash_token(token);
    db.tenant(org_id, async move |c| {
        let row: Option<(Uuid, Uuid, String, String, DateTime<Utc>, DateTime<Utc>)> =
            invitations::table
                .filter(invitations::token_hash.eq(&hash))
                .filter(invitations::accepted_at.is_null())
                .filter(invitations::revoked_at.is_null())
                .filter(invitations::expires_at.gt(Utc::now()))
                .select((
                    invitations::id,
                    invitations::org_id,
                    invitations::email,
                    invitations::role,
                    invitations::created_at,
                    invitations::expires_at,
                ))
                .first(c)
                .await
                .optional()?;
        let (id, org_id, email, role, created_at, expires_at) = row.ok_or(AuthError::BadInvite)?;
        let (org_name, _) = org_settings(c, org_id).await?;
        Ok((
            Invitation {
                id,
                org_id,
                email,
                role: role_of(&role),
                created_at,
                expires_at,
            },
            org_name,
        ))
    })
    .await
}

async fn consume_invitation(
    c: &mut Conn,
    org_id: Uuid,
    hash: &[u8],
    user_id: Uuid,
) -> Result<Invitation, AuthError> {
    let row: Option<(Uuid, String, String, DateTime<Utc>, DateTime<Utc>)> = diesel::update(
        invitations::table
            .filter(invitations::token_hash.eq(hash))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null())
            .filter(invitations::expires_at.gt(Utc::now())),
    )
    .set((
        invitations::accepted_at.eq(Some(Utc::now())),
        invitations::accepted_by.eq(Some(user_id)),
    ))
    .returning((
        invitations::id,
        invitations::email,
        invitations::role,
        invitations::created_at,
        invitations::expires_at,
    ))
    .get_result(c)
    .await
    .optional()?;
    let (id, email, role, created_at, expires_at) = row.ok_or(AuthError::BadInvite)?;
    let inv = Invitation {
        id,
        org_id,
        email,
        role: role_of(&role),
        created_at,
        expires_at,
    };
    diesel::insert_into(memberships::table)
        .values((
            memberships::org_id.eq(org_id),
            memberships::user_id.eq(user_id),
            memberships::role.eq(inv.role.as_str()),
        ))
        .on_conflict_do_nothing()
        .execute(c)
        .await?;
    audit::record(
        c,
        org_id,
        Some(user_id),
        "member.joined",
        &inv.email,
        json!({"role": inv.role.as_str()}),
    )
    .await?;
    Ok(inv)
}

/// Whether `user_email` may accept `inv`: an invitation is for the address it was sent to,
/// so a forwarded or leaked link is useless to anyone else.
pub fn invitation_is_for(inv: &Invitation, user_email: &str) -> bool {
    inv.email.trim().eq_ignore_ascii_case(user_email.trim())
}

/// The message for a logged-in user whose address is not the invited one.
pub fn wrong_invitee_message(inv: &Invitation, user_email: &str) -> String {
    format!(
        "This invitation was sent to {}, and you are logged in as {user_email}. Log out and open the link again, or ask for an invitation to your own address.",
        inv.email
    )
}

/// An existing (logged-in) user accepts an invitation sent to their address. The token is
/// single use.
pub async fn accept_invitation(
    db: &Db,
    org_id: Uuid,
    token: &str,
    user_id: Uuid,
    user_email: &str,
) -> Result<Invitation, AuthError> {
    let (inv, _) = find_invitation(db, org_id, token).await?;
    if !invitation_is_for(&inv, user_email) {
        return Err(AuthError::invalid(
            "form",
            wrong_invitee_message(&inv, user_email),
        ));
    }
    let hash = hash_token(token);
    db.tenant(org_id, async move |c| {
        consume_invitation(c, org_id, &hash, user_id).await
    })
    .await
}

/// A new person signs up through an invitation: their account and membership, no new org.
pub async fn sign_up_invited(
    db: &Db,
    org_id: Uuid,
    token: &str,
    name: &str,
    password_new: &str,
) -> Result<(Uuid, Invitation), AuthError> {
    let (inv, _) = find_invitation(db, org_id, token).await?;
    let name = check_name("name", name, "your name")?;
    if let Some(why) = password::weakness(password_new, &inv.email) {
        return Err(AuthError::invalid("password", why));
    }
    let hash = password::hash(password_new)?;
    let token_hash = hash_token(token);
    let user_id = Uuid::now_v7();
    let email = inv.email.clone();
    let inv = db
        .tenant(org_id, async move |c| {
            insert_user(c, user_id, &email, &name, &hash).await?;
            consume_invitation(c, org_id, &token_hash, user_id).await
        })
        .await?;
    Ok((user_id, inv))
}

/// Changes a member's role. Owners manage owners and admins; an organization keeps an owner.
pub async fn change_role(
    db: &Db,
    org_id: Uuid,
    actor: Uuid,
    actor_role: Role,
    user_id: Uuid,
    new_role: &str,
) -> Result<(), AuthError> {
    let new_role: Role = new_role
        .parse()
        .map_err(|m: String| AuthError::invalid("role", m))?;
    db.tenant(org_id, async move |c| {
        let current: Option<(String, String)> = memberships::table
            .inner_join(users::table)
            .filter(memberships::org_id.eq(org_id))
            .filter(memberships::user_id.eq(user_id))
            .select((memberships::role, users::email))
            .first(c)
            .await
            .optional()?;
        let (current, email) = current.ok_or(AuthError::NotFound)?;
        let current = role_of(&current);
        if (current >= Role::Admin || new_role >= Role::Admin) && actor_role != Role::Owner {
            return Err(AuthError::invalid(
                "role",
                "Only owners can change admins and owners.",
            ));
        }
        if current == Role::Owner && new_role != Role::Owner && owner_count(c, org_id).await? <= 1 {
            return Err(AuthError::invalid(
                "role",
                "The organization needs at least one owner: make someone else owner first.",
            ));
        }
        diesel::update(memberships::table.find((org_id, user_id)))
            .set(memberships::role.eq(new_role.as_str()))
            .execute(c)
            .await?;
        audit::record(
            c,
            org_id,
            Some(actor),
            "member.role_changed",
            &email,
            json!({"from": current.as_str(), "to": new_role.as_str()}),
        )
        .await?;
        Ok(())
    })
    .await
}

async fn owner_count(c: &mut Conn, org_id: Uuid) -> QueryResult<i64> {
    memberships::table
        .filter(memberships::org_id.eq(org_id))
        .filter(memberships::role.eq(Role::Owner.as_str()))
        .count()
        .get_result(c)
        .await
}

/// Removes a member from the organization (their account stays).
pub async fn remove_member(
    db: &Db,
    org_id: Uuid,
    actor: Uuid,
    actor_role: Role,
    user_id: Uuid,
) -> Result<(), AuthError> {
    db.tenant(org_id, async move |c| {
        let current: Option<(String, String)> = memberships::table
            .inner_join(users::table)
            .filter(memberships::org_id.eq(org_id))
            .filter(memberships::user_id.eq(user_id))
            .select((memberships::role, users::email))
            .first(c)
            .await
            .optional()?;
        let (current, email) = current.ok_or(AuthError::NotFound)?;
        let current = role_of(&current);
        if current >= Role::Admin && actor_role != Role::Owner {
            return Err(AuthError::invalid(
                "member",
                "Only owners can remove admins and owners.",
            ));
        }
        if current == Role::Owner && owner_count(c, org_id).await? <= 1 {
            return Err(AuthError::invalid(
                "member",
                "The last owner cannot be removed.",
            ));
        }
        diesel::delete(memberships::table.find((org_id, user_id)))
            .execute(c)
            .await?;
        audit::record(
            c,
            org_id,
            Some(actor),
            "member.removed",
            &email,
            json!({"role": current.as_str()}),
        )
        .await?;
        Ok(())
    })
    .await
}

/// Creates a user from the command line (`adpilot user create`), with their own organization.
pub async fn create_user_cli(
    db: &Db,
    email: &str,
    name: &str,
    password_new: &str,
    org_name: &str,
) -> Result<(Uuid, Uuid), AuthError> {
    sign_up(
        db,
        NewAccount {
            email: email.into(),
            name: name.into(),
            password: password_new.into(),
            org_name: org_name.into(),
            time_zone: "UTC".into(),
        },
    )
    .await
}

/// Every organization's id, through the one named cross-tenant path (`adpilot_all_org_ids()`,
/// a function running with its owner's rights). Only schedulers fanning work out per
/// organization call this; each call is logged with its reason.
pub async fn all_org_ids(db: &Db, reason: &'static str) -> Result<Vec<Uuid>, AuthError> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = diesel::sql_types::Uuid)]
        id: Uuid,
    }
    tracing::debug!(reason, "listing every organization");
    let rows: Vec<Row> = db
        .global(async move |c| {
            Ok::<_, AuthError>(
                diesel::sql_query("SELECT adpilot_all_org_ids() AS id")
                    .load(c)
                    .await?,
            )
        })
        .await?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Members of the current organization plus pending invitations (each becomes a member when
/// accepted): what the plan's member limit counts.
pub async fn member_and_pending_invite_count(c: &mut Conn) -> diesel::QueryResult<u64> {
    crate::db::count(
        c,
        diesel::sql_query(
            "SELECT (SELECT count(*) FROM memberships WHERE org_id = app_current_org()) \
                  + (SELECT count(*) FROM invitations \
                     WHERE accepted_at IS NULL AND revoked_at IS NULL AND expires_at > now()) \
                    AS n",
        ),
    )
    .await
}
