//! Report runs, their documents, and report schedules.

use chatter_model::{Document, OrgId, ReportRun, ReportSchedule};

use super::SledStore;
use crate::codec;
use crate::error::{CodecError, StoreError};
use crate::keys;
use crate::reports::Reports;

impl SledStore {
    /// Removes every report run and document of `org`.
    pub(super) fn purge_org_reports(&self, org: &OrgId) -> Result<(), StoreError> {
        let prefix = keys::org_prefix(org);
        self.trees.report_runs.remove_prefix(&prefix)?;
        self.trees.report_documents.remove_prefix(&prefix)?;
        self.trees.report_schedules.remove_prefix(&prefix)?;
        Ok(())
    }
}

fn run_key(org: &OrgId, run: &str) -> Vec<u8> {
    let mut key = keys::org_prefix(org);
    key.extend_from_slice(run.as_bytes());
    key
}

fn document_key(org: &OrgId, run: &str, name: &str) -> Vec<u8> {
    let mut key = run_key(org, run);
    key.push(0);
    key.extend_from_slice(name.as_bytes());
    key
}

/// `media type 0 content`: documents are large, so their bytes are not JSON-encoded.
fn encode_document(document: &Document) -> Vec<u8> {
    let mut value = Vec::with_capacity(document.media_type.len() + 1 + document.content.len());
    value.extend_from_slice(document.media_type.as_bytes());
    value.push(0);
    value.extend_from_slice(&document.content);
    value
}

fn decode_document(name: &str, key: &[u8], value: &[u8]) -> Result<Document, StoreError> {
    let corrupt = |source| codec::decode_error(keys::tree::REPORT_DOCUMENTS, key)(source);
    let split = value
        .iter()
        .position(|&b| b == 0)
        .ok_or_else(|| corrupt(CodecError::Empty))?;
    let media_type =
        std::str::from_utf8(&value[..split]).map_err(|_| corrupt(CodecError::Empty))?;
    Ok(Document {
        name: name.to_owned(),
        media_type: media_type.to_owned(),
        content: value[split + 1..].to_vec(),
    })
}

#[async_trait::async_trait]
impl Reports for SledStore {
    async fn put_report_run(&self, run: &ReportRun) -> Result<(), StoreError> {
        let value = codec::to_json("a report run", run)?;
        let key = run_key(&run.org, &run.id);
        self.insert_for_org(&self.trees.report_runs, &run.org, &key, &value)?;
        self.committer.commit().await
    }

    async fn report_run(&self, org: &OrgId, id: &str) -> Result<Option<ReportRun>, StoreError> {
        self.trees.report_runs.get_json(&run_key(org, id))
    }

    async fn report_runs(&self, org: &OrgId, limit: usize) -> Result<Vec<ReportRun>, StoreError> {
        // Run ids sort by creation, so the newest are last.
        let mut runs: Vec<ReportRun> = self.trees.report_runs.scan_json(&keys::org_prefix(org))?;
        runs.reverse();
        runs.truncate(limit);
        Ok(runs)
    }

    async fn put_report_document(
        &self,
        org: &OrgId,
        run: &str,
        document: &Document,
    ) -> Result<(), StoreError> {
        let key = document_key(org, run, &document.name);
        let value = encode_document(document);
        self.insert_for_org(&self.trees.report_documents, org, &key, &value)?;
        self.committer.commit().await
    }

    async fn report_document(
        &self,
        org: &OrgId,
        run: &str,
        name: &str,
    ) -> Result<Option<Document>, StoreError> {
        let key = document_key(org, run, name);
        let Some(value) = self.trees.report_documents.get(&key)? else {
            return Ok(None);
        };
        decode_document(name, &key, &value).map(Some)
    }

    async fn put_report_schedule(&self, schedule: &ReportSchedule) -> Result<(), StoreError> {
        let value = codec::to_json("a report schedule", schedule)?;
        let key = run_key(&schedule.org, &schedule.id);
        self.insert_for_org(&self.trees.report_schedules, &schedule.org, &key, &value)?;
        self.committer.commit().await
    }

    async fn report_schedule(
        &self,
        org: &OrgId,
        id: &str,
    ) -> Result<Option<ReportSchedule>, StoreError> {
        self.trees.report_schedules.get_json(&run_key(org, id))
    }

    async fn report_schedules(&self, org: &OrgId) -> Result<Vec<ReportSchedule>, StoreError> {
        self.trees
            .report_schedules
            .scan_json(&keys::org_prefix(org))
    }

    async fn all_report_schedules(&self) -> Result<Vec<ReportSchedule>, StoreError> {
        self.trees.report_schedules.scan_json(&[])
    }

    async fn remove_report_schedule(&self, org: &OrgId, id: &str) -> Result<bool, StoreError> {
        let removed = self.trees.report_schedules.remove(&run_key(org, id))?;
        self.committer.commit().await?;
        Ok(removed)
    }
}
