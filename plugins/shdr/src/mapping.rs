//! From SHDR records to the SDK's observations and data items: the MTConnect meaning of each
//! value, decided once here.
//!
//! | SHDR | observation |
//! |---|---|
//! | a key the model knows | data item = the model's id |
//! | a key it does not know (or no model) | data item = the key, as written |
//! | `UNAVAILABLE` (any case) | `unavailable` |
//! | sample, numeric text | `sample(f64)` |
//! | sample, empty | `unavailable`: an empty sample has no number |
//! | sample, other text (`1.0 2.0 3.0` positions) | `event` with the text |
//! | event of a controlled vocabulary ([`CONTROLLED_TYPES`](chatter_mtconnect::vocabulary::CONTROLLED_TYPES)) | `event`, upper-cased (`Active` → `ACTIVE`) |
//! | other event (`PROGRAM`, `BLOCK`, `x:…`, data sets, tables), empty included | `event`, verbatim |
//! | condition | `condition`, level read in any case, empty fields → none |
//! | `MESSAGE` | `event` with the text (the native code has no place in an event) |
//! | legacy `ALARM`, `TIME_SERIES` | `event` with the fields as written, joined by `\|` |
//! | `@ASSET@`, `@UPDATE_ASSET@` | `event` on the `ASSET_CHANGED` item: the asset id |
//! | `@REMOVE_ASSET@` | `event` on the `ASSET_REMOVED` item: the asset id |
//! | `@REMOVE_ALL_ASSETS@` | `event` on the `ASSET_REMOVED` item: `*` (all assets, of any type) |
//!
//! Asset events go to the model's first `ASSET_CHANGED`/`ASSET_REMOVED` data item, or to
//! [`ASSET_CHANGED_FALLBACK`]/[`ASSET_REMOVED_FALLBACK`] when it has none (agents add those
//! items to every device themselves). A line without timestamp is stamped with its arrival.

use chatter_mtconnect::devices::{self, DataItemDef, Device};
use chatter_mtconnect::shdr::{self, AssetAction, Record};
use chatter_mtconnect::vocabulary;
use chatter_sdk::{Category, Condition, ConditionLevel, DataItem, Observation, Value};

/// The data item asset additions are reported on when the model has no `ASSET_CHANGED` item.
pub const ASSET_CHANGED_FALLBACK: &str = "asset_changed";
/// The data item asset removals are reported on when the model has no `ASSET_REMOVED` item.
pub const ASSET_REMOVED_FALLBACK: &str = "asset_removed";
/// The value of the removal event of `@REMOVE_ALL_ASSETS@`.
pub const ALL_ASSETS: &str = "*";

/// Turns records into observations for one device model.
#[derive(Debug, Clone)]
pub struct Mapper {
    asset_changed: String,
    asset_removed: String,
}

impl Mapper {
    /// A mapper for `device` (or for a stream without model).
    pub fn new(device: Option<&Device>) -> Self {
        let item_of = |kind: &str, fallback: &str| {
            device
                .and_then(|d| d.first_of_kind(kind))
                .map_or_else(|| fallback.to_owned(), |item| item.id.clone())
        };
        Mapper {
            asset_changed: item_of("ASSET_CHANGED", ASSET_CHANGED_FALLBACK),
            asset_removed: item_of("ASSET_REMOVED", ASSET_REMOVED_FALLBACK),
        }
    }

    /// The observation `record` reports, if it reports one; `arrival` stamps lines without
    /// timestamp.
    pub fn observation(&self, record: &Record<'_>, arrival: i64) -> Option<Observation> {
        match record {
            Record::Observation(o) => Some(Observation {
                data_item: o.item.map_or(o.key, |item| item.id.as_str()).to_owned(),
                timestamp: o.timestamp.unwrap_or(arrival),
                value: value(o.item, &o.value),
            }),
            Record::Asset(asset) => {
                let timestamp = asset.timestamp.unwrap_or(arrival);
                let (item, id) = match &asset.action {
                    AssetAction::Add { id, .. } | AssetAction::Update { id, .. } => {
                        (&self.asset_changed, id.as_ref())
                    }
                    AssetAction::Remove { id } => (&self.asset_removed, id.as_ref()),
                    AssetAction::RemoveAll { .. } => (&self.asset_removed, ALL_ASSETS),
                };
                Some(Observation::event(item.as_str(), timestamp, id))
            }
            Record::Heartbeat { .. } | Record::Command(_) | Record::Rejected(_) => None,
        }
    }

    /// The data items to declare for `device`: the model's, plus the asset items the driver
    /// reports on when the model lacks them.
    pub fn data_items(&self, device: &Device) -> Vec<DataItem> {
        let mut items: Vec<DataItem> = device.data_items.iter().map(data_item).collect();
        for id in [&self.asset_changed, &self.asset_removed] {
            if device.data_item(id).is_none() {
                let kind = if *id == self.asset_changed {
                    "ASSET_CHANGED"
                } else {
                    "ASSET_REMOVED"
                };
                items.push(DataItem::event(id.as_str(), kind));
            }
        }
        items
    }
}

/// The declaration of a model's data item.
fn data_item(item: &DataItemDef) -> DataItem {
    DataItem {
        id: item.id.clone(),
        category: match item.category {
            devices::Category::Sample => Category::Sample,
            devices::Category::Event => Category::Event,
            devices::Category::Condition => Category::Condition,
        },
        kind: item.kind.clone(),
        units: item.units.clone(),
        name: item.name.clone().filter(|name| *name != item.id),
    }
}

/// The SDK value of a parsed value of `item` (`None`: a key the model does not know, an event).
fn value(item: Option<&DataItemDef>, parsed: &shdr::Value<'_>) -> Value {
    match parsed {
        shdr::Value::Unavailable => Value::Unavailable,
        shdr::Value::Text(text) => text_value(item, text),
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
        shdr::Value::Message { text, .. } => Value::Event(text.to_string()),
        shdr::Value::Alarm(alarm) => Value::Event(
            [
                &alarm.code,
                &alarm.native_code,
                &alarm.severity,
                &alarm.state,
                &alarm.text,
            ]
            .map(|field| field.as_ref())
            .join("|"),
        ),
        shdr::Value::TimeSeries {
            count,
            rate,
            values,
        } => Value::Event(format!("{count}|{rate}|{values}")),
    }
}

fn text_value(item: Option<&DataItemDef>, text: &str) -> Value {
    let Some(item) = item else {
        return Value::Event(text.to_owned());
    };
    match item.category {
        devices::Category::Sample if text.is_empty() => Value::Unavailable,
        devices::Category::Sample => match text.parse::<f64>() {
            Ok(number) => Value::Sample(number),
            Err(_) => Value::Event(text.to_owned()),
        },
        _ if vocabulary::is_controlled(&item.kind) => {
            Value::Event(vocabulary::normalize(&item.kind, text).into_owned())
        }
        _ => Value::Event(text.to_owned()),
    }
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use chatter_mtconnect::devices::DeviceModel;
    use chatter_mtconnect::shdr::Parser;

    use super::*;

    const MODEL: &str = r#"<MTConnectDevices><Devices><Device id="d" name="Lathe"><DataItems>
        <DataItem id="exec" name="execution" category="EVENT" type="EXECUTION"/>
        <DataItem id="mode" name="mode" category="EVENT" type="CONTROLLER_MODE"/>
        <DataItem id="prog" name="program" category="EVENT" type="PROGRAM"/>
        <DataItem id="pc" name="PartCount" category="EVENT" type="PART_COUNT"/>
        <DataItem id="speed" name="Srpm" category="SAMPLE" type="ROTARY_VELOCITY" units="REVOLUTION/MINUTE"/>
        <DataItem id="pos" name="pathpos" category="SAMPLE" type="PATH_POSITION"/>
        <DataItem id="system" name="system" category="CONDITION" type="SYSTEM"/>
        <DataItem id="msg" name="message" category="EVENT" type="MESSAGE"/>
        <DataItem id="alarm" name="alarm" category="EVENT" type="ALARM"/>
        <DataItem id="vib" name="vib" category="SAMPLE" type="DISPLACEMENT" representation="TIME_SERIES"/>
        <DataItem id="vars" name="vars" category="EVENT" type="VARIABLE" representation="DATA_SET"/>
        <DataItem id="removed" category="EVENT" type="ASSET_REMOVED"/>
      </DataItems></Device></Devices></MTConnectDevices>"#;

    fn lathe() -> Device {
        DeviceModel::parse(MODEL).unwrap().devices.remove(0)
    }

    const ARRIVAL: i64 = 42;

    /// The observations of SHDR `text` parsed and mapped with `device`.
    fn map(device: Option<Device>, text: &str) -> Vec<Observation> {
        let mapper = Mapper::new(device.as_ref());
        let mut parser = Parser::new(device);
        let mut out = Vec::new();
        parser.feed(text.as_bytes(), &mut |record| {
            out.extend(mapper.observation(&record, ARRIVAL));
        });
        out
    }

    /// `(data item, value)` pairs, the values in their debug form (SDK values are not
    /// comparable).
    fn values(device: Option<Device>, text: &str) -> Vec<(String, String)> {
        map(device, text)
            .into_iter()
            .map(|o| (o.data_item, format!("{:?}", o.value)))
            .collect()
    }

    fn pair(id: &str, value: Value) -> (String, String) {
        (id.to_owned(), format!("{value:?}"))
    }

    fn event(id: &str, text: &str) -> (String, String) {
        pair(id, Value::Event(text.to_owned()))
    }

    #[test]
    fn keys_become_model_ids_and_unknown_keys_stay_as_written() {
        let out = values(
            Some(lathe()),
            "2020-01-01T00:00:00Z|execution|READY|mystery|On\n",
        );
        assert_eq!(out, [event("exec", "READY"), event("mystery", "On")]);
    }

    #[test]
    fn controlled_vocabularies_are_upper_cased_and_free_text_is_not() {
        let out = values(
            Some(lathe()),
            "2020-01-01T00:00:00Z|execution|Active|mode|Automatic|program|o1234 (Rough)|PartCount|3\n",
        );
        assert_eq!(
            out,
            [
                event("exec", "ACTIVE"),
                event("mode", "AUTOMATIC"),
                event("prog", "o1234 (Rough)"),
                event("pc", "3"),
            ]
        );
    }

    #[test]
    fn samples_are_numbers_when_they_can_be() {
        let out = values(
            Some(lathe()),
            "2020-01-01T00:00:00Z|Srpm|1200.5|pathpos|1.0 2.0 3.0|Srpm||Srpm|unavailable|Srpm|-3e2\n",
        );
        assert_eq!(
            out,
            [
                pair("speed", Value::Sample(1200.5)),
                event("pos", "1.0 2.0 3.0"),
                pair("speed", Value::Unavailable),
                pair("speed", Value::Unavailable),
                pair("speed", Value::Sample(-300.0)),
            ]
        );
    }

    #[test]
    fn empty_events_are_empty_texts() {
        let out = values(Some(lathe()), "2020-01-01T00:00:00Z|program||execution|\n");
        assert_eq!(out, [event("prog", ""), event("exec", "")]);
    }

    #[test]
    fn conditions_keep_the_controller_fields() {
        let out = values(
            Some(lathe()),
            "2020-01-01T00:00:00Z|system|fault|E12|2|HIGH|Spindle overload\n\
             2020-01-01T00:00:01Z|system|Normal||||\n",
        );
        assert_eq!(
            out[0],
            pair(
                "system",
                Value::Condition(Condition {
                    level: ConditionLevel::Fault,
                    native_code: Some("E12".into()),
                    native_severity: Some("2".into()),
                    qualifier: Some("HIGH".into()),
                    text: Some("Spindle overload".into()),
                })
            )
        );
        assert_eq!(
            out[1],
            pair("system", Value::Condition(Condition::normal()))
        );
    }

    #[test]
    fn messages_alarms_series_and_data_sets_are_events() {
        let out = values(
            Some(lathe()),
            "2020-01-01T00:00:00Z|message|M12|Door open\n\
             2020-01-01T00:00:00Z|alarm|OTHER|7|CRITICAL|ACTIVE|Oil low\n\
             2020-01-01T00:00:00Z|vib|3|100|1 2 3|vars|a=1 b=2\n",
        );
        assert_eq!(
            out,
            [
                event("msg", "Door open"),
                event("alarm", "OTHER|7|CRITICAL|ACTIVE|Oil low"),
                event("vib", "3|100|1 2 3"),
                event("vars", "a=1 b=2"),
            ]
        );
    }

    #[test]
    fn asset_commands_are_events_on_the_asset_items() {
        let text = "2020-01-01T00:00:00Z|@ASSET@|T1|CuttingTool|<CuttingTool/>\n\
                    2020-01-01T00:00:01Z|@UPDATE_ASSET@|T1|ToolLife|3\n\
                    2020-01-01T00:00:02Z|@REMOVE_ASSET@|T1\n\
                    2020-01-01T00:00:03Z|@REMOVE_ALL_ASSETS@|CuttingTool\n";
        let expected = |changed: &str, removed: &str| {
            vec![
                event(changed, "T1"),
                event(changed, "T1"),
                event(removed, "T1"),
                event(removed, "*"),
            ]
        };
        assert_eq!(
            values(Some(lathe()), text),
            expected("asset_changed", "removed")
        );
        assert_eq!(
            values(None, text),
            expected("asset_changed", "asset_removed")
        );
    }

    #[test]
    fn without_a_model_values_are_events_or_conditions() {
        let out = values(
            None,
            "2020-01-01T00:00:00Z|Srpm|1200|execution|Active\n2020-01-01T00:00:00Z|logic|Warning|3|||Low battery\n",
        );
        assert_eq!(out[0], event("Srpm", "1200"));
        assert_eq!(out[1], event("execution", "Active"));
        assert!(
            out[2]
                .1
                .starts_with("Value::Condition(Condition { level: ConditionLevel::Warning"),
            "{}",
            out[2].1
        );
    }

    #[test]
    fn timestamps_are_the_lines_or_the_arrival() {
        let out = map(None, "2020-01-01T00:00:00Z|a|1\n|b|2\n");
        assert_eq!(out[0].timestamp, 1_577_836_800_000_000_000);
        assert_eq!(out[1].timestamp, ARRIVAL);
    }

    #[test]
    fn declared_items_follow_the_model_plus_missing_asset_items() {
        let device = lathe();
        let items = Mapper::new(Some(&device)).data_items(&device);
        assert_eq!(items.len(), device.data_items.len() + 1);
        let speed = items.iter().find(|i| i.id == "speed").unwrap();
        assert_eq!(speed.category, Category::Sample);
        assert_eq!(speed.kind, "ROTARY_VELOCITY");
        assert_eq!(speed.units.as_deref(), Some("REVOLUTION/MINUTE"));
        assert_eq!(speed.name.as_deref(), Some("Srpm"));
        let system = items.iter().find(|i| i.id == "system").unwrap();
        assert_eq!(
            (system.category, system.name.as_deref()),
            (Category::Condition, None)
        );
        let last = items.last().unwrap();
        assert_eq!(
            (last.id.as_str(), last.kind.as_str()),
            ("asset_changed", "ASSET_CHANGED")
        );
    }
}
