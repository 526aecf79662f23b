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

use cds_view::{
    ApplicationStatus, DeliveryState, DisclosureChannel, DocumentKind, ErrorKind, IpcError,
    Relation,
};
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
    ErrDiskFull => "Bộ nhớ của thiết bị đã đầy nên chưa lưu được gì. Hãy xóa bớt tệp hoặc ứng dụng không dùng đến rồi thử lại.",
        "This device's storage is full, so nothing was saved. Delete files or apps you no longer use, then try again.";
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
    FieldDob => "Ngày sinh", "Date of birth";
    FieldPhoto => "Ảnh chụp hoặc bản scan (không bắt buộc)", "Photo or scan (optional)";
    HintNumberCccd => "12 chữ số in trên thẻ CCCD.", "The 12 digits printed on the CCCD card.";
    HintNumberOther => "Ghi đúng như trên giấy tờ.", "Exactly as printed on the document.";
    HintName => "Ghi đầy đủ, có dấu, ví dụ: Nguyễn Văn An.", "In full, with diacritics, e.g. Nguyễn Văn An.";
    HintPhoto => "Ảnh hoặc PDF, tối đa 20 MB.", "An image or a PDF, up to 20 MB.";
    FileChosen => "Đã chọn", "Selected";
    RemoveFile => "Bỏ tệp này", "Remove this file";
    Save => "Lưu giấy tờ", "Save document";
    Saving => "Đang lưu…", "Saving…";
    Cancel => "Hủy", "Cancel";
    LabelNumber => "Số", "No.";
    PhotoAlt => "Ảnh giấy tờ", "Photo of the document";
    PdfAttached => "Có tệp PDF đính kèm", "PDF attached";
    ErrCccdDigits => "Số CCCD phải gồm đúng 12 chữ số.", "The CCCD number must be exactly 12 digits.";
    ErrNameRequired => "Vui lòng nhập họ và tên.", "Please enter the full name.";
    ErrDobFormat => "Ngày sinh phải viết theo dạng ngày/tháng/năm, ví dụ 05/09/1990.",
        "Write the date of birth as day/month/year, e.g. 05/09/1990.";
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
    AppDocsShow => "Giấy tờ đã gửi kèm", "Documents sent with it";
    AppDocsNone => "Không có giấy tờ liên kết.", "No linked documents.";

    // ---- New error kinds ----
    ErrVaultLocked => "Kho giấy tờ đang khóa. Hãy mở khóa bằng mã PIN.", "Your vault is locked. Unlock it with your PIN.";
    ErrWrongPin => "Mã PIN không đúng.", "The PIN is wrong.";
    ErrPinLocked => "Bạn đã nhập sai mã PIN quá nhiều lần.", "Too many wrong PINs.";
    ErrWeakPin => "Mã PIN quá dễ đoán. Hãy dùng ít nhất 6 chữ số không lặp lại hay liên tiếp (như 111111 hoặc 123456), hoặc một cụm mật khẩu từ 8 ký tự.",
        "This PIN is too easy to guess. Use at least 6 digits that are not all the same or in sequence (like 111111 or 123456), or a passphrase of 8 characters or more.";
    ErrNoPin => "Bạn chưa đặt mã PIN. Hãy đặt mã PIN trước.", "You have not set a PIN yet. Set one first.";
    ErrDuplicate => "Mục này đã có trong kho.", "This is already in your vault.";
    ErrBackupCorrupt => "Tệp sao lưu bị hỏng hoặc không đầy đủ. Không có gì trong kho bị thay đổi.",
        "The backup file is damaged or incomplete. Nothing in your vault was changed.";
    ErrWrongPassphrase => "Mật khẩu sao lưu không đúng. Không có gì trong kho bị thay đổi.",
        "The backup passphrase is wrong. Nothing in your vault was changed.";
    ErrTooLarge => "Tệp lớn hơn 20 MB nên không được thêm. Hãy chọn tệp nhỏ hơn.", "The file is larger than 20 MB, so it was not added. Please pick a smaller one.";
    ErrUnsupportedFile => "Chỉ nhận ảnh (JPEG, PNG, WebP, GIF) hoặc tệp PDF.", "Only images (JPEG, PNG, WebP, GIF) or PDF files can be attached.";
    ErrBusy => "Đang sao lưu hoặc khôi phục. Hãy đợi xong rồi thử lại.", "A backup or restore is running. Wait for it to finish and try again.";
    HintPinLocked => "Vì an toàn, hãy đợi rồi thử lại.", "For your safety, wait and then try again.";

    // ---- Navigation: more ----
    NavMore => "Thêm", "More";
    MoreTitle => "Cài đặt và bảo mật", "Settings and security";
    MoreProfiles => "Thành viên gia đình", "Family members";
    MoreProfilesDesc => "Giữ giấy tờ của con, cha mẹ… trong cùng một kho", "Keep your children's and parents' papers in the same vault";
    MoreSecurity => "Mã PIN và khóa kho", "PIN and vault lock";
    MoreSecurityDesc => "Đặt, đổi mã PIN; khóa kho giấy tờ", "Set or change your PIN; lock your vault";
    MoreBackup => "Sao lưu và khôi phục", "Backup and restore";
    MoreBackupDesc => "Lưu toàn bộ kho vào một tệp có mật khẩu", "Save your whole vault to one passphrase-protected file";
    MoreAccessLog => "Ai đã dùng dữ liệu của tôi", "Who has my data";
    MoreAccessLogDesc => "Nhật ký mỗi lần dữ liệu rời khỏi kho", "A record of every time data left your vault";

    // ---- Documents: profiles, search, detail, generic form ----
    ProfileSwitch => "Giấy tờ của", "Documents of";
    SearchDocs => "Tìm giấy tờ", "Search documents";
    SearchDocsPlaceholder => "Ví dụ: giay khai sinh, ho chieu…", "For example: passport, birth…";
    DocsNoMatch => "Không tìm thấy giấy tờ phù hợp.", "No document matches your search.";
    FormEditTitle => "Sửa giấy tờ", "Edit document";
    ChooseOption => "— Chọn —", "— Choose —";
    HintDate => "Ngày/tháng/năm, ví dụ: 05/09/1990.", "Day/month/year, e.g. 05/09/1990.";
    HintClasses => "Các hạng, cách nhau bởi dấu phẩy, ví dụ: A1, B", "Classes separated by commas, e.g. A1, B";
    CustomFields => "Thông tin khác", "Other details";
    CustomLabel => "Tên mục", "Label";
    CustomValue => "Nội dung", "Value";
    CustomAdd => "Thêm mục", "Add a detail";
    CustomRemove => "Xóa mục", "Remove";
    ErrFieldRequired => "Vui lòng điền mục này.", "Please fill in this field.";
    ErrDigits => "Phải gồm đúng số chữ số yêu cầu.", "Must have exactly the required number of digits.";
    ErrDateFormat => "Ngày phải viết theo dạng ngày/tháng/năm, ví dụ 05/09/1990.", "Write the date as day/month/year, e.g. 05/09/1990.";
    ErrDateImpossible => "Ngày này không có thật trên lịch. Vui lòng kiểm tra lại.", "This date does not exist on the calendar. Please check it.";
    ErrClasses => "Hạng bằng lái không hợp lệ.", "Not a valid licence class.";
    ErrFileType => "Chỉ nhận ảnh hoặc tệp PDF.", "Only an image or a PDF can be attached.";
    Back => "Quay lại", "Back";
    Edit => "Sửa", "Edit";
    Delete => "Xóa", "Delete";
    DeleteConfirm => "Xóa giấy tờ này và các tệp đính kèm? Không thể hoàn tác.", "Delete this document and its attachments? This cannot be undone.";
    DeleteYes => "Xóa vĩnh viễn", "Delete for good";
    DocDeleted => "Đã xóa giấy tờ.", "The document was deleted.";
    Attachments => "Tệp đính kèm", "Attachments";
    NoAttachments => "Chưa có tệp đính kèm.", "No attachments yet.";
    AddAttachment => "Thêm ảnh hoặc PDF", "Add a photo or PDF";
    Expires => "Hết hạn", "Expires";
    UpdatedAt => "Cập nhật", "Updated";

    // ---- Home: reminders ----
    RemindersTitle => "Giấy tờ sắp hết hạn", "Documents expiring soon";

    // ---- Profiles ----
    ProfilesTitle => "Thành viên gia đình", "Family members";
    ProfilesIntro => "Mỗi người có giấy tờ riêng trong cùng một kho được mã hóa.", "Each person has their own documents in the same encrypted vault.";
    AddProfile => "Thêm thành viên", "Add a family member";
    ProfileName => "Họ và tên", "Full name";
    ProfileRelation => "Quan hệ", "Relationship";
    ProfileDob => "Ngày sinh (không bắt buộc)", "Date of birth (optional)";
    ProfileSave => "Lưu", "Save";
    ProfileDeleteConfirm => "Xóa thành viên này? (Chỉ xóa được khi không còn giấy tờ.)", "Delete this member? (Only possible when they have no documents.)";
    RelSelf => "Bản thân", "Myself";
    RelChild => "Con", "Child";
    RelParent => "Cha/mẹ", "Parent";
    RelSpouse => "Vợ/chồng", "Spouse";
    RelOther => "Khác", "Other";

    // ---- Security: PIN and lock ----
    SecurityTitle => "Mã PIN và khóa kho", "PIN and vault lock";
    SecurityIntro => "Mã PIN mở kho giấy tờ khi keyring của máy không dùng được, và khi bạn đã khóa kho.",
        "Your PIN opens the vault when this computer's keyring is unavailable, and after you lock it.";
    SetPinTitle => "Đặt mã PIN", "Set a PIN";
    ChangePinTitle => "Đổi mã PIN", "Change your PIN";
    PinLabel => "Mã PIN mới", "New PIN";
    PinConfirmLabel => "Nhập lại mã PIN mới", "New PIN again";
    OldPinLabel => "Mã PIN hiện tại", "Current PIN";
    PinHint => "Ít nhất 6 chữ số, hoặc cụm mật khẩu từ 8 ký tự.", "At least 6 digits, or a passphrase of 8 characters or more.";
    PinSave => "Lưu mã PIN", "Save PIN";
    PinSaved => "Đã lưu mã PIN mới.", "Your new PIN is saved.";
    ErrPinMismatch => "Hai lần nhập mã PIN không giống nhau.", "The two PINs are not the same.";
    LockNow => "Khóa kho ngay", "Lock the vault now";
    LockNeedsPin => "Hãy đặt mã PIN để có thể khóa kho.", "Set a PIN to be able to lock the vault.";
    UnlockTitle => "Kho giấy tờ đang khóa", "Your vault is locked";
    UnlockIntro => "Nhập mã PIN để mở kho giấy tờ.", "Enter your PIN to open your vault.";
    UnlockKeyringNote => "Keyring của máy không dùng được nên cần mã PIN.", "This computer's keyring is unavailable, so your PIN is needed.";
    UnlockPinLabel => "Mã PIN", "PIN";
    Unlock => "Mở khóa", "Unlock";
    Unlocking => "Đang mở…", "Unlocking…";
    CreatePinTitle => "Tạo mã PIN cho kho giấy tờ", "Create a PIN for your vault";
    CreatePinIntro => "Máy này không có keyring để giữ khóa kho giấy tờ. Hãy tạo mã PIN: bạn sẽ dùng nó mỗi lần mở ứng dụng.",
        "This computer has no keyring to keep your vault's key. Create a PIN: you will use it each time you open the app.";
    CreateVault => "Tạo kho giấy tờ", "Create my vault";

    // ---- Backup ----
    BackupTitle => "Sao lưu và khôi phục", "Backup and restore";
    BackupIntro => "Tệp sao lưu chứa mọi giấy tờ và tệp đính kèm, được mã hóa bằng mật khẩu bạn đặt. Hãy giữ mật khẩu cẩn thận: không có nó thì không khôi phục được.",
        "The backup file holds every document and attachment, encrypted with a passphrase you choose. Keep the passphrase safe: without it the backup cannot be restored.";
    ExportTitle => "Sao lưu ra tệp", "Back up to a file";
    ImportTitle => "Khôi phục từ tệp", "Restore from a file";
    BackupPath => "Đường dẫn tệp", "File path";
    BackupPass => "Mật khẩu sao lưu (ít nhất 8 ký tự)", "Backup passphrase (8 characters or more)";
    BackupPassConfirm => "Nhập lại mật khẩu", "Passphrase again";
    ExportStart => "Sao lưu", "Back up";
    ImportStart => "Khôi phục", "Restore";
    ImportHint => "Giấy tờ trong tệp được thêm vào kho hiện tại; không có gì bị xóa.", "The backup's documents are added to this vault; nothing is deleted.";
    ErrPassShort => "Mật khẩu phải có ít nhất 8 ký tự.", "The passphrase must have at least 8 characters.";
    ErrPassMismatch => "Hai lần nhập mật khẩu không giống nhau.", "The two passphrases are not the same.";
    ErrPathRequired => "Hãy nhập đường dẫn tệp.", "Enter the file path.";
    ExportDone => "Đã sao lưu xong.", "Backup complete.";
    ImportDone => "Đã khôi phục xong.", "Restore complete.";
    BackupRunning => "Đang xử lý…", "Working…";

    // ---- Access log ----
    AccessTitle => "Ai đã dùng dữ liệu của tôi", "Who has my data";
    AccessIntro => "Mỗi lần dữ liệu rời khỏi kho (gửi kèm hồ sơ, hiện mã QR, xuất, sao lưu), ứng dụng ghi lại: gửi gì, cho ai, khi nào và theo căn cứ nào.",
        "Every time data leaves your vault (sent with an application, shown as a QR code, exported, backed up) the app records what, to whom, when and on which legal basis.";
    AccessEmpty => "Chưa có dữ liệu nào rời khỏi kho.", "No data has left your vault yet.";
    AccessRecipient => "Người nhận", "Recipient";
    AccessPurpose => "Mục đích", "Purpose";
    AccessBasis => "Căn cứ", "Legal basis";
    AccessWhat => "Dữ liệu", "Data";
    ChannelApplication => "Gửi kèm hồ sơ", "Sent with an application";
    ChannelQr => "Mã QR", "QR code";
    ChannelExport => "Xuất dữ liệu", "Export";
    ChannelBackup => "Sao lưu", "Backup";

    // ---- Errors of the QR features ----
    ErrUnauthorized => "Thành phố không còn chấp nhận thiết bị này cho mã QR công dân.", "The city no longer accepts this device for the citizen QR.";
    ErrActivationCode => "Mã kích hoạt không đúng, đã được dùng hoặc đã hết hạn.", "The activation code is wrong, already used or expired.";
    ErrRateLimited => "Bạn đã thử quá nhiều lần.", "Too many attempts.";
    ErrNoQrFound => "Không tìm thấy mã QR nào trong ảnh.", "No QR code was found in the picture.";
    ErrNotAnImage => "Tệp đã chọn không phải là ảnh.", "The file you picked is not a picture.";
    ErrCameraUnavailable => "Không dùng được camera trên thiết bị này.", "No camera can be used on this device.";
    ErrNoTrustList => "Thiết bị chưa tải khóa công khai của thành phố nên chưa kiểm tra được mã QR công dân.", "This device has not downloaded the city's public keys yet, so it cannot check a citizen QR.";
    HintUnauthorized => "Hãy kích hoạt lại bằng mã mới do thành phố cấp.", "Activate again with a new code from the city.";
    HintNoQrFound => "Hãy chọn ảnh rõ nét, chụp thẳng, có cả mã QR.", "Pick a sharp picture, taken straight on, showing the whole code.";
    HintNoTrustList => "Hãy kết nối mạng một lần và bấm \"Cập nhật khóa\".", "Connect once and press \"Update keys\".";
    HintCameraUnavailable => "Bạn vẫn có thể chọn một ảnh có mã QR.", "You can still pick a picture with a QR code.";

    // ---- My QR ----
    ShortcutQr => "Mã QR công dân", "My citizen QR";
    ShortcutQrDesc => "Xuất trình danh tính khi không có mạng", "Show who you are, even offline";
    ShortcutScan => "Quét mã QR", "Scan a QR code";
    ShortcutScanDesc => "Kiểm tra mã công dân, đọc mã trên thẻ căn cước", "Check a citizen QR, read an ID card's code";
    QrTitle => "Mã QR công dân", "Citizen QR";
    QrIntro => "Mã QR được thành phố ký số. Người kiểm tra quét mã và xác minh chữ ký mà không cần mạng.", "The code is signed by the city. Whoever checks it scans it and verifies the signature without a connection.";
    QrActivateTitle => "Kích hoạt mã QR trên thiết bị này", "Activate the QR on this device";
    QrActivateIntro => "Nhập mã kích hoạt do bộ phận một cửa của thành phố cấp cho bạn (dùng một lần, có hạn 15 phút).", "Enter the activation code the city's service counter gave you (single use, valid for 15 minutes).";
    QrCodeLabel => "Mã kích hoạt", "Activation code";
    QrActivate => "Kích hoạt", "Activate";
    QrActivating => "Đang kích hoạt…", "Activating…";
    QrChoose => "Chia sẻ thông tin nào?", "What to share?";
    QrFull => "Đầy đủ", "Full identity";
    QrFullDesc => "Số định danh, họ tên, ngày sinh", "ID number, name, date of birth";
    QrOver18 => "Trên 18 tuổi", "Over 18";
    QrOver18Desc => "Chỉ cho biết bạn đã đủ 18 tuổi", "Only that you are 18 or older";
    QrNameOnly => "Chỉ họ tên", "Name only";
    QrNameOnlyDesc => "Chỉ họ và tên", "Only your full name";
    QrValidUntil => "Có hiệu lực đến", "Valid until";
    QrExpired => "Mã QR đã hết hạn. Hãy kết nối mạng để nhận mã mới.", "This QR has expired. Connect to the internet to get a new one.";
    QrFullscreen => "Phóng to toàn màn hình", "Full screen";
    QrCloseFullscreen => "Đóng", "Close";
    QrRefresh => "Làm mới mã", "Refresh the code";
    QrRefreshing => "Đang làm mới…", "Refreshing…";
    QrRefreshed => "Đã nhận mã mới từ thành phố.", "New codes received from the city.";
    QrForget => "Gỡ mã QR khỏi thiết bị này", "Remove the QR from this device";
    QrForgetConfirm => "Bấm lần nữa để xác nhận gỡ", "Press again to confirm";
    QrNoPhoto => "Chưa có ảnh chân dung: thêm ảnh vào CCCD trong kho giấy tờ.", "No photo yet: add one to your ID card in the vault.";
    QrLogged => "Mỗi lần xuất trình được ghi vào nhật ký \"Ai đã dùng dữ liệu của tôi\".", "Each time you show it is recorded in \"Who has my data\".";
    QrAutoRefresh => "Mã tự làm mới trước khi hết hạn khi có mạng.", "The code refreshes itself before it expires whenever you are online.";
    QrRefreshFailed => "Chưa làm mới được mã:", "The code could not be refreshed:";

    // ---- Scan ----
    ScanTitle => "Quét mã QR", "Scan a QR code";
    ScanIntro => "Quét mã công dân để kiểm tra (chế độ cán bộ), hoặc mã trên thẻ căn cước để điền thông tin.", "Scan a citizen QR to check it (officer mode), or an ID card's code to fill in your details.";
    ScanCamera => "Dùng camera", "Use the camera";
    ScanCameraStop => "Tắt camera", "Stop the camera";
    ScanCameraLooking => "Đang tìm mã QR…", "Looking for a QR code…";
    ScanPickImage => "Chọn ảnh có mã QR", "Pick a picture with a QR code";
    ScanPickHint => "Ảnh chụp màn hình hoặc ảnh chụp (PNG, JPEG, WebP, GIF, BMP).", "A screenshot or a photo (PNG, JPEG, WebP, GIF, BMP).";
    Scanning => "Đang đọc ảnh…", "Reading the picture…";
    TrustTitle => "Khóa công khai của thành phố", "The city's public keys";
    TrustNone => "Chưa tải. Cần tải một lần khi có mạng để kiểm tra mã khi không có mạng.", "Not downloaded. Download them once while online to check codes offline.";
    TrustUpdate => "Cập nhật khóa", "Update keys";
    TrustUpdating => "Đang cập nhật…", "Updating…";
    TrustKeys => "Số khóa", "Keys";
    TrustFetched => "Tải lúc", "Downloaded";
    TrustRevocations => "Danh sách thu hồi lập lúc", "Revocation list as of";
    VerifyValid => "HỢP LỆ", "VALID";
    VerifyValidDesc => "Chữ ký của thành phố đúng, mã còn hạn và chưa bị thu hồi.", "The city's signature is good, the code is in date and not revoked.";
    VerifyExpired => "ĐÃ HẾT HẠN", "EXPIRED";
    VerifyExpiredDesc => "Mã thật nhưng đã hết hạn. Đề nghị người dân làm mới mã.", "A genuine code, but expired. Ask the holder to refresh it.";
    VerifyNotYetValid => "CHƯA CÓ HIỆU LỰC", "NOT YET VALID";
    VerifyNotYetValidDesc => "Mã chưa đến thời điểm có hiệu lực (hoặc đồng hồ thiết bị sai).", "The code is not valid yet (or this device's clock is wrong).";
    VerifyRevoked => "ĐÃ BỊ THU HỒI", "REVOKED";
    VerifyRevokedDesc => "Thành phố đã thu hồi mã này. Không chấp nhận.", "The city has revoked this code. Do not accept it.";
    VerifyForged => "GIẢ MẠO HOẶC BỊ SỬA", "FORGED OR ALTERED";
    VerifyForgedDesc => "Chữ ký không khớp với khóa của thành phố. Không chấp nhận.", "The signature does not match the city's keys. Do not accept it.";
    VerifyMalformed => "MÃ KHÔNG HỢP LỆ", "INVALID CODE";
    VerifyMalformedDesc => "Đây không phải là mã công dân đọc được.", "This is not a readable citizen QR.";
    FieldIdNumber => "Số định danh", "ID number";
    FieldName => "Họ và tên", "Full name";
    FieldOver18 => "Đủ 18 tuổi", "18 or older";
    FieldIssuer => "Cơ quan cấp", "Issuer";
    FieldExpires => "Hết hạn", "Expires";
    Yes => "Có", "Yes";
    RevocationsAsOf => "Đã đối chiếu danh sách thu hồi lập lúc", "Checked against the revocation list of";
    RevocationsNone => "Chưa có danh sách thu hồi trên thiết bị: không kiểm tra được việc thu hồi.", "No revocation list on this device: revocation could not be checked.";
    CccdScanTitle => "Mã QR trên thẻ căn cước", "ID card QR code";
    CccdUnverified => "CHƯA XÁC THỰC: mã QR trên thẻ không có chữ ký số. Chỉ dùng để điền thông tin, không chứng minh danh tính.", "NOT VERIFIED: the card's QR code carries no signature. It fills in forms; it proves nothing.";
    CccdFill => "Điền vào CCCD trong kho giấy tờ", "Fill in an ID card in my vault";
    CccdExisting => "Thẻ có số này đã có trong kho giấy tờ.", "A card with this number is already in your vault.";
    CccdOpenExisting => "Mở giấy tờ đó", "Open that document";
    CccdInvalidTitle => "Mã QR trên thẻ không hợp lệ", "The ID card QR is not valid";
    UrlTitle => "Mã QR chứa một đường link", "The QR code holds a link";
    UrlWarning => "Ứng dụng không tự mở đường link. Chỉ mở nếu bạn tin nguồn của nó; kiểm tra kỹ tên miền bên dưới.", "The app does not open links itself. Open it only if you trust where it came from; check the domain below.";
    UrlDomain => "Tên miền", "Domain";
    CccdResidence => "Nơi thường trú / cư trú", "Place of residence";
    CccdIssueDate => "Ngày cấp", "Date of issue";
    TextTitle => "Mã QR chứa văn bản", "The QR code holds text";
    UnreadableTitle => "Không hiển thị được nội dung mã", "The code's content cannot be shown";
    CameraNone => "Không tìm thấy camera. Hãy chọn một ảnh có mã QR.", "No camera found. Pick a picture with a QR code instead.";
    PhotoCamera => "Chụp ảnh bằng camera", "Take a photo with the camera";
    Browse => "Chọn…", "Browse…";
    PhotoTake => "Chụp", "Take the photo";
    PhotoOpening => "Đang mở camera…", "Opening the camera…";
    PhotoAim => "Đặt giấy tờ phẳng, đủ sáng, lấp đầy khung hình.", "Lay the paper flat in good light and fill the frame.";
    PhotoTaken => "Ảnh chụp", "Photo";
    PhotoTakenNote => "Ảnh sẽ được lưu khi bạn bấm Lưu.", "The photo is stored when you press Save.";
    MoreQr => "Mã QR công dân", "Citizen QR";
    MoreQrDesc => "Xuất trình và làm mới mã QR của bạn", "Show and refresh your QR code";
    MoreScan => "Quét mã QR", "Scan a QR code";
    MoreScanDesc => "Kiểm tra mã công dân (cán bộ), đọc mã thẻ căn cước", "Check a citizen QR (officers), read an ID card's code";
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
        ErrorKind::DiskFull => K::ErrDiskFull,
        ErrorKind::Storage => K::ErrStorage,
        ErrorKind::Internal => K::ErrInternal,
        ErrorKind::VaultLocked => K::ErrVaultLocked,
        ErrorKind::WrongPin => K::ErrWrongPin,
        ErrorKind::PinLocked => K::ErrPinLocked,
        ErrorKind::WeakPin => K::ErrWeakPin,
        ErrorKind::NoPin => K::ErrNoPin,
        ErrorKind::Duplicate => K::ErrDuplicate,
        ErrorKind::BackupCorrupt => K::ErrBackupCorrupt,
        ErrorKind::WrongPassphrase => K::ErrWrongPassphrase,
        ErrorKind::TooLarge => K::ErrTooLarge,
        ErrorKind::UnsupportedFile => K::ErrUnsupportedFile,
        ErrorKind::Busy => K::ErrBusy,
        ErrorKind::Unauthorized => K::ErrUnauthorized,
        ErrorKind::ActivationCode => K::ErrActivationCode,
        ErrorKind::RateLimited => K::ErrRateLimited,
        ErrorKind::NoQrFound => K::ErrNoQrFound,
        ErrorKind::NotAnImage => K::ErrNotAnImage,
        ErrorKind::CameraUnavailable => K::ErrCameraUnavailable,
        ErrorKind::NoTrustList => K::ErrNoTrustList,
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
        ErrorKind::PinLocked => Some(K::HintPinLocked),
        ErrorKind::Unauthorized => Some(K::HintUnauthorized),
        ErrorKind::NoQrFound => Some(K::HintNoQrFound),
        ErrorKind::NoTrustList => Some(K::HintNoTrustList),
        ErrorKind::CameraUnavailable => Some(K::HintCameraUnavailable),
        _ => None,
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
    } else if let Some(secs) = err.retry_after_secs.filter(|s| *s > 0) {
        format!("{base} {}", wait_text(lang, secs))
    } else {
        base.to_owned()
    }
}

/// "Hãy thử lại sau 30 giây." / "Try again in 30 seconds."
pub fn wait_text(lang: Lang, secs: u64) -> String {
    let (n, vi, en) = if secs < 120 {
        (secs, "giây", "second")
    } else {
        (secs.div_ceil(60), "phút", "minute")
    };
    match lang {
        Lang::Vi => format!("Hãy thử lại sau {n} {vi}."),
        Lang::En if n == 1 => format!("Try again in 1 {en}."),
        Lang::En => format!("Try again in {n} {en}s."),
    }
}

/// "Còn 12 ngày" / "Đã hết hạn 3 ngày".
pub fn days_left_text(lang: Lang, days: i64) -> String {
    match (lang, days) {
        (Lang::Vi, d) if d < 0 => format!("Đã hết hạn {} ngày", -d),
        (Lang::Vi, 0) => "Hết hạn hôm nay".to_owned(),
        (Lang::Vi, d) => format!("Còn {d} ngày"),
        (Lang::En, d) if d < 0 => format!("Expired {} days ago", -d),
        (Lang::En, 0) => "Expires today".to_owned(),
        (Lang::En, 1) => "1 day left".to_owned(),
        (Lang::En, d) => format!("{d} days left"),
    }
}

pub fn relation_key(r: Relation) -> K {
    match r {
        Relation::SelfPerson => K::RelSelf,
        Relation::Child => K::RelChild,
        Relation::Parent => K::RelParent,
        Relation::Spouse => K::RelSpouse,
        Relation::Other => K::RelOther,
    }
}

pub fn channel_key(c: DisclosureChannel) -> K {
    match c {
        DisclosureChannel::Application => K::ChannelApplication,
        DisclosureChannel::Qr => K::ChannelQr,
        DisclosureChannel::Export => K::ChannelExport,
        DisclosureChannel::Backup => K::ChannelBackup,
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

    const ALL_KINDS: [ErrorKind; 30] = ErrorKind::ALL;

    #[test]
    fn every_text_exists_in_both_languages() {
        for k in K::ALL {
            assert!(!k.text(Lang::Vi).trim().is_empty(), "{k:?} vi");
            assert!(!k.text(Lang::En).trim().is_empty(), "{k:?} en");
        }
    }

    #[test]
    fn a_full_disk_says_so_vietnamese_first() {
        let err = IpcError::new(ErrorKind::DiskFull, "disk full");
        let vi = error_text(Lang::Vi, &err);
        let en = error_text(Lang::En, &err);
        assert!(vi.contains("Bộ nhớ của thiết bị đã đầy"), "{vi}");
        assert!(en.contains("storage is full"), "{en}");
        // Distinct from the generic storage failure.
        assert_ne!(
            error_key(ErrorKind::DiskFull),
            error_key(ErrorKind::Storage)
        );
        assert_eq!(ErrorKind::from_code("disk_full"), Some(ErrorKind::DiskFull));
    }

    #[test]
    fn error_codes_match_the_wire_names() {
        for kind in ALL_KINDS {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.code()));
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
    fn wrong_pin_says_how_long_to_wait() {
        let e = IpcError::new(ErrorKind::WrongPin, "x").with_retry_after(30);
        assert_eq!(
            error_text(Lang::Vi, &e),
            "Mã PIN không đúng. Hãy thử lại sau 30 giây."
        );
        assert_eq!(
            error_text(Lang::En, &e),
            "The PIN is wrong. Try again in 30 seconds."
        );
        assert_eq!(wait_text(Lang::Vi, 3600), "Hãy thử lại sau 60 phút.");
        let e = IpcError::new(ErrorKind::WrongPin, "x");
        assert_eq!(error_text(Lang::Vi, &e), "Mã PIN không đúng.");
    }

    #[test]
    fn days_left() {
        assert_eq!(days_left_text(Lang::Vi, 12), "Còn 12 ngày");
        assert_eq!(days_left_text(Lang::Vi, -3), "Đã hết hạn 3 ngày");
        assert_eq!(days_left_text(Lang::En, 1), "1 day left");
    }

    #[test]
    fn language_codes() {
        assert_eq!(Lang::from_code("en"), Lang::En);
        assert_eq!(Lang::from_code("vi"), Lang::Vi);
        assert_eq!(Lang::from_code("garbage"), Lang::Vi);
        assert_eq!(Lang::Vi.other(), Lang::En);
    }
}
