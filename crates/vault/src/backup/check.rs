//! Reading the plaintext stream: the structure and the content of every
//! record (ids, references, sizes, documents by the API's rules), the same
//! in both passes of an import.

use super::*;

// ---- record checks (both passes) ----------------------------------------

pub(super) fn check_id(what: &str, id: &str) -> Result<(), VaultError> {
    if id.is_empty() || id.chars().count() > MAX_ID_CHARS || id.chars().any(char::is_control) {
        return Err(corrupt(format!("a {what} has an invalid id")));
    }
    Ok(())
}

pub(super) fn check_text(what: &str, s: &str, max_chars: usize) -> Result<(), VaultError> {
    if s.chars().count() > max_chars || s.chars().any(|c| c.is_control() && c != '\n') {
        return Err(corrupt(format!(
            "a {what} is too long or has control characters"
        )));
    }
    Ok(())
}

/// Reads the whole plaintext stream, checking its structure (order of the
/// sections, unique ids, references, sizes, the end marker and its
/// counts), and hands each record to `visit`.
pub(super) fn read_stream(
    r: &mut ChunkReader<'_>,
    visit: &mut dyn FnMut(Rec) -> Result<(), VaultError>,
) -> Result<Counts, VaultError> {
    let mut section = 0u8;
    let mut counts = Counts::default();
    let mut profiles = HashSet::new();
    let mut documents = HashSet::new();
    let mut attachments = HashSet::new();
    let mut applications = HashSet::new();
    let mut disclosures = HashSet::new();
    let mut order = |s: u8| {
        if s < section {
            return Err(corrupt("records are out of order"));
        }
        section = s;
        Ok(())
    };
    let unique = |set: &mut HashSet<String>, what: &str, id: &str| {
        if set.insert(id.to_owned()) {
            Ok(())
        } else {
            Err(corrupt(format!("{what} {id} appears twice")))
        }
    };
    loop {
        let mut head = [0u8; 5];
        r.read_exact(&mut head)?;
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        match head[0] {
            R_PROFILE => {
                order(1)?;
                let p: BProfile = r.read_json(len, "profile")?;
                check_id("profile", &p.id)?;
                check_text("profile name", &p.full_name, 1000)?;
                if (p.id == SELF_PROFILE_ID) != (p.relation == Relation::SelfPerson) {
                    return Err(corrupt("only the citizen's own profile may be \"self\""));
                }
                unique(&mut profiles, "profile", &p.id)?;
                counts.profiles += 1;
                visit(Rec::Profile(p))?;
            }
            R_DOCUMENT => {
                order(2)?;
                let mut d: BDocument = r.read_json(len, "document")?;
                check_id("document", &d.id)?;
                // The rules of `add_document`, in the check pass, so an
                // invalid document refuses the whole file before anything
                // is written; what is stored is what the API would store.
                let input = DocumentInput {
                    profile_id: d.profile_id.clone(),
                    kind: d.kind,
                    fields: std::mem::take(&mut d.fields),
                    custom_fields: std::mem::take(&mut d.custom_fields),
                };
                let valid = validate_restored_document(&input, crate::latest_date_on_earth())
                    .map_err(|e| corrupt(format!("document {} is not valid ({e})", d.id)))?;
                d.fields = valid.fields;
                d.custom_fields = valid.custom_fields;
                if !profiles.contains(&d.profile_id) {
                    return Err(corrupt(format!(
                        "document {} belongs to a profile not in the backup",
                        d.id
                    )));
                }
                unique(&mut documents, "document", &d.id)?;
                counts.documents += 1;
                visit(Rec::Document(d))?;
            }
            R_ATTACHMENT => {
                order(2)?;
                let json_len = r.read_u32()? as usize;
                if json_len.saturating_add(4) > len {
                    return Err(corrupt("an attachment record is malformed"));
                }
                let a: BAttachment = r.read_json(json_len, "attachment")?;
                check_id("attachment", &a.id)?;
                if a.file_name.is_empty() {
                    return Err(corrupt("an attachment has no file name"));
                }
                check_text("file name", &a.file_name, MAX_FILE_NAME_CHARS)?;
                check_text("file type", &a.mime, 100)?;
                if !documents.contains(&a.document_id) {
                    return Err(corrupt(format!(
                        "attachment {} belongs to a document not in the backup",
                        a.id
                    )));
                }
                let size = usize::try_from(a.size).unwrap_or(usize::MAX);
                let thumb_size = a
                    .thumb_size
                    .map(|t| usize::try_from(t).unwrap_or(usize::MAX));
                if size > MAX_ATTACHMENT_BYTES || thumb_size.unwrap_or(0) > MAX_THUMB_BYTES {
                    return Err(corrupt("an attachment is larger than allowed"));
                }
                if 4 + json_len + size + thumb_size.unwrap_or(0) != len {
                    return Err(corrupt("an attachment record has the wrong length"));
                }
                unique(&mut attachments, "attachment", &a.id)?;
                let data = r.read_vec(size)?;
                let thumb = match thumb_size {
                    Some(t) => Some(r.read_vec(t)?),
                    None => None,
                };
                counts.attachments += 1;
                visit(Rec::Attachment(a, data, thumb))?;
            }
            R_APPLICATION => {
                order(3)?;
                let a: BApplication = r.read_json(len, "application")?;
                check_id("application", &a.idempotency_key)?;
                if a.payload.idempotency_key != a.idempotency_key {
                    return Err(corrupt("an application is filed under another key"));
                }
                let delivered = match a.state.as_str() {
                    "queued" => false,
                    "delivered" => true,
                    _ => return Err(corrupt("an application has an unknown state")),
                };
                if delivered != a.receipt.is_some() {
                    return Err(corrupt("an application's state does not match its receipt"));
                }
                for h in &a.history {
                    check_id("status change", &h.id)?;
                }
                unique(&mut applications, "application", &a.idempotency_key)?;
                counts.applications += 1;
                visit(Rec::Application(Box::new(a)))?;
            }
            R_DISCLOSURE => {
                order(4)?;
                let d: BDisclosure = r.read_json(len, "access-log")?;
                check_id("access-log entry", &d.id)?;
                unique(&mut disclosures, "access-log entry", &d.id)?;
                counts.disclosures += 1;
                visit(Rec::Disclosure(d))?;
            }
            R_END => {
                let end: Counts = r.read_json(len, "end")?;
                if end != counts {
                    return Err(corrupt("the end marker's counts do not match the content"));
                }
                if !r.at_end() {
                    return Err(corrupt("there is data after the end marker"));
                }
                return Ok(counts);
            }
            t => return Err(corrupt(format!("unknown record type {t}"))),
        }
    }
}
