//! Services: the catalogue, and the application form filled from the vault.

use crate::app::{use_app, Page};
use crate::components::feedback::{ErrorBox, Loading};
use crate::components::icons::{icon, Icon};
use crate::format::{format_vnd, iso_to_display};
use crate::i18n::{delivery_code, error_text, kind_key, use_i18n, working_days, Lang, K};
use crate::ipc::{self, cmd};
use cds_domain::text::Query;
use cds_view::{
    ApplicationView, DeliveryState, DocumentKind, DocumentSummaryView, IpcError, ServiceInfo,
    SubmitInput,
};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

fn service_name(s: &ServiceInfo, lang: Lang) -> String {
    match lang {
        Lang::Vi => s.name_vi.clone(),
        Lang::En => s.name_en.clone(),
    }
}

fn agency_name(s: &ServiceInfo, lang: Lang) -> String {
    match lang {
        Lang::Vi => s.agency_vi.clone(),
        Lang::En => s.agency_en.clone(),
    }
}

fn fee_text(fee: u64, lang: Lang) -> String {
    if fee == 0 {
        K::Free.text(lang).to_owned()
    } else {
        format_vnd(fee, lang)
    }
}

/// Does `s` match the search text? Both languages, the agency and the code
/// are searched, ignoring case and Vietnamese diacritics.
fn matches(s: &ServiceInfo, query: &str) -> bool {
    // The same rule as the vault's document search (cds-domain's `Query`).
    Query::new(query).matches(&format!(
        "{} {} {} {} {}",
        s.name_vi, s.name_en, s.agency_vi, s.agency_en, s.code
    ))
}

/// Documents pre-checked for a service: every vault document whose kind the
/// service requires. The citizen never re-declares what is in the vault.
pub fn preselect(service: &ServiceInfo, docs: &[DocumentSummaryView]) -> Vec<String> {
    docs.iter()
        .filter(|d| service.required_documents.contains(&d.kind))
        .map(|d| d.id.clone())
        .collect()
}

/// Required kinds the given documents do not cover, in the service's order.
pub fn missing_kinds<'a>(
    service: &ServiceInfo,
    docs: impl Iterator<Item = &'a DocumentSummaryView> + Clone,
) -> Vec<DocumentKind> {
    service
        .required_documents
        .iter()
        .copied()
        .filter(|k| !docs.clone().any(|d| d.kind == *k))
        .collect()
}

/// Why submitting failed: untranslated so it follows a language switch.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ApplyError {
    /// Required kinds not selected.
    Missing(Vec<DocumentKind>),
    Server(IpcError),
}

#[component]
pub fn ServicesPage() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let services = LocalResource::new(|| ipc::call(cmd::list_services::Args {}));
    // Loaded with the page so the form opens with its boxes already ticked.
    let docs = LocalResource::new(|| ipc::call(cmd::list_documents::Args { profile_id: None }));
    let applying = RwSignal::new(None::<ServiceInfo>);
    let result = RwSignal::new(None::<ApplicationView>);
    let query = RwSignal::new(String::new());

    let on_apply = Callback::new(move |service: ServiceInfo| {
        result.set(None);
        applying.set(Some(service));
        if let Some(w) = web_sys::window() {
            w.scroll_to_with_x_and_y(0.0, 0.0);
        }
    });

    let catalogue = move || match services.get() {
        None => view! { <Loading /> }.into_any(),
        Some(Err(err)) => view! {
            <ErrorBox err=err on_retry=Callback::new(move |_| services.refetch()) />
        }
        .into_any(),
        Some(Ok(list)) if list.is_empty() => view! {
            <p class="empty">{move || i18n.t(K::ServicesEmpty)}</p>
        }
        .into_any(),
        Some(Ok(list)) => {
            let list = StoredValue::new(list);
            // Re-filter (without re-fetching) as the citizen types.
            let visible = move || {
                query.with(|q| {
                    list.with_value(|list| {
                        list.iter()
                            .filter(|s| matches(s, q))
                            .cloned()
                            .collect::<Vec<_>>()
                    })
                })
            };
            view! {
                <div class="card-list service-list">
                    <For
                        each=visible
                        key=|s: &ServiceInfo| s.code.clone()
                        children=move |s| view! { <ServiceCard service=s on_apply=on_apply /> }
                    />
                </div>
                <Show when=move || visible().is_empty()>
                    <p class="empty" id="services-no-match">
                        {move || i18n.t(K::ServicesNoMatch)}
                    </p>
                </Show>
            }
            .into_any()
        }
    };

    view! {
        <section id="page-services" class="page">
            <div class="page-head">
                <h1 class="page-title">{move || i18n.t(K::ServicesTitle)}</h1>
                <p class="lead">{move || i18n.t(K::ServicesIntro)}</p>
            </div>
            // Always in the DOM so that screen readers announce the result.
            <div class="live" aria-live="polite">
                {move || result.get().map(|app| view! { <ApplyResult app=app /> })}
            </div>
            {move || match applying.get() {
                Some(service) => view! {
                    <ApplyPanel service=service docs=docs applying=applying result=result />
                }
                .into_any(),
                None => view! {
                    <Show when=move || ctx.vault_locked()>
                        <p class="note note-warning">{move || i18n.t(K::VaultLockedApply)}</p>
                    </Show>
                    <div class="field search-field">
                        <label for="service-search">{move || i18n.t(K::SearchServices)}</label>
                        <input
                            id="service-search"
                            type="search"
                            autocomplete="off"
                            placeholder=move || i18n.t(K::SearchPlaceholder)
                            // Uncontrolled (no write-back), so IME input works.
                            prop:value=query.get_untracked()
                            on:input=move |ev| query.set(event_target_value(&ev))
                        />
                    </div>
                    {catalogue}
                }
                .into_any(),
            }}
        </section>
    }
}

/// One `.service-card`.
#[component]
fn ServiceCard(service: ServiceInfo, on_apply: Callback<ServiceInfo>) -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let s = StoredValue::new(service);
    let required = s.with_value(|s| s.required_documents.clone());
    view! {
        <article class="service-card card" data-code=s.with_value(|s| s.code.clone())>
            <div class="card-head">
                <h2 class="service-name">{move || s.with_value(|s| service_name(s, i18n.lang()))}</h2>
                {s
                    .with_value(|s| s.fully_online)
                    .then(|| {
                        view! {
                            <span class="badge badge-online">
                                {icon(Icon::Check)}
                                {move || i18n.t(K::FullyOnline)}
                            </span>
                        }
                    })}
            </div>
            <p class="service-code">
                {move || i18n.t(K::ServiceCode)} " " {s.with_value(|s| s.code.clone())}
            </p>
            <dl class="facts">
                <div>
                    <dt>{move || i18n.t(K::Agency)}</dt>
                    <dd class="service-agency">
                        {move || s.with_value(|s| agency_name(s, i18n.lang()))}
                    </dd>
                </div>
                <div>
                    <dt>{move || i18n.t(K::Fee)}</dt>
                    <dd class="service-fee">
                        {move || s.with_value(|s| fee_text(s.fee_vnd, i18n.lang()))}
                    </dd>
                </div>
                <div>
                    <dt>{move || i18n.t(K::ProcessingTime)}</dt>
                    <dd class="service-days">
                        {move || s.with_value(|s| working_days(i18n.lang(), s.processing_days))}
                    </dd>
                </div>
                <div>
                    <dt>{move || i18n.t(K::RequiredDocs)}</dt>
                    <dd class="service-docs">
                        <ul class="kind-list">
                            {required
                                .into_iter()
                                .map(|k| {
                                    view! {
                                        <li data-kind=k.code()>{move || i18n.t(kind_key(k))}</li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    </dd>
                </div>
            </dl>
            <button
                type="button"
                class="apply-btn btn btn-primary btn-block"
                disabled=move || ctx.vault_locked()
                on:click=move |_| on_apply.run(s.get_value())
            >
                {move || i18n.t(K::Apply)}
                {icon(Icon::ArrowRight)}
            </button>
        </article>
    }
}

/// The vault documents (or why they cannot be listed) around the form.
#[component]
fn ApplyPanel(
    service: ServiceInfo,
    docs: LocalResource<Result<Vec<DocumentSummaryView>, IpcError>>,
    applying: RwSignal<Option<ServiceInfo>>,
    result: RwSignal<Option<ApplicationView>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let service = StoredValue::new(service);
    view! {
        <div class="apply-panel">
            <button
                type="button"
                id="apply-cancel"
                class="btn-link back-link"
                on:click=move |_| applying.set(None)
            >
                {icon(Icon::ArrowLeft)}
                {move || i18n.t(K::BackToServices)}
            </button>
            // `docs` is fetched once per visit of the page (documents cannot
            // change while it is open), so the form is built once and the
            // citizen's ticks are never reset under them.
            {move || match docs.get() {
                None => view! { <Loading /> }.into_any(),
                Some(Err(err)) => view! {
                    <ErrorBox err=err on_retry=Callback::new(move |_| docs.refetch()) />
                }
                .into_any(),
                Some(Ok(list)) => view! {
                    <ApplyForm service=service.get_value() docs=list applying=applying result=result />
                }
                .into_any(),
            }}
        </div>
    }
}

/// `#apply-form`.
#[component]
fn ApplyForm(
    service: ServiceInfo,
    docs: Vec<DocumentSummaryView>,
    applying: RwSignal<Option<ServiceInfo>>,
    result: RwSignal<Option<ApplicationView>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let selected = RwSignal::new(preselect(&service, &docs));
    let error = RwSignal::new(None::<ApplyError>);
    let submitting = RwSignal::new(false);
    let missing_in_vault = missing_kinds(&service, docs.iter());
    let required = service.required_documents.clone();
    let docs = StoredValue::new(docs);
    let service = StoredValue::new(service);

    // The applicant as the city will see them: from the first selected CCCD.
    let applicant = move || {
        let ids = selected.get();
        docs.with_value(|docs| {
            docs.iter()
                .find(|d| d.kind == DocumentKind::Cccd && ids.contains(&d.id))
                .cloned()
        })
    };

    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        // The shell makes the idempotency key when it receives the call: a
        // second press would make a second application. Never send twice.
        if submitting.get_untracked() {
            return;
        }
        let ids = selected.get_untracked();
        // Keep the vault's order, whatever order the boxes were ticked in.
        let chosen: Vec<DocumentSummaryView> = docs.with_value(|docs| {
            docs.iter()
                .filter(|d| ids.contains(&d.id))
                .cloned()
                .collect()
        });
        let missing = service.with_value(|s| missing_kinds(s, chosen.iter()));
        if !missing.is_empty() {
            error.set(Some(ApplyError::Missing(missing)));
            return;
        }
        error.set(None);
        submitting.set(true);
        let input = SubmitInput {
            service_code: service.with_value(|s| s.code.clone()),
            document_ids: chosen.into_iter().map(|d| d.id).collect(),
        };
        spawn_local(async move {
            let outcome = ipc::call(cmd::submit_application::Args {
                input: input.clone(),
            })
            .await;
            submitting.set(false);
            match outcome {
                Ok(app) => {
                    result.set(Some(app));
                    applying.set(None);
                    ctx.status.refetch();
                }
                Err(err) => error.set(Some(ApplyError::Server(ctx.explain(err)))),
            }
        });
    };

    let error_view = move || {
        error.get().map(move |e| match e {
            ApplyError::Missing(kinds) => view! {
                <p>{move || i18n.t(K::ApplyNeedRequired)}</p>
                <ul class="kind-list">
                    {kinds
                        .into_iter()
                        .map(|k| view! { <li>{move || i18n.t(kind_key(k))}</li> })
                        .collect_view()}
                </ul>
            }
            .into_any(),
            ApplyError::Server(err) => {
                view! { <p>{move || error_text(i18n.lang(), &err)}</p> }.into_any()
            }
        })
    };

    let choices = docs.with_value(|list| {
        list.iter()
            .map(|d| {
                let id = d.id.clone();
                let id_for_change = d.id.clone();
                let kind = d.kind;
                let is_required = required.contains(&kind);
                view! {
                    <label class="choice" class:required=is_required>
                        <input
                            type="checkbox"
                            class="doc-choice"
                            value=d.id.clone()
                            prop:checked=move || selected.with(|s| s.contains(&id))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                selected
                                    .update(|s| {
                                        s.retain(|x| *x != id_for_change);
                                        if on {
                                            s.push(id_for_change.clone());
                                        }
                                    });
                            }
                        />
                        <span class="choice-body">
                            <span class="choice-kind">{move || i18n.t(kind_key(kind))}</span>
                            <span class="choice-detail">
                                {d.title.clone()} " · " {d.number.clone()}
                            </span>
                        </span>
                        {is_required
                            .then(|| {
                                view! {
                                    <span class="badge badge-required">
                                        {move || i18n.t(K::ApplyRequiredBadge)}
                                    </span>
                                }
                            })}
                    </label>
                }
            })
            .collect_view()
    });
    let no_docs = docs.with_value(Vec::is_empty);

    view! {
        <form
            id="apply-form"
            class="card form"
            novalidate
            aria-labelledby="apply-form-title"
            data-code=service.with_value(|s| s.code.clone())
            on:submit=submit
        >
            <p class="form-kicker">{move || i18n.t(K::ApplyFormTitle)}</p>
            <h2 id="apply-form-title" class="form-title">
                {move || service.with_value(|s| service_name(s, i18n.lang()))}
            </h2>
            <p class="muted">
                {move || service.with_value(|s| agency_name(s, i18n.lang()))} " · "
                {move || i18n.t(K::Fee)} ": "
                {move || service.with_value(|s| fee_text(s.fee_vnd, i18n.lang()))} " · "
                {move || {
                    service.with_value(|s| working_days(i18n.lang(), s.processing_days))
                }}
            </p>

            {move || {
                applicant()
                    .map(|d| {
                        view! {
                            <div class="applicant" id="apply-applicant">
                                <p class="applicant-label">{move || i18n.t(K::ApplyApplicant)}</p>
                                <p class="applicant-name">{d.title.clone()}</p>
                                <p class="applicant-meta">
                                    "CCCD " {d.number.clone()} " · " {move || i18n.t(K::FieldDob)}
                                    " " {iso_to_display(&d.date_of_birth)}
                                </p>
                            </div>
                        }
                    })
            }}

            <fieldset class="choices">
                <legend>{move || i18n.t(K::ApplyDocsLegend)}</legend>
                {if no_docs {
                    view! { <p class="empty">{move || i18n.t(K::ApplyNoDocs)}</p> }.into_any()
                } else {
                    view! {
                        <p class="hint">{move || i18n.t(K::ApplyPrefilled)}</p>
                        {choices}
                    }
                        .into_any()
                }}
            </fieldset>

            {(!missing_in_vault.is_empty())
                .then(|| {
                    view! {
                        <div class="note note-warning" id="apply-missing">
                            <p>{move || i18n.t(K::ApplyMissing)}</p>
                            <ul class="kind-list">
                                {missing_in_vault
                                    .iter()
                                    .map(|&k| {
                                        view! {
                                            <li data-kind=k.code()>{move || i18n.t(kind_key(k))}</li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                            <p>{move || i18n.t(K::ApplyMissingHint)}</p>
                            <button
                                type="button"
                                id="apply-add-document"
                                class="btn btn-secondary btn-small"
                                on:click=move |_| {
                                    ctx.draft.notice.set(None);
                                    ctx.draft.detail.set(None);
                                    ctx.draft.open.set(true);
                                    ctx.go(Page::Documents);
                                }
                            >
                                {icon(Icon::Plus)}
                                {move || i18n.t(K::AddDocument)}
                            </button>
                        </div>
                    }
                })}

            // The error sits with the button (kept in view on phones).
            <div class="form-actions">
                {move || {
                    error_view()
                        .map(|v| {
                            view! {
                                <div id="apply-error" class="form-error" role="alert">
                                    {v}
                                </div>
                            }
                        })
                }}
                <button
                    id="apply-submit"
                    type="submit"
                    class="btn btn-primary"
                    disabled=move || submitting.get()
                    aria-busy=move || submitting.get().then_some("true")
                >
                    {move || i18n.t(if submitting.get() { K::ApplySubmitting } else { K::ApplySubmit })}
                </button>
            </div>
        </form>
    }
}

/// `#apply-result`: sent, or saved and waiting to send.
#[component]
fn ApplyResult(app: ApplicationView) -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let delivered = app.delivery == DeliveryState::Delivered;
    let case = app.case_number.clone();
    view! {
        <div
            id="apply-result"
            class="result card"
            class:result-queued=!delivered
            data-delivery=delivery_code(app.delivery)
            data-key=app.idempotency_key.clone()
        >
            <div class="result-head">
                {icon(if delivered { Icon::Check } else { Icon::Clock })}
                <h2>{move || i18n.t(K::ApplyResultTitle)}</h2>
            </div>
            <p class="result-text">
                {move || {
                    i18n.t(if delivered { K::ApplyResultDelivered } else { K::ApplyResultQueued })
                }}
            </p>
            {case
                .map(|c| {
                    view! {
                        <p class="result-case">
                            {move || i18n.t(K::CaseNumber)} ": " <strong>{c}</strong>
                        </p>
                    }
                })}
            <button
                id="apply-go-applications"
                type="button"
                class="btn btn-primary"
                on:click=move |_| ctx.go(Page::Applications)
            >
                {move || i18n.t(K::GoToApplications)}
                {icon(Icon::ArrowRight)}
            </button>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service(required: Vec<DocumentKind>) -> ServiceInfo {
        ServiceInfo {
            code: "1.001193".into(),
            name_vi: "Đăng ký khai sinh".into(),
            name_en: "Birth registration".into(),
            agency_vi: "Ủy ban nhân dân phường, xã".into(),
            agency_en: "Ward or commune People's Committee".into(),
            fee_vnd: 0,
            processing_days: 1,
            fully_online: true,
            required_documents: required,
        }
    }

    fn doc(id: &str, kind: DocumentKind) -> DocumentSummaryView {
        DocumentSummaryView {
            id: id.into(),
            profile_id: "p".into(),
            kind,
            title: "Nguyễn Văn An".into(),
            number: "001099012345".into(),
            date_of_birth: "1990-09-05".into(),
            expiry_date: None,
            attachment_count: 0,
            thumbnail_id: None,
            has_pdf: false,
            updated_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn required_documents_are_preselected_and_the_rest_reported() {
        let s = service(vec![DocumentKind::Cccd, DocumentKind::BirthCertificate]);
        let docs = vec![
            doc("a", DocumentKind::Cccd),
            doc("b", DocumentKind::Passport),
        ];
        assert_eq!(preselect(&s, &docs), vec!["a".to_owned()]);
        assert_eq!(
            missing_kinds(&s, docs.iter()),
            vec![DocumentKind::BirthCertificate]
        );
        assert!(missing_kinds(&service(vec![DocumentKind::Cccd]), docs.iter()).is_empty());
    }

    #[test]
    fn search_ignores_accents_and_covers_both_languages() {
        let s = service(vec![]);
        assert!(matches(&s, "khai sinh"));
        assert!(matches(&s, "KHAI  SINH"));
        assert!(matches(&s, "uy ban"));
        assert!(matches(&s, "birth"));
        assert!(matches(&s, "1.001193"));
        assert!(matches(&s, ""));
        assert!(!matches(&s, "thường trú"));
    }

    #[test]
    fn fees() {
        assert_eq!(fee_text(0, Lang::Vi), "Miễn phí");
        assert_eq!(fee_text(20_000, Lang::Vi), "20.000 ₫");
    }
}
