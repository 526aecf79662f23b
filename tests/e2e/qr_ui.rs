//! The QR features in the real window (issue #4, item 5): activating and
//! showing the citizen QR (full screen, name, photo, the choice of what to
//! share), and scanning picture files of a citizen QR (valid, forged,
//! revoked), of an ID card QR (routed to the ID card form) and of a link,
//! plus the failures (not a picture, no camera).
//!
//! The code on screen is read back from a screenshot of the window with the
//! app's own decoder, so "shows the QR" means a scanner can read it.

use crate::harness::{sample_photo, BackendPlan, Cccd, Harness};
use anyhow::{bail, ensure, Context, Result};
use cds_qr::credential::{self, Claims, Disclosure, SigningKey, Subject};
use std::path::{Path, PathBuf};
use std::process::Command;

const AN: Cccd<'static> = Cccd {
    // 048: Đà Nẵng; 0: a man born in the 1900s; 90: born in 1990.
    number: "048090012345",
    name: "Lê Văn Ân",
    dob: "05/09/1990",
    sex: "nam",
};

/// Asks the backend (its CLI, on its database) for an activation code, as
/// the city's service counter would.
fn enroll(h: &Harness, number: &str, name: &str, dob_iso: &str) -> Result<String> {
    let bin = std::env::var_os("CDS_BACKEND_BIN").context("CDS_BACKEND_BIN")?;
    let out = Command::new(bin)
        .arg("enroll")
        .arg("--db")
        .arg(h.backend.db_path())
        .args(["--number", number, "--name", name, "--dob", dob_iso])
        .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    ensure!(
        out.status.success(),
        "enroll failed: {stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("code: "))
        .map(|c| c.trim().to_owned())
        .with_context(|| format!("no code in {stdout:?}"))
}

/// The one citizen credential on screen, read from a screenshot of the
/// window with the app's decoder and decoded (unverified: the test checks
/// what it says; the app's own verification is tested by scanning).
/// Returns the screenshot too.
///
/// A screenshot can be taken before WebKit has painted the last change (the
/// DOM already says full screen), so, like a scanner, it looks again a few
/// times before giving up.
async fn credential_on_screen(h: &Harness, label: &str) -> Result<(PathBuf, Claims)> {
    let mut last = String::new();
    for _ in 0..20 {
        let png = h.screenshot(label).await?;
        match cds_qr::scan::Pipeline::default().scan_file(&png) {
            Ok(symbols) => {
                if let Some(text) = symbols
                    .into_iter()
                    .filter_map(|s| s.text)
                    .find(|t| t.starts_with("CDS1:"))
                {
                    let claims = credential::decode(&text)?.claims_unverified()?;
                    return Ok((png, claims));
                }
                last = "codes found, but no citizen QR".into();
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    bail!("no citizen QR readable on screen ({label}): {last}")
}

fn write_qr_png(path: &Path, text: &str) -> Result<PathBuf> {
    let img = cds_qr::render::render_image(text, 8)?;
    img.save(path)?;
    Ok(path.to_path_buf())
}

/// Scans a picture file on the scan page and waits for the result.
async fn scan_picture(h: &Harness, path: &Path) -> Result<()> {
    h.choose_file("#scan-file", path).await?;
    h.wait("#scan-result, #scan-error").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activate_show_choose_and_check_the_citizen_qr() -> Result<()> {
    let mut h = Harness::start("qr-show", BackendPlan::Running).await?;
    let r = async {
        // The citizen's own CCCD with a photo: shown beside the code.
        h.add_cccd(&AN, Some(&sample_photo())).await?;
        h.click("#nav-more").await?;
        h.click("#more-qr").await?;
        // Not activated yet: the form. A wrong code is refused clearly and
        // does not use up anything.
        h.type_into("#qr-code", "AAAA-BBBB").await?;
        h.click("#qr-activate").await?;
        h.wait("#qr-error [data-kind='activation_code']").await?;
        let code = enroll(&h, AN.number, AN.name, "1990-09-05")?;
        h.type_into("#qr-code", &code).await?;
        h.click("#qr-activate").await?;
        // The full-identity code, with name and photo.
        h.wait("#qr-card[data-disclosure='full'] #qr-svg svg")
            .await?;
        h.wait_text("#qr-holder", AN.name).await?;
        h.wait("#qr-photo").await?;
        h.wait_text("#qr-subject-number", "048•••••2345").await?;
        // Full screen, and read it off the screen like a scanner would.
        h.click("#qr-fullscreen").await?;
        h.wait("#qr-card.qr-card-full").await?;
        let (shot, full) = credential_on_screen(&h, "full").await?;
        ensure!(full.disclosure == Disclosure::Full, "{full:?}");
        ensure!(full.id_number.as_deref() == Some(AN.number), "{full:?}");
        ensure!(full.full_name.as_deref() == Some(AN.name), "{full:?}");
        ensure!(full.date_of_birth.as_deref() == Some("1990-09-05"));
        h.click("#qr-close").await?;
        h.wait_gone("#qr-card.qr-card-full").await?;

        // "Over 18" only: a different, minimal credential.
        h.click("#qr-choice-over18").await?;
        h.wait("#qr-card[data-disclosure='over18'] #qr-svg svg")
            .await?;
        h.click("#qr-fullscreen").await?;
        h.wait("#qr-card.qr-card-full[data-disclosure='over18']")
            .await?;
        let (_, over) = credential_on_screen(&h, "over18").await?;
        ensure!(over.disclosure == Disclosure::Over18, "{over:?}");
        ensure!(over.over_18 == Some(true));
        ensure!(over.id_number.is_none() && over.full_name.is_none());
        ensure!(over.date_of_birth.is_none());
        h.click("#qr-close").await?;

        // Refresh by hand: new credentials from the city, and the code on
        // screen is still the one the citizen chose to share.
        h.click("#qr-refresh").await?;
        h.wait("#qr-notice").await?;
        h.wait("#qr-card[data-disclosure='over18'] #qr-svg svg")
            .await?;

        // Each code shown is in "who has my data".
        h.click("#nav-more").await?;
        h.click("#more-access-log").await?;
        h.wait(".access-entry[data-channel='qr']").await?;
        ensure!(h.count(".access-entry[data-channel='qr']").await? >= 2);

        // Officer mode on the same device: scan the screenshot of the
        // citizen's full-screen code (the keys were downloaded while
        // activating).
        h.click("#nav-more").await?;
        h.click("#more-scan").await?;
        h.wait("#trust-keys").await?;
        scan_picture(&h, &shot).await?;
        h.wait("#verify-outcome[data-outcome='valid']").await?;
        h.wait_text("#verify-name", AN.name).await?;
        h.wait_text("#verify-number", AN.number).await?;

        // The city revokes it; after the device updates its list, the same
        // picture is refused as revoked.
        let bin = std::env::var_os("CDS_BACKEND_BIN").context("CDS_BACKEND_BIN")?;
        let out = Command::new(bin)
            .arg("revoke")
            .arg("--db")
            .arg(h.backend.db_path())
            .arg(full.credential_id.to_string())
            .output()?;
        ensure!(out.status.success(), "revoke: {out:?}");
        h.click("#trust-update").await?;
        h.wait("#trust-keys").await?;
        scan_picture(&h, &shot).await?;
        h.wait("#verify-outcome[data-outcome='revoked']").await?;

        // The vault survives a restart with the credentials in it.
        h.restart_app().await?;
        h.click("#nav-more").await?;
        h.click("#more-qr").await?;
        h.wait("#qr-card #qr-svg svg").await?;
        Ok(())
    }
    .await;
    h.finish(r).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_pictures_of_codes_and_route_them() -> Result<()> {
    let h = Harness::start("qr-scan", BackendPlan::Running).await?;
    let r = async {
        let dir = h.scratch();
        std::fs::create_dir_all(&dir)?;
        h.click("#nav-more").await?;
        h.click("#more-scan").await?;
        // Officer mode needs the city's keys once: none yet, or already
        // fetched by the background sync if it ran first (a race with the
        // scheduler's first tick, which a loaded machine loses or wins);
        // either way "update" fetches them now.
        h.wait("#trust-none, #trust-keys").await?;
        h.click("#trust-update").await?;
        h.wait("#trust-keys").await?;

        // A credential signed by someone else's key: forged.
        let key = SigningKey::from_pkcs8(&SigningKey::generate_pkcs8()?)?;
        let subject = Subject {
            id_number: AN.number.into(),
            full_name: AN.name.into(),
            date_of_birth: "1990-09-05".into(),
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_secs() as i64;
        let claims = Claims::new(&subject, Disclosure::Full, "Kẻ giả mạo", now, 86_400)?;
        let forged = write_qr_png(&dir.join("forged.png"), &key.issue(&claims)?)?;
        scan_picture(&h, &forged).await?;
        h.wait("#verify-outcome[data-outcome='forged']").await?;
        // Nothing from a forged code is shown as if it were true.
        ensure!(h.count("#verify-name").await? == 0);

        // An ID card QR (2021 layout): unverified, fills the ID card form.
        let card = write_qr_png(
            &dir.join("cccd.png"),
            "048090012345|201234567|Lê Văn Ân|05091990|Nam|12 Bạch Đằng, Hải Châu, Đà Nẵng|10042021",
        )?;
        scan_picture(&h, &card).await?;
        h.wait("#scan-result[data-type='cccd']").await?;
        h.wait("#cccd-unverified").await?;
        h.wait_text("#cccd-number", AN.number).await?;
        h.wait_text("#cccd-name", AN.name).await?;
        h.click("#cccd-fill").await?;
        h.wait("#document-form").await?;
        ensure!(h.value_of("#doc-number").await? == AN.number);
        ensure!(h.value_of("#doc-name").await? == AN.name);
        ensure!(h.value_of("#doc-dob").await? == AN.dob);
        h.type_into("#doc-field-place_of_origin", "Hòa Vang, Đà Nẵng")
            .await?;
        h.click("#doc-save").await?;
        h.wait_text(".document-card .doc-name", AN.name).await?;
        // Scanned again, the app says the card is already in the vault.
        h.click("#nav-more").await?;
        h.click("#more-scan").await?;
        scan_picture(&h, &card).await?;
        h.wait("#cccd-existing").await?;

        // A card QR whose number disagrees with the date of birth.
        let bad = write_qr_png(
            &dir.join("cccd-bad.png"),
            "048090012345||Lê Văn Ân|05091985|Nam|12 Bạch Đằng|10042021",
        )?;
        scan_picture(&h, &bad).await?;
        h.wait("#cccd-invalid").await?;

        // A link: shown with its real host and a warning, not opened.
        let link = write_qr_png(
            &dir.join("link.png"),
            "https://dichvucong.gov.vn@evil.example/dang-nhap",
        )?;
        scan_picture(&h, &link).await?;
        h.wait("#url-warning").await?;
        h.wait_text("#url-host", "evil.example").await?;

        // Not a picture at all.
        let txt = dir.join("note.txt");
        std::fs::write(&txt, "không phải ảnh")?;
        scan_picture(&h, &txt).await?;
        h.wait("#scan-error [data-kind='not_an_image']").await?;

        // A picture without a code.
        scan_picture(&h, &sample_photo()).await?;
        h.wait("#scan-error [data-kind='no_qr_found']").await?;

        // The camera: there is none on the test machine; on a machine with
        // one, the scanner starts instead. Either way, no crash.
        h.click("#scan-camera").await?;
        h.wait("#scan-error [data-kind='camera_unavailable'], #scan-camera-stop")
            .await?;
        if h.count("#scan-camera-stop").await? == 1 {
            h.click("#scan-camera-stop").await?;
        } else {
            h.wait("#camera-none").await?;
        }
        Ok(())
    }
    .await;
    h.finish(r).await
}
