//! Facts about a person that several papers and rules share.

use serde::{Deserialize, Serialize};

/// Sex as papers print it ("Nam" / "Nữ"). The serde names `nam` / `nu` are
/// the codes stored in vaults (the `sex` field of a document): never rename
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    /// "Nam": male.
    Nam,
    /// "Nữ": female.
    Nu,
}

impl Sex {
    pub const ALL: [Sex; 2] = [Sex::Nam, Sex::Nu];

    /// Stable code: `nam` / `nu`.
    pub fn code(self) -> &'static str {
        match self {
            Sex::Nam => "nam",
            Sex::Nu => "nu",
        }
    }

    pub fn from_code(code: &str) -> Option<Sex> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    pub fn label_vi(self) -> &'static str {
        match self {
            Sex::Nam => "Nam",
            Sex::Nu => "Nữ",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Sex::Nam => "male",
            Sex::Nu => "female",
        }
    }
}

/// Who a profile is to the citizen (the vault's profiles, the UI's
/// profile switcher). The serde names are stored in vaults and cross IPC:
/// `self`, `child`, `parent`, `spouse`, `other`; never rename them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    #[serde(rename = "self")]
    SelfPerson,
    Child,
    Parent,
    Spouse,
    Other,
}

impl Relation {
    pub const ALL: [Relation; 5] = [
        Relation::SelfPerson,
        Relation::Child,
        Relation::Parent,
        Relation::Spouse,
        Relation::Other,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Relation::SelfPerson => "self",
            Relation::Child => "child",
            Relation::Parent => "parent",
            Relation::Spouse => "spouse",
            Relation::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<Relation> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Moved from cds-vault's lib.rs (the vault's copy of the enum).
    #[test]
    fn relation_serialises_self_as_self() {
        assert_eq!(
            serde_json::to_string(&Relation::SelfPerson).unwrap(),
            "\"self\""
        );
        assert_eq!(
            serde_json::to_string(&Relation::Child).unwrap(),
            "\"child\""
        );
        for r in Relation::ALL {
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.code())
            );
            assert_eq!(Relation::from_code(r.code()), Some(r));
        }
        assert_eq!(Relation::from_code("friend"), None);
    }

    #[test]
    fn sex_codes_are_the_stored_names() {
        for s in Sex::ALL {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.code())
            );
            assert_eq!(Sex::from_code(s.code()), Some(s));
        }
        assert_eq!(Sex::Nam.code(), "nam");
        assert_eq!(Sex::Nu.code(), "nu");
        assert_eq!(Sex::from_code("male"), None);
        assert_eq!(Sex::Nu.label_vi(), "Nữ");
    }
}
