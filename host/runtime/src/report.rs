//! One instance of a report plugin generating one report for one organization: the request
//! handed in, the data it reads through [`MachineData`](crate::capabilities::machine_data),
//! and what it handed over, kept even when the run fails.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chatter_model::Timestamp;
use wasmtime::Store;

use crate::bindings::driver::chatter::plugin::types::TimeRange;
use crate::bindings::report::Report;
use crate::bindings::report::exports::chatter::plugin::report_generator::{
    Day as WitDay, Request as WitRequest, ShiftPeriod as WitShiftPeriod,
};
use crate::capabilities::report_output::ReportProduct;
use crate::engine::Runtime;
use crate::fault::Fault;
use crate::host_state::{HostState, InstanceContext};
use crate::instance::{arm_with, finish, instantiate_for_org};
use crate::package::{KindPre, LoadedPlugin};

/// One occurrence of a shift within a report's period, resolved in the organization's zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShiftPeriod {
    /// The shift's name.
    pub shift: String,
    /// The local date it began, `YYYY-MM-DD`.
    pub date: String,
    /// `[start, end)`, clipped to the period.
    pub range: (Timestamp, Timestamp),
}

/// One local day of a report's period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// `[start, end)`, clipped to the period.
    pub range: (Timestamp, Timestamp),
}

/// What a report is asked to cover.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    /// The organization's display name.
    pub organization: String,
    /// The machines covered; the instance's `MachineData` answers for these.
    pub machines: Vec<String>,
    /// `[start, end)`.
    pub period: (Timestamp, Timestamp),
    /// The organization's IANA time zone.
    pub time_zone: String,
    /// The local days of the period.
    pub days: Vec<Day>,
    /// The shifts overlapping the period.
    pub shifts: Vec<ShiftPeriod>,
    /// The parameters, validated against the manifest's schema.
    pub parameters: BTreeMap<String, String>,
}

/// How a run went: what the plugin handed over, and whether it finished.
#[derive(Debug)]
pub struct ReportOutcome {
    /// Documents and recommendations handed over before the end, whichever it was.
    pub product: ReportProduct,
    /// `Ok` when the plugin returned success.
    pub result: Result<(), Fault>,
}

/// A live report instance.
pub struct ReportInstance {
    store: Store<HostState>,
    bindings: Report,
    meter_fuel: bool,
}

impl ReportInstance {
    /// Instantiates `plugin` for the organization in `context`, whose `machine_data` is what
    /// the report may read.
    pub async fn start(
        runtime: &Runtime,
        plugin: Arc<LoadedPlugin>,
        context: InstanceContext,
    ) -> Result<Self, Fault> {
        let KindPre::Report(pre) = &plugin.pre else {
            return Err(Fault::Instantiate {
                message: format!("`{}` is not a report", plugin.id()),
            });
        };
        let (mut store, instance, meter_fuel) =
            instantiate_for_org(runtime, &plugin, pre, context).await?;
        let bindings = Report::new(&mut store, &instance).map_err(|e| Fault::Instantiate {
            message: e.to_string(),
        })?;
        Ok(ReportInstance {
            store,
            bindings,
            meter_fuel,
        })
    }

    /// Generates the report within `timeout`. Consumes the instance: a report instance serves
    /// one run, so nothing of one run leaks into the next.
    #[tracing::instrument(name = "plugin.generate", level = "debug", skip_all)]
    pub async fn generate(mut self, request: ReportRequest, timeout: Duration) -> ReportOutcome {
        arm_with(&mut self.store, self.meter_fuel, timeout);
        let request = to_wit_request(request);
        let generator = self.bindings.chatter_plugin_report_generator();
        let outcome = generator.call_generate(&mut self.store, &request).await;
        let result = finish(&self.store, outcome);
        ReportOutcome {
            product: std::mem::take(&mut self.store.data_mut().report),
            result,
        }
    }
}

fn to_wit_range((start, end): (Timestamp, Timestamp)) -> TimeRange {
    TimeRange { start, end }
}

fn to_wit_request(request: ReportRequest) -> WitRequest {
    WitRequest {
        organization: request.organization,
        machines: request.machines,
        period: to_wit_range(request.period),
        time_zone: request.time_zone,
        days: request
            .days
            .into_iter()
            .map(|day| WitDay {
                date: day.date,
                range: to_wit_range(day.range),
            })
            .collect(),
        shifts: request
            .shifts
            .into_iter()
            .map(|period| WitShiftPeriod {
                shift: period.shift,
                date: period.date,
                range: to_wit_range(period.range),
            })
            .collect(),
        parameters: request.parameters.into_iter().collect(),
    }
}
