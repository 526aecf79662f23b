//! `cargo xtask bench-backend`: the backend's load bench
//! (`crates/backend/benches/load.rs`) on SQLite and on a private
//! PostgreSQL server started for the run ([`crate::postgres::TestServer`],
//! a Unix socket in a temporary directory), stopped afterwards whatever the
//! bench did.
//!
//! `cargo bench` builds the bench and the `cds-backend` binary it starts
//! in the bench profile (cargo builds a package's binaries for its benches
//! and gives their path as `CARGO_BIN_EXE_cds-backend`), so nothing else
//! needs building first. The sizes come from `CDS_LOAD_*` (see the bench's
//! header), passed through from this environment; the bench raises its own
//! open-files limit, and the backend inherits it.
//!
//! The test server runs with `fsync=off` (it is a throwaway): the
//! PostgreSQL column measures the backend and the server's work, not its
//! disk, while SQLite syncs every commit (`synchronous=FULL`).

use crate::{postgres, status, step};
use anyhow::Result;
use std::path::Path;
use std::process::Command;

pub fn bench_backend(root: &Path) -> Result<()> {
    step("starting a private PostgreSQL server (Unix socket only)");
    // Stopped when `pg` drops: after the bench, whatever its outcome.
    let pg = postgres::TestServer::start()?;
    step("building (bench profile) and running the backend load bench");
    let result = status(
        Command::new(env!("CARGO"))
            .current_dir(root)
            .args(["bench", "-p", "cds-backend", "--bench", "load"])
            .env("CDS_TEST_PG", pg.conninfo()),
    );
    drop(pg);
    result
}
