//! A PostgreSQL cluster of adpilot's own, for running with no DATABASE_URL.
//!
//! The cluster lives in `DATA_DIR/postgres`, listens only on a unix socket inside that
//! directory, is created on first run and reused afterwards. PostgreSQL refuses to run as root,
//! so when adpilot runs as root the server runs as the `postgres` system user, which is given
//! the cluster directory.

use std::path::{Path, PathBuf};
use std::process::Command;

const PORT: u16 = 5432;
const SUPERUSER: &str = "adpilot";
const DATABASE: &str = "adpilot";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server programs (initdb, pg_ctl) were not found on PATH or under \
         /usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: `apt-get install postgresql`, \
         Fedora: `dnf install postgresql-server`, macOS: `brew install postgresql`) or set \
         DATABASE_URL to an existing database"
    )]
    NotInstalled,
    #[error(
        "adpilot runs as root and PostgreSQL refuses to; create the `postgres` system user (the postgresql package does) or run adpilot as another user"
    )]
    NoUnprivilegedUser,
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// A running embedded cluster; stop it with [`EmbeddedPostgres::stop`].
#[derive(Debug)]
pub struct EmbeddedPostgres {
    bin_dir: PathBuf,
    dir: PathBuf,
    run_as: Option<String>,
    started_here: bool,
}

impl EmbeddedPostgres {
    /// Creates the cluster in `dir` if needed, starts it unless it already runs, and makes sure
    /// the `adpilot` database exists.
    pub fn start(dir: &Path) -> Result<EmbeddedPostgres, EmbeddedError> {
        let bin_dir = find_bin_dir().ok_or(EmbeddedError::NotInstalled)?;
        std::fs::create_dir_all(dir)?;
        let dir = std::fs::canonicalize(dir)?;
        let run_as = if unsafe { libc::geteuid() } == 0 {
            Some(unprivileged_user().ok_or(EmbeddedError::NoUnprivilegedUser)?)
        } else {
            None
        };
        let pg = EmbeddedPostgres {
            bin_dir,
            dir,
            run_as,
            started_here: false,
        };
        pg.start_inner()
    }

    fn start_inner(mut self) -> Result<EmbeddedPostgres, EmbeddedError> {
        let data = self.data_dir();
        if let Some(user) = &self.run_as {
            chown_recursive(&self.dir, user)?;
            // The server must be able to reach its directory from the root down.
            let mut p = self.dir.clone();
            while let Some(parent) = p.parent().map(Path::to_path_buf) {
                allow_traverse(&parent);
                p = parent;
            }
        }
        if !data.join("PG_VERSION").exists() {
            tracing::info!(dir = %data.display(), "creating the embedded PostgreSQL cluster");
            let pwfile = self.dir.join("initdb.pw");
            std::fs::write(&pwfile, "unused\n")?;
            if let Some(user) = &self.run_as {
                chown_recursive(&self.dir, user)?;
            }
            let out = self.run(
                "initdb",
                &[
                    "-D",
                    path_str(&data),
                    "-U",
                    SUPERUSER,
                    "--auth-local=trust",
                    "--auth-host=reject",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--pwfile",
                    path_str(&pwfile),
                ],
            );
            let _ = std::fs::remove_file(&pwfile);
            out?;
        }
        if !self.is_running() {
            let log = self.dir.join("postgres.log");
            let opts = format!(
                "-c listen_addresses='' -k {} -p {PORT} -c unix_socket_permissions=0700",
                path_str(&self.dir)
            );
            self.run(
                "pg_ctl",
                &[
                    "-D",
                    path_str(&data),
                    "-l",
                    path_str(&log),
                    "-o",
                    &opts,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            )?;
            self.started_here = true;
        }
        self.ensure_database()?;
        Ok(self)
    }

    /// The URL of the superuser connection over the unix socket.
    pub fn url(&self) -> String {
        format!(
            "postgres://{SUPERUSER}@localhost/{DATABASE}?host={}&port={PORT}",
            path_str(&self.dir)
        )
    }

    /// The socket directory and port, for other tools (pg_dump, psql).
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    pub fn bin_dir(&self) -> &Path {
        &self.bin_dir
    }

    /// Stops the cluster if this process started it.
    pub fn stop(&self) -> Result<(), EmbeddedError> {
        if !self.started_here {
            return Ok(());
        }
        tracing::info!("stopping the embedded PostgreSQL cluster");
        self.run(
            "pg_ctl",
            &["-D", path_str(&self.data_dir()), "-m", "fast", "-w", "stop"],
        )
        .map(|_| ())
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn is_running(&self) -> bool {
        self.run("pg_ctl", &["-D", path_str(&self.data_dir()), "status"])
            .is_ok()
    }

    fn ensure_database(&self) -> Result<(), EmbeddedError> {
        let port = PORT.to_string();
        let base = ["-h", path_str(&self.dir), "-p", &port, "-U", SUPERUSER];
        let mut args: Vec<&str> = base.to_vec();
        args.extend(["-d", "postgres", "-tAc"]);
        let q = format!("SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'");
        args.push(&q);
        let exists = self.run("psql", &args)?;
        if exists.trim() != "1" {
            let mut args: Vec<&str> = base.to_vec();
            args.push(DATABASE);
            self.run("createdb", &args)?;
        }
        Ok(())
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<String, EmbeddedError> {
        let exe = self.bin_dir.join(program);
        let mut cmd = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.arg("-u").arg(user).arg("--").arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        cmd.args(args).current_dir(&self.dir);
        let out = cmd.output().map_err(|e| EmbeddedError::Command {
            what: format!("{}", exe.display()),
            detail: e.to_string(),
        })?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            let mut detail = String::from_utf8_lossy(&out.stderr).trim().to_string();
            if detail.is_empty() {
                detail = String::from_utf8_lossy(&out.stdout).trim().to_string();
            }
            Err(EmbeddedError::Command {
                what: program.to_string(),
                detail,
            })
        }
    }
}

/// initdb and pg_ctl on PATH, else the newest /usr/lib/postgresql/*/bin.
pub fn find_bin_dir() -> Option<PathBuf> {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let initdb = dir.join("initdb");
            if initdb.is_file() && dir.join("pg_ctl").is_file() {
                // Distributions link initdb into PATH; psql and createdb sit beside the real one.
                return std::fs::canonicalize(&initdb)
                    .ok()?
                    .parent()
                    .map(Path::to_path_buf);
            }
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, p)| p)
}

fn unprivileged_user() -> Option<String> {
    for name in ["postgres", "nobody"] {
        let c = std::ffi::CString::new(name).ok()?;
        // getpwnam reads the passwd database; the pointer is only checked for null here.
        if !unsafe { libc::getpwnam(c.as_ptr()) }.is_null() {
            return Some(name.to_string());
        }
    }
    None
}

fn chown_recursive(dir: &Path, user: &str) -> Result<(), EmbeddedError> {
    let out = Command::new("chown")
        .arg("-R")
        .arg(user)
        .arg(dir)
        .output()?;
    if out.status.success() {
        Ok(())
    } else {
        Err(EmbeddedError::Command {
            what: "chown".into(),
            detail: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// Adds o+x to a directory so another user can pass through it (not list it).
fn allow_traverse(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(dir) {
        let mode = meta.permissions().mode();
        if mode & 0o001 == 0 {
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o001));
        }
    }
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap_or(".")
}
