//! Constructors for observations, data items and errors, so plugins read like the data they
//! report.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Category, Condition, ConditionLevel, DataItem, Error, ErrorCode, Observation, Value};

/// The current time as nanoseconds since the Unix epoch (UTC), from the host's clock.
pub fn now() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_nanos()).unwrap_or(i64::MAX)
}

impl Observation {
    /// A numeric sample, e.g. a spindle speed.
    pub fn sample(data_item: impl Into<String>, timestamp: i64, value: f64) -> Self {
        Self {
            data_item: data_item.into(),
            timestamp,
            value: Value::Sample(value),
        }
    }

    /// An event, e.g. execution `ACTIVE` or a program name.
    pub fn event(data_item: impl Into<String>, timestamp: i64, value: impl Into<String>) -> Self {
        Self {
            data_item: data_item.into(),
            timestamp,
            value: Value::Event(value.into()),
        }
    }

    /// A condition report.
    pub fn condition(data_item: impl Into<String>, timestamp: i64, condition: Condition) -> Self {
        Self {
            data_item: data_item.into(),
            timestamp,
            value: Value::Condition(condition),
        }
    }

    /// The data item has no value right now.
    pub fn unavailable(data_item: impl Into<String>, timestamp: i64) -> Self {
        Self {
            data_item: data_item.into(),
            timestamp,
            value: Value::Unavailable,
        }
    }
}

impl Condition {
    /// A condition at `level` without code or text.
    pub fn new(level: ConditionLevel) -> Self {
        Self {
            level,
            native_code: None,
            native_severity: None,
            qualifier: None,
            text: None,
        }
    }

    /// The normal condition: no alarm.
    pub fn normal() -> Self {
        Self::new(ConditionLevel::Normal)
    }

    /// A fault with the controller's alarm code and text.
    pub fn fault(native_code: impl Into<String>, text: impl Into<String>) -> Self {
        Self::new(ConditionLevel::Fault).with_alarm(native_code, text)
    }

    /// A warning with the controller's alarm code and text.
    pub fn warning(native_code: impl Into<String>, text: impl Into<String>) -> Self {
        Self::new(ConditionLevel::Warning).with_alarm(native_code, text)
    }

    fn with_alarm(mut self, native_code: impl Into<String>, text: impl Into<String>) -> Self {
        self.native_code = Some(native_code.into());
        self.text = Some(text.into());
        self
    }
}

impl DataItem {
    /// A sample data item of MTConnect type `kind` in `units`.
    pub fn sample(
        id: impl Into<String>,
        kind: impl Into<String>,
        units: impl Into<String>,
    ) -> Self {
        Self {
            id: id.into(),
            category: Category::Sample,
            kind: kind.into(),
            units: Some(units.into()),
            name: None,
        }
    }

    /// An event data item of MTConnect type `kind`.
    pub fn event(id: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            category: Category::Event,
            kind: kind.into(),
            units: None,
            name: None,
        }
    }

    /// A condition data item of MTConnect type `kind` (`SYSTEM`, `LOGIC_PROGRAM`, …).
    pub fn condition(id: impl Into<String>, kind: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            category: Category::Condition,
            kind: kind.into(),
            units: None,
            name: None,
        }
    }
}

impl Error {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The configuration is wrong; retrying will not help.
    pub fn invalid_config(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidConfig, message)
    }

    /// The machine or service could not be reached.
    pub fn unreachable(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Unreachable, message)
    }

    /// The peer sent something the plugin could not understand.
    pub fn protocol(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Protocol, message)
    }
}
