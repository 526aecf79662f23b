//! The domain of Công dân số: rules and types that every layer shares (the
//! vault, the QR codec, the city backend, the app core and the UI), one copy
//! of each. Pure: no I/O, no threads, no global clock; it compiles to wasm.

pub mod clock;

pub use clock::{Clock, ManualClock, SystemClock};
