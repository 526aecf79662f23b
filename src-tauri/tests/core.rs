//! The shell's command behaviour without a window: a real vault with its key
//! in the real OS keyring (Secret Service; `cargo xtask test` provides the
//! session), a real backend over HTTPS on loopback.

use base64::Engine as _;
use cds_backend::{serve, tls::ensure_dev_tls, AppState};
use cds_view::{
    BackupOp, DeliveryState, DocumentInput, DocumentKind, ErrorKind, NewAttachmentInput,
    NewDocumentInput, SubmitInput, VaultState,
};
use cong_dan_so_lib::config::Config;
use cong_dan_so_lib::core::AppCore;
use std::net::TcpListener;
use std::path::Path;

const PNG: &[u8] = include_bytes!("../icons/icon.png");

fn config(dir: &Path, port: u16) -> Config {
    Config {
        data_dir: Some(dir.join("app")),
        backend_url: format!("https://localhost:{port}"),
        ca_cert: Some(dir.join("tls/ca.pem")),
        keyring_service: format!("cds-core-test-{}", uuid::Uuid::new_v4()),
    }
}

fn cccd() -> NewDocumentInput {
    NewDocumentInput {
        document: DocumentInput {
            // Empty: the shell's caller picks the profile; the tests use the
            // first ("self") one, see `with_profile`.
            profile_id: String::new(),
            kind: DocumentKind::Cccd,
            fields: [
                ("number", "001199012345"),
                ("full_name", "Phạm Thị Hương"),
                ("date_of_birth", "1999-03-04"),
                ("sex", "nu"),
                ("nationality", "Việt Nam"),
                ("place_of_origin", "Hà Nội"),
                ("place_of_residence", "Hoàn Kiếm, Hà Nội"),
                ("issue_date", "2021-06-01"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
            custom_fields: vec![],
        },
        attachments: vec![NewAttachmentInput {
            file_name: "cccd-mat-truoc.png".into(),
            mime: "image/png".into(),
            data_base64: base64::engine::general_purpose::STANDARD.encode(PNG),
        }],
    }
}

fn with_profile(core: &AppCore, mut input: NewDocumentInput) -> NewDocumentInput {
    input.document.profile_id = core.list_profiles().unwrap()[0].id.clone();
    input
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_submit_then_sync_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let tls = ensure_dev_tls(&dir.path().join("tls")).unwrap();
    // Reserve a port, then free it: nothing listens until the city "comes
    // online" below.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = config(dir.path(), port);
    let data = cfg.data_dir.clone().unwrap();

    let core = AppCore::start(&cfg, &data);
    assert_eq!(
        core.status().vault_error,
        None,
        "vault opens with the OS keyring"
    );
    assert_eq!(core.status().vault_state, VaultState::Open);
    let doc = core.add_document(with_profile(&core, cccd())).unwrap();
    assert_eq!(doc.attachments.len(), 1);
    let url = core.attachment_data_url(&doc.attachments[0].id).unwrap();
    assert!(url.starts_with("data:image/png;base64,"));
    let thumb = core.thumbnail_data_url(&doc.attachments[0].id).unwrap();
    assert!(thumb.unwrap().starts_with("data:image/jpeg;base64,"));

    // Offline (nothing listens yet): submit queues.
    let view = core
        .submit_application(SubmitInput {
            service_code: "1.001612".into(),
            document_ids: vec![doc.id.clone()],
        })
        .unwrap();
    assert_eq!(view.delivery, DeliveryState::Queued);
    let report = core.sync().await;
    assert_eq!(report.delivered, 0);
    assert_eq!(report.still_pending, 1);
    assert_eq!(
        report.error.map(|e| e.kind),
        Some(ErrorKind::BackendUnreachable)
    );
    let listed = core.list_applications().unwrap();
    assert_eq!(
        listed[0].last_error.as_ref().map(|e| e.kind),
        Some(ErrorKind::BackendUnreachable)
    );

    // Restart the app: same data dir, same keyring entry.
    drop(core);
    let core = AppCore::start(&cfg, &data);
    let listed = core.list_documents(None).unwrap();
    assert_eq!(listed[0].title, "Phạm Thị Hương");
    assert_eq!(listed[0].date_of_birth, "1999-03-04");
    assert!(listed[0].thumbnail_id.is_some());
    // The application is linked to the document it sent, and logged.
    let key = core.list_applications().unwrap()[0].idempotency_key.clone();
    assert_eq!(core.application_documents(&key).unwrap()[0].id, doc.id);
    assert!(!core.access_log().unwrap().is_empty());
    assert_eq!(core.status().pending_count, 1);

    // The city comes online.
    let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
    listener.set_nonblocking(true).unwrap();
    let state = AppState::open(&dir.path().join("backend.sqlite3")).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        serve(listener, state, &tls, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    let report = core.sync().await;
    assert_eq!(report.delivered, 1, "{report:?}");
    assert_eq!(report.error, None);
    let apps = core.list_applications().unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].delivery, DeliveryState::Delivered);
    assert_eq!(apps[0].status, Some(cds_api::ApplicationStatus::Received));
    assert!(apps[0]
        .case_number
        .as_deref()
        .unwrap_or("")
        .starts_with("HS-"));
    assert_eq!(core.status().pending_count, 0);
    assert_eq!(core.status().last_sync_error, None);

    // Again: nothing more is sent.
    assert_eq!(core.sync().await.delivered, 0);
    let conn = rusqlite::Connection::open(dir.path().join("backend.sqlite3")).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM applications", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1);
    let _ = stop.send(());
    server.await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_rejected_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    ensure_dev_tls(&dir.path().join("tls")).unwrap();
    let cfg = config(dir.path(), 9);
    let core = AppCore::start(&cfg, cfg.data_dir.as_ref().unwrap());
    let mut bad = with_profile(&core, cccd());
    bad.document.fields.insert("number".into(), "12345".into());
    let err = core.add_document(bad).unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert_eq!(err.field.as_deref(), Some("number"), "{err:?}");
    let mut bad = with_profile(&core, cccd());
    bad.attachments[0].data_base64 = "%%% not base64".into();
    assert_eq!(
        core.add_document(bad).unwrap_err().kind,
        ErrorKind::InvalidInput
    );
    let mut bad = with_profile(&core, cccd());
    bad.attachments[0].data_base64 =
        base64::engine::general_purpose::STANDARD.encode(b"plain text, not an image");
    assert_eq!(
        core.add_document(bad).unwrap_err().kind,
        ErrorKind::UnsupportedFile
    );
    // 200 MB on disk is refused from its size, without reading it.
    let huge = dir.path().join("huge.jpg");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(200 * 1024 * 1024)
        .unwrap();
    let err = cong_dan_so_lib::core::read_attachment_file(&huge).unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge);
    assert!(core.list_documents(None).unwrap().is_empty());
    let err = core
        .submit_application(SubmitInput {
            service_code: "nope".into(),
            document_ids: vec![],
        })
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    // A service needs a CCCD; without one nothing is queued.
    let err = core
        .submit_application(SubmitInput {
            service_code: "1.001612".into(),
            document_ids: vec![],
        })
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::InvalidInput);
    assert_eq!(core.status().pending_count, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_vault_is_reported_and_not_touched() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 9);
    let data = cfg.data_dir.clone().unwrap();
    std::fs::create_dir_all(&data).unwrap();
    let garbage = vec![0xA5u8; 8192];
    std::fs::write(data.join("vault.sqlite3"), &garbage).unwrap();
    let core = AppCore::start(&cfg, &data);
    assert_eq!(
        core.status().vault_error.map(|e| e.kind),
        Some(ErrorKind::VaultCorrupt)
    );
    assert_eq!(core.status().vault_state, VaultState::Unavailable);
    assert_eq!(
        core.add_document(cccd()).unwrap_err().kind,
        ErrorKind::VaultUnavailable
    );
    assert_eq!(std::fs::read(data.join("vault.sqlite3")).unwrap(), garbage);
}

#[tokio::test(flavor = "multi_thread")]
async fn pin_lock_unlock_and_backup_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 9);
    let data = cfg.data_dir.clone().unwrap();
    let core = AppCore::start(&cfg, &data);
    let doc = core.add_document(with_profile(&core, cccd())).unwrap();

    // No PIN: locking is refused (nothing could unlock it).
    assert_eq!(core.lock_vault().unwrap_err().kind, ErrorKind::NoPin);
    assert_eq!(core.set_pin("111111").unwrap_err().kind, ErrorKind::WeakPin);
    core.set_pin("583029").unwrap();
    assert!(core.status().has_pin);
    core.lock_vault().unwrap();
    assert_eq!(core.status().vault_state, VaultState::Locked);
    assert_eq!(
        core.list_documents(None).unwrap_err().kind,
        ErrorKind::VaultLocked
    );
    assert_eq!(core.unlock("000000").unwrap_err().kind, ErrorKind::WrongPin);
    core.unlock("583029").unwrap();
    assert_eq!(
        core.get_document(&doc.id).unwrap().fields["full_name"],
        "Phạm Thị Hương"
    );

    // Backup to a file, restore into a fresh app with its own keyring entry.
    let path = dir.path().join("out/backup.cds");
    let path = path.to_str().unwrap();
    let s = core
        .run_backup(BackupOp::Export, path, "mật khẩu dài")
        .unwrap();
    assert_eq!(s.documents, 1);
    let p = core.backup_progress();
    assert!(!p.running && p.done == p.total && p.total > 0, "{p:?}");
    let cfg2 = config(dir.path(), 9);
    let cfg2 = cong_dan_so_lib::config::Config {
        data_dir: Some(dir.path().join("app2")),
        ..cfg2
    };
    let fresh = AppCore::start(&cfg2, cfg2.data_dir.as_ref().unwrap());
    assert_eq!(
        fresh
            .run_backup(BackupOp::Import, path, "wrong passphrase")
            .unwrap_err()
            .kind,
        ErrorKind::WrongPassphrase
    );
    assert!(fresh.list_documents(None).unwrap().is_empty());
    fresh
        .run_backup(BackupOp::Import, path, "mật khẩu dài")
        .unwrap();
    let listed = fresh.list_documents(None).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].title, "Phạm Thị Hương");
    assert!(listed[0].thumbnail_id.is_some());
    // Search ignores diacritics.
    assert_eq!(
        fresh
            .search_documents(None, "pham thi huong")
            .unwrap()
            .len(),
        1
    );
}
