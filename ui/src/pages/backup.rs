//! Backup and restore: the whole vault to one passphrase-protected file and
//! back, with a progress bar fed by the shell (`backup_progress`, polled
//! while the operation runs).

use crate::app::{poll_while_mounted, use_app};
use crate::components::icons::{icon, Icon};
use crate::components::secret_form::{
    set_value_of, value_of, SecretError as BackupError, SecretErrorLine, SecretField,
};
use crate::i18n::{use_i18n, Lang, K};
use crate::ipc::{self, cmd};
use crate::pages::more::BackToMore;
use cds_view::{BackupInput, BackupOp, BackupSummaryView};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

/// Minimum backup passphrase length (the vault may ask for more).
const MIN_PASSPHRASE: usize = 8;

fn op_code(op: BackupOp) -> &'static str {
    match op {
        BackupOp::Export => "export",
        BackupOp::Import => "import",
    }
}

/// Checks the form of one operation; the passphrase twice only on export.
pub fn check_backup_form(
    op: BackupOp,
    path: &str,
    pass: &str,
    confirm: &str,
) -> Result<BackupInput, K> {
    if path.trim().is_empty() {
        return Err(K::ErrPathRequired);
    }
    if pass.chars().count() < MIN_PASSPHRASE {
        return Err(K::ErrPassShort);
    }
    if op == BackupOp::Export && pass != confirm {
        return Err(K::ErrPassMismatch);
    }
    Ok(BackupInput {
        path: path.trim().to_owned(),
        passphrase: pass.to_owned(),
    })
}

fn summary_text(lang: Lang, s: &BackupSummaryView) -> String {
    match lang {
        Lang::Vi => format!(
            "{} người, {} giấy tờ, {} tệp đính kèm, {} hồ sơ.",
            s.profiles, s.documents, s.attachments, s.applications
        ),
        Lang::En => format!(
            "{} people, {} documents, {} attachments, {} applications.",
            s.profiles, s.documents, s.attachments, s.applications
        ),
    }
}

/// "Chọn…": the desktop's file dialog; the chosen path goes into the text
/// field `input` (which stays editable: typing a path still works).
#[component]
fn BrowseButton(op: BackupOp, input: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let open = RwSignal::new(false);
    let error = RwSignal::new(None::<cds_view::IpcError>);
    let browse = move |_| {
        if open.get_untracked() {
            return;
        }
        open.set(true);
        error.set(None);
        spawn_local(async move {
            let r = ipc::call(cmd::choose_backup_file::Args {
                op,
                current: value_of(input),
            })
            .await;
            open.set(false);
            match r {
                Ok(Some(path)) => set_value_of(input, &path),
                // Cancelled: the field keeps what it had.
                Ok(None) => {}
                Err(e) => error.set(Some(ctx.explain(e))),
            }
        });
    };
    view! {
        <button
            id=format!("{}-browse", op_code(op))
            type="button"
            class="btn btn-secondary"
            disabled=move || open.get()
            on:click=browse
        >
            {move || i18n.t(K::Browse)}
        </button>
        {move || error.get().map(|e| view! { <crate::components::feedback::ErrorBox err=e /> })}
    }
}

#[component]
pub fn BackupPage() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let running = RwSignal::new(None::<BackupOp>);
    let done = RwSignal::new(0u64);
    let total = RwSignal::new(0u64);
    let result = RwSignal::new(None::<(BackupOp, BackupSummaryView)>);
    let error = RwSignal::new(None::<(BackupOp, BackupError)>);
    let default_path = LocalResource::new(|| ipc::call(cmd::default_backup_path::Args {}));

    // Poll the shell's progress while an operation runs.
    poll_while_mounted(Duration::from_millis(150), move || {
        if running.get_untracked().is_none() {
            return;
        }
        spawn_local(async move {
            if let Ok(p) = ipc::call(cmd::backup_progress::Args {}).await {
                if p.running || p.total > 0 {
                    done.set(p.done);
                    total.set(p.total);
                }
            }
        });
    });

    let start = move |op: BackupOp| {
        if running.get_untracked().is_some() {
            return;
        }
        let (path, pass, confirm) = match op {
            BackupOp::Export => (
                value_of("export-path"),
                value_of("export-pass"),
                value_of("export-pass-confirm"),
            ),
            BackupOp::Import => (
                value_of("import-path"),
                value_of("import-pass"),
                String::new(),
            ),
        };
        result.set(None);
        let input = match check_backup_form(op, &path, &pass, &confirm) {
            Ok(i) => i,
            Err(k) => {
                error.set(Some((op, BackupError::Client(k))));
                return;
            }
        };
        error.set(None);
        done.set(0);
        total.set(0);
        running.set(Some(op));
        spawn_local(async move {
            let r = match op {
                BackupOp::Export => {
                    ipc::call(cmd::export_backup::Args {
                        input: input.clone(),
                    })
                    .await
                }
                BackupOp::Import => {
                    ipc::call(cmd::import_backup::Args {
                        input: input.clone(),
                    })
                    .await
                }
            };
            running.set(None);
            match r {
                Ok(summary) => {
                    // The bar ends full on success.
                    total.set(total.get_untracked().max(1));
                    done.set(total.get_untracked());
                    result.set(Some((op, summary)));
                    if op == BackupOp::Import {
                        ctx.vault_changed();
                    }
                }
                Err(e) => error.set(Some((op, BackupError::Server(ctx.explain(e))))),
            }
        });
    };

    let progress = move || {
        let t = total.get();
        let d = done.get();
        let percent = (d.min(t) * 100).checked_div(t).unwrap_or(0) as u32;
        let shown = running.get().is_some() || result.get().is_some();
        shown.then(|| {
            view! {
                <div class="backup-progress-wrap">
                    <progress
                        id="backup-progress"
                        max="100"
                        prop:value=percent
                        data-done=d
                        data-total=t
                        aria-label=move || i18n.t(K::BackupRunning)
                    ></progress>
                    <span id="backup-percent">{percent} "%"</span>
                </div>
            }
        })
    };
    let error_line = move |which: BackupOp| {
        let error =
            Signal::derive(move || error.get().filter(|(op, _)| *op == which).map(|(_, e)| e));
        view! { <SecretErrorLine id="backup-error" error=error op=op_code(which) /> }
    };

    view! {
        <section id="page-backup" class="page">
            <BackToMore />
            <div class="page-head">
                <h1 class="page-title">{move || i18n.t(K::BackupTitle)}</h1>
                <p class="lead">{move || i18n.t(K::BackupIntro)}</p>
            </div>
            {progress}
            <div class="live" aria-live="polite">
                {move || result.get().map(|(op, s)| {
                    let title = if op == BackupOp::Export { K::ExportDone } else { K::ImportDone };
                    let (documents, attachments) = (s.documents, s.attachments);
                    view! {
                        <p
                            id="backup-result"
                            class="success"
                            data-op=op_code(op)
                            data-documents=documents
                            data-attachments=attachments
                        >
                            {icon(Icon::Check)}
                            <span>{move || i18n.t(title)} " " {move || summary_text(i18n.lang(), &s)}</span>
                        </p>
                    }
                })}
            </div>
            <form
                id="export-form"
                class="card form"
                novalidate
                on:submit=move |ev: SubmitEvent| {
                    ev.prevent_default();
                    start(BackupOp::Export);
                }
            >
                <h2 class="form-title">{move || i18n.t(K::ExportTitle)}</h2>
                <div class="field">
                    <label for="export-path">{move || i18n.t(K::BackupPath)}</label>
                    <div class="path-row">
                        {move || {
                            let path = default_path.get().and_then(Result::ok).unwrap_or_default();
                            view! { <input id="export-path" type="text" spellcheck="false" prop:value=path /> }
                        }}
                        <BrowseButton op=BackupOp::Export input="export-path" />
                    </div>
                </div>
                <SecretField id="export-pass" label=K::BackupPass autocomplete="new-password" />
                <SecretField id="export-pass-confirm" label=K::BackupPassConfirm autocomplete="new-password" />
                {error_line(BackupOp::Export)}
                <div class="form-actions">
                    <button id="export-start" type="submit" class="btn btn-primary" disabled=move || running.get().is_some()>
                        {move || i18n.t(if running.get() == Some(BackupOp::Export) { K::BackupRunning } else { K::ExportStart })}
                    </button>
                </div>
            </form>
            <form
                id="import-form"
                class="card form"
                novalidate
                on:submit=move |ev: SubmitEvent| {
                    ev.prevent_default();
                    start(BackupOp::Import);
                }
            >
                <h2 class="form-title">{move || i18n.t(K::ImportTitle)}</h2>
                <p class="hint">{move || i18n.t(K::ImportHint)}</p>
                <div class="field">
                    <label for="import-path">{move || i18n.t(K::BackupPath)}</label>
                    <div class="path-row">
                        <input id="import-path" type="text" spellcheck="false" />
                        <BrowseButton op=BackupOp::Import input="import-path" />
                    </div>
                </div>
                <SecretField id="import-pass" label=K::BackupPass />
                {error_line(BackupOp::Import)}
                <div class="form-actions">
                    <button id="import-start" type="submit" class="btn btn-primary" disabled=move || running.get().is_some()>
                        {move || i18n.t(if running.get() == Some(BackupOp::Import) { K::BackupRunning } else { K::ImportStart })}
                    </button>
                </div>
            </form>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_form_checks() {
        assert_eq!(
            check_backup_form(BackupOp::Export, " ", "longenough", "longenough"),
            Err(K::ErrPathRequired)
        );
        assert_eq!(
            check_backup_form(BackupOp::Export, "/tmp/x", "short", "short"),
            Err(K::ErrPassShort)
        );
        assert_eq!(
            check_backup_form(BackupOp::Export, "/tmp/x", "longenough", "different1"),
            Err(K::ErrPassMismatch)
        );
        let ok = check_backup_form(BackupOp::Import, " /tmp/x ", "longenough", "").unwrap();
        assert_eq!(ok.path, "/tmp/x");
    }
}
