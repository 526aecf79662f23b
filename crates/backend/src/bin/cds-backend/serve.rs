//! `cds-backend serve`: load the key, the token and the certificate, bind,
//! print the bound address, serve until SIGINT/SIGTERM.

use crate::args::TlsSource;
use crate::{runtime, Outcome};
use anyhow::{bail, Context, Result};
use cds_backend::{credentials, serve, tls, AppState};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

pub(crate) struct Options {
    pub listen: SocketAddr,
    pub db: PathBuf,
    /// PostgreSQL instead of `db`.
    pub database_url: Option<String>,
    pub tls: TlsSource,
    pub signing_key: Option<PathBuf>,
    pub admin_token_file: Option<PathBuf>,
    pub credential_validity_days: u32,
}

pub(crate) fn run(o: Options) -> Result<Outcome> {
    init_logging();
    let signing_key = o.signing_key.unwrap_or_else(|| {
        o.db.parent()
            .map(|d| d.join(crate::args::SIGNING_KEY_FILE))
            .unwrap_or_else(|| PathBuf::from(crate::args::SIGNING_KEY_FILE))
    });
    let issuer = credentials::CredentialIssuer::load_or_create(&signing_key)
        .with_context(|| format!("cannot load the signing key {}", signing_key.display()))?;
    let database_url = o.database_url.clone().or_else(|| {
        std::env::var("CDS_DATABASE_URL")
            .ok()
            .filter(|u| !u.trim().is_empty())
    });
    let admin_token = match &o.admin_token_file {
        Some(f) => {
            let token = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the admin token {}", f.display()))?;
            let token = token.trim().to_owned();
            if token.len() < 16 {
                bail!(
                    "the admin token in {} must be at least 16 characters",
                    f.display()
                );
            }
            Some(token)
        }
        None => None,
    };
    let (server_tls, trust_hint) = match &o.tls {
        TlsSource::DevDir(dir) => (
            tls::ensure_dev_tls(dir)
                .with_context(|| format!("cannot set up TLS in {}", dir.display()))?,
            format!(
                "clients must trust {}",
                dir.join(tls::CA_CERT_FILE).display()
            ),
        ),
        TlsSource::Files { cert, key } => (
            tls::load_tls_files(cert, key)?,
            format!("certificate {}", cert.display()),
        ),
    };
    let listen = o.listen;
    let db = o.db;
    let validity_days = o.credential_validity_days;
    runtime()?.block_on(async move {
        let (state, where_) = match &database_url {
            Some(url) => {
                let store = cds_backend::store::postgres::PgStore::connect(url).await?;
                (
                    AppState::over(std::sync::Arc::new(store)).await?,
                    "PostgreSQL".to_owned(),
                )
            }
            None => (AppState::open(&db)?, db.display().to_string()),
        };
        let mut state = state
            .with_issuer(issuer)
            .with_credential_validity_days(validity_days);
        if let Some(token) = &admin_token {
            state = state.with_admin_token(token);
        }
        // Install the signal handlers before announcing readiness, so a
        // signal right after the line is handled gracefully.
        let shutdown = shutdown_signal()?;
        let listener =
            TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
        // The bound address, not the one asked for: with port 0 this is the
        // port the kernel chose, which test harnesses read back.
        let addr = listener
            .local_addr()
            .context("cannot read the listening address")?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on https://{addr}")
            .and_then(|()| out.flush())
            .context("cannot write to stdout")?;
        drop(out);
        eprintln!("cds-backend: database {where_}, {trust_hint}");
        serve(listener, state, &server_tls, shutdown).await?;
        Ok(Outcome::Ok)
    })
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// A future that completes on SIGINT or SIGTERM. The handlers are installed
/// now, not when the future is first polled.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt =
            signal(SignalKind::interrupt()).context("cannot install the SIGINT handler")?;
        let mut terminate =
            signal(SignalKind::terminate()).context("cannot install the SIGTERM handler")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}
