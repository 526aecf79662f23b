//! The domain of Công dân số: rules and types that every layer shares (the
//! vault, the QR codec, the city backend, the app core and the UI), one copy
//! of each. Pure: no I/O, no threads, no global clock; it compiles to wasm.

pub mod clock;
mod error;
pub mod id_number;
pub mod person;

pub use clock::{Clock, ManualClock, SystemClock};
pub use error::DomainError;
pub use id_number::{IdNumberProblem, BIRTH_REGISTRATION_PROVINCES};
pub use person::Sex;
