//! The people whose papers the vault holds.

use crate::mapping::profile_view;
use crate::AppCore;
use cds_view::{IpcError, ProfileInput, ProfileView};

/// The form, checked: whitespace collapsed, a name required.
fn new_profile(input: ProfileInput) -> Result<cds_vault::NewProfile, IpcError> {
    let full_name = input
        .full_name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if full_name.is_empty() {
        return Err(IpcError::invalid("full_name", "the name is empty"));
    }
    Ok(cds_vault::NewProfile {
        full_name,
        relation: input.relation,
        date_of_birth: input.date_of_birth.filter(|d| !d.trim().is_empty()),
    })
}

impl AppCore {
    pub fn list_profiles(&self) -> Result<Vec<ProfileView>, IpcError> {
        Ok(self
            .with_vault(|v| v.list_profiles())?
            .into_iter()
            .map(profile_view)
            .collect())
    }

    pub fn add_profile(&self, input: ProfileInput) -> Result<ProfileView, IpcError> {
        let p = new_profile(input)?;
        self.with_vault(|v| v.add_profile(&p)).map(profile_view)
    }

    pub fn update_profile(&self, id: &str, input: ProfileInput) -> Result<ProfileView, IpcError> {
        let p = new_profile(input)?;
        self.with_vault(|v| v.update_profile(id, &p))
            .map(profile_view)
    }

    pub fn delete_profile(&self, id: &str) -> Result<(), IpcError> {
        self.with_vault(|v| v.delete_profile(id))
    }
}
