//! Pieces of the forms that ask for a secret (PIN or backup passphrase):
//! reading and clearing password inputs at submit time, the labelled
//! password field, the "new PIN + confirm" pair with its check, and the
//! error line under such a form.

use crate::components::icons::{icon, Icon};
use crate::i18n::{error_hint, error_text, use_i18n, I18n, K};
use cds_view::IpcError;
use leptos::prelude::*;

/// An error in a secret form: a check made here, or the shell's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretError {
    Client(K),
    Server(IpcError),
}

impl SecretError {
    /// `data-kind` and the translated text; with `hint`, a server error's
    /// text is followed by what to do about it.
    fn code_and_text(&self, i18n: I18n, hint: bool) -> (&'static str, String) {
        match self {
            SecretError::Client(k) => ("client", i18n.t(*k).to_owned()),
            SecretError::Server(err) => {
                let mut t = error_text(i18n.lang(), err);
                if let Some(h) = error_hint(err.kind).filter(|_| hint) {
                    t = format!("{t} {}", i18n.t(h));
                }
                (err.kind.code(), t)
            }
        }
    }
}

fn input_by_id(id: &str) -> Option<web_sys::HtmlInputElement> {
    use wasm_bindgen::JsCast;
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlInputElement>().ok())
}

/// The value of an input by id, read at submit time (WebKitGTK automation
/// may not have delivered every `input` event yet); empty if there is none.
pub fn value_of(id: &str) -> String {
    input_by_id(id).map(|i| i.value()).unwrap_or_default()
}

/// Sets an input's value by id, as if typed (forms read their fields when
/// submitted); nothing happens when there is no such input.
pub fn set_value_of(id: &str, value: &str) {
    if let Some(i) = input_by_id(id) {
        i.set_value(value);
    }
}

/// Empties the inputs with these ids (those that exist).
pub fn clear(ids: &[&str]) {
    for i in ids.iter().filter_map(|id| input_by_id(id)) {
        i.set_value("");
    }
}

/// Checks a new PIN typed twice: required, and the same both times.
pub fn check_new_pin(pin: &str, confirm: &str) -> Result<(), K> {
    if pin.is_empty() {
        return Err(K::ErrFieldRequired);
    }
    if pin != confirm {
        return Err(K::ErrPinMismatch);
    }
    Ok(())
}

/// `<div class="field">` with a label and a password input `#id`.
/// `autocomplete` defaults to `off`; `no_spellcheck` adds
/// `spellcheck="false"` (the PIN fields have it, the passphrase fields not).
#[component]
pub fn SecretField(
    id: &'static str,
    label: K,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(optional)] no_spellcheck: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="field">
            <label for=id>{move || i18n.t(label)}</label>
            <input
                id=id
                type="password"
                autocomplete=autocomplete
                spellcheck=no_spellcheck.then_some("false")
            />
        </div>
    }
}

/// A PIN field: no autocomplete, no spellcheck.
#[component]
pub fn PinField(id: &'static str, label: K) -> impl IntoView {
    view! { <SecretField id=id label=label no_spellcheck=true /> }
}

/// The new PIN, its confirmation and the hint on what a PIN may be; check
/// the two with [`check_new_pin`].
#[component]
pub fn NewPinFields(id: &'static str, confirm_id: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <PinField id=id label=K::PinLabel />
        <PinField id=confirm_id label=K::PinConfirmLabel />
        <p class="hint">{move || i18n.t(K::PinHint)}</p>
    }
}

/// `<p id=… class="form-error" data-kind=…>` while there is an error, with
/// `data-op` when given and, with `hint`, what to do after a server error.
#[component]
pub fn SecretErrorLine(
    id: &'static str,
    #[prop(into)] error: Signal<Option<SecretError>>,
    #[prop(optional)] op: Option<&'static str>,
    #[prop(optional)] hint: bool,
) -> impl IntoView {
    let i18n = use_i18n();
    move || {
        error.get().map(|e| {
            let (code, text) = e.code_and_text(i18n, hint);
            view! {
                <p id=id class="form-error" role="alert" data-op=op data-kind=code>
                    {icon(Icon::Alert)}
                    <span>{text}</span>
                </p>
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_pin_checks() {
        assert_eq!(check_new_pin("", ""), Err(K::ErrFieldRequired));
        assert_eq!(check_new_pin("", "1234"), Err(K::ErrFieldRequired));
        assert_eq!(check_new_pin("1234", "1243"), Err(K::ErrPinMismatch));
        assert_eq!(check_new_pin("1234", "1234"), Ok(()));
    }
}
