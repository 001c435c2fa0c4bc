//! What can go wrong in a call into a plugin, classified so the supervisor knows whether the
//! instance survives and the operator reads which limit was hit.

use std::time::Duration;

use serde::Serialize;

/// A failed call into a plugin instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// The call ran past its wall-clock deadline and was interrupted.
    #[error("ran past its {timeout:?} deadline and was stopped")]
    Deadline {
        /// The deadline.
        #[serde(serialize_with = "millis")]
        timeout: Duration,
    },
    /// The plugin tried to grow its memory past its cap.
    #[error("exceeded its memory cap of {cap_bytes} bytes")]
    MemoryLimit {
        /// The cap.
        cap_bytes: usize,
    },
    /// The call used up its instruction budget.
    #[error("used up its budget of {budget} fuel units")]
    FuelExhausted {
        /// The budget.
        budget: u64,
    },
    /// The plugin trapped: a panic, an `unreachable`, a bad memory access.
    #[error("trapped: {message}")]
    Trap {
        /// wasmtime's description of the trap.
        message: String,
    },
    /// The plugin returned more data than one call may carry.
    #[error("returned {items} items ({bytes} bytes), over the per-call cap of {cap_bytes} bytes")]
    OutputTooLarge {
        /// Items returned.
        items: usize,
        /// Their size.
        bytes: usize,
        /// The cap.
        cap_bytes: usize,
    },
    /// The plugin reported an error; the instance is healthy and may be called again.
    #[error("reported {code}: {message}")]
    Plugin {
        /// The WIT error code, e.g. `unreachable`.
        code: String,
        /// The plugin's message.
        message: String,
    },
    /// The instance could not be created.
    #[error("could not be instantiated: {message}")]
    Instantiate {
        /// Why.
        message: String,
    },
}

impl Fault {
    /// Whether the instance is unusable after this fault: everything but an error the plugin
    /// reported itself. A trapped instance cannot be re-entered.
    pub fn kills_instance(&self) -> bool {
        !matches!(self, Fault::Plugin { .. })
    }

    /// A short stable name of the kind of fault, for metrics and the API.
    pub fn kind(&self) -> &'static str {
        match self {
            Fault::Deadline { .. } => "deadline",
            Fault::MemoryLimit { .. } => "memory_limit",
            Fault::FuelExhausted { .. } => "fuel_exhausted",
            Fault::Trap { .. } => "trap",
            Fault::OutputTooLarge { .. } => "output_too_large",
            Fault::Plugin { .. } => "plugin_error",
            Fault::Instantiate { .. } => "instantiate",
        }
    }
}

fn millis<S: serde::Serializer>(duration: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u128(duration.as_millis())
}
