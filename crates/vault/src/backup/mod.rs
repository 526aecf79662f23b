//! Encrypted backup files: [`Vault::export_backup`] and
//! [`Vault::import_backup`]. The file format is described in the crate
//! documentation (`# Backup file format`); this module is its only reader
//! and writer.
//!
//! The parts: [`format`] (header, constants, record types), [`stream`] (the
//! chunked encryption), [`check`] (the records, checked), [`export`] and
//! [`import`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use cds_api::{ApplicationReceipt, DocumentKind, SubmitApplication};
use ring::rand::SystemRandom;
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::apps::mask;
use crate::crypto::{random_salt, BackupKey, LookupKey, Place, VaultKey, SALT_LEN};
use crate::docs::read_attachment_file;
use crate::error::{db, io};
use crate::files::{FileStore, Pending, DATA_REF, THUMB_REF};
use crate::fsutil::sync_parent_dir;
use crate::rows::applications as app_rows;
use crate::rows::attachments::{self as att_rows, AttachmentInfo};
use crate::rows::disclosures::{self, DisclosureBody};
use crate::rows::documents as doc_rows;
use crate::rows::documents::DocBody;
use crate::rows::profiles as profile_rows;
use crate::rows::profiles::ProfileBody;
use crate::rows::{blob, history, links};
use crate::validate::validate_restored_document;
use crate::{
    new_id, now_rfc3339, seal_json, text, BackupSummary, DisclosureChannel, DocumentInput,
    Relation, StatusChange, Vault, VaultError, DEVICE_BOUND, DOC_BODY, MAX_ATTACHMENT_BYTES,
    MAX_FILE_NAME_CHARS, SEALED, SELF_PROFILE_ID, T_ATTACHMENTS, T_DOCUMENTS,
};

mod check;
mod export;
mod format;
mod import;
mod stream;

use check::*;
#[cfg(test)]
use export::*;
use format::*;
use stream::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KdfParams, MemoryKeyStore, NewAttachment};

    fn vault(dir: &Path) -> Vault {
        let keys = MemoryKeyStore::new();
        let mut v = Vault::create_with_kdf(
            &dir.join("v.sqlite3"),
            Some(&keys),
            None,
            KdfParams::insecure_fast_kdf_for_tests(),
        )
        .unwrap();
        let mut fields = BTreeMap::new();
        fields.insert("title".to_owned(), "Sổ hộ khẩu".to_owned());
        let mut pdf = b"%PDF-1.4\n".to_vec();
        pdf.resize(300_000, 7);
        v.add_document(
            &DocumentInput {
                profile_id: SELF_PROFILE_ID.into(),
                kind: DocumentKind::Other,
                fields,
                custom_fields: vec![],
            },
            &[NewAttachment {
                file_name: "so.pdf".into(),
                mime: "application/pdf".into(),
                bytes: pdf,
            }],
        )
        .unwrap();
        v
    }

    #[test]
    fn a_full_disk_is_disk_full_and_leaves_no_file_and_no_log_entry() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = vault(dir.path());
        let dest = dir.path().join("b.cdsbackup");
        for left in [0, 10, HEADER_LEN as u64 + 100, 200_000] {
            let err = v
                .export_backup_limited(&dest, "mật khẩu sao lưu", &mut |_, _| {}, Some(left))
                .unwrap_err();
            assert_eq!(err, VaultError::DiskFull, "after {left} bytes");
            assert!(!dest.exists());
            assert!(!tmp_path(&dest).exists());
            assert!(v.access_log().unwrap().is_empty());
        }
        // With room it works, and is logged once.
        v.export_backup_limited(&dest, "mật khẩu sao lưu", &mut |_, _| {}, Some(10_000_000))
            .unwrap();
        assert!(dest.exists() && !tmp_path(&dest).exists());
        assert_eq!(v.access_log().unwrap().len(), 1);
    }

    /// A backup whose second document breaks the API's rules (a CCCD
    /// number of 5 digits, written into the vault around `add_document`)
    /// is refused with the document and the rule named, and nothing of it
    /// is added: not the valid first document, nor any profile or file.
    #[test]
    fn a_backup_with_an_invalid_document_is_refused_whole_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let mut v = vault(dir.path());
        let mut fields = BTreeMap::new();
        for (k, val) in [
            ("number", "079095001234"),
            ("full_name", "Nguyễn Văn Bình"),
            ("date_of_birth", "1995-08-15"),
            ("sex", "nam"),
            ("nationality", "Việt Nam"),
            ("place_of_origin", "Quảng Nam"),
            ("place_of_residence", "Đà Nẵng"),
            ("issue_date", "2021-04-01"),
        ] {
            fields.insert(k.to_owned(), val.to_owned());
        }
        let doc = v
            .add_document(
                &DocumentInput {
                    profile_id: SELF_PROFILE_ID.into(),
                    kind: DocumentKind::Cccd,
                    fields,
                    custom_fields: vec![],
                },
                &[],
            )
            .unwrap();
        // Sealed properly, so only validation can catch it.
        doc_rows::rewrite_body(&v.conn, &v.key, &v.rng, &doc.id, |b| {
            b.fields.insert("number".into(), "07909".into());
            Ok(())
        })
        .unwrap();
        v.conn
            .execute(
                "UPDATE documents SET number_hash = NULL WHERE id = ?1",
                [&doc.id],
            )
            .unwrap();
        let dest = dir.path().join("b.cdsbackup");
        v.export_backup(&dest, "mật khẩu sao lưu", &mut |_, _| {})
            .unwrap();

        let other = tempfile::tempdir().unwrap();
        let keys = MemoryKeyStore::new();
        let mut w = Vault::create_with_kdf(
            &other.path().join("w.sqlite3"),
            Some(&keys),
            None,
            KdfParams::insecure_fast_kdf_for_tests(),
        )
        .unwrap();
        let before = w.list_profiles().unwrap();
        let err = w
            .import_backup(&dest, "mật khẩu sao lưu", &mut |_, _| {})
            .unwrap_err();
        match &err {
            VaultError::BackupCorrupt(why) => {
                assert!(why.contains(&doc.id), "{why}");
                assert!(why.contains("invalid number"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        assert!(err.to_string().contains("the vault was not changed"));
        assert!(w.list_documents(None).unwrap().is_empty());
        assert_eq!(w.list_profiles().unwrap(), before);
        assert!(w.files.list().is_empty(), "no attachment file left");
        w.integrity_check().unwrap();
    }

    /// Documents migrated from version 1 lack fields the API now requires;
    /// their backups still restore (values are checked, presence is not).
    #[test]
    fn restored_documents_may_lack_required_fields_but_not_have_bad_values() {
        let today = crate::latest_date_on_earth();
        let mut input = DocumentInput {
            profile_id: SELF_PROFILE_ID.into(),
            kind: DocumentKind::Cccd,
            fields: [
                ("number".to_owned(), "079095001234".to_owned()),
                ("full_name".to_owned(), " Nguyễn Văn Bình ".to_owned()),
                ("date_of_birth".to_owned(), "1995-08-15".to_owned()),
                ("sex".to_owned(), "nam".to_owned()),
            ]
            .into(),
            custom_fields: vec![],
        };
        assert!(crate::validate::validate_document(&input, today).is_err());
        let valid = validate_restored_document(&input, today).unwrap();
        assert_eq!(valid.fields["full_name"], "Nguyễn Văn Bình", "normalised");
        input.fields.insert("sex".into(), "nu".into());
        assert!(
            validate_restored_document(&input, today).is_err(),
            "the number's sex digit still has to match"
        );
        input.fields.insert("sex".into(), "nam".into());
        input.fields.insert("colour".into(), "blue".into());
        assert!(validate_restored_document(&input, today).is_err());
    }

    #[test]
    fn the_writer_never_seals_an_empty_last_chunk_and_frames_round_trip() {
        let key = BackupKey::derive("passphrase", &[1; SALT_LEN], 1000).unwrap();
        let header = Header::new(1000, [1; SALT_LEN], &key.check_value()).unwrap();
        // Exactly one full chunk of data: one chunk, flagged last.
        let mut w = ChunkWriter::new(Vec::new(), &key, header.hash);
        w.write(&vec![5u8; CHUNK_SIZE]).unwrap();
        let (out, n) = w.finish().unwrap();
        assert_eq!(out.len(), CHUNK_SIZE + TAG_LEN);
        assert_eq!(n as usize, out.len());
        assert!(key
            .open_chunk(0, &chunk_aad(&header.hash, 0, true), &out)
            .is_ok());
    }

    #[test]
    fn headers_round_trip_and_refuse_bad_values() {
        let h = Header::new(600_000, [3; SALT_LEN], &[9; HASH_LEN]).unwrap();
        let p = Header::parse(&h.bytes, 1000).unwrap();
        assert_eq!(
            (p.iterations, p.salt, p.chunk_size, p.check),
            (600_000, [3; SALT_LEN], CHUNK_SIZE as u32, [9; HASH_LEN])
        );
        // A valid hash over a too-low iteration count is still refused.
        let mut low = h.bytes;
        low[11..15].copy_from_slice(&999u32.to_be_bytes());
        let hash = sha256(&low[..HEADER_FIELDS_LEN]);
        low[HEADER_FIELDS_LEN..].copy_from_slice(&hash);
        assert!(matches!(
            Header::parse(&low, 1000),
            Err(VaultError::BackupCorrupt(r)) if r.contains("iterations")
        ));
        assert!(Header::parse(&h.bytes, HEADER_LEN as u64).is_err());
    }

    #[test]
    fn weak_backup_passphrases_are_refused() {
        for p in ["", "short", "aaaaaaaaaa", "          ", "abc\u{0}defgh"] {
            assert_eq!(check_backup_passphrase(p).unwrap_err().kind(), "weak_pin");
        }
        assert!(check_backup_passphrase("mật khẩu sao lưu").is_ok());
    }
}
