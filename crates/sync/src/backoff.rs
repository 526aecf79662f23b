//! When the background sync tries again: exponential backoff with full
//! jitter, capped, reset by a success, with the city's `Retry-After` as a
//! floor.
//!
//! The arithmetic ([`Backoff`]) is pure and seeded, so tests check exact
//! delays; [`run`] is the driver loop with the sleeping and the work passed
//! in, so a test drives it with a fake sleep that only records the delays.
//! The shell's background task is `run` with `tokio::time::sleep` and the
//! app core's tick.
//!
//! Why full jitter: many devices come back online at the same moment (a
//! city-wide outage ends); each waits a uniformly random time up to the
//! exponential ceiling, which spreads their retries out instead of having
//! them arrive in synchronised waves.

use std::future::Future;
use std::time::Duration;

/// The period of the background work while all is well.
pub const IDLE_PERIOD: Duration = Duration::from_secs(5);
/// The longest wait between two tries while the city is unavailable.
pub const MAX_DELAY: Duration = Duration::from_secs(5 * 60);
/// The shortest wait, so a jitter of zero never turns into a busy loop.
pub const MIN_DELAY: Duration = Duration::from_secs(1);
/// A `Retry-After` longer than this is not believed beyond it.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60 * 60);

/// How one try of the background work went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Nothing to do, or everything done: back to the idle period.
    Done,
    /// The city could not be reached or asked us to wait: back off.
    Unavailable {
        /// The city's `Retry-After`, when it sent one.
        retry_after: Option<Duration>,
    },
}

/// SplitMix64: tiny, good enough for jitter, and seedable for tests.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The backoff state of the background sync.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
    rng: SplitMix64,
}

impl Backoff {
    /// `base` is both the idle period and the first ceiling; `cap` the
    /// longest wait. `seed` makes the jitter reproducible.
    pub fn new(base: Duration, cap: Duration, seed: u64) -> Backoff {
        Backoff {
            base: base.max(MIN_DELAY),
            cap: cap.max(base),
            failures: 0,
            rng: SplitMix64(seed),
        }
    }

    /// The app's settings ([`IDLE_PERIOD`], [`MAX_DELAY`]).
    pub fn standard(seed: u64) -> Backoff {
        Backoff::new(IDLE_PERIOD, MAX_DELAY, seed)
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The wait after a try that went `attempt`.
    pub fn next_delay(&mut self, attempt: Attempt) -> Duration {
        match attempt {
            Attempt::Done => {
                self.failures = 0;
                self.base
            }
            Attempt::Unavailable { retry_after } => {
                let ceiling = self.ceiling();
                self.failures = self.failures.saturating_add(1);
                // Full jitter: uniform in [0, ceiling], in milliseconds.
                let ceiling_ms = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
                let jittered =
                    Duration::from_millis(self.rng.next() % ceiling_ms.saturating_add(1));
                let floor = retry_after.unwrap_or_default().min(MAX_RETRY_AFTER);
                jittered.max(MIN_DELAY).max(floor)
            }
        }
    }

    /// `min(cap, base · 2^failures)`.
    fn ceiling(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(31)).unwrap_or(u32::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }
}

/// The background loop: wait, try, choose the next wait. `step` returns
/// `None` to stop (the app never does; tests do). Returns the number of tries.
pub async fn run<S, SF, W, WF>(mut backoff: Backoff, mut step: S, mut sleep: W) -> usize
where
    S: FnMut() -> SF,
    SF: Future<Output = Option<Attempt>>,
    W: FnMut(Duration) -> WF,
    WF: Future<Output = ()>,
{
    let mut delay = backoff.base;
    let mut tries = 0;
    loop {
        sleep(delay).await;
        let Some(attempt) = step().await else {
            return tries;
        };
        tries += 1;
        delay = backoff.next_delay(attempt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOWN: Attempt = Attempt::Unavailable { retry_after: None };

    #[test]
    fn delays_stay_under_a_doubling_ceiling_capped_at_five_minutes() {
        let mut b = Backoff::standard(7);
        for n in 0..40u32 {
            let d = b.next_delay(DOWN);
            let ceiling = (IDLE_PERIOD * 2u32.saturating_pow(n.min(20))).min(MAX_DELAY);
            assert!(d <= ceiling, "try {n}: {d:?} > {ceiling:?}");
            assert!(d >= MIN_DELAY, "try {n}: {d:?}");
        }
        assert_eq!(b.failures(), 40);
    }

    #[test]
    fn jitter_spreads_devices_out_and_is_reproducible() {
        // Ten devices with different seeds after the same failures do not
        // all wait the same; the same seed waits exactly the same.
        let waits: Vec<Duration> = (0..10u64)
            .map(|seed| {
                let mut b = Backoff::standard(seed);
                (0..6)
                    .map(|_| b.next_delay(DOWN))
                    .last()
                    .unwrap_or_default()
            })
            .collect();
        let mut distinct = waits.clone();
        distinct.sort();
        distinct.dedup();
        assert!(distinct.len() >= 8, "{waits:?}");
        let again: Vec<Duration> = (0..6)
            .map({
                let mut b = Backoff::standard(3);
                move |_| b.next_delay(DOWN)
            })
            .collect();
        let mut b = Backoff::standard(3);
        let once: Vec<Duration> = (0..6).map(|_| b.next_delay(DOWN)).collect();
        assert_eq!(again, once);
        // After many failures the waits use the whole range up to the cap,
        // not just its top.
        let mut b = Backoff::standard(11);
        let late: Vec<Duration> = (0..200).map(|_| b.next_delay(DOWN)).skip(20).collect();
        assert!(late.iter().any(|d| *d < MAX_DELAY / 2), "full jitter");
        assert!(late.iter().any(|d| *d > MAX_DELAY / 2));
    }

    #[test]
    fn a_success_resets_to_the_idle_period() {
        let mut b = Backoff::standard(1);
        for _ in 0..10 {
            b.next_delay(DOWN);
        }
        assert_eq!(b.next_delay(Attempt::Done), IDLE_PERIOD);
        assert_eq!(b.failures(), 0);
        // The ceiling starts small again.
        assert!(b.next_delay(DOWN) <= IDLE_PERIOD);
    }

    #[test]
    fn retry_after_is_a_floor_but_not_believed_beyond_an_hour() {
        let mut b = Backoff::standard(5);
        let asked = Attempt::Unavailable {
            retry_after: Some(Duration::from_secs(90)),
        };
        assert!(b.next_delay(asked) >= Duration::from_secs(90));
        let absurd = Attempt::Unavailable {
            retry_after: Some(Duration::from_secs(86_400 * 30)),
        };
        assert_eq!(b.next_delay(absurd), MAX_RETRY_AFTER);
    }

    #[tokio::test]
    async fn the_driver_backs_off_while_down_and_recovers() {
        use std::cell::RefCell;
        use std::rc::Rc;
        // The city is down for four tries, then up for two; the fake sleep
        // records every wait (no real time passes).
        let script = Rc::new(RefCell::new(vec![
            DOWN,
            DOWN,
            DOWN,
            DOWN,
            Attempt::Done,
            Attempt::Done,
        ]));
        let slept = Rc::new(RefCell::new(Vec::new()));
        let tries = run(
            Backoff::standard(42),
            || {
                let next = {
                    let mut s = script.borrow_mut();
                    (!s.is_empty()).then(|| s.remove(0))
                };
                async move { next }
            },
            |d| {
                slept.borrow_mut().push(d);
                async {}
            },
        )
        .await;
        assert_eq!(tries, 6);
        let slept = slept.borrow();
        // First wait is the idle period; then four backoff waits under
        // their ceilings (5, 10, 20, 40 s); then idle again after success.
        assert_eq!(slept[0], IDLE_PERIOD);
        for (i, ceiling) in [5u64, 10, 20, 40].iter().enumerate() {
            assert!(slept[1 + i] <= Duration::from_secs(*ceiling), "{slept:?}");
        }
        assert_eq!(slept[5], IDLE_PERIOD);
        assert_eq!(slept[6], IDLE_PERIOD);
        assert_eq!(slept.len(), 7);
    }
}
