//! The root component, the app-wide context and page switching.
//!
//! There is no URL router: a Tauri window has no address bar, and a single
//! `page` signal keeps navigation instant and easy to test (`#nav-*`).

use crate::components::shell::{Header, NavBar};
use crate::i18n::{provide_i18n, K};
use crate::ipc::{self, cmd};
use crate::pages::access_log::AccessLogPage;
use crate::pages::applications::ApplicationsPage;
use crate::pages::backup::BackupPage;
use crate::pages::documents::{DocDraft, DocumentsPage};
use crate::pages::home::HomePage;
use crate::pages::more::MorePage;
use crate::pages::profiles::ProfilesPage;
use crate::pages::qr::QrPage;
use crate::pages::scan::ScanPage;
use crate::pages::security::{CreatePinScreen, SecurityPage, UnlockScreen};
use crate::pages::services::ServicesPage;
use cds_view::{AppStatus, ErrorKind, IpcError, VaultState};
use leptos::prelude::*;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Page {
    Home,
    Documents,
    Services,
    Applications,
    More,
    Profiles,
    Security,
    Backup,
    AccessLog,
    MyQr,
    Scan,
}

/// State shared by every page.
#[derive(Clone, Copy)]
pub struct AppCtx {
    pub page: RwSignal<Page>,
    /// `app_status`: counts, vault and sync errors. Refetched on every
    /// navigation and after anything that changes it.
    pub status: LocalResource<Result<AppStatus, IpcError>>,
    /// The "add document" form lives here, not in its page, so that what the
    /// citizen typed survives leaving the page and coming back.
    pub draft: DocDraft,
    /// The profile whose documents are shown (`None` until profiles load).
    pub profile: RwSignal<Option<String>>,
    /// [`AppCtx::gate`], memoised: the page is re-rendered only when the
    /// vault's state really changes, not on every status poll.
    pub gate: Memo<Option<VaultState>>,
}

impl AppCtx {
    pub fn go(self, page: Page) {
        // Setting a signal notifies even when the value is the same: that
        // would re-create the whole page (and a form being typed into) for
        // a click on the tab that is already open.
        if self.page.get_untracked() != page {
            self.page.set(page);
        }
        self.status.refetch();
        if let Some(w) = web_sys::window() {
            w.scroll_to_with_x_and_y(0.0, 0.0);
        }
    }

    /// Why the vault is not open, once `app_status` has said so (tracked).
    /// While the status is loading or could not be read, actions stay
    /// enabled: the commands themselves then report what is wrong.
    pub fn vault_error(self) -> Option<IpcError> {
        self.status
            .get()
            .and_then(Result::ok)
            .and_then(|s| s.vault_error)
    }

    /// The vault cannot be used right now (error, locked, or not created).
    pub fn vault_locked(self) -> bool {
        self.vault_error().is_some() || self.gate().is_some()
    }

    /// `Locked` or `NeedsPin` when the PIN screen must be shown instead of
    /// the page (tracked).
    pub fn gate(self) -> Option<VaultState> {
        self.gate.get()
    }

    /// After unlocking, locking or restoring: everything is re-read.
    pub fn vault_changed(self) {
        self.status.refetch();
        self.draft.version.update(|v| *v += 1);
    }

    /// Commands on a vault that did not open fail with the generic
    /// `VaultUnavailable`; the start-up error in `app_status` says *why*
    /// (keyring, missing key, damaged file) and what to do, so show that.
    pub fn explain(self, err: IpcError) -> IpcError {
        if err.kind != ErrorKind::VaultUnavailable {
            return err;
        }
        self.status
            .get_untracked()
            .and_then(Result::ok)
            .and_then(|s| s.vault_error)
            .unwrap_or(err)
    }
}

pub fn use_app() -> AppCtx {
    expect_context::<AppCtx>()
}

/// Calls `f` every `every` while the calling component is mounted.
pub fn poll_while_mounted(every: Duration, f: impl Fn() + 'static) {
    if let Ok(handle) = set_interval_with_handle(f, every) {
        on_cleanup(move || handle.clear());
    }
}

#[component]
pub fn App() -> impl IntoView {
    let i18n = provide_i18n();
    let status = LocalResource::new(|| ipc::call(cmd::app_status::Args {}));
    let gate = Memo::new(
        move |prev: Option<&Option<VaultState>>| match status.get() {
            Some(Ok(s)) => Some(s.vault_state)
                .filter(|s| matches!(s, VaultState::Locked | VaultState::NeedsPin)),
            Some(Err(_)) => None,
            // While (re)loading, keep what was known.
            None => prev.cloned().flatten(),
        },
    );
    let ctx = AppCtx {
        page: RwSignal::new(Page::Home),
        status,
        draft: DocDraft::new(),
        profile: RwSignal::new(None),
        gate,
    };
    provide_context(ctx);

    view! {
        <div class="app">
            <a class="skip-link" href="#main">
                {move || i18n.t(K::SkipToContent)}
            </a>
            <Header />
            <NavBar />
            <main id="main" class="content" tabindex="-1">
                {move || match (ctx.gate(), ctx.page.get()) {
                    (Some(VaultState::NeedsPin), _) => view! { <CreatePinScreen /> }.into_any(),
                    (Some(_), _) => view! { <UnlockScreen /> }.into_any(),
                    (None, Page::Home) => view! { <HomePage /> }.into_any(),
                    (None, Page::Documents) => view! { <DocumentsPage /> }.into_any(),
                    (None, Page::Services) => view! { <ServicesPage /> }.into_any(),
                    (None, Page::Applications) => view! { <ApplicationsPage /> }.into_any(),
                    (None, Page::More) => view! { <MorePage /> }.into_any(),
                    (None, Page::Profiles) => view! { <ProfilesPage /> }.into_any(),
                    (None, Page::Security) => view! { <SecurityPage /> }.into_any(),
                    (None, Page::Backup) => view! { <BackupPage /> }.into_any(),
                    (None, Page::AccessLog) => view! { <AccessLogPage /> }.into_any(),
                    (None, Page::MyQr) => view! { <QrPage /> }.into_any(),
                    (None, Page::Scan) => view! { <ScanPage /> }.into_any(),
                }}
            </main>
        </div>
    }
}
