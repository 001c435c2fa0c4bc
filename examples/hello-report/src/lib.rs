//! The smallest Chatter report: a CSV of the time each machine of the run spent running.

use chatter_sdk::machine_data::{MachineState, machines, timelines};
use chatter_sdk::output::{Document, emit};
use chatter_sdk::{Error, Report, ReportRequest};

struct RunningTime;

impl Report for RunningTime {
    fn generate(request: ReportRequest) -> Result<(), Error> {
        let names = machines();
        let timelines = timelines(&request.machines, request.period, None)?;
        let mut csv = String::from("machine,name,running_s\n");
        for (info, timeline) in names.iter().zip(&timelines) {
            let running = timeline.totals.time(MachineState::Running) / 1_000_000_000;
            csv.push_str(&format!("{},{},{running}\n", info.id, info.name));
        }
        emit(&Document::csv("running.csv", csv))
    }
}

chatter_sdk::export_report!(RunningTime);
