//! The [`Report`] trait, [`export_report!`](crate::export_report), and [`machine_data`], the
//! read-only view of the organization's derived machine data.

use crate::Error;

pub use crate::bindings::report::exports::chatter::plugin::report_generator::{
    Document, Priority, Recommendation, Report as ReportOutput, Request as ReportRequest, Shift,
};

/// Derived machine data of the organization the report runs for.
pub mod machine_data {
    pub use crate::bindings::report::chatter::plugin::machine_data::{
        Alarm, Cycle, MachineInfo, MachineState, StateInterval, alarms, cycles, machines, timeline,
    };
}

/// A report generator: reads derived machine data, writes documents and recommendations.
pub trait Report: 'static {
    /// Generates the report for `request`.
    fn generate(request: ReportRequest) -> Result<ReportOutput, Error>;
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
            ) -> ::core::result::Result<$crate::ReportOutput, $crate::Error> {
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
