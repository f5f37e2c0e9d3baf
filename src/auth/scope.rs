//! Which ad accounts a member may see. Owners and admins see every account; a member sees
//! every account unless an admin restricted them; a client sees only the accounts granted to
//! them (none until an admin grants some). The database enforces it: the web layer runs a
//! restricted member's requests with `db::with_account_scope`, and restrictive policies on
//! every account-carrying table do the filtering.

use diesel::sql_types::{Array, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde_json::json;
use uuid::Uuid;

use super::{AuthError, Role};
use crate::audit;
use crate::db::{Conn, Db};

/// One member's access as the settings page shows it.
#[derive(Debug, Clone)]
pub struct MemberAccess {
    pub user_id: Uuid,
    /// Limited to `accounts` (always true for clients).
    pub restricted: bool,
    pub accounts: Vec<Uuid>,
}

#[derive(diesel::QueryableByName)]
struct Row {
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    role: String,
    #[diesel(sql_type = Text)]
    account_scope: String,
    #[diesel(sql_type = Array<SqlUuid>)]
    accounts: Vec<Uuid>,
}

fn restricted(role: &str, account_scope: &str) -> bool {
    role == Role::Client.as_str() || (role == Role::Member.as_str() && account_scope == "granted")
}

const ACCESS_SQL: &str = "SELECT m.user_id, m.role, m.account_scope, \
       coalesce(array_agg(g.account_id) FILTER (WHERE g.account_id IS NOT NULL), '{}') AS accounts \
     FROM memberships m \
     LEFT JOIN membership_accounts g ON g.org_id = m.org_id AND g.user_id = m.user_id \
     WHERE m.org_id = app_current_org()";

/// Every member's access in the current organization.
pub async fn member_access(c: &mut Conn) -> diesel::QueryResult<Vec<MemberAccess>> {
    let rows: Vec<Row> = diesel::sql_query(format!(
        "{ACCESS_SQL} GROUP BY m.user_id, m.role, m.account_scope"
    ))
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| MemberAccess {
            user_id: r.user_id,
            restricted: restricted(&r.role, &r.account_scope),
            accounts: r.accounts,
        })
        .collect())
}

/// The accounts `user` may see in `org`: `None` for every account.
pub async fn account_scope(db: &Db, org: Uuid, user: Uuid) -> Result<Option<Vec<Uuid>>, AuthError> {
    let rows: Vec<Row> = db
        .tenant(org, async move |c| {
            Ok::<_, AuthError>(
                diesel::sql_query(format!(
                    "{ACCESS_SQL} AND m.user_id = $1 GROUP BY m.user_id, m.role, m.account_scope"
                ))
                .bind::<SqlUuid, _>(user)
                .load(c)
                .await?,
            )
        })
        .await?;
    Ok(match rows.into_iter().next() {
        // Not a member (any more): nothing at all.
        None => Some(Vec::new()),
        Some(r) if restricted(&r.role, &r.account_scope) => Some(r.accounts),
        Some(_) => None,
    })
}

/// Sets which accounts a member or client sees. Owners and admins always see everything; a
/// client is always restricted (`restricted` is ignored for them).
pub async fn set_member_access(
    db: &Db,
    org: Uuid,
    actor: Uuid,
    user: Uuid,
    restricted: bool,
    accounts: Vec<Uuid>,
) -> Result<(), AuthError> {
    db.tenant(org, async move |c| {
        #[derive(diesel::QueryableByName)]
        struct R {
            #[diesel(sql_type = Text)]
            role: String,
            #[diesel(sql_type = Text)]
            email: String,
        }
        let member: Option<R> = diesel::sql_query(
            "SELECT m.role, u.email FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE m.org_id = app_current_org() AND m.user_id = $1",
        )
        .bind::<SqlUuid, _>(user)
        .load(c)
        .await?
        .into_iter()
        .next();
        let member = member.ok_or(AuthError::NotFound)?;
        if member.role == Role::Owner.as_str() || member.role == Role::Admin.as_str() {
            return Err(AuthError::invalid(
                "member",
                "Owners and admins always see every ad account; change the role first.",
            ));
        }
        // Only accounts of this organization (the tenant policy hides the others).
        let known: Vec<Uuid> = {
            #[derive(diesel::QueryableByName)]
            struct A {
                #[diesel(sql_type = SqlUuid)]
                id: Uuid,
            }
            diesel::sql_query("SELECT id FROM ad_accounts WHERE id = ANY($1)")
                .bind::<Array<SqlUuid>, _>(&accounts)
                .load::<A>(c)
                .await?
                .into_iter()
                .map(|a| a.id)
                .collect()
        };
        let scope = if restricted || member.role == Role::Client.as_str() {
            "granted"
        } else {
            "all"
        };
        diesel::sql_query(
            "UPDATE memberships SET account_scope = $2 WHERE org_id = app_current_org() AND user_id = $1",
        )
        .bind::<SqlUuid, _>(user)
        .bind::<Text, _>(scope)
        .execute(c)
        .await?;
        diesel::sql_query(
            "DELETE FROM membership_accounts WHERE org_id = app_current_org() AND user_id = $1",
        )
        .bind::<SqlUuid, _>(user)
        .execute(c)
        .await?;
        diesel::sql_query(
            "INSERT INTO membership_accounts (org_id, user_id, account_id, granted_by) \
             SELECT app_current_org(), $1, a, $2 FROM unnest($3::uuid[]) AS a",
        )
        .bind::<SqlUuid, _>(user)
        .bind::<SqlUuid, _>(actor)
        .bind::<Array<SqlUuid>, _>(&known)
        .execute(c)
        .await?;
        audit::record(
            c,
            org,
            Some(actor),
            "member.accounts_changed",
            &member.email,
            json!({"scope": scope, "accounts": known}),
        )
        .await?;
        Ok(())
    })
    .await
}
