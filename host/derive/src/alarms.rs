//! Alarms: activations of conditions, per data item and native code.

use chatter_model::{Alarm, Condition, ConditionLevel, Timestamp};
use serde::{Deserialize, Serialize};

/// The alarms active now, in the order they were raised.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Alarms {
    /// Open alarms (`end` is `None`). Few at a time, so a vector beats a map.
    open: Vec<Alarm>,
}

impl Alarms {
    /// The active alarms.
    pub(crate) fn open(&self) -> &[Alarm] {
        &self.open
    }

    /// Whether any active alarm is at level fault.
    pub(crate) fn fault(&self) -> bool {
        self.open.iter().any(|a| a.level == ConditionLevel::Fault)
    }

    /// Item `item` reported `condition` at `t`; closed alarms go to `out`.
    pub(crate) fn condition(
        &mut self,
        item: &str,
        condition: &Condition,
        t: Timestamp,
        out: &mut Vec<Alarm>,
    ) {
        match (condition.level, &condition.native_code) {
            (ConditionLevel::Warning | ConditionLevel::Fault, _) => self.raise(item, condition, t),
            (ConditionLevel::Normal, Some(code)) => {
                self.close(t, out, |a| {
                    a.data_item == item && a.native_code.as_ref() == Some(code)
                });
            }
            (ConditionLevel::Normal, None) | (ConditionLevel::Unavailable, _) => {
                self.clear_item(item, t, out);
            }
        }
    }

    /// Item `item` became unavailable (or normal without a code): all its alarms clear.
    pub(crate) fn clear_item(&mut self, item: &str, t: Timestamp, out: &mut Vec<Alarm>) {
        if !self.open.is_empty() {
            self.close(t, out, |a| a.data_item == item);
        }
    }

    /// Opens the alarm of `condition`'s code on `item`, or raises its level and updates its text.
    fn raise(&mut self, item: &str, condition: &Condition, t: Timestamp) {
        let code = &condition.native_code;
        let open = self
            .open
            .iter_mut()
            .find(|a| a.data_item == item && a.native_code == *code);
        match open {
            Some(alarm) => {
                if rank(condition.level) > rank(alarm.level) {
                    alarm.level = condition.level;
                }
                if condition.text.is_some() && alarm.text != condition.text {
                    alarm.text.clone_from(&condition.text);
                }
            }
            None => self.open.push(Alarm {
                data_item: item.to_owned(),
                native_code: code.clone(),
                level: condition.level,
                text: condition.text.clone(),
                start: t,
                end: None,
            }),
        }
    }

    /// Ends, at `t`, the alarms matching `which`, moving them to `out` in the order raised.
    fn close(&mut self, t: Timestamp, out: &mut Vec<Alarm>, which: impl Fn(&Alarm) -> bool) {
        out.extend(self.open.extract_if(.., |a| which(a)).map(|mut alarm| {
            alarm.end = Some(t);
            alarm
        }));
    }
}

/// Orders levels by severity, for "the highest level reached".
fn rank(level: ConditionLevel) -> u8 {
    match level {
        ConditionLevel::Normal | ConditionLevel::Unavailable => 0,
        ConditionLevel::Warning => 1,
        ConditionLevel::Fault => 2,
    }
}
