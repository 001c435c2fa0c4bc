//! Chatter's OEE report: overall equipment effectiveness per machine, per shift and for the
//! fleet — availability × performance × quality — with the time each factor loses in hours,
//! what could not be measured and why, and recommendations.
//!
//! A run makes three machine-data calls whatever the number of machines and days: `machines`
//! for the names, one `totals-over` over every shift occurrence and the planned time (run time
//! and the states), one `events` for the completed cycles (programs and parts). The parameters
//! are checked first, so a wrong one fails the run before any output. It hands over `oee.csv`,
//! `oee.json`, the recommendations and `oee.html`, in that order and each as soon as it is
//! ready, so a failure keeps what came before.
//!
//! Everything but the host calls is pure and tested natively:
//!
//! - [`params`]: ideal cycle times and scrap;
//! - [`programs`]: completed cycles and parts per program;
//! - [`stats`]: the factors, OEE and the losses per machine, shift and fleet;
//! - [`advice`]: the recommendation rules;
//! - [`report`]: a run put together from the host's answers;
//! - [`documents`]: CSV, JSON and HTML.
//!
//! Shifts and planned time come from [`chatter_report_kit::schedule`], and the host's answers
//! are taken apart per machine with [`chatter_report_kit::answers`].

pub mod advice;
pub mod documents;
pub mod params;
pub mod programs;
pub mod report;
pub mod stats;

use chatter_report_kit::Schedule;
use chatter_sdk::machine_data::{EventKinds, events, machines, totals_over};
use chatter_sdk::output::{Document, emit, recommend};
use chatter_sdk::{Error, ErrorCode, Report, ReportRequest, TimeRange, log};

use crate::params::Parameters;
use crate::report::{Answers, build};

/// The report the host calls.
struct Oee;

impl Report for Oee {
    fn generate(request: ReportRequest) -> Result<(), Error> {
        let parameters = Parameters::from_request(&request.parameters)?;
        let schedule = Schedule::for_request(&request);
        let answers = fetch(&request, &schedule.query_ranges())?;
        let report = build(request, parameters, schedule, answers)?;

        hand_over(Document::csv("oee.csv", documents::csv(&report)))?;
        hand_over(Document::json("oee.json", documents::json(&report)?))?;
        for recommendation in &report.advice.recommendations {
            match recommend(recommendation) {
                Ok(()) => {}
                // Refused (past the run's limit, or a text too long): the HTML still lists it,
                // and the documents matter more than one recommendation.
                Err(error) if matches!(error.code, ErrorCode::Denied) => {
                    log::warn(&format!("a recommendation was refused: {}", error.message));
                }
                Err(error) => return Err(context("handing over a recommendation", error)),
            }
        }
        hand_over(Document::html("oee.html", documents::html(&report)))
    }
}

/// The host's answers for the run: one call of each kind for all machines.
fn fetch(request: &ReportRequest, ranges: &[TimeRange]) -> Result<Answers, Error> {
    let ids = &request.machines;
    Ok(Answers {
        machines: machines(),
        totals: totals_over(ids, ranges).map_err(|e| context("machine-data totals-over", e))?,
        events: events(ids, request.period, EventKinds::CYCLES)
            .map_err(|e| context("machine-data events", e))?,
    })
}

fn hand_over(document: Document) -> Result<(), Error> {
    let name = document.name.clone();
    emit(&document).map_err(|e| context(&format!("emitting {name}"), e))
}

/// `error` with what was being done in front of its message; its code is kept.
fn context(doing: &str, error: Error) -> Error {
    Error::new(error.code, format!("{doing}: {}", error.message))
}

chatter_sdk::export_report!(Oee);
