//! PostgreSQL advisory locks keyed by a namespace and a uuid.
//!
//! [`ProcessLocks`] says "this process is alive and doing X": locks on one connection of the
//! process's own, taken and freed one at a time, which another process can test without
//! waiting. [`SessionLocks`] holds locks across many transactions and platform calls (a rule check) on
//! one connection. PostgreSQL releases a session's locks when its connection ends, so a
//! process that dies frees them; a check cancelled mid-way closes its connection rather than
//! pooling it with the locks still held.

use diesel::sql_types::{Bool, Integer};
use diesel_async::RunQueryDsl;
use diesel_async::pooled_connection::deadpool::Object;
use uuid::Uuid;

use super::{Db, DbError, PooledConn};

/// The second key of the two-key form for a uuid: its bytes folded into 32 bits. Two ids that
/// fold alike only share a lock, which serializes them and is never wrong.
pub fn key_of(id: &Uuid) -> i32 {
    let mut k = [0u8; 4];
    for (i, byte) in id.as_bytes().iter().enumerate() {
        k[i % 4] ^= byte;
    }
    i32::from_le_bytes(k)
}

#[derive(diesel::QueryableByName)]
struct Taken {
    #[diesel(sql_type = Bool)]
    taken: bool,
}

/// Session locks held on one pooled connection until released or dropped.
pub struct SessionLocks {
    conn: Option<PooledConn>,
}

impl Drop for SessionLocks {
    // Not released (an error or a cancelled future): the connection must not go back to the
    // pool still holding the locks, so it is detached and closed, which frees them.
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            drop(Object::take(conn));
        }
    }
}

impl SessionLocks {
    /// Tries to take the lock of each id without waiting; returns the locks and the ids whose
    /// lock was free (another session holds the others).
    pub async fn try_take(
        db: &Db,
        namespace: i32,
        ids: &[Uuid],
    ) -> Result<(SessionLocks, Vec<Uuid>), DbError> {
        if ids.is_empty() {
            return Ok((SessionLocks { conn: None }, Vec::new()));
        }
        let mut conn = db.conn().await?;
        let mut taken = Vec::with_capacity(ids.len());
        for id in ids {
            let row: Taken = diesel::sql_query("SELECT pg_try_advisory_lock($1, $2) AS taken")
                .bind::<Integer, _>(namespace)
                .bind::<Integer, _>(key_of(id))
                .get_result(&mut conn)
                .await?;
            if row.taken {
                taken.push(*id);
            }
        }
        Ok((SessionLocks { conn: Some(conn) }, taken))
    }

    /// Frees the locks and returns the connection to the pool. (Dropping frees them too, but
    /// only once PostgreSQL has seen the connection close, which a caller that takes them again
    /// right away could race.)
    pub async fn release(mut self) -> Result<(), DbError> {
        if let Some(conn) = self.conn.as_mut() {
            diesel::sql_query("SELECT pg_advisory_unlock_all()")
                .execute(&mut **conn)
                .await?;
        }
        // Unlocked: back to the pool rather than closed by Drop.
        drop(self.conn.take());
        Ok(())
    }
}

/// Locks held on a connection that lives as long as the process: another process that finds
/// one taken knows its holder is alive (PostgreSQL frees them when the connection ends, a
/// killed process's included). Session locks are reentrant, so they tell processes apart, not
/// the tasks of one process.
pub struct ProcessLocks {
    url: String,
    conn: tokio::sync::Mutex<Option<super::Conn>>,
}

impl ProcessLocks {
    pub fn new(url: &str) -> ProcessLocks {
        ProcessLocks {
            url: url.to_string(),
            conn: tokio::sync::Mutex::new(None),
        }
    }

    /// Takes the lock of `id` unless another process holds it.
    pub async fn try_lock(&self, namespace: i32, id: &Uuid) -> Result<bool, DbError> {
        let mut guard = self.conn.lock().await;
        if guard.is_none() {
            // A new connection: whatever the old one held is free again (it was lost), which
            // only lets another process take over what this one was doing, as if it had died.
            *guard = Some(super::connect_one(&self.url).await?);
        }
        let Some(conn) = guard.as_mut() else {
            return Ok(false);
        };
        let row = diesel::sql_query("SELECT pg_try_advisory_lock($1, $2) AS taken")
            .bind::<Integer, _>(namespace)
            .bind::<Integer, _>(key_of(id))
            .get_result::<Taken>(conn)
            .await;
        match row {
            Ok(r) => Ok(r.taken),
            Err(e) => {
                *guard = None;
                Err(e.into())
            }
        }
    }

    /// Frees one hold of the lock of `id`.
    pub async fn unlock(&self, namespace: i32, id: &Uuid) {
        let mut guard = self.conn.lock().await;
        if let Some(conn) = guard.as_mut() {
            let freed = diesel::sql_query("SELECT pg_advisory_unlock($1, $2)")
                .bind::<Integer, _>(namespace)
                .bind::<Integer, _>(key_of(id))
                .execute(conn)
                .await;
            if let Err(e) = freed {
                tracing::warn!(error = %e, "freeing a process lock failed; reconnecting");
                *guard = None;
            }
        }
    }
}
