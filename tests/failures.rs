//! Failure paths in the real window: each gets a clear message and nothing
//! the citizen entered is lost.

use anyhow::{ensure, Result};
use cds_e2e::{AppOptions, BackendPlan, Harness};

async fn fill_cccd_form(h: &Harness) -> Result<()> {
    h.click("#nav-documents").await?;
    h.click("#add-document").await?;
    h.type_into("#doc-number", "079201009999").await?;
    h.type_into("#doc-name", "Trần Văn Bảy").await?;
    h.type_into("#doc-dob", "01/02/1960").await?;
    Ok(())
}

async fn value_of(h: &Harness, css: &str) -> Result<String> {
    Ok(h.wait(css).await?.prop("value").await?.unwrap_or_default())
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
        h.click(".service-card[data-code='1.001612'] .apply-btn").await?;
        h.click("#apply-submit").await?;
        h.wait("#apply-result").await?;
        h.click("#nav-applications").await?;
        h.click("#sync-now").await?;
        h.wait("#sync-result[data-kind='tls_untrusted']").await?;
        h.wait(".application-card .app-delivery[data-state='queued']").await?;
        ensure!(h.backend.application_rows()? == 0, "nothing reached the city");
        Ok(())
    }
    .await;
    h.restart_app().await.ok();
    h.finish(r).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keyring_unavailable_is_explained_and_typed_input_is_kept() -> Result<()> {
    // No D-Bus session: the Secret Service keyring cannot be reached.
    let opts = AppOptions {
        env: vec![(
            "DBUS_SESSION_BUS_ADDRESS".into(),
            "unix:path=/nonexistent/cds-no-bus".into(),
        )],
        ..Default::default()
    };
    let h = Harness::start_with("no-keyring", BackendPlan::Later, opts).await?;
    let r = async {
        h.wait("#status-banner[data-kind='keyring_unavailable']").await?;
        ensure!(!h.vault_path().exists(), "no vault is created without a key");
        fill_cccd_form(&h).await?;
        h.click("#doc-save").await?;
        h.wait("#form-error").await?;
        ensure!(value_of(&h, "#doc-name").await? == "Trần Văn Bảy", "input kept");
        ensure!(value_of(&h, "#doc-number").await? == "079201009999", "input kept");
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
