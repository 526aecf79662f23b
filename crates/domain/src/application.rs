//! Applications to the city: where one stands.

use serde::{Deserialize, Serialize};

/// Where an application stands at the city.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationStatus {
    /// Đã tiếp nhận.
    Received,
    /// Đang xử lý.
    InReview,
    /// Cần bổ sung.
    NeedsMoreInfo,
    /// Đã giải quyết.
    Approved,
    /// Từ chối.
    Rejected,
}

impl ApplicationStatus {
    pub fn code(self) -> &'static str {
        match self {
            ApplicationStatus::Received => "received",
            ApplicationStatus::InReview => "in_review",
            ApplicationStatus::NeedsMoreInfo => "needs_more_info",
            ApplicationStatus::Approved => "approved",
            ApplicationStatus::Rejected => "rejected",
        }
    }

    pub fn from_code(code: &str) -> Option<Self> {
        [
            ApplicationStatus::Received,
            ApplicationStatus::InReview,
            ApplicationStatus::NeedsMoreInfo,
            ApplicationStatus::Approved,
            ApplicationStatus::Rejected,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Moved from cds-api's lib.rs.
    #[test]
    fn status_codes_round_trip() {
        for s in [
            "received",
            "in_review",
            "needs_more_info",
            "approved",
            "rejected",
        ] {
            let st = ApplicationStatus::from_code(s).unwrap();
            assert_eq!(st.code(), s);
            assert_eq!(serde_json::to_string(&st).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(ApplicationStatus::from_code("done"), None);
    }
}
