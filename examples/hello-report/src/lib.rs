//! The smallest Chatter report: a CSV listing the machines it may read.

use chatter_sdk::machine_data::machines;
use chatter_sdk::{Document, Error, Report, ReportOutput, ReportRequest};

struct MachineList;

impl Report for MachineList {
    fn generate(_request: ReportRequest) -> Result<ReportOutput, Error> {
        let mut csv = String::from("id,name\n");
        for machine in machines() {
            csv.push_str(&format!("{},{}\n", machine.id, machine.name));
        }
        let document = Document {
            name: "machines.csv".into(),
            media_type: "text/csv".into(),
            content: csv.into_bytes(),
        };
        Ok(ReportOutput {
            documents: vec![document],
            recommendations: vec![],
        })
    }
}

chatter_sdk::export_report!(MachineList);
