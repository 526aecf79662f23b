//! Profiles: the citizen (`self`) and family members.

use super::*;

impl Vault {
    /// Every profile, the citizen's own (`self`) first, then by creation.
    pub fn list_profiles(&self) -> Result<Vec<Profile>, VaultError> {
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM profiles ORDER BY (id = 'self') DESC, created_at, rowid",
                profile_rows::COLUMNS
            ))
            .map_err(db)?;
        let mut rows = stmt.query([]).map_err(db)?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(db)? {
            let (id, body, _) = profile_rows::open_row(&self.key, r)?;
            out.push(Profile {
                id,
                full_name: body.full_name,
                relation: body.relation,
                date_of_birth: body.date_of_birth,
                created_at: body.created_at,
            });
        }
        Ok(out)
    }

    pub(super) fn profile(&self, id: &str) -> Result<Profile, VaultError> {
        self.list_profiles()?
            .into_iter()
            .find(|p| p.id == id)
            .ok_or_else(|| not_found("profile", id))
    }

    /// Adds a family member (relation must not be `self`: there is one
    /// citizen per vault).
    pub fn add_profile(&mut self, p: &NewProfile) -> Result<Profile, VaultError> {
        let p = validate_profile(p, latest_date_on_earth())?;
        if p.relation == Relation::SelfPerson {
            return Err(VaultError::Duplicate {
                what: "the citizen's own profile",
            });
        }
        let id = new_id();
        let created_at = now_rfc3339()?;
        let fresh = self.cache_is_fresh();
        profile_rows::insert(
            &self.conn,
            &self.key,
            &self.rng,
            &id,
            &ProfileBody {
                full_name: p.full_name.clone(),
                relation: p.relation,
                date_of_birth: p.date_of_birth.clone(),
                created_at: created_at.clone(),
            },
        )?;
        // Summaries do not depend on profile bodies: the cache stays.
        self.cache_apply(fresh, |_| Ok(()));
        Ok(Profile {
            id,
            full_name: p.full_name,
            relation: p.relation,
            date_of_birth: p.date_of_birth,
            created_at,
        })
    }

    /// Changes a profile. The `self` profile keeps relation `self`; no
    /// other profile may take it.
    pub fn update_profile(&mut self, id: &str, p: &NewProfile) -> Result<Profile, VaultError> {
        let old = self.profile(id)?;
        let p = validate_profile(p, latest_date_on_earth())?;
        let is_self = id == SELF_PROFILE_ID;
        if is_self != (p.relation == Relation::SelfPerson) {
            return Err(VaultError::invalid(
                "relation",
                "only the citizen's own profile has relation \"self\"",
            ));
        }
        let fresh = self.cache_is_fresh();
        profile_rows::replace(
            &self.conn,
            &self.key,
            &self.rng,
            id,
            &ProfileBody {
                full_name: p.full_name.clone(),
                relation: p.relation,
                date_of_birth: p.date_of_birth.clone(),
                created_at: old.created_at.clone(),
            },
        )?;
        self.cache_apply(fresh, |_| Ok(()));
        Ok(Profile {
            id: id.to_owned(),
            full_name: p.full_name,
            relation: p.relation,
            date_of_birth: p.date_of_birth,
            created_at: old.created_at,
        })
    }

    /// Deletes a family member's profile. Refuses `self` and a profile that
    /// still has documents ([`VaultError::Invalid`]).
    pub fn delete_profile(&mut self, id: &str) -> Result<(), VaultError> {
        if id == SELF_PROFILE_ID {
            return Err(VaultError::invalid(
                "profile_id",
                "the citizen's own profile cannot be deleted",
            ));
        }
        self.profile(id)?;
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM documents WHERE profile_id = ?1",
                [id],
                |r| r.get(0),
            )
            .map_err(db)?;
        if n > 0 {
            return Err(VaultError::invalid(
                "profile_id",
                format!("the profile still has {n} documents; delete or move them first"),
            ));
        }
        let fresh = self.cache_is_fresh();
        self.conn
            .execute("DELETE FROM profiles WHERE id = ?1", [id])
            .map_err(db)?;
        // Only a profile without documents is deleted.
        self.cache_apply(fresh, |_| Ok(()));
        Ok(())
    }
}
