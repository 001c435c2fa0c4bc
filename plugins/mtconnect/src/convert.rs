//! The agent's words in the host's: probe data items become declared data items, streams
//! observations become SDK observations, and tracker events become `data_gap` observations.

use chatter_mtconnect::devices::{self, DeviceModel};
use chatter_mtconnect::streams::{self, UNAVAILABLE};
use chatter_sdk::{Category, Condition, ConditionLevel, DataItem, Observation};

use crate::tracker::Event;

/// The id of the data item on which the driver records what it could not read.
pub const DATA_GAP: &str = "data_gap";

/// The data items the driver declares: those of `device` (by name or uuid), or of every device
/// when `None`, plus [`DATA_GAP`].
pub fn data_items(model: &DeviceModel, device: Option<&str>) -> Vec<DataItem> {
    let devices: Vec<&devices::Device> = match device {
        Some(selector) => model.device(selector).into_iter().collect(),
        None => model.devices.iter().collect(),
    };
    let mut items: Vec<DataItem> = devices
        .iter()
        .flat_map(|device| &device.data_items)
        .map(data_item)
        .collect();
    items.push(DataItem::event(DATA_GAP, "DATA_GAP"));
    items
}

fn data_item(item: &devices::DataItemDef) -> DataItem {
    DataItem {
        id: item.id.clone(),
        category: match item.category {
            devices::Category::Sample => Category::Sample,
            devices::Category::Event => Category::Event,
            devices::Category::Condition => Category::Condition,
        },
        kind: item.kind.clone(),
        units: item.units.clone(),
        name: item.name.clone(),
    }
}

/// `observation` as the host's observation of data item `dataItemId`.
pub fn observation(observation: &streams::Observation) -> Observation {
    let id = observation.data_item_id.clone();
    let timestamp = observation.timestamp;
    match &observation.value {
        streams::Value::Condition(condition) => {
            Observation::condition(id, timestamp, self::condition(condition))
        }
        streams::Value::Text(text) if text == UNAVAILABLE => {
            Observation::unavailable(id, timestamp)
        }
        streams::Value::Text(text) => match observation.category {
            streams::Category::Sample => match number(text) {
                Some(value) => Observation::sample(id, timestamp, value),
                // Vectors, time series and values a controller wrote oddly stay readable.
                None => Observation::event(id, timestamp, text.clone()),
            },
            _ => Observation::event(id, timestamp, event_text(&observation.kind, text)),
        },
    }
}

fn number(text: &str) -> Option<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|value| value.is_finite())
}

fn event_text(kind: &str, text: &str) -> String {
    chatter_mtconnect::vocabulary::normalize(kind, text).into_owned()
}

fn condition(condition: &streams::Condition) -> Condition {
    Condition {
        level: match condition.level {
            streams::ConditionLevel::Normal => ConditionLevel::Normal,
            streams::ConditionLevel::Warning => ConditionLevel::Warning,
            streams::ConditionLevel::Fault => ConditionLevel::Fault,
            streams::ConditionLevel::Unavailable => ConditionLevel::Unavailable,
        },
        native_code: condition.native_code.clone(),
        native_severity: condition.native_severity.clone(),
        qualifier: condition.qualifier.clone(),
        text: condition.text.clone(),
    }
}

/// What a tracker event says, for the log and for a `data_gap` observation.
pub fn describe(event: &Event) -> String {
    match event {
        Event::Restart {
            old_instance,
            new_instance,
        } => format!(
            "the agent restarted (instance {old_instance} → {new_instance}); reading its new \
             buffer from the start"
        ),
        Event::Gap {
            instance,
            first,
            last,
        } => {
            let sequences = if first == last {
                format!("agent sequence {first} was")
            } else {
                format!("agent sequences {first}–{last} were")
            };
            format!(
                "{sequences} no longer buffered (agent instance {instance}); {} observations lost",
                last - first + 1
            )
        }
        Event::Rewound {
            instance,
            expected,
            agent_next,
        } => format!(
            "the agent's sequence numbers went back from {expected} to {agent_next} without a \
             new instance id (instance {instance}); reading its buffer again from the start"
        ),
    }
}

/// The `data_gap` observation recording `event`, stamped `timestamp` — `None` for events that
/// lose nothing.
pub fn gap_observation(event: &Event, timestamp: i64) -> Option<Observation> {
    matches!(event, Event::Gap { .. })
        .then(|| Observation::event(DATA_GAP, timestamp, describe(event)))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use chatter_sdk::Value;

    use super::*;

    fn fixtures() -> PathBuf {
        std::env::var_os("CHATTER_FIXTURES").map_or_else(
            || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
            PathBuf::from,
        )
    }

    fn fixture(test: &str, path: &str) -> Option<String> {
        let folder = fixtures();
        if !folder.is_dir() {
            println!(
                "skipping {test}: fixtures not found at {}",
                folder.display()
            );
            return None;
        }
        Some(std::fs::read_to_string(folder.join(path)).unwrap())
    }

    #[test]
    fn a_real_current_document_converts_observation_by_observation() {
        let test = "a_real_current_document_converts_observation_by_observation";
        let Some(text) = fixture(test, "mtconnect/mtconnect-net/Current-Mazak-1.5.xml") else {
            return;
        };
        let document = streams::parse(&text).unwrap();
        for source in &document.observations {
            let converted = observation(source);
            assert_eq!(converted.data_item, source.data_item_id);
            assert_eq!(converted.timestamp, source.timestamp);
            match (&source.value, &converted.value) {
                (streams::Value::Text(text), Value::Unavailable) => assert_eq!(text, UNAVAILABLE),
                (streams::Value::Text(text), Value::Sample(number)) => {
                    assert_eq!(source.category, streams::Category::Sample);
                    assert_eq!(text.parse::<f64>().unwrap(), *number);
                }
                (streams::Value::Text(text), Value::Event(event)) => {
                    assert!(
                        text.parse::<f64>().is_err()
                            || source.category != streams::Category::Sample
                    );
                    assert_eq!(text.to_ascii_uppercase(), event.to_ascii_uppercase());
                }
                (streams::Value::Condition(from), Value::Condition(to)) => {
                    assert_eq!(from.native_code, to.native_code);
                    assert_eq!(from.text, to.text);
                }
                other => panic!("unexpected conversion {other:?}"),
            }
        }
        // `Zabs` is written with a decimal comma: kept as text rather than lost.
        let zabs = document
            .observations
            .iter()
            .find(|o| o.name.as_deref() == Some("Zabs"))
            .unwrap();
        assert!(matches!(observation(zabs).value, Value::Event(_)));
    }

    #[test]
    fn the_json_fixture_converts_too() {
        let test = "the_json_fixture_converts_too";
        let path = "mtconnect/mtconnect-net/MTConnectStreamsResponseDocument.json";
        let Some(text) = fixture(test, path) else {
            return;
        };
        let document = streams::parse(&text).unwrap();
        let converted: Vec<Observation> = document.observations.iter().map(observation).collect();
        assert_eq!(converted.len(), document.observations.len());
        let status = converted
            .iter()
            .zip(&document.observations)
            .find(|(_, source)| source.kind == "CONNECTION_STATUS")
            .map(|(converted, _)| converted)
            .unwrap();
        assert!(matches!(&status.value, Value::Event(text) if text == "LISTEN"));
    }

    #[test]
    fn probe_data_items_are_declared_with_their_type_and_units() {
        let test = "probe_data_items_are_declared_with_their_type_and_units";
        let Some(text) = fixture(test, "mtconnect/mtconnect-agent/Mazak03.xml") else {
            return;
        };
        let model = DeviceModel::parse(&text).unwrap();
        let all = data_items(&model, None);
        let device = &model.devices[0];
        assert_eq!(all.len(), device.data_items.len() + 1);
        for (declared, source) in all.iter().zip(&device.data_items) {
            assert_eq!(declared.id, source.id);
            assert_eq!(declared.kind, source.kind);
            assert_eq!(declared.units, source.units);
        }
        let gap = all.last().unwrap();
        assert_eq!((gap.id.as_str(), gap.kind.as_str()), (DATA_GAP, "DATA_GAP"));
        assert_eq!(gap.category, Category::Event);

        assert_eq!(data_items(&model, Some(&device.name)).len(), all.len());
        assert_eq!(data_items(&model, Some("no such device")).len(), 1);
    }

    fn text_observation(
        category: streams::Category,
        kind: &str,
        text: &str,
    ) -> streams::Observation {
        streams::Observation {
            component: Default::default(),
            data_item_id: "item".to_owned(),
            name: None,
            sequence: 1,
            timestamp: 5,
            category,
            kind: kind.to_owned(),
            sub_type: None,
            representation: streams::Representation::Value,
            value: streams::Value::Text(text.to_owned()),
        }
    }

    #[test]
    fn values_convert_by_category_and_type() {
        use streams::Category::{Event, Sample};
        let cases = [
            (Sample, "SPINDLE_SPEED", "1200.5", Value::Sample(1200.5)),
            (
                Sample,
                "PATH_POSITION",
                "1 2 3",
                Value::Event("1 2 3".to_owned()),
            ),
            (Sample, "LOAD", "UNAVAILABLE", Value::Unavailable),
            (
                Event,
                "EXECUTION",
                "active",
                Value::Event("ACTIVE".to_owned()),
            ),
            (
                Event,
                "CONTROLLER_MODE",
                "Manual_Data_Input",
                Value::Event("MANUAL_DATA_INPUT".to_owned()),
            ),
            (Event, "PROGRAM", "o1234", Value::Event("o1234".to_owned())),
            (Event, "PART_COUNT", "12", Value::Event("12".to_owned())),
            (Event, "AVAILABILITY", "UNAVAILABLE", Value::Unavailable),
        ];
        for (category, kind, text, expected) in cases {
            let converted = observation(&text_observation(category, kind, text));
            assert_eq!(
                format!("{:?}", converted.value),
                format!("{expected:?}"),
                "{kind} {text}"
            );
        }
    }

    #[test]
    fn gaps_say_which_sequences_were_lost() {
        let gap = Event::Gap {
            instance: 3,
            first: 1_201,
            last: 1_450,
        };
        let recorded = gap_observation(&gap, 42).unwrap();
        assert_eq!(recorded.data_item, DATA_GAP);
        assert_eq!(recorded.timestamp, 42);
        let Value::Event(text) = &recorded.value else {
            panic!("a gap is an event");
        };
        assert_eq!(
            text,
            "agent sequences 1201–1450 were no longer buffered (agent instance 3); 250 \
             observations lost"
        );
        let restart = Event::Restart {
            old_instance: 1,
            new_instance: 2,
        };
        assert!(gap_observation(&restart, 42).is_none());
    }
}
