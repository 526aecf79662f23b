//! The command line: usage text, defaults and the argument parser.
//!
//! Hand-written rather than clap: the messages are part of the interface
//! (tests and operators read them), and the grammar is small.

use cds_api::ApplicationStatus;
use cds_backend::credentials;
use cds_backend::http::Limits;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub(crate) const USAGE: &str = "\
usage:
  cds-backend serve [--listen ADDR] [--db FILE | --database-url URL]
                    [--tls-dir DIR | --tls-cert FILE --tls-key FILE]
                    [--signing-key FILE] [--admin-token-file FILE]
                    [--credential-validity-days N] [--operator-listen ADDR]
                    [--max-in-flight N] [--request-timeout-secs N]
                    [--header-timeout-secs N] [--log-format text|json]
      serve the /v1 API over HTTPS until SIGINT/SIGTERM; prints
      `listening on https://ADDR` with the bound port (so --listen 127.0.0.1:0 works)
      (every option may also come from the environment: --listen from CDS_LISTEN,
       --database-url from CDS_DATABASE_URL, and so on; a flag wins over its variable)
      (defaults: --listen 127.0.0.1:8443 --db ./cds-backend.sqlite3 --tls-dir ./cds-dev-tls
       --database-url: PostgreSQL instead of the SQLite file (libpq style, e.g.
       'host=/run/postgresql dbname=cds', or postgresql://…; also CDS_DATABASE_URL); several
       instances may share one database (give them the same --signing-key);
       --tls-dir: development CA and certificate, made there if the directory has none of them;
       --tls-cert/--tls-key: a real certificate chain and key (PEM), never generated;
       --signing-key: cds-credential-key.p8 beside the database, made on first start; without
       --admin-token-file, issuing, revoking and enrolling over HTTP is disabled;
       --credential-validity-days: validity of credentials claimed or refreshed by devices,
       1 to 30, default 7;
       --operator-listen: also serve /health, /ready and /metrics (Prometheus) over plain
       HTTP there, e.g. 127.0.0.1:9464 (keep it on loopback or a private network); prints
       `operator on http://ADDR`;
       --max-in-flight: requests handled at once, more are answered 503 (default 4096);
       --request-timeout-secs: deadline of a whole request, 408 after it (default 30);
       --header-timeout-secs: time to send the request headers or finish the TLS
       handshake, then the connection is closed (default 10);
       --log-format: one line per event as text (default) or JSON; RUST_LOG filters)
  cds-backend gen-cert [--tls-dir DIR]
      make (or keep) the development CA and server certificate; prints the CA path
  cds-backend set-status (--db FILE | --database-url URL) <case number> <status>
      change an application's status; status is one of
      received, in_review, needs_more_info, approved, rejected
  cds-backend enroll (--db FILE | --database-url URL) --number <12 digits>
                     --name \"<full name>\" --dob YYYY-MM-DD
      enrol a citizen whose card you checked; prints a single-use activation code
      (valid 15 minutes) for the citizen to type into the app
  cds-backend revoke (--db FILE | --database-url URL) <credential id>
      revoke a citizen credential (it appears in GET /v1/revocations)
  cds-backend trust-list [--signing-key FILE]
      print the trust list (JSON, as GET /v1/trust-list serves it)
  cds-backend verify (<payload> | --image FILE) [--trust-list FILE | --signing-key FILE]
                     [--revocations FILE] [--now UNIX_SECONDS]
      verify a citizen QR offline; --trust-list and --revocations take the JSON
      of GET /v1/trust-list and GET /v1/revocations; prints the outcome
      (exit 0 valid, 3 expired/not yet valid/revoked/forged/malformed)
  cds-backend --help | --version";

pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:8443";
pub(crate) const DEFAULT_DB: &str = "./cds-backend.sqlite3";
pub(crate) const DEFAULT_TLS_DIR: &str = "./cds-dev-tls";
pub(crate) const DEFAULT_SIGNING_KEY: &str = "./cds-credential-key.p8";
pub(crate) const SIGNING_KEY_FILE: &str = "cds-credential-key.p8";

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Command {
    Serve {
        listen: SocketAddr,
        db: PathBuf,
        /// PostgreSQL instead of `db` (`--database-url`).
        database_url: Option<String>,
        tls: TlsSource,
        /// `None`: `cds-credential-key.p8` beside the database.
        signing_key: Option<PathBuf>,
        admin_token_file: Option<PathBuf>,
        credential_validity_days: u32,
        /// Where to serve `/health`, `/ready` and `/metrics` over HTTP.
        operator_listen: Option<SocketAddr>,
        limits: Limits,
        log_json: bool,
    },
    Enroll {
        db: DbTarget,
        number: String,
        name: String,
        dob: String,
    },
    GenCert {
        tls_dir: PathBuf,
    },
    SetStatus {
        db: DbTarget,
        case_number: String,
        status: ApplicationStatus,
    },
    Revoke {
        db: DbTarget,
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
pub(crate) enum VerifyInput {
    Payload(String),
    Image(PathBuf),
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TrustSource {
    File(PathBuf),
    SigningKey(PathBuf),
}

/// The database an operator command works on.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum DbTarget {
    /// The server's SQLite file (`--db`); it must exist.
    File(PathBuf),
    /// A PostgreSQL database (`--database-url`, or `CDS_DATABASE_URL`).
    Url(String),
}

/// Where `serve` gets its certificate.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum TlsSource {
    /// The development CA and certificate in this directory.
    DevDir(PathBuf),
    /// A certificate chain and key given as files: never generated.
    Files { cert: PathBuf, key: PathBuf },
}

/// The options of `serve`.
const SERVE_OPTIONS: &[&str] = &[
    "--listen",
    "--db",
    "--database-url",
    "--tls-dir",
    "--tls-cert",
    "--tls-key",
    "--signing-key",
    "--admin-token-file",
    "--credential-validity-days",
    "--operator-listen",
    "--max-in-flight",
    "--request-timeout-secs",
    "--header-timeout-secs",
    "--log-format",
];

/// The environment variable of a `serve` option: `--tls-dir` is
/// `CDS_TLS_DIR`.
pub(crate) fn env_name(option: &str) -> String {
    format!(
        "CDS_{}",
        option
            .trim_start_matches("--")
            .replace('-', "_")
            .to_uppercase()
    )
}

/// Parses the arguments after the program name, reading `serve`'s options
/// missing from them from the process environment.
pub(crate) fn parse_args(args: &[String]) -> Result<Command, String> {
    parse_args_with_env(args, |name| {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    })
}

/// [`parse_args`] with the environment given as a lookup.
pub(crate) fn parse_args_with_env(
    args: &[String],
    env: impl Fn(&str) -> Option<String>,
) -> Result<Command, String> {
    let Some((sub, rest)) = args.split_first() else {
        return Err("missing command".into());
    };
    let allowed: &[&str] = match sub.as_str() {
        "-h" | "--help" | "help" => return Ok(Command::Help),
        "-V" | "--version" => return Ok(Command::Version),
        "serve" => SERVE_OPTIONS,
        "enroll" => &["--db", "--database-url", "--number", "--name", "--dob"],
        "gen-cert" => &["--tls-dir"],
        "set-status" | "revoke" => &["--db", "--database-url"],
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
    if sub == "serve" {
        // A variable fills an option the command line left out, unless the
        // command line chose its alternative (`--db` over a database URL
        // in the environment, a certificate over a development CA
        // directory).
        let given =
            |opts: &std::collections::BTreeMap<String, String>, n: &str| opts.contains_key(n);
        for option in SERVE_OPTIONS {
            let alternative_given = match *option {
                "--database-url" => given(&opts, "--db"),
                "--db" => given(&opts, "--database-url"),
                "--tls-dir" => given(&opts, "--tls-cert") || given(&opts, "--tls-key"),
                "--tls-cert" | "--tls-key" => given(&opts, "--tls-dir"),
                _ => false,
            };
            if !given(&opts, option) && !alternative_given {
                if let Some(value) = env(&env_name(option)) {
                    opts.insert((*option).to_owned(), value);
                }
            }
        }
    }
    // The operator commands' database: a file or a PostgreSQL URL, the
    // URL also from CDS_DATABASE_URL when neither is given.
    let db_target = |opts: &mut std::collections::BTreeMap<String, String>| match (
        opts.remove("--db"),
        opts.remove("--database-url"),
    ) {
        (Some(_), Some(_)) => Err("give `--db` or `--database-url`, not both".to_owned()),
        (Some(f), None) => Ok(DbTarget::File(PathBuf::from(f))),
        (None, Some(u)) => Ok(DbTarget::Url(u)),
        (None, None) => match env("CDS_DATABASE_URL") {
            Some(u) => Ok(DbTarget::Url(u)),
            None => Err(format!("`{sub}` needs `--db FILE` or `--database-url URL`")),
        },
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
            let tls = match (
                path(&mut opts, "--tls-dir"),
                path(&mut opts, "--tls-cert"),
                path(&mut opts, "--tls-key"),
            ) {
                (dir, None, None) => {
                    TlsSource::DevDir(dir.unwrap_or_else(|| PathBuf::from(DEFAULT_TLS_DIR)))
                }
                (None, Some(cert), Some(key)) => TlsSource::Files { cert, key },
                (Some(_), _, _) => {
                    return Err("give `--tls-dir` or `--tls-cert`/`--tls-key`, not both".into())
                }
                (None, _, _) => return Err("`--tls-cert` and `--tls-key` go together".into()),
            };
            let database_url = opts.remove("--database-url");
            if database_url.is_some() && opts.contains_key("--db") {
                return Err("give `--db` or `--database-url`, not both".into());
            }
            let operator_listen = match opts.remove("--operator-listen") {
                None => None,
                Some(a) => Some(a.parse::<SocketAddr>().map_err(|_| {
                    format!("`--operator-listen {a}` is not an address like 127.0.0.1:9464")
                })?),
            };
            let number = |opts: &mut std::collections::BTreeMap<String, String>,
                          name: &str,
                          range: std::ops::RangeInclusive<u64>,
                          default: u64| {
                match opts.remove(name) {
                    None => Ok(default),
                    Some(v) => v
                        .parse::<u64>()
                        .ok()
                        .filter(|n| range.contains(n))
                        .ok_or_else(|| {
                            format!(
                                "`{name} {v}` must be a whole number from {} to {}",
                                range.start(),
                                range.end()
                            )
                        }),
                }
            };
            let defaults = Limits::default();
            let max_in_flight = number(
                &mut opts,
                "--max-in-flight",
                1..=1_000_000,
                defaults.max_in_flight as u64,
            )?;
            let request_timeout = number(
                &mut opts,
                "--request-timeout-secs",
                1..=3600,
                defaults.request_timeout.as_secs(),
            )?;
            let header_timeout = number(
                &mut opts,
                "--header-timeout-secs",
                1..=600,
                defaults.header_read_timeout.as_secs(),
            )?;
            let limits = Limits {
                max_in_flight: usize::try_from(max_in_flight).unwrap_or(usize::MAX),
                request_timeout: Duration::from_secs(request_timeout),
                header_read_timeout: Duration::from_secs(header_timeout),
                tls_handshake_timeout: Duration::from_secs(header_timeout),
            };
            let log_json = match opts.remove("--log-format").as_deref() {
                None | Some("text") => false,
                Some("json") => true,
                Some(other) => {
                    return Err(format!("`--log-format {other}` must be `text` or `json`"))
                }
            };
            Ok(Command::Serve {
                listen,
                database_url,
                db: path(&mut opts, "--db").unwrap_or_else(|| PathBuf::from(DEFAULT_DB)),
                tls,
                signing_key: path(&mut opts, "--signing-key"),
                admin_token_file: path(&mut opts, "--admin-token-file"),
                credential_validity_days,
                operator_listen,
                limits,
                log_json,
            })
        }
        "enroll" => {
            no_positional(&positional)?;
            let db = db_target(&mut opts)?;
            let mut need = |name: &str| {
                opts.remove(name)
                    .ok_or_else(|| format!("`enroll` needs `{name}`"))
            };
            Ok(Command::Enroll {
                db,
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
            let db = db_target(&mut opts)?;
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
            let db = db_target(&mut opts)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_env(args, &[])
    }

    fn parse_env(args: &[&str], env: &[(&str, &str)]) -> Result<Command, String> {
        let args: Vec<String> = args.iter().map(|s| (*s).to_owned()).collect();
        parse_args_with_env(&args, |name| {
            env.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn serve_reads_missing_options_from_cds_variables_and_flags_win() {
        assert_eq!(env_name("--tls-dir"), "CDS_TLS_DIR");
        assert_eq!(env_name("--max-in-flight"), "CDS_MAX_IN_FLIGHT");
        let env = [
            ("CDS_LISTEN", "127.0.0.1:9000"),
            ("CDS_DATABASE_URL", "host=/run/postgresql dbname=cds"),
            ("CDS_MAX_IN_FLIGHT", "64"),
            ("CDS_OPERATOR_LISTEN", "127.0.0.1:9464"),
            ("CDS_LOG_FORMAT", "json"),
        ];
        match parse_env(&["serve", "--listen", "127.0.0.1:1"], &env) {
            Ok(Command::Serve {
                listen,
                database_url,
                limits,
                operator_listen,
                log_json,
                ..
            }) => {
                assert_eq!(listen, "127.0.0.1:1".parse().unwrap());
                assert_eq!(
                    database_url.as_deref(),
                    Some("host=/run/postgresql dbname=cds")
                );
                assert_eq!(limits.max_in_flight, 64);
                assert_eq!(operator_listen, Some("127.0.0.1:9464".parse().unwrap()));
                assert!(log_json);
            }
            other => panic!("{other:?}"),
        }
        // `--db` on the command line beats a URL in the environment.
        match parse_env(&["serve", "--db", "x.db"], &env) {
            Ok(Command::Serve {
                database_url, db, ..
            }) => {
                assert_eq!(database_url, None);
                assert_eq!(db, PathBuf::from("x.db"));
            }
            other => panic!("{other:?}"),
        }
        let err = parse_env(&["serve"], &[("CDS_MAX_IN_FLIGHT", "lots")]).unwrap_err();
        assert!(err.contains("--max-in-flight lots"), "{err}");
        let err = parse(&["serve", "--log-format", "xml"]).unwrap_err();
        assert!(err.contains("text` or `json"), "{err}");
        let err = parse(&["serve", "--request-timeout-secs", "0"]).unwrap_err();
        assert!(err.contains("from 1 to 3600"), "{err}");
    }

    #[test]
    fn serve_defaults_and_overrides() {
        assert_eq!(
            parse(&["serve"]),
            Ok(Command::Serve {
                listen: "127.0.0.1:8443".parse().unwrap(),
                database_url: None,
                db: PathBuf::from(DEFAULT_DB),
                tls: TlsSource::DevDir(PathBuf::from(DEFAULT_TLS_DIR)),
                signing_key: None,
                admin_token_file: None,
                credential_validity_days: 7,
                operator_listen: None,
                limits: Limits::default(),
                log_json: false,
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
                database_url: None,
                db: PathBuf::from("/tmp/x.db"),
                tls: TlsSource::DevDir(PathBuf::from("t")),
                signing_key: None,
                admin_token_file: None,
                credential_validity_days: 7,
                operator_listen: None,
                limits: Limits::default(),
                log_json: false,
            })
        );
    }

    #[test]
    fn serve_takes_a_real_certificate_instead_of_the_dev_ca() {
        match parse(&["serve", "--tls-cert", "c.pem", "--tls-key", "k.pem"]) {
            Ok(Command::Serve { tls, .. }) => assert_eq!(
                tls,
                TlsSource::Files {
                    cert: PathBuf::from("c.pem"),
                    key: PathBuf::from("k.pem")
                }
            ),
            other => panic!("{other:?}"),
        }
        let err = |a: &[&str]| parse(a).unwrap_err();
        assert!(err(&["serve", "--tls-cert", "c.pem"]).contains("go together"));
        // PostgreSQL or the SQLite file, not both.
        assert!(err(&["serve", "--db", "x", "--database-url", "host=/tmp"]).contains("not both"));
        match parse(&["serve", "--database-url", "host=/run/postgresql dbname=cds"]) {
            Ok(Command::Serve { database_url, .. }) => {
                assert_eq!(
                    database_url.as_deref(),
                    Some("host=/run/postgresql dbname=cds")
                )
            }
            other => panic!("{other:?}"),
        }
        assert!(err(&["serve", "--tls-key", "k.pem"]).contains("go together"));
        assert!(err(&[
            "serve",
            "--tls-dir",
            "d",
            "--tls-cert",
            "c",
            "--tls-key",
            "k"
        ])
        .contains("not both"));
        assert!(err(&["gen-cert", "--tls-cert", "c"]).contains("--tls-cert"));
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
                db: DbTarget::File(PathBuf::from("b.sqlite3")),
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
                db: DbTarget::File(PathBuf::from("d")),
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
                db: DbTarget::File(PathBuf::from("b.sqlite3")),
                case_number: "HS-2026-000007".into(),
                status: ApplicationStatus::InReview,
            })
        );
    }
}
