//! # chatter-report-kit
//!
//! What every Chatter report plugin draws with, so the reports of a shop look and read alike:
//!
//! - [`page`]: one self-contained HTML5 document ([`Page`]) with a heading (organization,
//!   period, time zone), the run's recommendations, sections of tables and figures, and a
//!   footer naming the plugin. Inline styles only: no script and no external resource, because
//!   the host shows reports in a sandboxed iframe under a strict content security policy.
//! - [`timeline`]: a machine's states over a range as a small SVG bar, with a legend.
//! - [`csv`]: RFC 4180 CSV.
//! - [`format`](mod@format): durations (`2.4 h`), percentages (`63.2 %`), cycle times (`4:12`) and exact
//!   seconds for files (`12.345`).
//! - [`html`]: escaping of text for markup.
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

pub mod csv;
pub mod format;
pub mod html;
pub mod page;
pub mod timeline;

pub use csv::Csv;
pub use page::{Page, Section, Table};
pub use timeline::{Tick, legend, state_timeline};
