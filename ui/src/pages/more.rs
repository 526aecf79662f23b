//! "More": the way to family members, PIN and lock, backup, and the access
//! log (the bottom tab bar has room for five entries on a phone).

use crate::app::{use_app, Page};
use crate::components::icons::{icon, Icon};
use crate::i18n::{use_i18n, K};
use leptos::prelude::*;

const ENTRIES: [(&str, Page, Icon, K, K); 6] = [
    ("more-qr", Page::MyQr, Icon::Qr, K::MoreQr, K::MoreQrDesc),
    (
        "more-scan",
        Page::Scan,
        Icon::Scan,
        K::MoreScan,
        K::MoreScanDesc,
    ),
    (
        "more-profiles",
        Page::Profiles,
        Icon::IdCard,
        K::MoreProfiles,
        K::MoreProfilesDesc,
    ),
    (
        "more-security",
        Page::Security,
        Icon::Shield,
        K::MoreSecurity,
        K::MoreSecurityDesc,
    ),
    (
        "more-backup",
        Page::Backup,
        Icon::File,
        K::MoreBackup,
        K::MoreBackupDesc,
    ),
    (
        "more-access-log",
        Page::AccessLog,
        Icon::Clipboard,
        K::MoreAccessLog,
        K::MoreAccessLogDesc,
    ),
];

#[component]
pub fn MorePage() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let items = ENTRIES
        .into_iter()
        .map(|(id, page, which, title, desc)| {
            view! {
                <button id=id type="button" class="shortcut" on:click=move |_| ctx.go(page)>
                    <span class="shortcut-icon">{icon(which)}</span>
                    <span class="shortcut-text">
                        <span class="shortcut-title">{move || i18n.t(title)}</span>
                        <span class="shortcut-desc">{move || i18n.t(desc)}</span>
                    </span>
                    <span class="shortcut-arrow">{icon(Icon::ArrowRight)}</span>
                </button>
            }
        })
        .collect_view();
    view! {
        <section id="page-more" class="page">
            <div class="page-head">
                <h1 class="page-title">{move || i18n.t(K::MoreTitle)}</h1>
            </div>
            <div class="shortcuts">{items}</div>
        </section>
    }
}

/// A "back to More" link for the pages reached from it.
#[component]
pub fn BackToMore() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    view! {
        <button type="button" class="btn-link back-link more-back" on:click=move |_| ctx.go(Page::More)>
            {icon(Icon::ArrowLeft)}
            {move || i18n.t(K::Back)}
        </button>
    }
}
