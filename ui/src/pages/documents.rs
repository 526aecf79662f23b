//! Documents: the vault's papers per profile (switcher, diacritics-insensitive
//! search), a document's detail with thumbnails, delete with confirmation,
//! and the add/edit form generated from the per-kind field schema.

use crate::app::use_app;
use crate::components::camera_photo::CameraPhoto;
use crate::components::feedback::{ErrorBox, Loading};
use crate::components::icons::{icon, Icon};
use crate::format::{file_size, iso_to_display, local_date_time, today};
use crate::i18n::{error_hint, error_text, kind_key, relation_key, use_i18n, Lang, K};
use crate::ipc::{self, cmd};
use crate::schema::{self, FieldSpec, FieldType};
use base64::Engine as _;
use cds_view::{
    DocumentInput, DocumentKind, DocumentSummaryView, DocumentView, IpcError, NewAttachmentInput,
    NewDocumentInput,
};
use leptos::ev::{Event, SubmitEvent};
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::collections::BTreeMap;
use wasm_bindgen::JsCast;

/// The app refuses attachments above the domain's limit (20 MiB); checking
/// the file's size (metadata) first saves reading and encoding a huge file
/// for nothing.
const MAX_ATTACHMENT_BYTES: f64 = cds_domain::MAX_ATTACHMENT_BYTES as f64;

/// An error shown in `#form-error` (and inline at its field). Stored
/// untranslated so that it follows a language switch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// A check made here, and the schema key of the field to fix
    /// (`attachment` for the file).
    Client(K, String),
    /// The shell refused the document; `field` says where, when it knows.
    Server(IpcError),
}

impl FormError {
    fn field(&self) -> Option<String> {
        match self {
            FormError::Client(_, f) => Some(f.clone()),
            FormError::Server(e) => e.field.clone(),
        }
    }
}

/// Bytes encoded by a base64 string (padding taken off).
fn base64_len(b64: &str) -> u64 {
    let pad = b64.bytes().rev().take_while(|&c| c == b'=').count() as u64;
    (b64.len() as u64 / 4 * 3).saturating_sub(pad)
}

/// The element id of a field key, including the file picker.
fn element_id(key: &str) -> String {
    match key {
        "attachment" => "doc-photo".to_owned(),
        k => schema::field_id(k),
    }
}

/// The document screens' state. It lives in the app context (see
/// [`crate::app::AppCtx`]), so nothing typed is lost on an error, on leaving
/// the page, or while a save is in flight.
#[derive(Clone, Copy)]
pub struct DocDraft {
    pub open: RwSignal<bool>,
    /// The document being edited (`None`: adding a new one).
    pub editing: RwSignal<Option<String>>,
    /// The document whose detail is shown.
    pub detail: RwSignal<Option<String>>,
    pub kind: RwSignal<DocumentKind>,
    /// Field key → value as typed (dates dd/mm/yyyy).
    pub values: RwSignal<BTreeMap<String, String>>,
    /// Free `(label, value)` rows of an "other" document.
    pub custom: RwSignal<Vec<(String, String)>>,
    /// The picked file. Only the handle is kept: its bytes are read when
    /// "save" is pressed. A JS object, hence a thread-local signal.
    pub file: RwSignal<Option<web_sys::File>, LocalStorage>,
    /// A photo taken with the camera instead of a picked file (never both):
    /// kept here, not in the vault, until "save".
    pub photo: RwSignal<Option<NewAttachmentInput>>,
    pub saving: RwSignal<bool>,
    pub error: RwSignal<Option<FormError>>,
    /// A success message shown above the list ("saved", "deleted").
    pub notice: RwSignal<Option<K>>,
    /// Bumped after every change; lists and details refetch on it.
    pub version: RwSignal<u32>,
    pub query: RwSignal<String>,
}

impl DocDraft {
    pub fn new() -> Self {
        Self {
            open: RwSignal::new(false),
            editing: RwSignal::new(None),
            detail: RwSignal::new(None),
            kind: RwSignal::new(DocumentKind::Cccd),
            values: RwSignal::new(BTreeMap::new()),
            custom: RwSignal::new(Vec::new()),
            file: RwSignal::new_local(None),
            photo: RwSignal::new(None),
            saving: RwSignal::new(false),
            error: RwSignal::new(None),
            notice: RwSignal::new(None),
            version: RwSignal::new(0),
            query: RwSignal::new(String::new()),
        }
    }

    fn clear(self) {
        // Only a real change of kind re-generates the fields.
        if self.kind.get_untracked() != DocumentKind::Cccd {
            self.kind.set(DocumentKind::Cccd);
        }
        self.values.set(BTreeMap::new());
        self.custom.set(Vec::new());
        self.file.set(None);
        self.photo.set(None);
        self.error.set(None);
        self.editing.set(None);
    }

    /// Opens the form on an existing document.
    fn edit(self, doc: &DocumentView) {
        self.clear();
        if self.kind.get_untracked() != doc.kind {
            self.kind.set(doc.kind);
        }
        let values = schema::fields(doc.kind)
            .iter()
            .filter_map(|f| {
                doc.fields
                    .get(f.key)
                    .map(|v| (f.key.to_owned(), schema::display_value(f, v)))
            })
            .collect();
        self.values.set(values);
        self.custom.set(doc.custom_fields.clone());
        self.editing.set(Some(doc.id.clone()));
        self.notice.set(None);
        self.open.set(true);
    }

    fn changed(self) {
        self.version.update(|v| *v += 1);
    }

    /// Opens the "add" form for `kind` with `values` filled in (field key →
    /// value as typed, dates dd/mm/yyyy), e.g. from a scanned ID card QR.
    /// The citizen still reviews and saves it.
    pub fn start_new(self, kind: DocumentKind, values: BTreeMap<String, String>) {
        self.clear();
        if self.kind.get_untracked() != kind {
            self.kind.set(kind);
        }
        self.values.set(values);
        self.notice.set(None);
        self.detail.set(None);
        self.open.set(true);
    }

    /// Shows one document's detail when the documents page opens.
    pub fn show_detail(self, id: String) {
        self.open.set(false);
        self.detail.set(Some(id));
    }
}

/// Checks every field of `kind` against the typed values. Returns the
/// values as sent (dates ISO), or the first problem and its field key.
pub fn check_form(
    kind: DocumentKind,
    values: &BTreeMap<String, String>,
    today: crate::format::Ymd,
) -> Result<BTreeMap<String, String>, (K, String)> {
    let mut out = BTreeMap::new();
    for f in schema::fields(kind) {
        let raw = values.get(f.key).map(String::as_str).unwrap_or("");
        match schema::check_value(f, raw, today) {
            Ok(v) if v.is_empty() => {}
            Ok(v) => {
                out.insert(f.key.to_owned(), v);
            }
            Err(k) => return Err((k, f.key.to_owned())),
        }
    }
    Ok(out)
}

/// Focuses a field and centres it: on a phone the sticky save bar and the
/// tab bar could otherwise hide the field the citizen has to fix.
pub(crate) fn focus_by_id(id: &str) {
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

/// Focuses a field only while nothing else has the focus. The form is
/// mounted on a later tick and the focus is moved a frame after that; on a
/// slow machine that frame can come when the citizen (or a test) is already
/// typing into a field, and moving the focus then sends the rest of the
/// keystrokes to another control: the text typed is cut short.
fn focus_if_idle(id: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let idle = document
        .active_element()
        .is_none_or(|el| matches!(el.tag_name().to_ascii_uppercase().as_str(), "BODY" | "HTML"));
    if idle {
        focus_by_id(id);
    }
}

/// The current value of a form control by id (input, select or textarea).
fn control_value(id: &str) -> Option<String> {
    let el = web_sys::window()?.document()?.get_element_by_id(id)?;
    if let Some(i) = el.dyn_ref::<web_sys::HtmlInputElement>() {
        return Some(i.value());
    }
    if let Some(s) = el.dyn_ref::<web_sys::HtmlSelectElement>() {
        return Some(s.value());
    }
    el.dyn_ref::<web_sys::HtmlTextAreaElement>()
        .map(|t| t.value())
}

/// Whether a picked file looks like an image or a PDF (the shell checks
/// the bytes again; this only spares reading a file that cannot be kept).
pub fn acceptable_type(mime: &str, name: &str) -> bool {
    if mime.starts_with("image/") || mime == "application/pdf" {
        return true;
    }
    if !mime.is_empty() && mime != "application/octet-stream" {
        return false;
    }
    let lower = name.to_lowercase();
    [".pdf", ".png", ".jpg", ".jpeg", ".webp", ".gif"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

/// Checks a picked file from its metadata (size, type) before reading it.
fn check_file(file: &web_sys::File) -> Result<(), K> {
    if file.size() > MAX_ATTACHMENT_BYTES {
        return Err(K::ErrFileTooBig);
    }
    if !acceptable_type(&file.type_(), &file.name()) {
        return Err(K::ErrFileType);
    }
    Ok(())
}

/// Reads a picked file into memory (`Blob.arrayBuffer()`) and encodes it.
async fn read_file(file: web_sys::File) -> Option<NewAttachmentInput> {
    let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
        .await
        .ok()?;
    let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
    Some(NewAttachmentInput {
        file_name: file.name(),
        // The shell decides the type from the bytes themselves.
        mime: file.type_(),
        data_base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
    })
}

fn server_message(lang: Lang, err: &IpcError) -> String {
    match error_hint(err.kind) {
        Some(hint) => format!("{} {}", error_text(lang, err), hint.text(lang)),
        None => error_text(lang, err),
    }
}

#[component]
pub fn DocumentsPage() -> impl IntoView {
    let ctx = use_app();
    let d = ctx.draft;
    view! {
        <section id="page-documents" class="page">
            {move || {
                if d.open.get() {
                    view! { <DocumentForm /> }.into_any()
                } else if let Some(id) = d.detail.get() {
                    view! { <DocumentDetail id=id /> }.into_any()
                } else {
                    view! { <DocumentList /> }.into_any()
                }
            }}
        </section>
    }
}

/// `#profile-switcher`: whose documents are shown (and where new ones go).
#[component]
pub fn ProfileSwitcher() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let profiles = LocalResource::new(|| ipc::call(cmd::list_profiles::Args {}));
    Effect::new(move |_| {
        if let Some(Ok(list)) = profiles.get() {
            let current = ctx.profile.get_untracked();
            let known = current
                .as_ref()
                .is_some_and(|c| list.iter().any(|p| &p.id == c));
            if !known {
                ctx.profile.set(list.first().map(|p| p.id.clone()));
            }
        }
    });
    move || match profiles.get() {
        Some(Ok(list)) if list.len() > 1 => {
            let current = ctx.profile.get_untracked();
            let options = list
                .into_iter()
                .map(|p| {
                    let selected = current.as_deref() == Some(p.id.as_str());
                    let name = p.full_name.clone();
                    let relation = p.relation;
                    // The citizen's own profile has no name until they give one.
                    let shown = move || {
                        if name.is_empty() {
                            i18n.t(relation_key(relation)).to_owned()
                        } else {
                            name.clone()
                        }
                    };
                    view! {
                        <option value=p.id.clone() selected=selected>
                            {shown}
                        </option>
                    }
                })
                .collect_view();
            Some(
                view! {
                    <div class="field profile-field">
                        <label for="profile-switcher">{move || i18n.t(K::ProfileSwitch)}</label>
                        <select
                            id="profile-switcher"
                            on:change=move |ev| {
                                let v = event_target_value(&ev);
                                ctx.profile.set(Some(v));
                            }
                        >
                            {options}
                        </select>
                    </div>
                }
                .into_any(),
            )
        }
        // Only the citizen: nothing to switch between.
        _ => None,
    }
}

#[component]
fn DocumentList() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let d = ctx.draft;
    let docs = LocalResource::new(move || {
        d.version.track();
        let profile = ctx.profile.get();
        let query = d.query.get();
        async move {
            if query.trim().is_empty() {
                ipc::call(cmd::list_documents::Args {
                    profile_id: profile,
                })
                .await
            } else {
                ipc::call(cmd::search_documents::Args {
                    profile_id: profile,
                    query,
                })
                .await
            }
        }
    });

    let open_form = move |_| {
        d.clear();
        d.notice.set(None);
        d.open.set(true);
        request_animation_frame(move || {
            // Still the add form that was opened, and nobody typing yet.
            if d.open.get_untracked() && d.editing.get_untracked().is_none() {
                focus_if_idle("doc-kind");
            }
        });
    };

    let list = move || match docs.get() {
        None => view! { <Loading /> }.into_any(),
        Some(Err(err)) => view! {
            <ErrorBox err=err on_retry=Callback::new(move |_| docs.refetch()) />
        }
        .into_any(),
        Some(Ok(list)) if list.is_empty() && !d.query.get_untracked().trim().is_empty() => view! {
            <p class="empty" id="documents-no-match">{move || i18n.t(K::DocsNoMatch)}</p>
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
        <div class="page-head">
            <h1 class="page-title">{move || i18n.t(K::DocsTitle)}</h1>
            <p class="lead">{move || i18n.t(K::DocsIntro)}</p>
        </div>
        <div class="live" aria-live="polite">
            {move || {
                d.notice
                    .get()
                    .map(|k| {
                        let id = if k == K::DocDeleted { "doc-deleted" } else { "doc-saved" };
                        view! {
                            <p id=id class="success">
                                {icon(Icon::Check)}
                                {move || i18n.t(k)}
                            </p>
                        }
                    })
            }}
        </div>
        <ProfileSwitcher />
        <div class="field search-field">
            <label for="doc-search">{move || i18n.t(K::SearchDocs)}</label>
            <input
                id="doc-search"
                type="search"
                autocomplete="off"
                placeholder=move || i18n.t(K::SearchDocsPlaceholder)
                prop:value=d.query.get_untracked()
                on:input=move |ev| d.query.set(event_target_value(&ev))
            />
        </div>
        <button id="add-document" type="button" class="btn btn-primary btn-block" on:click=open_form>
            {icon(Icon::Plus)}
            {move || i18n.t(K::AddDocument)}
        </button>
        {list}
    }
}

/// One vault document in the list; its name opens the detail.
#[component]
fn DocumentCard(doc: DocumentSummaryView) -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let kind = doc.kind;
    let id = doc.id.clone();
    let has_dob = !doc.date_of_birth.is_empty();
    view! {
        <article class="document-card card" data-id=doc.id.clone() data-kind=kind.code()>
            <div class="doc-media">
                {match doc.thumbnail_id.clone() {
                    Some(tid) => view! { <Thumbnail id=tid class="doc-photo" /> }.into_any(),
                    None => view! { <span class="doc-placeholder">{icon(Icon::IdCard)}</span> }.into_any(),
                }}
            </div>
            <div class="doc-body">
                <p class="doc-kind">{move || i18n.t(kind_key(kind))}</p>
                <h2 class="doc-name">
                    <button
                        type="button"
                        class="doc-open btn-link"
                        on:click=move |_| {
                            ctx.draft.notice.set(None);
                            ctx.draft.detail.set(Some(id.clone()));
                        }
                    >
                        {doc.title.clone()}
                    </button>
                </h2>
                <dl class="facts doc-fields">
                    <div>
                        <dt>{move || i18n.t(K::LabelNumber)}</dt>
                        <dd class="doc-number">{doc.number.clone()}</dd>
                    </div>
                    {has_dob
                        .then(|| {
                            view! {
                                <div>
                                    <dt>{move || i18n.t(K::FieldDob)}</dt>
                                    <dd class="doc-dob">{iso_to_display(&doc.date_of_birth)}</dd>
                                </div>
                            }
                        })}
                    {doc
                        .expiry_date
                        .clone()
                        .map(|e| {
                            view! {
                                <div>
                                    <dt>{move || i18n.t(K::Expires)}</dt>
                                    <dd class="doc-expiry">{iso_to_display(&e)}</dd>
                                </div>
                            }
                        })}
                </dl>
                {doc
                    .has_pdf
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

/// An attachment's thumbnail, fetched as a `data:` URL (the vault decrypts
/// it on demand; CSP allows `img-src data:`).
#[component]
fn Thumbnail(id: String, class: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    let url = LocalResource::new(move || {
        let id = id.clone();
        async move { ipc::call(cmd::thumbnail_data_url::Args { id: id.to_owned() }).await }
    });
    move || match url.get() {
        Some(Ok(Some(src))) => view! {
            <img class=class src=src alt=move || i18n.t(K::PhotoAlt) />
        }
        .into_any(),
        // A picture that cannot be shown must not hide the document itself.
        Some(_) => view! { <span class="doc-placeholder">{icon(Icon::File)}</span> }.into_any(),
        None => view! { <span class="doc-placeholder loading-shimmer"></span> }.into_any(),
    }
}

/// `#document-detail`: every field, the attachments, edit and delete.
#[component]
fn DocumentDetail(id: String) -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let d = ctx.draft;
    let id = StoredValue::new(id);
    let doc = LocalResource::new(move || {
        d.version.track();
        let id = id.get_value();
        async move { ipc::call(cmd::get_document::Args { id: id.to_owned() }).await }
    });
    let confirming = RwSignal::new(false);
    let error = RwSignal::new(None::<IpcError>);
    let busy = RwSignal::new(false);

    let back = move |_| {
        d.detail.set(None);
    };
    let delete = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let r = ipc::call(cmd::delete_document::Args { id: id.get_value() }).await;
            busy.set(false);
            match r {
                Ok(()) => {
                    confirming.set(false);
                    d.detail.set(None);
                    d.notice.set(Some(K::DocDeleted));
                    d.changed();
                    ctx.status.refetch();
                }
                Err(e) => error.set(Some(ctx.explain(e))),
            }
        });
    };
    let on_attach = move |ev: Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|l| l.get(0)) else {
            return;
        };
        input.set_value("");
        error.set(None);
        if let Err(k) = check_file(&file) {
            let kind = if k == K::ErrFileTooBig {
                cds_view::ErrorKind::TooLarge
            } else {
                cds_view::ErrorKind::UnsupportedFile
            };
            error.set(Some(IpcError::new(kind, file.name())));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            let r = match read_file(file).await {
                Some(a) => ipc::call(cmd::add_attachment::Args {
                    document_id: id.get_value(),
                    input: a.clone(),
                })
                .await
                .map(|_| ()),
                None => Err(IpcError::new(
                    cds_view::ErrorKind::InvalidInput,
                    "unreadable",
                )),
            };
            busy.set(false);
            match r {
                Ok(()) => d.changed(),
                Err(e) => error.set(Some(ctx.explain(e))),
            }
        });
    };

    // A photo taken here is stored at once, like a picked file.
    let on_photo = move |a: NewAttachmentInput| {
        error.set(None);
        busy.set(true);
        spawn_local(async move {
            let r = ipc::call(cmd::add_attachment::Args {
                document_id: id.get_value(),
                input: a.clone(),
            })
            .await;
            busy.set(false);
            match r {
                Ok(_) => d.changed(),
                Err(e) => error.set(Some(ctx.explain(e))),
            }
        });
    };

    let body = move || match doc.get() {
        None => view! { <Loading /> }.into_any(),
        Some(Err(err)) => view! { <ErrorBox err=err /> }.into_any(),
        Some(Ok(doc)) => {
            let kind = doc.kind;
            let stored = StoredValue::new(doc.clone());
            let rows = schema::fields(kind)
                .iter()
                .filter_map(|f| doc.fields.get(f.key).map(|v| (f, v.clone())))
                .map(|(f, v)| {
                    view! {
                        <div class="detail-field" data-key=f.key>
                            <dt>{move || schema::label(f, i18n.lang())}</dt>
                            <dd class="detail-value">
                                {move || schema::shown_value(f, &v, i18n.lang())}
                            </dd>
                        </div>
                    }
                })
                .collect_view();
            let custom = doc
                .custom_fields
                .iter()
                .map(|(l, v)| {
                    view! {
                        <div class="detail-field detail-custom">
                            <dt>{l.clone()}</dt>
                            <dd class="detail-value">{v.clone()}</dd>
                        </div>
                    }
                })
                .collect_view();
            let attachments = doc
                .attachments
                .iter()
                .map(|a| {
                    let aid = a.id.clone();
                    let aid2 = a.id.clone();
                    let thumb = a.has_thumbnail;
                    let size = a.size;
                    view! {
                        <li class="attachment" data-id=a.id.clone() data-mime=a.mime.clone()>
                            {if thumb {
                                view! { <Thumbnail id=aid class="attachment-thumb" /> }.into_any()
                            } else {
                                view! { <span class="doc-placeholder">{icon(Icon::File)}</span> }
                                    .into_any()
                            }}
                            <span class="attachment-name">
                                {a.file_name.clone()} " (" {move || file_size(size, i18n.lang())} ")"
                            </span>
                            <button
                                type="button"
                                class="btn-link attachment-delete"
                                on:click=move |_| {
                                    let aid = aid2.clone();
                                    spawn_local(async move {
                                        match ipc::call(cmd::delete_attachment::Args { id: aid.to_owned() }).await {
                                            Ok(()) => d.changed(),
                                            Err(e) => error.set(Some(ctx.explain(e))),
                                        }
                                    });
                                }
                            >
                                {move || i18n.t(K::Delete)}
                            </button>
                        </li>
                    }
                })
                .collect_view();
            let no_attachments = doc.attachments.is_empty();
            view! {
                <article id="document-detail" class="card" data-id=doc.id.clone() data-kind=kind.code()>
                    <p class="form-kicker">{move || i18n.t(kind_key(kind))}</p>
                    <h2 class="form-title detail-title">
                        {doc
                            .fields
                            .get("full_name")
                            .or_else(|| doc.fields.get("title"))
                            .cloned()
                            .unwrap_or_default()}
                    </h2>
                    <dl class="facts detail-fields">{rows} {custom}</dl>
                    <p class="muted">
                        {move || i18n.t(K::UpdatedAt)} " " {local_date_time(&doc.updated_at)}
                    </p>
                    <h3 class="section-title">{move || i18n.t(K::Attachments)}</h3>
                    {no_attachments
                        .then(|| view! { <p class="muted">{move || i18n.t(K::NoAttachments)}</p> })}
                    <ul class="attachments">{attachments}</ul>
                    <div class="field">
                        <label for="attach-file">{move || i18n.t(K::AddAttachment)}</label>
                        <input
                            id="attach-file"
                            type="file"
                            accept="image/*,application/pdf"
                            on:change=on_attach
                        />
                        <p class="hint">{move || i18n.t(K::HintPhoto)}</p>
                        <CameraPhoto on_taken=on_photo />
                    </div>
                    <div class="form-actions">
                        <button
                            id="doc-edit"
                            type="button"
                            class="btn btn-primary"
                            on:click=move |_| stored.with_value(|doc| d.edit(doc))
                        >
                            {move || i18n.t(K::Edit)}
                        </button>
                        <button
                            id="doc-delete"
                            type="button"
                            class="btn btn-secondary"
                            on:click=move |_| confirming.set(true)
                        >
                            {move || i18n.t(K::Delete)}
                        </button>
                    </div>
                </article>
            }
            .into_any()
        }
    };

    view! {
        <button type="button" id="doc-back" class="btn-link back-link" on:click=back>
            {icon(Icon::ArrowLeft)}
            {move || i18n.t(K::Back)}
        </button>
        {move || {
            error
                .get()
                .map(|e| {
                    let code = e.kind.code();
                    view! {
                        <p id="detail-error" class="form-error" role="alert" data-kind=code>
                            {icon(Icon::Alert)}
                            <span>{move || server_message(i18n.lang(), &e)}</span>
                        </p>
                    }
                })
        }}
        <Show when=move || confirming.get()>
            <div id="delete-confirm" class="note note-warning" role="alertdialog">
                <p>{move || i18n.t(K::DeleteConfirm)}</p>
                <div class="form-actions">
                    <button
                        id="confirm-delete"
                        type="button"
                        class="btn btn-primary"
                        disabled=move || busy.get()
                        on:click=delete
                    >
                        {move || i18n.t(K::DeleteYes)}
                    </button>
                    <button
                        id="cancel-delete"
                        type="button"
                        class="btn btn-secondary"
                        on:click=move |_| confirming.set(false)
                    >
                        {move || i18n.t(K::Cancel)}
                    </button>
                </div>
            </div>
        </Show>
        {body}
    }
}

/// One generated form control.
#[component]
fn FieldControl(spec: &'static FieldSpec) -> impl IntoView {
    let i18n = use_i18n();
    let d = use_app().draft;
    let id = schema::field_id(spec.key);
    let hint_id = format!("{id}-hint");
    let key = spec.key;
    let initial = d
        .values
        .with_untracked(|v| v.get(key).cloned().unwrap_or_default());
    let invalid = move || {
        d.error
            .with(|e| e.as_ref().and_then(FormError::field))
            .filter(|f| f == key)
            .map(|_| "true")
    };
    let set = move |v: String| {
        d.values.update(|m| {
            m.insert(key.to_owned(), v);
        })
    };
    let inline_error = move || {
        let e = d.error.get()?;
        if e.field().as_deref() != Some(key) {
            return None;
        }
        let text = match &e {
            FormError::Client(k, _) => i18n.t(*k).to_owned(),
            FormError::Server(err) => server_message(i18n.lang(), err),
        };
        Some(view! { <p class="field-error" data-field=key>{text}</p> })
    };
    let hint = match spec.ty {
        FieldType::Date => Some(K::HintDate),
        FieldType::Classes => Some(K::HintClasses),
        _ if key == "number" => None,
        _ if key == "full_name" => Some(K::HintName),
        _ => None,
    };
    let number_hint = (key == "number").then(|| {
        view! {
            <p id=hint_id.clone() class="hint">
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
        }
    });
    let control = match spec.ty {
        FieldType::Choice(options) => {
            let opts = options
                .iter()
                .map(|&(code, vi, en)| {
                    view! {
                        <option value=code selected=initial == code>
                            {move || if i18n.lang() == Lang::Vi { vi } else { en }}
                        </option>
                    }
                })
                .collect_view();
            view! {
                <select
                    id=id.clone()
                    aria-invalid=invalid
                    on:change=move |ev| set(event_target_value(&ev))
                >
                    <option value="" selected=initial.is_empty()>
                        {move || i18n.t(K::ChooseOption)}
                    </option>
                    {opts}
                </select>
            }
            .into_any()
        }
        FieldType::LongText => view! {
            <textarea
                id=id.clone()
                rows="3"
                aria-invalid=invalid
                prop:value=initial.clone()
                on:input=move |ev| set(event_target_value(&ev))
            ></textarea>
        }
        .into_any(),
        _ => {
            let (inputmode, placeholder) = match spec.ty {
                FieldType::Date => ("numeric", "dd/mm/yyyy"),
                FieldType::Digits(_) => ("numeric", ""),
                _ => ("text", ""),
            };
            let autocomplete = match key {
                "full_name" => "name",
                "date_of_birth" => "bday",
                _ => "off",
            };
            view! {
                <input
                    id=id.clone()
                    type="text"
                    inputmode=inputmode
                    placeholder=placeholder
                    autocomplete=autocomplete
                    spellcheck="false"
                    aria-describedby=hint_id.clone()
                    aria-invalid=invalid
                    // Uncontrolled: starts from the draft, reports changes,
                    // never written back (that races typing and breaks
                    // Vietnamese IME composition).
                    prop:value=initial.clone()
                    on:input=move |ev| set(event_target_value(&ev))
                />
            }
            .into_any()
        }
    };
    view! {
        <div class="field" data-key=key>
            <label for=id.clone()>
                {move || schema::label(spec, i18n.lang())}
                {spec.required.then(|| view! { <span class="req" aria-hidden="true">" *"</span> })}
            </label>
            {control}
            {number_hint}
            {hint.map(|h| view! { <p id=hint_id.clone() class="hint">{move || i18n.t(h)}</p> })}
            {inline_error}
        </div>
    }
}

/// The free `(label, value)` rows of an "other" document.
#[component]
fn CustomFields() -> impl IntoView {
    let i18n = use_i18n();
    let d = use_app().draft;
    // Rows are re-rendered only when one is added or removed; typing updates
    // the draft without re-rendering.
    let count = Memo::new(move |_| d.custom.with(Vec::len));
    let rows = move || {
        (0..count.get())
            .map(|i| {
                let (l, v) = d
                    .custom
                    .with_untracked(|c| c.get(i).cloned().unwrap_or_default());
                view! {
                    <div class="custom-row">
                        <input
                            id=format!("custom-label-{i}")
                            class="custom-label"
                            type="text"
                            aria-label=move || i18n.t(K::CustomLabel)
                            placeholder=move || i18n.t(K::CustomLabel)
                            prop:value=l
                            on:input=move |ev| {
                                let t = event_target_value(&ev);
                                d.custom.update(|c| if let Some(r) = c.get_mut(i) { r.0 = t; });
                            }
                        />
                        <input
                            id=format!("custom-value-{i}")
                            class="custom-value"
                            type="text"
                            aria-label=move || i18n.t(K::CustomValue)
                            placeholder=move || i18n.t(K::CustomValue)
                            prop:value=v
                            on:input=move |ev| {
                                let t = event_target_value(&ev);
                                d.custom.update(|c| if let Some(r) = c.get_mut(i) { r.1 = t; });
                            }
                        />
                        <button
                            type="button"
                            class="btn-link custom-remove"
                            on:click=move |_| {
                                d.custom.update(|c| {
                                    if i < c.len() {
                                        c.remove(i);
                                    }
                                })
                            }
                        >
                            {move || i18n.t(K::CustomRemove)}
                        </button>
                    </div>
                }
            })
            .collect_view()
    };
    view! {
        <fieldset class="choices custom-fields">
            <legend>{move || i18n.t(K::CustomFields)}</legend>
            {rows}
            <button
                id="custom-add"
                type="button"
                class="btn btn-secondary btn-small"
                on:click=move |_| d.custom.update(|c| c.push((String::new(), String::new())))
            >
                {icon(Icon::Plus)}
                {move || i18n.t(K::CustomAdd)}
            </button>
        </fieldset>
    }
}

/// `#document-form`: add or edit, generated from the kind's schema.
#[component]
fn DocumentForm() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let d = ctx.draft;
    let file_input = NodeRef::<html::Input>::new();
    let editing = move || d.editing.get().is_some();

    let error_message = move || {
        d.error.get().map(|e| match e {
            FormError::Client(key, _) => i18n.t(key).to_owned(),
            FormError::Server(err) => server_message(i18n.lang(), &err),
        })
    };

    let on_file = move |ev: Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        let Some(file) = input.files().and_then(|list| list.get(0)) else {
            return;
        };
        d.error.set(None);
        if let Err(k) = check_file(&file) {
            input.set_value("");
            d.error
                .set(Some(FormError::Client(k, "attachment".to_owned())));
            return;
        }
        d.photo.set(None);
        d.file.set(Some(file));
    };

    let on_photo = move |a: NewAttachmentInput| {
        d.error.set(None);
        d.file.set(None);
        if let Some(input) = file_input.get() {
            input.set_value("");
        }
        d.photo.set(Some(a));
    };

    let remove_file = move |_| {
        d.file.set(None);
        d.photo.set(None);
        if let Some(input) = file_input.get() {
            input.set_value("");
        }
    };

    let cancel = move |_| {
        let was_editing = d.editing.get_untracked();
        d.clear();
        d.open.set(false);
        d.detail.set(was_editing);
    };

    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        if d.saving.get_untracked() {
            return;
        }
        // The controls themselves are the truth at this moment: autofill, or
        // keystrokes whose `input` events are still queued (seen with
        // WebKitGTK automation), may not have reached the draft yet.
        if let Some(k) = control_value("doc-kind").and_then(|v| DocumentKind::from_code(&v)) {
            if d.kind.get_untracked() != k {
                d.kind.set(k);
            }
        }
        let kind = d.kind.get_untracked();
        let mut values = d.values.get_untracked();
        for f in schema::fields(kind) {
            if let Some(v) = control_value(&schema::field_id(f.key)) {
                values.insert(f.key.to_owned(), v);
            }
        }
        if values != d.values.get_untracked() {
            d.values.set(values.clone());
        }
        let custom: Vec<(String, String)> = d
            .custom
            .get_untracked()
            .into_iter()
            .enumerate()
            .map(|(i, (l, v))| {
                (
                    control_value(&format!("custom-label-{i}")).unwrap_or(l),
                    control_value(&format!("custom-value-{i}")).unwrap_or(v),
                )
            })
            .map(|(l, v)| (l.trim().to_owned(), v.trim().to_owned()))
            .filter(|(l, v)| !l.is_empty() || !v.is_empty())
            .collect();
        let fields = match check_form(kind, &values, today()) {
            Ok(f) => f,
            Err((key, field)) => {
                // Everything typed stays in place; only the message changes.
                let id = element_id(&field);
                d.error.set(Some(FormError::Client(key, field)));
                focus_by_id(&id);
                return;
            }
        };
        d.error.set(None);
        let file = d.file.get_untracked();
        let photo = d.photo.get_untracked();
        let editing = d.editing.get_untracked();
        d.saving.set(true);
        spawn_local(async move {
            let fail = |e: FormError| {
                d.saving.set(false);
                if let Some(f) = e.field() {
                    focus_by_id(&element_id(&f));
                }
                d.error.set(Some(e));
            };
            let attachment = match file {
                Some(file) => match read_file(file).await {
                    Some(a) => Some(a),
                    None => {
                        return fail(FormError::Client(K::ErrFileRead, "attachment".to_owned()))
                    }
                },
                None => photo,
            };
            let profile_id = match ctx.profile.get_untracked() {
                Some(p) => p,
                None => match ipc::call(cmd::list_profiles::Args {}).await {
                    Ok(list) => list.first().map(|p| p.id.clone()).unwrap_or_default(),
                    Err(e) => return fail(FormError::Server(ctx.explain(e))),
                },
            };
            let document = DocumentInput {
                profile_id,
                kind,
                fields,
                custom_fields: if kind == DocumentKind::Other {
                    custom
                } else {
                    Vec::new()
                },
            };
            let result = match &editing {
                Some(id) => match ipc::call(cmd::update_document::Args {
                    id: id.to_owned(),
                    input: document.clone(),
                })
                .await
                {
                    Ok(doc) => match &attachment {
                        Some(a) => ipc::call(cmd::add_attachment::Args {
                            document_id: doc.id.to_owned(),
                            input: a.clone(),
                        })
                        .await
                        .map(|_| doc),
                        None => Ok(doc),
                    },
                    Err(e) => Err(e),
                },
                None => {
                    ipc::call(cmd::add_document::Args {
                        input: NewDocumentInput {
                            document,
                            attachments: attachment.into_iter().collect(),
                        },
                    })
                    .await
                }
            };
            match result {
                Ok(doc) => {
                    d.saving.set(false);
                    d.clear();
                    d.open.set(false);
                    if editing.is_some() {
                        d.detail.set(Some(doc.id));
                    }
                    d.notice.set(Some(K::DocSaved));
                    d.changed();
                    ctx.status.refetch();
                }
                // The draft is untouched: the citizen fixes and saves again.
                Err(err) => {
                    let err = ctx.explain(err);
                    let err = match err.kind {
                        cds_view::ErrorKind::TooLarge | cds_view::ErrorKind::UnsupportedFile
                            if err.field.is_none() =>
                        {
                            IpcError {
                                field: Some("attachment".to_owned()),
                                ..err
                            }
                        }
                        _ => err,
                    };
                    fail(FormError::Server(err))
                }
            }
        });
    };

    let kind_options = move || {
        let current = d.kind.get_untracked();
        DocumentKind::ALL
            .into_iter()
            .map(|k| {
                view! {
                    <option value=k.code() selected=current == k>
                        {move || i18n.t(kind_key(k))}
                    </option>
                }
            })
            .collect_view()
    };
    // The fields depend on the kind alone, and are re-generated only when it
    // really changes (a memo does not notify for an equal value). Values of
    // fields the new kind also has are kept: each control starts from the
    // draft, which every keystroke updates.
    let form_kind = Memo::new(move |_| d.kind.get());
    let generated = move || {
        let kind = form_kind.get();
        let controls = schema::fields(kind)
            .iter()
            .map(|spec| view! { <FieldControl spec=spec /> })
            .collect_view();
        view! {
            {controls}
            {(kind == DocumentKind::Other).then(|| view! { <CustomFields /> })}
        }
    };
    let photo_invalid = move || {
        d.error
            .with(|e| e.as_ref().and_then(FormError::field))
            .filter(|f| f == "attachment")
            .map(|_| "true")
    };

    view! {
        <form
            id="document-form"
            class="card form"
            novalidate
            aria-labelledby="document-form-title"
            data-mode=move || if editing() { "edit" } else { "add" }
            on:submit=save
        >
            <h2 id="document-form-title" class="form-title">
                {move || i18n.t(if editing() { K::FormEditTitle } else { K::FormAddTitle })}
            </h2>
            <p class="hint">{move || i18n.t(K::FormRequiredNote)}</p>

            <div class="field">
                <label for="doc-kind">
                    {move || i18n.t(K::FieldKind)}
                    <span class="req" aria-hidden="true">" *"</span>
                </label>
                <select
                    id="doc-kind"
                    disabled=editing
                    on:change=move |ev| {
                        // Only a real change re-generates the fields (and
                        // that happens on the next tick: never for nothing).
                        if let Some(k) = DocumentKind::from_code(&event_target_value(&ev)) {
                            if d.kind.get_untracked() != k {
                                d.error.set(None);
                                d.kind.set(k);
                            }
                        }
                    }
                >
                    {kind_options}
                </select>
            </div>

            {generated}

            <div class="field">
                <label for="doc-photo">{move || i18n.t(K::FieldPhoto)}</label>
                <input
                    id="doc-photo"
                    type="file"
                    accept="image/*,application/pdf"
                    aria-describedby="doc-photo-hint"
                    aria-invalid=photo_invalid
                    node_ref=file_input
                    on:change=on_file
                />
                <p id="doc-photo-hint" class="hint">{move || i18n.t(K::HintPhoto)}</p>
                <CameraPhoto on_taken=on_photo />
                {move || {
                    let picked = d
                        .file
                        .with(|f| f.as_ref().map(|f| (f.name(), f.size() as u64, None)));
                    let taken = move || {
                        d.photo.with(|p| {
                            p.as_ref().map(|p| {
                                (
                                    p.file_name.clone(),
                                    base64_len(&p.data_base64),
                                    Some(format!("data:{};base64,{}", p.mime, p.data_base64)),
                                )
                            })
                        })
                    };
                    picked
                        .or_else(taken)
                        .map(|(name, size, thumb)| {
                            let source = if thumb.is_some() { "camera" } else { "file" };
                            let from_camera = thumb.is_some();
                            view! {
                                <p class="file-chosen" id="doc-photo-chosen" data-source=source>
                                    {match thumb {
                                        Some(src) => {
                                            view! { <img class="photo-thumb" src=src alt="" /> }
                                                .into_any()
                                        }
                                        None => icon(Icon::File).into_any(),
                                    }}
                                    <span>
                                        {move || i18n.t(K::FileChosen)} ": " <strong>{name}</strong>
                                        " (" {move || file_size(size, i18n.lang())} ")"
                                        {from_camera
                                            .then(|| {
                                                view! {
                                                    <br />
                                                    <span class="hint">
                                                        {move || i18n.t(K::PhotoTakenNote)}
                                                    </span>
                                                }
                                            })}
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
                    let kind = d.error.with(|e| match e {
                        Some(FormError::Server(err)) => err.kind.code(),
                        Some(FormError::Client(..)) => "client",
                        None => "",
                    });
                    let field = d.error.with(|e| e.as_ref().and_then(FormError::field)).unwrap_or_default();
                    error_message()
                        .map(|msg| {
                            view! {
                                <p id="form-error" class="form-error" role="alert" data-kind=kind data-field=field>
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

    const TODAY: crate::format::Ymd = (2026, 3, 15);

    fn vals(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_first_problem_points_at_its_field() {
        let err = check_form(DocumentKind::Cccd, &vals(&[]), TODAY).unwrap_err();
        assert_eq!(err.1, schema::fields(DocumentKind::Cccd)[0].key);
        let err = check_form(
            DocumentKind::Cccd,
            &vals(&[("number", "12345"), ("full_name", "A")]),
            TODAY,
        )
        .unwrap_err();
        assert_eq!(err, (K::ErrCccdDigits, "number".to_owned()));
    }

    #[test]
    fn dates_go_out_iso_and_empty_optional_fields_are_left_out() {
        let mut v = BTreeMap::new();
        for f in schema::fields(DocumentKind::Passport) {
            let value = match f.ty {
                FieldType::Date => "05/09/1990".to_owned(),
                FieldType::Choice(opts) => opts[0].0.to_owned(),
                FieldType::Digits(n) => "1".repeat(n as usize),
                _ if f.key == "number" => "C1234567".to_owned(),
                _ => "x".to_owned(),
            };
            if f.required {
                v.insert(f.key.to_owned(), value);
            }
        }
        let out = check_form(DocumentKind::Passport, &v, TODAY).unwrap();
        assert_eq!(
            out.get("date_of_birth").map(String::as_str),
            Some("1990-09-05")
        );
        assert!(out.values().all(|x| !x.is_empty()));
    }

    #[test]
    fn base64_length_is_the_decoded_size() {
        use base64::Engine as _;
        for n in 0..10 {
            let data = vec![7u8; n];
            let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
            assert_eq!(base64_len(&b64), n as u64, "{b64}");
        }
    }

    #[test]
    fn only_images_and_pdfs_are_accepted() {
        assert!(acceptable_type("image/png", "a.png"));
        assert!(acceptable_type("application/pdf", "a.pdf"));
        assert!(acceptable_type("", "scan.PDF"));
        assert!(!acceptable_type("text/plain", "notes.txt"));
        assert!(!acceptable_type("", "notes.txt"));
    }
}
