//! The app core's behaviour without a window: a real vault with its key in
//! the real OS keyring (Secret Service; `cargo xtask test` provides the
//! session), a real backend over HTTPS on loopback
//! (`cds_test_support::TestCity`, keeping its files in the test's folder so
//! the app finds the city's CA at `<dir>/tls/ca.pem`).

// A test fails at the first step that does not work, with what it saw.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use base64::Engine as _;
use cds_app::{AppConfig, AppCore};
use cds_backend::tls::ensure_dev_tls;
use cds_test_support::TestCity;
use cds_view::{
    BackupOp, DeliveryState, DocumentInput, DocumentKind, ErrorKind, NewAttachmentInput,
    NewDocumentInput, QrDisclosure, ScanImageInput, ScanResultView, SubmitInput, VaultState,
    VerifyOutcome,
};
use std::net::TcpListener;
use std::path::Path;

const PNG: &[u8] = include_bytes!("../../../src-tauri/icons/icon.png");

/// The core's configuration and its data folder (`<dir>/app`).
struct Config {
    data_dir: Option<std::path::PathBuf>,
    app: AppConfig,
}

impl std::ops::Deref for Config {
    type Target = AppConfig;
    fn deref(&self) -> &AppConfig {
        &self.app
    }
}

fn config(dir: &Path, port: u16) -> Config {
    Config {
        data_dir: Some(dir.join("app")),
        app: AppConfig {
            backend_url: format!("https://localhost:{port}"),
            ca_cert: Some(dir.join("tls/ca.pem")),
            keyring_service: format!("cds-core-test-{}", uuid::Uuid::new_v4()),
            camera_files: Vec::new(),
        },
    }
}

/// An attachment's bytes as the vault stores them, through a second
/// connection to the app's vault (same file, same keyring entry).
fn stored_bytes(cfg: &Config, attachment_id: &str) -> Vec<u8> {
    let keys = cds_vault::OsKeyring::new(&cfg.keyring_service, cds_app::KEYRING_ACCOUNT);
    let path = cfg.data_dir.as_ref().unwrap().join("vault.sqlite3");
    let vault = cds_vault::Vault::open(&path, &keys).unwrap();
    vault.attachment_bytes(attachment_id).unwrap().to_vec()
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
    // The city's port is reserved but refuses connections until the city
    // "comes online" below.
    let offline = TestCity::builder().dir(dir.path()).offline();
    let cfg = config(dir.path(), offline.port());
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
    // Typed by its content, and stored exactly (read back from the vault
    // itself: the app has no "whole attachment" command).
    assert_eq!(doc.attachments[0].mime, "image/png");
    assert_eq!(stored_bytes(&cfg, &doc.attachments[0].id), PNG);
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
    let city = offline.start().await;
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
    let conn = rusqlite::Connection::open(city.db_path()).unwrap();
    let rows: i64 = conn
        .query_row("SELECT COUNT(*) FROM applications", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1);
    city.stop().await;
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
    let err = cds_app::read_attachment_file(&huge).unwrap_err();
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
    let cfg2 = Config {
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

/// The reference city over HTTPS on port 0, its files (and so its CA) in
/// `dir`.
async fn city(dir: &Path) -> TestCity {
    TestCity::builder().dir(dir).start().await
}

fn png_of(img: &image::GrayImage) -> Vec<u8> {
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png
}

/// A picked file, as the UI sends it.
fn picked(file_name: &str, bytes: &[u8]) -> ScanImageInput {
    ScanImageInput {
        file_name: file_name.into(),
        data_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

/// A picture of a QR code holding `text`.
fn picture(text: &str) -> ScanImageInput {
    picked(
        "qr.png",
        &png_of(&cds_qr::render::render_image(text, 6).unwrap()),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn citizen_qr_activate_show_scan_refresh_and_forget() {
    let dir = tempfile::tempdir().unwrap();
    let city = city(dir.path()).await;
    let state = city.state();
    let cfg = config(dir.path(), city.port());
    let core = AppCore::start(&cfg, cfg.data_dir.as_ref().unwrap());
    core.add_document(with_profile(&core, cccd())).unwrap();

    // Not activated: nothing to show, and the officer check has no keys.
    let mine = core.my_qr().unwrap();
    assert!(!mine.enrolled && mine.options.is_empty());
    assert_eq!(
        core.show_qr(QrDisclosure::Full).unwrap_err().kind,
        ErrorKind::NotFound
    );
    // A wrong code, and an empty one.
    let wrong = core.activate_qr("ABCD-EFGH").await.unwrap_err();
    assert_eq!(wrong.kind, ErrorKind::ActivationCode, "{wrong:?}");
    assert!(wrong.message.contains("code"), "{wrong:?}");
    assert_eq!(
        core.activate_qr("  ").await.unwrap_err().kind,
        ErrorKind::InvalidInput
    );

    let code = state
        .create_enrollment(
            cds_api::CreateEnrollment {
                number: "001199012345".into(),
                full_name: "Phạm Thị Hương".into(),
                date_of_birth: "1999-03-04".into(),
            },
            cds_backend::credentials::unix_now(),
        )
        .await
        .unwrap();
    // Typed in lower case without the dash: still accepted.
    let typed = code.code.replace('-', "").to_lowercase();
    let mine = core.activate_qr(&typed).await.unwrap();
    assert!(mine.enrolled);
    assert_eq!(mine.full_name.as_deref(), Some("Phạm Thị Hương"));
    assert_eq!(mine.number_masked.as_deref(), Some("001•••••2345"));
    assert_eq!(mine.options.len(), 3);
    assert!(mine.options.iter().all(|o| o.seconds_left > 6 * 86_400));
    // The code is single use.
    assert_eq!(
        core.activate_qr(&code.code).await.unwrap_err().kind,
        ErrorKind::ActivationCode
    );
    // Keys were fetched while activating.
    let trust = core.trust_status().unwrap();
    assert_eq!(trust.keys, 1);
    assert!(trust.revocations_as_of.is_some());

    // Show: an SVG, the CCCD photo beside it, and a line in the access log.
    let before = core.access_log().unwrap().len();
    let shown = core.show_qr(QrDisclosure::Over18).unwrap();
    assert!(shown.svg.contains("<svg"));
    assert_eq!(shown.holder_name, "Phạm Thị Hương");
    assert!(shown
        .photo_data_url
        .as_deref()
        .unwrap_or("")
        .starts_with("data:image/jpeg;base64,"));
    let log = core.access_log().unwrap();
    assert_eq!(log.len(), before + 1);
    assert!(log
        .iter()
        .any(|d| d.channel == cds_view::DisclosureChannel::Qr));

    // Officer mode: the app's own full credential, as a picture.
    let stored = {
        let vault_path = cfg.data_dir.as_ref().unwrap().join("vault.sqlite3");
        drop(core);
        let keys = cds_vault::OsKeyring::new(&cfg.keyring_service, "vault-kek");
        let v = cds_vault::Vault::open(&vault_path, &keys).unwrap();
        v.credentials("self").unwrap().unwrap()
    };
    let core = AppCore::start(&cfg, cfg.data_dir.as_ref().unwrap());
    let full = stored
        .credentials
        .iter()
        .find(|c| c.disclosure == "full")
        .unwrap();
    match core.scan_image(picture(&full.text)).unwrap() {
        ScanResultView::Credential { check } => {
            assert_eq!(check.outcome, VerifyOutcome::Valid, "{check:?}");
            assert_eq!(check.id_number.as_deref(), Some("001199012345"));
            assert_eq!(check.date_of_birth.as_deref(), Some("1999-03-04"));
        }
        other => panic!("{other:?}"),
    }
    // Forged: signed by another key.
    let other = cds_qr::credential::SigningKey::from_pkcs8(
        &cds_qr::credential::SigningKey::generate_pkcs8().unwrap(),
    )
    .unwrap();
    let claims = cds_qr::credential::Claims::new(
        &cds_qr::credential::Subject {
            id_number: "001199012345".into(),
            full_name: "Phạm Thị Hương".into(),
            date_of_birth: "1999-03-04".into(),
        },
        cds_qr::credential::Disclosure::Full,
        "x",
        cds_backend::credentials::unix_now(),
        3600,
    )
    .unwrap();
    match core
        .scan_image(picture(&other.issue(&claims).unwrap()))
        .unwrap()
    {
        ScanResultView::Credential { check } => {
            assert_eq!(check.outcome, VerifyOutcome::Forged);
            assert_eq!(check.full_name, None, "nothing forged is shown");
        }
        other => panic!("{other:?}"),
    }
    // Revoked once the device has the new list.
    state
        .revoke_credential(&full.credential_id, cds_backend::credentials::unix_now())
        .await
        .unwrap();
    core.update_trust().await.unwrap();
    match core.scan_image(picture(&full.text)).unwrap() {
        ScanResultView::Credential { check } => {
            assert_eq!(check.outcome, VerifyOutcome::Revoked)
        }
        other => panic!("{other:?}"),
    }
    // An ID card QR is routed to the form, and recognised as already there.
    match core
        .scan_image(picture(
            "001199012345||Phạm Thị Hương|04031999|Nữ|Hoàn Kiếm, Hà Nội|01062021",
        ))
        .unwrap()
    {
        ScanResultView::Cccd { card } => {
            assert_eq!(card.full_name, "Phạm Thị Hương");
            assert_eq!(card.date_of_birth, "1999-03-04");
            assert_eq!(card.sex, "nu");
            assert!(card.existing_document_id.is_some());
        }
        other => panic!("{other:?}"),
    }
    match core
        .scan_image(picture("https://a.example@b.example/x"))
        .unwrap()
    {
        ScanResultView::Url { host, .. } => assert_eq!(host, "b.example"),
        other => panic!("{other:?}"),
    }
    // Bad pictures.
    assert_eq!(
        core.scan_image(picked("a.txt", "xin chào".as_bytes()))
            .unwrap_err()
            .kind,
        ErrorKind::NotAnImage
    );
    assert_eq!(
        core.scan_image(picked("icon.png", PNG)).unwrap_err().kind,
        ErrorKind::NoQrFound
    );

    // Refresh: new credentials (new ids), old ones replaced.
    let mine = core.refresh_qr().await.unwrap();
    assert_eq!(mine.options.len(), 3);
    let keys = cds_vault::OsKeyring::new(&cfg.keyring_service, "vault-kek");
    drop(core);
    let vault_path = cfg.data_dir.as_ref().unwrap().join("vault.sqlite3");
    let after = cds_vault::Vault::open(&vault_path, &keys)
        .unwrap()
        .credentials("self")
        .unwrap()
        .unwrap();
    assert!(after
        .credentials
        .iter()
        .all(|c| c.credential_id != full.credential_id));
    let core = AppCore::start(&cfg, cfg.data_dir.as_ref().unwrap());

    // Forget: the city stops accepting the token, the device forgets all.
    core.forget_qr().await.unwrap();
    let mine = core.my_qr().unwrap();
    assert!(!mine.enrolled && mine.options.is_empty());
    assert_eq!(
        core.refresh_qr().await.unwrap_err().kind,
        ErrorKind::Unauthorized
    );
    city.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_background_tick_refreshes_credentials_before_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    // The city's clock runs five days behind while the device activates,
    // so the 7-day credentials it gets have two days left: due.
    let now = time::OffsetDateTime::now_utc();
    let clock = cds_domain::ManualClock::new(now - time::Duration::days(5));
    let city = TestCity::builder()
        .dir(dir.path())
        .clock(clock.clone())
        .start()
        .await;
    let state = city.state();
    let port = city.port();
    let cfg = config(dir.path(), port);
    let core = AppCore::start(&cfg, cfg.data_dir.as_ref().unwrap());
    let code = state
        .create_enrollment(
            cds_api::CreateEnrollment {
                number: "001199012345".into(),
                full_name: "Phạm Thị Hương".into(),
                date_of_birth: "1999-03-04".into(),
            },
            state.now(),
        )
        .await
        .unwrap();
    let before = core.activate_qr(&code.code).await.unwrap();
    let left = before.options.iter().map(|o| o.seconds_left).min().unwrap();
    assert!(left < 3 * 86_400, "{before:?}");

    // The clock is right again; the tick sees the codes are due.
    clock.set(now);
    core.qr_tick().await;
    let after = core.my_qr().unwrap();
    assert_eq!(after.refresh_error, None);
    let left = after.options.iter().map(|o| o.seconds_left).min().unwrap();
    assert!(left > 6 * 86_400, "{after:?}");
    city.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn scanning_handles_huge_and_broken_pictures_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 9);
    let core = AppCore::start(&cfg, cfg.data_dir.as_ref().unwrap());
    // 50 megapixels (a phone camera's full resolution): read, downscaled,
    // and answered clearly (no code in a white picture).
    let big = image::GrayImage::from_pixel(8_000, 6_250, image::Luma([255u8]));
    let err = core
        .scan_image(picked("50mp.png", &png_of(&big)))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NoQrFound, "{err:?}");
    // A header claiming 130 megapixels is refused before any decoding.
    let err = core
        .scan_image(picked("bomb.png", &png_claiming(13_000, 10_000)))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::TooLarge, "{err:?}");
    // A PNG cut in half.
    let mut cut = png_of(&cds_qr::render::render_image("xin chào", 4).unwrap());
    cut.truncate(cut.len() / 2);
    let err = core.scan_image(picked("cut.png", &cut)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotAnImage, "{err:?}");
    // Not base64 at all.
    let err = core
        .scan_image(ScanImageInput {
            file_name: "x.png".into(),
            data_base64: "%%%".into(),
        })
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotAnImage);
    // A plain-text QR is routed as text, shown as it is.
    match core
        .scan_image(picture("Giấy hẹn trả kết quả số 42"))
        .unwrap()
    {
        ScanResultView::Text { text } => assert_eq!(text, "Giấy hẹn trả kết quả số 42"),
        other => panic!("{other:?}"),
    }
}

/// A small PNG whose header claims `w`×`h` pixels (a decompression bomb's
/// shape): the IHDR size is patched and its CRC recomputed.
fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut png = png_of(&image::GrayImage::from_pixel(8, 8, image::Luma([255u8])));
    // Signature (8) + length (4) + "IHDR" (4), then width and height.
    png[16..20].copy_from_slice(&w.to_be_bytes());
    png[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    png
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[tokio::test(flavor = "multi_thread")]
async fn reminders_count_from_the_citizens_local_date() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), 9);
    let core = AppCore::start(&cfg, cfg.data_dir.as_ref().unwrap());
    let utc = time::OffsetDateTime::now_utc().date();
    let iso = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
    let mut input = with_profile(&core, cccd());
    input
        .document
        .fields
        .insert("expiry_date".into(), iso(utc + time::Duration::days(10)));
    core.add_document(input).unwrap();
    let days = |today: Option<&str>| core.expiry_reminders(today).unwrap()[0].days_left;
    assert_eq!(days(None), 10);
    // After midnight in Hà Nội, before midnight UTC: already tomorrow.
    assert_eq!(days(Some(&iso(utc + time::Duration::days(1)))), 9);
    // A device date far from the real one is not trusted; garbage neither.
    assert_eq!(days(Some(&iso(utc + time::Duration::days(5)))), 10);
    assert_eq!(days(Some("29/11/2026")), 10);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_application_is_not_resent_by_the_background_tick() {
    let dir = tempfile::tempdir().unwrap();
    let city = city(dir.path()).await;
    let cfg = config(dir.path(), city.port());
    let data = cfg.data_dir.clone().unwrap();
    // The device's cached catalogue lists a service the city has since
    // withdrawn: submitting works offline, the city then refuses it.
    let mut catalogue = cds_api::seed_catalogue().unwrap();
    let mut gone = catalogue[0].clone();
    gone.code = "9.999999".into();
    catalogue.push(gone);
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(
        data.join("catalogue.json"),
        serde_json::to_vec(&catalogue).unwrap(),
    )
    .unwrap();
    let core = AppCore::start(&cfg, &data);
    let doc = core.add_document(with_profile(&core, cccd())).unwrap();
    core.submit_application(SubmitInput {
        service_code: "9.999999".into(),
        document_ids: vec![doc.id.clone()],
    })
    .unwrap();
    assert!(core.has_pending());
    let report = core.sync_background().await;
    assert_eq!(
        report.error.map(|e| e.kind),
        Some(ErrorKind::BackendRejected)
    );
    assert_eq!(report.still_pending, 1);
    // Held back: the tick has nothing to send, the reason stays on the
    // application, and it is still queued (nothing is lost).
    assert!(!core.has_pending());
    let apps = core.list_applications().unwrap();
    assert_eq!(apps[0].delivery, DeliveryState::Queued);
    assert_eq!(
        apps[0].last_error.as_ref().map(|e| e.kind),
        Some(ErrorKind::BackendRejected)
    );
    let quiet = core.sync_background().await;
    assert_eq!(quiet.error, None, "nothing was sent");
    // "Sync now" tries it again (and the city refuses again).
    let again = core.sync().await;
    assert_eq!(
        again.error.map(|e| e.kind),
        Some(ErrorKind::BackendRejected)
    );
    assert!(!core.has_pending());
    city.stop().await;
}

/// A colour test card: red left half, blue right half.
fn colour_card(path: &Path, width: u32, height: u32) {
    image::RgbImage::from_fn(width, height, |x, _| {
        if x < width / 2 {
            image::Rgb([220, 30, 30])
        } else {
            image::Rgb([30, 30, 220])
        }
    })
    .save(path)
    .unwrap();
}

/// Only a guard against a hung run: the virtual camera gives a frame every
/// 33 ms.
fn poll<T>(mut f: impl FnMut() -> Option<T>) -> T {
    let start = std::time::Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "timed out"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_camera_photo_becomes_an_attachment_and_the_camera_scans_codes() {
    let dir = tempfile::tempdir().unwrap();
    let card = dir.path().join("card.png");
    colour_card(&card, 1280, 720);
    let mut cfg = config(dir.path(), 9);
    cfg.app.camera_files = vec![card.clone()];
    let core = AppCore::start(&cfg, cfg.data_dir.as_ref().unwrap());

    let a = core.camera_availability();
    assert!(a.available, "{a:?}");
    assert!(a.camera_name.unwrap().contains("virtual camera"));
    // Nothing open yet: taking is refused, the view is idle.
    assert_eq!(
        core.photo_take().unwrap_err().kind,
        ErrorKind::CameraUnavailable
    );
    assert!(!core.photo_view().running);

    let started = core.photo_start().unwrap();
    assert!(started.running);
    let live = poll(|| {
        let v = core.photo_view();
        (v.frames > 0 && v.preview_data_url.is_some()).then_some(v)
    });
    assert_eq!((live.width, live.height), (1280, 720));
    assert!(live
        .preview_data_url
        .unwrap()
        .starts_with("data:image/jpeg;base64,"));
    // The QR scanner's view knows nothing of a photo preview.
    assert!(!core.camera_view().running);

    let photo = core.photo_take().unwrap();
    assert_eq!(photo.mime, "image/jpeg");
    assert_eq!((photo.width, photo.height), (1280, 720));
    let jpeg = base64::engine::general_purpose::STANDARD
        .decode(&photo.data_base64)
        .unwrap();
    assert_eq!(jpeg.len() as u64, photo.bytes);
    let img = image::load_from_memory(&jpeg).unwrap().to_rgb8();
    assert!(
        img.get_pixel(100, 360)[0] > 180,
        "the photo lost its colour"
    );
    assert!(
        img.get_pixel(1180, 360)[2] > 180,
        "the photo lost its colour"
    );
    // Taking frees the camera.
    assert!(!core.photo_view().running);

    // The photo goes into the vault like a picked file, with a thumbnail.
    let mut input = with_profile(&core, cccd());
    input.attachments = vec![NewAttachmentInput {
        file_name: "Ảnh chụp 2026-11-29 10.45.jpg".into(),
        mime: photo.mime.clone(),
        data_base64: photo.data_base64.clone(),
    }];
    let doc = core.add_document(input).unwrap();
    let stored = core.get_document(&doc.id).unwrap();
    assert_eq!(stored.attachments.len(), 1);
    let att = &stored.attachments[0];
    assert_eq!(att.file_name, "Ảnh chụp 2026-11-29 10.45.jpg");
    assert_eq!(att.size, photo.bytes);
    assert_eq!(att.mime, "image/jpeg");
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(stored_bytes(&cfg, &att.id)),
        photo.data_base64
    );
    assert!(core.thumbnail_data_url(&att.id).unwrap().is_some());

    // Starting a scan stops a photo preview (one camera user at a time).
    core.photo_start().unwrap();
    core.camera_start().unwrap();
    assert!(!core.photo_view().running);
    core.camera_stop();
    assert!(!core.camera_view().running);

    // The same virtual camera pointed at a code: the scanner reads and
    // routes it as it would from a webcam.
    let code = dir.path().join("code.png");
    std::fs::write(
        &code,
        png_of(&cds_qr::render::render_image("https://dichvucong.gov.vn/p/home", 6).unwrap()),
    )
    .unwrap();
    let mut cfg2 = config(dir.path(), 9);
    cfg2.data_dir = Some(dir.path().join("app2"));
    cfg2.app.camera_files = vec![card.clone(), code];
    let core2 = AppCore::start(&cfg2, cfg2.data_dir.as_ref().unwrap());
    core2.camera_start().unwrap();
    let found = poll(|| core2.camera_view().result);
    match found {
        ScanResultView::Url { host, .. } => assert_eq!(host, "dichvucong.gov.vn"),
        other => panic!("{other:?}"),
    }
    core2.camera_stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn camera_trouble_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("not-a-picture.png");
    std::fs::write(&bad, b"hello").unwrap();
    let mut cfg = config(dir.path(), 9);
    cfg.app.camera_files = vec![bad];
    let core = AppCore::start(&cfg, cfg.data_dir.as_ref().unwrap());
    let e = core.photo_start().unwrap_err();
    assert_eq!(e.kind, ErrorKind::CameraUnavailable);
    assert!(e.message.contains("image"), "{e:?}");
    assert!(!core.photo_view().running);

    // Real cameras: whatever this machine has, the availability agrees
    // with what the platform lists, and with none, opening says so.
    let cfg = config(dir.path(), 9);
    let core = AppCore::start(&cfg, cfg.data_dir.as_ref().unwrap());
    let listed = cds_camera::list_cameras()
        .map(|c| !c.is_empty())
        .unwrap_or(false);
    assert_eq!(core.camera_availability().available, listed);
    if !listed {
        let e = core.photo_start().unwrap_err();
        assert_eq!(e.kind, ErrorKind::CameraUnavailable);
        assert!(e.message.contains("no camera"), "{e:?}");
    }
}

/// A proxy in front of the city that answers every request with `status`
/// (and `Retry-After: <secs>` when given) and an HTML page (no API body),
/// over the test's dev TLS, on port 0.
fn proxy_answering(dir: &Path, status: u16) -> (u16, axum_server::Handle) {
    proxy_answering_with(dir, status, None)
}

fn proxy_answering_with(
    dir: &Path,
    status: u16,
    retry_after: Option<u64>,
) -> (u16, axum_server::Handle) {
    let tls = ensure_dev_tls(&dir.join("tls")).unwrap();
    let config = axum_server::tls_rustls::RustlsConfig::from_config(std::sync::Arc::new(
        tls.server_config().unwrap(),
    ));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = axum::Router::new().fallback(move || async move {
        let mut answer = axum::response::Response::builder()
            .status(status)
            .header("content-type", "text/html");
        if let Some(secs) = retry_after {
            answer = answer.header("retry-after", secs.to_string());
        }
        answer
            .body(axum::body::Body::from(
                "<html><body><h1>Bad Gateway</h1></body></html>",
            ))
            .unwrap()
    });
    let handle = axum_server::Handle::new();
    let server = axum_server::from_tcp_rustls(listener, config)
        .handle(handle.clone())
        .serve(router.into_make_service());
    tokio::spawn(async move {
        let _ = server.await;
    });
    (port, handle)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxys_502_keeps_the_application_queued_and_the_scheduler_backs_off() {
    use cds_app::backoff::Attempt;
    let dir = tempfile::tempdir().unwrap();
    for status in [502, 503, 504] {
        let (port, proxy) = proxy_answering(dir.path(), status);
        let cfg = config(dir.path(), port);
        let data = dir.path().join(format!("app-{status}"));
        let core = AppCore::start(&cfg, &data);
        let doc = core.add_document(with_profile(&core, cccd())).unwrap();
        core.submit_application(SubmitInput {
            service_code: "1.001612".into(),
            document_ids: vec![doc.id.clone()],
        })
        .unwrap();
        // The background tick reports the city unavailable: the scheduler
        // backs off rather than hammering the proxy every few seconds.
        assert_eq!(
            core.tick().await,
            Attempt::Unavailable { retry_after: None },
            "{status}"
        );
        // Not refused: still queued, still sent by the next tick, and the
        // citizen is told the city could not be reached, not that it said no.
        assert!(core.has_pending(), "{status}: not held back as refused");
        let apps = core.list_applications().unwrap();
        assert_eq!(apps[0].delivery, DeliveryState::Queued);
        assert_eq!(
            apps[0].last_error.as_ref().map(|e| e.kind),
            Some(ErrorKind::BackendUnreachable),
            "{status}: {:?}",
            apps[0].last_error
        );
        let report = core.sync().await;
        assert_eq!(report.still_pending, 1);
        assert_eq!(
            report.error.map(|e| e.kind),
            Some(ErrorKind::BackendUnreachable)
        );
        proxy.shutdown();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tick_with_nothing_to_send_is_done() {
    let dir = tempfile::tempdir().unwrap();
    ensure_dev_tls(&dir.path().join("tls")).unwrap();
    // Nothing listens on port 9; nothing is pending either, so the tick
    // does not even try the city.
    let cfg = config(dir.path(), 9);
    let core = AppCore::start(&cfg, cfg.data_dir.as_ref().unwrap());
    assert_eq!(core.tick().await, cds_app::backoff::Attempt::Done);
}

/// A 429 while the outbox drains: the application stays queued, the citizen
/// sees "rate limited" with the city's wait, kept with the application (the
/// vault stores the failure typed, with its Retry-After), and the scheduler
/// waits at least that long.
#[tokio::test(flavor = "multi_thread")]
async fn a_429_during_a_drain_is_rate_limited_with_its_retry_after() {
    use cds_app::backoff::Attempt;
    let dir = tempfile::tempdir().unwrap();
    let (port, proxy) = proxy_answering_with(dir.path(), 429, Some(45));
    let cfg = config(dir.path(), port);
    let core = AppCore::start(&cfg, cfg.data_dir.as_ref().unwrap());
    let doc = core.add_document(with_profile(&core, cccd())).unwrap();
    core.submit_application(SubmitInput {
        service_code: "1.001612".into(),
        document_ids: vec![doc.id.clone()],
    })
    .unwrap();

    let report = core.sync().await;
    let err = report.error.expect("the city limited us");
    assert_eq!(err.kind, ErrorKind::RateLimited, "{err:?}");
    assert_eq!(err.retry_after_secs, Some(45));
    assert_eq!(report.still_pending, 1);
    let apps = core.list_applications().unwrap();
    assert_eq!(apps[0].delivery, DeliveryState::Queued);
    let stored = apps[0].last_error.clone().expect("the reason is kept");
    assert_eq!(stored.kind, ErrorKind::RateLimited);
    assert_eq!(stored.retry_after_secs, Some(45));
    // Temporary, so not held back; the scheduler gets the city's wait.
    assert!(core.has_pending());
    assert_eq!(
        core.tick().await,
        Attempt::Unavailable {
            retry_after: Some(std::time::Duration::from_secs(45))
        }
    );
    proxy.shutdown();
}
