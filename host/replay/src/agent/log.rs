//! A recorded SHDR log read ahead of time into steps — one per line of the file — each holding
//! the observations that line gives, in the terms of a streams document; and the device model's
//! data items as streams observations (the `UNAVAILABLE` an agent starts every data item with).

use std::collections::HashMap;
use std::sync::Arc;

use chatter_mtconnect::devices::{self, DataItemDef, Device, DeviceModel};
use chatter_mtconnect::shdr::{self, Parser, Record};
use chatter_mtconnect::streams::{
    Category, ComponentRef, Condition, ConditionLevel, Observation, Representation, UNAVAILABLE,
    Value,
};

/// What one line of the log gives.
#[derive(Debug, Clone, Default)]
pub(super) struct Step {
    /// The line's timestamp; `None` for lines without one (commands, asset bodies, bad lines).
    pub timestamp: Option<i64>,
    /// Its observations, unnumbered; stamped with the feeding time when the line had an empty
    /// timestamp ([`Step::timestamp`] is `None` then too).
    pub observations: Vec<Observation>,
}

/// Counts of what the log holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Lines of the file.
    pub lines: usize,
    /// Observations of data items in the model.
    pub observations: usize,
    /// Values of keys the device model does not know, left out as the reference agent does.
    pub skipped_keys: usize,
    /// Lines the SHDR parser rejected (broken or garbled lines).
    pub rejected_lines: usize,
}

/// The log as steps.
#[derive(Debug, Clone, Default)]
pub(super) struct Log {
    pub steps: Vec<Step>,
    pub stats: LogStats,
}

/// The streams form of the model's data items: their component streams and types.
#[derive(Debug)]
pub(super) struct Templates {
    by_id: HashMap<String, Observation>,
    /// Data item ids in document order, devices one after the other.
    order: Vec<String>,
}

impl Templates {
    pub(super) fn new(model: &DeviceModel) -> Self {
        let mut components: HashMap<(String, String), Arc<ComponentRef>> = HashMap::new();
        let mut by_id = HashMap::new();
        let mut order = Vec::new();
        for device in &model.devices {
            for item in &device.data_items {
                let component = component_of(device, item, &mut components);
                by_id.insert(item.id.clone(), template(item, component));
                order.push(item.id.clone());
            }
        }
        Templates { by_id, order }
    }

    /// An `UNAVAILABLE` observation of every data item, stamped `timestamp`, in model order.
    pub(super) fn unavailable(&self, timestamp: i64) -> Vec<Observation> {
        self.order
            .iter()
            .filter_map(|id| self.by_id.get(id))
            .map(|template| {
                let mut observation = template.clone();
                observation.timestamp = timestamp;
                observation.value = unavailable_value(template.category);
                observation
            })
            .collect()
    }

    fn observation(&self, item: &DataItemDef, timestamp: i64, value: Value) -> Option<Observation> {
        let mut observation = self.by_id.get(&item.id)?.clone();
        observation.timestamp = timestamp;
        observation.value = value;
        Some(observation)
    }
}

fn component_of(
    device: &Device,
    item: &DataItemDef,
    components: &mut HashMap<(String, String), Arc<ComponentRef>>,
) -> Arc<ComponentRef> {
    let component_id = item
        .component
        .id
        .clone()
        .unwrap_or_else(|| device.id.clone());
    let key = (device.id.clone(), component_id.clone());
    let shared = components.entry(key).or_insert_with(|| {
        Arc::new(ComponentRef {
            device_name: device.name.clone(),
            device_uuid: device_uuid(device).to_owned(),
            component: item.component.element.clone(),
            component_id,
            component_name: item.component.name.clone(),
        })
    });
    Arc::clone(shared)
}

/// The uuid a device's streams carry: its uuid, or its id when it has none (MTConnect 1.0).
pub(super) fn device_uuid(device: &Device) -> &str {
    device.uuid.as_deref().unwrap_or(&device.id)
}

fn template(item: &DataItemDef, component: Arc<ComponentRef>) -> Observation {
    let category = match item.category {
        devices::Category::Sample => Category::Sample,
        devices::Category::Event => Category::Event,
        devices::Category::Condition => Category::Condition,
    };
    Observation {
        component,
        data_item_id: item.id.clone(),
        name: item.name.clone(),
        sequence: 0,
        timestamp: 0,
        category,
        kind: item.kind.clone(),
        sub_type: item.sub_type.clone(),
        representation: match item.representation {
            devices::Representation::TimeSeries => Representation::TimeSeries,
            devices::Representation::DataSet => Representation::DataSet,
            devices::Representation::Table => Representation::Table,
            devices::Representation::Value | devices::Representation::Discrete => {
                Representation::Value
            }
        },
        value: unavailable_value(category),
    }
}

fn unavailable_value(category: Category) -> Value {
    match category {
        Category::Condition => Value::Condition(Condition::new(ConditionLevel::Unavailable)),
        _ => Value::Text(UNAVAILABLE.to_owned()),
    }
}

/// Reads `text`, an SHDR log feeding `device`, into one step per line.
pub(super) fn read(text: &str, device: &Device, templates: &Templates) -> Log {
    let mut parser = Parser::new(Some(device.clone()));
    let mut log = Log::default();
    for line in text.split_inclusive('\n') {
        let mut step = Step::default();
        parser.feed(line.as_bytes(), &mut |record| {
            take(record, templates, &mut step, &mut log.stats);
        });
        log.steps.push(step);
    }
    // A last line without newline.
    let mut last = Step::default();
    parser.finish(&mut |record| take(record, templates, &mut last, &mut log.stats));
    if let Some(step) = log.steps.last_mut() {
        step.observations.append(&mut last.observations);
        step.timestamp = step.timestamp.or(last.timestamp);
    }
    log.stats.lines = log.steps.len();
    log
}

fn take(record: Record<'_>, templates: &Templates, step: &mut Step, stats: &mut LogStats) {
    match record {
        Record::Observation(observation) => {
            let Some(item) = observation.item else {
                stats.skipped_keys += 1;
                return;
            };
            step.timestamp = observation.timestamp;
            let value = value(item, observation.value);
            // Lines without a timestamp are stamped when fed; 0 until then.
            let timestamp = observation.timestamp.unwrap_or(0);
            if let Some(converted) = templates.observation(item, timestamp, value) {
                step.observations.push(converted);
                stats.observations += 1;
            }
        }
        Record::Rejected(_) => stats.rejected_lines += 1,
        Record::Asset(_) | Record::Heartbeat { .. } | Record::Command(_) => {}
    }
}

/// An SHDR value as a streams value of `item`.
fn value(item: &DataItemDef, value: shdr::Value<'_>) -> Value {
    let is_condition = item.category == devices::Category::Condition;
    match value {
        shdr::Value::Unavailable => unavailable_value(if is_condition {
            Category::Condition
        } else {
            Category::Event
        }),
        shdr::Value::Condition(condition) => Value::Condition(Condition {
            level: match condition.level {
                shdr::Level::Normal => ConditionLevel::Normal,
                shdr::Level::Warning => ConditionLevel::Warning,
                shdr::Level::Fault => ConditionLevel::Fault,
                shdr::Level::Unavailable => ConditionLevel::Unavailable,
            },
            native_code: non_empty(&condition.native_code),
            native_severity: non_empty(&condition.native_severity),
            qualifier: non_empty(&condition.qualifier),
            text: non_empty(&condition.text),
        }),
        shdr::Value::Text(text) => Value::Text(text.into_owned()),
        shdr::Value::Message { text, .. } => Value::Text(text.into_owned()),
        shdr::Value::Alarm(alarm) => Value::Text(alarm.text.into_owned()),
        shdr::Value::TimeSeries { values, .. } => Value::Text(values.into_owned()),
    }
}

fn non_empty(text: &str) -> Option<String> {
    Some(text.trim().to_owned()).filter(|text| !text.is_empty())
}
