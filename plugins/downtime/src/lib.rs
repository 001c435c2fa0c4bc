//! Chatter's downtime and alarms report: where planned time went when machines were not
//! running — every stop with the states it consisted of and the alarm behind it, the alarms
//! that cost the most time, microstops per machine and shift — with recommendations.
//!
//! A run makes three machine-data calls whatever the number of machines and days: `machines`
//! for the names, one `timelines` at full resolution (stops need exact stretches; the HTML
//! timeline merges what is narrower than a pixel itself), one `events` for the alarms. It hands
//! over `downtime.csv`, `downtime-alarms.csv`, `downtime.json`, the recommendations and
//! `downtime.html`, in that order and each as soon as it is ready, so a failure keeps what came
//! before.
//!
//! Everything but the host calls is pure and tested natively:
//!
//! - [`params`]: the run's parameters;
//! - [`stops`]: stops within planned time and the alarms behind them;
//! - [`alarms`]: alarms by time lost, per machine and for the fleet;
//! - [`stats`]: the figures per machine and shift;
//! - [`advice`]: the recommendation rules;
//! - [`report`]: a run put together from the host's answers;
//! - [`documents`]: CSV, JSON and HTML.
//!
//! Shifts and planned time come from [`chatter_report_kit::schedule`], and the host's answers
//! are taken apart per machine with [`chatter_report_kit::answers`].

pub mod advice;
pub mod alarms;
pub mod documents;
pub mod params;
pub mod report;
pub mod stats;
pub mod stops;

use chatter_report_kit::Schedule;
use chatter_sdk::machine_data::{EventKinds, events, machines, timelines};
use chatter_sdk::output::{Document, emit, recommend};
use chatter_sdk::{Error, ErrorCode, Report, ReportRequest, log};

use crate::params::Parameters;
use crate::report::{Answers, build};

/// The report the host calls.
struct Downtime;

impl Report for Downtime {
    fn generate(request: ReportRequest) -> Result<(), Error> {
        let parameters = Parameters::from_request(&request.parameters)?;
        let schedule = Schedule::for_request(&request);
        let answers = fetch(&request)?;
        let report = build(request, parameters, schedule, answers)?;

        hand_over(Document::csv("downtime.csv", documents::stops_csv(&report)))?;
        hand_over(Document::csv(
            "downtime-alarms.csv",
            documents::alarms_csv(&report),
        ))?;
        hand_over(Document::json("downtime.json", documents::json(&report)?))?;
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
        hand_over(Document::html("downtime.html", documents::html(&report)))
    }
}

/// The host's answers for the run: one call of each kind for all machines.
fn fetch(request: &ReportRequest) -> Result<Answers, Error> {
    let ids = &request.machines;
    Ok(Answers {
        machines: machines(),
        timelines: timelines(ids, request.period, None)
            .map_err(|e| context("machine-data timelines", e))?,
        events: events(ids, request.period, EventKinds::ALARMS)
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

chatter_sdk::export_report!(Downtime);
