//! Công dân số: the user interface, a Leptos client-side app compiled to
//! wasm and shown in the Tauri window (see `static/index.html`).
//!
//! Layout: `app` (root component, shared context, page switching), `ipc`
//! (typed Tauri commands), `i18n` (Vietnamese/English texts), `format`
//! (dates, money), `components` (shell, icons, messages), `pages` (one per
//! screen).

mod app;
mod components;
mod format;
mod i18n;
mod ipc;
mod pages;
mod schema;

/// Logs panics to the console and tells the citizen, instead of leaving a
/// silently frozen window (what `console_error_panic_hook` would do, without
/// the extra dependency).
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("cds-ui panicked: {info}").into());
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        if doc.get_element_by_id("fatal-error").is_some() {
            return;
        }
        if let (Ok(el), Some(body)) = (doc.create_element("div"), doc.body()) {
            el.set_id("fatal-error");
            let _ = el.set_attribute("role", "alert");
            el.set_text_content(Some(
                "Đã xảy ra lỗi. Hãy đóng và mở lại ứng dụng; giấy tờ của bạn vẫn an toàn. \
                 / Something went wrong. Please close and reopen the app; your documents are safe.",
            ));
            let _ = body.prepend_with_node_1(&el);
        }
    }));
}

fn main() {
    install_panic_hook();
    // index.html shows a "starting…" placeholder until the wasm is running.
    if let Some(el) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("boot"))
    {
        el.remove();
    }
    leptos::mount::mount_to_body(app::App);
}
