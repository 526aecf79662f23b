//! The background thread both sessions run on: a stop flag, a join on stop
//! or drop, and errors and panics turned into a status line.

use crate::CameraError;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

/// A named thread that runs until its body returns or [`Worker::stop`]
/// (or `Drop`) asks it to; the body checks the flag it is given between
/// frames.
pub(crate) struct Worker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    pub(crate) fn spawn(
        name: &str,
        body: impl FnOnce(&AtomicBool) + Send + 'static,
    ) -> Result<Worker, CameraError> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(&flag))
            .map_err(|e| CameraError::Thread(e.to_string()))?;
        Ok(Worker {
            stop,
            thread: Some(thread),
        })
    }

    /// Asks the body to end and waits for it (at most the frame in hand).
    pub(crate) fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            // Bodies run under `catching`, so a join error cannot carry
            // anything their status does not already say.
            let _ = t.join();
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a session's loop and says why it ended early, as
/// ([`CameraError::kind`], message): its error, or a panic (a decoder is
/// C++ behind FFI; a source may be anything), which must end the session
/// with an error rather than leave it "running" forever.
pub(crate) fn catching(
    what: &str,
    body: impl FnOnce() -> Result<(), CameraError>,
) -> Option<(&'static str, String)> {
    let e = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => return None,
        Ok(Err(e)) => e,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            CameraError::Thread(format!("the {what} thread panicked: {why}"))
        }
    };
    Some((e.kind(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_and_panics_become_a_status_line() {
        assert_eq!(catching("test", || Ok(())), None);
        let e = catching("test", || Err(CameraError::NotReady)).unwrap();
        assert_eq!(e.0, "not_ready");
        let p = catching("scan", || panic!("boom")).unwrap();
        assert_eq!(p.0, "thread");
        assert!(p.1.contains("scan thread panicked: boom"), "{}", p.1);
    }

    #[test]
    fn stop_ends_the_body_and_joins() {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut w = Worker::spawn("cds-camera-test", move |stop| {
            while !stop.load(Ordering::SeqCst) {
                std::thread::yield_now();
            }
            let _ = tx.send("ended");
        })
        .unwrap();
        w.stop();
        assert_eq!(rx.try_recv(), Ok("ended"));
    }
}
