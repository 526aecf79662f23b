//! "Ai đã dùng dữ liệu của tôi" / "Who has my data": every time something
//! left the vault, newest first.

use crate::components::feedback::{ErrorBox, Loading};
use crate::components::icons::{icon, Icon};
use crate::format::local_date_time;
use crate::i18n::{channel_key, use_i18n, K};
use crate::ipc::{self, cmd};
use crate::pages::more::BackToMore;
use cds_view::DisclosureChannel;
use leptos::prelude::*;

fn channel_code(c: DisclosureChannel) -> &'static str {
    match c {
        DisclosureChannel::Application => "application",
        DisclosureChannel::Qr => "qr",
        DisclosureChannel::Export => "export",
        DisclosureChannel::Backup => "backup",
    }
}

#[component]
pub fn AccessLogPage() -> impl IntoView {
    let i18n = use_i18n();
    let log = LocalResource::new(|| ipc::call(cmd::access_log::Args {}));
    let list = move || {
        match log.get() {
        None => view! { <Loading /> }.into_any(),
        Some(Err(err)) => view! {
            <ErrorBox err=err on_retry=Callback::new(move |_| log.refetch()) />
        }
        .into_any(),
        Some(Ok(entries)) if entries.is_empty() => view! {
            <p class="empty" id="access-empty">{move || i18n.t(K::AccessEmpty)}</p>
        }
        .into_any(),
        Some(Ok(entries)) => view! {
            <ol class="card-list access-list">
                {entries
                    .into_iter()
                    .map(|e| {
                        let channel = e.channel;
                        view! {
                            <li class="access-entry card" data-id=e.id.clone() data-channel=channel_code(channel)>
                                <div class="card-head">
                                    <h2 class="access-channel">
                                        {icon(Icon::Shield)}
                                        {move || i18n.t(channel_key(channel))}
                                    </h2>
                                    <span class="access-when muted">{local_date_time(&e.at)}</span>
                                </div>
                                <dl class="facts">
                                    <div>
                                        <dt>{move || i18n.t(K::AccessWhat)}</dt>
                                        <dd class="access-summary">{e.summary.clone()}</dd>
                                    </div>
                                    <div>
                                        <dt>{move || i18n.t(K::AccessRecipient)}</dt>
                                        <dd class="access-recipient">{e.recipient.clone()}</dd>
                                    </div>
                                    <div>
                                        <dt>{move || i18n.t(K::AccessPurpose)}</dt>
                                        <dd class="access-purpose">{e.purpose.clone()}</dd>
                                    </div>
                                    <div>
                                        <dt>{move || i18n.t(K::AccessBasis)}</dt>
                                        <dd class="access-basis">{e.legal_basis.clone()}</dd>
                                    </div>
                                </dl>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
        }
        .into_any(),
    }
    };
    view! {
        <section id="page-access-log" class="page">
            <BackToMore />
            <div class="page-head">
                <h1 class="page-title">{move || i18n.t(K::AccessTitle)}</h1>
                <p class="lead">{move || i18n.t(K::AccessIntro)}</p>
            </div>
            {list}
        </section>
    }
}
