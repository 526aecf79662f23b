//! Import: applying checked records to the vault in one transaction,
//! merging by id, through the `rows/` owners of each table.

use super::*;

// ---- import: applying records ---------------------------------------------

/// Applies records inside the import transaction, merging by id.
pub(super) struct Applier<'a, 'f> {
    conn: &'a Connection,
    key: &'a VaultKey,
    lookup: &'a LookupKey,
    rng: &'a SystemRandom,
    files: &'f FileStore,
    /// Attachment files written by this import: removed unless it commits.
    pending: &'a mut Pending<'f>,
    /// Backup document id → the id of the document with the same kind and
    /// number already in the vault (the backup's copy is skipped).
    same_number: HashMap<String, String>,
    added: BackupSummary,
}

impl Applier<'_, '_> {
    pub(super) fn exists(&self, sql: &str, id: &str) -> Result<bool, VaultError> {
        self.conn
            .query_row(sql, [id], |_| Ok(()))
            .optional()
            .map(|o| o.is_some())
            .map_err(db)
    }

    pub(super) fn apply(&mut self, rec: Rec) -> Result<(), VaultError> {
        match rec {
            Rec::Profile(p) => self.profile(p),
            Rec::Document(d) => self.document(d),
            Rec::Attachment(a, data, thumb) => {
                self.attachment(a, &data, thumb.as_ref().map(|t| &t[..]))
            }
            Rec::Application(a) => self.application(*a),
            Rec::Disclosure(d) => self.disclosure(d),
        }
    }

    pub(super) fn profile(&mut self, p: BProfile) -> Result<(), VaultError> {
        // Another profile already here is kept as it is.
        if p.id != SELF_PROFILE_ID && self.exists("SELECT 1 FROM profiles WHERE id = ?1", &p.id)? {
            return Ok(());
        }
        let body = ProfileBody {
            full_name: p.full_name,
            relation: p.relation,
            date_of_birth: p.date_of_birth,
            created_at: p.created_at,
        };
        match profile_rows::read(self.conn, self.key, &p.id)? {
            None => {
                profile_rows::insert(self.conn, self.key, self.rng, &p.id, &body)?;
                self.added.profiles += 1;
            }
            // A fresh vault's own profile is still blank: restoring onto a
            // new device fills it in. A filled-in one is kept.
            Some(old) => {
                let blank = |b: &ProfileBody| b.full_name.is_empty() && b.date_of_birth.is_none();
                if blank(&old) && !blank(&body) {
                    profile_rows::replace(self.conn, self.key, self.rng, &p.id, &body)?;
                    self.added.profiles += 1;
                }
            }
        }
        Ok(())
    }

    pub(super) fn document(&mut self, d: BDocument) -> Result<(), VaultError> {
        if self.exists("SELECT 1 FROM documents WHERE id = ?1", &d.id)? {
            return Ok(());
        }
        if let Some(n) = d.fields.get("number") {
            let other = doc_rows::by_number(self.conn, self.key, self.lookup, d.kind, n)?;
            if let Some((other, _)) = other {
                self.same_number.insert(d.id, other);
                self.added.skipped_documents += 1;
                return Ok(());
            }
        }
        let body = DocBody {
            kind: d.kind,
            fields: d.fields,
            custom_fields: d.custom_fields,
            profile_id: d.profile_id,
            created_at: d.created_at,
            updated_at: d.updated_at,
            // Filled in as its attachment records are applied.
            attachments: Vec::new(),
        };
        doc_rows::insert(self.conn, self.key, self.rng, self.lookup, &d.id, &body)?;
        self.added.documents += 1;
        Ok(())
    }

    pub(super) fn attachment(
        &mut self,
        a: BAttachment,
        data: &[u8],
        thumb: Option<&[u8]>,
    ) -> Result<(), VaultError> {
        // The photos of a skipped duplicate are not added to the document
        // already in the vault.
        if self.same_number.contains_key(&a.document_id)
            || self.exists("SELECT 1 FROM attachments WHERE id = ?1", &a.id)?
        {
            return Ok(());
        }
        let at = |col| Place::new(T_ATTACHMENTS, &a.id, col).with_parent(&a.document_id);
        let meta = seal_json(
            self.key,
            self.rng,
            &at("meta"),
            &AttachmentInfo {
                file_name: a.file_name.clone(),
                mime: a.mime.clone(),
                size: a.size,
                created_at: a.created_at.clone(),
            },
        )?;
        // Files first (under the import's write lock), then the row.
        let data = self.files.write(self.key, self.rng, &at(DATA_REF), data)?;
        self.pending.push(&data.name);
        let thumb = match thumb {
            Some(t) => {
                let w = self.files.write(self.key, self.rng, &at(THUMB_REF), t)?;
                self.pending.push(&w.name);
                Some(w)
            }
            None => None,
        };
        self.conn
            .execute(
                "INSERT INTO attachments \
                 (id, document_id, created_at, meta, data, data_file, thumb, thumb_file) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    a.id,
                    a.document_id,
                    a.created_at,
                    meta,
                    data.sealed_ref,
                    data.name,
                    thumb.as_ref().map(|t| &t.sealed_ref),
                    thumb.as_ref().map(|t| &t.name)
                ],
            )
            .map_err(db)?;
        // Listed in its document's sealed body, in the same transaction;
        // the document's `updated_at` is the backup's.
        doc_rows::rewrite_body(self.conn, self.key, self.rng, &a.document_id, |b| {
            b.attachments.push(a.id.clone());
            Ok(())
        })?;
        self.added.attachments += 1;
        Ok(())
    }

    pub(super) fn application(&mut self, a: BApplication) -> Result<(), VaultError> {
        let k = a.idempotency_key.as_str();
        if self.exists("SELECT 1 FROM applications WHERE idempotency_key = ?1", k)? {
            return Ok(());
        }
        let failure = a
            .last_error
            .as_deref()
            .map(|e| crate::DeliveryFailure::new(a.last_error_kind, e));
        app_rows::insert(
            self.conn,
            self.key,
            self.rng,
            &a.created_at,
            &a.state,
            &a.payload,
            a.receipt.as_ref(),
            failure.as_ref(),
        )?;
        for h in &a.history {
            let id = if self.exists("SELECT 1 FROM application_history WHERE id = ?1", &h.id)? {
                new_id()
            } else {
                h.id.clone()
            };
            history::insert(self.conn, self.key, self.rng, &id, k, &h.change)?;
        }
        for doc in &a.document_ids {
            let doc = self.same_number.get(doc).unwrap_or(doc);
            if self.exists("SELECT 1 FROM documents WHERE id = ?1", doc)? {
                links::insert(self.conn, self.lookup, k, doc)?;
            }
        }
        self.added.applications += 1;
        Ok(())
    }

    pub(super) fn disclosure(&mut self, mut d: BDisclosure) -> Result<(), VaultError> {
        if self.exists("SELECT 1 FROM disclosures WHERE id = ?1", &d.id)? {
            return Ok(());
        }
        for id in &mut d.body.document_ids {
            if let Some(other) = self.same_number.get(id) {
                id.clone_from(other);
            }
        }
        disclosures::insert(self.conn, self.key, self.rng, &d.id, &d.at, d.body)?;
        self.added.disclosures += 1;
        Ok(())
    }
}

impl Vault {
    /// Restores a backup made by [`Vault::export_backup`] (on this or
    /// another device) into this vault.
    ///
    /// First the **whole file** is decrypted and checked without changing
    /// anything: a passphrase that does not open it is
    /// [`VaultError::WrongPassphrase`]; an empty, foreign, truncated,
    /// reordered, spliced or altered file is [`VaultError::BackupCorrupt`]
    /// with the reason. Then, in **one transaction**, its records are
    /// merged by id and re-encrypted under this vault's key: records whose
    /// id is already in the vault are kept as they are (importing twice
    /// adds nothing); a document whose kind and number are already stored
    /// under another id is skipped (`skipped_documents`) with its
    /// attachments, and applications and log entries pointing at it are
    /// pointed at the stored one. The citizen's own (`self`) profile is
    /// taken from the backup only while this vault's is still blank.
    ///
    /// `progress(done, total)` counts bytes of the file read, twice (the
    /// check, then the merge): `total` is twice the file size; monotonic,
    /// ending with `done == total`. The summary counts what was **added**;
    /// `bytes` is the file size.
    pub fn import_backup(
        &mut self,
        src: &Path,
        passphrase: &str,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<BackupSummary, VaultError> {
        let (file, len, header) = open_backup(src)?;
        let key = BackupKey::derive(passphrase, &header.salt, header.iterations)?;
        if !key.verify_check_value(&header.check) {
            return Err(VaultError::WrongPassphrase);
        }
        let total = len.saturating_mul(2);
        progress(0, total);
        // Pass 1: everything decrypts, authenticates and makes sense.
        {
            let mut report = |d: u64| progress(d, total);
            let mut r = ChunkReader::new(file, &key, &header, len, &mut report)?;
            read_stream(&mut r, &mut |_| Ok(()))?;
        }
        // Pass 2: the same file again, applied in one transaction.
        let (file, len2, header2) = open_backup(src)?;
        if len2 != len || header2.bytes != header.bytes {
            return Err(corrupt("the file changed during the import"));
        }
        let Vault {
            conn,
            key: vkey,
            lookup,
            rng,
            files,
            ..
        } = self;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        // Attachment files this import writes: removed unless it commits.
        let mut pending = Pending::new(files);
        let mut applier = Applier {
            conn: &tx,
            key: vkey,
            lookup,
            rng,
            files,
            pending: &mut pending,
            same_number: HashMap::new(),
            added: BackupSummary::default(),
        };
        {
            let mut report = |d: u64| progress(len.saturating_add(d), total);
            let mut r = ChunkReader::new(file, &key, &header, len, &mut report)?;
            read_stream(&mut r, &mut |rec| applier.apply(rec))?;
        }
        let mut added = applier.added;
        tx.commit().map_err(db)?;
        pending.committed();
        added.bytes = len;
        progress(total, total);
        Ok(added)
    }
}

/// Opens a backup file and reads and checks its header.
pub(super) fn open_backup(src: &Path) -> Result<(File, u64, Header), VaultError> {
    let mut file =
        File::open(src).map_err(|e| io(format_args!("cannot open {}", src.display()), e))?;
    let len = file
        .metadata()
        .map_err(|e| io(format_args!("cannot read {}", src.display()), e))?
        .len();
    let n = usize::try_from(len.min(HEADER_LEN as u64)).unwrap_or(HEADER_LEN);
    let mut head = vec![0u8; n];
    file.read_exact(&mut head)
        .map_err(|e| io(format_args!("cannot read {}", src.display()), e))?;
    let header = Header::parse(&head, len)?;
    Ok((file, len, header))
}
