//! The command catalogue: every IPC command the UI may call, declared once
//! with its name, its arguments and its result.
//!
//! Everything else derives from this list or is checked against it:
//!
//! - the shell defines one handler per entry with the entry's `Args` and
//!   `Output` types, and builds its `generate_handler!` list with
//!   [`with_commands!`](crate::with_commands), so a command without a handler
//!   (or a handler without a command) does not compile;
//! - the shell's `build.rs` declares [`COMMANDS`] to Tauri's ACL, which
//!   generates one permission per command;
//! - a test in the shell checks that `capabilities/main.json` grants exactly
//!   these and that no generated permission of a removed command is left;
//! - the UI calls `ipc::call(&commands::name::Args { .. })`, which takes the
//!   name and the result type from the same entry.
//!
//! On the wire a command's arguments travel as one object under the key
//! `args` (`invoke("list_documents", {args: {profileId: null}})`): field
//! names are camelCase, unknown fields are refused.

use serde::de::DeserializeOwned;
use serde::Serialize;

/// One IPC command, implemented by its argument type.
pub trait Command: Serialize + DeserializeOwned {
    /// The command's name, as `invoke` and the ACL know it.
    const NAME: &'static str;
    /// What a successful call returns; a failure is always an
    /// [`IpcError`](crate::IpcError).
    type Output: Serialize + DeserializeOwned;
}

/// Defines one module per command (`Args` implementing [`Command`]),
/// [`COMMANDS`] and the `with_commands!` callback macro. `$d` is a literal
/// `$`, so the generated macro can have metavariables of its own.
macro_rules! catalogue {
    ($d:tt $( $(#[doc = $doc:literal])* $name:ident ( $( $arg:ident : $ty:ty ),* $(,)? ) -> $out:ty ; )*) => {
        $(
            $(#[doc = $doc])*
            pub mod $name {
                #[allow(unused_imports)]
                use crate::*;

                /// The command's arguments.
                #[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
                #[serde(rename_all = "camelCase", deny_unknown_fields)]
                pub struct Args {
                    $( pub $arg: $ty, )*
                }

                impl crate::commands::Command for Args {
                    const NAME: &'static str = stringify!($name);
                    type Output = $out;
                }
            }
        )*

        /// Every command's name, in catalogue order.
        pub const COMMANDS: &[&str] = &[ $( stringify!($name) ),* ];

        /// Calls the macro at the given path with every command's name:
        /// `cds_view::with_commands!(tauri::generate_handler)` expands to
        /// `tauri::generate_handler![app_status, create_vault_with_pin, ...]`.
        #[macro_export]
        macro_rules! with_commands {
            ($d($d m:tt)*) => { $d($d m)* ![ $( $name ),* ] };
        }
    };
}

catalogue! { $
    /// The vault's state, the device's settings and what the app can do.
    app_status() -> AppStatus;

    // ---- PIN and lock ----
    /// Creates the vault protected by a new PIN (no keyring on this device).
    create_vault_with_pin(pin: String) -> ();
    unlock_vault(pin: String) -> ();
    lock_vault() -> ();
    /// Sets a first PIN on a keyring-protected vault.
    set_pin(pin: String) -> ();
    change_pin(old_pin: String, new_pin: String) -> ();

    // ---- profiles ----
    list_profiles() -> Vec<ProfileView>;
    add_profile(input: ProfileInput) -> ProfileView;
    update_profile(id: String, input: ProfileInput) -> ProfileView;
    delete_profile(id: String) -> ();

    // ---- documents ----
    /// Documents of one profile (all when `None`).
    list_documents(profile_id: Option<String>) -> Vec<DocumentSummaryView>;
    /// Diacritics- and case-insensitive search, done by the vault.
    search_documents(profile_id: Option<String>, query: String) -> Vec<DocumentSummaryView>;
    get_document(id: String) -> DocumentView;
    add_document(input: NewDocumentInput) -> DocumentView;
    update_document(id: String, input: DocumentInput) -> DocumentView;
    delete_document(id: String) -> ();
    add_attachment(document_id: String, input: NewAttachmentInput) -> AttachmentView;
    delete_attachment(id: String) -> ();
    /// A `data:` URL of an attachment's JPEG thumbnail, for an `<img src>`.
    thumbnail_data_url(id: String) -> Option<String>;
    /// Reminders counted from `today` (`YYYY-MM-DD`, the device's local
    /// date; the shell only knows UTC reliably), or from UTC when `None`.
    expiry_reminders(today: Option<String>) -> Vec<ExpiryReminderView>;
    access_log() -> Vec<DisclosureView>;
    /// The documents a service asks for, by document kind key.
    application_documents(key: String) -> Vec<DocumentSummaryView>;

    // ---- backup ----
    /// Where a new backup goes unless the citizen chooses another path.
    default_backup_path() -> String;
    export_backup(input: BackupInput) -> BackupSummaryView;
    import_backup(input: BackupInput) -> BackupSummaryView;
    /// Polled by the backup screen's progress bar while a backup runs.
    backup_progress() -> BackupProgress;
    /// The desktop's file dialog for the backup file; `None`: cancelled.
    choose_backup_file(op: BackupOp, current: String) -> Option<String>;

    // ---- services and applications ----
    /// The catalogue; works offline from the cached copy.
    list_services() -> Vec<ServiceInfo>;
    submit_application(input: SubmitInput) -> ApplicationView;
    list_applications() -> Vec<ApplicationView>;
    sync_now() -> SyncReport;

    // ---- citizen QR, scanning, officer check ----
    my_qr() -> MyQrView;
    activate_qr(input: ActivateInput) -> MyQrView;
    refresh_qr() -> MyQrView;
    forget_qr() -> ();
    show_qr(disclosure: QrDisclosure) -> QrCodeView;
    scan_image(input: ScanImageInput) -> ScanResultView;
    trust_status() -> TrustStatusView;
    update_trust() -> TrustStatusView;

    // ---- camera ----
    camera_start() -> CameraView;
    camera_status() -> CameraView;
    camera_stop() -> ();
    camera_available() -> CameraAvailabilityView;
    photo_start() -> PhotoView;
    photo_status() -> PhotoView;
    photo_take() -> CapturedPhotoView;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case_identifiers() {
        let mut seen = std::collections::BTreeSet::new();
        for name in COMMANDS {
            assert!(seen.insert(*name), "{name} is declared twice");
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{name} is not snake_case"
            );
        }
        assert_eq!(COMMANDS.len(), 46);
        assert_eq!(<app_status::Args as Command>::NAME, "app_status");
        assert_eq!(
            <photo_take::Args as Command>::NAME,
            COMMANDS[COMMANDS.len() - 1]
        );
    }

    #[test]
    fn arguments_travel_in_camel_case_and_unknown_fields_are_refused() {
        let args = change_pin::Args {
            old_pin: "123456".into(),
            new_pin: "654321".into(),
        };
        let json = serde_json::to_value(&args).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"oldPin": "123456", "newPin": "654321"})
        );
        let back: change_pin::Args = serde_json::from_value(json).unwrap();
        assert_eq!(back, args);

        let none = list_documents::Args { profile_id: None };
        assert_eq!(
            serde_json::to_value(&none).unwrap(),
            serde_json::json!({"profileId": null})
        );
        // A field the catalogue does not know is a contract break, not
        // something to ignore.
        let err = serde_json::from_value::<delete_document::Args>(
            serde_json::json!({"id": "d1", "force": true}),
        )
        .unwrap_err();
        assert!(err.to_string().contains("force"), "{err}");
        // A command without arguments takes an empty object.
        let _: lock_vault::Args = serde_json::from_value(serde_json::json!({})).unwrap();
    }

    #[test]
    fn the_callback_macro_lists_every_command_in_order() {
        macro_rules! names {
            ($($n:ident),*) => { [$(stringify!($n)),*] };
        }
        let listed = with_commands!(names);
        assert_eq!(listed.as_slice(), COMMANDS);
    }
}
