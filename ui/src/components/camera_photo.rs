//! "Chụp ảnh bằng camera": a live preview and a button that takes a photo
//! of a paper, for the add-document form and a document's attachments.
//!
//! The button only appears where the shell reports a camera. The photo is
//! handed to `on_taken` as an attachment input and stored by the caller,
//! so the form can keep it until the citizen presses "save" (a photo they
//! discard never reaches the vault).

use crate::app::{poll_while_mounted, use_app};
use crate::components::feedback::ErrorBox;
use crate::components::icons::{icon, Icon};
use crate::format::photo_file_name;
use crate::i18n::{use_i18n, K};
use crate::ipc::{self, cmd};
use crate::pages::documents::focus_by_id;
use cds_view::{IpcError, NewAttachmentInput, PhotoView};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::time::Duration;

/// How often the preview is fetched: the shell refreshes it about every
/// 150 ms, which is smooth enough to aim at a paper.
const PREVIEW_POLL: Duration = Duration::from_millis(150);

#[component]
pub fn CameraPhoto(#[prop(into)] on_taken: Callback<NewAttachmentInput>) -> impl IntoView {
    let i18n = use_i18n();
    let ctx = use_app();
    let available = LocalResource::new(|| ipc::call(cmd::camera_available::Args {}));
    let open = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let live = RwSignal::new(None::<PhotoView>);
    let error = RwSignal::new(None::<IpcError>);

    poll_while_mounted(PREVIEW_POLL, move || {
        if !open.get_untracked() {
            return;
        }
        spawn_local(async move {
            match ipc::call(cmd::photo_status::Args {}).await {
                Ok(v) => {
                    if !v.running {
                        // The camera stopped by itself (unplugged, failed).
                        open.set(false);
                        if let Some(e) = v.error.clone() {
                            error.set(Some(ctx.explain(e)));
                        }
                    }
                    live.set(Some(v));
                }
                Err(e) => {
                    open.set(false);
                    error.set(Some(ctx.explain(e)));
                }
            }
        });
    });
    // Leaving the screen frees the camera.
    on_cleanup(move || {
        if open.get_untracked() {
            spawn_local(async move {
                let _ = ipc::call(cmd::camera_stop::Args {}).await;
            });
        }
    });

    let start = move |_| {
        error.set(None);
        live.set(None);
        busy.set(true);
        spawn_local(async move {
            let r = ipc::call(cmd::photo_start::Args {}).await;
            busy.set(false);
            match r {
                Ok(v) => {
                    live.set(Some(v));
                    open.set(true);
                    // The viewfinder opens below the button: bring its
                    // "take" button into view and give it the keyboard.
                    request_animation_frame(|| focus_by_id("photo-take"));
                }
                Err(e) => error.set(Some(ctx.explain(e))),
            }
        });
    };
    let cancel = move |_| {
        open.set(false);
        live.set(None);
        spawn_local(async move {
            let _ = ipc::call(cmd::camera_stop::Args {}).await;
        });
    };
    let take = move |_| {
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            let r = ipc::call(cmd::photo_take::Args {}).await;
            busy.set(false);
            match r {
                Ok(p) => {
                    open.set(false);
                    live.set(None);
                    on_taken.run(NewAttachmentInput {
                        file_name: photo_file_name(i18n.t(K::PhotoTaken)),
                        mime: p.mime,
                        data_base64: p.data_base64,
                    });
                }
                // "Not ready" keeps the preview: press again.
                Err(e) => error.set(Some(ctx.explain(e))),
            }
        });
    };

    let has_camera = move || matches!(available.get(), Some(Ok(ref a)) if a.available);
    // What the check found, for tests and styling: the button itself only
    // exists where there is a camera.
    let state = move || match available.get() {
        None => "checking",
        Some(Ok(ref a)) if a.available => "ready",
        Some(_) => "none",
    };
    view! {
        <div class="camera-photo" data-camera=state>
            <Show when=has_camera>
                <Show
                    when=move || open.get()
                    fallback=move || {
                        view! {
                            <button
                                id="photo-camera"
                                type="button"
                                class="btn btn-secondary"
                                disabled=move || busy.get()
                                on:click=start
                            >
                                {icon(Icon::Scan)}
                                {move || i18n.t(if busy.get() { K::PhotoOpening } else { K::PhotoCamera })}
                            </button>
                        }
                    }
                >
                    <div class="camera-view" id="photo-view">
                        <p class="hint" role="status">
                            {move || i18n.t(K::PhotoAim)}
                            {move || {
                                live.get()
                                    .filter(|v| v.width > 0)
                                    .map(|v| format!(" ({}×{})", v.width, v.height))
                            }}
                        </p>
                        // The buttons come before the preview: the preview's height is
                        // only known when its first image arrives, and the
                        // "take" button must not jump away from the pointer.
                        <div class="camera-actions">
                            <button
                                id="photo-take"
                                type="button"
                                class="btn btn-primary"
                                disabled=move || busy.get()
                                on:click=take
                            >
                                {move || i18n.t(K::PhotoTake)}
                            </button>
                            <button
                                id="photo-cancel"
                                type="button"
                                class="btn btn-secondary"
                                on:click=cancel
                            >
                                {move || i18n.t(K::Cancel)}
                            </button>
                        </div>
                        {move || {
                            live.get()
                                .and_then(|v| v.preview_data_url)
                                .map(|src| view! { <img id="photo-preview" src=src alt="" /> })
                        }}
                    </div>
                </Show>
                {move || {
                    error.get().map(|e| view! { <div id="photo-error"><ErrorBox err=e /></div> })
                }}
            </Show>
        </div>
    }
}
