//! The domain of Công dân số: rules and types that every layer shares (the
//! vault, the QR codec, the city backend, the app core and the UI), one copy
//! of each. Pure: no I/O, no threads, no global clock; it compiles to wasm.

pub mod admin_units;
pub mod application;
pub mod attachment;
pub mod clock;
pub mod date;
pub mod disclosure;
pub mod document;
mod error;
pub mod id_number;
pub mod person;
pub mod text;

pub use application::ApplicationStatus;
pub use attachment::{sniff_mime, MAX_ATTACHMENT_BYTES};
pub use clock::{Clock, ManualClock, SystemClock};
pub use disclosure::{DisclosureChannel, QrDisclosure};
pub use document::{Choices, DocumentKind, FieldSpec, FieldType, LICENCE_CLASSES, SEX_CHOICES};
pub use error::DomainError;
pub use id_number::{IdNumberProblem, BIRTH_REGISTRATION_PROVINCES};
pub use person::{Relation, Sex};
pub use text::{fold, mask_number, Query};
