//! One module per screen.

pub mod access_log;
pub mod applications;
pub mod backup;
pub mod documents;
pub mod home;
pub mod more;
pub mod profiles;
pub mod qr;
pub mod scan;
pub mod security;
pub mod services;
