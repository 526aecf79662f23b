//! Loading, error and status messages shared by the pages.

use crate::app::use_app;
use crate::components::icons::{icon, Icon};
use crate::i18n::{error_hint, error_text, use_i18n, K};
use cds_view::IpcError;
use leptos::prelude::*;

/// A polite "loading…" line.
#[component]
pub fn Loading() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <p class="loading" role="status">
            <span class="spinner" aria-hidden="true"></span>
            {move || i18n.t(K::Loading)}
        </p>
    }
}

/// The technical message of an error, folded away: support volunteers need
/// it, citizens should not have to read it.
#[component]
pub fn TechDetails(message: String) -> impl IntoView {
    let i18n = use_i18n();
    (!message.trim().is_empty()).then(|| {
        view! {
            <details class="tech-details">
                <summary>{move || i18n.t(K::TechDetails)}</summary>
                <code>{message}</code>
            </details>
        }
    })
}

/// A translated error with what to do about it and an optional retry.
#[component]
pub fn ErrorBox(err: IpcError, #[prop(optional)] on_retry: Option<Callback<()>>) -> impl IntoView {
    let i18n = use_i18n();
    let err = use_app().explain(err);
    let kind = err.kind;
    let message = err.message.clone();
    view! {
        <div class="error-box" role="alert" data-kind=kind.code()>
            {icon(Icon::Alert)}
            <div class="error-body">
                <p class="error-text">{move || error_text(i18n.lang(), &err)}</p>
                {error_hint(kind)
                    .map(|hint| view! { <p class="error-hint">{move || i18n.t(hint)}</p> })}
                <TechDetails message=message />
                {on_retry
                    .map(|cb| {
                        view! {
                            <button
                                type="button"
                                class="btn btn-secondary btn-small"
                                on:click=move |_| cb.run(())
                            >
                                {move || i18n.t(K::Retry)}
                            </button>
                        }
                    })}
            </div>
        </div>
    }
}
