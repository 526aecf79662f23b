//! `cds-backend`: run the reference city backend, make its development
//! certificates, enrol citizens, or change an application's status (admin
//! hooks).

mod admin;
mod args;
mod serve;
mod verify;

use anyhow::{Context, Result};
use args::{parse_args, Command, USAGE};

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

/// How a command that ran ends: 0, or 3 for "verified: not valid".
pub(crate) enum Outcome {
    Ok,
    NotValid,
}

fn run(command: Command) -> Result<Outcome> {
    match command {
        Command::Help => {
            println!("{USAGE}");
            Ok(Outcome::Ok)
        }
        Command::Version => {
            println!("cds-backend {}", env!("CARGO_PKG_VERSION"));
            Ok(Outcome::Ok)
        }
        Command::Serve {
            listen,
            db,
            database_url,
            tls,
            signing_key,
            admin_token_file,
            credential_validity_days,
            operator_listen,
            limits,
            log_json,
        } => serve::run(serve::Options {
            listen,
            db,
            database_url,
            tls,
            signing_key,
            admin_token_file,
            credential_validity_days,
            operator_listen,
            limits,
            log_json,
        }),
        Command::GenCert { tls_dir } => admin::gen_cert(&tls_dir),
        Command::Enroll {
            db,
            number,
            name,
            dob,
        } => admin::enroll(&db, number, name, dob),
        Command::SetStatus {
            db,
            case_number,
            status,
        } => admin::set_status(&db, &case_number, status),
        Command::Revoke { db, credential_id } => admin::revoke(&db, &credential_id),
        Command::TrustList { signing_key } => verify::trust_list(&signing_key),
        Command::Verify {
            input,
            trust,
            revocations,
            now,
        } => verify::verify(input, trust, revocations, now),
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}
