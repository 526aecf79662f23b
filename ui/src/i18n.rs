//! Translations: Vietnamese first (the default), English on request.
//!
//! Every visible string of the UI is a [`K`] key with its Vietnamese and
//! English text side by side, so a missing translation is a compile error
//! rather than a blank button. Strings with numbers in them are small
//! functions at the bottom of this file.
//!
//! The chosen language lives in a context signal ([`I18n`]); it is persisted
//! in `localStorage` and mirrored to `<html lang>` so screen readers and
//! hyphenation use the right language.

use cds_view::{ApplicationStatus, DeliveryState, DocumentKind, ErrorKind, IpcError};
use leptos::prelude::*;

/// `localStorage` key of the chosen language.
const STORAGE_KEY: &str = "cds.lang";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Vi,
    En,
}

impl Lang {
    /// BCP 47 code, for `<html lang>` and storage.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Vi => "vi",
            Lang::En => "en",
        }
    }

    /// Anything but an explicit "en" is Vietnamese: it is the default.
    pub fn from_code(code: &str) -> Lang {
        if code == "en" {
            Lang::En
        } else {
            Lang::Vi
        }
    }

    pub fn other(self) -> Lang {
        match self {
            Lang::Vi => Lang::En,
            Lang::En => Lang::Vi,
        }
    }
}

/// Declares [`K`] and its texts: `Key => "Tiếng Việt", "English";`.
macro_rules! texts {
    ($($key:ident => $vi:literal, $en:literal;)*) => {
        /// A translatable string.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum K { $($key,)* }

        impl K {
            #[cfg(test)]
            pub const ALL: &'static [K] = &[$(K::$key,)*];

            pub fn text(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $(
                        (K::$key, Lang::Vi) => $vi,
                        (K::$key, Lang::En) => $en,
                    )*
                }
            }
        }
    };
}

texts! {
    // ---- Shell: header and navigation ----
    AppTagline => "Dịch vụ công trực tuyến", "Online public services";
    // The toggle shows the language it switches *to*, in that language.
    LangToggle => "English", "Tiếng Việt";
    LangToggleTitle => "Chuyển giao diện sang tiếng Anh", "Switch the interface to Vietnamese";
    SkipToContent => "Bỏ qua, đến nội dung chính", "Skip to the main content";
    NavLabel => "Điều hướng chính", "Main navigation";
    NavHome => "Trang chủ", "Home";
    NavDocuments => "Giấy tờ", "Documents";
    NavServices => "Dịch vụ công", "Services";
    NavApplications => "Hồ sơ của tôi", "My applications";
    Loading => "Đang tải…", "Loading…";
    Retry => "Thử lại", "Try again";
    TechDetails => "Chi tiết kỹ thuật (dành cho người hỗ trợ)", "Technical details (for support staff)";

    // ---- Home ----
    Hello => "Xin chào", "Hello";
    HomeIntro => "Giấy tờ của bạn được mã hóa và lưu ngay trên thiết bị này. Bạn có thể nộp hồ sơ cả khi không có mạng: ứng dụng sẽ tự gửi khi có kết nối.",
        "Your papers are encrypted and kept on this device. You can apply even without a connection: the app sends your applications when you are back online.";
    StatDocuments => "Giấy tờ trong kho", "Documents in your vault";
    StatPending => "Hồ sơ đang chờ gửi", "Applications waiting to send";
    ShortcutsTitle => "Bạn muốn làm gì?", "What would you like to do?";
    ShortcutDocuments => "Kho giấy tờ", "My documents";
    ShortcutDocumentsDesc => "Xem và thêm CCCD, hộ chiếu, giấy phép lái xe…", "View and add your ID card, passport, driving licence…";
    ShortcutServices => "Nộp hồ sơ dịch vụ công", "Apply for a public service";
    ShortcutServicesDesc => "Thông tin được điền sẵn từ kho giấy tờ", "Forms are filled in from your vault";
    ShortcutApplications => "Theo dõi hồ sơ", "Track my applications";
    ShortcutApplicationsDesc => "Xem hồ sơ đã gửi và kết quả giải quyết", "See what you sent and what the city decided";
    VaultLockedNote => "Kho giấy tờ đang bị khóa nên tạm thời chưa thể xem giấy tờ hay nộp hồ sơ.",
        "Your vault is locked, so documents and new applications are unavailable for now.";
    BannerVaultTitle => "Chưa mở được kho giấy tờ", "Your document vault could not be opened";
    BannerSyncTitle => "Chưa gửi được hồ sơ", "Applications could not be sent";

    // ---- Errors (one per ErrorKind) ----
    ErrBackendUnreachable => "Không kết nối được máy chủ của thành phố. Hồ sơ được lưu trên máy và sẽ tự gửi khi có mạng.",
        "Cannot reach the city server. Your application is saved on this device and will be sent when you are back online.";
    ErrTlsUntrusted => "Chứng chỉ bảo mật của máy chủ thành phố không đáng tin cậy nên ứng dụng đã dừng kết nối. Chưa có dữ liệu nào được gửi đi.",
        "The city server's security certificate is not trusted, so the app stopped the connection. Nothing was sent.";
    ErrBackendRejected => "Máy chủ của thành phố báo lỗi khi xử lý yêu cầu. Vui lòng thử lại sau.",
        "The city server reported an error with this request. Please try again later.";
    ErrKeyringUnavailable => "Không mở được kho khóa (keyring) của hệ thống. Kho giấy tờ đang bị khóa và chưa có gì bị thay đổi.",
        "The system keyring could not be opened. Your vault is locked and nothing was changed.";
    ErrVaultKeyMissing => "Không tìm thấy khóa của kho giấy tờ trong keyring của hệ thống. Kho giấy tờ không bị thay đổi.",
        "The key of your document vault is missing from the system keyring. Your vault has not been changed.";
    ErrVaultCorrupt => "Tệp kho giấy tờ bị hỏng. Ứng dụng không thay đổi và không xóa tệp này.",
        "The vault file is damaged. It has not been changed or deleted.";
    ErrVaultUnavailable => "Kho giấy tờ chưa được mở.", "Your document vault is not open.";
    ErrInvalidInput => "Thông tin chưa hợp lệ", "Some information is not valid";
    ErrNotFound => "Không tìm thấy mục được yêu cầu.", "The requested item was not found.";
    ErrStorage => "Không lưu được dữ liệu trên thiết bị (có thể bộ nhớ đã đầy).", "Could not save data on this device (storage may be full).";
    ErrInternal => "Đã xảy ra lỗi không mong muốn. Vui lòng thử lại.", "Something unexpected went wrong. Please try again.";
    // What to do, for the errors where the citizen can act.
    HintTlsUntrusted => "Hãy kiểm tra ngày giờ của thiết bị và tránh dùng Wi-Fi công cộng không rõ nguồn gốc.",
        "Check the date and time of this device and avoid unknown public Wi-Fi.";
    HintKeyringUnavailable => "Hãy đăng nhập lại vào máy (hoặc mở khóa keyring) rồi mở lại ứng dụng.",
        "Sign in to your computer again (or unlock the keyring), then reopen the app.";
    HintVaultKeyMissing => "Nếu bạn vừa đổi máy hoặc tài khoản, hãy khôi phục keyring cũ. Cần giúp đỡ, hãy liên hệ tổ công nghệ số cộng đồng.",
        "If you moved to a new device or account, restore your old keyring. For help, contact your community digital-technology team.";
    HintVaultCorrupt => "Đừng xóa tệp. Hãy liên hệ tổ công nghệ số cộng đồng hoặc bộ phận hỗ trợ để được khôi phục.",
        "Do not delete the file. Contact your community digital-technology team or support to recover it.";
    HintVaultUnavailable => "Hãy đóng và mở lại ứng dụng. Nếu vẫn lỗi, hãy liên hệ bộ phận hỗ trợ.",
        "Close and reopen the app. If it still fails, contact support.";

    // ---- Document kinds ----
    KindCccd => "Căn cước công dân (CCCD)", "Citizen ID card (CCCD)";
    KindPassport => "Hộ chiếu", "Passport";
    KindDrivingLicence => "Giấy phép lái xe", "Driving licence";
    KindBirthCertificate => "Giấy khai sinh", "Birth certificate";
    KindHealthInsurance => "Thẻ bảo hiểm y tế", "Health insurance card";
    KindOther => "Giấy tờ khác", "Other document";

    // ---- Application status and delivery ----
    StatusReceived => "Đã tiếp nhận", "Received";
    StatusInReview => "Đang xử lý", "In review";
    StatusNeedsMoreInfo => "Cần bổ sung", "More information needed";
    StatusApproved => "Đã giải quyết", "Approved";
    StatusRejected => "Từ chối", "Rejected";
    DeliveryQueued => "Đang chờ gửi", "Waiting to send";
    DeliveryDelivered => "Đã gửi", "Sent";

    // ---- Documents page ----
    DocsTitle => "Kho giấy tờ", "My documents";
    DocsIntro => "Giấy tờ được mã hóa và chỉ lưu trên thiết bị này. Khi nộp hồ sơ, bạn chỉ cần chọn, không phải khai lại.",
        "Your documents are encrypted and stored only on this device. When you apply, you just pick them: no typing them again.";
    AddDocument => "Thêm giấy tờ", "Add a document";
    DocsEmpty => "Chưa có giấy tờ nào. Hãy thêm Căn cước công dân (CCCD) để bắt đầu.",
        "No documents yet. Add your citizen ID card (CCCD) to get started.";
    DocSaved => "Đã lưu giấy tờ vào kho.", "The document was saved to your vault.";
    FormAddTitle => "Thêm giấy tờ mới", "Add a new document";
    FormRequiredNote => "Các ô có dấu * là bắt buộc.", "Fields marked * are required.";
    FieldKind => "Loại giấy tờ", "Document type";
    FieldNumber => "Số giấy tờ", "Document number";
    FieldName => "Họ và tên", "Full name";
    FieldDob => "Ngày sinh", "Date of birth";
    FieldPhoto => "Ảnh chụp hoặc bản scan (không bắt buộc)", "Photo or scan (optional)";
    HintNumberCccd => "12 chữ số in trên thẻ CCCD.", "The 12 digits printed on the CCCD card.";
    HintNumberOther => "Ghi đúng như trên giấy tờ.", "Exactly as printed on the document.";
    HintName => "Ghi đầy đủ, có dấu, ví dụ: Nguyễn Văn An.", "In full, with diacritics, e.g. Nguyễn Văn An.";
    HintDob => "Ngày/tháng/năm, ví dụ: 05/09/1990 (hoặc 05091990).", "Day/month/year, e.g. 05/09/1990 (or 05091990).";
    HintPhoto => "Ảnh hoặc PDF, tối đa 20 MB.", "An image or a PDF, up to 20 MB.";
    FileChosen => "Đã chọn", "Selected";
    RemoveFile => "Bỏ tệp này", "Remove this file";
    Save => "Lưu giấy tờ", "Save document";
    Saving => "Đang lưu…", "Saving…";
    Cancel => "Hủy", "Cancel";
    LabelNumber => "Số", "No.";
    PhotoAlt => "Ảnh giấy tờ", "Photo of the document";
    PdfAttached => "Có tệp PDF đính kèm", "PDF attached";
    ErrNumberRequired => "Vui lòng nhập số giấy tờ.", "Please enter the document number.";
    ErrCccdDigits => "Số CCCD phải gồm đúng 12 chữ số.", "The CCCD number must be exactly 12 digits.";
    ErrNameRequired => "Vui lòng nhập họ và tên.", "Please enter the full name.";
    ErrDobRequired => "Vui lòng nhập ngày sinh.", "Please enter the date of birth.";
    ErrDobFormat => "Ngày sinh phải viết theo dạng ngày/tháng/năm, ví dụ 05/09/1990.",
        "Write the date of birth as day/month/year, e.g. 05/09/1990.";
    ErrDobImpossible => "Ngày sinh không có thật trên lịch (ví dụ: không có ngày 31/02). Vui lòng kiểm tra lại.",
        "This date does not exist on the calendar (for example, there is no 31/02). Please check it.";
    ErrDobFuture => "Ngày sinh không thể ở trong tương lai.", "The date of birth cannot be in the future.";
    ErrFileRead => "Không đọc được tệp đã chọn. Hãy chọn lại.", "The selected file could not be read. Please pick it again.";
    ErrFileTooBig => "Tệp lớn hơn 20 MB. Hãy chọn ảnh nhỏ hơn.", "The file is larger than 20 MB. Please pick a smaller one.";

    // ---- Services page ----
    ServicesTitle => "Dịch vụ công trực tuyến", "Online public services";
    ServicesIntro => "Chọn dịch vụ để nộp hồ sơ. Giấy tờ cần thiết được lấy sẵn từ kho của bạn.",
        "Choose a service to apply. The documents it needs are taken from your vault.";
    SearchServices => "Tìm dịch vụ", "Search services";
    SearchPlaceholder => "Ví dụ: khai sinh, thường trú…", "For example: birth, residence…";
    ServicesEmpty => "Chưa có dịch vụ nào trong danh mục.", "The catalogue is empty.";
    ServicesNoMatch => "Không tìm thấy dịch vụ phù hợp.", "No service matches your search.";
    ServiceCode => "Mã thủ tục", "Procedure code";
    Agency => "Cơ quan thực hiện", "Agency";
    Fee => "Lệ phí", "Fee";
    Free => "Miễn phí", "Free";
    ProcessingTime => "Thời gian giải quyết", "Processing time";
    RequiredDocs => "Giấy tờ cần có", "Required documents";
    FullyOnline => "Toàn trình trực tuyến", "Fully online";
    Apply => "Nộp hồ sơ", "Apply";
    VaultLockedApply => "Kho giấy tờ đang khóa nên tạm thời chưa thể nộp hồ sơ.", "Your vault is locked, so you cannot apply right now.";
    BackToServices => "Quay lại danh sách dịch vụ", "Back to the services";
    ApplyFormTitle => "Nộp hồ sơ trực tuyến", "Online application";
    ApplyDocsLegend => "Giấy tờ gửi kèm (lấy từ kho giấy tờ)", "Documents to send (from your vault)";
    ApplyPrefilled => "Các giấy tờ dịch vụ yêu cầu đã được chọn sẵn. Bạn không cần khai lại.",
        "The documents this service needs are already selected. You do not need to enter them again.";
    ApplyApplicant => "Người nộp hồ sơ", "Applicant";
    ApplyRequiredBadge => "Bắt buộc", "Required";
    ApplyNoDocs => "Kho giấy tờ của bạn chưa có giấy tờ nào.", "Your vault has no documents yet.";
    ApplyMissing => "Kho giấy tờ của bạn còn thiếu:", "Your vault is missing:";
    ApplyMissingHint => "Hãy thêm các giấy tờ này vào kho trước khi nộp hồ sơ.", "Add these documents to your vault before you apply.";
    ApplyNeedRequired => "Hãy chọn đủ các giấy tờ bắt buộc trước khi gửi:", "Select every required document before you submit:";
    ApplySubmit => "Gửi hồ sơ", "Submit application";
    ApplySubmitting => "Đang gửi…", "Submitting…";
    ApplyResultTitle => "Đã nộp hồ sơ", "Application submitted";
    ApplyResultQueued => "Hồ sơ đã được lưu trên thiết bị và đang chờ gửi tới thành phố. Ứng dụng sẽ tự gửi khi có mạng, bạn không cần nộp lại.",
        "Your application is saved on this device and waiting to be sent to the city. The app sends it automatically when online; do not submit it again.";
    ApplyResultDelivered => "Hồ sơ đã được gửi tới thành phố.", "Your application has been sent to the city.";
    GoToApplications => "Xem hồ sơ của tôi", "View my applications";

    // ---- Applications page ----
    AppsTitle => "Hồ sơ của tôi", "My applications";
    AppsIntro => "Hồ sơ đang chờ gửi sẽ tự động được gửi khi có mạng. Trang này tự cập nhật.",
        "Applications waiting to send go out automatically when you are online. This page updates itself.";
    SyncNow => "Gửi và cập nhật ngay", "Send and update now";
    Syncing => "Đang gửi và cập nhật…", "Sending and updating…";
    SyncNothing => "Không có hồ sơ nào chờ gửi. Mọi thứ đã được cập nhật.", "Nothing is waiting to send. Everything is up to date.";
    AppsEmpty => "Bạn chưa nộp hồ sơ nào.", "You have not submitted any applications yet.";
    BrowseServices => "Xem các dịch vụ công", "Browse public services";
    SubmittedOn => "Ngày nộp", "Submitted";
    CaseNumber => "Mã hồ sơ", "Case number";
    DueDate => "Hẹn trả kết quả", "Result due";
    Status => "Trạng thái", "Status";
    LastAttemptFailed => "Lần gửi gần nhất chưa thành công:", "The last attempt to send failed:";
}

/// The key of the translated text for an error kind.
pub fn error_key(kind: ErrorKind) -> K {
    match kind {
        ErrorKind::BackendUnreachable => K::ErrBackendUnreachable,
        ErrorKind::TlsUntrusted => K::ErrTlsUntrusted,
        ErrorKind::BackendRejected => K::ErrBackendRejected,
        ErrorKind::KeyringUnavailable => K::ErrKeyringUnavailable,
        ErrorKind::VaultKeyMissing => K::ErrVaultKeyMissing,
        ErrorKind::VaultCorrupt => K::ErrVaultCorrupt,
        ErrorKind::VaultUnavailable => K::ErrVaultUnavailable,
        ErrorKind::InvalidInput => K::ErrInvalidInput,
        ErrorKind::NotFound => K::ErrNotFound,
        ErrorKind::Storage => K::ErrStorage,
        ErrorKind::Internal => K::ErrInternal,
    }
}

/// What the citizen can do about an error, when there is something.
pub fn error_hint(kind: ErrorKind) -> Option<K> {
    match kind {
        ErrorKind::TlsUntrusted => Some(K::HintTlsUntrusted),
        ErrorKind::KeyringUnavailable => Some(K::HintKeyringUnavailable),
        ErrorKind::VaultKeyMissing => Some(K::HintVaultKeyMissing),
        ErrorKind::VaultCorrupt => Some(K::HintVaultCorrupt),
        ErrorKind::VaultUnavailable => Some(K::HintVaultUnavailable),
        _ => None,
    }
}

/// Stable snake_case code of an error kind (same as its serde name), for
/// `data-kind` attributes that tests and styles hook onto.
pub fn error_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::BackendUnreachable => "backend_unreachable",
        ErrorKind::TlsUntrusted => "tls_untrusted",
        ErrorKind::BackendRejected => "backend_rejected",
        ErrorKind::KeyringUnavailable => "keyring_unavailable",
        ErrorKind::VaultKeyMissing => "vault_key_missing",
        ErrorKind::VaultCorrupt => "vault_corrupt",
        ErrorKind::VaultUnavailable => "vault_unavailable",
        ErrorKind::InvalidInput => "invalid_input",
        ErrorKind::NotFound => "not_found",
        ErrorKind::Storage => "storage",
        ErrorKind::Internal => "internal",
    }
}

/// The full translated text of an error. Only `InvalidInput` carries the
/// (English, technical) detail: it says *what* was refused, which the
/// citizen needs in order to fix it. Other details stay in the
/// "technical details" disclosure.
pub fn error_text(lang: Lang, err: &IpcError) -> String {
    let base = error_key(err.kind).text(lang);
    if err.kind == ErrorKind::InvalidInput && !err.message.trim().is_empty() {
        format!("{base}: {}", err.message.trim())
    } else {
        base.to_owned()
    }
}

pub fn kind_key(kind: DocumentKind) -> K {
    match kind {
        DocumentKind::Cccd => K::KindCccd,
        DocumentKind::Passport => K::KindPassport,
        DocumentKind::DrivingLicence => K::KindDrivingLicence,
        DocumentKind::BirthCertificate => K::KindBirthCertificate,
        DocumentKind::HealthInsurance => K::KindHealthInsurance,
        DocumentKind::Other => K::KindOther,
    }
}

pub fn status_key(status: ApplicationStatus) -> K {
    match status {
        ApplicationStatus::Received => K::StatusReceived,
        ApplicationStatus::InReview => K::StatusInReview,
        ApplicationStatus::NeedsMoreInfo => K::StatusNeedsMoreInfo,
        ApplicationStatus::Approved => K::StatusApproved,
        ApplicationStatus::Rejected => K::StatusRejected,
    }
}

pub fn delivery_key(state: DeliveryState) -> K {
    match state {
        DeliveryState::Queued => K::DeliveryQueued,
        DeliveryState::Delivered => K::DeliveryDelivered,
    }
}

pub fn delivery_code(state: DeliveryState) -> &'static str {
    match state {
        DeliveryState::Queued => "queued",
        DeliveryState::Delivered => "delivered",
    }
}

/// "7 ngày làm việc" / "7 working days".
pub fn working_days(lang: Lang, n: u32) -> String {
    match (lang, n) {
        (Lang::Vi, n) => format!("{n} ngày làm việc"),
        (Lang::En, 1) => "1 working day".to_owned(),
        (Lang::En, n) => format!("{n} working days"),
    }
}

/// Outcome line of "sync now" when it did not fail.
pub fn sync_summary(lang: Lang, delivered: u32, still_pending: u32) -> String {
    if delivered == 0 && still_pending == 0 {
        return K::SyncNothing.text(lang).to_owned();
    }
    let sent = match (lang, delivered) {
        (Lang::Vi, n) => format!("Đã gửi {n} hồ sơ."),
        (Lang::En, 1) => "Sent 1 application.".to_owned(),
        (Lang::En, n) => format!("Sent {n} applications."),
    };
    if still_pending == 0 {
        sent
    } else {
        let pending = match (lang, still_pending) {
            (Lang::Vi, n) => format!("Còn {n} hồ sơ đang chờ gửi."),
            (Lang::En, 1) => "1 application is still waiting to send.".to_owned(),
            (Lang::En, n) => format!("{n} applications are still waiting to send."),
        };
        format!("{sent} {pending}")
    }
}

/// The language context: a copyable handle on the current language.
#[derive(Clone, Copy)]
pub struct I18n {
    lang: RwSignal<Lang>,
}

impl I18n {
    /// The current language (tracked: views using it re-render on a switch).
    pub fn lang(self) -> Lang {
        self.lang.get()
    }

    /// Translated text of `key` in the current language (tracked).
    pub fn t(self, key: K) -> &'static str {
        key.text(self.lang.get())
    }

    pub fn toggle(self) {
        self.lang.update(|l| *l = l.other());
    }
}

pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

/// Creates the language signal from `localStorage`, keeps `<html lang>` and
/// storage in step with it, and provides it as context.
pub fn provide_i18n() -> I18n {
    let initial = stored_lang().unwrap_or(Lang::Vi);
    apply_lang(initial);
    let lang = RwSignal::new(initial);
    Effect::new(move |_| {
        let l = lang.get();
        apply_lang(l);
        store_lang(l);
    });
    let i18n = I18n { lang };
    provide_context(i18n);
    i18n
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

fn stored_lang() -> Option<Lang> {
    let code = local_storage()?.get_item(STORAGE_KEY).ok().flatten()?;
    Some(Lang::from_code(&code))
}

fn store_lang(lang: Lang) {
    // Storage can be disabled or full; the choice then lasts this session.
    if let Some(s) = local_storage() {
        let _ = s.set_item(STORAGE_KEY, lang.code());
    }
}

fn apply_lang(lang: Lang) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute("lang", lang.code());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_KINDS: [ErrorKind; 11] = [
        ErrorKind::BackendUnreachable,
        ErrorKind::TlsUntrusted,
        ErrorKind::BackendRejected,
        ErrorKind::KeyringUnavailable,
        ErrorKind::VaultKeyMissing,
        ErrorKind::VaultCorrupt,
        ErrorKind::VaultUnavailable,
        ErrorKind::InvalidInput,
        ErrorKind::NotFound,
        ErrorKind::Storage,
        ErrorKind::Internal,
    ];

    #[test]
    fn every_text_exists_in_both_languages() {
        for k in K::ALL {
            assert!(!k.text(Lang::Vi).trim().is_empty(), "{k:?} vi");
            assert!(!k.text(Lang::En).trim().is_empty(), "{k:?} en");
        }
    }

    #[test]
    fn error_codes_match_the_wire_names() {
        for kind in ALL_KINDS {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", error_code(kind)));
        }
    }

    #[test]
    fn vault_errors_say_what_to_do() {
        for kind in [
            ErrorKind::KeyringUnavailable,
            ErrorKind::VaultKeyMissing,
            ErrorKind::VaultCorrupt,
            ErrorKind::VaultUnavailable,
        ] {
            assert!(error_hint(kind).is_some(), "{kind:?}");
        }
    }

    #[test]
    fn required_wordings() {
        let e = IpcError::new(ErrorKind::BackendUnreachable, "connect refused");
        assert_eq!(
            error_text(Lang::Vi, &e),
            "Không kết nối được máy chủ của thành phố. Hồ sơ được lưu trên máy và sẽ tự gửi khi có mạng."
        );
        assert!(error_text(Lang::En, &e).starts_with("Cannot reach the city server."));
        assert_eq!(
            kind_key(DocumentKind::Cccd).text(Lang::Vi),
            "Căn cước công dân (CCCD)"
        );
        assert_eq!(
            status_key(ApplicationStatus::Received).text(Lang::Vi),
            "Đã tiếp nhận"
        );
        assert_eq!(
            status_key(ApplicationStatus::InReview).text(Lang::Vi),
            "Đang xử lý"
        );
        assert_eq!(
            status_key(ApplicationStatus::NeedsMoreInfo).text(Lang::Vi),
            "Cần bổ sung"
        );
        assert_eq!(
            status_key(ApplicationStatus::Approved).text(Lang::Vi),
            "Đã giải quyết"
        );
        assert_eq!(
            status_key(ApplicationStatus::Rejected).text(Lang::Vi),
            "Từ chối"
        );
        assert_eq!(
            delivery_key(DeliveryState::Queued).text(Lang::Vi),
            "Đang chờ gửi"
        );
        assert_eq!(
            delivery_key(DeliveryState::Queued).text(Lang::En),
            "Waiting to send"
        );
        assert_eq!(
            delivery_key(DeliveryState::Delivered).text(Lang::Vi),
            "Đã gửi"
        );
        assert_eq!(
            delivery_key(DeliveryState::Delivered).text(Lang::En),
            "Sent"
        );
    }

    #[test]
    fn invalid_input_shows_its_detail_other_kinds_do_not() {
        let e = IpcError::new(ErrorKind::InvalidInput, "invalid number: 11 digits");
        assert_eq!(
            error_text(Lang::Vi, &e),
            "Thông tin chưa hợp lệ: invalid number: 11 digits"
        );
        let e = IpcError::new(ErrorKind::Internal, "panic at foo.rs");
        assert!(!error_text(Lang::En, &e).contains("foo.rs"));
    }

    #[test]
    fn counts_read_naturally() {
        assert_eq!(working_days(Lang::Vi, 7), "7 ngày làm việc");
        assert_eq!(working_days(Lang::En, 1), "1 working day");
        assert_eq!(sync_summary(Lang::Vi, 2, 0), "Đã gửi 2 hồ sơ.");
        assert_eq!(
            sync_summary(Lang::En, 1, 3),
            "Sent 1 application. 3 applications are still waiting to send."
        );
        assert_eq!(sync_summary(Lang::En, 0, 0), K::SyncNothing.text(Lang::En));
    }

    #[test]
    fn language_codes() {
        assert_eq!(Lang::from_code("en"), Lang::En);
        assert_eq!(Lang::from_code("vi"), Lang::Vi);
        assert_eq!(Lang::from_code("garbage"), Lang::Vi);
        assert_eq!(Lang::Vi.other(), Lang::En);
    }
}
