//! PIN and lock: set or change the PIN, lock the vault; and the two screens
//! shown instead of any page while the vault cannot be used: unlock with the
//! PIN, or create a PIN (which creates the vault) when this computer has no
//! keyring.

use crate::app::use_app;
use crate::components::icons::{icon, Icon};
use crate::i18n::{error_code, error_hint, error_text, use_i18n, wait_text, K};
use crate::ipc;
use crate::pages::more::BackToMore;
use cds_view::IpcError;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// An error in one of these forms: a check made here, or the shell's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PinError {
    Client(K),
    Server(IpcError),
}

/// The value of a password field by id, read at submit time (WebKitGTK
/// automation may not have delivered every `input` event yet).
fn value_of(id: &str) -> String {
    use wasm_bindgen::JsCast;
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        .map(|i| i.value())
        .unwrap_or_default()
}

fn clear(ids: &[&str]) {
    use wasm_bindgen::JsCast;
    for id in ids {
        if let Some(i) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id(id))
            .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
        {
            i.set_value("");
        }
    }
}

/// `<p id=… data-kind=…>` with the translated error and what to do.
#[component]
fn PinErrorLine(id: &'static str, error: RwSignal<Option<PinError>>) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        error.get().map(|e| {
            let (code, text) = match &e {
                PinError::Client(k) => ("client", i18n.t(*k).to_owned()),
                PinError::Server(err) => {
                    let mut t = error_text(i18n.lang(), err);
                    if let Some(h) = error_hint(err.kind) {
                        t = format!("{t} {}", i18n.t(h));
                    }
                    (error_code(err.kind), t)
                }
            };
            view! {
                <p id=id class="form-error" role="alert" data-kind=code>
                    {icon(Icon::Alert)}
                    <span>{text}</span>
                </p>
            }
        })
    }
}

#[component]
fn PasswordField(id: &'static str, label: K) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="field">
            <label for=id>{move || i18n.t(label)}</label>
            <input id=id type="password" autocomplete="off" spellcheck="false" />
        </div>
    }
}

/// `#unlock-screen`.
#[component]
pub fn UnlockScreen() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let error = RwSignal::new(None::<PinError>);
    let busy = RwSignal::new(false);
    let keyring_down = move || {
        ctx.status
            .get()
            .and_then(Result::ok)
            .is_some_and(|s| !s.keyring_available)
    };
    let waiting = move || {
        ctx.status
            .get()
            .and_then(Result::ok)
            .map(|s| s.pin_retry_after_secs)
            .filter(|s| *s > 0)
    };
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        // A new attempt: the old message goes, so a new one is noticed.
        error.set(None);
        let pin = value_of("unlock-pin");
        if pin.is_empty() {
            error.set(Some(PinError::Client(K::ErrFieldRequired)));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let r = ipc::unlock_vault(&pin).await;
            busy.set(false);
            match r {
                Ok(()) => {
                    error.set(None);
                    ctx.vault_changed();
                }
                Err(e) => {
                    clear(&["unlock-pin"]);
                    error.set(Some(PinError::Server(e)));
                }
            }
        });
    };
    view! {
        <section id="unlock-screen" class="page gate">
            <div class="hero">
                <span class="hero-icon">{icon(Icon::Shield)}</span>
                <div>
                    <h1 class="page-title">{move || i18n.t(K::UnlockTitle)}</h1>
                    <p class="lead">{move || i18n.t(K::UnlockIntro)}</p>
                </div>
            </div>
            <Show when=keyring_down>
                <p id="unlock-keyring-note" class="note note-warning">
                    {move || i18n.t(K::UnlockKeyringNote)}
                </p>
            </Show>
            <form id="unlock-form" class="card form" novalidate on:submit=submit>
                <PasswordField id="unlock-pin" label=K::UnlockPinLabel />
                <PinErrorLine id="unlock-error" error=error />
                {move || {
                    (error.get().is_none())
                        .then(waiting)
                        .flatten()
                        .map(|s| view! { <p id="unlock-wait" class="note">{move || wait_text(i18n.lang(), s)}</p> })
                }}
                <div class="form-actions">
                    <button id="unlock-submit" type="submit" class="btn btn-primary" disabled=move || busy.get()>
                        {move || i18n.t(if busy.get() { K::Unlocking } else { K::Unlock })}
                    </button>
                </div>
            </form>
        </section>
    }
}

/// `#create-pin-screen`: no vault and no keyring.
#[component]
pub fn CreatePinScreen() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let error = RwSignal::new(None::<PinError>);
    let busy = RwSignal::new(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        // A new attempt: the old message goes, so a new one is noticed.
        error.set(None);
        let pin = value_of("new-pin");
        if pin.is_empty() {
            error.set(Some(PinError::Client(K::ErrFieldRequired)));
            return;
        }
        if pin != value_of("new-pin-confirm") {
            error.set(Some(PinError::Client(K::ErrPinMismatch)));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let r = ipc::create_vault_with_pin(&pin).await;
            busy.set(false);
            match r {
                Ok(()) => {
                    error.set(None);
                    ctx.vault_changed();
                }
                Err(e) => error.set(Some(PinError::Server(e))),
            }
        });
    };
    view! {
        <section id="create-pin-screen" class="page gate">
            <div class="hero">
                <span class="hero-icon">{icon(Icon::Shield)}</span>
                <div>
                    <h1 class="page-title">{move || i18n.t(K::CreatePinTitle)}</h1>
                    <p class="lead">{move || i18n.t(K::CreatePinIntro)}</p>
                </div>
            </div>
            <form id="create-pin-form" class="card form" novalidate on:submit=submit>
                <PasswordField id="new-pin" label=K::PinLabel />
                <PasswordField id="new-pin-confirm" label=K::PinConfirmLabel />
                <p class="hint">{move || i18n.t(K::PinHint)}</p>
                <PinErrorLine id="create-pin-error" error=error />
                <div class="form-actions">
                    <button id="create-pin-submit" type="submit" class="btn btn-primary" disabled=move || busy.get()>
                        {move || i18n.t(K::CreateVault)}
                    </button>
                </div>
            </form>
        </section>
    }
}

/// `#page-security`.
#[component]
pub fn SecurityPage() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let has_pin = move || {
        ctx.status
            .get()
            .and_then(Result::ok)
            .is_some_and(|s| s.has_pin)
    };
    let error = RwSignal::new(None::<PinError>);
    let saved = RwSignal::new(false);
    let busy = RwSignal::new(false);

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        // A new attempt: the old message goes, so a new one is noticed.
        error.set(None);
        saved.set(false);
        let changing = has_pin();
        let old = value_of("old-pin");
        let new = value_of("pin-new");
        if (changing && old.is_empty()) || new.is_empty() {
            error.set(Some(PinError::Client(K::ErrFieldRequired)));
            return;
        }
        if new != value_of("pin-new-confirm") {
            error.set(Some(PinError::Client(K::ErrPinMismatch)));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let r = if changing {
                ipc::change_pin(&old, &new).await
            } else {
                ipc::set_pin(&new).await
            };
            busy.set(false);
            match r {
                Ok(()) => {
                    error.set(None);
                    saved.set(true);
                    clear(&["old-pin", "pin-new", "pin-new-confirm"]);
                    ctx.status.refetch();
                }
                Err(e) => error.set(Some(PinError::Server(ctx.explain(e)))),
            }
        });
    };
    let lock = move |_| {
        spawn_local(async move {
            match ipc::lock_vault().await {
                Ok(()) => ctx.vault_changed(),
                Err(e) => error.set(Some(PinError::Server(e))),
            }
        });
    };

    view! {
        <section id="page-security" class="page">
            <BackToMore />
            <div class="page-head">
                <h1 class="page-title">{move || i18n.t(K::SecurityTitle)}</h1>
                <p class="lead">{move || i18n.t(K::SecurityIntro)}</p>
            </div>
            <div class="live" aria-live="polite">
                {move || saved.get().then(|| view! {
                    <p id="pin-saved" class="success">{icon(Icon::Check)}{move || i18n.t(K::PinSaved)}</p>
                })}
            </div>
            <form
                id="pin-form"
                class="card form"
                novalidate
                data-mode=move || if has_pin() { "change" } else { "set" }
                on:submit=submit
            >
                <h2 class="form-title">
                    {move || i18n.t(if has_pin() { K::ChangePinTitle } else { K::SetPinTitle })}
                </h2>
                <Show when=has_pin>
                    <PasswordField id="old-pin" label=K::OldPinLabel />
                </Show>
                <PasswordField id="pin-new" label=K::PinLabel />
                <PasswordField id="pin-new-confirm" label=K::PinConfirmLabel />
                <p class="hint">{move || i18n.t(K::PinHint)}</p>
                <PinErrorLine id="pin-error" error=error />
                <div class="form-actions">
                    <button id="pin-submit" type="submit" class="btn btn-primary" disabled=move || busy.get()>
                        {move || i18n.t(K::PinSave)}
                    </button>
                </div>
            </form>
            <div class="card">
                {move || {
                    if has_pin() {
                        view! {
                            <button id="lock-now" type="button" class="btn btn-secondary btn-block" on:click=lock>
                                {icon(Icon::Shield)}
                                {move || i18n.t(K::LockNow)}
                            </button>
                        }
                        .into_any()
                    } else {
                        view! { <p class="muted" id="lock-needs-pin">{move || i18n.t(K::LockNeedsPin)}</p> }.into_any()
                    }
                }}
            </div>
        </section>
    }
}
