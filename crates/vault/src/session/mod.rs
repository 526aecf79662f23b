//! The life of an open vault: opening and creating it ([`open`]), the PIN
//! and its back-off ([`pin`]), key rotation ([`rotate`]) and the integrity
//! check ([`integrity`]).

mod integrity;
mod open;
mod pin;
mod rotate;
