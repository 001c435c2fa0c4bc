//! The documents of a run, each a pure function of the [`Report`](crate::report::Report):
//! [`stops_csv()`] and [`alarms_csv()`] for spreadsheets, [`json()`] for programs, [`html()`]
//! for people.

mod csv;
mod html;
mod json;

pub use csv::{ALARMS_HEADER, STOPS_HEADER, alarms_csv, stops_csv};
pub use html::html;
pub use json::json;
