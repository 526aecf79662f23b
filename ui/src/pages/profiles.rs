//! Family members: one vault, each person with their own documents.

use crate::app::use_app;
use crate::components::feedback::{ErrorBox, Loading};
use crate::components::icons::{icon, Icon};
use crate::format::{iso_to_display, parse_dob, today};
use crate::i18n::{error_text, relation_key, use_i18n, K};
use crate::ipc::{self, cmd};
use crate::pages::more::BackToMore;
use cds_view::{IpcError, ProfileInput, ProfileView, Relation};
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// What the profile form is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Editing {
    Closed,
    New,
    Existing(ProfileView),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum ProfileError {
    Client(K),
    Server(IpcError),
}

#[component]
pub fn ProfilesPage() -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let version = RwSignal::new(0u32);
    let profiles = LocalResource::new(move || {
        version.track();
        ipc::call(cmd::list_profiles::Args {})
    });
    let editing = RwSignal::new(Editing::Closed);
    let list_error = RwSignal::new(None::<IpcError>);

    let list = move || {
        match profiles.get() {
        None => view! { <Loading /> }.into_any(),
        Some(Err(err)) => view! { <ErrorBox err=err /> }.into_any(),
        Some(Ok(list)) => view! {
            <div class="card-list profile-list">
                {list
                    .into_iter()
                    .map(|p| {
                        let relation = p.relation;
                        let is_self = relation == Relation::SelfPerson;
                        let confirm = RwSignal::new(false);
                        let for_edit = p.clone();
                        let id = p.id.clone();
                        let delete = move |_| {
                            let id = id.clone();
                            spawn_local(async move {
                                match ipc::call(cmd::delete_profile::Args { id: id.to_owned() }).await {
                                    Ok(()) => {
                                        list_error.set(None);
                                        if ctx.profile.get_untracked().as_deref() == Some(id.as_str()) {
                                            ctx.profile.set(None);
                                        }
                                        version.update(|v| *v += 1);
                                    }
                                    Err(e) => {
                                        confirm.set(false);
                                        list_error.set(Some(ctx.explain(e)));
                                    }
                                }
                            });
                        };
                        view! {
                            <article class="profile-card card" data-id=p.id.clone() data-relation=relation.code()>
                                <div class="card-head">
                                    <h2 class="profile-name">
                                        {
                                            let name = p.full_name.clone();
                                            move || {
                                                if name.is_empty() {
                                                    i18n.t(relation_key(relation)).to_owned()
                                                } else {
                                                    name.clone()
                                                }
                                            }
                                        }
                                    </h2>
                                    <span class="pill profile-relation">{move || i18n.t(relation_key(relation))}</span>
                                </div>
                                {p.date_of_birth.as_deref().map(iso_to_display).map(|d| view! {
                                    <p class="muted profile-dob">{move || i18n.t(K::FieldDob)} ": " {d}</p>
                                })}
                                <div class="form-actions">
                                    <button
                                        type="button"
                                        class="btn btn-secondary btn-small profile-edit"
                                        on:click=move |_| editing.set(Editing::Existing(for_edit.clone()))
                                    >
                                        {move || i18n.t(K::Edit)}
                                    </button>
                                    {(!is_self).then(|| view! {
                                        <button
                                            type="button"
                                            class="btn btn-secondary btn-small profile-delete"
                                            on:click=move |_| confirm.set(true)
                                        >
                                            {move || i18n.t(K::Delete)}
                                        </button>
                                    })}
                                </div>
                                <Show when=move || confirm.get()>
                                    <div class="note note-warning profile-delete-box">
                                        <p>{move || i18n.t(K::ProfileDeleteConfirm)}</p>
                                        <button type="button" class="btn btn-primary btn-small profile-delete-confirm" on:click=delete.clone()>
                                            {move || i18n.t(K::DeleteYes)}
                                        </button>
                                        <button type="button" class="btn btn-secondary btn-small" on:click=move |_| confirm.set(false)>
                                            {move || i18n.t(K::Cancel)}
                                        </button>
                                    </div>
                                </Show>
                            </article>
                        }
                    })
                    .collect_view()}
            </div>
        }
        .into_any(),
    }
    };

    view! {
        <section id="page-profiles" class="page">
            <BackToMore />
            <div class="page-head">
                <h1 class="page-title">{move || i18n.t(K::ProfilesTitle)}</h1>
                <p class="lead">{move || i18n.t(K::ProfilesIntro)}</p>
            </div>
            {move || list_error.get().map(|e| view! { <ErrorBox err=e /> })}
            {move || match editing.get() {
                Editing::Closed => view! {
                    <button
                        id="add-profile"
                        type="button"
                        class="btn btn-primary btn-block"
                        on:click=move |_| editing.set(Editing::New)
                    >
                        {icon(Icon::Plus)}
                        {move || i18n.t(K::AddProfile)}
                    </button>
                }
                .into_any(),
                e => view! { <ProfileForm editing=e close=editing version=version /> }.into_any(),
            }}
            {list}
        </section>
    }
}

#[component]
fn ProfileForm(
    editing: Editing,
    close: RwSignal<Editing>,
    version: RwSignal<u32>,
) -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let existing = match &editing {
        Editing::Existing(p) => Some(p.clone()),
        _ => None,
    };
    let id = existing.as_ref().map(|p| p.id.clone());
    let name = RwSignal::new(
        existing
            .as_ref()
            .map(|p| p.full_name.clone())
            .unwrap_or_default(),
    );
    let relation = RwSignal::new(
        existing
            .as_ref()
            .map(|p| p.relation)
            .unwrap_or(Relation::Child),
    );
    let dob = RwSignal::new(
        existing
            .as_ref()
            .and_then(|p| p.date_of_birth.as_deref().map(iso_to_display))
            .unwrap_or_default(),
    );
    let error = RwSignal::new(None::<ProfileError>);
    let saving = RwSignal::new(false);
    let is_self = existing
        .as_ref()
        .is_some_and(|p| p.relation == Relation::SelfPerson);

    let save = move |ev: SubmitEvent| {
        ev.prevent_default();
        if saving.get_untracked() {
            return;
        }
        let full_name = name
            .get_untracked()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if full_name.is_empty() {
            error.set(Some(ProfileError::Client(K::ErrNameRequired)));
            return;
        }
        let typed = dob.get_untracked();
        let date_of_birth = if typed.trim().is_empty() {
            None
        } else {
            match parse_dob(&typed, today()) {
                Ok(d) => Some(d),
                Err(_) => {
                    error.set(Some(ProfileError::Client(K::ErrDobFormat)));
                    return;
                }
            }
        };
        let input = ProfileInput {
            full_name,
            relation: relation.get_untracked(),
            date_of_birth,
        };
        let id = id.clone();
        saving.set(true);
        spawn_local(async move {
            let r = match &id {
                Some(id) => {
                    ipc::call(cmd::update_profile::Args {
                        id: id.to_owned(),
                        input: input.clone(),
                    })
                    .await
                }
                None => {
                    ipc::call(cmd::add_profile::Args {
                        input: input.clone(),
                    })
                    .await
                }
            };
            saving.set(false);
            match r {
                Ok(_) => {
                    close.set(Editing::Closed);
                    version.update(|v| *v += 1);
                }
                Err(e) => error.set(Some(ProfileError::Server(ctx.explain(e)))),
            }
        });
    };

    let relations = Relation::ALL
        .into_iter()
        .filter(|r| is_self == (*r == Relation::SelfPerson))
        .map(|r| {
            view! {
                <option value=r.code() selected=relation.get_untracked() == r>
                    {move || i18n.t(relation_key(r))}
                </option>
            }
        })
        .collect_view();

    view! {
        <form id="profile-form" class="card form" novalidate on:submit=save>
            <div class="field">
                <label for="profile-name">{move || i18n.t(K::ProfileName)}</label>
                <input
                    id="profile-name"
                    type="text"
                    autocomplete="off"
                    prop:value=name.get_untracked()
                    on:input=move |ev| name.set(event_target_value(&ev))
                />
            </div>
            <div class="field">
                <label for="profile-relation">{move || i18n.t(K::ProfileRelation)}</label>
                <select
                    id="profile-relation"
                    disabled=is_self
                    on:change=move |ev| {
                        if let Some(r) = Relation::from_code(&event_target_value(&ev)) {
                            relation.set(r);
                        }
                    }
                >
                    {relations}
                </select>
            </div>
            <div class="field">
                <label for="profile-dob">{move || i18n.t(K::ProfileDob)}</label>
                <input
                    id="profile-dob"
                    type="text"
                    inputmode="numeric"
                    placeholder="dd/mm/yyyy"
                    prop:value=dob.get_untracked()
                    on:input=move |ev| dob.set(event_target_value(&ev))
                />
            </div>
            {move || error.get().map(|e| {
                let (code, text) = match &e {
                    ProfileError::Client(k) => ("client", i18n.t(*k).to_owned()),
                    ProfileError::Server(err) => (err.kind.code(), error_text(i18n.lang(), err)),
                };
                view! { <p id="profile-error" class="form-error" role="alert" data-kind=code>{icon(Icon::Alert)}<span>{text}</span></p> }
            })}
            <div class="form-actions">
                <button id="profile-save" type="submit" class="btn btn-primary" disabled=move || saving.get()>
                    {move || i18n.t(K::ProfileSave)}
                </button>
                <button id="profile-cancel" type="button" class="btn btn-secondary" on:click=move |_| close.set(Editing::Closed)>
                    {move || i18n.t(K::Cancel)}
                </button>
            </div>
        </form>
    }
}
