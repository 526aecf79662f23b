//! The one error type of the domain crate.

/// What a domain rule or parser refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// A stable code (stored in vaults or sent on the wire) that names no
    /// variant of the enum `what`.
    #[error("unknown {what} `{code}`")]
    UnknownCode { what: &'static str, code: String },
}
