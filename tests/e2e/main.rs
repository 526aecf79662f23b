//! The end-to-end tests: the real `cong-dan-so` window (Tauri + WebKitGTK)
//! driven through tauri-driver against a real `cds-backend` process.
//!
//! One test binary for all of them (one link of the WebDriver stack instead
//! of four, one process to watch), with a module per area. Run them through
//! `cargo xtask test`, which builds the binaries, starts a D-Bus session
//! with an unlocked keyring and a virtual display, and checks afterwards
//! that no process the tests started is left behind.

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod harness;

mod failures;
mod qr_ui;
mod slice;
mod vault_ui;
