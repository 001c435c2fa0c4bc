//! The three documents of a run, each a pure function of the [`Report`](crate::report::Report):
//! [`csv()`] for spreadsheets, [`json()`] for programs, [`html()`] for people.

mod csv;
mod html;
mod json;

pub use csv::{HEADER, csv};
pub use html::html;
pub use json::json;
