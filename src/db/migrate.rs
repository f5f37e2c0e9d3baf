//! Schema migrations, run by the binary itself through diesel_async (no libpq).

use diesel::sql_types::BigInt;
use diesel_async::{AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::{APP_ROLE, DbError, connect_one};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Advisory lock key shared by every adpilot process migrating this database.
const MIGRATION_LOCK: i64 = 0x6164_7069_6c6f_7401;

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("migration failed: {0}")]
    Migration(String),
}

impl From<diesel::result::Error> for MigrateError {
    fn from(e: diesel::result::Error) -> Self {
        MigrateError::Db(DbError::Query(e))
    }
}

/// Applies pending migrations under an advisory lock (several instances may start at once),
/// then sets the application role's password. Returns the versions applied now.
pub async fn run(admin_url: &str, app_password: Option<&str>) -> Result<Vec<String>, MigrateError> {
    let mut conn = connect_one(admin_url).await?;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK)
        .execute(&mut conn)
        .await?;
    let (conn, applied) = tokio::task::spawn_blocking(move || {
        let mut harness = AsyncMigrationHarness::new(conn);
        let applied = harness
            .run_pending_migrations(MIGRATIONS)
            .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>())
            .map_err(|e| MigrateError::Migration(e.to_string()));
        (harness.into_inner(), applied)
    })
    .await
    .map_err(|e| MigrateError::Migration(e.to_string()))?;
    let mut conn: AsyncPgConnection = conn;
    let unlock = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(MIGRATION_LOCK)
        .execute(&mut conn)
        .await;
    let applied = applied?;
    unlock?;
    if let Some(pw) = app_password {
        set_app_password(&mut conn, pw).await?;
    }
    Ok(applied)
}

/// Reverts the newest migration (operators and the down-migration test).
pub async fn revert_all(admin_url: &str) -> Result<usize, MigrateError> {
    let conn = connect_one(admin_url).await?;
    tokio::task::spawn_blocking(move || {
        let mut harness = AsyncMigrationHarness::new(conn);
        harness
            .revert_all_migrations(MIGRATIONS)
            .map(|v| v.len())
            .map_err(|e| MigrateError::Migration(e.to_string()))
    })
    .await
    .map_err(|e| MigrateError::Migration(e.to_string()))?
}

async fn set_app_password(conn: &mut AsyncPgConnection, pw: &str) -> Result<(), MigrateError> {
    if !pw.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(MigrateError::Migration(
            "the application role password must be letters and digits".into(),
        ));
    }
    // ALTER ROLE takes no bind parameters; the password is letters and digits only.
    diesel::sql_query(format!("ALTER ROLE {APP_ROLE} PASSWORD '{pw}'"))
        .execute(conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    /// Branches written in parallel once gave two migrations the same version; diesel then
    /// runs only one of them on a database that has the other. Caught here, before a merge lands.
    #[test]
    fn every_migration_has_its_own_version() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut seen = std::collections::BTreeMap::new();
        let entries = std::fs::read_dir(&dir).expect("the migrations folder");
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((version, _)) = name.split_once('_') else {
                continue;
            };
            if let Some(other) = seen.insert(version.to_string(), name.clone()) {
                panic!("{name} and {other} share the version {version}: rename one");
            }
        }
        assert!(seen.len() > 10, "read {} migrations", seen.len());
    }
}
