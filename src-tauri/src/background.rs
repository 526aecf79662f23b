//! The background driver: the one place the app core's background work
//! ([`AppCore::tick`]: deliver the outbox, keep the citizen QR and the
//! city's keys fresh) is run, on the sync crate's scheduler
//! ([`cds_sync::backoff`]): every few seconds while all is well, backing off
//! with full jitter up to five minutes while the city is unavailable.
//! Submitting and "sync now" do not wait for it: their commands sync at once.

use cds_app::backoff::{self, Backoff};
use cds_app::AppCore;
use std::sync::Arc;

/// Runs for the life of the app.
pub async fn drive(core: Arc<AppCore>) {
    // Devices must not share a jitter sequence: seed from the clock and pid.
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
        ^ u64::from(std::process::id()).rotate_left(32);
    backoff::run(
        Backoff::standard(seed),
        || {
            let core = core.clone();
            async move { Some(core.tick().await) }
        },
        tokio::time::sleep,
    )
    .await;
}
