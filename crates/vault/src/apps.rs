//! The application outbox, application history and links, and the access
//! log.

use cds_api::{ApplicationReceipt, DocumentKind, SubmitApplication};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

use crate::delivery::{DeliveryErrorKind, DeliveryFailure};
use crate::error::db;
use crate::rows::applications as app_rows;
use crate::rows::disclosures::{self, DisclosureBody};
use crate::rows::{history, links};
use crate::{
    now_rfc3339, open_json, text, ApplicationRecord, Disclosure, DisclosureChannel,
    DocumentSummary, NewDisclosure, StatusChange, Vault, VaultError,
};

/// Longest accepted idempotency key (a UUID is 36).
const MAX_IDEMPOTENCY_KEY_CHARS: usize = 128;

/// `"CCCD 079•••••1234"`: the kind and the number masked the one way
/// numbers are masked ([`cds_domain::text::mask_number`]).
pub(crate) fn mask(kind: DocumentKind, number: &str) -> String {
    let label = match kind {
        DocumentKind::Cccd => "CCCD",
        k => k.label_vi(),
    };
    if number.is_empty() {
        return label.to_owned();
    }
    format!("{label} {}", cds_domain::text::mask_number(number))
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
            let stored: SubmitApplication =
                open_json(&self.key, &app_rows::payload_place(key), &blob)?;
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
        app_rows::insert(&tx, &self.key, &self.rng, &now, "queued", app, None, None)?;
        history::add(&tx, &self.key, &self.rng, key, &now, "queued", None)?;
        let ids = links::link_documents(&tx, &self.key, &self.lookup, key, app)?;
        let summary = app
            .documents
            .iter()
            .map(|d| mask(d.kind, &d.number))
            .collect::<Vec<_>>()
            .join(", ");
        disclosures::add(
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
            out.push(self.open_json_cell(row, 1, &app_rows::payload_place(&key))?);
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
        let sealed = self.seal_json(&app_rows::receipt_place(idempotency_key), receipt)?;
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
            history::add(
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

    /// Records why delivering an application failed ([`DeliveryFailure`]:
    /// its kind, the message cut to 2,000 characters, and how long the city
    /// asked to wait), keeping it queued. Recording the failure that is
    /// already stored writes nothing: an app retrying while offline does not
    /// commit (and fsync) the same value again and again.
    /// [`VaultError::NotFound`] for an unknown application.
    pub fn record_delivery_failure(
        &mut self,
        idempotency_key: &str,
        kind: DeliveryErrorKind,
        message: &str,
        retry_after_secs: Option<u64>,
    ) -> Result<(), VaultError> {
        let failure = DeliveryFailure {
            retry_after_secs,
            ..DeliveryFailure::new(Some(kind), message)
        };
        self.store_delivery_failure(idempotency_key, failure)
    }

    fn store_delivery_failure(
        &mut self,
        idempotency_key: &str,
        failure: DeliveryFailure,
    ) -> Result<(), VaultError> {
        let stored: Option<Option<Vec<u8>>> = self
            .conn
            .query_row(
                "SELECT last_error FROM applications WHERE idempotency_key = ?1",
                [idempotency_key],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        let Some(stored) = stored else {
            return Err(not_found_application(idempotency_key));
        };
        // The stored value is opened (and so authenticated) before it is
        // compared: a tampered one is reported, not silently kept.
        if let Some(sealed) = stored {
            if app_rows::open_failure(&self.key, idempotency_key, &sealed)? == failure {
                return Ok(());
            }
        }
        let sealed = app_rows::seal_failure(&self.key, &self.rng, idempotency_key, &failure)?;
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
            .prepare(&format!(
                "SELECT {} FROM applications ORDER BY created_at DESC, rowid DESC",
                app_rows::COLUMNS
            ))
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db)? {
            let a = app_rows::open_row(&self.key, row)?;
            let (last_error, last_error_kind, last_error_retry_after_secs) = match a.failure {
                Some(f) => (Some(f.message), f.kind, f.retry_after_secs),
                None => (None, None, None),
            };
            out.push(ApplicationRecord {
                submission: a.payload,
                receipt: a.receipt,
                last_error,
                last_error_kind,
                last_error_retry_after_secs,
                created_at: a.created_at,
            });
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
        let ids = links::documents_of(&self.conn, &self.lookup, idempotency_key)?;
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
        Ok(
            history::of_application(&self.conn, &self.key, idempotency_key)?
                .into_iter()
                .map(|(_, change, _)| change)
                .collect(),
        )
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
        let id = disclosures::add(&self.conn, &self.key, &self.rng, &at, body)?;
        self.access_log()?
            .into_iter()
            .find(|x| x.id == id)
            .ok_or_else(|| VaultError::storage("the access-log entry vanished"))
    }

    /// The access log, newest first.
    pub fn access_log(&self) -> Result<Vec<Disclosure>, VaultError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM disclosures ORDER BY at DESC, rowid DESC",
                disclosures::COLUMNS
            ))
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(db)? {
            let (id, sealed, _) = disclosures::open_row(&self.key, r)?;
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
        assert_eq!(
            mask(DocumentKind::Cccd, "079095001234"),
            "CCCD 079•••••1234"
        );
        assert_eq!(
            mask(DocumentKind::Passport, "C1234567"),
            "Hộ chiếu ••••4567"
        );
        assert_eq!(mask(DocumentKind::Other, ""), "Giấy tờ khác");
    }
}
