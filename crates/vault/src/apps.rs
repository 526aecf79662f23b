//! The application outbox, application history and links, and the access
//! log.

use cds_api::{ApplicationReceipt, DocumentKind, SubmitApplication};
use ring::rand::SystemRandom;
use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

use crate::docs::doc_by_number;
use serde::{Deserialize, Serialize};

use crate::crypto::{LookupKey, Place, VaultKey};
use crate::error::db;
use crate::{
    new_id, now_rfc3339, open_json, seal_json, text, ApplicationRecord, Disclosure,
    DisclosureChannel, DocumentSummary, NewDisclosure, StatusChange, Vault, VaultError,
    T_APPLICATIONS, T_DISCLOSURES, T_HISTORY,
};

/// Longest accepted idempotency key (a UUID is 36).
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;
/// Longest stored delivery error message; longer ones are cut.
const MAX_ERROR_CHARS: usize = 2000;

/// An access-log entry's content (also the backup's record of it).
#[derive(Serialize, Deserialize)]
pub(crate) struct DisclosureBody {
    pub channel: DisclosureChannel,
    pub recipient: String,
    pub purpose: String,
    pub legal_basis: String,
    pub document_ids: Vec<String>,
    pub summary: String,
}

/// Sealed body of an access-log entry (`disclosures.body`): the content and
/// its time, which must equal the plaintext `at` column (it orders the log).
#[derive(Serialize, Deserialize)]
pub(crate) struct SealedDisclosure {
    pub at: String,
    #[serde(flatten)]
    pub body: DisclosureBody,
}

/// Plaintext table of application → document links.
const T_LINKS: &str = "application_documents";

/// The keyed tag of the link from application `idempotency_key` to
/// document `document_id` (`application_documents.tag`): HMAC-SHA256 under
/// the lookup key, domain-separated from number hashes.
pub(crate) fn link_tag(lookup: &LookupKey, idempotency_key: &str, document_id: &str) -> Vec<u8> {
    let mut data = b"cds-vault/v2/application-link\0".to_vec();
    data.extend_from_slice(idempotency_key.as_bytes());
    data.push(0);
    data.extend_from_slice(document_id.as_bytes());
    lookup.hash(&data)
}

pub(crate) fn add_history(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    idempotency_key: &str,
    at: &str,
    status: &str,
    case_number: Option<&str>,
) -> Result<(), VaultError> {
    let id = new_id();
    let body = seal_json(
        key,
        rng,
        &Place::new(T_HISTORY, &id, "body").with_parent(idempotency_key),
        &StatusChange {
            at: at.to_owned(),
            status: status.to_owned(),
            case_number: case_number.map(str::to_owned),
        },
    )?;
    conn.execute(
        "INSERT INTO application_history (id, idempotency_key, at, body) VALUES (?1, ?2, ?3, ?4)",
        params![id, idempotency_key, at, body],
    )
    .map_err(db)?;
    Ok(())
}

/// Links an application to the stored documents it carries (found by
/// keyed number hash, then checked); returns their ids.
pub(crate) fn link_documents(
    conn: &Connection,
    key: &VaultKey,
    lookup: &LookupKey,
    idempotency_key: &str,
    app: &SubmitApplication,
) -> Result<Vec<String>, VaultError> {
    let mut ids = Vec::new();
    for d in &app.documents {
        let id = doc_by_number(conn, key, lookup, d.kind, &d.number)?.map(|(id, _)| id);
        if let Some(id) = id {
            conn.execute(
                "INSERT OR IGNORE INTO application_documents (idempotency_key, document_id, tag) \
                 VALUES (?1, ?2, ?3)",
                params![idempotency_key, id, link_tag(lookup, idempotency_key, &id)],
            )
            .map_err(db)?;
            ids.push(id);
        }
    }
    Ok(ids)
}

/// `"CCCD 0790…1234"`: the kind and the number masked.
pub(crate) fn mask(kind: DocumentKind, number: &str) -> String {
    let label = match kind {
        DocumentKind::Cccd => "CCCD",
        k => k.label_vi(),
    };
    let chars: Vec<char> = number.chars().collect();
    let masked = match chars.len() {
        0 => return label.to_owned(),
        n if n > 8 => format!(
            "{}…{}",
            chars[..4].iter().collect::<String>(),
            chars[n - 4..].iter().collect::<String>()
        ),
        n if n > 4 => format!("…{}", chars[n - 4..].iter().collect::<String>()),
        _ => "…".to_owned(),
    };
    format!("{label} {masked}")
}

fn check_idempotency_key(key: &str) -> Result<(), VaultError> {
    if key.trim().is_empty() {
        return Err(VaultError::invalid(
            "idempotency_key",
            "the idempotency key is empty",
        ));
    }
    if key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(VaultError::invalid(
            "idempotency_key",
            format!(
                "the idempotency key must be at most {MAX_IDEMPOTENCY_KEY_CHARS} characters \
                 without control characters"
            ),
        ));
    }
    Ok(())
}

fn not_found_application(key: &str) -> VaultError {
    VaultError::NotFound {
        what: "application",
        id: key.to_owned(),
    }
}

impl Vault {
    /// Queues an application for delivery, in one transaction with its
    /// history entry (`queued`), its links to the stored documents it
    /// carries (by number), and an access-log entry (channel
    /// `Application`). Idempotent on its `idempotency_key`: queuing the
    /// same application again changes nothing; a *different* application
    /// under a used key is refused ([`VaultError::Invalid`]).
    pub fn enqueue_application(&mut self, app: &SubmitApplication) -> Result<(), VaultError> {
        let key = app.idempotency_key.as_str();
        check_idempotency_key(key)?;
        let payload = self.seal_json(&Place::new(T_APPLICATIONS, key, "payload"), app)?;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let existing: Option<Vec<u8>> = tx
            .query_row(
                "SELECT payload FROM applications WHERE idempotency_key = ?1",
                [key],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        if let Some(blob) = existing {
            let stored: SubmitApplication = open_json(
                &self.key,
                &Place::new(T_APPLICATIONS, key, "payload"),
                &blob,
            )?;
            return if stored == *app {
                Ok(())
            } else {
                Err(VaultError::invalid(
                    "idempotency_key",
                    format!("{key} is already used by a different application"),
                ))
            };
        }
        let now = now_rfc3339()?;
        tx.execute(
            "INSERT INTO applications (idempotency_key, created_at, state, payload) \
             VALUES (?1, ?2, 'queued', ?3)",
            params![key, now, payload],
        )
        .map_err(db)?;
        add_history(&tx, &self.key, &self.rng, key, &now, "queued", None)?;
        let ids = link_documents(&tx, &self.key, &self.lookup, key, app)?;
        let summary = app
            .documents
            .iter()
            .map(|d| mask(d.kind, &d.number))
            .collect::<Vec<_>>()
            .join(", ");
        insert_disclosure(
            &tx,
            &self.key,
            &self.rng,
            &now,
            DisclosureBody {
                channel: DisclosureChannel::Application,
                recipient: format!("city service {}", app.service_code),
                purpose: format!("application {} ({key})", app.service_code),
                legal_basis: "the citizen's own application (consent at submission)".into(),
                document_ids: ids,
                summary,
            },
        )?;
        tx.commit().map_err(db)
    }

    /// Applications not yet delivered, oldest first.
    pub fn pending_applications(&self) -> Result<Vec<SubmitApplication>, VaultError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT idempotency_key, payload FROM applications WHERE state = 'queued' \
                 ORDER BY created_at, rowid",
            )
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            let key = text(row, 0)?;
            out.push(self.open_json_cell(row, 1, &Place::new(T_APPLICATIONS, &key, "payload"))?);
        }
        Ok(out)
    }

    /// Records the city's receipt: the application is delivered. Called
    /// again later with a fresher receipt to refresh its status; a status
    /// different from the last one is appended to the history. The receipt
    /// must carry the same idempotency key.
    pub fn mark_delivered(
        &mut self,
        idempotency_key: &str,
        receipt: &ApplicationReceipt,
    ) -> Result<(), VaultError> {
        if receipt.idempotency_key != idempotency_key {
            return Err(VaultError::invalid(
                "receipt",
                format!(
                    "the receipt is for application {}, not {idempotency_key}",
                    receipt.idempotency_key
                ),
            ));
        }
        let sealed = self.seal_json(
            &Place::new(T_APPLICATIONS, idempotency_key, "receipt"),
            receipt,
        )?;
        let last = self.application_history(idempotency_key)?.pop();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let changed = tx
            .execute(
                "UPDATE applications SET state = 'delivered', receipt = ?2, last_error = NULL \
                 WHERE idempotency_key = ?1",
                params![idempotency_key, sealed],
            )
            .map_err(db)?;
        if changed == 0 {
            return Err(not_found_application(idempotency_key));
        }
        if last.map(|l| l.status) != Some(receipt.status.code().to_owned()) {
            add_history(
                &tx,
                &self.key,
                &self.rng,
                idempotency_key,
                &now_rfc3339()?,
                receipt.status.code(),
                Some(&receipt.case_number),
            )?;
        }
        tx.commit().map_err(db)
    }

    /// Remembers why the last delivery attempt failed (shown to the
    /// citizen). Messages longer than 2000 characters are cut.
    pub fn record_delivery_error(
        &mut self,
        idempotency_key: &str,
        message: &str,
    ) -> Result<(), VaultError> {
        let message: String = message.chars().take(MAX_ERROR_CHARS).collect();
        let sealed = self.key.seal(
            &self.rng,
            &Place::new(T_APPLICATIONS, idempotency_key, "last_error"),
            message.as_bytes(),
        )?;
        let changed = self
            .conn
            .execute(
                "UPDATE applications SET last_error = ?2 WHERE idempotency_key = ?1",
                params![idempotency_key, sealed],
            )
            .map_err(db)?;
        if changed == 0 {
            return Err(not_found_application(idempotency_key));
        }
        Ok(())
    }

    /// Every application, newest first.
    pub fn list_applications(&self) -> Result<Vec<ApplicationRecord>, VaultError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT idempotency_key, created_at, payload, receipt, last_error \
                 FROM applications ORDER BY created_at DESC, rowid DESC",
            )
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            let key = text(row, 0)?;
            out.push(self.application_from_row(row, &key)?);
        }
        Ok(out)
    }

    /// The stored documents sent with an application (those still in the
    /// vault). Each plaintext link carries a keyed tag over both ids, so a
    /// link added, changed or moved to another application is
    /// [`VaultError::Tampered`].
    pub fn application_documents(
        &self,
        idempotency_key: &str,
    ) -> Result<Vec<DocumentSummary>, VaultError> {
        let mut ids = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare(
                    "SELECT document_id, tag FROM application_documents \
                     WHERE idempotency_key = ?1",
                )
                .map_err(db)?;
            let mut rows = stmt.query([idempotency_key]).map_err(db)?;
            while let Some(r) = rows.next().map_err(db)? {
                let doc = text(r, 0)?;
                match r.get_ref(1).map_err(db)? {
                    ValueRef::Blob(t) if t == link_tag(&self.lookup, idempotency_key, &doc) => {}
                    _ => {
                        return Err(VaultError::Tampered {
                            table: T_LINKS,
                            id: idempotency_key.to_owned(),
                        })
                    }
                }
                ids.push(doc);
            }
        }
        Ok(self
            .list_documents(None)?
            .into_iter()
            .filter(|d| ids.contains(&d.id))
            .map(|d| DocumentSummary::clone(&d))
            .collect())
    }

    /// An application's status history, oldest first.
    pub fn application_history(
        &self,
        idempotency_key: &str,
    ) -> Result<Vec<StatusChange>, VaultError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, body, at FROM application_history WHERE idempotency_key = ?1 \
                 ORDER BY at, rowid",
            )
            .map_err(db)?;
        let mut rows = stmt.query([idempotency_key]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(db)? {
            let id = text(r, 0)?;
            let place = Place::new(T_HISTORY, &id, "body").with_parent(idempotency_key);
            let change: StatusChange = self.open_json_cell(r, 1, &place)?;
            // The plaintext `at` orders the history: it must be the sealed one.
            match r.get_ref(2).map_err(db)? {
                ValueRef::Text(t) if t == change.at.as_bytes() => {}
                _ => return Err(place.tampered()),
            }
            out.push(change);
        }
        Ok(out)
    }

    /// Logs that documents left the vault another way (a QR code shown, an
    /// export). The documents must exist; the summary masks their numbers.
    pub fn record_disclosure(&mut self, d: &NewDisclosure) -> Result<Disclosure, VaultError> {
        for (field, v) in [
            ("recipient", &d.recipient),
            ("purpose", &d.purpose),
            ("legal_basis", &d.legal_basis),
        ] {
            if v.trim().is_empty() || v.chars().count() > 500 {
                return Err(VaultError::invalid(
                    field,
                    format!("{field} must be 1 to 500 characters"),
                ));
            }
        }
        let mut parts = Vec::new();
        for id in &d.document_ids {
            let doc = self.get_document(id)?;
            parts.push(mask(doc.kind, doc.number()));
        }
        let body = DisclosureBody {
            channel: d.channel,
            recipient: d.recipient.trim().to_owned(),
            purpose: d.purpose.trim().to_owned(),
            legal_basis: d.legal_basis.trim().to_owned(),
            document_ids: d.document_ids.clone(),
            summary: parts.join(", "),
        };
        let at = now_rfc3339()?;
        let id = insert_disclosure(&self.conn, &self.key, &self.rng, &at, body)?;
        self.access_log()?
            .into_iter()
            .find(|x| x.id == id)
            .ok_or_else(|| VaultError::storage("the access-log entry vanished"))
    }

    /// The access log, newest first.
    pub fn access_log(&self) -> Result<Vec<Disclosure>, VaultError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, at, body FROM disclosures ORDER BY at DESC, rowid DESC")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(db)? {
            let id = text(r, 0)?;
            let place = Place::new(T_DISCLOSURES, &id, "body");
            let sealed: SealedDisclosure = self.open_json_cell(r, 2, &place)?;
            match r.get_ref(1).map_err(db)? {
                ValueRef::Text(t) if t == sealed.at.as_bytes() => {}
                _ => return Err(place.tampered()),
            }
            let b = sealed.body;
            out.push(Disclosure {
                at: sealed.at,
                id,
                channel: b.channel,
                recipient: b.recipient,
                purpose: b.purpose,
                legal_basis: b.legal_basis,
                document_ids: b.document_ids,
                summary: b.summary,
            });
        }
        Ok(out)
    }

    /// Row: `idempotency_key, created_at, payload, receipt, last_error`.
    pub(crate) fn application_from_row(
        &self,
        row: &Row<'_>,
        key: &str,
    ) -> Result<ApplicationRecord, VaultError> {
        let submission =
            self.open_json_cell(row, 2, &Place::new(T_APPLICATIONS, key, "payload"))?;
        let receipt = match row.get_ref(3).map_err(db)? {
            ValueRef::Null => None,
            _ => Some(self.open_json_cell(row, 3, &Place::new(T_APPLICATIONS, key, "receipt"))?),
        };
        let last_error = match row.get_ref(4).map_err(db)? {
            ValueRef::Null => None,
            _ => {
                let place = Place::new(T_APPLICATIONS, key, "last_error");
                let bytes = self.open_cell(row, 4, &place)?;
                Some(String::from_utf8(bytes.to_vec()).map_err(|_| place.tampered())?)
            }
        };
        Ok(ApplicationRecord {
            submission,
            receipt,
            last_error,
            created_at: text(row, 1)?,
        })
    }
}

pub(crate) fn insert_disclosure(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
    at: &str,
    body: DisclosureBody,
) -> Result<String, VaultError> {
    let id = new_id();
    let sealed = seal_json(
        key,
        rng,
        &Place::new(T_DISCLOSURES, &id, "body"),
        &SealedDisclosure {
            at: at.to_owned(),
            body,
        },
    )?;
    conn.execute(
        "INSERT INTO disclosures (id, at, body) VALUES (?1, ?2, ?3)",
        params![id, at, sealed],
    )
    .map_err(db)?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_checked() {
        assert!(check_idempotency_key("5f0c2d1e-0000-4000-8000-000000000000").is_ok());
        assert!(check_idempotency_key("").is_err());
        assert!(check_idempotency_key("  ").is_err());
        assert!(check_idempotency_key(&"k".repeat(129)).is_err());
        assert!(check_idempotency_key("a\nb").is_err());
    }

    #[test]
    fn numbers_are_masked() {
        assert_eq!(mask(DocumentKind::Cccd, "079095001234"), "CCCD 0790…1234");
        assert_eq!(mask(DocumentKind::Passport, "C1234567"), "Hộ chiếu …4567");
        assert_eq!(mask(DocumentKind::Other, ""), "Giấy tờ khác");
    }
}
