/// Every IPC command the UI may call. Shared by build.rs (the ACL manifest)
/// and the crate (a test checks the capability file grants exactly these).
pub const COMMANDS: &[&str] = &[
    "app_status",
    "list_documents",
    "add_document",
    "attachment_data_url",
    "list_services",
    "submit_application",
    "list_applications",
    "sync_now",
];
