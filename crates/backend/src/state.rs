//! [`AppState`]: the store, the signing key, the admin token and the clock
//! that every request shares, and the operations the handlers and the admin
//! commands call (each a thin call into [`crate::domain`]).

use crate::credentials::{CredentialIssuer, Issued, MAX_VALIDITY_DAYS};
use crate::domain::applications::SubmitOutcome;
use crate::domain::{applications, enrollment, issuing};
use crate::http::{Limits, Metrics};
use crate::store::sqlite::SqliteStore;
use crate::store::Store;
use crate::BackendError;
use cds_api::{
    ApplicationReceipt, ApplicationStatus, ClaimCredentials, CreateEnrollment, CredentialBundle,
    EnrollmentCode, RevocationListBody, ServiceInfo, SubmitApplication,
};
use cds_domain::{Clock, SystemClock};
use std::path::Path;
use std::sync::Arc;
use time::OffsetDateTime;
use uuid::Uuid;

/// A signed revocation list and the ids it was signed for.
type SignedRevocations = (Vec<String>, RevocationListBody);

/// Shared state of the backend. Cheap to clone.
///
/// The store is an `Arc<dyn Store>` rather than a type parameter: the state
/// is named by handlers, extractors, the binary and other crates' tests,
/// and a parameter would spread into all of them; the store is chosen at
/// start-up from configuration (SQLite today, PostgreSQL in issue 10), which
/// needs a runtime choice anyway; and one virtual call is nothing next to a
/// database round trip.
#[derive(Clone)]
pub struct AppState {
    store: Arc<dyn Store>,
    /// The city's credential signing key, when this backend issues
    /// credentials (see [`crate::credentials`]).
    issuer: Option<Arc<CredentialIssuer>>,
    /// Bearer token required to issue and revoke.
    pub(crate) admin_token: Option<Arc<str>>,
    /// "Now" for every rule; replaceable so tests can expire codes and let
    /// rate-limit windows pass without sleeping.
    clock: Arc<dyn Clock>,
    /// Validity of credentials issued to devices (claim and refresh).
    credential_validity_days: u32,
    /// The last signed revocation list and the ids it holds: served again
    /// while the ids do not change, so a busy verifier endpoint does not
    /// sign on every request. A cache only: every instance keeps its own,
    /// and the database stays the truth (the ids are read every time).
    revocation_cache: Arc<std::sync::Mutex<Option<SignedRevocations>>>,
    /// Body, time and concurrency limits of the HTTP layer.
    limits: Limits,
    /// This instance's request metrics.
    metrics: Arc<Metrics>,
    /// Set once the database is migrated and the catalogue seeded
    /// ([`AppState::prepare`]); `/ready` says no until then.
    prepared: Arc<std::sync::atomic::AtomicBool>,
    /// Why the last [`AppState::prepare`] failed, for `/ready`.
    prepare_error: Arc<std::sync::Mutex<Option<String>>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// A clock given as Unix seconds by a closure ([`AppState::with_clock`]).
struct UnixFnClock(Box<dyn Fn() -> i64 + Send + Sync>);

impl Clock for UnixFnClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp((self.0)()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

impl AppState {
    /// Opens (creating if needed) the SQLite database file at `path`,
    /// migrates it to the current schema and seeds the catalogue if it is
    /// empty.
    pub fn open(path: &Path) -> Result<AppState, BackendError> {
        let store = SqliteStore::open(path)?;
        seed_blocking(&store)?;
        Ok(Self::with_store(Arc::new(store)))
    }

    /// A fresh private in-memory database (tests, demos).
    pub fn in_memory() -> Result<AppState, BackendError> {
        let store = SqliteStore::in_memory()?;
        seed_blocking(&store)?;
        Ok(Self::with_store(Arc::new(store)))
    }

    /// The state over any store, seeding its catalogue if it is empty.
    pub async fn over(store: Arc<dyn Store>) -> Result<AppState, BackendError> {
        let state = Self::starting(store);
        state.prepare().await?;
        Ok(state)
    }

    /// The state over a store that may not be reachable yet: not ready
    /// until [`AppState::prepare`] (or [`AppState::prepare_until_ready`])
    /// has migrated the database and seeded the catalogue. Requests before
    /// then are answered 503.
    pub fn starting(store: Arc<dyn Store>) -> AppState {
        AppState {
            prepared: Default::default(),
            ..Self::with_store(store)
        }
    }

    fn with_store(store: Arc<dyn Store>) -> AppState {
        AppState {
            store,
            issuer: None,
            admin_token: None,
            clock: Arc::new(SystemClock),
            credential_validity_days: enrollment::DEFAULT_DEVICE_VALIDITY_DAYS,
            revocation_cache: Default::default(),
            limits: Limits::default(),
            metrics: Default::default(),
            prepared: Arc::new(std::sync::atomic::AtomicBool::new(true)),
            prepare_error: Default::default(),
        }
    }

    /// Migrates the database (where the store was made lazily) and seeds
    /// the catalogue if it is empty; then the state is ready. Safe to call
    /// again and from several instances at once.
    pub async fn prepare(&self) -> Result<(), BackendError> {
        let outcome = async {
            self.store.prepare().await?;
            let services =
                cds_api::seed_catalogue().map_err(|e| BackendError::Data(e.to_string()))?;
            self.store.seed_services_if_empty(services).await?;
            Ok::<_, BackendError>(())
        }
        .await;
        let mut last = self
            .prepare_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match outcome {
            Ok(()) => {
                *last = None;
                self.prepared
                    .store(true, std::sync::atomic::Ordering::Release);
                Ok(())
            }
            Err(e) => {
                *last = Some(e.to_string());
                Err(e)
            }
        }
    }

    /// [`AppState::prepare`] again and again, with a growing pause (1 s
    /// to 30 s), until it succeeds: a backend started while its database
    /// is down keeps serving `/health` and answering 503, and becomes ready
    /// when the database comes up.
    pub async fn prepare_until_ready(&self) {
        let mut pause = std::time::Duration::from_secs(1);
        loop {
            match self.prepare().await {
                Ok(()) => {
                    tracing::info!("database ready");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_secs = pause.as_secs(), "database not ready");
                }
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_secs(30));
        }
    }

    /// Ready to take traffic: the schema version, or why not.
    pub async fn readiness(&self) -> Result<i64, String> {
        if !self.prepared.load(std::sync::atomic::Ordering::Acquire) {
            let last = self
                .prepare_error
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            return Err(match last {
                Some(e) => format!("starting: the database is not ready yet ({e})"),
                None => "starting: the database is not ready yet".to_owned(),
            });
        }
        self.store.ready().await.map_err(|e| e.to_string())
    }

    /// This state with other HTTP limits.
    pub fn with_limits(mut self, limits: Limits) -> AppState {
        self.limits = limits;
        self
    }

    /// The HTTP limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// This instance's request metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// This state with a credential issuer.
    pub fn with_issuer(mut self, issuer: CredentialIssuer) -> AppState {
        self.issuer = Some(Arc::new(issuer));
        self
    }

    /// This state with the admin bearer token required to issue and revoke.
    pub fn with_admin_token(mut self, token: &str) -> AppState {
        self.admin_token = Some(Arc::from(token));
        self
    }

    /// This state reading time from `clock` (a [`cds_domain::ManualClock`]
    /// in tests).
    pub fn with_time(mut self, clock: impl Clock) -> AppState {
        self.clock = Arc::new(clock);
        self
    }

    /// This state with a clock given as Unix seconds. Kept for callers
    /// written before [`AppState::with_time`]; prefer that.
    pub fn with_clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> AppState {
        self.clock = Arc::new(UnixFnClock(Box::new(clock)));
        self
    }

    /// This state issuing device credentials valid for `days`, clamped to
    /// 1..=[`MAX_VALIDITY_DAYS`].
    pub fn with_credential_validity_days(mut self, days: u32) -> AppState {
        self.credential_validity_days = days.clamp(1, MAX_VALIDITY_DAYS);
        self
    }

    /// Now, in Unix seconds, by this state's clock.
    pub fn now(&self) -> i64 {
        self.clock.now().unix_timestamp()
    }

    /// The store (tests, admin tools).
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub(crate) fn issuer(&self) -> Result<&Arc<CredentialIssuer>, BackendError> {
        self.issuer
            .as_ref()
            .ok_or_else(|| BackendError::NotFound("this backend does not issue credentials".into()))
    }

    /// The catalogue, ordered by service code.
    pub async fn services(&self) -> Result<Vec<ServiceInfo>, BackendError> {
        Ok(self.store.services().await?)
    }

    /// Stores a submission exactly once (see [`applications::submit`]).
    pub async fn submit(&self, req: SubmitApplication) -> Result<SubmitOutcome, BackendError> {
        applications::submit(&*self.store, &*self.clock, req).await
    }

    /// The receipt of a stored application.
    pub async fn application(&self, case_number: &str) -> Result<ApplicationReceipt, BackendError> {
        applications::application(&*self.store, case_number).await
    }

    /// Changes an application's status and records it in the history.
    pub async fn set_status(
        &self,
        case_number: &str,
        status: ApplicationStatus,
    ) -> Result<ApplicationReceipt, BackendError> {
        applications::set_status(&*self.store, &*self.clock, case_number, status).await
    }

    /// Number of stored applications.
    pub async fn application_count(&self) -> Result<u64, BackendError> {
        Ok(self.store.application_count().await?)
    }

    /// The schema version of the open database.
    pub async fn schema_version(&self) -> Result<i64, BackendError> {
        Ok(self.store.schema_version().await?)
    }

    /// Records an enrolment and returns its one-time activation code.
    pub async fn create_enrollment(
        &self,
        req: CreateEnrollment,
        now: i64,
    ) -> Result<EnrollmentCode, BackendError> {
        enrollment::create_enrollment(&*self.store, req, now).await
    }

    /// Claims an activation code for a new device.
    pub async fn claim_credentials(
        &self,
        req: ClaimCredentials,
        now: i64,
    ) -> Result<CredentialBundle, BackendError> {
        let issuer = Arc::clone(self.issuer()?);
        enrollment::claim_credentials(
            &*self.store,
            &issuer,
            self.credential_validity_days,
            req,
            now,
        )
        .await
    }

    /// Fresh credentials for the device holding `token`.
    pub async fn refresh_credentials(
        &self,
        token: &str,
        now: i64,
    ) -> Result<CredentialBundle, BackendError> {
        let issuer = Arc::clone(self.issuer()?);
        enrollment::refresh_credentials(
            &*self.store,
            &issuer,
            self.credential_validity_days,
            token,
            now,
        )
        .await
    }

    /// Signs the device holding `token` out.
    pub async fn forget_device(&self, token: &str, now: i64) -> Result<(), BackendError> {
        enrollment::forget_device(&*self.store, token, now).await
    }

    /// Issues and records a credential.
    pub async fn issue_credential(
        &self,
        req: cds_api::IssueCredential,
        now: i64,
    ) -> Result<Issued, BackendError> {
        let issuer = Arc::clone(self.issuer()?);
        issuing::issue_credential(&*self.store, &issuer, req, now).await
    }

    /// Revokes a credential; returns its id and revocation time.
    pub async fn revoke_credential(&self, id: &str, now: i64) -> Result<(Uuid, i64), BackendError> {
        issuing::revoke_credential(&*self.store, id, now).await
    }

    /// The signed revocation list: signed again only when the revoked ids
    /// change (its `issued_at` then says since when the list holds).
    pub async fn revocations(&self, now: i64) -> Result<RevocationListBody, BackendError> {
        let issuer = Arc::clone(self.issuer()?);
        let ids = self.store.revoked_ids(now).await?;
        let cached = {
            let cache = self
                .revocation_cache
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            cache
                .as_ref()
                .filter(|(held, _)| *held == ids)
                .map(|(_, body)| body.clone())
        };
        if let Some(body) = cached {
            return Ok(body);
        }
        let body = issuing::sign_revocations(&issuer, ids.clone(), now)?;
        *self
            .revocation_cache
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some((ids, body.clone()));
        Ok(body)
    }
}

/// Seeds the catalogue of a SQLite store just opened.
fn seed_blocking(store: &SqliteStore) -> Result<(), BackendError> {
    let services = cds_api::seed_catalogue().map_err(|e| BackendError::Data(e.to_string()))?;
    store.seed_services_now(&services)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cds_api::{Applicant, DocumentKind, DocumentRef};
    use cds_domain::ManualClock;
    use time::macros::datetime;

    fn request(key: &str) -> SubmitApplication {
        SubmitApplication {
            idempotency_key: key.into(),
            service_code: "1.001612".into(),
            applicant: Applicant {
                id_number: "001099012345".into(),
                full_name: "Trần Thị Bích".into(),
                date_of_birth: "1988-11-30".into(),
            },
            documents: vec![DocumentRef {
                kind: DocumentKind::Cccd,
                number: "001099012345".into(),
                full_name: "Trần Thị Bích".into(),
                date_of_birth: "1988-11-30".into(),
                attachment_count: 2,
            }],
            submitted_at: "2026-03-02T08:00:00+07:00".into(),
        }
    }

    const KEY1: &str = "0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1a01";
    const KEY2: &str = "0b7e6c3a-2f7d-4f5e-9c1a-6d2b8e4f1a02";

    #[tokio::test]
    async fn empty_database_is_migrated_and_seeded() {
        let state = AppState::in_memory().unwrap();
        assert_eq!(
            state.schema_version().await.unwrap(),
            i64::try_from(crate::store::sqlite::migrations::MIGRATIONS.len()).unwrap()
        );
        let services = state.services().await.unwrap();
        assert_eq!(services, {
            let mut s = cds_api::seed_catalogue().unwrap();
            s.sort_by(|a, b| a.code.cmp(&b.code));
            s
        });
        assert_eq!(state.application_count().await.unwrap(), 0);
    }

    #[tokio::test]
    async fn reopening_a_file_keeps_data_and_does_not_reseed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.sqlite3");
        let first = AppState::open(&path).unwrap();
        let receipt = first.submit(request(KEY1)).await.unwrap().receipt;
        let n_services = first.services().await.unwrap().len();
        drop(first);

        let again = AppState::open(&path).unwrap();
        assert_eq!(
            again.application(&receipt.case_number).await.unwrap(),
            receipt
        );
        assert_eq!(again.application_count().await.unwrap(), 1);
        assert_eq!(again.services().await.unwrap().len(), n_services);
        let second = again.submit(request(KEY2)).await.unwrap().receipt;
        assert_ne!(second.case_number, receipt.case_number);
    }

    #[tokio::test]
    async fn case_numbers_count_up_within_the_year() {
        let state = AppState::in_memory().unwrap();
        let a = state.submit(request(KEY1)).await.unwrap().receipt;
        let b = state.submit(request(KEY2)).await.unwrap().receipt;
        let year = a.received_at[..4].to_owned();
        assert_eq!(a.case_number, format!("HS-{year}-000001"));
        assert_eq!(b.case_number, format!("HS-{year}-000002"));
    }

    #[tokio::test]
    async fn set_status_updates_and_records_history() {
        let state = AppState::in_memory().unwrap();
        let r = state.submit(request(KEY1)).await.unwrap().receipt;
        let updated = state
            .set_status(&r.case_number, ApplicationStatus::Approved)
            .await
            .unwrap();
        assert_eq!(updated.status, ApplicationStatus::Approved);
        assert_eq!(
            state.application(&r.case_number).await.unwrap().status,
            ApplicationStatus::Approved
        );
        let history = state.store().status_history(&r.case_number).await.unwrap();
        assert_eq!(history.len(), 1);
        assert!(matches!(
            state
                .set_status("HS-2000-999999", ApplicationStatus::Approved)
                .await,
            Err(BackendError::NotFound(_))
        ));
    }

    #[tokio::test]
    async fn submit_and_set_status_read_the_injected_clock() {
        // A Friday late in 2030 (UTC): received then, due 7 working days on,
        // numbered in 2030, and the year turns on the clock, not the wall.
        let clock = ManualClock::new(datetime!(2030-12-27 10:00:05 UTC));
        let state = AppState::in_memory().unwrap().with_time(clock.clone());
        let r = state.submit(request(KEY1)).await.unwrap().receipt;
        assert_eq!(r.received_at, "2030-12-27T10:00:05Z");
        assert_eq!(r.due_date, "2031-01-07"); // 7 working days
        assert_eq!(r.case_number, "HS-2030-000001");
        assert_eq!(
            state.now(),
            datetime!(2030-12-27 10:00:05 UTC).unix_timestamp()
        );

        clock.advance(time::Duration::days(5));
        state
            .set_status(&r.case_number, ApplicationStatus::InReview)
            .await
            .unwrap();
        let history = state.store().status_history(&r.case_number).await.unwrap();
        assert_eq!(history[0].changed_at, "2031-01-01T10:00:05Z");
        let next = state.submit(request(KEY2)).await.unwrap().receipt;
        assert_eq!(next.case_number, "HS-2031-000001");
    }

    #[tokio::test]
    async fn the_unix_closure_clock_still_works() {
        let state = AppState::in_memory().unwrap().with_clock(|| 1_795_910_400);
        assert_eq!(state.now(), 1_795_910_400);
        let r = state.submit(request(KEY1)).await.unwrap().receipt;
        assert_eq!(r.received_at, "2026-11-29T00:00:00Z");
    }
}
