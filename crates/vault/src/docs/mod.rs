//! Profiles, documents and their attachments, and the summary cache of
//! the listings: the public API over the `rows/` owners of those tables.

use cds_api::DocumentKind;
use ring::rand::SystemRandom;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, Row, TransactionBehavior};
use std::collections::HashMap;
use std::sync::Arc;

use crate::crypto::{Place, VaultKey};
use crate::error::db;
use crate::files::{FileStore, Pending, DATA_REF, THUMB_REF};
use crate::rows::attachments::{self as att_rows, AttachmentInfo};
use crate::rows::col_text;
use crate::rows::documents::{self as doc_rows, DocBody};
use crate::rows::profiles::{self as profile_rows, ProfileBody};
use crate::validate::{validate_attachment, validate_document, validate_profile, ValidAttachment};
use crate::{
    latest_date_on_earth, new_id, now_rfc3339, text, thumb, AttachmentMeta, Document,
    DocumentInput, DocumentSummary, ExpiryReminder, NewAttachment, NewProfile, Profile, Relation,
    Vault, VaultError, Zeroizing, DOC_BODY, SELF_PROFILE_ID, T_ATTACHMENTS, T_DOCUMENTS,
    T_PROFILES,
};

mod attachments;
mod cache;
mod documents;
mod profiles;

use attachments::*;
use cache::*;

pub(crate) use attachments::read_attachment_file;
pub(crate) use cache::{DocCache, SummaryStamp};

pub(super) fn not_found(what: &'static str, id: &str) -> VaultError {
    VaultError::NotFound {
        what,
        id: id.to_owned(),
    }
}
