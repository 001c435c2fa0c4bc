//! MTConnect device models: the `MTConnectDevices` document an agent answers to `/probe`, or the
//! `Devices.xml` file it is configured with (MTConnect 1.1 through 2.x).
//!
//! Only what a driver needs to read an adapter's stream is kept: each device's identity and its
//! data items, flattened from the whole component tree in document order. The namespace version
//! does not matter; extension types (`x:PALLET_NUMBER`) are kept verbatim. `Agent` elements (the
//! agent describing itself in 1.7+ probe responses) are skipped: no adapter feeds them.
//!
//! ```
//! use chatter_mtconnect::devices::{Category, DeviceModel};
//! let model = DeviceModel::parse(r#"
//!   <MTConnectDevices xmlns="urn:mtconnect.org:MTConnectDevices:1.3"><Devices>
//!     <Device id="d1" name="Mill" uuid="m-1"><DataItems>
//!       <DataItem id="exec" name="execution" category="EVENT" type="EXECUTION"/>
//!     </DataItems></Device>
//!   </Devices></MTConnectDevices>"#).unwrap();
//! let mill = model.device("Mill").unwrap();
//! let execution = mill.find("execution").unwrap();
//! assert_eq!((execution.id.as_str(), execution.category), ("exec", Category::Event));
//! ```

use roxmltree::{Document, Node, TextPos};

/// Every device of one `MTConnectDevices` document.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceModel {
    /// The `Device` elements, in document order.
    pub devices: Vec<Device>,
}

/// One device (machine) of a device model.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// The `id` attribute, unique within the document.
    pub id: String,
    /// The `name` attribute, which adapters and agents use to address the device.
    pub name: String,
    /// The `uuid` attribute: the device's identity across agents (optional before 1.1).
    pub uuid: Option<String>,
    /// The data items of the device and of all its components, in document order.
    pub data_items: Vec<DataItemDef>,
}

/// The declaration of one data item: what its values mean and how an adapter writes them.
#[derive(Debug, Clone, PartialEq)]
pub struct DataItemDef {
    /// The `id` attribute, unique within the document.
    pub id: String,
    /// The `name` attribute, which adapters usually use as the SHDR key.
    pub name: Option<String>,
    /// Sample, event or condition.
    pub category: Category,
    /// The `type` attribute verbatim: `EXECUTION`, `PART_COUNT`, or `x:FOO` for an extension.
    pub kind: String,
    /// The `subType` attribute (`ACTUAL`, `COMMANDED`, `ALL`, …).
    pub sub_type: Option<String>,
    /// The `units` attribute: the units the agent reports values in.
    pub units: Option<String>,
    /// The `nativeUnits` attribute: the units of the controller.
    pub native_units: Option<String>,
    /// How a value is written: a single value unless the model says otherwise.
    pub representation: Representation,
    /// The content of the `Source` child: the key older adapters use instead of name or id.
    pub source: Option<String>,
    /// The component the data item belongs to.
    pub component: ComponentRef,
}

/// The MTConnect category of a data item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// A continuously varying value, usually a number with units.
    Sample,
    /// A discrete value: a state, a count, a text.
    Event,
    /// The health of a component: normal, warning or fault.
    Condition,
}

/// The `representation` attribute of a data item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Representation {
    /// One value per observation (the default).
    #[default]
    Value,
    /// A series of samples taken at a fixed rate: `count|rate|values` in SHDR.
    TimeSeries,
    /// Key-value pairs (`a=1 b=2`).
    DataSet,
    /// Rows of key-value pairs (`row={a=1 b=2}`).
    Table,
    /// Every value is an observation even when it repeats (`DISCRETE`, or `discrete="true"`
    /// in 2.x).
    Discrete,
}

/// The component that owns a data item: the element holding its `DataItems`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentRef {
    /// The element name: `Device`, `Linear`, `Controller`, `Path`, or an extension's name.
    pub element: String,
    /// The component's `id` attribute.
    pub id: Option<String>,
    /// The component's `name` attribute.
    pub name: Option<String>,
}

/// Why a document is not a usable device model. Every message says what was found where
/// (`line:column` in the document).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DevicesError {
    /// The text is not well-formed XML.
    #[error("not well-formed XML: {0}")]
    Xml(#[from] roxmltree::Error),
    /// The root element is something else than `MTConnectDevices`.
    #[error("expected an MTConnectDevices document, found <{root}> at {position}")]
    NotDevices {
        /// The root element's name.
        root: String,
        /// Where it starts.
        position: TextPos,
    },
    /// The document is an agent's `MTConnectError` response.
    #[error("the document is an MTConnectError response: {message}")]
    AgentError {
        /// The errors' codes and texts.
        message: String,
    },
    /// The document declares no `Device`.
    #[error("the document declares no Device")]
    NoDevices,
    /// A required attribute is missing.
    #[error("<{element}> at {position} has no `{attribute}` attribute")]
    MissingAttribute {
        /// The element's name.
        element: String,
        /// The missing attribute.
        attribute: &'static str,
        /// Where the element starts.
        position: TextPos,
    },
    /// A data item's `category` is not SAMPLE, EVENT or CONDITION.
    #[error("DataItem `{id}` at {position}: category `{value}` is not SAMPLE, EVENT or CONDITION")]
    UnknownCategory {
        /// The data item's id.
        id: String,
        /// The category found.
        value: String,
        /// Where the data item starts.
        position: TextPos,
    },
    /// A data item's `representation` is not one MTConnect defines.
    #[error(
        "DataItem `{id}` at {position}: representation `{value}` is not VALUE, TIME_SERIES, \
         DATA_SET, TABLE or DISCRETE"
    )]
    UnknownRepresentation {
        /// The data item's id.
        id: String,
        /// The representation found.
        value: String,
        /// Where the data item starts.
        position: TextPos,
    },
}

impl DeviceModel {
    /// Parses an `MTConnectDevices` document (a probe response or a `Devices.xml` file).
    pub fn parse(xml: &str) -> Result<Self, DevicesError> {
        let document = Document::parse(xml)?;
        let root = document.root_element();
        match root.tag_name().name() {
            "MTConnectDevices" => {}
            "MTConnectError" => return Err(agent_error(root)),
            other => {
                return Err(DevicesError::NotDevices {
                    root: other.to_owned(),
                    position: position(&document, root),
                });
            }
        }
        let devices = root
            .children()
            .filter(|node| is_element(node, "Devices"))
            .flat_map(|devices| devices.children())
            .filter(|node| is_element(node, "Device"))
            .map(|device| parse_device(&document, device))
            .collect::<Result<Vec<_>, _>>()?;
        if devices.is_empty() {
            return Err(DevicesError::NoDevices);
        }
        Ok(DeviceModel { devices })
    }

    /// The device whose name, uuid or id is `selector` (tried in that order over all devices,
    /// so a name never loses to another device's id).
    pub fn device(&self, selector: &str) -> Option<&Device> {
        let by = |field: fn(&Device) -> Option<&str>| {
            self.devices.iter().find(|d| field(d) == Some(selector))
        };
        by(|d| Some(&d.name))
            .or_else(|| by(|d| d.uuid.as_deref()))
            .or_else(|| by(|d| Some(&d.id)))
    }
}

impl Device {
    /// The data item an adapter means by SHDR `key`, resolved as the reference agent does: the
    /// first data item whose `name` is the key, else the one whose `id` is, else the one whose
    /// `Source` is.
    pub fn find(&self, key: &str) -> Option<&DataItemDef> {
        let items = &self.data_items;
        items
            .iter()
            .find(|item| item.name.as_deref() == Some(key))
            .or_else(|| items.iter().find(|item| item.id == key))
            .or_else(|| {
                items
                    .iter()
                    .find(|item| item.source.as_deref() == Some(key))
            })
    }

    /// The data item with id `id`.
    pub fn data_item(&self, id: &str) -> Option<&DataItemDef> {
        self.data_items.iter().find(|item| item.id == id)
    }

    /// The first data item of MTConnect type `kind` (e.g. `ASSET_CHANGED`).
    pub fn first_of_kind(&self, kind: &str) -> Option<&DataItemDef> {
        self.data_items.iter().find(|item| item.kind == kind)
    }
}

impl DataItemDef {
    /// The name adapters most likely use for this item: its name, else its id.
    pub fn key(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.id)
    }
}

impl Category {
    /// Reads a `category` attribute (`SAMPLE`, `EVENT`, `CONDITION`; any case).
    pub fn parse(text: &str) -> Option<Self> {
        [
            ("SAMPLE", Category::Sample),
            ("EVENT", Category::Event),
            ("CONDITION", Category::Condition),
        ]
        .into_iter()
        .find(|(name, _)| text.eq_ignore_ascii_case(name))
        .map(|(_, category)| category)
    }
}

impl Representation {
    /// Reads a `representation` attribute (`VALUE`, `TIME_SERIES`, …; any case).
    pub fn parse(text: &str) -> Option<Self> {
        [
            ("VALUE", Representation::Value),
            ("TIME_SERIES", Representation::TimeSeries),
            ("DATA_SET", Representation::DataSet),
            ("TABLE", Representation::Table),
            ("DISCRETE", Representation::Discrete),
        ]
        .into_iter()
        .find(|(name, _)| text.eq_ignore_ascii_case(name))
        .map(|(_, representation)| representation)
    }
}

fn is_element(node: &Node, name: &str) -> bool {
    node.is_element() && node.tag_name().name() == name
}

fn position(document: &Document, node: Node) -> TextPos {
    document.text_pos_at(node.range().start)
}

fn required(
    document: &Document,
    node: Node,
    attribute: &'static str,
) -> Result<String, DevicesError> {
    node.attribute(attribute)
        .map(str::to_owned)
        .ok_or_else(|| DevicesError::MissingAttribute {
            element: node.tag_name().name().to_owned(),
            attribute,
            position: position(document, node),
        })
}

fn optional(node: Node, attribute: &str) -> Option<String> {
    node.attribute(attribute).map(str::to_owned)
}

fn agent_error(root: Node) -> DevicesError {
    let message = root
        .descendants()
        .filter(|node| is_element(node, "Error"))
        .map(|error| {
            let code = error.attribute("errorCode").unwrap_or("ERROR");
            let text = error.text().unwrap_or_default().trim();
            format!("{code}: {text}")
        })
        .collect::<Vec<_>>()
        .join("; ");
    DevicesError::AgentError { message }
}

fn parse_device(document: &Document, device: Node) -> Result<Device, DevicesError> {
    let data_items = device
        .descendants()
        .filter(|node| is_element(node, "DataItem") && is_data_item_declaration(node))
        .map(|item| parse_data_item(document, item))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Device {
        id: required(document, device, "id")?,
        name: required(document, device, "name")?,
        uuid: optional(device, "uuid"),
        data_items,
    })
}

/// Declarations sit in a `DataItems` list; other `DataItem` elements (references inside
/// relationships of some extensions) do not declare anything.
fn is_data_item_declaration(node: &Node) -> bool {
    node.parent_element()
        .is_some_and(|parent| parent.tag_name().name() == "DataItems")
}

fn parse_data_item(document: &Document, item: Node) -> Result<DataItemDef, DevicesError> {
    let id = required(document, item, "id")?;
    let category_text = required(document, item, "category")?;
    let Some(category) = Category::parse(&category_text) else {
        return Err(DevicesError::UnknownCategory {
            id,
            value: category_text,
            position: position(document, item),
        });
    };
    let representation = match item.attribute("representation") {
        None if item.attribute("discrete") == Some("true") => Representation::Discrete,
        None => Representation::Value,
        Some(text) => {
            Representation::parse(text).ok_or_else(|| DevicesError::UnknownRepresentation {
                id: id.clone(),
                value: text.to_owned(),
                position: position(document, item),
            })?
        }
    };
    Ok(DataItemDef {
        kind: required(document, item, "type")?,
        name: optional(item, "name"),
        category,
        sub_type: optional(item, "subType"),
        units: optional(item, "units"),
        native_units: optional(item, "nativeUnits"),
        representation,
        source: source_text(item),
        component: owning_component(item),
        id,
    })
}

fn source_text(item: Node) -> Option<String> {
    item.children()
        .find(|child| is_element(child, "Source"))
        .and_then(|source| source.text())
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(str::to_owned)
}

/// The element holding the item's `DataItems` list.
fn owning_component(item: Node) -> ComponentRef {
    let component = item
        .parent_element()
        .and_then(|data_items| data_items.parent_element());
    match component {
        Some(component) => ComponentRef {
            element: component.tag_name().name().to_owned(),
            id: optional(component, "id"),
            name: optional(component, "name"),
        },
        None => ComponentRef {
            element: String::new(),
            id: None,
            name: None,
        },
    }
}

/// Reading the shared fixtures (recorded by real machines, never copied into the repository).
#[cfg(test)]
pub(crate) mod fixtures {
    use std::path::PathBuf;

    /// `$CHATTER_FIXTURES`, else `<workspace root>/../shared/fixtures`.
    pub(crate) fn root() -> PathBuf {
        match std::env::var_os("CHATTER_FIXTURES") {
            Some(path) => PathBuf::from(path),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
        }
    }

    /// The text of fixture `relative` (under `mtconnect/`), or `None` after printing why the
    /// calling test is skipped.
    pub(crate) fn read(test: &str, relative: &str) -> Option<String> {
        let path = root().join("mtconnect").join(relative);
        match std::fs::read(&path) {
            Ok(bytes) => Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(_) => {
                println!("skipping {test}: fixtures not found at {}", path.display());
                None
            }
        }
    }

    /// Every device model among the fixtures, by relative path.
    pub(crate) const DEVICE_MODELS: [&str; 6] = [
        "cppagent/demo-Devices.xml",
        "nist-smstestbed/Devices.xml",
        "mtconnect-agent/Mazak01.xml",
        "mtconnect-agent/Mazak03.xml",
        "cppagent/samples-haas.xml",
        "cppagent/samples-fanuc.xml",
    ];
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn model(xml: &str) -> DeviceModel {
        DeviceModel::parse(xml).unwrap()
    }

    const SMALL: &str = r#"<?xml version="1.0"?>
<MTConnectDevices xmlns="urn:mtconnect.org:MTConnectDevices:2.0" xmlns:x="urn:example.com:x:1.0">
  <Header creationTime="2022-01-01T00:00:00Z" instanceId="1" version="2.0" sender="s" bufferSize="1"/>
  <Devices>
    <Agent id="agent_1" name="Agent" uuid="agent-uuid">
      <DataItems><DataItem id="agent_avail" category="EVENT" type="AVAILABILITY"/></DataItems>
    </Agent>
    <Device id="d1" name="Lathe" uuid="lathe-1">
      <DataItems>
        <DataItem id="avail" name="avail" category="EVENT" type="AVAILABILITY"/>
      </DataItems>
      <Components>
        <Controller id="cont">
          <Components>
            <Path id="p1" name="path">
              <DataItems>
                <DataItem id="exec" name="execution" category="EVENT" type="EXECUTION"/>
                <DataItem id="execution" name="other" category="EVENT" type="PROGRAM"/>
                <DataItem id="pallet" name="pallet" category="EVENT" type="x:PALLET_NUMBER"/>
                <DataItem id="logic" category="CONDITION" type="LOGIC_PROGRAM"/>
                <DataItem id="vibe" category="SAMPLE" type="DISPLACEMENT" representation="TIME_SERIES" units="MILLIMETER" sampleRate="100"/>
                <DataItem id="vars" category="EVENT" type="VARIABLE" representation="DATA_SET"/>
                <DataItem id="pc" category="EVENT" type="PART_COUNT" discrete="true"/>
                <DataItem id="sp" category="SAMPLE" type="ROTARY_VELOCITY" subType="ACTUAL" units="REVOLUTION/MINUTE" nativeUnits="REVOLUTION/MINUTE"><Source>spindle_speed</Source></DataItem>
              </DataItems>
            </Path>
          </Components>
        </Controller>
        <x:Magazine id="mag" name="magazine">
          <DataItems><DataItem id="slots" category="EVENT" type="x:SLOTS"/></DataItems>
        </x:Magazine>
      </Components>
    </Device>
    <Device id="d2" name="Mill"><DataItems/></Device>
  </Devices>
</MTConnectDevices>"#;

    #[test]
    fn agents_are_skipped_and_devices_kept_in_order() {
        let model = model(SMALL);
        let names: Vec<&str> = model.devices.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["Lathe", "Mill"]);
        assert_eq!(model.devices[0].uuid.as_deref(), Some("lathe-1"));
        assert_eq!(model.devices[1].uuid, None);
    }

    #[test]
    fn data_items_come_from_the_whole_tree_in_document_order() {
        let ids: Vec<String> = model(SMALL).devices[0]
            .data_items
            .iter()
            .map(|d| d.id.clone())
            .collect();
        assert_eq!(
            ids,
            [
                "avail",
                "exec",
                "execution",
                "pallet",
                "logic",
                "vibe",
                "vars",
                "pc",
                "sp",
                "slots"
            ]
        );
    }

    #[test]
    fn attributes_are_read_with_their_defaults() {
        let model = model(SMALL);
        let lathe = &model.devices[0];
        let speed = lathe.data_item("sp").unwrap();
        assert_eq!(speed.category, Category::Sample);
        assert_eq!(speed.kind, "ROTARY_VELOCITY");
        assert_eq!(speed.sub_type.as_deref(), Some("ACTUAL"));
        assert_eq!(speed.units.as_deref(), Some("REVOLUTION/MINUTE"));
        assert_eq!(speed.native_units.as_deref(), Some("REVOLUTION/MINUTE"));
        assert_eq!(speed.representation, Representation::Value);
        assert_eq!(speed.source.as_deref(), Some("spindle_speed"));
        assert_eq!(speed.component.element, "Path");
        assert_eq!(speed.component.id.as_deref(), Some("p1"));
        let series = lathe.data_item("vibe").unwrap();
        assert_eq!(series.representation, Representation::TimeSeries);
        assert_eq!(
            lathe.data_item("vars").unwrap().representation,
            Representation::DataSet
        );
        assert_eq!(
            lathe.data_item("pc").unwrap().representation,
            Representation::Discrete
        );
        assert_eq!(
            lathe.data_item("logic").unwrap().category,
            Category::Condition
        );
        assert_eq!(lathe.data_item("logic").unwrap().name, None);
    }

    #[test]
    fn extension_types_and_components_are_kept_verbatim() {
        let model = model(SMALL);
        let lathe = &model.devices[0];
        assert_eq!(lathe.data_item("pallet").unwrap().kind, "x:PALLET_NUMBER");
        let slots = lathe.data_item("slots").unwrap();
        assert_eq!(slots.component.element, "Magazine");
        assert_eq!(slots.component.name.as_deref(), Some("magazine"));
        assert_eq!(
            lathe.data_item("avail").unwrap().component.element,
            "Device"
        );
    }

    #[test]
    fn keys_match_names_before_ids_and_sources_last() {
        let model = model(SMALL);
        let lathe = &model.devices[0];
        // `execution` is the name of `exec` and the id of another item: the name wins.
        assert_eq!(lathe.find("execution").unwrap().id, "exec");
        assert_eq!(lathe.find("exec").unwrap().id, "exec");
        assert_eq!(lathe.find("logic").unwrap().id, "logic");
        assert_eq!(lathe.find("spindle_speed").unwrap().id, "sp");
        assert!(lathe.find("nothing").is_none());
    }

    #[test]
    fn devices_are_selected_by_name_uuid_or_id() {
        let model = model(SMALL);
        assert_eq!(model.device("Lathe").unwrap().id, "d1");
        assert_eq!(model.device("lathe-1").unwrap().id, "d1");
        assert_eq!(model.device("d2").unwrap().name, "Mill");
        assert!(model.device("agent_1").is_none());
        assert!(model.device("nope").is_none());
    }

    #[test]
    fn errors_say_what_and_where() {
        let cases = [
            ("<MTConnectDevices><Devices>", "not well-formed XML"),
            ("<MTConnectStreams/>", "found <MTConnectStreams> at 1:1"),
            (
                "<MTConnectDevices><Devices/></MTConnectDevices>",
                "declares no Device",
            ),
            (
                "<MTConnectDevices><Devices>\n<Device name=\"a\"/></Devices></MTConnectDevices>",
                "<Device> at 2:1 has no `id` attribute",
            ),
            (
                "<MTConnectDevices><Devices><Device id=\"d\" name=\"a\"><DataItems>\n  \
                 <DataItem id=\"x\" category=\"EVENTS\" type=\"A\"/></DataItems></Device>\
                 </Devices></MTConnectDevices>",
                "DataItem `x` at 2:3: category `EVENTS` is not SAMPLE, EVENT or CONDITION",
            ),
            (
                "<MTConnectDevices><Devices><Device id=\"d\" name=\"a\"><DataItems>\
                 <DataItem id=\"x\" category=\"SAMPLE\" type=\"A\" representation=\"WAVE\"/>\
                 </DataItems></Device></Devices></MTConnectDevices>",
                "representation `WAVE`",
            ),
            (
                "<MTConnectDevices><Devices><Device id=\"d\" name=\"a\"><DataItems>\
                 <DataItem id=\"x\" category=\"SAMPLE\"/></DataItems></Device></Devices>\
                 </MTConnectDevices>",
                "<DataItem> at 1:63 has no `type` attribute",
            ),
            (
                "<MTConnectError><Errors><Error errorCode=\"NO_DEVICE\">Could not find the \
                 device 'x'</Error></Errors></MTConnectError>",
                "MTConnectError response: NO_DEVICE: Could not find the device 'x'",
            ),
        ];
        for (xml, expected) in cases {
            let message = DeviceModel::parse(xml).unwrap_err().to_string();
            assert!(message.contains(expected), "{message:?} lacks {expected:?}");
        }
    }

    #[test]
    fn every_fixture_device_model_parses() {
        for relative in fixtures::DEVICE_MODELS {
            let Some(xml) = fixtures::read("every_fixture_device_model_parses", relative) else {
                return;
            };
            let model = DeviceModel::parse(&xml).unwrap_or_else(|e| panic!("{relative}: {e}"));
            // Every declaration with an id is a data item of some device, and vice versa.
            let declared = xml.matches("<DataItem ").count();
            let parsed: usize = model.devices.iter().map(|d| d.data_items.len()).sum();
            assert_eq!(parsed, declared, "{relative}");
            for device in &model.devices {
                for item in &device.data_items {
                    assert!(!item.kind.is_empty() && !item.id.is_empty(), "{relative}");
                    assert!(!item.component.element.is_empty(), "{relative}");
                }
            }
        }
    }

    #[test]
    fn the_nist_model_maps_the_hurco_keys() {
        let Some(xml) = fixtures::read(
            "the_nist_model_maps_the_hurco_keys",
            "nist-smstestbed/Devices.xml",
        ) else {
            return;
        };
        let model = model(&xml);
        let names: Vec<&str> = model.devices.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "GFAgie01", "Mazak01", "Mazak03", "Hurco01", "Hurco02", "Hurco03", "Hurco04",
                "Hurco06"
            ]
        );
        let hurco = model.device("Hurco04").unwrap();
        let part_count = hurco.find("Part_Count").unwrap();
        assert_eq!(
            (part_count.kind.as_str(), part_count.category),
            ("PART_COUNT", Category::Event)
        );
        assert_eq!(part_count.sub_type.as_deref(), Some("ALL"));
        assert_eq!(hurco.find("Program_Status").unwrap().kind, "EXECUTION");
        let speed = hurco.find("Spindle_Speed").unwrap();
        assert_eq!(speed.units.as_deref(), Some("REVOLUTION/MINUTE"));
        assert_eq!(speed.component.element, "Rotary");
        // The same key in another device resolves to that device's own item.
        assert_eq!(
            model
                .device("Hurco06")
                .unwrap()
                .find("Part_Count")
                .unwrap()
                .id,
            "Hurco06-path_4"
        );
        assert_eq!(model.device("mtc_adapter008").unwrap().id, "Hurco04");
    }

    #[test]
    fn the_demo_model_is_mtconnect_2_with_an_okuma_and_a_mazak() {
        let Some(xml) = fixtures::read(
            "the_demo_model_is_mtconnect_2_with_an_okuma_and_a_mazak",
            "cppagent/demo-Devices.xml",
        ) else {
            return;
        };
        let model = model(&xml);
        let okuma = model.device("OKUMA").unwrap();
        assert_eq!(okuma.uuid.as_deref(), Some("OKUMA.123456"));
        assert_eq!(okuma.find("avail").unwrap().kind, "AVAILABILITY");
        let data_sets = okuma
            .data_items
            .iter()
            .filter(|d| d.representation == Representation::DataSet)
            .count();
        assert!(data_sets >= 1);
        assert!(model.device("Mazak").is_some());
    }

    #[test]
    fn the_mazak_models_have_extension_types_and_asset_items() {
        for (relative, device) in [
            ("mtconnect-agent/Mazak01.xml", "Mazak01"),
            ("mtconnect-agent/Mazak03.xml", "Mazak03"),
        ] {
            let Some(xml) = fixtures::read(
                "the_mazak_models_have_extension_types_and_asset_items",
                relative,
            ) else {
                return;
            };
            let model = model(&xml);
            let mazak = model.device(device).unwrap();
            assert!(
                mazak.data_items.iter().any(|d| d.kind.starts_with("x:")),
                "{relative}"
            );
            assert!(mazak.first_of_kind("ASSET_CHANGED").is_some(), "{relative}");
            assert!(mazak.first_of_kind("ASSET_REMOVED").is_some(), "{relative}");
        }
    }

    #[test]
    fn the_reference_agent_samples_parse() {
        for (relative, device) in [
            ("cppagent/samples-haas.xml", "Haas_1"),
            ("cppagent/samples-fanuc.xml", "Fanuc-4Axis"),
        ] {
            let Some(xml) = fixtures::read("the_reference_agent_samples_parse", relative) else {
                return;
            };
            let model = model(&xml);
            let device = model.device(device).unwrap();
            assert_eq!(
                device.first_of_kind("MESSAGE").unwrap().category,
                Category::Event
            );
        }
    }
}
