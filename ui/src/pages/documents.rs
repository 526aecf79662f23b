//! Documents: the vault's papers as cards, and the "add document" form.

use crate::app::use_app;
use crate::components::feedback::{ErrorBox, Loading};
use crate::components::icons::{icon, Icon};
use crate::format::{file_size, iso_to_display, parse_dob, today, DateError, Ymd};
use crate::i18n::{error_hint, error_text, kind_key, use_i18n, K};
use crate::ipc;
use base64::Engine as _;
use cds_view::{DocumentKind, DocumentView, IpcError, NewAttachmentInput, NewDocumentInput};
use leptos::ev::{Event, SubmitEvent};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

/// The shell refuses attachments above 20 MB; checking first saves reading
/// and base64-encoding a huge file for nothing.
const MAX_ATTACHMENT_BYTES: f64 = 20.0 * 1024.0 * 1024.0;

/// An error shown in `#form-error`. Stored untranslated so that it follows
/// a language switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// A check made here, and the id of the field to fix.
    Client(K, &'static str),
    /// The shell refused the document.
    Server(IpcError),
}

/// The "add document" form's state. It lives in the app context (see
/// [`crate::app::AppCtx`]), so nothing typed is lost on an error, on leaving
/// the page, or while a save is in flight.
#[derive(Clone, Copy)]
pub struct DocDraft {
    pub open: RwSignal<bool>,
    pub kind: RwSignal<DocumentKind>,
    pub number: RwSignal<String>,
    pub name: RwSignal<String>,
    pub dob: RwSignal<String>,
    /// The picked file. Only the handle is kept: its bytes are read when
    /// "save" is pressed, so there is no race between picking and saving.
    /// A JS object, hence a thread-local signal.
    pub file: RwSignal<Option<web_sys::File>, LocalStorage>,
    pub saving: RwSignal<bool>,
    pub error: RwSignal<Option<FormError>>,
    /// Shows "saved" after the form closed on success.
    pub saved: RwSignal<bool>,
    /// Bumped on every successful save; the list refetches on it.
    pub version: RwSignal<u32>,
}

impl DocDraft {
    pub fn new() -> Self {
        Self {
            open: RwSignal::new(false),
            kind: RwSignal::new(DocumentKind::Cccd),
            number: RwSignal::new(String::new()),
            name: RwSignal::new(String::new()),
            dob: RwSignal::new(String::new()),
            file: RwSignal::new_local(None),
            saving: RwSignal::new(false),
            error: RwSignal::new(None),
            saved: RwSignal::new(false),
            version: RwSignal::new(0),
        }
    }

    fn clear(self) {
        self.kind.set(DocumentKind::Cccd);
        self.number.set(String::new());
        self.name.set(String::new());
        self.dob.set(String::new());
        self.file.set(None);
        self.error.set(None);
    }
}

/// The fields, cleaned up and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFields {
    pub number: String,
    pub full_name: String,
    /// ISO `YYYY-MM-DD`.
    pub date_of_birth: String,
}

/// Document kinds whose numbers are all digits: they get a numeric keypad.
/// Passports and health-insurance cards have letters in their numbers.
fn numeric_number(kind: DocumentKind) -> bool {
    matches!(kind, DocumentKind::Cccd | DocumentKind::DrivingLicence)
}

/// The checks made before anything is sent. Returns the first problem and
/// the id of the field that has it.
pub fn check_fields(
    kind: DocumentKind,
    number: &str,
    name: &str,
    dob: &str,
    today: Ymd,
) -> Result<CheckedFields, (K, &'static str)> {
    // People often type a CCCD number in groups ("001 099 012345").
    let number: String = if numeric_number(kind) {
        number.chars().filter(|c| !c.is_whitespace()).collect()
    } else {
        number.trim().to_owned()
    };
    if number.is_empty() {
        return Err((K::ErrNumberRequired, "doc-number"));
    }
    if kind == DocumentKind::Cccd
        && !(number.len() == 12 && number.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err((K::ErrCccdDigits, "doc-number"));
    }
    let full_name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if full_name.is_empty() {
        return Err((K::ErrNameRequired, "doc-name"));
    }
    let date_of_birth = parse_dob(dob, today).map_err(|e| {
        let key = match e {
            DateError::Empty => K::ErrDobRequired,
            DateError::Format => K::ErrDobFormat,
            DateError::Impossible => K::ErrDobImpossible,
            DateError::Future => K::ErrDobFuture,
        };
        (key, "doc-dob")
    })?;
    Ok(CheckedFields {
        number,
        full_name,
        date_of_birth,
    })
}

/// Focuses a field and centres it: on a phone the sticky save bar and the
/// tab bar could otherwise hide the field the citizen has to fix.
fn focus_by_id(id: &str) {
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
    {
        let _ = el.focus();
        let options = web_sys::ScrollIntoViewOptions::new();
        options.set_block(web_sys::ScrollLogicalPosition::Center);
        el.scroll_into_view_with_scroll_into_view_options(&options);
    }
}

/// Reads a picked file into memory (`Blob.arrayBuffer()`) and encodes it.
async fn read_file(file: web_sys::File) -> Option<NewAttachmentInput> {
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .ok()?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    let name = file.name();
    let mut mime = file.type_();
    if mime.is_empty() {
        // Some platforms give no type for camera photos; go by the name.
        let lower = name.to_lowercase();
        mime = if lower.ends_with(".pdf") {
            "application/pdf"
        } else if lower.ends_with(".png") {
            "image/png"
        } else if lower.ends_with(".jpg") || lower.ends_with(".jpeg") {
            "image/jpeg"
        } else {
            "application/octet-stream"
        }
        .to_owned();
    }
    Some(NewAttachmentInput {
        file_name: name,
        mime,
        data_base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
    })
}

#[component]
pub fn DocumentsPage() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let d = ctx.draft;
    let docs = LocalResource::new(move || {
        d.version.track();
        ipc::list_documents()
    });

    let open_form = move |_| {
        d.saved.set(false);
        d.error.set(None);
        d.open.set(true);
        // Move focus into the form once it is in the DOM (the button that
        // had it is gone), unless the citizen has already put it somewhere:
        // never steal focus from a field someone is typing in.
        request_animation_frame(|| {
            let idle = web_sys::window()
                .and_then(|w| w.document())
                .map(|doc| match (doc.active_element(), doc.body()) {
                    (None, _) => true,
                    (Some(active), Some(body)) => {
                        active == *body.unchecked_ref::<web_sys::Element>()
                    }
                    (Some(_), None) => false,
                })
                .unwrap_or(false);
            if idle {
                focus_by_id("doc-kind");
            }
        });
    };

    let list = move || match docs.get() {
        None => view! { <Loading /> }.into_any(),
        Some(Err(err)) => view! {
            <ErrorBox err=err on_retry=Callback::new(move |_| docs.refetch()) />
        }
        .into_any(),
        Some(Ok(list)) if list.is_empty() => view! {
            <div class="empty" id="documents-empty">
                {icon(Icon::IdCard)}
                <p>{move || i18n.t(K::DocsEmpty)}</p>
            </div>
        }
        .into_any(),
        Some(Ok(list)) => view! {
            <div class="card-list doc-list">
                {list.into_iter().map(|doc| view! { <DocumentCard doc=doc /> }).collect_view()}
            </div>
        }
        .into_any(),
    };

    view! {
        <section id="page-documents" class="page">
            <div class="page-head">
                <h1 class="page-title">{move || i18n.t(K::DocsTitle)}</h1>
                <p class="lead">{move || i18n.t(K::DocsIntro)}</p>
            </div>
            <div class="live" aria-live="polite">
                {move || {
                    (d.saved.get() && !d.open.get())
                        .then(|| {
                            view! {
                                <p id="doc-saved" class="success">
                                    {icon(Icon::Check)}
                                    {move || i18n.t(K::DocSaved)}
                                </p>
                            }
                        })
                }}
            </div>
            {move || {
                if d.open.get() {
                    view! { <DocumentForm /> }.into_any()
                } else {
                    view! {
                        // Stays enabled with a locked vault: the list above
                        // explains the problem, and a save then reports it in
                        // the form without losing what was typed.
                        <button
                            id="add-document"
                            type="button"
                            class="btn btn-primary btn-block"
                            on:click=open_form
                        >
                            {icon(Icon::Plus)}
                            {move || i18n.t(K::AddDocument)}
                        </button>
                        {list}
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

/// One vault document.
#[component]
fn DocumentCard(doc: DocumentView) -> impl IntoView {
    let i18n = use_i18n();
    let kind = doc.kind;
    let image = doc
        .attachments
        .iter()
        .find(|a| a.mime.starts_with("image/"))
        .map(|a| a.id.clone());
    let has_pdf = doc.attachments.iter().any(|a| a.mime == "application/pdf");
    view! {
        <article class="document-card card" data-id=doc.id.clone() data-kind=kind.code()>
            <div class="doc-media">
                {match image {
                    Some(id) => view! { <Thumbnail id=id /> }.into_any(),
                    None => view! { <span class="doc-placeholder">{icon(Icon::IdCard)}</span> }.into_any(),
                }}
            </div>
            <div class="doc-body">
                <p class="doc-kind">{move || i18n.t(kind_key(kind))}</p>
                <h2 class="doc-name">{doc.full_name}</h2>
                <dl class="facts doc-fields">
                    <div>
                        <dt>{move || i18n.t(K::LabelNumber)}</dt>
                        <dd class="doc-number">{doc.number}</dd>
                    </div>
                    <div>
                        <dt>{move || i18n.t(K::FieldDob)}</dt>
                        <dd class="doc-dob">{iso_to_display(&doc.date_of_birth)}</dd>
                    </div>
                </dl>
                {has_pdf
                    .then(|| {
                        view! {
                            <p class="doc-attachment">
                                {icon(Icon::File)}
                                {move || i18n.t(K::PdfAttached)}
                            </p>
                        }
                    })}
            </div>
        </article>
    }
}

/// The photo of a document, fetched as a `data:` URL (the vault decrypts it
/// on demand; CSP allows `img-src data:`).
#[component]
fn Thumbnail(id: String) -> impl IntoView {
    let i18n = use_i18n();
    let url = LocalResource::new(move || {
        let id = id.clone();
        async move { ipc::attachment_data_url(&id).await }
    });
    move || match url.get() {
        Some(Ok(src)) => view! {
            <img class="doc-photo" src=src alt=move || i18n.t(K::PhotoAlt) />
        }
        .into_any(),
        // A photo that cannot be shown must not hide the document itself.
        Some(Err(_)) => {
            view! { <span class="doc-placeholder">{icon(Icon::IdCard)}</span> }.into_any()
        }
        None => view! { <span class="doc-placeholder loading-shimmer"></span> }.into_any(),
    }
}

/// `#document-form`.
#[component]
fn DocumentForm() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let d = ctx.draft;
    // The text fields are *uncontrolled*: they start from the draft and
    // report every change to it, but the draft never writes back into them.
    // Writing back races with typing (a render that lands after the next
    // keystroke puts an older value in the field) and breaks Vietnamese IME
    // composition (Telex/VNI), which rewrites the text as you type.
    let file_input = NodeRef::<html::Input>::new();
    let number_input = NodeRef::<html::Input>::new();
    let name_input = NodeRef::<html::Input>::new();
    let dob_input = NodeRef::<html::Input>::new();
    let kind_select = NodeRef::<html::Select>::new();

    let error_field = move || match d.error.get() {
        Some(FormError::Client(_, field)) => Some(field),
        _ => None,
    };
    let invalid =
        move |field: &'static str| move || (error_field() == Some(field)).then_some("true");
    let error_message = move || {
        d.error.get().map(|e| match e {
            FormError::Client(key, _) => i18n.t(key).to_owned(),
            FormError::Server(err) => match error_hint(err.kind) {
                Some(hint) => format!("{} {}", error_text(i18n.lang(), &err), i18n.t(hint)),
                None => error_text(i18n.lang(), &err),
            },
        })
    };

    let on_file = move |ev: Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|list| list.get(0)) else {
            return;
        };
        d.error.set(None);
        if file.size() > MAX_ATTACHMENT_BYTES {
            input.set_value("");
            d.error
                .set(Some(FormError::Client(K::ErrFileTooBig, "doc-photo")));
            return;
        }
        d.file.set(Some(file));
    };

    let remove_file = move |_| {
        d.file.set(None);
        if let Some(input) = file_input.get() {
            input.set_value("");
        }
    };

    let cancel = move |_| {
        d.clear();
        d.open.set(false);
    };

    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        if d.saving.get_untracked() {
            return;
        }
        // The fields themselves are the truth at this moment: autofill, or
        // keystrokes whose `input` events are still queued (seen with
        // WebKitGTK automation), may not have reached the signals yet.
        for (node, signal) in [
            (number_input, d.number),
            (name_input, d.name),
            (dob_input, d.dob),
        ] {
            if let Some(el) = node.get_untracked() {
                let value = el.value();
                if signal.with_untracked(|v| *v != value) {
                    signal.set(value);
                }
            }
        }
        if let Some(k) = kind_select
            .get_untracked()
            .and_then(|el| DocumentKind::from_code(&el.value()))
        {
            if d.kind.get_untracked() != k {
                d.kind.set(k);
            }
        }
        let kind = d.kind.get_untracked();
        let checked = d.number.with_untracked(|number| {
            d.name.with_untracked(|name| {
                d.dob
                    .with_untracked(|dob| check_fields(kind, number, name, dob, today()))
            })
        });
        let fields = match checked {
            Ok(f) => f,
            Err((key, field)) => {
                // Everything typed stays in place; only the message changes.
                d.error.set(Some(FormError::Client(key, field)));
                focus_by_id(field);
                return;
            }
        };
        d.error.set(None);
        let file = d.file.get_untracked();
        d.saving.set(true);
        spawn_local(async move {
            let mut attachments = Vec::new();
            if let Some(file) = file {
                match read_file(file).await {
                    Some(a) => attachments.push(a),
                    None => {
                        d.saving.set(false);
                        d.error
                            .set(Some(FormError::Client(K::ErrFileRead, "doc-photo")));
                        return;
                    }
                }
            }
            let input = NewDocumentInput {
                kind,
                number: fields.number,
                full_name: fields.full_name,
                date_of_birth: fields.date_of_birth,
                attachments,
            };
            let result = ipc::add_document(&input).await;
            d.saving.set(false);
            match result {
                Ok(_) => {
                    d.clear();
                    d.open.set(false);
                    d.saved.set(true);
                    d.version.update(|v| *v += 1);
                    ctx.status.refetch();
                }
                // The draft is untouched: the citizen fixes and saves again.
                Err(err) => d.error.set(Some(FormError::Server(ctx.explain(err)))),
            }
        });
    };

    let kind_options = DocumentKind::ALL
        .into_iter()
        .map(|k| {
            view! {
                <option value=k.code() selected=d.kind.get_untracked() == k>
                    {move || i18n.t(kind_key(k))}
                </option>
            }
        })
        .collect_view();

    view! {
        <form
            id="document-form"
            class="card form"
            novalidate
            aria-labelledby="document-form-title"
            on:submit=save
        >
            <h2 id="document-form-title" class="form-title">
                {move || i18n.t(K::FormAddTitle)}
            </h2>
            <p class="hint">{move || i18n.t(K::FormRequiredNote)}</p>

            <div class="field">
                <label for="doc-kind">
                    {move || i18n.t(K::FieldKind)}
                    <span class="req" aria-hidden="true">" *"</span>
                </label>
                <select
                    id="doc-kind"
                    node_ref=kind_select
                    on:change=move |ev| {
                        if let Some(k) = DocumentKind::from_code(&event_target_value(&ev)) {
                            d.kind.set(k);
                        }
                    }
                >
                    {kind_options}
                </select>
            </div>

            <div class="field">
                <label for="doc-number">
                    {move || i18n.t(K::FieldNumber)}
                    <span class="req" aria-hidden="true">" *"</span>
                </label>
                <input
                    id="doc-number"
                    type="text"
                    inputmode=move || if numeric_number(d.kind.get()) { "numeric" } else { "text" }
                    autocomplete="off"
                    spellcheck="false"
                    required
                    aria-describedby="doc-number-hint"
                    aria-invalid=invalid("doc-number")
                    node_ref=number_input
                    prop:value=d.number.get_untracked()
                    on:input=move |ev| d.number.set(event_target_value(&ev))
                />
                <p id="doc-number-hint" class="hint">
                    {move || {
                        i18n.t(
                            if d.kind.get() == DocumentKind::Cccd {
                                K::HintNumberCccd
                            } else {
                                K::HintNumberOther
                            },
                        )
                    }}
                </p>
            </div>

            <div class="field">
                <label for="doc-name">
                    {move || i18n.t(K::FieldName)}
                    <span class="req" aria-hidden="true">" *"</span>
                </label>
                <input
                    id="doc-name"
                    type="text"
                    autocomplete="name"
                    autocapitalize="words"
                    required
                    aria-describedby="doc-name-hint"
                    aria-invalid=invalid("doc-name")
                    node_ref=name_input
                    prop:value=d.name.get_untracked()
                    on:input=move |ev| d.name.set(event_target_value(&ev))
                />
                <p id="doc-name-hint" class="hint">{move || i18n.t(K::HintName)}</p>
            </div>

            <div class="field">
                <label for="doc-dob">
                    {move || i18n.t(K::FieldDob)}
                    <span class="req" aria-hidden="true">" *"</span>
                </label>
                <input
                    id="doc-dob"
                    type="text"
                    inputmode="numeric"
                    placeholder="dd/mm/yyyy"
                    autocomplete="bday"
                    required
                    aria-describedby="doc-dob-hint"
                    aria-invalid=invalid("doc-dob")
                    node_ref=dob_input
                    prop:value=d.dob.get_untracked()
                    on:input=move |ev| d.dob.set(event_target_value(&ev))
                />
                <p id="doc-dob-hint" class="hint">{move || i18n.t(K::HintDob)}</p>
            </div>

            <div class="field">
                <label for="doc-photo">{move || i18n.t(K::FieldPhoto)}</label>
                <input
                    id="doc-photo"
                    type="file"
                    accept="image/*,application/pdf"
                    aria-describedby="doc-photo-hint"
                    aria-invalid=invalid("doc-photo")
                    node_ref=file_input
                    on:change=on_file
                />
                <p id="doc-photo-hint" class="hint">{move || i18n.t(K::HintPhoto)}</p>
                {move || {
                    d.file
                        .with(|f| f.as_ref().map(|f| (f.name(), f.size() as u64)))
                        .map(|(name, size)| {
                            view! {
                                <p class="file-chosen" id="doc-photo-chosen">
                                    {icon(Icon::File)}
                                    <span>
                                        {move || i18n.t(K::FileChosen)} ": " <strong>{name}</strong>
                                        " (" {move || file_size(size, i18n.lang())} ")"
                                    </span>
                                    <button
                                        type="button"
                                        class="btn-link"
                                        id="doc-photo-remove"
                                        on:click=remove_file
                                    >
                                        {move || i18n.t(K::RemoveFile)}
                                    </button>
                                </p>
                            }
                        })
                }}
            </div>

            <div class="form-actions">
                // Only in the DOM while there is an error: its presence is the
                // signal (for assistive tech, which announces an inserted alert,
                // and for the end-to-end tests).
                {move || {
                    error_message()
                        .map(|msg| {
                            view! {
                                <p id="form-error" class="form-error" role="alert">
                                    {icon(Icon::Alert)}
                                    <span>{msg}</span>
                                </p>
                            }
                        })
                }}
                <button
                    id="doc-save"
                    type="submit"
                    class="btn btn-primary"
                    disabled=move || d.saving.get()
                    aria-busy=move || d.saving.get().then_some("true")
                >
                    {move || i18n.t(if d.saving.get() { K::Saving } else { K::Save })}
                </button>
                <button id="doc-cancel" type="button" class="btn btn-secondary" on:click=cancel>
                    {move || i18n.t(K::Cancel)}
                </button>
            </div>
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: Ymd = (2026, 3, 15);

    #[test]
    fn a_good_cccd_passes_and_is_normalised() {
        let f = check_fields(
            DocumentKind::Cccd,
            " 001 099 012345 ",
            "  Nguyễn   Văn An ",
            "05/09/1990",
            TODAY,
        )
        .unwrap();
        assert_eq!(f.number, "001099012345");
        assert_eq!(f.full_name, "Nguyễn Văn An");
        assert_eq!(f.date_of_birth, "1990-09-05");
    }

    #[test]
    fn each_problem_points_at_its_field() {
        let check = |kind, n, name, dob| check_fields(kind, n, name, dob, TODAY).unwrap_err();
        assert_eq!(
            check(DocumentKind::Cccd, "", "A", "01/01/1990"),
            (K::ErrNumberRequired, "doc-number")
        );
        assert_eq!(
            check(DocumentKind::Cccd, "12345", "A", "01/01/1990"),
            (K::ErrCccdDigits, "doc-number")
        );
        assert_eq!(
            check(DocumentKind::Cccd, "00109901234a", "A", "01/01/1990"),
            (K::ErrCccdDigits, "doc-number")
        );
        assert_eq!(
            check(DocumentKind::Cccd, "001099012345", "  ", "01/01/1990"),
            (K::ErrNameRequired, "doc-name")
        );
        assert_eq!(
            check(DocumentKind::Cccd, "001099012345", "A", "31/02/1990"),
            (K::ErrDobImpossible, "doc-dob")
        );
        assert_eq!(
            check(DocumentKind::Cccd, "001099012345", "A", ""),
            (K::ErrDobRequired, "doc-dob")
        );
        assert_eq!(
            check(DocumentKind::Cccd, "001099012345", "A", "1/1/90"),
            (K::ErrDobFormat, "doc-dob")
        );
    }

    #[test]
    fn passports_keep_letters_and_need_no_twelve_digits() {
        let f = check_fields(
            DocumentKind::Passport,
            " C1234567 ",
            "A B",
            "01/01/1990",
            TODAY,
        )
        .unwrap();
        assert_eq!(f.number, "C1234567");
    }
}
