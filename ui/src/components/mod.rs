//! Pieces shared by several pages.

pub mod camera_photo;
pub mod feedback;
pub mod icons;
pub mod secret_form;
pub mod shell;
