//! Applications ("Hồ sơ của tôi"): what was submitted, where it is, and a
//! "sync now" button.

use crate::app::{poll_while_mounted, use_app, Page};
use crate::components::feedback::{ErrorBox, Loading};
use crate::components::icons::{icon, Icon};
use crate::format::{iso_to_display, local_date_time};
use crate::i18n::{
    delivery_code, delivery_key, error_text, kind_key, status_key, sync_summary, use_i18n, Lang, K,
};
use crate::ipc::{self, cmd};
use cds_view::{ApplicationView, DeliveryState, IpcError, SyncReport};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

/// While the page is open the list is re-read this often: the shell's
/// background sync delivers queued applications on its own.
const REFRESH: Duration = Duration::from_secs(3);

/// What the last "sync now" press gave, kept untranslated.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SyncOutcome {
    Report(SyncReport),
    Failed(IpcError),
}

/// The list's shape, separate from its contents: a refresh that changes a
/// card must not rebuild the whole list (see the `<For>` below).
#[derive(Debug, Clone, PartialEq, Eq)]
enum ListShape {
    Loading,
    Failed(IpcError),
    Empty,
    Some,
}

/// A `<For>` key that changes whenever something shown on the card changes,
/// so only that card is re-rendered.
fn card_key(a: &ApplicationView) -> String {
    format!(
        "{}|{}|{:?}|{:?}|{:?}|{:?}",
        a.idempotency_key,
        delivery_code(a.delivery),
        a.status,
        a.case_number,
        a.due_date,
        a.last_error.as_ref().map(|e| e.kind),
    )
}

#[component]
pub fn ApplicationsPage() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let apps = LocalResource::new(|| ipc::call(cmd::list_applications::Args {}));
    poll_while_mounted(REFRESH, move || apps.refetch());

    let syncing = RwSignal::new(false);
    let outcome = RwSignal::new(None::<SyncOutcome>);
    let sync = move |_| {
        if syncing.get_untracked() {
            return;
        }
        syncing.set(true);
        outcome.set(None);
        spawn_local(async move {
            let result = ipc::call(cmd::sync_now::Args {}).await;
            // Signals and resources tolerate being set after the page was
            // left (they are then disposed and the write is dropped).
            syncing.set(false);
            outcome.set(Some(match result {
                Ok(report) => SyncOutcome::Report(report),
                Err(err) => SyncOutcome::Failed(err),
            }));
            apps.refetch();
            ctx.status.refetch();
        });
    };

    let sync_result = move || {
        outcome.get().map(|o| {
            let (err, report) = match o {
                SyncOutcome::Report(r) => (r.error.clone(), Some(r)),
                SyncOutcome::Failed(e) => (Some(e), None),
            };
            match err {
                Some(err) => {
                    let code = err.kind.code();
                    view! {
                        <p id="sync-result" class="sync-result sync-failed" role="alert" data-kind=code>
                            {icon(Icon::Alert)}
                            <span>{move || error_text(i18n.lang(), &err)}</span>
                        </p>
                    }
                    .into_any()
                }
                None => {
                    let r = report.unwrap_or(SyncReport {
                        delivered: 0,
                        still_pending: 0,
                        error: None,
                    });
                    view! {
                        <p
                            id="sync-result"
                            class="sync-result sync-ok"
                            data-delivered=r.delivered
                            data-pending=r.still_pending
                        >
                            {icon(Icon::Check)}
                            <span>{move || sync_summary(i18n.lang(), r.delivered, r.still_pending)}</span>
                        </p>
                    }
                    .into_any()
                }
            }
        })
    };

    let shape = Memo::new(move |_| match apps.get() {
        None => ListShape::Loading,
        Some(Err(e)) => ListShape::Failed(e),
        Some(Ok(list)) if list.is_empty() => ListShape::Empty,
        Some(Ok(_)) => ListShape::Some,
    });
    // Newest first. RFC 3339 times from the same device sort as text.
    let sorted = move || {
        let mut list = apps.get().and_then(Result::ok).unwrap_or_default();
        list.sort_by(|a, b| b.submitted_at.cmp(&a.submitted_at));
        list
    };
    let list = move || {
        match shape.get() {
        ListShape::Loading => view! { <Loading /> }.into_any(),
        ListShape::Failed(err) => view! {
            <ErrorBox err=err on_retry=Callback::new(move |_| apps.refetch()) />
        }
        .into_any(),
        ListShape::Empty => view! {
            <div class="empty" id="applications-empty">
                {icon(Icon::Clipboard)}
                <p>{move || i18n.t(K::AppsEmpty)}</p>
                <button type="button" class="btn btn-secondary" on:click=move |_| ctx.go(Page::Services)>
                    {move || i18n.t(K::BrowseServices)}
                </button>
            </div>
        }
        .into_any(),
        ListShape::Some => view! {
            <div class="card-list app-list">
                <For each=sorted key=card_key children=|app| view! { <ApplicationCard app=app /> } />
            </div>
        }
        .into_any(),
    }
    };

    view! {
        <section id="page-applications" class="page">
            <div class="page-head">
                <h1 class="page-title">{move || i18n.t(K::AppsTitle)}</h1>
                <p class="lead">{move || i18n.t(K::AppsIntro)}</p>
            </div>
            <div class="sync-bar">
                <button
                    id="sync-now"
                    type="button"
                    class="btn btn-primary btn-block"
                    class:spinning=move || syncing.get()
                    disabled=move || syncing.get()
                    aria-busy=move || syncing.get().then_some("true")
                    on:click=sync
                >
                    {icon(Icon::Sync)}
                    {move || i18n.t(if syncing.get() { K::Syncing } else { K::SyncNow })}
                </button>
                <div class="live" aria-live="polite">
                    {sync_result}
                </div>
            </div>
            {list}
        </section>
    }
}

/// One `.application-card`.
#[component]
fn ApplicationCard(app: ApplicationView) -> impl IntoView {
    let i18n = use_i18n();
    let delivery = app.delivery;
    let queued = delivery == DeliveryState::Queued;
    let name_vi = app.service_name_vi.clone();
    let name_en = app.service_name_en.clone();
    let service_name = move || match i18n.lang() {
        Lang::Vi => name_vi.clone(),
        Lang::En => name_en.clone(),
    };
    let submitted = local_date_time(&app.submitted_at);
    let status = app.status.filter(|_| !queued);
    // The last error only matters while the application is still queued.
    let last_error = app.last_error.clone().filter(|_| queued);

    view! {
        <article
            class="application-card card"
            data-key=app.idempotency_key.clone()
            data-service=app.service_code.clone()
        >
            <div class="card-head">
                <h2 class="app-service">{service_name}</h2>
                <span class="app-delivery pill" data-state=delivery_code(delivery)>
                    {icon(if queued { Icon::Clock } else { Icon::Check })}
                    {move || i18n.t(delivery_key(delivery))}
                </span>
            </div>
            <dl class="facts">
                <div>
                    <dt>{move || i18n.t(K::SubmittedOn)}</dt>
                    <dd class="app-submitted">{submitted}</dd>
                </div>
                {status
                    .map(|s| {
                        view! {
                            <div>
                                <dt>{move || i18n.t(K::Status)}</dt>
                                <dd>
                                    <span class="app-status pill" data-status=s.code()>
                                        {move || i18n.t(status_key(s))}
                                    </span>
                                </dd>
                            </div>
                        }
                    })}
                {app
                    .case_number
                    .clone()
                    .map(|c| {
                        view! {
                            <div>
                                <dt>{move || i18n.t(K::CaseNumber)}</dt>
                                <dd class="app-case">{c}</dd>
                            </div>
                        }
                    })}
                {app
                    .due_date
                    .as_deref()
                    .map(iso_to_display)
                    .map(|due| {
                        view! {
                            <div>
                                <dt>{move || i18n.t(K::DueDate)}</dt>
                                <dd class="app-due">{due}</dd>
                            </div>
                        }
                    })}
            </dl>
            {last_error
                .map(|err| {
                    let code = err.kind.code();
                    view! {
                        <p class="app-error" data-kind=code>
                            {icon(Icon::Alert)}
                            <span>
                                <strong>{move || i18n.t(K::LastAttemptFailed)}</strong>
                                " "
                                {move || error_text(i18n.lang(), &err)}
                            </span>
                        </p>
                    }
                })}
            <LinkedDocuments key=app.idempotency_key.clone() />
        </article>
    }
}

/// The documents sent with an application, fetched when asked for.
#[component]
fn LinkedDocuments(key: String) -> impl IntoView {
    let i18n = use_i18n();
    let open = RwSignal::new(false);
    let key = StoredValue::new(key);
    let docs = LocalResource::new(move || {
        let show = open.get();
        let key = key.get_value();
        async move {
            if show {
                Some(
                    ipc::call(cmd::application_documents::Args {
                        key: key.to_owned(),
                    })
                    .await,
                )
            } else {
                None
            }
        }
    });
    view! {
        <div class="app-docs-wrap">
            <button
                type="button"
                class="btn-link app-docs-toggle"
                aria-expanded=move || if open.get() { "true" } else { "false" }
                on:click=move |_| open.update(|o| *o = !*o)
            >
                {icon(Icon::File)}
                {move || i18n.t(K::AppDocsShow)}
            </button>
            {move || match docs.get().flatten() {
                None => None,
                Some(Err(err)) => Some(view! { <ErrorBox err=err /> }.into_any()),
                Some(Ok(list)) if list.is_empty() => Some(
                    view! { <p class="muted app-docs">{move || i18n.t(K::AppDocsNone)}</p> }
                        .into_any(),
                ),
                Some(Ok(list)) => Some(
                    view! {
                        <ul class="app-docs">
                            {list
                                .into_iter()
                                .map(|d| {
                                    let kind = d.kind;
                                    view! {
                                        <li class="app-doc" data-id=d.id.clone() data-kind=kind.code()>
                                            {move || i18n.t(kind_key(kind))} ": " {d.title.clone()}
                                            " · " {d.number.clone()}
                                        </li>
                                    }
                                })
                                .collect_view()}
                        </ul>
                    }
                        .into_any(),
                ),
            }}
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cds_view::{ApplicationStatus, ErrorKind};

    fn app() -> ApplicationView {
        ApplicationView {
            idempotency_key: "k1".into(),
            service_code: "1.001612".into(),
            service_name_vi: "Đăng ký thường trú".into(),
            service_name_en: "Registration of permanent residence".into(),
            delivery: DeliveryState::Queued,
            case_number: None,
            status: None,
            submitted_at: "2026-03-01T08:00:00+07:00".into(),
            due_date: None,
            last_error: Some(IpcError::new(ErrorKind::BackendUnreachable, "offline")),
        }
    }

    #[test]
    fn card_key_changes_when_the_card_would() {
        let queued = app();
        let mut delivered = app();
        delivered.delivery = DeliveryState::Delivered;
        delivered.status = Some(ApplicationStatus::Received);
        delivered.case_number = Some("HS-2026-000001".into());
        delivered.last_error = None;
        assert_ne!(card_key(&queued), card_key(&delivered));
        let mut reviewed = delivered.clone();
        reviewed.status = Some(ApplicationStatus::InReview);
        assert_ne!(card_key(&delivered), card_key(&reviewed));
        assert_eq!(card_key(&queued), card_key(&app()));
    }
}
