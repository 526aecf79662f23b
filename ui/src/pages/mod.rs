//! One module per screen. Each page is a `<section id="page-…">`.

pub mod applications;
pub mod documents;
pub mod home;
pub mod services;
