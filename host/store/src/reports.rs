//! The storage interface of reports: the archive of an organization's report runs and the
//! documents they produced, and the schedules that run reports by themselves.

use chatter_model::{Document, OrgId, ReportRun, ReportSchedule};

use crate::error::StoreError;

/// Durable storage of report runs and their documents, every call scoped by organization.
///
/// Writes are durable when they return, like [`Store`](crate::Store)'s.
#[async_trait::async_trait]
pub trait Reports: Send + Sync + 'static {
    /// Stores a run, replacing the one with its id. Fails with
    /// [`StoreError::UnknownOrganization`] when its organization does not exist.
    async fn put_report_run(&self, run: &ReportRun) -> Result<(), StoreError>;

    /// The organization's run `id`.
    async fn report_run(&self, org: &OrgId, id: &str) -> Result<Option<ReportRun>, StoreError>;

    /// The organization's `limit` most recent runs, newest first.
    async fn report_runs(&self, org: &OrgId, limit: usize) -> Result<Vec<ReportRun>, StoreError>;

    /// Stores a document of the organization's run `run`, replacing one of the same name.
    async fn put_report_document(
        &self,
        org: &OrgId,
        run: &str,
        document: &Document,
    ) -> Result<(), StoreError>;

    /// The document `name` of the organization's run `run`.
    async fn report_document(
        &self,
        org: &OrgId,
        run: &str,
        name: &str,
    ) -> Result<Option<Document>, StoreError>;

    /// Stores a schedule, replacing the one with its id. Fails with
    /// [`StoreError::UnknownOrganization`] when its organization does not exist.
    async fn put_report_schedule(&self, schedule: &ReportSchedule) -> Result<(), StoreError>;

    /// The organization's schedule `id`.
    async fn report_schedule(
        &self,
        org: &OrgId,
        id: &str,
    ) -> Result<Option<ReportSchedule>, StoreError>;

    /// The organization's schedules, by id.
    async fn report_schedules(&self, org: &OrgId) -> Result<Vec<ReportSchedule>, StoreError>;

    /// Every organization's schedules, for the scheduler.
    async fn all_report_schedules(&self) -> Result<Vec<ReportSchedule>, StoreError>;

    /// Removes the organization's schedule `id`; returns whether it was there.
    async fn remove_report_schedule(&self, org: &OrgId, id: &str) -> Result<bool, StoreError>;
}
