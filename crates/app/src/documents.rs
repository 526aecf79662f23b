//! Documents: listing, search, the form, reminders and "who has my data".

use crate::attachments::decode_attachment;
use crate::mapping::{document_input, document_view, summary_view};
use crate::AppCore;
use cds_view::{
    DisclosureView, DocumentInput, DocumentSummaryView, DocumentView, ExpiryReminderView, IpcError,
    NewDocumentInput,
};

/// Reminders cover documents expiring within this many days.
pub const REMINDER_DAYS: i64 = 90;

impl AppCore {
    pub fn list_documents(
        &self,
        profile_id: Option<&str>,
    ) -> Result<Vec<DocumentSummaryView>, IpcError> {
        self.with_vault(|v| {
            let list = v.list_documents(profile_id)?;
            Ok(list.iter().map(|s| summary_view(s)).collect())
        })
    }

    /// Diacritics- and case-insensitive search (the vault's); an empty
    /// query lists everything.
    pub fn search_documents(
        &self,
        profile_id: Option<&str>,
        query: &str,
    ) -> Result<Vec<DocumentSummaryView>, IpcError> {
        self.with_vault(|v| {
            let list = if query.trim().is_empty() {
                v.list_documents(profile_id)?
            } else {
                v.search_documents(profile_id, query)?
            };
            Ok(list.iter().map(|s| summary_view(s)).collect())
        })
    }

    pub fn get_document(&self, id: &str) -> Result<DocumentView, IpcError> {
        self.with_vault(|v| v.get_document(id)).map(document_view)
    }

    pub fn add_document(&self, input: NewDocumentInput) -> Result<DocumentView, IpcError> {
        let attachments = input
            .attachments
            .into_iter()
            .map(decode_attachment)
            .collect::<Result<Vec<_>, _>>()?;
        let doc = document_input(input.document);
        self.with_vault(|v| v.add_document(&doc, &attachments))
            .map(document_view)
    }

    pub fn update_document(
        &self,
        id: &str,
        input: DocumentInput,
    ) -> Result<DocumentView, IpcError> {
        let doc = document_input(input);
        self.with_vault(|v| v.update_document(id, &doc))
            .map(document_view)
    }

    pub fn delete_document(&self, id: &str) -> Result<(), IpcError> {
        self.with_vault(|v| v.delete_document(id))
    }

    /// Documents expiring within [`REMINDER_DAYS`] of `today`: the
    /// citizen's local date as the UI knows it (`YYYY-MM-DD`). The shell
    /// cannot read the local time zone safely in a multi-threaded process,
    /// and a UTC date is a day off in Việt Nam from midnight to 7 a.m.
    /// Without a date, or with one further than a day from the UTC date
    /// (a wrong clock), UTC is used.
    pub fn expiry_reminders(
        &self,
        today: Option<&str>,
    ) -> Result<Vec<ExpiryReminderView>, IpcError> {
        let utc = time::OffsetDateTime::now_utc().date();
        let today = today
            .and_then(|t| {
                time::Date::parse(t, time::macros::format_description!("[year]-[month]-[day]")).ok()
            })
            .filter(|d| (*d - utc).whole_days().abs() <= 1)
            .unwrap_or(utc);
        Ok(self
            .with_vault(|v| v.expiry_reminders(today, REMINDER_DAYS))?
            .into_iter()
            .map(|r| ExpiryReminderView {
                document_id: r.document_id,
                profile_id: r.profile_id,
                kind: r.kind,
                title: r.title,
                expiry_date: r.expiry_date,
                days_left: r.days_left,
            })
            .collect())
    }

    pub fn access_log(&self) -> Result<Vec<DisclosureView>, IpcError> {
        Ok(self
            .with_vault(|v| v.access_log())?
            .into_iter()
            .map(|d| DisclosureView {
                id: d.id,
                at: d.at,
                // One type shared through cds-api: no mapping to drift.
                channel: d.channel,
                recipient: d.recipient,
                purpose: d.purpose,
                legal_basis: d.legal_basis,
                document_ids: d.document_ids,
                summary: d.summary,
            })
            .collect())
    }

    /// The documents an application sent.
    pub fn application_documents(&self, key: &str) -> Result<Vec<DocumentSummaryView>, IpcError> {
        self.with_vault(|v| {
            let list = v.application_documents(key)?;
            Ok(list.iter().map(summary_view).collect())
        })
    }
}
