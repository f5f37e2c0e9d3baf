//! Scratch PostgreSQL databases, the one implementation the integration tests
//! (`tests/it/support.rs`) and the benchmarks (`examples/common`) share: each includes this file
//! with `#[path]`. A scratch database is created on a server reached as a superuser, used as its
//! owner (row-level security does not apply to the owner) and dropped afterwards.

// Each includer uses part of it.
#![allow(dead_code)]

use diesel_async::RunQueryDsl;

pub type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A database of one test's or one benchmark run's own.
pub struct ScratchDb {
    pub name: String,
    /// The server's URL as given (a superuser).
    pub server_url: String,
    /// The scratch database as its owner (the server URL's user).
    pub owner_url: String,
}

impl ScratchDb {
    /// Creates `PREFIX_<random>` on the server, empty or as a copy of `template`.
    pub async fn create(server_url: &str, prefix: &str, template: Option<&str>) -> Res<ScratchDb> {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut admin = adpilot::db::connect_one(server_url).await?;
        let create = match template {
            Some(t) => format!("CREATE DATABASE {name} TEMPLATE {t}"),
            None => format!("CREATE DATABASE {name}"),
        };
        diesel::sql_query(create).execute(&mut admin).await?;
        let owner_url = adpilot::db::url_with_role(
            server_url,
            &user_of(server_url),
            password_of(server_url).as_deref(),
            Some(&name),
        )?;
        Ok(ScratchDb {
            name,
            server_url: server_url.to_string(),
            owner_url,
        })
    }

    /// Drops the database, closing whatever connections are still open on it.
    pub async fn drop_now(&self) -> Res<()> {
        drop_database(&self.server_url, &self.name).await
    }
}

/// Drops a scratch database, closing whatever connections are still open on it.
pub async fn drop_database(server_url: &str, name: &str) -> Res<()> {
    let mut admin = adpilot::db::connect_one(server_url).await?;
    diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    Ok(())
}

/// [`drop_database`] from synchronous code such as a `Drop` impl, which may run inside an async
/// runtime that cannot be blocked on: a thread of its own does the work. Failures are ignored
/// (a database left behind is only clutter).
pub fn drop_database_blocking(server_url: &str, name: &str) {
    let (server_url, name) = (server_url.to_string(), name.to_string());
    let _ = std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            let _ = rt.block_on(drop_database(&server_url, &name));
        }
    })
    .join();
}

/// The user name in a PostgreSQL URL (`postgres` if it names none).
pub fn user_of(url: &str) -> String {
    url::Url::parse(url)
        .map(|u| u.username().to_string())
        .unwrap_or_else(|_| "postgres".into())
}

/// The password in a PostgreSQL URL, if any.
pub fn password_of(url: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_string))
}
