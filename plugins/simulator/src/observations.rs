//! The boundary between the simulation and the host: data item declarations, and the
//! simulation's compact changes turned into the SDK's observations.

use chatter_sdk::{Condition, DataItem, Observation, Value as Reported};

use crate::sim::{Change, Cond, Item, Value};

/// The data items the simulated machine reports, with their MTConnect types.
pub fn data_items() -> Vec<DataItem> {
    Item::ALL.into_iter().map(data_item).collect()
}

fn data_item(item: Item) -> DataItem {
    let id = item.id();
    match item {
        Item::Availability => DataItem::event(id, "AVAILABILITY"),
        Item::Execution => DataItem::event(id, "EXECUTION"),
        Item::ControllerMode => DataItem::event(id, "CONTROLLER_MODE"),
        Item::Program => DataItem::event(id, "PROGRAM"),
        Item::PartCount => DataItem::event(id, "PART_COUNT"),
        Item::SpindleSpeed => DataItem::sample(id, "SPINDLE_SPEED", "REVOLUTION/MINUTE"),
        Item::SpindleLoad => DataItem::sample(id, "LOAD", "PERCENT"),
        Item::FeedOverride => DataItem::sample(id, "PATH_FEEDRATE_OVERRIDE", "PERCENT"),
        Item::System => DataItem::condition(id, "SYSTEM"),
    }
}

/// The observation of `change`, stamped `timestamp` (ns since the epoch). `programs` are the
/// program names `Value::Program` indexes.
pub fn observation(change: &Change, timestamp: i64, programs: &[String]) -> Observation {
    Observation {
        data_item: change.item.id().to_owned(),
        timestamp,
        value: value(change.value, programs),
    }
}

fn value(value: Value, programs: &[String]) -> Reported {
    match value {
        Value::Available(true) => Reported::Event("AVAILABLE".to_owned()),
        Value::Available(false) => Reported::Event("UNAVAILABLE".to_owned()),
        Value::Execution(execution) => Reported::Event(execution.as_str().to_owned()),
        Value::Mode(mode) => Reported::Event(mode.as_str().to_owned()),
        Value::Program(index) => programs
            .get(index)
            .map_or(Reported::Unavailable, |name| Reported::Event(name.clone())),
        Value::Count(count) => Reported::Event(count.to_string()),
        Value::Number(number) => Reported::Sample(number),
        Value::Condition(cond) => Reported::Condition(condition(cond)),
        Value::Unavailable => Reported::Unavailable,
    }
}

fn condition(cond: Cond) -> Condition {
    let (mut condition, qualifier) = match cond {
        Cond::Normal => return Condition::normal(),
        Cond::Warning(alarm) => (Condition::warning(alarm.code, alarm.text), alarm.qualifier),
        Cond::Fault(alarm) => (Condition::fault(alarm.code, alarm.text), alarm.qualifier),
    };
    condition.qualifier = qualifier.map(str::to_owned);
    condition
}
