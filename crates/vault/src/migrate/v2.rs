//! Migration 2 (from v1): documents become field maps in the citizen's
//! own profile, attachments get their time and thumbnails, applications
//! their history and document links.

use ring::rand::SystemRandom;
use rusqlite::{params, Connection};
use serde::Deserialize;

use crate::crypto::{Place, VaultKey};
use crate::error::db;
use crate::rows::attachments::AttachmentInfo;
use crate::rows::documents::DocBody;
use crate::rows::profiles::ProfileBody;
use crate::{
    now_rfc3339, number_hash, open_json, seal_json, text, thumb, validate, Relation, VaultError,
    SELF_PROFILE_ID, T_APPLICATIONS, T_ATTACHMENTS, T_DOCUMENTS,
};

/// v1 document body.
#[derive(Deserialize)]
struct V1Body {
    kind: cds_api::DocumentKind,
    number: String,
    full_name: String,
    date_of_birth: String,
}

/// v1 attachment metadata (migration only).
#[derive(Deserialize)]
struct V1AttachmentInfo {
    file_name: String,
    mime: String,
    size: u64,
}

/// Migration 2 (from v1).
pub(super) fn migrate_to_v2(
    conn: &Connection,
    key: &VaultKey,
    rng: &SystemRandom,
) -> Result<(), VaultError> {
    let lookup = key.lookup_key()?;
    let now = now_rfc3339()?;
    // Documents: v1 body → v2 field map in the self profile.
    let mut docs: Vec<(String, String, Vec<u8>)> = Vec::new();
    {
        let mut stmt = conn
            .prepare("SELECT id, created_at, body FROM documents ORDER BY created_at, rowid")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            docs.push((text(r, 0)?, text(r, 1)?, r.get(2).map_err(db)?));
        }
    }
    let mut self_name = String::new();
    let mut converted = Vec::new();
    for (id, created_at, sealed) in docs {
        let v1: V1Body = open_json(key, &Place::new(T_DOCUMENTS, &id, "body"), &sealed)?;
        if self_name.is_empty() && v1.kind == cds_api::DocumentKind::Cccd {
            self_name = v1.full_name.clone();
        }
        let mut fields = std::collections::BTreeMap::new();
        if v1.kind == cds_api::DocumentKind::Other {
            fields.insert(
                "title".to_owned(),
                format!("{} {}", v1.full_name, v1.number),
            );
        } else {
            fields.insert("number".to_owned(), v1.number.clone());
            fields.insert("full_name".to_owned(), v1.full_name.clone());
            fields.insert("date_of_birth".to_owned(), v1.date_of_birth.clone());
        }
        if v1.kind == cds_api::DocumentKind::Cccd {
            if let Some(sex) = validate::cccd_sex(&v1.number) {
                fields.insert("sex".to_owned(), sex.to_owned());
            }
        }
        let hash = (v1.kind != cds_api::DocumentKind::Other)
            .then(|| number_hash(&lookup, v1.kind, &v1.number));
        converted.push((id, created_at, v1.kind, fields, hash));
    }
    let profile = ProfileBody {
        full_name: self_name,
        relation: Relation::SelfPerson,
        date_of_birth: None,
        created_at: now.clone(),
    };
    crate::rows::profiles::insert(conn, key, rng, SELF_PROFILE_ID, &profile)?;
    let mut seen_hashes = std::collections::HashSet::new();
    for (id, created_at, kind, fields, hash) in converted {
        let mut attachments = Vec::new();
        {
            let mut stmt = conn
                .prepare("SELECT id FROM attachments WHERE document_id = ?1 ORDER BY rowid")
                .map_err(db)?;
            let mut rows = stmt.query([&id]).map_err(db)?;
            while let Some(r) = rows.next().map_err(db)? {
                attachments.push(text(r, 0)?);
            }
        }
        let body = DocBody {
            kind,
            fields,
            custom_fields: Vec::new(),
            profile_id: SELF_PROFILE_ID.to_owned(),
            created_at: created_at.clone(),
            updated_at: created_at.clone(),
            attachments,
        };
        // v1 allowed the same number twice; the first keeps the lookup.
        let hash = hash.filter(|h| seen_hashes.insert(h.clone()));
        crate::rows::documents::replace(conn, key, rng, &id, &body, hash)?;
    }
    // Attachment metadata in the v2 layout (with its time), and thumbnails
    // for images.
    let mut atts: Vec<(String, String, String)> = Vec::new();
    {
        let mut stmt = conn
            .prepare("SELECT id, document_id, created_at FROM attachments")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            atts.push((text(r, 0)?, text(r, 1)?, text(r, 2)?));
        }
    }
    for (id, doc, created_at) in atts {
        let (meta, data): (Vec<u8>, Vec<u8>) = conn
            .query_row(
                "SELECT meta, data FROM attachments WHERE id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(db)?;
        let meta_place = Place::new(T_ATTACHMENTS, &id, "meta").with_parent(&doc);
        let v1: V1AttachmentInfo = open_json(key, &meta_place, &meta)?;
        let info = AttachmentInfo {
            file_name: v1.file_name,
            mime: v1.mime,
            size: v1.size,
            created_at,
        };
        conn.execute(
            "UPDATE attachments SET meta = ?2 WHERE id = ?1",
            params![id, seal_json(key, rng, &meta_place, &info)?],
        )
        .map_err(db)?;
        let bytes = key.open(
            &Place::new(T_ATTACHMENTS, &id, "data").with_parent(&doc),
            &data,
        )?;
        // An old image too large to thumbnail keeps no thumbnail.
        if let Ok(Some(t)) = thumb::make_thumbnail(&bytes, &info.mime) {
            let sealed = key.seal(
                rng,
                &Place::new(T_ATTACHMENTS, &id, "thumb").with_parent(&doc),
                &t,
            )?;
            conn.execute(
                "UPDATE attachments SET thumb = ?2 WHERE id = ?1",
                params![id, sealed],
            )
            .map_err(db)?;
        }
    }
    // Applications: history and links to the documents sent.
    // (idempotency key, created_at, payload, receipt)
    type AppRow = (String, String, Vec<u8>, Option<Vec<u8>>);
    let mut apps: Vec<AppRow> = Vec::new();
    {
        let mut stmt = conn
            .prepare("SELECT idempotency_key, created_at, payload, receipt FROM applications")
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        while let Some(r) = rows.next().map_err(db)? {
            apps.push((
                text(r, 0)?,
                text(r, 1)?,
                r.get(2).map_err(db)?,
                r.get(3).map_err(db)?,
            ));
        }
    }
    for (k, created_at, payload, receipt) in apps {
        let app: cds_api::SubmitApplication =
            open_json(key, &Place::new(T_APPLICATIONS, &k, "payload"), &payload)?;
        crate::rows::history::add(conn, key, rng, &k, &created_at, "queued", None)?;
        if let Some(r) = receipt {
            let r: cds_api::ApplicationReceipt =
                open_json(key, &Place::new(T_APPLICATIONS, &k, "receipt"), &r)?;
            crate::rows::history::add(
                conn,
                key,
                rng,
                &k,
                &r.received_at,
                r.status.code(),
                Some(&r.case_number),
            )?;
        }
        crate::rows::links::link_documents(conn, key, &lookup, &k, &app)?;
    }
    Ok(())
}
