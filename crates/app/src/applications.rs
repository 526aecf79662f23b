//! The service catalogue and the citizen's applications: building a
//! submission from vault documents and queueing it.

use crate::error::from_vault;
use crate::mapping::doc_title;
use crate::{lock, now_rfc3339, AppCore};
use cds_api::{Applicant, DocumentKind, DocumentRef, ServiceInfo, SubmitApplication};
use cds_view::{ApplicationView, DeliveryState, ErrorKind, IpcError, SubmitInput};
use std::path::Path;

/// The cached catalogue, or the embedded one.
pub(crate) fn load_catalogue(cache: &Path) -> Vec<ServiceInfo> {
    let cached = std::fs::read(cache)
        .ok()
        .and_then(|b| serde_json::from_slice::<Vec<ServiceInfo>>(&b).ok())
        .filter(|l| !l.is_empty());
    match cached {
        Some(list) => list,
        None => cds_api::seed_catalogue().unwrap_or_else(|e| {
            tracing::error!(error = %e, "embedded catalogue is broken");
            Vec::new()
        }),
    }
}

impl AppCore {
    /// The catalogue; works offline from the cached copy.
    pub fn list_services(&self) -> Vec<ServiceInfo> {
        lock(&self.services).clone()
    }

    pub(crate) fn service(&self, code: &str) -> Option<ServiceInfo> {
        lock(&self.services)
            .iter()
            .find(|s| s.code == code)
            .cloned()
    }

    /// Queues an application. The idempotency key is made here, at the
    /// moment the citizen pressed submit, and never changes afterwards.
    pub fn submit_application(&self, input: SubmitInput) -> Result<ApplicationView, IpcError> {
        let service = self.service(&input.service_code).ok_or_else(|| {
            IpcError::new(
                ErrorKind::InvalidInput,
                format!("unknown service {}", input.service_code),
            )
        })?;
        let vault = self.vault()?;
        let mut vault = lock(&vault);
        let mut docs: Vec<cds_vault::Document> = Vec::new();
        for id in &input.document_ids {
            docs.push(vault.get_document(id).map_err(from_vault)?);
        }
        let missing: Vec<&str> = service
            .required_documents
            .iter()
            .filter(|k| !docs.iter().any(|d| d.kind == **k))
            .map(|k| k.code())
            .collect();
        if !missing.is_empty() {
            return Err(IpcError::new(
                ErrorKind::InvalidInput,
                format!("missing required documents: {}", missing.join(", ")),
            ));
        }
        let id_card = docs
            .iter()
            .find(|d| d.kind == DocumentKind::Cccd)
            .ok_or_else(|| {
                IpcError::new(
                    ErrorKind::InvalidInput,
                    "a CCCD is needed to identify the applicant",
                )
            })?;
        let field = |d: &cds_vault::Document, k: &str| d.fields.get(k).cloned().unwrap_or_default();
        let submission = SubmitApplication {
            idempotency_key: uuid::Uuid::new_v4().to_string(),
            service_code: service.code.clone(),
            applicant: Applicant {
                id_number: field(id_card, "number"),
                full_name: field(id_card, "full_name"),
                date_of_birth: field(id_card, "date_of_birth"),
            },
            documents: docs
                .iter()
                .map(|d| DocumentRef {
                    kind: d.kind,
                    number: field(d, "number"),
                    full_name: doc_title(d),
                    date_of_birth: field(d, "date_of_birth"),
                    attachment_count: d.attachments.len() as u32,
                })
                .collect(),
            submitted_at: now_rfc3339(),
        };
        vault.enqueue_application(&submission).map_err(from_vault)?;
        let record = vault
            .list_applications()
            .map_err(from_vault)?
            .into_iter()
            .find(|r| r.submission.idempotency_key == submission.idempotency_key)
            .ok_or_else(|| IpcError::new(ErrorKind::Internal, "queued application vanished"))?;
        Ok(self.application_view(record))
    }

    pub fn list_applications(&self) -> Result<Vec<ApplicationView>, IpcError> {
        let records = self.with_vault(|v| v.list_applications())?;
        Ok(records
            .into_iter()
            .map(|r| self.application_view(r))
            .collect())
    }

    fn application_view(&self, r: cds_vault::ApplicationRecord) -> ApplicationView {
        let svc = self.service(&r.submission.service_code);
        let (name_vi, name_en) = svc.map(|s| (s.name_vi, s.name_en)).unwrap_or_else(|| {
            (
                r.submission.service_code.clone(),
                r.submission.service_code.clone(),
            )
        });
        let last_error = match &r.receipt {
            None => crate::sync::stored_delivery_error(&r),
            Some(_) => None,
        };
        ApplicationView {
            idempotency_key: r.submission.idempotency_key.clone(),
            service_code: r.submission.service_code.clone(),
            service_name_vi: name_vi,
            service_name_en: name_en,
            delivery: if r.receipt.is_some() {
                DeliveryState::Delivered
            } else {
                DeliveryState::Queued
            },
            case_number: r.receipt.as_ref().map(|x| x.case_number.clone()),
            status: r.receipt.as_ref().map(|x| x.status),
            submitted_at: r.submission.submitted_at.clone(),
            due_date: r.receipt.as_ref().map(|x| x.due_date.clone()),
            last_error,
        }
    }
}
