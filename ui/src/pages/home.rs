//! Home: greeting, counts, the status banner and shortcuts.

use crate::app::{poll_while_mounted, use_app, Page};
use crate::components::feedback::{ErrorBox, TechDetails};
use crate::components::icons::{icon, Icon};
use crate::format::iso_to_display;
use crate::i18n::{days_left_text, error_hint, error_text, kind_key, use_i18n, K};
use crate::ipc::{self, cmd};
use cds_view::{AppStatus, DocumentKind, IpcError};
use leptos::prelude::*;
use std::time::Duration;

/// How often the home screen re-reads `app_status`: the shell's background
/// sync may deliver queued applications at any time.
const STATUS_POLL: Duration = Duration::from_secs(5);

#[component]
pub fn HomePage() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    poll_while_mounted(STATUS_POLL, move || ctx.status.refetch());

    // Greet the citizen by the name on their CCCD, when the vault has one.
    let docs = LocalResource::new(|| ipc::call(cmd::list_documents::Args { profile_id: None }));
    let name = move || {
        docs.get()
            .and_then(Result::ok)?
            .into_iter()
            .find(|d| d.kind == DocumentKind::Cccd)
            .map(|d| d.title)
    };
    let greeting = move || match name() {
        Some(n) => format!("{}, {n}!", i18n.t(K::Hello)),
        None => format!("{}!", i18n.t(K::Hello)),
    };
    let count = move |field: fn(&AppStatus) -> u32| {
        move || match ctx.status.get() {
            None => "…".to_owned(),
            Some(Ok(s)) => field(&s).to_string(),
            Some(Err(_)) => "–".to_owned(),
        }
    };
    let status_error = move || match ctx.status.get() {
        Some(Err(err)) => Some(view! {
            <ErrorBox err=err on_retry=Callback::new(move |_| ctx.status.refetch()) />
        }),
        _ => None,
    };
    let locked = Signal::derive(move || ctx.vault_locked());

    view! {
        <section id="page-home" class="page">
            <StatusBanner />
            <div class="hero">
                <span class="hero-icon">{icon(Icon::Shield)}</span>
                <div>
                    <h1 class="page-title">{greeting}</h1>
                    <p class="lead">{move || i18n.t(K::HomeIntro)}</p>
                </div>
            </div>
            {status_error}
            <Reminders />
            <div class="stats">
                <div class="stat">
                    <span class="stat-value" id="stat-documents">
                        {count(|s| s.document_count)}
                    </span>
                    <span class="stat-label">{move || i18n.t(K::StatDocuments)}</span>
                </div>
                <div class="stat">
                    <span class="stat-value" id="stat-pending">
                        {count(|s| s.pending_count)}
                    </span>
                    <span class="stat-label">{move || i18n.t(K::StatPending)}</span>
                </div>
            </div>
            <h2 class="section-title">{move || i18n.t(K::ShortcutsTitle)}</h2>
            <Show when=move || locked.get()>
                <p class="note note-warning" id="vault-locked-note">
                    {move || i18n.t(K::VaultLockedNote)}
                </p>
            </Show>
            <div class="shortcuts">
                <Shortcut
                    id="home-documents"
                    page=Page::Documents
                    which=Icon::IdCard
                    title=K::ShortcutDocuments
                    desc=K::ShortcutDocumentsDesc
                    disabled=locked
                />
                <Shortcut
                    id="home-services"
                    page=Page::Services
                    which=Icon::Landmark
                    title=K::ShortcutServices
                    desc=K::ShortcutServicesDesc
                    disabled=locked
                />
                <Shortcut
                    id="home-applications"
                    page=Page::Applications
                    which=Icon::Clipboard
                    title=K::ShortcutApplications
                    desc=K::ShortcutApplicationsDesc
                    disabled=Signal::from(false)
                />
                <Shortcut
                    id="home-qr"
                    page=Page::MyQr
                    which=Icon::Qr
                    title=K::ShortcutQr
                    desc=K::ShortcutQrDesc
                    disabled=locked
                />
                <Shortcut
                    id="home-scan"
                    page=Page::Scan
                    which=Icon::Scan
                    title=K::ShortcutScan
                    desc=K::ShortcutScanDesc
                    disabled=locked
                />
            </div>
        </section>
    }
}

/// A large button leading to another page.
#[component]
fn Shortcut(
    id: &'static str,
    page: Page,
    which: Icon,
    title: K,
    desc: K,
    disabled: Signal<bool>,
) -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    view! {
        <button
            id=id
            type="button"
            class="shortcut"
            disabled=move || disabled.get()
            on:click=move |_| ctx.go(page)
        >
            <span class="shortcut-icon">{icon(which)}</span>
            <span class="shortcut-text">
                <span class="shortcut-title">{move || i18n.t(title)}</span>
                <span class="shortcut-desc">{move || i18n.t(desc)}</span>
            </span>
            <span class="shortcut-arrow">{icon(Icon::ArrowRight)}</span>
        </button>
    }
}

/// `#status-banner`: the vault error if there is one (it blocks most of the
/// app), otherwise the last sync error.
#[component]
fn StatusBanner() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    // A memo, so the 5-second status poll does not re-create the banner (and
    // re-announce it, and close an open "technical details") when nothing
    // changed.
    let problem = Memo::new(move |_| -> Option<(IpcError, bool)> {
        let status = ctx.status.get()?.ok()?;
        match (status.vault_error, status.last_sync_error) {
            (Some(e), _) => Some((e, true)),
            (None, Some(e)) => Some((e, false)),
            (None, None) => None,
        }
    });
    move || {
        problem.get().map(|(err, is_vault)| {
            let kind = err.kind;
            let message = err.message.clone();
            let title = if is_vault {
                K::BannerVaultTitle
            } else {
                K::BannerSyncTitle
            };
            view! {
                <div
                    id="status-banner"
                    class=if is_vault { "banner banner-error" } else { "banner banner-warning" }
                    role="alert"
                    data-kind=kind.code()
                    data-source=if is_vault { "vault" } else { "sync" }
                >
                    <span class="banner-icon">{icon(Icon::Alert)}</span>
                    <div class="banner-body">
                        <p class="banner-title">{move || i18n.t(title)}</p>
                        <p class="banner-text">{move || error_text(i18n.lang(), &err)}</p>
                        {error_hint(kind)
                            .map(|h| view! { <p class="banner-hint">{move || i18n.t(h)}</p> })}
                        <TechDetails message=message />
                    </div>
                </div>
            }
        })
    }
}

/// `#reminders`: documents expiring within 90 days (or expired), soonest
/// first. Nothing is shown when there are none, or the vault is closed.
#[component]
fn Reminders() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let reminders = LocalResource::new(ipc::expiry_reminders);
    move || {
        let mut list = reminders.get().and_then(Result::ok)?;
        if list.is_empty() {
            return None;
        }
        list.sort_by_key(|r| r.days_left);
        Some(view! {
            <section id="reminders" class="card reminders" aria-labelledby="reminders-title">
                <h2 id="reminders-title" class="section-title">
                    {icon(Icon::Clock)}
                    {move || i18n.t(K::RemindersTitle)}
                </h2>
                <ul class="reminder-list">
                    {list
                        .into_iter()
                        .map(|r| {
                            let kind = r.kind;
                            let days = r.days_left;
                            let id = r.document_id.clone();
                            let profile = r.profile_id.clone();
                            view! {
                                <li
                                    class="reminder"
                                    class:expired=days < 0
                                    data-id=r.document_id.clone()
                                    data-days=days
                                >
                                    <button
                                        type="button"
                                        class="btn-link reminder-open"
                                        on:click=move |_| {
                                            ctx.profile.set(Some(profile.clone()));
                                            ctx.draft.detail.set(Some(id.clone()));
                                            ctx.go(Page::Documents);
                                        }
                                    >
                                        {move || i18n.t(kind_key(kind))} ": " {r.title.clone()}
                                    </button>
                                    <span class="reminder-when">
                                        {iso_to_display(&r.expiry_date)} " · "
                                        {move || days_left_text(i18n.lang(), days)}
                                    </span>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            </section>
        })
    }
}
