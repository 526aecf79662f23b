//! The frame around every page: the header (app name, language toggle) and
//! the navigation (a bottom tab bar on phones, a sidebar on wide windows;
//! the switch is pure CSS).

use crate::app::{use_app, Page};
use crate::components::icons::{icon, Icon};
use crate::i18n::{use_i18n, K};
use leptos::prelude::*;

#[component]
pub fn Header() -> impl IntoView {
    let i18n = use_i18n();
    // The toggle names the *other* language in that language, and says so
    // with a matching `lang` so screen readers pronounce it right.
    let other_code = move || i18n.lang().other().code();
    view! {
        <header class="app-header">
            <div class="brand">
                <span class="brand-mark" aria-hidden="true">
                    <svg viewBox="0 0 32 32" focusable="false">
                        <rect width="32" height="32" rx="8" class="brand-bg"></rect>
                        <path
                            class="brand-star"
                            d="M16 6.5l2.6 6.9 7.4.3-5.8 4.6 2 7.2L16 21.4l-6.2 4.1 2-7.2L6 13.7l7.4-.3z"
                        ></path>
                    </svg>
                </span>
                <span class="brand-text">
                    <span class="brand-name">"Công dân số"</span>
                    <span class="brand-tagline">{move || i18n.t(K::AppTagline)}</span>
                </span>
            </div>
            <button
                id="lang-toggle"
                type="button"
                class="lang-toggle"
                title=move || i18n.t(K::LangToggleTitle)
                data-lang=move || i18n.lang().code()
                on:click=move |_| i18n.toggle()
            >
                {icon(Icon::Globe)}
                <span lang=other_code>{move || i18n.t(K::LangToggle)}</span>
            </button>
        </header>
    }
}

/// One navigation entry: page, element id, label, icon.
const NAV: [(Page, &str, K, Icon); 5] = [
    (Page::Home, "nav-home", K::NavHome, Icon::Home),
    (
        Page::Documents,
        "nav-documents",
        K::NavDocuments,
        Icon::IdCard,
    ),
    (
        Page::Services,
        "nav-services",
        K::NavServices,
        Icon::Landmark,
    ),
    (
        Page::Applications,
        "nav-applications",
        K::NavApplications,
        Icon::Clipboard,
    ),
    (Page::More, "nav-more", K::NavMore, Icon::Shield),
];

#[component]
pub fn NavBar() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let items = NAV
        .into_iter()
        .map(|(page, id, label, which)| {
            // The "more" entry stays lit on the pages it leads to.
            let active = move || {
                let current = ctx.page.get();
                current == page
                    || (page == Page::More
                        && matches!(
                            current,
                            Page::Profiles
                                | Page::Security
                                | Page::Backup
                                | Page::AccessLog
                                | Page::MyQr
                                | Page::Scan
                        ))
            };
            view! {
                <button
                    id=id
                    type="button"
                    class="nav-item"
                    class:active=active
                    aria-current=move || active().then_some("page")
                    on:click=move |_| {
                        if page == Page::Documents {
                            // The tab always leads back to the list.
                            ctx.draft.detail.set(None);
                        }
                        ctx.go(page)
                    }
                >
                    {icon(which)}
                    <span class="nav-label">{move || i18n.t(label)}</span>
                </button>
            }
        })
        .collect_view();
    view! {
        <nav class="nav" aria-label=move || i18n.t(K::NavLabel)>
            {items}
        </nav>
    }
}
