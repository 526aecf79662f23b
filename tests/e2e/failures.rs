//! Failure paths in the real window: each gets a clear message and nothing
//! the citizen entered is lost.

use crate::harness::{AppOptions, BackendPlan, Harness};
use anyhow::{ensure, Result};

async fn fill_cccd_form(h: &Harness) -> Result<()> {
    h.click("#nav-documents").await?;
    h.click("#add-document").await?;
    h.wait("#document-form").await?;
    h.type_checked("#doc-number", "079060009999").await?;
    h.type_checked("#doc-name", "Trần Văn Bảy").await?;
    h.type_checked("#doc-dob", "01/02/1960").await?;
    h.select("#doc-field-sex", "nam").await?;
    h.type_into("#doc-field-nationality", "Việt Nam").await?;
    h.type_into("#doc-field-place_of_origin", "Huế").await?;
    h.type_into("#doc-field-place_of_residence", "Quận 1, TP. Hồ Chí Minh")
        .await?;
    h.type_into("#doc-field-issue_date", "01/07/2021").await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificate_is_reported_and_the_application_stays_queued() -> Result<()> {
    // The app trusts a different CA than the one that signed the backend.
    let other_ca = tempfile::tempdir()?;
    let out = std::process::Command::new(std::env::var("CDS_BACKEND_BIN")?)
        .args(["gen-cert", "--tls-dir"])
        .arg(other_ca.path())
        .output()?;
    ensure!(out.status.success());
    let opts = AppOptions {
        ca_override: Some(other_ca.path().join("ca.pem")),
        ..Default::default()
    };
    let mut h = Harness::start_with("untrusted-cert", BackendPlan::Running, opts).await?;
    let r = async {
        fill_cccd_form(&h).await?;
        h.click("#doc-save").await?;
        h.wait(".document-card").await?;
        h.click("#nav-services").await?;
        h.click(".service-card[data-code='1.001612'] .apply-btn")
            .await?;
        h.click("#apply-submit").await?;
        h.wait("#apply-result").await?;
        h.click("#nav-applications").await?;
        h.click("#sync-now").await?;
        h.wait("#sync-result[data-kind='tls_untrusted']").await?;
        h.wait(".application-card .app-delivery[data-state='queued']")
            .await?;
        ensure!(
            h.backend.application_rows()? == 0,
            "nothing reached the city"
        );
        Ok(())
    }
    .await;
    h.restart_app().await.ok();
    h.finish(r).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_that_is_not_an_image_or_is_too_big_is_refused_and_input_is_kept() -> Result<()> {
    let h = Harness::start("bad-files", BackendPlan::Later).await?;
    let r = async {
        let dir = h.scratch();
        std::fs::create_dir_all(&dir)?;
        let text = dir.join("ghi-chu.txt");
        std::fs::write(&text, "không phải ảnh")?;
        // 200 MB without writing 200 MB: a sparse file. The UI refuses it
        // from its size alone, before reading it.
        let huge = dir.join("video.jpg");
        std::fs::File::create(&huge)?.set_len(200 * 1024 * 1024)?;

        fill_cccd_form(&h).await?;
        h.choose_file("#doc-photo", &text).await?;
        h.wait("#form-error[data-field='attachment']").await?;
        h.wait_text("#form-error", "PDF").await?;
        h.choose_file("#doc-photo", &huge).await?;
        h.wait_text("#form-error", "20 MB").await?;
        ensure!(
            h.count("#doc-photo-chosen").await? == 0,
            "the file was not kept"
        );
        // What was typed is kept: the same form now saves without a file.
        h.click("#doc-save").await?;
        h.wait_text(".document-card .doc-name", "Trần Văn Bảy")
            .await?;
        Ok(())
    }
    .await;
    h.finish(r).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_vault_is_reported_and_left_untouched() -> Result<()> {
    let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7 + 3) as u8).collect();
    let opts = AppOptions {
        seed_files: vec![("vault.sqlite3".into(), garbage.clone())],
        ..Default::default()
    };
    let h = Harness::start_with("corrupt-vault", BackendPlan::Later, opts).await?;
    let r = async {
        h.wait("#status-banner[data-kind='vault_corrupt']").await?;
        ensure!(
            std::fs::read(h.vault_path())? == garbage,
            "the damaged file is not modified"
        );
        Ok(())
    }
    .await;
    h.finish(r).await
}
