//! # chatter-report-kit
//!
//! What every Chatter report plugin draws with, so the reports of a shop look and read alike:
//!
//! - [`answers`]: the host's answers to the batched machine-data calls, per machine.
//! - [`page`]: one self-contained HTML5 document ([`Page`]) with a heading (organization,
//!   period, time zone), the run's recommendations, per-shift table rows, sections of tables and figures, and a
//!   footer naming the plugin. Inline styles only: no script and no external resource, because
//!   the host shows reports in a sandboxed iframe under a strict content security policy.
//! - [`timeline`]: a machine's states over a range as a small SVG bar, with a legend and the
//!   ticks of a period (days, or shifts of one day); a machine's page section of both.
//! - [`chart`]: horizontal bars comparing figures (time lost per alarm, factors of OEE).
//! - [`csv`]: RFC 4180 CSV.
//! - [`format`](mod@format): durations (`2.4 h`), percentages (`63.2 %`), cycle times (`4:12`), exact
//!   seconds for files (`12.345`), RFC 3339 moments in UTC and times of day (`06:05`).
//! - [`html`]: escaping of text for markup.
//! - [`schedule`]: the request's shifts grouped by name, and the scheduled time they make up.
//! - [`sample`]: a made-up request (days and two shifts a day) for report plugins' unit tests.
//! - [`states`]: time per machine state, summed.
//!
//! Everything here is pure: no host call is made, so a report's rendering is unit tested
//! natively.
//!
//! ```
//! use chatter_report_kit::{Page, Section, Table};
//!
//! let mut table = Table::new().column("Machine").numeric("Utilization");
//! table.row(["Mill 3", "63.2 %"]);
//! let html = Page::new("Utilization")
//!     .organization("Acme Machining")
//!     .period("2025-03-03", "2025-03-09")
//!     .time_zone("America/Chicago")
//!     .section(Section::new("Fleet").table(&table))
//!     .generated_by("utilization", "0.1.0")
//!     .render();
//! assert!(html.starts_with("<!DOCTYPE html>"));
//! assert!(!html.contains("<script"));
//! ```

pub mod answers;
pub mod chart;
pub mod csv;
pub mod format;
pub mod html;
pub mod page;
pub mod sample;
pub mod schedule;
pub mod states;
pub mod timeline;

pub use chart::{Bar, bar_chart};
pub use csv::Csv;
pub use page::{Page, Section, Table};
pub use schedule::Schedule;
pub use states::StateTimes;
pub use timeline::{Tick, legend, machine_section, period_ticks, state_timeline};
