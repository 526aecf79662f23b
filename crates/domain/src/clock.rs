//! Time as a dependency. Rules take a [`Clock`] (or a `now` argument) instead
//! of reading the system time, so tests drive them with a [`ManualClock`] and
//! never wait in real time.

use std::sync::{Arc, Mutex, PoisonError};
use time::{Duration, OffsetDateTime};

/// A source of "now" in UTC.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The system's clock. Not for wasm32-unknown-unknown, where the UI gets
/// times from the app core instead.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that moves only when told to. Clones share one time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<OffsetDateTime>>);

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        Self(Arc::new(Mutex::new(start)))
    }

    pub fn set(&self, at: OffsetDateTime) {
        // A poisoned lock still holds a valid time: a panic elsewhere cannot
        // leave an OffsetDateTime half-written.
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = at;
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> OffsetDateTime {
        (**self).now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_manual_clock_moves_only_when_told_and_clones_share_it() {
        let c = ManualClock::new(datetime!(2026-12-02 06:00 UTC));
        let other = c.clone();
        assert_eq!(c.now(), datetime!(2026-12-02 06:00 UTC));
        other.advance(Duration::minutes(5));
        assert_eq!(c.now(), datetime!(2026-12-02 06:05 UTC));
        c.set(datetime!(2027-01-01 00:00 UTC));
        assert_eq!(other.now(), datetime!(2027-01-01 00:00 UTC));
    }

    #[test]
    fn a_clock_behind_an_arc_is_a_clock() {
        let c: Arc<dyn Clock> = Arc::new(ManualClock::new(datetime!(2026-01-01 00:00 UTC)));
        assert_eq!(c.now().year(), 2026);
    }
}
