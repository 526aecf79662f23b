//! A private PostgreSQL server for the test run: Debian's `postgresql`
//! package, `initdb` in a fresh temporary directory, listening only on a
//! Unix socket in that directory (no TCP port, so no clash with anything),
//! stopped when the guard drops, whatever the tests did.
//!
//! PostgreSQL refuses to run as root, and CI runs as root: then the server
//! runs as the `postgres` system user the package creates, on a directory
//! handed to that user.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A running server; stopped (and its directory removed) on drop.
pub struct TestServer {
    dir: PathBuf,
    bin: PathBuf,
    as_user: Option<&'static str>,
}

/// The newest installed server's `bin` directory
/// (`/usr/lib/postgresql/<major>/bin`).
fn server_bin() -> Result<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL is not installed (/usr/lib/postgresql is missing)")?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => Ok(bin),
        None => bail!("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"),
    }
}

impl TestServer {
    /// Starts a server; its connection string is [`TestServer::conninfo`].
    pub fn start() -> Result<TestServer> {
        let bin = server_bin()?;
        let as_user = crate::is_root().then_some("postgres");
        // Short: a Unix socket path must fit in 107 bytes.
        let dir = std::env::temp_dir().join(format!("cds-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        if let Some(user) = as_user {
            crate::status(Command::new("chown").arg(format!("{user}:")).arg(&dir))?;
        }
        let server = TestServer { dir, bin, as_user };
        let data = server.dir.join("data");
        server.run(
            "initdb",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--auth=trust".as_ref(),
                "--no-locale".as_ref(),
                "-E".as_ref(),
                "UTF8".as_ref(),
                "--no-sync".as_ref(),
            ],
        )?;
        // A throwaway server: no durability needed, so no fsync (the crash
        // tests that need it will start their own).
        let options = format!(
            "-k {} -c listen_addresses='' -c max_connections=300 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off",
            server.dir.display()
        );
        let log = server.dir.join("server.log");
        server.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-l".as_ref(),
                log.as_os_str(),
                "-o".as_ref(),
                options.as_ref(),
                "-w".as_ref(),
                "start".as_ref(),
            ],
        )?;
        Ok(server)
    }

    fn run(&self, tool: &str, args: &[&std::ffi::OsStr]) -> Result<()> {
        let exe = self.bin.join(tool);
        let mut cmd = match self.as_user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        // initdb and pg_ctl must not start in a directory the server user
        // cannot enter.
        cmd.args(args).current_dir(&self.dir);
        crate::status(&mut cmd).with_context(|| format!("PostgreSQL's {tool} failed"))
    }

    /// The libpq connection string the tests use (`CDS_TEST_PG`), without
    /// a database name: each test makes its own database.
    pub fn conninfo(&self) -> String {
        format!("host={} user=postgres", self.dir.display())
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let stopped = self.run(
            "pg_ctl",
            &[
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
        if let Err(e) = stopped {
            eprintln!("warning: stopping the test PostgreSQL server failed: {e:#}");
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
