//! The vault's screens in the real window (issue #3, item 10): add with a
//! photo, view, edit, delete, diacritics-insensitive search, backup and
//! restore into a fresh app, PIN set / lock / unlock, and the PIN fallback
//! when the OS keyring is unavailable.

use crate::harness::{answer_file_dialog, sample_photo, AppOptions, BackendPlan, Cccd, Harness};
use anyhow::{ensure, Context, Result};
use std::time::Duration;

const AN: Cccd<'static> = Cccd {
    // 048: Đà Nẵng; 0: a man born in the 1900s; 90: born in 1990.
    number: "048090012345",
    name: "Lê Văn Ân",
    dob: "05/09/1990",
    sex: "nam",
};

/// Adds an "other" document with the given title.
async fn add_other(h: &Harness, title: &str) -> Result<()> {
    h.click("#nav-documents").await?;
    h.click("#add-document").await?;
    h.select("#doc-kind", "other").await?;
    // The fields of the new kind are there on the next tick; typed at once,
    // every character must be kept (and saved: the card shows the title).
    h.type_checked("#doc-field-title", title).await?;
    h.click("#custom-add").await?;
    h.type_into("#custom-label-0", "Nơi cấp").await?;
    h.type_into("#custom-value-0", "UBND phường Hải Châu")
        .await?;
    h.click("#doc-save").await?;
    h.wait_text(".document-card .doc-name", title).await?;
    Ok(())
}

/// Opens a document's detail from the list by (part of) its title.
async fn open_document(h: &Harness, title: &str) -> Result<()> {
    h.wait_text(".document-card .doc-open", title).await?;
    let id = h
        .client
        .execute(
            "for (const b of document.querySelectorAll('.document-card .doc-open')) { \
               if (b.textContent.includes(arguments[0])) { b.click(); \
                 return b.closest('.document-card').dataset.id; } } return null;",
            vec![title.into()],
        )
        .await?;
    ensure!(id.is_string(), "no card titled {title:?}");
    h.wait("#document-detail").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_view_edit_search_and_delete_documents() -> Result<()> {
    let mut h = Harness::start("documents", BackendPlan::Later).await?;
    let r = async {
        // Add a CCCD with a photo: listed with its thumbnail.
        h.add_cccd(&AN, Some(&sample_photo())).await?;
        h.wait("#doc-saved").await?;
        h.wait(".document-card[data-kind='cccd'] img.doc-photo")
            .await?;
        h.wait_text(".document-card .doc-number", AN.number).await?;
        h.wait_text(".document-card .doc-dob", AN.dob).await?;
        add_other(&h, "Giấy khai sinh (bản sao)").await?;
        ensure!(h.count(".document-card").await? == 2);

        // The camera button exists only where there is a camera; this
        // app was given none (the photo test below gives it one).
        h.click("#add-document").await?;
        let camera = if has_real_camera() { "ready" } else { "none" };
        h.wait(&format!(".camera-photo[data-camera='{camera}']"))
            .await?;
        ensure!(
            h.count("#photo-camera").await? == usize::from(camera == "ready"),
            "camera button shown without a camera"
        );
        h.click("#doc-cancel").await?;

        // A form error is shown inline at its field, and nothing is lost.
        h.click("#add-document").await?;
        h.type_into("#doc-number", "12345").await?;
        h.type_into("#doc-name", "Phạm Thị Hoa").await?;
        h.click("#doc-save").await?;
        h.wait("#form-error[data-field='number']").await?;
        h.wait(".field-error[data-field='number']").await?;
        ensure!(
            h.value_of("#doc-name").await? == "Phạm Thị Hoa",
            "typed name kept"
        );
        h.click("#doc-cancel").await?;

        // Search without diacritics finds the accented title, and only it.
        h.type_into("#doc-search", "giay khai sinh").await?;
        h.wait_text(".document-card .doc-name", "Giấy khai sinh")
            .await?;
        wait_count(&h, ".document-card", 1).await?;
        h.type_into("#doc-search", "le van an").await?;
        h.wait_text(".document-card .doc-name", AN.name).await?;
        wait_count(&h, ".document-card", 1).await?;
        h.type_into("#doc-search", "khong co giay nay").await?;
        h.wait("#documents-no-match").await?;
        h.client
            .execute(
                "const s = document.getElementById('doc-search'); s.value = ''; \
                 s.dispatchEvent(new Event('input', {bubbles: true}));",
                vec![],
            )
            .await?;
        wait_count(&h, ".document-card", 2).await?;

        // Detail: every field, the thumbnail; then edit the name.
        open_document(&h, AN.name).await?;
        h.wait_text(".detail-field[data-key='number'] .detail-value", AN.number)
            .await?;
        h.wait_text(
            ".detail-field[data-key='date_of_birth'] .detail-value",
            AN.dob,
        )
        .await?;
        h.wait_text(".detail-field[data-key='sex'] .detail-value", "Nam")
            .await?;
        h.wait(".attachment img.attachment-thumb").await?;
        h.click("#doc-edit").await?;
        h.wait("#document-form[data-mode='edit']").await?;
        ensure!(
            h.value_of("#doc-number").await? == AN.number,
            "form filled from the vault"
        );
        ensure!(
            h.value_of("#doc-dob").await? == AN.dob,
            "date shown as dd/mm/yyyy"
        );
        h.type_into("#doc-name", "Lê Văn Ân Khang").await?;
        h.type_into("#doc-field-place_of_origin", "Hội An, Quảng Nam")
            .await?;
        h.click("#doc-save").await?;
        h.wait_text("#document-detail .detail-title", "Lê Văn Ân Khang")
            .await?;
        h.wait_text(
            ".detail-field[data-key='place_of_origin'] .detail-value",
            "Hội An",
        )
        .await?;
        // The photo survived the edit.
        h.wait(".attachment img.attachment-thumb").await?;

        // Delete needs a confirmation; cancelling keeps the document.
        h.click("#doc-back").await?;
        open_document(&h, "Giấy khai sinh").await?;
        h.wait_text(".detail-custom .detail-value", "UBND phường Hải Châu")
            .await?;
        h.click("#doc-delete").await?;
        h.click("#cancel-delete").await?;
        h.wait_gone("#delete-confirm").await?;
        h.click("#doc-delete").await?;
        h.click("#confirm-delete").await?;
        h.wait("#doc-deleted").await?;
        wait_count(&h, ".document-card", 1).await?;
        h.wait_text(".document-card .doc-name", "Lê Văn Ân Khang")
            .await?;

        // All of it is in the vault, not just on screen.
        h.restart_app().await?;
        h.click("#nav-documents").await?;
        h.wait_text(".document-card .doc-name", "Lê Văn Ân Khang")
            .await?;
        wait_count(&h, ".document-card", 1).await?;
        h.wait(".document-card img.doc-photo").await?;
        Ok(())
    }
    .await;
    h.finish(r).await
}

/// Whether this machine has a webcam (CI machines have none). On Linux the
/// app's camera (nokhwa's V4L2 backend) sees exactly the `/dev/video*`
/// devices, so looking for them answers without building the camera stack
/// into the test binary.
fn has_real_camera() -> bool {
    std::fs::read_dir("/dev").is_ok_and(|dir| {
        dir.flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("video"))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photos_from_the_camera_in_the_add_form_and_a_documents_detail() -> Result<()> {
    // The machine has no camera: the app is given image files to play as
    // one (`CDS_CAMERA_FILES`), a photo and a QR code, so the photo path
    // and the QR scanner run through the real window exactly as with a
    // webcam, from the camera's frames onwards.
    let frames = tempfile::Builder::new()
        .prefix("cds-e2e-camera-")
        .tempdir()?;
    let code = frames.path().join("code.png");
    cds_qr::render::render_image("https://dichvucong.danang.gov.vn/dat-lich", 8)?.save(&code)?;
    let files = std::env::join_paths([sample_photo(), code])?
        .into_string()
        .map_err(|_| anyhow::anyhow!("non-UTF-8 temp path"))?;
    let options = AppOptions {
        env: vec![("CDS_CAMERA_FILES".into(), files)],
        ..Default::default()
    };
    let mut h = Harness::start_with("camera", BackendPlan::Later, options).await?;
    let r = async {
        // In the add form: preview, take, shown as the chosen photo with
        // its thumbnail, stored only on save.
        h.fill_cccd_form(&AN).await?;
        h.wait(".camera-photo[data-camera='ready']").await?;
        h.click("#photo-camera").await?;
        h.wait("#photo-preview").await?;
        // Kept in the artifacts: what the viewfinder looks like.
        h.screenshot("photo-preview").await?;
        h.click("#photo-take").await?;
        h.wait("#doc-photo-chosen[data-source='camera'] img.photo-thumb")
            .await?;
        h.screenshot("photo-taken").await?;
        h.wait_text("#doc-photo-chosen", "Ảnh chụp").await?;
        ensure!(h.count("#photo-preview").await? == 0, "camera still open");
        // A picked file replaces the photo, and the other way round.
        h.choose_file("#doc-photo", &sample_photo()).await?;
        h.wait("#doc-photo-chosen[data-source='file']").await?;
        h.click("#photo-camera").await?;
        h.wait("#photo-preview").await?;
        h.click("#photo-take").await?;
        h.wait("#doc-photo-chosen[data-source='camera']").await?;
        h.click("#doc-save").await?;
        h.wait_text(".document-card .doc-name", AN.name).await?;
        h.wait(".document-card[data-kind='cccd'] img.doc-photo")
            .await?;

        // In the detail: the photo is a JPEG attachment with a thumbnail.
        open_document(&h, AN.name).await?;
        wait_count(&h, ".attachment", 1).await?;
        h.wait(".attachment[data-mime='image/jpeg'] img.attachment-thumb")
            .await?;
        h.wait_text(".attachment .attachment-name", "Ảnh chụp")
            .await?;
        // Cancel frees the camera and adds nothing; take adds at once.
        h.click("#photo-camera").await?;
        h.wait("#photo-preview").await?;
        h.click("#photo-cancel").await?;
        h.wait_gone("#photo-preview").await?;
        h.click("#photo-camera").await?;
        h.wait("#photo-preview").await?;
        h.click("#photo-take").await?;
        wait_count(&h, ".attachment[data-mime='image/jpeg']", 2).await?;

        // The QR scanner reads the code from the same camera.
        h.click("#nav-more").await?;
        h.click("#more-scan").await?;
        h.click("#scan-camera").await?;
        h.wait_text("#url-host", "dichvucong.danang.gov.vn").await?;

        // Both photos are in the vault, not just on screen.
        h.restart_app().await?;
        h.click("#nav-documents").await?;
        open_document(&h, AN.name).await?;
        wait_count(&h, ".attachment[data-mime='image/jpeg']", 2).await?;
        Ok(())
    }
    .await;
    h.finish(r).await
}

/// Waits until the field `css` holds `want`.
async fn wait_value(h: &Harness, css: &str, want: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + crate::harness::UI_TIMEOUT;
    loop {
        let got = h.value_of(css).await?;
        if got == want {
            return Ok(());
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "`{css}` holds {got:?}, expected {want:?}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

async fn wait_count(h: &Harness, css: &str, n: usize) -> Result<()> {
    let deadline = std::time::Instant::now() + crate::harness::UI_TIMEOUT;
    loop {
        let got = h.count(css).await?;
        if got == n {
            return Ok(());
        }
        ensure!(
            std::time::Instant::now() < deadline,
            "expected {n} × `{css}`, found {got}"
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_export_then_restore_into_a_fresh_app() -> Result<()> {
    // Outlives both apps (each harness removes its own folder).
    let shared = tempfile::Builder::new()
        .prefix("cds-e2e-backup-")
        .tempdir()?;
    let backup = shared.path().join("sao-luu").join("kho.cdsbackup");
    let source = Harness::start("backup-source", BackendPlan::Later).await?;
    let r = async {
        source.add_cccd(&AN, Some(&sample_photo())).await?;
        add_other(&source, "Giấy xác nhận cư trú").await?;
        source.click("#nav-more").await?;
        source.click("#more-backup").await?;
        // A sensible default path is offered.
        let default = source.value_of("#export-path").await?;
        ensure!(default.ends_with(".cdsbackup"), "default path {default:?}");
        // The desktop's own save dialog chooses where (a name without an
        // extension gets `.cdsbackup`).
        std::fs::create_dir_all(backup.parent().context("backup folder")?)?;
        source.click("#export-browse").await?;
        answer_file_dialog("Save the backup", &backup.with_extension(""), true).await?;
        wait_value(&source, "#export-path", &backup.display().to_string()).await?;
        source
            .type_into("#export-pass", "mật khẩu dài 2026")
            .await?;
        source
            .type_into("#export-pass-confirm", "mật khẩu khác")
            .await?;
        source.click("#export-start").await?;
        source.wait("#backup-error[data-kind='client']").await?;
        source
            .type_into("#export-pass-confirm", "mật khẩu dài 2026")
            .await?;
        source.click("#export-start").await?;
        source
            .wait("#backup-result[data-op='export'][data-documents='2'][data-attachments='1']")
            .await?;
        let value = source
            .client
            .execute(
                "return document.getElementById('backup-progress').value",
                vec![],
            )
            .await?;
        ensure!(value == 100, "progress bar full at the end: {value}");
        ensure!(backup.is_file(), "backup written to the chosen path");
        // The export is in "who has my data".
        source.click("#nav-more").await?;
        source.click("#more-access-log").await?;
        source.wait(".access-entry[data-channel='backup']").await?;
        Ok(())
    }
    .await;
    source.finish(r).await?;

    // A fresh app: new data dir, new keyring entry, empty vault.
    let target = Harness::start("backup-target", BackendPlan::Later).await?;
    let r = async {
        target.click("#nav-documents").await?;
        target.wait("#documents-empty").await?;
        target.click("#nav-more").await?;
        target.click("#more-backup").await?;
        // The open dialog picks the file.
        target.click("#import-browse").await?;
        answer_file_dialog("Choose a backup", &backup, false).await?;
        wait_value(&target, "#import-path", &backup.display().to_string()).await?;
        target.type_into("#import-pass", "sai mật khẩu rồi").await?;
        target.click("#import-start").await?;
        target
            .wait("#backup-error[data-op='import'][data-kind='wrong_passphrase']")
            .await?;
        target
            .type_into("#import-pass", "mật khẩu dài 2026")
            .await?;
        target.click("#import-start").await?;
        target
            .wait("#backup-result[data-op='import'][data-documents='2']")
            .await?;
        target.click("#nav-documents").await?;
        target
            .wait_text(".document-card .doc-name", AN.name)
            .await?;
        target
            .wait_text(".document-card .doc-name", "Giấy xác nhận cư trú")
            .await?;
        target.wait(".document-card img.doc-photo").await?;
        open_document(&target, AN.name).await?;
        target.wait(".attachment img.attachment-thumb").await?;
        Ok(())
    }
    .await;
    target.finish(r).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pin_set_lock_and_unlock_with_wrong_pin_delay() -> Result<()> {
    let h = Harness::start("pin", BackendPlan::Later).await?;
    let r = async {
        h.add_cccd(&AN, None).await?;
        h.click("#nav-more").await?;
        h.click("#more-security").await?;
        h.wait("#pin-form[data-mode='set']").await?;
        h.wait("#lock-needs-pin").await?;
        // Too easy, then mistyped, then right.
        h.type_into("#pin-new", "111111").await?;
        h.type_into("#pin-new-confirm", "111111").await?;
        h.click("#pin-submit").await?;
        h.wait("#pin-error[data-kind='weak_pin']").await?;
        h.type_into("#pin-new", "583029").await?;
        h.type_into("#pin-new-confirm", "583092").await?;
        h.click("#pin-submit").await?;
        h.wait("#pin-error[data-kind='client']").await?;
        h.type_into("#pin-new", "583029").await?;
        h.type_into("#pin-new-confirm", "583029").await?;
        h.click("#pin-submit").await?;
        h.wait("#pin-saved").await?;
        h.wait("#pin-form[data-mode='change']").await?;

        // Change it (the old one must be right).
        h.type_into("#old-pin", "000000").await?;
        h.type_into("#pin-new", "749130").await?;
        h.type_into("#pin-new-confirm", "749130").await?;
        h.click("#pin-submit").await?;
        h.wait("#pin-error[data-kind='wrong_pin']").await?;
        h.type_into("#old-pin", "583029").await?;
        h.type_into("#pin-new", "749130").await?;
        h.type_into("#pin-new-confirm", "749130").await?;
        h.click("#pin-submit").await?;
        h.wait("#pin-saved").await?;

        // Lock: every page shows the unlock screen.
        h.click("#lock-now").await?;
        h.wait("#unlock-screen").await?;
        h.click("#nav-documents").await?;
        h.wait("#unlock-screen").await?;
        ensure!(
            h.count(".document-card").await? == 0,
            "nothing shown while locked"
        );

        // Wrong PINs: a clear message, then a wait after the third.
        for _ in 0..3 {
            h.type_into("#unlock-pin", "123987").await?;
            h.click("#unlock-submit").await?;
            h.wait("#unlock-error[data-kind='wrong_pin']").await?;
            h.wait_text("#unlock-error", "Mã PIN không đúng").await?;
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        h.type_into("#unlock-pin", "123987").await?;
        h.click("#unlock-submit").await?;
        let text = h.wait_text("#unlock-error", "Hãy thử lại sau").await?;
        ensure!(
            text.contains("giây"),
            "the wait is given in seconds: {text:?}"
        );
        // The right PIN is refused until the wait is over, then accepted.
        h.type_into("#unlock-pin", "749130").await?;
        h.click("#unlock-submit").await?;
        h.wait("#unlock-error[data-kind='pin_locked']").await?;
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        loop {
            tokio::time::sleep(Duration::from_secs(5)).await;
            h.type_into("#unlock-pin", "749130").await?;
            h.click("#unlock-submit").await?;
            tokio::time::sleep(Duration::from_millis(800)).await;
            if h.count("#unlock-screen").await? == 0 {
                break;
            }
            ensure!(std::time::Instant::now() < deadline, "never unlocked");
        }
        h.click("#nav-documents").await?;
        h.wait_text(".document-card .doc-name", AN.name).await?;
        Ok(())
    }
    .await;
    h.finish(r).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keyring_the_pin_creates_and_opens_the_vault() -> Result<()> {
    let mut h = Harness::start_with(
        "no-keyring",
        BackendPlan::Later,
        AppOptions::without_keyring(),
    )
    .await?;
    let r = async {
        h.wait("#create-pin-screen").await?;
        ensure!(
            !h.vault_path().exists(),
            "no vault before the citizen chose a PIN"
        );
        h.type_into("#new-pin", "583029").await?;
        h.type_into("#new-pin-confirm", "583020").await?;
        h.click("#create-pin-submit").await?;
        h.wait("#create-pin-error[data-kind='client']").await?;
        h.type_into("#new-pin", "123456").await?;
        h.type_into("#new-pin-confirm", "123456").await?;
        h.click("#create-pin-submit").await?;
        h.wait("#create-pin-error[data-kind='weak_pin']").await?;
        ensure!(!h.vault_path().exists(), "a weak PIN creates nothing");
        h.type_into("#new-pin", "583029").await?;
        h.type_into("#new-pin-confirm", "583029").await?;
        h.click("#create-pin-submit").await?;
        h.wait("#page-home").await?;
        ensure!(h.vault_path().exists(), "the vault is created");
        h.add_cccd(&AN, Some(&sample_photo())).await?;

        // Next start, still no keyring: locked, asks for the PIN.
        h.restart_app().await?;
        h.wait("#unlock-screen").await?;
        h.wait("#unlock-keyring-note").await?;
        h.type_into("#unlock-pin", "000111").await?;
        h.click("#unlock-submit").await?;
        h.wait("#unlock-error[data-kind='wrong_pin']").await?;
        h.type_into("#unlock-pin", "583029").await?;
        h.click("#unlock-submit").await?;
        h.wait("#page-home").await?;
        h.click("#nav-documents").await?;
        h.wait_text(".document-card .doc-name", AN.name).await?;
        h.wait(".document-card img.doc-photo").await?;

        // The keyring comes back: the vault has no key there yet, so the
        // PIN opens it once more and gives the keyring a wrap ...
        h.restart_app_with(AppOptions::default()).await?;
        h.wait("#unlock-screen").await?;
        ensure!(h.count("#unlock-keyring-note").await? == 0);
        h.type_into("#unlock-pin", "583029").await?;
        h.click("#unlock-submit").await?;
        h.wait("#page-home").await?;
        // ... so from now on the app opens without asking.
        h.restart_app().await?;
        h.click("#nav-documents").await?;
        h.wait_text(".document-card .doc-name", AN.name).await?;
        ensure!(h.count("#unlock-screen").await? == 0);
        Ok(())
    }
    .await;
    h.finish(r).await
}
