//! The walking skeleton, end to end in the real window: add a CCCD with a
//! photo, submit an application while the city is offline, restart the app,
//! come back online, and see the city's answer, stored exactly once.

use crate::harness::{contains_bytes, sample_photo, BackendPlan, Cccd, Harness};
use anyhow::{ensure, Result};

// 048: Đà Nẵng; 1: a woman born in the 1900s; 95: born in 1995.
const NUMBER: &str = "048195001234";
const NAME: &str = "Nguyễn Thị Ánh Dương";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_submission_survives_restart_and_syncs_exactly_once() -> Result<()> {
    let mut h = Harness::start("slice", BackendPlan::Later).await?;
    let r = scenario(&mut h).await;
    h.finish(r).await
}

async fn add_cccd(h: &Harness) -> Result<()> {
    let c = Cccd {
        number: NUMBER,
        name: NAME,
        dob: "15/08/1995",
        sex: "nu",
    };
    h.add_cccd(&c, Some(&sample_photo())).await
}

async fn scenario(h: &mut Harness) -> Result<()> {
    // Home screen, Vietnamese by default, English switchable.
    h.wait("#page-home").await?;
    let lang = h
        .client
        .execute("return document.documentElement.lang", vec![])
        .await?;
    ensure!(lang == "vi", "default language is Vietnamese, got {lang}");
    h.click("#lang-toggle").await?;
    h.wait_text("#nav-documents", "Documents").await?;
    h.click("#lang-toggle").await?;
    h.wait_text("#nav-documents", "Giấy tờ").await?;

    // 1. A CCCD with a photo goes into the vault and is listed.
    add_cccd(h).await?;
    h.wait_text(".document-card .doc-number", NUMBER).await?;
    h.wait(".document-card img.doc-photo").await?;

    // 2. Submit while the backend is down: queued locally.
    ensure!(!h.backend.is_running());
    h.click("#nav-services").await?;
    h.click(".service-card[data-code='1.001612'] .apply-btn")
        .await?;
    h.wait("#apply-form").await?;
    let checked = h
        .client
        .execute(
            "return Array.from(document.querySelectorAll('input.doc-choice')).filter(e => e.checked).length",
            vec![],
        )
        .await?;
    ensure!(
        checked == 1,
        "the CCCD is pre-selected from the vault (checked: {checked})"
    );
    h.click("#apply-submit").await?;
    h.wait("#apply-result").await?;
    h.click("#nav-applications").await?;
    h.wait(".application-card .app-delivery[data-state='queued']")
        .await?;

    // 3. Restart: the document and the queued application are still there.
    h.restart_app().await?;
    h.click("#nav-documents").await?;
    h.wait_text(".document-card .doc-name", NAME).await?;
    h.wait(".document-card img.doc-photo").await?;
    h.click("#nav-applications").await?;
    h.wait(".application-card .app-delivery[data-state='queued']")
        .await?;
    ensure!(h.count(".application-card").await? == 1);

    // On disk the personal fields and the photo are ciphertext.
    let mut raw = std::fs::read(h.vault_path())?;
    if let Ok(wal) = std::fs::read(h.vault_path().with_extension("sqlite3-wal")) {
        raw.extend(wal);
    }
    let photo = std::fs::read(sample_photo())?;
    for (what, needle) in [
        ("number", NUMBER.as_bytes()),
        ("name", NAME.as_bytes()),
        ("photo", &photo[photo.len() / 2..photo.len() / 2 + 64]),
    ] {
        ensure!(
            !contains_bytes(&raw, needle),
            "the vault file holds the {what} in plaintext"
        );
    }

    // 4. The city comes online: sync delivers it, and the status shows.
    h.backend.start()?;
    h.click("#sync-now").await?;
    h.wait(".application-card .app-delivery[data-state='delivered']")
        .await?;
    h.wait(".application-card .app-status[data-status='received']")
        .await?;
    let case = h.text(".application-card .app-case").await?;
    ensure!(case.contains("HS-"), "a case number is shown: {case:?}");

    // 5. Syncing again (and the background tick) never stores it twice.
    h.click("#sync-now").await?;
    h.wait("#sync-result").await?;
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    ensure!(h.backend.application_rows()? == 1, "stored exactly once");
    ensure!(h.count(".application-card").await? == 1);
    Ok(())
}
