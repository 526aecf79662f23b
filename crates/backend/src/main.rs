//! `cds-backend`: run the reference city backend, make its development
//! certificates, or change an application's status (admin hook).

use anyhow::{bail, Context, Result};
use cds_api::ApplicationStatus;
use cds_backend::{serve, tls, AppState};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

const USAGE: &str = "\
usage:
  cds-backend serve [--listen ADDR] [--db FILE] [--tls-dir DIR]
      serve the /v1 API over HTTPS until SIGINT/SIGTERM
      (defaults: --listen 127.0.0.1:8443 --db ./cds-backend.sqlite3 --tls-dir ./cds-dev-tls)
  cds-backend gen-cert [--tls-dir DIR]
      make (or keep) the development CA and server certificate; prints the CA path
  cds-backend set-status --db FILE <case number> <status>
      change an application's status; status is one of
      received, in_review, needs_more_info, approved, rejected
  cds-backend --help | --version";

const DEFAULT_LISTEN: &str = "127.0.0.1:8443";
const DEFAULT_DB: &str = "./cds-backend.sqlite3";
const DEFAULT_TLS_DIR: &str = "./cds-dev-tls";

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Serve {
        listen: SocketAddr,
        db: PathBuf,
        tls_dir: PathBuf,
    },
    GenCert {
        tls_dir: PathBuf,
    },
    SetStatus {
        db: PathBuf,
        case_number: String,
        status: ApplicationStatus,
    },
    Help,
    Version,
}

/// Parses the arguments after the program name.
fn parse_args(args: &[String]) -> Result<Command, String> {
    let Some((sub, rest)) = args.split_first() else {
        return Err("missing command".into());
    };
    let mut listen: Option<String> = None;
    let mut db: Option<PathBuf> = None;
    let mut tls_dir: Option<PathBuf> = None;
    let mut positional: Vec<String> = Vec::new();
    let allowed: &[&str] = match sub.as_str() {
        "-h" | "--help" | "help" => return Ok(Command::Help),
        "-V" | "--version" => return Ok(Command::Version),
        "serve" => &["--listen", "--db", "--tls-dir"],
        "gen-cert" => &["--tls-dir"],
        "set-status" => &["--db"],
        other => return Err(format!("unknown command `{other}`")),
    };
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        if arg == "-h" || arg == "--help" {
            return Ok(Command::Help);
        }
        if arg.starts_with("--") {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (arg.as_str(), None),
            };
            if !allowed.contains(&name) {
                return Err(format!("`{sub}` does not take `{name}`"));
            }
            let value = match inline {
                Some(v) => v,
                None => it
                    .next()
                    .cloned()
                    .ok_or_else(|| format!("`{name}` needs a value"))?,
            };
            if value.is_empty() {
                return Err(format!("`{name}` needs a value"));
            }
            let slot_taken = match name {
                "--listen" => listen.replace(value).is_some(),
                "--db" => db.replace(PathBuf::from(value)).is_some(),
                _ => tls_dir.replace(PathBuf::from(value)).is_some(),
            };
            if slot_taken {
                return Err(format!("`{name}` given twice"));
            }
        } else {
            positional.push(arg.clone());
        }
    }
    match sub.as_str() {
        "serve" => {
            if let Some(extra) = positional.first() {
                return Err(format!("unexpected argument `{extra}`"));
            }
            let listen = listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
            let listen = listen.parse::<SocketAddr>().map_err(|_| {
                format!("`--listen {listen}` is not an address like 127.0.0.1:8443")
            })?;
            Ok(Command::Serve {
                listen,
                db: db.unwrap_or_else(|| PathBuf::from(DEFAULT_DB)),
                tls_dir: tls_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_TLS_DIR)),
            })
        }
        "gen-cert" => {
            if let Some(extra) = positional.first() {
                return Err(format!("unexpected argument `{extra}`"));
            }
            Ok(Command::GenCert {
                tls_dir: tls_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_TLS_DIR)),
            })
        }
        _ => {
            let db = db.ok_or("`set-status` needs `--db FILE`")?;
            let [case_number, status] = positional.as_slice() else {
                return Err("`set-status` needs a case number and a status".into());
            };
            let status = ApplicationStatus::from_code(status).ok_or_else(|| {
                format!(
                    "unknown status `{status}`; use one of received, in_review, \
                     needs_more_info, approved, rejected"
                )
            })?;
            Ok(Command::SetStatus {
                db,
                case_number: case_number.clone(),
                status,
            })
        }
    }
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = match parse_args(&args) {
        Ok(c) => c,
        Err(message) => {
            eprintln!("cds-backend: {message}\n\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    match run(command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cds-backend: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(command: Command) -> Result<()> {
    match command {
        Command::Help => {
            println!("{USAGE}");
            Ok(())
        }
        Command::Version => {
            println!("cds-backend {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::GenCert { tls_dir } => {
            tls::ensure_dev_tls(&tls_dir)
                .with_context(|| format!("cannot set up TLS in {}", tls_dir.display()))?;
            println!("{}", tls_dir.join(tls::CA_CERT_FILE).display());
            Ok(())
        }
        Command::SetStatus {
            db,
            case_number,
            status,
        } => {
            if !db.is_file() {
                bail!("no database file at {}", db.display());
            }
            let runtime = runtime()?;
            let receipt = runtime.block_on(async {
                let state = AppState::open(&db)?;
                state.set_status(&case_number, status).await
            })?;
            println!("{} {}", receipt.case_number, receipt.status.code());
            Ok(())
        }
        Command::Serve {
            listen,
            db,
            tls_dir,
        } => {
            init_logging();
            let state = AppState::open(&db)?;
            let dev_tls = tls::ensure_dev_tls(&tls_dir)
                .with_context(|| format!("cannot set up TLS in {}", tls_dir.display()))?;
            let runtime = runtime()?;
            runtime.block_on(async move {
                // Install the signal handlers before announcing readiness, so
                // a signal right after the line is handled gracefully.
                let shutdown = shutdown_signal()?;
                let listener = TcpListener::bind(listen)
                    .with_context(|| format!("cannot listen on {listen}"))?;
                let addr = listener
                    .local_addr()
                    .context("cannot read the listening address")?;
                let mut out = std::io::stdout().lock();
                writeln!(out, "listening on https://{addr}")
                    .and_then(|()| out.flush())
                    .context("cannot write to stdout")?;
                drop(out);
                eprintln!(
                    "cds-backend: database {}, clients must trust {}",
                    db.display(),
                    tls_dir.join(tls::CA_CERT_FILE).display()
                );
                serve(listener, state, &dev_tls, shutdown).await?;
                Ok(())
            })
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        parse_args(&args)
    }

    #[test]
    fn serve_defaults_and_overrides() {
        assert_eq!(
            parse(&["serve"]),
            Ok(Command::Serve {
                listen: "127.0.0.1:8443".parse().unwrap(),
                db: PathBuf::from(DEFAULT_DB),
                tls_dir: PathBuf::from(DEFAULT_TLS_DIR),
            })
        );
        assert_eq!(
            parse(&[
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--db=/tmp/x.db",
                "--tls-dir",
                "t"
            ]),
            Ok(Command::Serve {
                listen: "127.0.0.1:0".parse().unwrap(),
                db: PathBuf::from("/tmp/x.db"),
                tls_dir: PathBuf::from("t"),
            })
        );
    }

    #[test]
    fn bad_arguments_say_what_is_wrong() {
        let err = |a: &[&str]| parse(a).unwrap_err();
        assert!(err(&[]).contains("missing command"));
        assert!(err(&["frobnicate"]).contains("frobnicate"));
        assert!(err(&["serve", "--listen", "localhost"]).contains("--listen localhost"));
        assert!(err(&["serve", "--listen"]).contains("needs a value"));
        assert!(err(&["serve", "--db", "a", "--db", "b"]).contains("twice"));
        assert!(err(&["serve", "extra"]).contains("extra"));
        assert!(err(&["gen-cert", "--db", "x"]).contains("--db"));
        assert!(err(&["set-status", "HS-2026-000001", "approved"]).contains("--db"));
        assert!(err(&["set-status", "--db", "x", "HS-2026-000001"]).contains("case number"));
        assert!(err(&["set-status", "--db", "x", "HS-2026-000001", "done"]).contains("done"));
    }

    #[test]
    fn other_commands() {
        assert_eq!(parse(&["--help"]), Ok(Command::Help));
        assert_eq!(parse(&["serve", "-h"]), Ok(Command::Help));
        assert_eq!(parse(&["--version"]), Ok(Command::Version));
        assert_eq!(
            parse(&["gen-cert", "--tls-dir", "d"]),
            Ok(Command::GenCert {
                tls_dir: PathBuf::from("d")
            })
        );
        assert_eq!(
            parse(&[
                "set-status",
                "--db",
                "b.sqlite3",
                "HS-2026-000007",
                "in_review"
            ]),
            Ok(Command::SetStatus {
                db: PathBuf::from("b.sqlite3"),
                case_number: "HS-2026-000007".into(),
                status: ApplicationStatus::InReview,
            })
        );
    }
}
