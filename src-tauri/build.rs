// Keep in sync with `generate_handler!` in src/lib.rs and with
// capabilities/main.json; `commands::tests::capability_grants_every_command`
// checks all three agree.
include!("src/command_names.rs");

fn main() {
    // Declaring the app's commands makes Tauri enforce its ACL on them: a
    // window may call only what a capability grants it.
    let attrs = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(e) = tauri_build::try_build(attrs) {
        // A build script has no caller to return an error to.
        panic!(
            "tauri-build failed: {e:#}\n\
             hint: build the UI first (`cargo xtask build-ui`); \
             tauri.conf.json embeds ../ui/dist"
        );
    }
}
