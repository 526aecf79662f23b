//! A private PostgreSQL server for the test run: Debian's `postgresql`
//! package, `initdb` in a fresh temporary directory, listening on a Unix
//! socket in that directory (what most tests use) and, for the TLS tests,
//! on a loopback TCP port the kernel picked, with TLS on and a certificate
//! from a CA made for this run (`openssl`); stopped when the guard drops,
//! whatever the tests did.
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
    /// The loopback TCP port (with TLS); also names the Unix socket.
    port: u16,
}

/// A port free right now on loopback (the server binds it a moment later).
fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").context("no free loopback port")?;
    Ok(l.local_addr()?.port())
}

/// A CA and a server certificate for `localhost` and 127.0.0.1, made with
/// the `openssl` command into `dir`: `ca.pem`, `server.crt`, `server.key`.
fn make_certificates(dir: &Path) -> Result<()> {
    let openssl = |args: &[&str]| {
        crate::status(Command::new("openssl").args(args).current_dir(dir))
            .context("openssl failed making the test server's certificate")
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-days",
                "3",
                "-subj",
                "/CN=cds test database CA",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
            ],
        ]
        .concat(),
    )?;
    openssl(
        &[
            &["req"][..],
            &ec,
            &[
                "-subj",
                "/CN=localhost",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ],
        ]
        .concat(),
    )?;
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "3",
        "-extfile",
        "san.ext",
        "-out",
        "server.crt",
    ])?;
    Ok(())
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
        let port = free_port()?;
        let server = TestServer {
            dir,
            bin,
            as_user,
            port,
        };
        let data = server.dir.join("data");
        make_certificates(&server.dir)?;
        if let Some(user) = as_user {
            // The server reads its key as its own user; PostgreSQL wants it
            // private (0600).
            let key = server.dir.join("server.key");
            crate::status(Command::new("chown").arg(format!("{user}:")).arg(&key))?;
        }
        crate::status(
            Command::new("chmod")
                .arg("600")
                .arg(server.dir.join("server.key")),
        )?;
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
            "-k {dir} -p {port} -c listen_addresses=127.0.0.1 -c max_connections=300 \
             -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
             -c ssl=on -c ssl_cert_file={dir}/server.crt -c ssl_key_file={dir}/server.key",
            dir = server.dir.display(),
            port = server.port,
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
        format!(
            "host={} port={} user=postgres",
            self.dir.display(),
            self.port
        )
    }

    /// The same server over TCP and TLS, its certificate verified against
    /// the run's CA (`CDS_TEST_PG_TLS`), again without a database name.
    pub fn tls_conninfo(&self) -> String {
        format!(
            "host=localhost port={} user=postgres sslmode=verify-full sslrootcert={}",
            self.port,
            self.dir.join("ca.pem").display()
        )
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
