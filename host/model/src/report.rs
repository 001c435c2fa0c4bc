//! Reports: what a report plugin produces (documents and recommendations) and the record of a
//! run kept in the organization's archive.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{MachineId, OrgId, PluginId, ShiftTime, Timestamp, UserId, Weekday};

/// A file a report produced.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    /// File name offered for download, unique within the run (`utilization.html`).
    pub name: String,
    /// `text/html`, `text/csv`, `application/json` or `application/pdf`.
    pub media_type: String,
    /// The bytes.
    pub content: Vec<u8>,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document")
            .field("name", &self.name)
            .field("media_type", &self.media_type)
            .field("bytes", &self.content.len())
            .finish()
    }
}

/// A document's name, type and size, as the archive lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentInfo {
    /// File name.
    pub name: String,
    /// Media type.
    pub media_type: String,
    /// Size in bytes.
    pub bytes: u64,
}

impl From<&Document> for DocumentInfo {
    fn from(document: &Document) -> Self {
        DocumentInfo {
            name: document.name.clone(),
            media_type: document.media_type.clone(),
            bytes: document.content.len() as u64,
        }
    }
}

/// How much a recommendation matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Costs time or parts; worth acting on.
    Warning,
    /// Costs a lot; act now.
    Critical,
}

impl Severity {
    /// The name the API and pages use.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }
}

/// One fact a recommendation rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// What was measured.
    pub label: String,
    /// The figure, with its unit.
    pub value: String,
    /// When, if it is about a stretch of time: `[start, end)`.
    pub range: Option<(Timestamp, Timestamp)>,
}

/// Advice a report gives, in plain language, with the evidence behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    /// How much it matters.
    pub severity: Severity,
    /// The machine it is about, if one.
    pub machine: Option<MachineId>,
    /// The advice.
    pub text: String,
    /// The facts it rests on.
    pub evidence: Vec<Evidence>,
}

/// Who asked for a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunTrigger {
    /// A member, from the page or the API.
    User {
        /// Who.
        user: UserId,
    },
    /// A schedule of the organization.
    Schedule {
        /// Which one.
        schedule: String,
    },
}

/// Where a run stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RunStatus {
    /// The plugin is working.
    Running,
    /// The plugin finished.
    Succeeded,
    /// The run ended early; what was produced before is kept.
    Failed {
        /// What stopped it: `deadline`, `memory_limit`, `fuel_exhausted`, `trap`, `plugin_error`, …
        kind: String,
        /// What went wrong, in words.
        message: String,
    },
}

/// One run of a report for an organization, as the archive keeps it. The documents' bytes are
/// stored apart, by run and name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRun {
    /// Unique within the organization; sorts by time of creation.
    pub id: String,
    /// The organization.
    pub org: OrgId,
    /// The report plugin.
    pub plugin: PluginId,
    /// Its version at the time.
    pub plugin_version: String,
    /// The report's title, for lists (the plugin's description or the schedule's name).
    pub title: String,
    /// The period covered, `[start, end)`.
    pub period: (Timestamp, Timestamp),
    /// The machines covered.
    pub machines: Vec<MachineId>,
    /// The parameters, validated, defaults filled in.
    pub parameters: BTreeMap<String, String>,
    /// Who asked.
    pub trigger: RunTrigger,
    /// Milliseconds since the epoch when it was created.
    pub created_ms: i64,
    /// When it ended.
    pub finished_ms: Option<i64>,
    /// How many times the plugin was run for it (a scheduled run that fails is retried).
    pub attempts: u32,
    /// Where it stands.
    pub status: RunStatus,
    /// The documents produced.
    pub documents: Vec<DocumentInfo>,
    /// The recommendations given.
    pub recommendations: Vec<Recommendation>,
}

/// When a schedule runs, in the organization's time zone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "every", rename_all = "snake_case")]
pub enum Cadence {
    /// Every day at a local time.
    Day {
        /// The local time.
        at: ShiftTime,
    },
    /// Every week on a day, at a local time.
    Week {
        /// The day.
        day: Weekday,
        /// The local time.
        at: ShiftTime,
    },
    /// A cron expression of five fields (minute, hour, day of month, month, day of week), each
    /// `*`, a number, a range `a-b`, a list `a,b` or a step `*/n` / `a-b/n`; days of the week
    /// 0–7 or `mon`–`sun` (0 and 7 are Sunday).
    Cron {
        /// The expression.
        expression: String,
    },
}

/// What period a scheduled run covers, relative to when it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SchedulePeriod {
    /// The local day before the run.
    PreviousDay,
    /// The week (Monday to Sunday) before the run's week.
    PreviousWeek,
    /// The calendar month before the run's month.
    PreviousMonth,
}

/// A report an organization runs by itself and e-mails to some of its members.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportSchedule {
    /// Unique within the organization.
    pub id: String,
    /// The organization.
    pub org: OrgId,
    /// Its name, for the archive and the e-mail's subject.
    pub name: String,
    /// The report plugin.
    pub plugin: PluginId,
    /// The report's parameters.
    pub parameters: BTreeMap<String, String>,
    /// The machines; all of the organization's (at each run) when empty.
    pub machines: Vec<MachineId>,
    /// When it runs.
    pub cadence: Cadence,
    /// What each run covers.
    pub period: SchedulePeriod,
    /// Members the report is e-mailed to.
    pub recipients: Vec<UserId>,
    /// Who made it.
    pub created_by: UserId,
    /// Milliseconds since the epoch when it was made.
    pub created_ms: i64,
    /// The run it made last.
    pub last_run: Option<String>,
}
