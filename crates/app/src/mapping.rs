//! Vault records to view types (and form input to vault input): the only
//! place that knows both shapes.

use cds_view::{AttachmentView, DocumentInput, DocumentSummaryView, DocumentView, ProfileView};

pub fn profile_view(p: cds_vault::Profile) -> ProfileView {
    ProfileView {
        id: p.id,
        full_name: p.full_name,
        relation: p.relation,
        date_of_birth: p.date_of_birth,
    }
}

/// The form's fields, trimmed, empty ones dropped.
pub fn document_input(d: DocumentInput) -> cds_vault::DocumentInput {
    cds_vault::DocumentInput {
        profile_id: d.profile_id,
        kind: d.kind,
        fields: d
            .fields
            .into_iter()
            .map(|(k, v)| (k, v.trim().to_owned()))
            .filter(|(_, v)| !v.is_empty())
            .collect(),
        custom_fields: d.custom_fields,
    }
}

pub fn attachment_view(a: cds_vault::AttachmentMeta) -> AttachmentView {
    AttachmentView {
        id: a.id,
        file_name: a.file_name,
        mime: a.mime,
        size: a.size,
        has_thumbnail: a.has_thumbnail,
    }
}

/// The holder's name, or the title of an "other" document.
pub fn doc_title(d: &cds_vault::Document) -> String {
    d.fields
        .get("full_name")
        .or_else(|| d.fields.get("title"))
        .cloned()
        .unwrap_or_default()
}

pub fn document_view(d: cds_vault::Document) -> DocumentView {
    DocumentView {
        id: d.id,
        profile_id: d.profile_id,
        kind: d.kind,
        fields: d.fields,
        custom_fields: d.custom_fields,
        attachments: d.attachments.into_iter().map(attachment_view).collect(),
        created_at: d.created_at,
        updated_at: d.updated_at,
    }
}

/// A list entry. Everything comes from the vault's summary (cached), so a
/// listing of 10,000 documents never opens each document again.
pub fn summary_view(s: &cds_vault::DocumentSummary) -> DocumentSummaryView {
    DocumentSummaryView {
        id: s.id.clone(),
        profile_id: s.profile_id.clone(),
        kind: s.kind,
        title: s.title.clone(),
        number: s.number.clone(),
        date_of_birth: s.date_of_birth.clone().unwrap_or_default(),
        expiry_date: s.expiry_date.clone(),
        attachment_count: s.attachment_count,
        thumbnail_id: s.thumbnail_id.clone(),
        has_pdf: s.has_pdf,
        updated_at: s.updated_at.clone(),
    }
}
