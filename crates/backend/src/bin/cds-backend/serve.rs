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
    pub operator_listen: Option<SocketAddr>,
    pub limits: cds_backend::http::Limits,
    pub log_json: bool,
}

pub(crate) fn run(o: Options) -> Result<Outcome> {
    init_logging(o.log_json);
    let signing_key = o.signing_key.unwrap_or_else(|| {
        o.db.parent()
            .map(|d| d.join(crate::args::SIGNING_KEY_FILE))
            .unwrap_or_else(|| PathBuf::from(crate::args::SIGNING_KEY_FILE))
    });
    let issuer = credentials::CredentialIssuer::load_or_create(&signing_key)
        .with_context(|| format!("cannot load the signing key {}", signing_key.display()))?;
    // CDS_DATABASE_URL is read with the other variables (args.rs).
    let database_url = o.database_url.clone();
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
    let limits = o.limits;
    let operator_listen = o.operator_listen;
    runtime()?.block_on(async move {
        // PostgreSQL may be down when the backend starts (a host reboot
        // brings both up at once): serve anyway, answer 503 and say "not
        // ready" on /ready, and keep trying the database in the
        // background. A bad connection string is still an error now.
        let (state, where_, pending) = match &database_url {
            Some(url) => {
                let store = cds_backend::store::postgres::PgStore::connect_lazy(url)?;
                (
                    AppState::starting(std::sync::Arc::new(store)),
                    "PostgreSQL".to_owned(),
                    true,
                )
            }
            None => (AppState::open(&db)?, db.display().to_string(), false),
        };
        let mut state = state
            .with_issuer(issuer)
            .with_credential_validity_days(validity_days)
            .with_limits(limits);
        if let Some(token) = &admin_token {
            state = state.with_admin_token(token);
        }
        if pending {
            let preparing = state.clone();
            tokio::spawn(async move { preparing.prepare_until_ready().await });
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
        let operator = match operator_listen {
            Some(addr) => {
                let listener = TcpListener::bind(addr)
                    .with_context(|| format!("cannot listen on {addr} (operator)"))?;
                let bound = listener
                    .local_addr()
                    .context("cannot read the operator address")?;
                let mut out = std::io::stdout().lock();
                writeln!(out, "operator on http://{bound}")
                    .and_then(|()| out.flush())
                    .context("cannot write to stdout")?;
                Some(tokio::spawn(cds_backend::serve_operator(
                    listener,
                    state.clone(),
                )))
            }
            None => None,
        };
        eprintln!("cds-backend: database {where_}, {trust_hint}");
        let served = serve(listener, state, &server_tls, shutdown).await;
        if let Some(task) = operator {
            task.abort();
        }
        served?;
        Ok(Outcome::Ok)
    })
}

/// Logs go to stderr, one line per event, as text or JSON. What is logged
/// is chosen so no personal data or secret appears (the access log names
/// route templates, never paths; errors carry no request values), and a
/// test reads the logs of a whole run for the test citizens' names and
/// numbers.
fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
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
