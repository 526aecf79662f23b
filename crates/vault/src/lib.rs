pub use cds_api;
