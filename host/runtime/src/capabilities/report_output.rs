//! `report-output`: where a report hands its documents and recommendations as it makes them.
//!
//! They are kept in the instance's store as they arrive, so a report that fails or is stopped
//! half-way still leaves what it produced. Each is checked on arrival: names, media types,
//! sizes and counts within the run's limits, and a recommendation only about a machine of the
//! run.

use chatter_model as model;
use chatter_model::{MachineId, Severity};
use wasmtime::component::{HasSelf, Linker};

use crate::bindings::driver::chatter::plugin::types::{Error, ErrorCode};
use crate::bindings::report::chatter::plugin::report_output::{
    self, Document, Recommendation, Severity as WitSeverity,
};
use crate::host_state::HostState;

/// Most documents a run may produce.
pub const MAX_DOCUMENTS: usize = 16;
/// Most bytes of all documents of a run together.
pub const MAX_DOCUMENT_BYTES: usize = 32 << 20;
/// Most recommendations a run may give.
pub const MAX_RECOMMENDATIONS: usize = 100;
/// Longest recommendation text, in bytes.
pub const MAX_TEXT_BYTES: usize = 2_000;
/// Most pieces of evidence per recommendation.
pub const MAX_EVIDENCE: usize = 20;
/// The media types a document may have.
pub const MEDIA_TYPES: [&str; 5] = [
    "text/html",
    "text/csv",
    "application/json",
    "application/pdf",
    "text/plain",
];

/// What a report has handed over so far.
#[derive(Debug, Clone, Default)]
pub struct ReportProduct {
    /// Documents, in the order they arrived.
    pub documents: Vec<model::Document>,
    /// Recommendations, in the order they arrived.
    pub recommendations: Vec<model::Recommendation>,
}

impl ReportProduct {
    fn document_bytes(&self) -> usize {
        self.documents.iter().map(|d| d.content.len()).sum()
    }
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    report_output::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

fn denied(message: String) -> Error {
    Error {
        code: ErrorCode::Denied,
        message,
    }
}

/// Whether `name` is a plain file name: letters, digits, `.`, `-`, `_`, not starting with `.`.
fn is_file_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

impl HostState {
    fn check_document(&self, document: &Document) -> Result<(), Error> {
        let product = &self.report;
        if !is_file_name(&document.name) {
            return Err(denied(format!(
                "document name `{}` is not a plain file name (letters, digits, `.`, `-`, `_`)",
                document.name.escape_debug()
            )));
        }
        if !MEDIA_TYPES.contains(&document.media_type.as_str()) {
            return Err(denied(format!(
                "document `{}` has media type `{}`; allowed: {}",
                document.name,
                document.media_type.escape_debug(),
                MEDIA_TYPES.join(", ")
            )));
        }
        if product.documents.iter().any(|d| d.name == document.name) {
            return Err(Error {
                code: ErrorCode::InvalidConfig,
                message: format!(
                    "a document named `{}` was handed over already",
                    document.name
                ),
            });
        }
        if product.documents.len() >= MAX_DOCUMENTS {
            return Err(denied(format!(
                "a run produces at most {MAX_DOCUMENTS} documents"
            )));
        }
        let total = product.document_bytes() + document.content.len();
        if total > MAX_DOCUMENT_BYTES {
            return Err(denied(format!(
                "document `{}` would bring the run's documents to {total} bytes; at most \
                 {MAX_DOCUMENT_BYTES}",
                document.name
            )));
        }
        Ok(())
    }

    fn check_recommendation(&self, recommendation: &Recommendation) -> Result<(), Error> {
        if self.report.recommendations.len() >= MAX_RECOMMENDATIONS {
            return Err(denied(format!(
                "a run gives at most {MAX_RECOMMENDATIONS} recommendations"
            )));
        }
        let text = recommendation.text.trim();
        if text.is_empty() || text.len() > MAX_TEXT_BYTES {
            return Err(denied(format!(
                "a recommendation's text must have 1 to {MAX_TEXT_BYTES} bytes; this one has {}",
                text.len()
            )));
        }
        if recommendation.evidence.len() > MAX_EVIDENCE {
            return Err(denied(format!(
                "a recommendation has at most {MAX_EVIDENCE} pieces of evidence"
            )));
        }
        if let Some(machine) = &recommendation.machine
            && !self.is_run_machine(machine)
        {
            return Err(denied(format!(
                "a recommendation names machine `{machine}`, which is not one of this run's"
            )));
        }
        Ok(())
    }

    fn is_run_machine(&self, id: &str) -> bool {
        self.context
            .machine_data
            .as_ref()
            .is_some_and(|data| data.machines().iter().any(|m| m.id.as_str() == id))
    }
}

impl report_output::Host for HostState {
    fn emit(&mut self, document: Document) -> wasmtime::Result<Result<(), Error>> {
        if let Err(error) = self.check_document(&document) {
            return Ok(Err(error));
        }
        tracing::debug!(
            name = %document.name,
            media_type = %document.media_type,
            bytes = document.content.len(),
            "report document handed over"
        );
        self.report.documents.push(model::Document {
            name: document.name,
            media_type: document.media_type,
            content: document.content,
        });
        Ok(Ok(()))
    }

    fn recommend(&mut self, recommendation: Recommendation) -> wasmtime::Result<Result<(), Error>> {
        if let Err(error) = self.check_recommendation(&recommendation) {
            return Ok(Err(error));
        }
        let machine = match recommendation.machine.map(MachineId::new).transpose() {
            Ok(machine) => machine,
            Err(e) => return Ok(Err(denied(e.to_string()))),
        };
        self.report.recommendations.push(model::Recommendation {
            severity: match recommendation.severity {
                WitSeverity::Info => Severity::Info,
                WitSeverity::Warning => Severity::Warning,
                WitSeverity::Critical => Severity::Critical,
            },
            machine,
            text: recommendation.text.trim().to_owned(),
            evidence: recommendation
                .evidence
                .into_iter()
                .map(|evidence| model::report::Evidence {
                    label: evidence.label,
                    value: evidence.value,
                    range: evidence.range.map(|r| (r.start, r.end)),
                })
                .collect(),
        });
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::is_file_name;

    #[test]
    fn document_names_are_plain_file_names() {
        for good in ["utilization.html", "oee-2024_05.csv", "a"] {
            assert!(is_file_name(good), "{good}");
        }
        for bad in [
            "",
            ".hidden",
            "../x",
            "a/b",
            "a b",
            "é.csv",
            &"x".repeat(101),
        ] {
            assert!(!is_file_name(bad), "{bad}");
        }
    }
}
