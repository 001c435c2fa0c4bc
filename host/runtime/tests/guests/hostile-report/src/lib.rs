//! A report plugin that misbehaves as its `behaviour` parameter says, so tests can check that
//! report runs are stopped or refused with a clear error, and keep what was produced.

use chatter_sdk::machine_data::{
    EventKinds, MachineState, events, machines, timelines, totals_over,
};
use chatter_sdk::output::{Document, Evidence, Recommendation, Severity, emit, recommend};
use chatter_sdk::{Error, ErrorCode, Report, ReportRequest, TimeRange, config};

struct Hostile;

impl Report for Hostile {
    fn generate(request: ReportRequest) -> Result<(), Error> {
        let behaviour = config::get("behaviour").unwrap_or_default();
        match behaviour.as_str() {
            "well-behaved" => summary(&request),
            "infinite-loop" => {
                emit(&Document::csv("before.csv", "a\n1\n".into()))?;
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "memory-bomb" => {
                emit(&Document::csv("before.csv", "a\n1\n".into()))?;
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "foreign-machine" => {
                let machine = config::get("machine").unwrap_or_default();
                timelines(&[machine], request.period, None)?;
                Ok(())
            }
            "fail-after-output" => {
                summary(&request)?;
                Err(Error {
                    code: ErrorCode::Internal,
                    message: "gave up after the summary".into(),
                })
            }
            "bad-documents" => bad_documents(),
            "panic" => panic!("the report panicked on purpose"),
            other => Err(Error {
                code: ErrorCode::InvalidConfig,
                message: format!("unknown behaviour `{other}`"),
            }),
        }
    }
}

/// A CSV of running time, parts and cycles per machine, and a recommendation per machine that
/// never ran: what a well-behaved report does, through every batched call.
fn summary(request: &ReportRequest) -> Result<(), Error> {
    let names = machines();
    let timelines = timelines(&request.machines, request.period, Some(60_000_000_000))?;
    let ranges: Vec<TimeRange> = request.days.iter().map(|day| day.range).collect();
    let per_day = totals_over(&request.machines, &ranges)?;
    let events = events(&request.machines, request.period, EventKinds::CYCLES)?;
    let mut csv = String::from("machine,name,running_s,parts,cycles,days\n");
    for (((info, timeline), days), events) in
        names.iter().zip(&timelines).zip(&per_day).zip(&events)
    {
        let running = timeline.totals.time(MachineState::Running);
        csv.push_str(&format!(
            "{},{},{},{},{},{}\n",
            info.id,
            info.name,
            running / 1_000_000_000,
            timeline.totals.parts,
            events.cycles.len(),
            days.len()
        ));
        if running == 0 {
            recommend(&Recommendation {
                severity: Severity::Warning,
                machine: Some(info.id.clone()),
                text: format!("{} never ran in this period.", info.name),
                evidence: vec![Evidence::new("running", "0 s")],
            })?;
        }
    }
    emit(&Document::csv("summary.csv", csv))
}

/// Tries every way of handing over a document wrongly; each must be refused.
fn bad_documents() -> Result<(), Error> {
    let attempts = [
        Document::csv("../escape.csv", "x".into()),
        Document {
            name: "page.exe".into(),
            media_type: "application/x-msdownload".into(),
            content: vec![0; 4],
        },
        Document::csv("twice.csv", "1".into()),
        Document::csv("twice.csv", "2".into()),
    ];
    let mut refusals = Vec::new();
    for document in &attempts {
        if let Err(error) = emit(document) {
            refusals.push(error.message);
        }
    }
    let foreign = recommend(&Recommendation {
        severity: Severity::Info,
        machine: Some("someone-elses-machine".into()),
        text: "about a machine outside the run".into(),
        evidence: vec![],
    });
    if let Err(error) = foreign {
        refusals.push(error.message);
    }
    emit(&Document::csv("refusals.csv", refusals.join("\n")))
}

chatter_sdk::export_report!(Hostile);
