//! Chatter's utilization report: how much of its scheduled time each machine ran, per shift,
//! what the rest went to, the parts and cycles it made, and recommendations where it falls
//! short.
//!
//! A run makes four machine-data calls whatever the number of machines and days: `machines`
//! for the names, one `timelines` at full resolution (long stops need exact stretches), one
//! `totals-over` over every shift occurrence and the scheduled time, one `events` for cycles
//! and alarms. It hands over `utilization.csv`, `utilization.json`, the recommendations and
//! `utilization.html`, in that order and each as soon as it is ready, so a failure keeps what
//! came before.
//!
//! Everything but the host calls is pure and tested natively:
//!
//! - [`params`]: the run's parameters;
//! - [`stats`]: the figures per machine and shift;
//! - [`stops`]: long idle stretches and the alarms before them;
//! - [`advice`]: the recommendation rules;
//! - [`report`]: a run put together from the host's answers;
//! - [`documents`]: CSV, JSON and HTML.
//!
//! Shifts and scheduled time come from [`chatter_report_kit::schedule`], and the host's answers
//! are taken apart per machine with [`chatter_report_kit::answers`].

pub mod advice;
pub mod documents;
pub mod params;
pub mod report;
pub mod stats;
pub mod stops;

use chatter_report_kit::Schedule;
use chatter_sdk::machine_data::{EventKinds, events, machines, timelines, totals_over};
use chatter_sdk::output::{Document, emit, recommend};
use chatter_sdk::{Error, ErrorCode, Report, ReportRequest, TimeRange, log};

use crate::params::Parameters;
use crate::report::{Answers, build};

/// The report the host calls.
struct Utilization;

impl Report for Utilization {
    fn generate(request: ReportRequest) -> Result<(), Error> {
        let parameters = Parameters::from_request(&request.parameters)?;
        let schedule = Schedule::for_request(&request);
        let answers = fetch(&request, &schedule.query_ranges())?;
        let report = build(request, parameters, schedule, answers)?;

        hand_over(Document::csv("utilization.csv", documents::csv(&report)))?;
        hand_over(Document::json(
            "utilization.json",
            documents::json(&report)?,
        ))?;
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
        hand_over(Document::html("utilization.html", documents::html(&report)))
    }
}

/// The host's answers for the run: one call of each kind for all machines.
fn fetch(request: &ReportRequest, ranges: &[TimeRange]) -> Result<Answers, Error> {
    let ids = &request.machines;
    Ok(Answers {
        machines: machines(),
        timelines: timelines(ids, request.period, None)
            .map_err(|e| context("machine-data timelines", e))?,
        totals: totals_over(ids, ranges).map_err(|e| context("machine-data totals-over", e))?,
        events: events(ids, request.period, EventKinds::CYCLES | EventKinds::ALARMS)
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

chatter_sdk::export_report!(Utilization);
