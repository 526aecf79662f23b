//! PIN and lock: set or change the PIN, lock the vault; and the two screens
//! shown instead of any page while the vault cannot be used: unlock with the
//! PIN, or create a PIN (which creates the vault) when this computer has no
//! keyring.

use crate::app::use_app;
use crate::components::icons::{icon, Icon};
use crate::components::secret_form::{
    check_new_pin, clear, value_of, NewPinFields, PinField, SecretError as PinError,
    SecretErrorLine,
};
use crate::i18n::{use_i18n, wait_text, K};
use crate::ipc::{self, cmd};
use crate::pages::more::BackToMore;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

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
            let r = ipc::call(cmd::unlock_vault::Args {
                pin: pin.to_owned(),
            })
            .await;
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
                <PinField id="unlock-pin" label=K::UnlockPinLabel />
                <SecretErrorLine id="unlock-error" error=error hint=true />
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
        if let Err(k) = check_new_pin(&pin, &value_of("new-pin-confirm")) {
            error.set(Some(PinError::Client(k)));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let r = ipc::call(cmd::create_vault_with_pin::Args {
                pin: pin.to_owned(),
            })
            .await;
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
                <NewPinFields id="new-pin" confirm_id="new-pin-confirm" />
                <SecretErrorLine id="create-pin-error" error=error hint=true />
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
        let checked = if changing && old.is_empty() {
            Err(K::ErrFieldRequired)
        } else {
            check_new_pin(&new, &value_of("pin-new-confirm"))
        };
        if let Err(k) = checked {
            error.set(Some(PinError::Client(k)));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let r = if changing {
                ipc::call(cmd::change_pin::Args {
                    old_pin: old.to_owned(),
                    new_pin: new.to_owned(),
                })
                .await
            } else {
                ipc::call(cmd::set_pin::Args {
                    pin: new.to_owned(),
                })
                .await
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
            match ipc::call(cmd::lock_vault::Args {}).await {
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
                    <PinField id="old-pin" label=K::OldPinLabel />
                </Show>
                <NewPinFields id="pin-new" confirm_id="pin-new-confirm" />
                <SecretErrorLine id="pin-error" error=error hint=true />
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
