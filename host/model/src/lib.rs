//! Chatter's domain types, shared by the runtime, the store and the server.
//!
//! Machine data follows the MTConnect model: every machine reports *data items*, each of category
//! sample, event or condition, and every reported value is an [`Observation`]. The host assigns
//! accepted observations a per-machine sequence number ([`StoredObservation`]), and derives a
//! machine's [`MachineStatus`] from the latest value of each data item.
//!
//! This crate knows nothing of WebAssembly, storage or HTTP.

mod account;
pub mod alert;
pub mod audit;
mod connection;
mod derived;
mod ids;
pub mod library;
mod machine;
mod observation;
pub mod report;
pub mod shift;
mod status;
mod token;

pub use account::{ApiToken, EmailLink, Invitation, LinkPurpose, Membership, Role, Session, User};
pub use alert::{AlertEvent, AlertRule, UserMute};
pub use connection::{
    Account, Connection, ConnectionStatus, LibraryEntry, Sealed, SyncFailure, SyncRecord,
};
pub use derived::{Alarm, Cycle, CycleEnd, Interval, PartCount, SignalMapping, Totals};
pub use ids::{IdError, MachineId, OrgId, PluginId, UserId};
pub use machine::{Endpoint, Feed, Machine, Organization, Retention};
pub use observation::{
    COLLECTION_STOPPED, Category, Condition, ConditionLevel, DataItem, Observation,
    StoredObservation, Timestamp, Value, now_ms, now_ns,
};
pub use report::{
    Cadence, Document, Recommendation, ReportRun, ReportSchedule, RunStatus, RunTrigger,
    SchedulePeriod, Severity,
};
pub use shift::{Shift, ShiftError, ShiftTime, Weekday};
pub use status::MachineStatus;
pub use token::{DeviceKind, DeviceToken};
