//! Database backups with pg_dump (custom format) and restores with pg_restore.
//!
//! They connect with the migration role (DATABASE_URL, or the embedded cluster's superuser
//! over its socket): the application role cannot read other organizations' rows, so it could
//! not dump them. That role must be a superuser or have BYPASSRLS, since every tenant table
//! forces row-level security even on its owner.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use chrono::Utc;

const PREFIX: &str = "adpilot-";
const SUFFIX: &str = ".dump";

/// Where and how to reach the database for dumps.
#[derive(Debug, Clone, Default)]
pub struct BackupTarget {
    admin_url: Option<String>,
    /// The embedded cluster's binaries, whose pg_dump matches its server version.
    bin_hint: Option<PathBuf>,
}

impl BackupTarget {
    pub fn new(admin_url: &str, bin_hint: Option<&Path>) -> BackupTarget {
        BackupTarget {
            admin_url: Some(admin_url.to_string()),
            bin_hint: bin_hint.map(Path::to_path_buf),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "{0} is not installed (looked on PATH and under /usr/lib/postgresql/*/bin): install the PostgreSQL client programs (Debian/Ubuntu: `apt-get install postgresql-client`)"
    )]
    NotInstalled(&'static str),
    #[error("no database to back up is configured")]
    NoTarget,
    #[error("the database URL cannot be used: {0}")]
    BadUrl(String),
    #[error("{tool} failed: {detail}")]
    Failed { tool: &'static str, detail: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A PostgreSQL client program: beside the embedded server first, then the newest
/// /usr/lib/postgresql/*/bin (pg_dump must not be older than the server), then PATH.
pub fn find_tool(name: &str, hint: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = hint {
        let p = dir.join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let v: u32 = e.file_name().to_str()?.parse().ok()?;
                    let p = e.path().join("bin").join(name);
                    p.is_file().then_some((v, p))
                })
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    if let Some((_, p)) = versions.pop() {
        return Some(p);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    })
}

/// The URL without its password, and the password (given to the tool in PGPASSWORD so it
/// does not show in the process list).
fn split_password(url: &str) -> Result<(String, Option<String>), BackupError> {
    let mut u = url::Url::parse(url).map_err(|e| BackupError::BadUrl(e.to_string()))?;
    let pw = u.password().map(percent_decode);
    u.set_password(None)
        .map_err(|_| BackupError::BadUrl("cannot remove the password".into()))?;
    Ok((u.to_string(), pw))
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| s.to_string())
}

async fn run_tool(
    tool: &'static str,
    target: &BackupTarget,
    args: Vec<std::ffi::OsString>,
) -> Result<(), BackupError> {
    let exe = find_tool(tool, target.bin_hint.as_deref()).ok_or(BackupError::NotInstalled(tool))?;
    let url = target.admin_url.as_deref().ok_or(BackupError::NoTarget)?;
    let (url, password) = split_password(url)?;
    let mut cmd = tokio::process::Command::new(&exe);
    cmd.args(&args)
        .arg(format!("--dbname={url}"))
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(pw) = password {
        cmd.env("PGPASSWORD", pw);
    }
    let out = cmd.output().await.map_err(|e| BackupError::Failed {
        tool,
        detail: format!("cannot start {}: {e}", exe.display()),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        let detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(BackupError::Failed {
            tool,
            detail: if detail.is_empty() {
                format!("exit status {}", out.status)
            } else {
                detail
            },
        })
    }
}

/// Dumps the database into `dir` as `adpilot-YYYYMMDDTHHMMSSZ.dump`, then deletes backups
/// there older than `keep_days`. Returns the new file.
pub async fn backup_now(
    target: &BackupTarget,
    dir: &Path,
    keep_days: u32,
) -> Result<PathBuf, BackupError> {
    if find_tool("pg_dump", target.bin_hint.as_deref()).is_none() {
        return Err(BackupError::NotInstalled("pg_dump"));
    }
    std::fs::create_dir_all(dir)?;
    let name = format!(
        "{PREFIX}{}{SUFFIX}",
        Utc::now().format("%Y%m%dT%H%M%S%.3fZ")
    );
    let file = dir.join(&name);
    // Written under another name first, so a crash never leaves a truncated file that looks
    // like a good backup.
    let partial = dir.join(format!("{name}.partial"));
    let result = run_tool(
        "pg_dump",
        target,
        vec![
            "--format=custom".into(),
            "--no-password".into(),
            format!("--file={}", partial.display()).into(),
        ],
    )
    .await;
    if let Err(e) = result {
        let _ = std::fs::remove_file(&partial);
        return Err(e);
    }
    restrict(&partial);
    std::fs::rename(&partial, &file)?;
    match prune(dir, keep_days, &file) {
        Ok(n) if n > 0 => tracing::info!(deleted = n, "old backups deleted"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot delete old backups"),
    }
    Ok(file)
}

/// Backups hold every customer's data: owner-only.
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

/// Deletes our backup files older than `keep_days` (never `keep`).
pub fn prune(dir: &Path, keep_days: u32, keep: &Path) -> std::io::Result<usize> {
    let max_age = Duration::from_secs(u64::from(keep_days) * 86_400);
    let now = SystemTime::now();
    let mut deleted = 0;
    for e in std::fs::read_dir(dir)?.flatten() {
        let path = e.path();
        let name = e.file_name();
        let Some(name) = name.to_str() else { continue };
        if !(name.starts_with(PREFIX) && (name.ends_with(SUFFIX) || name.ends_with(".partial")))
            || path == keep
        {
            continue;
        }
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age > max_age);
        if old {
            std::fs::remove_file(&path)?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Replaces the database's contents with `file` (made by [`backup_now`]) in one transaction:
/// on any error nothing changes. Stop every adpilot server on the database first.
pub async fn restore(target: &BackupTarget, file: &Path) -> Result<(), BackupError> {
    if !file.is_file() {
        return Err(BackupError::Io(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("{} is not a file", file.display()),
        )));
    }
    run_tool(
        "pg_restore",
        target,
        vec![
            "--clean".into(),
            "--if-exists".into(),
            "--single-transaction".into(),
            "--no-password".into(),
            file.as_os_str().to_owned(),
        ],
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_leaves_the_url_for_the_environment() {
        let (url, pw) =
            split_password("postgres://admin:s%40cret@db.example.com:5432/adpilot").expect("url");
        assert_eq!(url, "postgres://admin@db.example.com:5432/adpilot");
        assert_eq!(pw.as_deref(), Some("s@cret"));
        let (url, pw) =
            split_password("postgres://adpilot@localhost/adpilot?host=/tmp/x&port=5432")
                .expect("url");
        assert!(url.contains("host=/tmp/x"));
        assert_eq!(pw, None);
    }

    #[test]
    fn prune_deletes_only_old_backups_of_ours() {
        let dir = std::env::temp_dir().join(format!("adpilot-prune-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let old = dir.join("adpilot-20200101T000000.000Z.dump");
        let new = dir.join("adpilot-20990101T000000.000Z.dump");
        let other = dir.join("notes.txt");
        for p in [&old, &new, &other] {
            std::fs::write(p, b"x").expect("write");
        }
        let past = SystemTime::now() - Duration::from_secs(10 * 86_400);
        for p in [&old, &other] {
            let f = std::fs::File::options().write(true).open(p).expect("open");
            f.set_modified(past).expect("mtime");
        }
        assert_eq!(prune(&dir, 7, &new).expect("prune"), 1);
        assert!(!old.exists() && new.exists() && other.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
