fn main() {
    // Declaring the app's commands makes Tauri enforce its ACL on them: a
    // window may call only what a capability grants it. The list is the
    // catalogue's (`cds_view::commands`), the one place a command is declared.
    let attrs = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(cds_view::COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        // A build script has no caller to return an error to.
        panic!(
            "tauri-build failed: {e:#}\n\
             hint: build the UI first (`cargo xtask build-ui`); \
             tauri.conf.json embeds ../ui/dist"
        );
    }
}
