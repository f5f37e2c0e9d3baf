//! The database: connection pool, embedded cluster, migrations and tenant transactions.
//!
//! Handlers and jobs reach tenant tables only through [`Db::tenant`], which opens a transaction
//! whose first statement is `set_config('app.current_org_id', $1, true)`. Row-level security
//! on every tenant table does the rest; the pool's role cannot bypass it.

pub mod embedded;
pub mod locks;
pub mod migrate;
pub mod schema;

use diesel::sql_types::Text;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::{
    AnsiTransactionManager, AsyncConnection, AsyncPgConnection, RunQueryDsl, TransactionManager,
};
use uuid::Uuid;

pub type Conn = AsyncPgConnection;
pub type PooledConn = Object<AsyncPgConnection>;

/// The server role every request and job uses.
pub const APP_ROLE: &str = "adpilot_app";

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("no database connection available: {0}")]
    Pool(#[from] PoolError),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
}

/// The server's pool, connected as the unprivileged application role.
#[derive(Clone)]
pub struct Db {
    pool: Pool<AsyncPgConnection>,
    process_locks: std::sync::Arc<locks::ProcessLocks>,
}

impl Db {
    pub fn connect(app_url: &str, size: u32) -> Result<Db, DbError> {
        let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(app_url);
        let pool = Pool::builder(manager)
            .max_size(size as usize)
            .wait_timeout(Some(std::time::Duration::from_secs(10)))
            .create_timeout(Some(std::time::Duration::from_secs(10)))
            .runtime(deadpool::Runtime::Tokio1)
            .build()
            .map_err(|e| DbError::Connect(e.to_string()))?;
        Ok(Db {
            pool,
            process_locks: std::sync::Arc::new(locks::ProcessLocks::new(app_url)),
        })
    }

    /// A connection with no tenant context: tenant tables show no rows through it.
    pub async fn conn(&self) -> Result<PooledConn, DbError> {
        Ok(self.pool.get().await?)
    }

    /// Locks this process holds while it lives (see [`locks::ProcessLocks`]).
    pub fn process_locks(&self) -> &std::sync::Arc<locks::ProcessLocks> {
        &self.process_locks
    }

    pub fn status(&self) -> deadpool::Status {
        self.pool.status()
    }

    /// Runs `f` in a transaction scoped to organization `org`.
    pub async fn tenant<R, E, F>(&self, org: Uuid, f: F) -> Result<R, E>
    where
        F: for<'r> AsyncFnOnce(&'r mut Conn) -> Result<R, E>,
        E: From<DbError> + From<diesel::result::Error>,
    {
        let mut conn = self.conn().await.map_err(E::from)?;
        in_transaction(&mut conn, Some(("app.current_org_id", org)), f).await
    }

    /// Runs `f` in a transaction that may read the rows of `user` across organizations
    /// (their memberships and the organizations they belong to), and no other tenant rows.
    pub async fn user_scope<R, E, F>(&self, user: Uuid, f: F) -> Result<R, E>
    where
        F: for<'r> AsyncFnOnce(&'r mut Conn) -> Result<R, E>,
        E: From<DbError> + From<diesel::result::Error>,
    {
        let mut conn = self.conn().await.map_err(E::from)?;
        in_transaction(&mut conn, Some(("app.current_user_id", user)), f).await
    }

    /// A transaction with no tenant context, for global tables (users, sessions, jobs).
    pub async fn global<R, E, F>(&self, f: F) -> Result<R, E>
    where
        F: for<'r> AsyncFnOnce(&'r mut Conn) -> Result<R, E>,
        E: From<DbError> + From<diesel::result::Error>,
    {
        let mut conn = self.conn().await.map_err(E::from)?;
        in_transaction(&mut conn, None, f).await
    }
}

tokio::task_local! {
    /// The ad accounts the current work may see (`None` inside: every account).
    static ACCOUNT_SCOPE: Option<Vec<Uuid>>;
}

/// Runs `f` with every tenant transaction it opens limited to the ad accounts `scope` (by the
/// restrictive policies on account-carrying tables), or narrowed further when an outer scope is
/// already set: a scope can only ever shrink. `None` keeps the outer scope as it is.
pub async fn with_account_scope<F: std::future::Future>(
    scope: Option<Vec<Uuid>>,
    f: F,
) -> F::Output {
    let outer = current_account_scope();
    let scope = match (outer, scope) {
        (Some(outer), Some(inner)) => {
            Some(inner.into_iter().filter(|a| outer.contains(a)).collect())
        }
        (outer, inner) => inner.or(outer),
    };
    ACCOUNT_SCOPE.scope(scope, f).await
}

/// The ad accounts the current task is limited to, if it is.
pub fn current_account_scope() -> Option<Vec<Uuid>> {
    ACCOUNT_SCOPE.try_with(Clone::clone).ok().flatten()
}

/// `'{id,id}'`, the array literal `app_account_scope()` reads.
fn scope_literal(ids: &[Uuid]) -> String {
    let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
    format!("{{{}}}", ids.join(","))
}

/// Begins a transaction, sets the context (transaction-local, so pooled connections never
/// carry it over), runs `f`, and commits on Ok or rolls back on Err. A future dropped halfway
/// leaves the connection inside a transaction; the pool then discards it as broken.
pub async fn in_transaction<R, E, F>(
    conn: &mut Conn,
    context: Option<(&'static str, Uuid)>,
    f: F,
) -> Result<R, E>
where
    F: for<'r> AsyncFnOnce(&'r mut Conn) -> Result<R, E>,
    E: From<DbError> + From<diesel::result::Error>,
{
    AnsiTransactionManager::begin_transaction(conn).await?;
    let result = match context {
        Some((key, id)) => {
            let mut set = set_context(conn, key, &id.to_string()).await;
            if let (Ok(()), "app.current_org_id", Some(scope)) =
                (&set, key, current_account_scope())
            {
                set = set_context(conn, "app.account_scope", &scope_literal(&scope)).await;
            }
            match set {
                Ok(()) => f(conn).await,
                Err(e) => Err(E::from(e)),
            }
        }
        None => f(conn).await,
    };
    match result {
        Ok(v) => {
            AnsiTransactionManager::commit_transaction(conn).await?;
            Ok(v)
        }
        Err(e) => {
            if let Err(rb) = AnsiTransactionManager::rollback_transaction(conn).await {
                tracing::warn!(error = %rb, "rollback failed");
            }
            Err(e)
        }
    }
}

async fn set_context(
    c: &mut Conn,
    key: &'static str,
    value: &str,
) -> Result<(), diesel::result::Error> {
    diesel::sql_query("SELECT set_config($1, $2, true)")
        .bind::<Text, _>(key)
        .bind::<Text, _>(value)
        .execute(c)
        .await
        .map(|_| ())
}

/// Replaces the user and password (and optionally the database) of a postgres URL.
pub fn url_with_role(
    url: &str,
    user: &str,
    password: Option<&str>,
    database: Option<&str>,
) -> Result<String, DbError> {
    let mut u = url::Url::parse(url).map_err(|e| DbError::Connect(format!("bad URL: {e}")))?;
    u.set_username(user)
        .map_err(|_| DbError::Connect("URL cannot carry a user name".into()))?;
    u.set_password(password)
        .map_err(|_| DbError::Connect("URL cannot carry a password".into()))?;
    if let Some(db) = database {
        u.set_path(&format!("/{db}"));
    }
    Ok(u.to_string())
}

/// Opens one connection outside the pool (migrations, admin tasks).
pub async fn connect_one(url: &str) -> Result<AsyncPgConnection, DbError> {
    AsyncPgConnection::establish(url)
        .await
        .map_err(|e| DbError::Connect(e.to_string()))
}

/// One row of a counting query: a single `bigint` column named `n`.
#[derive(diesel::QueryableByName)]
pub struct CountRow {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub n: i64,
}

/// The answer of a query that selects one `bigint` column named `n` (a count), as u64.
pub async fn count<'q, Q>(c: &mut Conn, query: Q) -> diesel::QueryResult<u64>
where
    Q: diesel_async::methods::LoadQuery<'q, Conn, CountRow> + Send + 'q,
{
    let r: CountRow = diesel_async::RunQueryDsl::get_result(query, c).await?;
    Ok(u64::try_from(r.n).unwrap_or(0))
}
