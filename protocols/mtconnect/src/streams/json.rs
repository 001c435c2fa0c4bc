//! The JSON form of streams and error documents. Version 2 is written; versions 2 and 1 are
//! read. They differ in how lists are spelled — version 2 uses objects of arrays
//! (`"Samples": {"Load": [{…}, {…}]}`), version 1 arrays of one-key objects
//! (`"Samples": [{"Load": {…}}, {"Load": {…}}]`) — and [`members`] reads both.

use std::sync::Arc;

use serde_json::{Map, Value as Json, json};

use super::entries::{self, Entry, EntryValue};
use super::names;
use super::{
    AgentError, Category, ComponentRef, Condition, ConditionLevel, ErrorCode, ErrorDocument,
    Header, Observation, Representation, StreamsDocument, StreamsError, UNAVAILABLE, Value,
    as_json_number,
};
use crate::time::{format_timestamp, parse_timestamp};

/// The schema version the writers claim.
const SCHEMA_VERSION: &str = "2.0";

pub(super) fn parse(body: &str) -> Result<StreamsDocument, StreamsError> {
    let document: Json = serde_json::from_str(body).map_err(|error| StreamsError::Json {
        message: error.to_string(),
        line: error.line(),
        column: error.column(),
    })?;
    if let Some(streams) = document.get("MTConnectStreams") {
        read_streams(streams)
    } else if let Some(error) = document.get("MTConnectError") {
        Err(StreamsError::Agent(read_error(error)))
    } else {
        Err(StreamsError::NotStreams {
            found: describe(&document),
        })
    }
}

fn describe(document: &Json) -> String {
    match document.as_object() {
        Some(object) => {
            let keys: Vec<&str> = object.keys().map(String::as_str).collect();
            format!("a JSON object with keys {keys:?}")
        }
        None => "JSON that is not an object".to_owned(),
    }
}

/// The `(name, item)` pairs of a list in either version's spelling: an object whose values
/// are arrays (or single items), or an array of one-key objects.
fn members(list: &Json) -> Vec<(&str, &Json)> {
    match list {
        Json::Object(object) => object
            .iter()
            .flat_map(|(name, value)| match value {
                Json::Array(items) => items.iter().map(|item| (name.as_str(), item)).collect(),
                item => vec![(name.as_str(), item)],
            })
            .collect(),
        Json::Array(items) => items
            .iter()
            .filter_map(Json::as_object)
            .flat_map(|object| object.iter().map(|(name, item)| (name.as_str(), item)))
            .collect(),
        _ => Vec::new(),
    }
}

fn read_streams(document: &Json) -> Result<StreamsDocument, StreamsError> {
    let path = "MTConnectStreams";
    let header = document
        .get("Header")
        .ok_or_else(|| StreamsError::invalid("no `Header`", path))?;
    let mut observations = Vec::new();
    let devices = document
        .get("Streams")
        .map(members)
        .unwrap_or_default()
        .into_iter()
        .filter(|(name, _)| *name == "DeviceStream")
        .map(|(_, device)| device);
    for (index, device) in devices.enumerate() {
        let device_path = format!("{path}.Streams.DeviceStream[{index}]");
        for (index, component) in component_streams(device).into_iter().enumerate() {
            let component_path = format!("{device_path}.ComponentStream[{index}]");
            read_component_stream(device, component, &component_path, &mut observations)?;
        }
    }
    Ok(StreamsDocument {
        header: read_header(header, &format!("{path}.Header"))?,
        observations,
    })
}

/// A device's component streams: `ComponentStream: [{…}]` (version 2) or
/// `ComponentStreams: [{ComponentStream: {…}}]` (version 1).
fn component_streams(device: &Json) -> Vec<&Json> {
    if let Some(streams) = device.get("ComponentStream") {
        match streams {
            Json::Array(items) => items.iter().collect(),
            item => vec![item],
        }
    } else {
        device
            .get("ComponentStreams")
            .map(members)
            .unwrap_or_default()
            .into_iter()
            .map(|(_, item)| item)
            .collect()
    }
}

fn read_header(header: &Json, path: &str) -> Result<Header, StreamsError> {
    Ok(Header {
        instance_id: required_number(header, "instanceId", path)?,
        buffer_size: required_number(header, "bufferSize", path)?,
        first_sequence: required_number(header, "firstSequence", path)?,
        last_sequence: required_number(header, "lastSequence", path)?,
        next_sequence: required_number(header, "nextSequence", path)?,
        creation_time: string(header, "creationTime").and_then(|text| parse_timestamp(&text)),
        sender: string(header, "sender"),
        version: string(header, "version"),
    })
}

fn read_component_stream(
    device: &Json,
    component: &Json,
    path: &str,
    observations: &mut Vec<Observation>,
) -> Result<(), StreamsError> {
    let reference = Arc::new(ComponentRef {
        device_name: string(device, "name").unwrap_or_default(),
        device_uuid: string(device, "uuid").unwrap_or_default(),
        component: string(component, "component").unwrap_or_default(),
        component_id: string(component, "componentId").unwrap_or_default(),
        component_name: string(component, "name"),
    });
    for category in [Category::Sample, Category::Event, Category::Condition] {
        let Some(container) = component.get(category.container()) else {
            continue;
        };
        let mut seen = std::collections::HashMap::<&str, usize>::new();
        for (element, item) in members(container) {
            let index = seen.entry(element).or_default();
            let item_path = format!("{path}.{}.{element}[{index}]", category.container());
            *index += 1;
            observations.push(read_observation(
                &reference, category, element, item, &item_path,
            )?);
        }
    }
    Ok(())
}

fn read_observation(
    component: &Arc<ComponentRef>,
    category: Category,
    element: &str,
    item: &Json,
    path: &str,
) -> Result<Observation, StreamsError> {
    let (kind, representation, value) = if category == Category::Condition {
        let level = ConditionLevel::from_element(element).ok_or_else(|| {
            StreamsError::invalid(
                format!(
                    "`{element}` is not a condition level (Normal, Warning, Fault, Unavailable)"
                ),
                path,
            )
        })?;
        let kind = string(item, "type").unwrap_or_default();
        (
            kind,
            Representation::Value,
            Value::Condition(read_condition(level, item)),
        )
    } else {
        let (prefix, local) = match element.split_once(':') {
            Some((prefix, local)) => (Some(prefix), local),
            None => (None, element),
        };
        let (kind, representation) = names::kind_of_element(prefix, local);
        let text = item.get("value").map(value_text).unwrap_or_default();
        (kind, representation, Value::Text(text))
    };
    Ok(Observation {
        component: Arc::clone(component),
        data_item_id: string(item, "dataItemId")
            .ok_or_else(|| StreamsError::invalid("`dataItemId` is missing", path))?,
        name: string(item, "name"),
        sequence: required_number(item, "sequence", path)?,
        timestamp: required_timestamp(item, path)?,
        category,
        kind,
        sub_type: string(item, "subType"),
        representation,
        value,
    })
}

fn read_condition(level: ConditionLevel, item: &Json) -> Condition {
    Condition {
        level,
        native_code: string(item, "nativeCode"),
        native_severity: string(item, "nativeSeverity"),
        qualifier: string(item, "qualifier"),
        text: item
            .get("value")
            .map(value_text)
            .filter(|text| !text.is_empty()),
    }
}

/// A JSON value as observation text: numbers as written, arrays (time series, vectors)
/// separated by spaces, objects (data sets, tables) as `key=value` text.
fn value_text(value: &Json) -> String {
    match value {
        Json::Object(object) => entries::format(&object_entries(object)),
        Json::Array(items) => items.iter().map(scalar_text).collect::<Vec<_>>().join(" "),
        scalar => scalar_text(scalar),
    }
}

fn object_entries(object: &Map<String, Json>) -> Vec<Entry> {
    object
        .iter()
        .map(|(key, value)| Entry {
            key: key.clone(),
            value: match value {
                Json::Object(cells) => EntryValue::Row(
                    cells
                        .iter()
                        .map(|(cell, value)| (cell.clone(), scalar_text(value)))
                        .collect(),
                ),
                scalar => EntryValue::Text(scalar_text(scalar)),
            },
        })
        .collect()
}

fn scalar_text(value: &Json) -> String {
    match value {
        Json::String(text) => text.clone(),
        Json::Null => String::new(),
        other => other.to_string(),
    }
}

fn read_error(document: &Json) -> ErrorDocument {
    let header = document.get("Header");
    let number = |name: &str| header.and_then(|header| number(header, name));
    let mut errors = Vec::new();
    if let Some(list) = document.get("Errors") {
        collect_errors(list, &mut errors);
    }
    ErrorDocument {
        instance_id: number("instanceId"),
        buffer_size: number("bufferSize"),
        errors,
    }
}

/// Every object with an `errorCode` under `value`, whatever the version's nesting.
fn collect_errors(value: &Json, errors: &mut Vec<AgentError>) {
    match value {
        Json::Object(object) => {
            if let Some(code) = object.get("errorCode").and_then(Json::as_str) {
                let message = object
                    .get("ErrorMessage")
                    .or_else(|| object.get("value"))
                    .map(value_text)
                    .unwrap_or_default();
                errors.push(AgentError {
                    code: ErrorCode::parse(code),
                    message,
                });
            } else {
                object
                    .values()
                    .for_each(|child| collect_errors(child, errors));
            }
        }
        Json::Array(items) => items.iter().for_each(|child| collect_errors(child, errors)),
        _ => {}
    }
}

fn string(object: &Json, name: &str) -> Option<String> {
    match object.get(name)? {
        Json::String(text) => Some(text.clone()),
        Json::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// An unsigned integer written as a number or as a string of digits.
fn number(object: &Json, name: &str) -> Option<u64> {
    match object.get(name)? {
        Json::Number(number) => number.as_u64(),
        Json::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

fn required_number(object: &Json, name: &str, path: &str) -> Result<u64, StreamsError> {
    number(object, name).ok_or_else(|| match object.get(name) {
        None => StreamsError::invalid(format!("`{name}` is missing"), path),
        Some(value) => StreamsError::invalid(
            format!("`{name}` = {value} is not an unsigned integer"),
            path,
        ),
    })
}

fn required_timestamp(object: &Json, path: &str) -> Result<i64, StreamsError> {
    let text = string(object, "timestamp")
        .ok_or_else(|| StreamsError::invalid("`timestamp` is missing", path))?;
    parse_timestamp(&text).ok_or_else(|| {
        StreamsError::invalid(
            format!("`timestamp` = {text:?} is not an ISO 8601 timestamp"),
            path,
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Writing

pub(super) fn write(document: &StreamsDocument) -> String {
    let mut devices: Vec<Json> = Vec::new();
    let mut device_uuid: Option<&str> = None;
    for group in super::grouped(&document.observations) {
        let component = group.component;
        if device_uuid != Some(component.device_uuid.as_str()) {
            devices.push(json!({
                "name": component.device_name,
                "uuid": component.device_uuid,
                "ComponentStream": [],
            }));
            device_uuid = Some(&component.device_uuid);
        }
        let stream = component_stream(component, &group.categories);
        if let Some(Json::Array(streams)) = devices
            .last_mut()
            .and_then(|device| device.get_mut("ComponentStream"))
        {
            streams.push(stream);
        }
    }
    let streams = if devices.is_empty() {
        json!({})
    } else {
        json!({ "DeviceStream": devices })
    };
    json!({
        "MTConnectStreams": {
            "jsonVersion": 2,
            "schemaVersion": SCHEMA_VERSION,
            "Header": header(&document.header),
            "Streams": streams,
        }
    })
    .to_string()
}

fn header(header: &Header) -> Json {
    let mut object = Map::new();
    object.insert("instanceId".into(), header.instance_id.into());
    object.insert("bufferSize".into(), header.buffer_size.into());
    object.insert("firstSequence".into(), header.first_sequence.into());
    object.insert("lastSequence".into(), header.last_sequence.into());
    object.insert("nextSequence".into(), header.next_sequence.into());
    if let Some(time) = header.creation_time {
        object.insert("creationTime".into(), format_timestamp(time).into());
    }
    if let Some(sender) = &header.sender {
        object.insert("sender".into(), sender.clone().into());
    }
    if let Some(version) = &header.version {
        object.insert("version".into(), version.clone().into());
    }
    object.insert("schemaVersion".into(), SCHEMA_VERSION.into());
    Json::Object(object)
}

fn component_stream(
    component: &ComponentRef,
    categories: &[(Category, Vec<&Observation>)],
) -> Json {
    let mut object = Map::new();
    object.insert("component".into(), component.component.clone().into());
    object.insert("componentId".into(), component.component_id.clone().into());
    if let Some(name) = &component.component_name {
        object.insert("name".into(), name.clone().into());
    }
    for (category, members) in categories {
        let mut container = Map::new();
        for observation in members {
            let element = match &observation.value {
                Value::Condition(condition) => condition.level.element().to_owned(),
                Value::Text(_) => {
                    names::element_of_kind(&observation.kind, observation.representation)
                }
            };
            if let Json::Array(items) = container.entry(element).or_insert_with(|| json!([])) {
                items.push(observation_object(observation));
            }
        }
        object.insert(category.container().into(), Json::Object(container));
    }
    Json::Object(object)
}

fn observation_object(observation: &Observation) -> Json {
    let mut object = Map::new();
    object.insert("dataItemId".into(), observation.data_item_id.clone().into());
    object.insert(
        "timestamp".into(),
        format_timestamp(observation.timestamp).into(),
    );
    if let Some(name) = &observation.name {
        object.insert("name".into(), name.clone().into());
    }
    object.insert("sequence".into(), observation.sequence.into());
    if let Some(sub_type) = &observation.sub_type {
        object.insert("subType".into(), sub_type.clone().into());
    }
    match &observation.value {
        Value::Condition(condition) => insert_condition(&mut object, observation, condition),
        Value::Text(text) => insert_value(&mut object, observation, text),
    }
    Json::Object(object)
}

fn insert_condition(
    object: &mut Map<String, Json>,
    observation: &Observation,
    condition: &Condition,
) {
    object.insert("type".into(), observation.kind.clone().into());
    for (name, value) in [
        ("nativeCode", &condition.native_code),
        ("nativeSeverity", &condition.native_severity),
        ("qualifier", &condition.qualifier),
        ("value", &condition.text),
    ] {
        if let Some(value) = value {
            object.insert(name.into(), value.clone().into());
        }
    }
}

fn insert_value(object: &mut Map<String, Json>, observation: &Observation, text: &str) {
    if text == UNAVAILABLE {
        object.insert("value".into(), text.into());
        return;
    }
    let value = match observation.representation {
        Representation::DataSet | Representation::Table => {
            let entries = entries::parse(text);
            object.insert("count".into(), entries.len().into());
            entries_object(&entries)
        }
        Representation::TimeSeries => {
            let samples: Vec<Json> = text.split_whitespace().map(number_or_string).collect();
            object.insert("sampleCount".into(), samples.len().into());
            Json::Array(samples)
        }
        Representation::Value if observation.category == Category::Sample => number_or_string(text),
        Representation::Value => text.into(),
    };
    object.insert("value".into(), value);
}

fn entries_object(entries: &[Entry]) -> Json {
    let mut object = Map::new();
    for entry in entries {
        let value = match &entry.value {
            EntryValue::Text(text) if text.is_empty() => Json::Null,
            EntryValue::Text(text) => text.clone().into(),
            EntryValue::Row(cells) => Json::Object(
                cells
                    .iter()
                    .map(|(key, value)| (key.clone(), Json::String(value.clone())))
                    .collect(),
            ),
        };
        object.insert(entry.key.clone(), value);
    }
    Json::Object(object)
}

fn number_or_string(text: &str) -> Json {
    as_json_number(text).map_or_else(|| text.into(), Json::Number)
}

pub(super) fn write_error(error: &ErrorDocument) -> String {
    let mut header = Map::new();
    if let Some(instance_id) = error.instance_id {
        header.insert("instanceId".into(), instance_id.into());
    }
    if let Some(buffer_size) = error.buffer_size {
        header.insert("bufferSize".into(), buffer_size.into());
    }
    let errors: Vec<Json> = error
        .errors
        .iter()
        .map(|entry| json!({ "errorCode": entry.code.as_str(), "value": entry.message }))
        .collect();
    json!({
        "MTConnectError": {
            "jsonVersion": 2,
            "schemaVersion": SCHEMA_VERSION,
            "Header": header,
            "Errors": { "Error": errors },
        }
    })
    .to_string()
}
