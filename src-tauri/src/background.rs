//! The background driver: the one place the app core's background work
//! ([`AppCore::tick`]: deliver the outbox, keep the citizen QR and the
//! city's keys fresh) is run. A scheduler with backoff (the sync crate's)
//! replaces the fixed period here.

use cds_app::AppCore;
use std::sync::Arc;
use std::time::Duration;

/// How often the background work looks at the outbox.
const TICK: Duration = Duration::from_secs(5);

/// Runs for the life of the app.
pub async fn drive(core: Arc<AppCore>) {
    loop {
        tokio::time::sleep(TICK).await;
        core.tick().await;
    }
}
