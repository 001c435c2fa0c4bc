//! The [`Report`] trait, [`export_report!`](crate::export_report), [`machine_data`] (the
//! read-only view of the organization's derived machine data) and [`output`] (where documents
//! and recommendations go).

use crate::Error;

pub use crate::bindings::report::exports::chatter::plugin::report_generator::{
    Day, Request as ReportRequest, ShiftPeriod,
};

/// Derived machine data of the machines a report run covers. Each function answers for many
/// machines or ranges at once; ask for everything a report needs in a few calls.
pub mod machine_data {
    pub use crate::bindings::report::chatter::plugin::machine_data::{
        Alarm, Cycle, CycleEnd, EventKinds, MachineEvents, MachineInfo, MachineState,
        ObservationPage, PartCount, StateInterval, Timeline, Totals, events, machines,
        observations, timelines, totals_over,
    };

    impl MachineState {
        /// Every state, in order of precedence.
        pub const ALL: [MachineState; 6] = [
            MachineState::Offline,
            MachineState::Alarm,
            MachineState::Running,
            MachineState::Paused,
            MachineState::Setup,
            MachineState::Idle,
        ];

        /// The state's name as people read it: `running`, `idle`, …
        pub fn name(self) -> &'static str {
            match self {
                MachineState::Offline => "offline",
                MachineState::Alarm => "alarm",
                MachineState::Running => "running",
                MachineState::Paused => "paused",
                MachineState::Setup => "setup",
                MachineState::Idle => "idle",
            }
        }
    }

    impl Totals {
        /// Nanoseconds spent in `state`.
        pub fn time(&self, state: MachineState) -> i64 {
            match state {
                MachineState::Offline => self.offline,
                MachineState::Alarm => self.alarm,
                MachineState::Running => self.running,
                MachineState::Paused => self.paused,
                MachineState::Setup => self.setup,
                MachineState::Idle => self.idle,
            }
        }

        /// Nanoseconds covered by any state.
        pub fn covered(&self) -> i64 {
            MachineState::ALL
                .iter()
                .map(|&state| self.time(state))
                .sum()
        }
    }
}

/// Where a report's documents and recommendations go. Each is handed to the host at once, so
/// what a report produced before failing is kept.
pub mod output {
    pub use crate::bindings::report::chatter::plugin::report_output::{
        Document, Evidence, Recommendation, Severity, emit, recommend,
    };

    impl Document {
        /// An HTML document (`text/html`).
        pub fn html(name: impl Into<String>, html: String) -> Self {
            Self::text(name, "text/html", html)
        }

        /// A CSV document (`text/csv`).
        pub fn csv(name: impl Into<String>, csv: String) -> Self {
            Self::text(name, "text/csv", csv)
        }

        /// A JSON document (`application/json`).
        pub fn json(name: impl Into<String>, json: String) -> Self {
            Self::text(name, "application/json", json)
        }

        fn text(name: impl Into<String>, media_type: &str, content: String) -> Self {
            Document {
                name: name.into(),
                media_type: media_type.to_owned(),
                content: content.into_bytes(),
            }
        }
    }

    impl Evidence {
        /// A figure a recommendation rests on.
        pub fn new(label: impl Into<String>, value: impl Into<String>) -> Self {
            Evidence {
                label: label.into(),
                value: value.into(),
                range: None,
            }
        }
    }
}

/// A report generator: reads derived machine data, hands documents and recommendations to
/// [`output`].
pub trait Report: 'static {
    /// Generates the report for `request`. An error ends the run as failed; what was handed to
    /// [`output`] before it is kept.
    fn generate(request: ReportRequest) -> Result<(), Error>;
}

/// Exports a type implementing [`Report`] as the plugin's report generator.
#[macro_export]
macro_rules! export_report {
    ($report:ty) => {
        #[doc(hidden)]
        #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
        struct __ChatterReportExport;

        impl $crate::bindings::report::exports::chatter::plugin::report_generator::Guest
            for __ChatterReportExport
        {
            fn generate(
                request: $crate::ReportRequest,
            ) -> ::core::result::Result<(), $crate::Error> {
                <$report as $crate::Report>::generate(request)
            }
        }

        // Natively (unit tests), keep the plugin's code reachable so it is checked like in a
        // component instead of being reported as dead.
        #[cfg(not(target_arch = "wasm32"))]
        #[doc(hidden)]
        pub fn __chatter_native_anchor() {
            let _ = <$report as $crate::Report>::generate;
        }

        // Exports exist only in a component: natively, their names (with `:` and `@`) are not
        // valid symbols, and native unit tests of a plugin need none.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            $crate::bindings::report::export_report_world!(
                __ChatterReportExport with_types_in $crate::bindings::report
            );
        };
    };
}
