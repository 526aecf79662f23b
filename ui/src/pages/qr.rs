//! "Mã QR của tôi": activate the citizen QR with the city's one-time code,
//! then show it full-screen, offline, with the holder's name and photo,
//! choosing how much it discloses.
//!
//! The code is rendered by the shell (the credential never leaves it in any
//! other form). Showing a code is logged by the shell, once per choice
//! shown, not on every re-render: the code is fetched only when the choice
//! or the credentials change.

use crate::app::{poll_while_mounted, use_app};
use crate::components::feedback::{ErrorBox, Loading};
use crate::components::icons::{icon, Icon};
use crate::format::local_date_time;
use crate::i18n::{use_i18n, K};
use crate::ipc::{self, cmd};
use crate::pages::more::BackToMore;
use cds_view::{ActivateInput, IpcError, MyQrView, QrDisclosure};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

fn disclosure_keys(d: QrDisclosure) -> (K, K) {
    match d {
        QrDisclosure::Full => (K::QrFull, K::QrFullDesc),
        QrDisclosure::Over18 => (K::QrOver18, K::QrOver18Desc),
        QrDisclosure::NameOnly => (K::QrNameOnly, K::QrNameOnlyDesc),
    }
}

#[component]
pub fn QrPage() -> impl IntoView {
    let i18n = use_i18n();
    // Bumped after activation, refresh or removal; the page re-reads.
    let version = RwSignal::new(0u32);
    let state = LocalResource::new(move || {
        version.track();
        ipc::call(cmd::my_qr::Args {})
    });
    // The shell refreshes credentials in the background: notice when the
    // stored set changes (a new `fetched_at`) and show the new code.
    let seen = StoredValue::new(None::<Option<String>>);
    // Kept here, not in the code view: new credentials (refreshed by hand
    // or in the background) re-create that view, and it must keep showing
    // what the citizen chose to share, full screen if it was.
    let choice = RwSignal::new(QrDisclosure::Full);
    let full = RwSignal::new(false);
    let notice = RwSignal::new(None::<K>);
    poll_while_mounted(Duration::from_secs(20), move || {
        spawn_local(async move {
            if let Ok(v) = ipc::call(cmd::my_qr::Args {}).await {
                let changed = seen.with_value(|s| s.as_ref().is_some_and(|f| *f != v.fetched_at));
                seen.set_value(Some(v.fetched_at.clone()));
                if changed {
                    version.update(|n| *n += 1);
                }
            }
        });
    });

    let body = move || match state.get() {
        None => view! { <Loading /> }.into_any(),
        Some(Err(e)) => view! { <ErrorBox err=e /> }.into_any(),
        Some(Ok(v)) => {
            seen.set_value(Some(v.fetched_at.clone()));
            // Activated but holding no code (a refresh failed): the refresh
            // button and the reason, not a new activation.
            if v.enrolled {
                view! { <QrShow v=v version=version choice=choice full=full notice=notice /> }
                    .into_any()
            } else {
                view! { <ActivateForm version=version /> }.into_any()
            }
        }
    };

    view! {
        <section id="page-qr" class="page">
            <BackToMore />
            <div class="page-head">
                <h1 class="page-title">{move || i18n.t(K::QrTitle)}</h1>
            </div>
            <p class="page-intro">{move || i18n.t(K::QrIntro)}</p>
            {body}
        </section>
    }
}

#[component]
fn ActivateForm(version: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let code = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<IpcError>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let c = code.get_untracked();
        spawn_local(async move {
            let r = ipc::call(cmd::activate_qr::Args {
                input: ActivateInput { code: c.to_owned() },
            })
            .await;
            busy.set(false);
            match r {
                Ok(_) => version.update(|n| *n += 1),
                Err(e) => error.set(Some(ctx.explain(e))),
            }
        });
    };
    view! {
        <form id="qr-activate-form" class="card form" on:submit=submit>
            <h2 class="section-title">{move || i18n.t(K::QrActivateTitle)}</h2>
            <p class="hint">{move || i18n.t(K::QrActivateIntro)}</p>
            <div class="field">
                <label for="qr-code">{move || i18n.t(K::QrCodeLabel)}</label>
                <input
                    id="qr-code"
                    type="text"
                    autocomplete="one-time-code"
                    autocapitalize="characters"
                    spellcheck="false"
                    class="input-code"
                    prop:value=move || code.get()
                    on:input=move |ev| code.set(event_target_value(&ev))
                />
            </div>
            {move || error.get().map(|e| view! { <div id="qr-error"><ErrorBox err=e /></div> })}
            <div class="form-actions">
                <button
                    id="qr-activate"
                    type="submit"
                    class="btn btn-primary"
                    disabled=move || busy.get() || code.get().trim().is_empty()
                >
                    {move || i18n.t(if busy.get() { K::QrActivating } else { K::QrActivate })}
                </button>
            </div>
        </form>
    }
}

#[component]
fn QrShow(
    v: MyQrView,
    version: RwSignal<u32>,
    choice: RwSignal<QrDisclosure>,
    full: RwSignal<bool>,
    notice: RwSignal<Option<K>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    // A choice the new set lacks (a minor has no "over 18") falls back.
    if !v
        .options
        .iter()
        .any(|o| o.disclosure == choice.get_untracked())
    {
        choice.set(QrDisclosure::Full);
    }
    let options = StoredValue::new(v.options.clone());
    let expired = move || {
        let d = choice.get();
        options.with_value(|o| {
            o.iter()
                .find(|x| x.disclosure == d)
                .is_none_or(|x| x.seconds_left <= 0)
        })
    };
    let code = LocalResource::new(move || {
        let d = choice.get();
        async move {
            let gone = options.with_value(|o| {
                o.iter()
                    .find(|x| x.disclosure == d)
                    .is_none_or(|x| x.seconds_left <= 0)
            });
            if gone {
                None
            } else {
                Some(ipc::call(cmd::show_qr::Args { disclosure: d }).await)
            }
        }
    });
    let refreshing = RwSignal::new(false);
    let action_error = RwSignal::new(None::<IpcError>);
    let confirm_forget = RwSignal::new(false);

    let refresh = move |_| {
        if refreshing.get_untracked() {
            return;
        }
        refreshing.set(true);
        notice.set(None);
        action_error.set(None);
        spawn_local(async move {
            let r = ipc::call(cmd::refresh_qr::Args {}).await;
            refreshing.set(false);
            match r {
                Ok(_) => {
                    notice.set(Some(K::QrRefreshed));
                    version.update(|n| *n += 1);
                }
                Err(e) => action_error.set(Some(ctx.explain(e))),
            }
        });
    };
    let forget = move |_| {
        if !confirm_forget.get_untracked() {
            confirm_forget.set(true);
            return;
        }
        spawn_local(async move {
            match ipc::call(cmd::forget_qr::Args {}).await {
                Ok(()) => version.update(|n| *n += 1),
                Err(e) => action_error.set(Some(ctx.explain(e))),
            }
        });
    };
    // Escape leaves full screen.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            full.set(false);
        }
    };

    // Only what the device holds: a minor has no "over 18" code.
    let choices = QrDisclosure::ALL
        .into_iter()
        .filter(|d| v.options.iter().any(|o| o.disclosure == *d))
        .map(|d| {
            let (title, desc) = disclosure_keys(d);
            view! {
                <button
                    id=format!("qr-choice-{}", d.code())
                    type="button"
                    class="choice"
                    class:selected=move || choice.get() == d
                    aria-pressed=move || (choice.get() == d).to_string()
                    on:click=move |_| choice.set(d)
                >
                    <span class="choice-title">{move || i18n.t(title)}</span>
                    <span class="choice-desc">{move || i18n.t(desc)}</span>
                </button>
            }
        })
        .collect_view();

    let holder = v.full_name.clone().unwrap_or_default();
    let number = v.number_masked.clone().unwrap_or_default();
    let refresh_error = v.refresh_error.clone();

    let card = move || {
        if expired() {
            return view! {
                <p id="qr-expired" class="note note-warning">{move || i18n.t(K::QrExpired)}</p>
            }
            .into_any();
        }
        match code.get() {
            None | Some(None) => view! { <Loading /> }.into_any(),
            Some(Some(Err(e))) => view! { <ErrorBox err=e /> }.into_any(),
            Some(Some(Ok(q))) => {
                let photo = q.photo_data_url.clone();
                let (title, _) = disclosure_keys(q.disclosure);
                view! {
                    <div
                        id="qr-card"
                        class="qr-card"
                        class:qr-card-full=move || full.get()
                        data-disclosure=q.disclosure.code()
                        tabindex="-1"
                        on:keydown=on_key
                    >
                        <div class="qr-holder">
                            {match photo {
                                Some(src) => {
                                    view! { <img id="qr-photo" class="qr-photo" src=src alt="" /> }
                                        .into_any()
                                }
                                None => {
                                    view! {
                                        <p id="qr-no-photo" class="hint qr-no-photo">
                                            {move || i18n.t(K::QrNoPhoto)}
                                        </p>
                                    }
                                        .into_any()
                                }
                            }}
                            <div>
                                <p id="qr-holder" class="qr-name">{q.holder_name.clone()}</p>
                                <p class="qr-kind">{move || i18n.t(title)}</p>
                            </div>
                        </div>
                        <div id="qr-svg" class="qr-svg" inner_html=q.svg.clone()></div>
                        <p class="qr-valid">
                            {move || i18n.t(K::QrValidUntil)}
                            ": "
                            <span id="qr-valid-until">{local_date_time(&q.not_after)}</span>
                        </p>
                        <div class="form-actions qr-actions">
                            <Show
                                when=move || full.get()
                                fallback=move || {
                                    view! {
                                        <button
                                            id="qr-fullscreen"
                                            type="button"
                                            class="btn btn-primary"
                                            on:click=move |_| full.set(true)
                                        >
                                            {move || i18n.t(K::QrFullscreen)}
                                        </button>
                                    }
                                }
                            >
                                <button
                                    id="qr-close"
                                    type="button"
                                    class="btn btn-secondary"
                                    on:click=move |_| full.set(false)
                                >
                                    {move || i18n.t(K::QrCloseFullscreen)}
                                </button>
                            </Show>
                        </div>
                    </div>
                }
                .into_any()
            }
        }
    };

    view! {
        <div class="qr-page">
            <p class="qr-subject">
                <span id="qr-subject-name" class="qr-subject-name">{holder}</span>
                " · "
                <span id="qr-subject-number">{number}</span>
            </p>
            <fieldset class="choices">
                <legend>{move || i18n.t(K::QrChoose)}</legend>
                {choices}
            </fieldset>
            {card}
            {refresh_error
                .map(|e| {
                    view! {
                        <div id="qr-refresh-error" class="qr-refresh-error">
                            <p class="hint">{move || i18n.t(K::QrRefreshFailed)}</p>
                            <ErrorBox err=e />
                        </div>
                    }
                })}
            {move || {
                notice
                    .get()
                    .map(|k| {
                        view! {
                            <p id="qr-notice" class="success" role="status">
                                {icon(Icon::Check)}
                                {move || i18n.t(k)}
                            </p>
                        }
                    })
            }}
            {move || action_error.get().map(|e| view! { <div id="qr-error"><ErrorBox err=e /></div> })}
            <p class="hint">{move || i18n.t(K::QrAutoRefresh)}</p>
            <p class="hint">{move || i18n.t(K::QrLogged)}</p>
            <div class="form-actions">
                <button
                    id="qr-refresh"
                    type="button"
                    class="btn btn-secondary"
                    disabled=move || refreshing.get()
                    on:click=refresh
                >
                    {icon(Icon::Sync)}
                    {move || i18n.t(if refreshing.get() { K::QrRefreshing } else { K::QrRefresh })}
                </button>
                <button id="qr-forget" type="button" class="btn btn-secondary btn-danger" on:click=forget>
                    {move || {
                        i18n.t(if confirm_forget.get() { K::QrForgetConfirm } else { K::QrForget })
                    }}
                </button>
            </div>
        </div>
    }
}
