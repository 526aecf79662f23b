//! "Quét mã QR": the camera (where there is one) or a picked picture; what
//! is found is routed by the shell and shown here:
//! - a citizen QR is checked offline against the city's cached keys, with
//!   a large coloured verdict (officer mode);
//! - an ID card's QR is shown as UNVERIFIED and can fill in the ID card form;
//! - a link is shown with its real domain and a warning, never opened;
//! - text is shown as text.

use crate::app::{poll_while_mounted, use_app, Page};
use crate::components::feedback::{ErrorBox, Loading};
use crate::components::icons::{icon, Icon};
use crate::format::{iso_to_display, local_date_time};
use crate::i18n::{use_i18n, K};
use crate::ipc::{self, cmd};
use crate::pages::more::BackToMore;
use cds_view::{
    CccdScanView, DocumentKind, ErrorKind, IpcError, ScanImageInput, ScanResultView,
    VerifiedQrView, VerifyOutcome,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::collections::BTreeMap;
use std::time::Duration;
use web_sys::Event;

/// Pictures larger than this are refused before they are read (the shell
/// has its own, pixel-based limits).
const MAX_PICTURE_BYTES: f64 = 30.0 * 1024.0 * 1024.0;

fn outcome_keys(o: VerifyOutcome) -> (K, K, &'static str) {
    match o {
        VerifyOutcome::Valid => (K::VerifyValid, K::VerifyValidDesc, "valid"),
        VerifyOutcome::Expired => (K::VerifyExpired, K::VerifyExpiredDesc, "expired"),
        VerifyOutcome::NotYetValid => (
            K::VerifyNotYetValid,
            K::VerifyNotYetValidDesc,
            "not_yet_valid",
        ),
        VerifyOutcome::Revoked => (K::VerifyRevoked, K::VerifyRevokedDesc, "revoked"),
        VerifyOutcome::Forged => (K::VerifyForged, K::VerifyForgedDesc, "forged"),
        VerifyOutcome::Malformed => (K::VerifyMalformed, K::VerifyMalformedDesc, "malformed"),
    }
}

fn result_type(r: &ScanResultView) -> &'static str {
    match r {
        ScanResultView::Credential { .. } => "credential",
        ScanResultView::Cccd { .. } => "cccd",
        ScanResultView::InvalidCccd { .. } => "invalid_cccd",
        ScanResultView::Url { .. } => "url",
        ScanResultView::Text { .. } => "text",
        ScanResultView::Unreadable { .. } => "unreadable",
    }
}

/// Reads a picked picture and asks the shell to scan it.
async fn scan_file(file: web_sys::File) -> Result<ScanResultView, IpcError> {
    use base64::Engine as _;
    if file.size() > MAX_PICTURE_BYTES {
        return Err(IpcError::new(ErrorKind::TooLarge, file.name()));
    }
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| IpcError::new(ErrorKind::NotAnImage, file.name()))?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    ipc::call(cmd::scan_image::Args {
        input: ScanImageInput {
            file_name: file.name(),
            data_base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
        },
    })
    .await
}

#[component]
pub fn ScanPage() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let result = RwSignal::new(None::<ScanResultView>);
    let error = RwSignal::new(None::<IpcError>);
    let busy = RwSignal::new(false);
    let camera_on = RwSignal::new(false);
    let preview = RwSignal::new(None::<String>);

    // While the camera runs, poll its preview and result.
    poll_while_mounted(Duration::from_millis(200), move || {
        if !camera_on.get_untracked() {
            return;
        }
        spawn_local(async move {
            match ipc::call(cmd::camera_status::Args {}).await {
                Ok(c) => {
                    preview.set(c.preview_data_url);
                    if let Some(r) = c.result {
                        result.set(Some(r));
                        camera_on.set(false);
                        let _ = ipc::call(cmd::camera_stop::Args {}).await;
                    } else if let Some(e) = c.error {
                        error.set(Some(e));
                        camera_on.set(false);
                    } else if !c.running {
                        camera_on.set(false);
                    }
                }
                Err(e) => {
                    error.set(Some(e));
                    camera_on.set(false);
                }
            }
        });
    });
    // Leaving the page frees the camera.
    on_cleanup(move || {
        if camera_on.get_untracked() {
            spawn_local(async move {
                let _ = ipc::call(cmd::camera_stop::Args {}).await;
            });
        }
    });

    let start_camera = move |_| {
        result.set(None);
        error.set(None);
        spawn_local(async move {
            match ipc::call(cmd::camera_start::Args {}).await {
                Ok(_) => camera_on.set(true),
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let stop_camera = move |_| {
        camera_on.set(false);
        spawn_local(async move {
            let _ = ipc::call(cmd::camera_stop::Args {}).await;
        });
    };

    let on_pick = move |ev: Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|l| l.get(0)) else {
            return;
        };
        input.set_value("");
        result.set(None);
        error.set(None);
        busy.set(true);
        spawn_local(async move {
            let r = scan_file(file).await;
            busy.set(false);
            match r {
                Ok(r) => result.set(Some(r)),
                Err(e) => error.set(Some(ctx.explain(e))),
            }
        });
    };

    view! {
        <section id="page-scan" class="page">
            <BackToMore />
            <div class="page-head">
                <h1 class="page-title">{move || i18n.t(K::ScanTitle)}</h1>
            </div>
            <p class="page-intro">{move || i18n.t(K::ScanIntro)}</p>
            <div class="card scan-sources">
                <div class="form-actions">
                    <Show
                        when=move || camera_on.get()
                        fallback=move || {
                            view! {
                                <button
                                    id="scan-camera"
                                    type="button"
                                    class="btn btn-primary"
                                    on:click=start_camera
                                >
                                    {icon(Icon::Scan)}
                                    {move || i18n.t(K::ScanCamera)}
                                </button>
                            }
                        }
                    >
                        <button
                            id="scan-camera-stop"
                            type="button"
                            class="btn btn-secondary"
                            on:click=stop_camera
                        >
                            {move || i18n.t(K::ScanCameraStop)}
                        </button>
                    </Show>
                </div>
                <Show when=move || camera_on.get()>
                    <div class="camera-view">
                        {move || {
                            preview
                                .get()
                                .map(|src| {
                                    view! { <img id="camera-preview" src=src alt="" /> }
                                })
                        }}
                        <p class="hint" role="status">{move || i18n.t(K::ScanCameraLooking)}</p>
                    </div>
                </Show>
                <div class="field">
                    <label for="scan-file">{move || i18n.t(K::ScanPickImage)}</label>
                    <input id="scan-file" type="file" accept="image/*" on:change=on_pick />
                    <p class="hint">{move || i18n.t(K::ScanPickHint)}</p>
                </div>
            </div>
            <Show when=move || busy.get()>
                <p class="loading" role="status">
                    <span class="spinner" aria-hidden="true"></span>
                    {move || i18n.t(K::Scanning)}
                </p>
            </Show>
            {move || {
                error
                    .get()
                    .map(|e| {
                        let no_camera = e.kind == ErrorKind::CameraUnavailable;
                        view! {
                            <div id="scan-error">
                                {no_camera
                                    .then(|| {
                                        view! {
                                            <p id="camera-none" class="note note-warning">
                                                {move || i18n.t(K::CameraNone)}
                                            </p>
                                        }
                                    })}
                                <ErrorBox err=e />
                            </div>
                        }
                    })
            }}
            {move || result.get().map(|r| view! { <ScanResult r=r /> })}
            <TrustBox />
        </section>
    }
}

#[component]
fn ScanResult(r: ScanResultView) -> impl IntoView {
    let i18n = use_i18n();
    let kind = result_type(&r);
    let inner = match r {
        ScanResultView::Credential { check } => view! { <Verdict v=check /> }.into_any(),
        ScanResultView::Cccd { card } => view! { <CccdCard card=card /> }.into_any(),
        ScanResultView::InvalidCccd { message } => view! {
            <div id="cccd-invalid" class="error-box" role="alert">
                {icon(Icon::Alert)}
                <div class="error-body">
                    <p class="error-text">{move || i18n.t(K::CccdInvalidTitle)}</p>
                    <p id="cccd-invalid-message">{message}</p>
                </div>
            </div>
        }
        .into_any(),
        ScanResultView::Url { url, host } => view! {
            <div class="card scan-url">
                <h2 class="section-title">{move || i18n.t(K::UrlTitle)}</h2>
                <p id="url-warning" class="note note-warning" role="alert">
                    {icon(Icon::Alert)}
                    {move || i18n.t(K::UrlWarning)}
                </p>
                <p>
                    {move || i18n.t(K::UrlDomain)}
                    ": "
                    <strong id="url-host" class="url-host">{host}</strong>
                </p>
                // Selectable in one tap, so it can be copied and checked;
                // the app itself never opens it.
                <p id="url-text" class="url-text">{url}</p>
            </div>
        }
        .into_any(),
        ScanResultView::Text { text } => view! {
            <div class="card">
                <h2 class="section-title">{move || i18n.t(K::TextTitle)}</h2>
                <pre id="scan-text" class="scan-text">{text}</pre>
            </div>
        }
        .into_any(),
        ScanResultView::Unreadable { message, .. } => view! {
            <div class="card">
                <h2 class="section-title">{move || i18n.t(K::UnreadableTitle)}</h2>
                <p id="scan-unreadable">{message}</p>
            </div>
        }
        .into_any(),
    };
    view! {
        <div id="scan-result" class="scan-result" data-type=kind>
            {inner}
        </div>
    }
}

/// The officer's verdict: a large coloured word first, then the details.
#[component]
fn Verdict(v: VerifiedQrView) -> impl IntoView {
    let i18n = use_i18n();
    let (title, desc, code) = outcome_keys(v.outcome);
    let row = |label: K, value: Option<String>, id: &'static str| {
        value.map(|val| {
            view! {
                <div class="field-row">
                    <dt>{move || i18n.t(label)}</dt>
                    <dd id=id>{val}</dd>
                </div>
            }
        })
    };
    let as_of = v.revocations_as_of.clone();
    let good_signature = matches!(
        v.outcome,
        VerifyOutcome::Valid
            | VerifyOutcome::Expired
            | VerifyOutcome::NotYetValid
            | VerifyOutcome::Revoked
    );
    view! {
        <div class="card verdict" data-outcome=code>
            <div id="verify-outcome" class="verdict-banner" data-outcome=code role="alert">
                {icon(if v.outcome == VerifyOutcome::Valid { Icon::Check } else { Icon::Alert })}
                <span class="verdict-title">{move || i18n.t(title)}</span>
            </div>
            <p class="verdict-desc">{move || i18n.t(desc)}</p>
            <dl class="fields">
                {row(K::FieldName, v.full_name.clone(), "verify-name")}
                {row(K::FieldIdNumber, v.id_number.clone(), "verify-number")}
                {row(K::FieldDob, v.date_of_birth.as_deref().map(iso_to_display), "verify-dob")}
                {v
                    .over_18
                    .filter(|b| *b)
                    .map(|_| {
                        view! {
                            <div class="field-row">
                                <dt>{move || i18n.t(K::FieldOver18)}</dt>
                                <dd id="verify-over18">{move || i18n.t(K::Yes)}</dd>
                            </div>
                        }
                    })}
                {row(K::FieldIssuer, good_signature.then(|| v.issuer.clone()).flatten(), "verify-issuer")}
                {row(K::FieldExpires, v.expires.as_deref().map(local_date_time), "verify-expires")}
            </dl>
            {good_signature
                .then(|| match as_of {
                    Some(t) => {
                        view! {
                            <p id="verify-revocations" class="hint">
                                {move || i18n.t(K::RevocationsAsOf)}
                                " "
                                {local_date_time(&t)}
                            </p>
                        }
                            .into_any()
                    }
                    None => {
                        view! {
                            <p id="verify-revocations" class="note note-warning">
                                {move || i18n.t(K::RevocationsNone)}
                            </p>
                        }
                            .into_any()
                    }
                })}
            <crate::components::feedback::TechDetails message=v.detail.clone() />
        </div>
    }
}

/// An ID card's QR: unverified, offered to the ID card form.
#[component]
fn CccdCard(card: CccdScanView) -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let sex = match card.sex.as_str() {
        "nam" => ("Nam", "Male"),
        _ => ("Nữ", "Female"),
    };
    let existing = card.existing_document_id.clone();
    let values = StoredValue::new({
        let mut m = BTreeMap::new();
        m.insert("number".to_owned(), card.number.clone());
        m.insert("full_name".to_owned(), card.full_name.clone());
        m.insert(
            "date_of_birth".to_owned(),
            iso_to_display(&card.date_of_birth),
        );
        m.insert("sex".to_owned(), card.sex.clone());
        m.insert("nationality".to_owned(), "Việt Nam".to_owned());
        m.insert(
            "place_of_residence".to_owned(),
            card.place_of_residence.clone(),
        );
        m.insert("issue_date".to_owned(), iso_to_display(&card.issue_date));
        m
    });
    let fill = move |_| {
        ctx.draft.start_new(DocumentKind::Cccd, values.get_value());
        ctx.go(Page::Documents);
    };
    let row = |label: K, value: String, id: &'static str| {
        view! {
            <div class="field-row">
                <dt>{move || i18n.t(label)}</dt>
                <dd id=id>{value}</dd>
            </div>
        }
    };
    view! {
        <div class="card cccd-scan">
            <h2 class="section-title">{move || i18n.t(K::CccdScanTitle)}</h2>
            <p id="cccd-unverified" class="note note-warning" role="alert">
                {icon(Icon::Alert)}
                {move || i18n.t(K::CccdUnverified)}
            </p>
            <dl class="fields">
                {row(K::FieldIdNumber, card.number.clone(), "cccd-number")}
                {row(K::FieldName, card.full_name.clone(), "cccd-name")}
                {row(K::FieldDob, iso_to_display(&card.date_of_birth), "cccd-dob")}
                <div class="field-row">
                    <dt>"Giới tính / Sex"</dt>
                    <dd id="cccd-sex">{move || if i18n.lang() == crate::i18n::Lang::Vi { sex.0 } else { sex.1 }}</dd>
                </div>
                {row(K::CccdResidence, card.place_of_residence.clone(), "cccd-residence")}
                {row(K::CccdIssueDate, iso_to_display(&card.issue_date), "cccd-issue-date")}
            </dl>
            {match existing {
                Some(id) => {
                    let id = StoredValue::new(id);
                    view! {
                        <p id="cccd-existing" class="note">{move || i18n.t(K::CccdExisting)}</p>
                        <button
                            id="cccd-open"
                            type="button"
                            class="btn btn-secondary"
                            on:click=move |_| {
                                ctx.draft.show_detail(id.get_value());
                                ctx.go(Page::Documents);
                            }
                        >
                            {move || i18n.t(K::CccdOpenExisting)}
                        </button>
                    }
                        .into_any()
                }
                None => {
                    view! {
                        <button id="cccd-fill" type="button" class="btn btn-primary" on:click=fill>
                            {move || i18n.t(K::CccdFill)}
                        </button>
                    }
                        .into_any()
                }
            }}
        </div>
    }
}

/// The city's keys cached on this device, and the button to update them.
#[component]
fn TrustBox() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let version = RwSignal::new(0u32);
    let status = LocalResource::new(move || {
        version.track();
        ipc::call(cmd::trust_status::Args {})
    });
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<IpcError>);
    let update = move |_| {
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let r = ipc::call(cmd::update_trust::Args {}).await;
            busy.set(false);
            match r {
                Ok(_) => version.update(|n| *n += 1),
                Err(e) => error.set(Some(ctx.explain(e))),
            }
        });
    };
    view! {
        <div id="trust-box" class="card trust-box">
            <h2 class="section-title">{move || i18n.t(K::TrustTitle)}</h2>
            {move || match status.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Err(e)) => view! { <ErrorBox err=e /> }.into_any(),
                Some(Ok(t)) if t.keys == 0 => {
                    view! { <p id="trust-none" class="note note-warning">{move || i18n.t(K::TrustNone)}</p> }
                        .into_any()
                }
                Some(Ok(t)) => {
                    view! {
                        <dl class="fields">
                            <div class="field-row">
                                <dt>{move || i18n.t(K::TrustKeys)}</dt>
                                <dd id="trust-keys">{t.keys}</dd>
                            </div>
                            <div class="field-row">
                                <dt>{move || i18n.t(K::TrustFetched)}</dt>
                                <dd>{t.keys_fetched_at.as_deref().map(local_date_time)}</dd>
                            </div>
                            <div class="field-row">
                                <dt>{move || i18n.t(K::TrustRevocations)}</dt>
                                <dd>{t.revocations_as_of.as_deref().map(local_date_time)}</dd>
                            </div>
                        </dl>
                    }
                        .into_any()
                }
            }}
            {move || error.get().map(|e| view! { <div id="trust-error"><ErrorBox err=e /></div> })}
            <button
                id="trust-update"
                type="button"
                class="btn btn-secondary"
                disabled=move || busy.get()
                on:click=update
            >
                {icon(Icon::Sync)}
                {move || i18n.t(if busy.get() { K::TrustUpdating } else { K::TrustUpdate })}
            </button>
        </div>
    }
}
