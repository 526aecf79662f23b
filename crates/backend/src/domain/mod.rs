//! The rules of the backend: what is accepted, what is stored, what is
//! signed. No SQL and no HTTP here: each operation takes the store traits it
//! needs ([`crate::store`]) and a [`cds_domain::Clock`] or a `now`, so the
//! same rules run over every store and tests move time instead of waiting.

pub mod applications;
pub mod enrollment;
pub mod issuing;
pub mod rules;

use crate::store::StoreError;
use crate::BackendError;

impl From<StoreError> for BackendError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Open { location, message } => {
                BackendError::OpenDatabase { location, message }
            }
            StoreError::SchemaTooNew { found, known } => {
                BackendError::SchemaTooNew { found, known }
            }
            StoreError::Database(m) => BackendError::Database(m),
            StoreError::Data(m) => BackendError::Data(m),
            StoreError::Task(m) => BackendError::Task(m),
            StoreError::Unavailable(m) => BackendError::Unavailable {
                retry_after_secs: crate::http::RETRY_UNAVAILABLE_SECS,
                message: m,
            },
        }
    }
}
