//! `cds-backend`: run the reference city backend, make its development
//! certificates, enrol citizens, or change an application's status (admin
//! hooks).

use anyhow::{bail, Context, Result};
use cds_api::ApplicationStatus;
use cds_backend::{credentials, serve, tls, AppState};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;

const USAGE: &str = "\
usage:
  cds-backend serve [--listen ADDR] [--db FILE] [--tls-dir DIR]
                    [--signing-key FILE] [--admin-token-file FILE]
                    [--credential-validity-days N]
      serve the /v1 API over HTTPS until SIGINT/SIGTERM
      (defaults: --listen 127.0.0.1:8443 --db ./cds-backend.sqlite3 --tls-dir ./cds-dev-tls
       --signing-key: cds-credential-key.p8 beside the database, made on first start; without
       --admin-token-file, issuing, revoking and enrolling over HTTP is disabled;
       --credential-validity-days: validity of credentials claimed or refreshed by devices,
       1 to 30, default 7)
  cds-backend gen-cert [--tls-dir DIR]
      make (or keep) the development CA and server certificate; prints the CA path
  cds-backend set-status --db FILE <case number> <status>
      change an application's status; status is one of
      received, in_review, needs_more_info, approved, rejected
  cds-backend enroll --db FILE --number <12 digits> --name \"<full name>\" --dob YYYY-MM-DD
      enrol a citizen whose card you checked; prints a single-use activation code
      (valid 15 minutes) for the citizen to type into the app
  cds-backend revoke --db FILE <credential id>
      revoke a citizen credential (it appears in GET /v1/revocations)
  cds-backend trust-list [--signing-key FILE]
      print the trust list (JSON, as GET /v1/trust-list serves it)
  cds-backend verify (<payload> | --image FILE) [--trust-list FILE | --signing-key FILE]
                     [--revocations FILE] [--now UNIX_SECONDS]
      verify a citizen QR offline; --trust-list and --revocations take the JSON
      of GET /v1/trust-list and GET /v1/revocations; prints the outcome
      (exit 0 valid, 3 expired/not yet valid/revoked/forged/malformed)
  cds-backend --help | --version";

const DEFAULT_LISTEN: &str = "127.0.0.1:8443";
const DEFAULT_DB: &str = "./cds-backend.sqlite3";
const DEFAULT_TLS_DIR: &str = "./cds-dev-tls";
const DEFAULT_SIGNING_KEY: &str = "./cds-credential-key.p8";
const SIGNING_KEY_FILE: &str = "cds-credential-key.p8";

#[derive(Debug, PartialEq, Eq)]
enum Command {
    Serve {
        listen: SocketAddr,
        db: PathBuf,
        tls_dir: PathBuf,
        /// `None`: `cds-credential-key.p8` beside the database.
        signing_key: Option<PathBuf>,
        admin_token_file: Option<PathBuf>,
        credential_validity_days: u32,
    },
    Enroll {
        db: PathBuf,
        number: String,
        name: String,
        dob: String,
    },
    GenCert {
        tls_dir: PathBuf,
    },
    SetStatus {
        db: PathBuf,
        case_number: String,
        status: ApplicationStatus,
    },
    Revoke {
        db: PathBuf,
        credential_id: String,
    },
    TrustList {
        signing_key: PathBuf,
    },
    Verify {
        input: VerifyInput,
        trust: TrustSource,
        revocations: Option<PathBuf>,
        now: Option<i64>,
    },
    Help,
    Version,
}

#[derive(Debug, PartialEq, Eq)]
enum VerifyInput {
    Payload(String),
    Image(PathBuf),
}

#[derive(Debug, PartialEq, Eq)]
enum TrustSource {
    File(PathBuf),
    SigningKey(PathBuf),
}

/// Parses the arguments after the program name.
fn parse_args(args: &[String]) -> Result<Command, String> {
    let Some((sub, rest)) = args.split_first() else {
        return Err("missing command".into());
    };
    let allowed: &[&str] = match sub.as_str() {
        "-h" | "--help" | "help" => return Ok(Command::Help),
        "-V" | "--version" => return Ok(Command::Version),
        "serve" => &[
            "--listen",
            "--db",
            "--tls-dir",
            "--signing-key",
            "--admin-token-file",
            "--credential-validity-days",
        ],
        "enroll" => &["--db", "--number", "--name", "--dob"],
        "gen-cert" => &["--tls-dir"],
        "set-status" | "revoke" => &["--db"],
        "trust-list" => &["--signing-key"],
        "verify" => &[
            "--image",
            "--trust-list",
            "--signing-key",
            "--revocations",
            "--now",
        ],
        other => return Err(format!("unknown command `{other}`")),
    };
    let mut opts: std::collections::BTreeMap<String, String> = Default::default();
    let mut positional: Vec<String> = Vec::new();
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
            if opts.insert(name.to_owned(), value).is_some() {
                return Err(format!("`{name}` given twice"));
            }
        } else {
            positional.push(arg.clone());
        }
    }
    let path = |opts: &mut std::collections::BTreeMap<String, String>, name: &str| {
        opts.remove(name).map(PathBuf::from)
    };
    let no_positional = |positional: &[String]| match positional.first() {
        Some(extra) => Err(format!("unexpected argument `{extra}`")),
        None => Ok(()),
    };
    match sub.as_str() {
        "serve" => {
            no_positional(&positional)?;
            let listen = opts
                .remove("--listen")
                .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
            let listen = listen.parse::<SocketAddr>().map_err(|_| {
                format!("`--listen {listen}` is not an address like 127.0.0.1:8443")
            })?;
            let credential_validity_days = match opts.remove("--credential-validity-days") {
                None => cds_backend::enrollment::DEFAULT_DEVICE_VALIDITY_DAYS,
                Some(v) => v
                    .parse::<u32>()
                    .ok()
                    .filter(|d| (1..=credentials::MAX_VALIDITY_DAYS).contains(d))
                    .ok_or_else(|| {
                        format!(
                            "`--credential-validity-days {v}` must be a number of days from 1 \
                             to {}",
                            credentials::MAX_VALIDITY_DAYS
                        )
                    })?,
            };
            Ok(Command::Serve {
                listen,
                db: path(&mut opts, "--db").unwrap_or_else(|| PathBuf::from(DEFAULT_DB)),
                tls_dir: path(&mut opts, "--tls-dir")
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_TLS_DIR)),
                signing_key: path(&mut opts, "--signing-key"),
                admin_token_file: path(&mut opts, "--admin-token-file"),
                credential_validity_days,
            })
        }
        "enroll" => {
            no_positional(&positional)?;
            let mut need = |name: &str| {
                opts.remove(name)
                    .ok_or_else(|| format!("`enroll` needs `{name}`"))
            };
            Ok(Command::Enroll {
                db: PathBuf::from(need("--db")?),
                number: need("--number")?,
                name: need("--name")?,
                dob: need("--dob")?,
            })
        }
        "gen-cert" => {
            no_positional(&positional)?;
            Ok(Command::GenCert {
                tls_dir: path(&mut opts, "--tls-dir")
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_TLS_DIR)),
            })
        }
        "trust-list" => {
            no_positional(&positional)?;
            Ok(Command::TrustList {
                signing_key: path(&mut opts, "--signing-key")
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_SIGNING_KEY)),
            })
        }
        "revoke" => {
            let db = path(&mut opts, "--db").ok_or("`revoke` needs `--db FILE`")?;
            let [credential_id] = positional.as_slice() else {
                return Err("`revoke` needs exactly one credential id".into());
            };
            Ok(Command::Revoke {
                db,
                credential_id: credential_id.clone(),
            })
        }
        "verify" => {
            let image = path(&mut opts, "--image");
            let input = match (image, positional.as_slice()) {
                (Some(img), []) => VerifyInput::Image(img),
                (None, [payload]) => VerifyInput::Payload(payload.clone()),
                (Some(_), [_, ..]) => {
                    return Err("give a payload or `--image FILE`, not both".into())
                }
                (None, []) => return Err("`verify` needs a payload or `--image FILE`".into()),
                (None, [_, extra, ..]) => return Err(format!("unexpected argument `{extra}`")),
            };
            let trust = match (
                path(&mut opts, "--trust-list"),
                path(&mut opts, "--signing-key"),
            ) {
                (Some(_), Some(_)) => {
                    return Err("give `--trust-list` or `--signing-key`, not both".into())
                }
                (Some(f), None) => TrustSource::File(f),
                (None, k) => {
                    TrustSource::SigningKey(k.unwrap_or_else(|| PathBuf::from(DEFAULT_SIGNING_KEY)))
                }
            };
            let now = match opts.remove("--now") {
                None => None,
                Some(v) => Some(
                    v.parse::<i64>()
                        .map_err(|_| format!("`--now {v}` is not Unix seconds"))?,
                ),
            };
            Ok(Command::Verify {
                input,
                trust,
                revocations: path(&mut opts, "--revocations"),
                now,
            })
        }
        _ => {
            let db = path(&mut opts, "--db").ok_or("`set-status` needs `--db FILE`")?;
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
        Ok(Outcome::Ok) => std::process::ExitCode::SUCCESS,
        Ok(Outcome::NotValid) => std::process::ExitCode::from(3),
        Err(e) => {
            eprintln!("cds-backend: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

enum Outcome {
    Ok,
    NotValid,
}

fn run(command: Command) -> Result<Outcome> {
    match command {
        Command::Enroll {
            db,
            number,
            name,
            dob,
        } => {
            // Never create a database here: a typo in --db would enrol the
            // citizen into a file no server reads.
            if !db.is_file() {
                bail!("no database file at {}", db.display());
            }
            let runtime = runtime()?;
            let code = runtime.block_on(async {
                // A second connection to the server's file: WAL and the busy
                // timeout set by `open` let both write safely.
                let state = AppState::open(&db)?;
                state
                    .create_enrollment(
                        cds_api::CreateEnrollment {
                            number,
                            full_name: name,
                            date_of_birth: dob,
                        },
                        credentials::unix_now(),
                    )
                    .await
            })?;
            println!("code: {}", code.code);
            println!("expires_at: {}", code.expires_at);
            Ok(Outcome::Ok)
        }
        Command::Revoke { db, credential_id } => {
            if !db.is_file() {
                bail!("no database file at {}", db.display());
            }
            let runtime = runtime()?;
            let (id, at) = runtime.block_on(async {
                let state = AppState::open(&db)?;
                state
                    .revoke_credential(&credential_id, credentials::unix_now())
                    .await
            })?;
            println!("revoked {id} at {at}");
            Ok(Outcome::Ok)
        }
        Command::TrustList { signing_key } => {
            let issuer = load_existing_key(&signing_key)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&issuer.trust_list())
                    .context("cannot write the trust list")?
            );
            Ok(Outcome::Ok)
        }
        Command::Verify {
            input,
            trust,
            revocations,
            now,
        } => verify(input, trust, revocations, now),
        other => run_other(other).map(|()| Outcome::Ok),
    }
}

fn load_existing_key(path: &std::path::Path) -> Result<credentials::CredentialIssuer> {
    if !path.is_file() {
        bail!(
            "no signing key at {} (the server makes it on first start)",
            path.display()
        );
    }
    Ok(credentials::CredentialIssuer::load_or_create(path)?)
}

fn verify(
    input: VerifyInput,
    trust: TrustSource,
    revocations: Option<PathBuf>,
    now: Option<i64>,
) -> Result<Outcome> {
    let trust_body: cds_api::TrustListBody = match trust {
        TrustSource::File(f) => {
            let text = std::fs::read_to_string(&f)
                .with_context(|| format!("cannot read the trust list {}", f.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a trust list", f.display()))?
        }
        TrustSource::SigningKey(k) => load_existing_key(&k)?.trust_list(),
    };
    let trust = credentials::trust_list_from_wire(&trust_body)?;
    let revoked = match revocations {
        None => cds_qr::credential::RevocationList::default(),
        Some(f) => {
            let text = std::fs::read_to_string(&f)
                .with_context(|| format!("cannot read the revocation list {}", f.display()))?;
            let body: cds_api::RevocationListBody = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a revocation list", f.display()))?;
            credentials::revocations_from_wire(&body, &trust)?
        }
    };
    let payload = match input {
        VerifyInput::Payload(p) => p,
        VerifyInput::Image(path) => {
            let symbols = cds_qr::scan::Pipeline::default()
                .scan_file(&path)
                .with_context(|| format!("cannot read a QR code from {}", path.display()))?;
            let Some(first) = symbols.first() else {
                bail!("no QR code in {}", path.display());
            };
            match cds_qr::route_bytes(&first.bytes) {
                cds_qr::Routed::CitizenCredential(p) => p,
                other => bail!(
                    "the QR code in {} is not a citizen credential (it is {})",
                    path.display(),
                    other.kind()
                ),
            }
        }
    };
    let now = now.unwrap_or_else(credentials::unix_now);
    let outcome = cds_qr::credential::verify(&payload, &trust, &revoked, now);
    println!("{}: {}", outcome.code(), outcome.message());
    if let Some(c) = outcome.claims() {
        println!("credential_id: {}", c.credential_id);
        println!("disclosure: {}", c.disclosure.code());
        if let Some(n) = &c.full_name {
            println!("full_name: {n}");
        }
        if let Some(n) = &c.id_number {
            println!("id_number: {n}");
        }
        if let Some(d) = &c.date_of_birth {
            println!("date_of_birth: {d}");
        }
        if c.over_18 == Some(true) {
            println!("over_18: true");
        }
        println!("not_before: {}", c.not_before);
        println!("expires: {}", c.expires);
    }
    if revoked.issued_at > 0 {
        println!("revocations_as_of: {}", revoked.issued_at);
    }
    Ok(match outcome {
        cds_qr::credential::Verification::Valid(_) => Outcome::Ok,
        _ => Outcome::NotValid,
    })
}

fn run_other(command: Command) -> Result<()> {
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
        Command::Revoke { .. }
        | Command::TrustList { .. }
        | Command::Verify { .. }
        | Command::Enroll { .. } => {
            bail!("internal: command dispatched twice")
        }
        Command::Serve {
            listen,
            db,
            tls_dir,
            signing_key,
            admin_token_file,
            credential_validity_days,
        } => {
            init_logging();
            let signing_key = signing_key.unwrap_or_else(|| {
                db.parent()
                    .map(|d| d.join(SIGNING_KEY_FILE))
                    .unwrap_or_else(|| PathBuf::from(SIGNING_KEY_FILE))
            });
            let issuer =
                credentials::CredentialIssuer::load_or_create(&signing_key).with_context(|| {
                    format!("cannot load the signing key {}", signing_key.display())
                })?;
            let mut state = AppState::open(&db)?
                .with_issuer(issuer)
                .with_credential_validity_days(credential_validity_days);
            if let Some(f) = &admin_token_file {
                let token = std::fs::read_to_string(f)
                    .with_context(|| format!("cannot read the admin token {}", f.display()))?;
                let token = token.trim();
                if token.len() < 16 {
                    bail!(
                        "the admin token in {} must be at least 16 characters",
                        f.display()
                    );
                }
                state = state.with_admin_token(token);
            }
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
                signing_key: None,
                admin_token_file: None,
                credential_validity_days: 7,
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
                signing_key: None,
                admin_token_file: None,
                credential_validity_days: 7,
            })
        );
    }

    #[test]
    fn enroll_and_validity_days() {
        assert_eq!(
            parse(&[
                "enroll",
                "--db",
                "b.sqlite3",
                "--number",
                "001099012345",
                "--name",
                "Nguyễn Văn An",
                "--dob=1999-03-15"
            ]),
            Ok(Command::Enroll {
                db: PathBuf::from("b.sqlite3"),
                number: "001099012345".into(),
                name: "Nguyễn Văn An".into(),
                dob: "1999-03-15".into(),
            })
        );
        let err = |a: &[&str]| parse(a).unwrap_err();
        assert!(err(&["enroll", "--db", "d", "--number", "1", "--name", "n"]).contains("--dob"));
        assert!(err(&["enroll", "--db", "d", "x"]).contains("`x`"));
        assert!(err(&["serve", "--credential-validity-days", "31"]).contains("1 to 30"));
        assert!(err(&["serve", "--credential-validity-days", "0"]).contains("1 to 30"));
        match parse(&["serve", "--credential-validity-days", "30"]) {
            Ok(Command::Serve {
                credential_validity_days,
                ..
            }) => assert_eq!(credential_validity_days, 30),
            other => panic!("{other:?}"),
        }
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
    fn credential_commands() {
        assert_eq!(
            parse(&["verify", "CDS1:ABC", "--trust-list", "t.json", "--now", "5"]),
            Ok(Command::Verify {
                input: VerifyInput::Payload("CDS1:ABC".into()),
                trust: TrustSource::File(PathBuf::from("t.json")),
                revocations: None,
                now: Some(5),
            })
        );
        assert_eq!(
            parse(&["verify", "--image", "q.png", "--revocations", "r.json"]),
            Ok(Command::Verify {
                input: VerifyInput::Image(PathBuf::from("q.png")),
                trust: TrustSource::SigningKey(PathBuf::from(DEFAULT_SIGNING_KEY)),
                revocations: Some(PathBuf::from("r.json")),
                now: None,
            })
        );
        let err = |a: &[&str]| parse(a).unwrap_err();
        assert!(err(&["verify"]).contains("payload"));
        assert!(err(&["verify", "x", "--image", "y"]).contains("not both"));
        assert!(
            err(&["verify", "x", "--trust-list", "a", "--signing-key", "b"]).contains("not both")
        );
        assert!(err(&["verify", "x", "--now", "soon"]).contains("Unix seconds"));
        assert!(err(&["revoke", "abc"]).contains("--db"));
        assert!(err(&["revoke", "--db", "d"]).contains("credential id"));
        assert_eq!(
            parse(&["revoke", "--db", "d", "id"]),
            Ok(Command::Revoke {
                db: PathBuf::from("d"),
                credential_id: "id".into()
            })
        );
        assert_eq!(
            parse(&["trust-list"]),
            Ok(Command::TrustList {
                signing_key: PathBuf::from(DEFAULT_SIGNING_KEY)
            })
        );
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
