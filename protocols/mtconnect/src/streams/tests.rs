//! Streams documents: the fixtures recorded from real agents, writer → parser round trips, and
//! the errors a reader sees.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use super::*;
use crate::time::parse_timestamp;

/// The shared fixtures folder: `$CHATTER_FIXTURES`, or `shared/fixtures` beside the workspace.
fn fixtures() -> PathBuf {
    std::env::var_os("CHATTER_FIXTURES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
        PathBuf::from,
    )
}

/// The text of fixture `path`, or `None` (printing why) when the fixtures are absent.
fn fixture(test: &str, path: &str) -> Option<String> {
    let folder = fixtures();
    if !folder.is_dir() {
        println!(
            "skipping {test}: fixtures not found at {}",
            folder.display()
        );
        return None;
    }
    let file = folder.join(path);
    Some(std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())))
}

/// Every value of attribute (or JSON key) `name` in `text`, found by plain text search.
fn scraped<'a>(text: &'a str, opening: &str) -> Vec<&'a str> {
    text.split(opening)
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

fn header_attribute(text: &str, name: &str) -> u64 {
    let header = text.split("<Header").nth(1).unwrap();
    scraped(header, &format!(" {name}=\""))[0].parse().unwrap()
}

#[test]
fn a_real_current_document_of_mtconnect_1_3_is_read_whole() {
    let test = "a_real_current_document_of_mtconnect_1_3_is_read_whole";
    let Some(text) = fixture(test, "mtconnect/mtconnect-net/Current-Mazak-1.5.xml") else {
        return;
    };
    let document = parse(&text).unwrap();

    let header = &document.header;
    assert_eq!(header.instance_id, header_attribute(&text, "instanceId"));
    assert_eq!(header.buffer_size, header_attribute(&text, "bufferSize"));
    assert_eq!(
        header.first_sequence,
        header_attribute(&text, "firstSequence")
    );
    assert_eq!(
        header.last_sequence,
        header_attribute(&text, "lastSequence")
    );
    assert_eq!(
        header.next_sequence,
        header_attribute(&text, "nextSequence")
    );
    assert!(header.creation_time.is_some());

    // One observation per element carrying a sequence number, sorted, none lost.
    let mut sequences: Vec<u64> = scraped(&text, " sequence=\"")
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    sequences.sort_unstable();
    let parsed: Vec<u64> = document.observations.iter().map(|o| o.sequence).collect();
    assert_eq!(parsed, sequences);

    let ids: BTreeSet<&str> = scraped(&text, "dataItemId=\"").into_iter().collect();
    let parsed_ids: BTreeSet<&str> = document
        .observations
        .iter()
        .map(|o| o.data_item_id.as_str())
        .collect();
    assert_eq!(parsed_ids, ids);
}

#[test]
fn types_categories_and_values_come_from_elements_and_containers() {
    let test = "types_categories_and_values_come_from_elements_and_containers";
    let Some(text) = fixture(test, "mtconnect/mtconnect-net/Current-Mazak-1.5.xml") else {
        return;
    };
    let document = parse(&text).unwrap();
    let by_id = |id: &str| {
        document
            .observations
            .iter()
            .find(|o| o.data_item_id == id)
            .unwrap()
    };

    // <Position dataItemId="zpm" … subType="ACTUAL">-378,6338</Position> under Samples.
    let position = by_id("zpm");
    assert_eq!(position.category, Category::Sample);
    assert_eq!(position.kind, "POSITION");
    assert_eq!(position.sub_type.as_deref(), Some("ACTUAL"));
    assert_eq!(position.value, Value::Text("-378,6338".to_owned()));
    assert_eq!(position.name.as_deref(), Some("Zabs"));
    assert_eq!(position.component.component, "Linear");
    assert_eq!(position.component.component_name.as_deref(), Some("Z"));
    assert_eq!(position.component.device_name, "Mazak");
    assert_eq!(
        position.timestamp,
        parse_timestamp("2022-10-21T06:51:52.387709Z").unwrap()
    );

    // Extension subtypes are kept verbatim; `AccumulatedTime` becomes upper snake case.
    let auto_time = by_id("atime");
    assert_eq!(auto_time.kind, "ACCUMULATED_TIME");
    assert_eq!(auto_time.sub_type.as_deref(), Some("x:AUTO"));

    // Conditions: the level is the element, the type is the attribute.
    let servo = by_id("servo");
    assert_eq!(servo.category, Category::Condition);
    assert_eq!(servo.kind, "ACTUATOR");
    assert_eq!(
        servo.value,
        Value::Condition(Condition::new(ConditionLevel::Normal))
    );
    let unavailable_condition = by_id("ct2");
    assert!(unavailable_condition.is_unavailable());

    let unavailable_sample = by_id("cf2");
    assert_eq!(unavailable_sample.kind, "ANGULAR_VELOCITY");
    assert!(unavailable_sample.is_unavailable());

    // Every element of a Condition container is a condition, every other one is text.
    for observation in &document.observations {
        let is_condition = matches!(observation.value, Value::Condition(_));
        assert_eq!(is_condition, observation.category == Category::Condition);
        assert!(!observation.kind.is_empty());
    }
}

#[test]
fn a_real_json_version_2_document_is_read_whole() {
    let test = "a_real_json_version_2_document_is_read_whole";
    let Some(text) = fixture(
        test,
        "mtconnect/mtconnect-net/MTConnectStreamsResponseDocument.json",
    ) else {
        return;
    };
    let document = parse(&text).unwrap();
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    let raw_header = &raw["MTConnectStreams"]["Header"];
    let header = &document.header;
    assert_eq!(Some(header.instance_id), raw_header["instanceId"].as_u64());
    assert_eq!(Some(header.buffer_size), raw_header["bufferSize"].as_u64());
    assert_eq!(
        Some(header.first_sequence),
        raw_header["firstSequence"].as_u64()
    );
    assert_eq!(
        Some(header.last_sequence),
        raw_header["lastSequence"].as_u64()
    );
    assert_eq!(
        Some(header.next_sequence),
        raw_header["nextSequence"].as_u64()
    );

    let sequence_count = text.matches("\"sequence\":").count();
    assert_eq!(document.observations.len(), sequence_count);
    assert!(
        document
            .observations
            .windows(2)
            .all(|pair| pair[0].sequence < pair[1].sequence)
    );

    let ids: BTreeSet<&str> = scraped(&text, "\"dataItemId\": \"").into_iter().collect();
    let parsed_ids: BTreeSet<&str> = document
        .observations
        .iter()
        .map(|o| o.data_item_id.as_str())
        .collect();
    assert_eq!(parsed_ids, ids);

    let connection = document
        .observations
        .iter()
        .find(|o| o.kind == "CONNECTION_STATUS")
        .unwrap();
    assert_eq!(connection.category, Category::Event);
    assert_eq!(connection.value, Value::Text("LISTEN".to_owned()));
    assert_eq!(connection.component.device_name, "agent");

    let data_set = document
        .observations
        .iter()
        .find(|o| o.data_item_id == "testDataSet")
        .unwrap();
    assert_eq!(data_set.kind, "TOOL_OFFSET");
    assert_eq!(data_set.representation, Representation::DataSet);

    let conditions = document
        .observations
        .iter()
        .filter(|o| o.category == Category::Condition);
    for condition in conditions {
        assert!(condition.is_unavailable(), "{condition:?}");
        assert!(!condition.kind.is_empty());
    }
}

fn assert_same(read: &StreamsDocument, written: &StreamsDocument, body: &str) {
    assert_eq!(read.header, written.header, "{body}");
    assert_eq!(
        read.observations.len(),
        written.observations.len(),
        "{body}"
    );
    for (read, written) in read.observations.iter().zip(&written.observations) {
        assert_eq!(read, written, "{body}");
    }
}

fn assert_round_trip(document: &StreamsDocument) {
    let xml = write_xml(document);
    assert_same(&parse(&xml).unwrap(), document, &xml);
    let json = write_json(document);
    assert_same(&parse(&json).unwrap(), document, &json);
}

#[test]
fn fixture_documents_survive_writing_and_reading_back_in_both_formats() {
    let test = "fixture_documents_survive_writing_and_reading_back_in_both_formats";
    for path in [
        "mtconnect/mtconnect-net/Current-Mazak-1.5.xml",
        "mtconnect/mtconnect-net/MTConnectStreamsResponseDocument.json",
    ] {
        let Some(text) = fixture(test, path) else {
            return;
        };
        // Agents write microseconds; the JSON fixture has 100 ns digits.
        let mut document = parse(&text).unwrap();
        let to_micros = |ns: i64| ns - ns.rem_euclid(1_000);
        document.header.creation_time = document.header.creation_time.map(to_micros);
        for observation in &mut document.observations {
            observation.timestamp = to_micros(observation.timestamp);
        }
        assert_round_trip(&document);
    }
}

fn component(device: &str, id: &str) -> Arc<ComponentRef> {
    Arc::new(ComponentRef {
        device_name: device.to_owned(),
        device_uuid: format!("{device}-uuid"),
        component: "Controller".to_owned(),
        component_id: id.to_owned(),
        component_name: Some(format!("{id} name")),
    })
}

fn observation(
    component: &Arc<ComponentRef>,
    sequence: u64,
    category: Category,
    kind: &str,
    value: Value,
) -> Observation {
    Observation {
        component: Arc::clone(component),
        data_item_id: format!("item{sequence}"),
        name: None,
        sequence,
        timestamp: 1_700_000_000_123_456_000 + sequence as i64 * 1_000,
        category,
        kind: kind.to_owned(),
        sub_type: None,
        representation: Representation::Value,
        value,
    }
}

fn text(value: &str) -> Value {
    Value::Text(value.to_owned())
}

fn synthetic_document() -> StreamsDocument {
    let controller = component("Mill", "ctrl");
    let other = component("Lathe", "path");
    let mut observations = vec![
        observation(
            &controller,
            10,
            Category::Event,
            "EXECUTION",
            text("ACTIVE"),
        ),
        observation(
            &other,
            11,
            Category::Sample,
            "SPINDLE_SPEED",
            text("1200.5"),
        ),
        observation(
            &controller,
            12,
            Category::Sample,
            "LOAD",
            text("UNAVAILABLE"),
        ),
        observation(
            &controller,
            13,
            Category::Event,
            "x:PALLET_NUMBER",
            text("7"),
        ),
        observation(
            &controller,
            14,
            Category::Event,
            "PROGRAM_COMMENT",
            text("a <b> & \"c\""),
        ),
        observation(&controller, 15, Category::Sample, "POSITION", text("1.50")),
    ];
    let mut fault = Condition::new(ConditionLevel::Fault);
    fault.native_code = Some("1010".to_owned());
    fault.native_severity = Some("2".to_owned());
    fault.qualifier = Some("HIGH".to_owned());
    fault.text = Some("TOOL CHANGER FAULT".to_owned());
    observations.push(observation(
        &controller,
        16,
        Category::Condition,
        "SYSTEM",
        Value::Condition(fault),
    ));
    observations.push(observation(
        &other,
        17,
        Category::Condition,
        "LOGIC_PROGRAM",
        Value::Condition(Condition::new(ConditionLevel::Normal)),
    ));
    let mut variables = observation(
        &controller,
        18,
        Category::Event,
        "VARIABLE",
        text("a=1 b=\"x y\" c="),
    );
    variables.representation = Representation::DataSet;
    variables.sub_type = Some("x:MACRO".to_owned());
    variables.name = Some("vars".to_owned());
    observations.push(variables);
    let mut offsets = observation(
        &controller,
        19,
        Category::Event,
        "WORK_OFFSET",
        text("G54={X=1 Y=2} G55={Z=3}"),
    );
    offsets.representation = Representation::Table;
    observations.push(offsets);
    let mut amps = observation(&other, 20, Category::Sample, "VOLT_AMPERE", text("1 2.5 3"));
    amps.representation = Representation::TimeSeries;
    observations.push(amps);
    StreamsDocument {
        header: Header {
            instance_id: 1_700_000_000,
            buffer_size: 131_072,
            first_sequence: 1,
            last_sequence: 20,
            next_sequence: 21,
            creation_time: Some(1_700_000_100_000_000_000),
            sender: Some("chatter".to_owned()),
            version: Some("2.0.0.0".to_owned()),
        },
        observations,
    }
}

#[test]
fn every_kind_of_value_survives_writing_and_reading_back() {
    assert_round_trip(&synthetic_document());
}

#[test]
fn an_empty_document_survives_writing_and_reading_back() {
    let document = StreamsDocument {
        header: synthetic_document().header,
        observations: Vec::new(),
    };
    assert_round_trip(&document);
}

#[test]
fn written_documents_have_the_shape_agents_write() {
    let document = synthetic_document();
    let xml = write_xml(&document);
    assert!(xml.contains("xmlns=\"urn:mtconnect.org:MTConnectStreams:2.0\""));
    assert!(xml.contains("<x:PalletNumber dataItemId=\"item13\""));
    assert!(xml.contains("<VariableDataSet"));
    assert!(xml.contains("count=\"3\""));
    assert!(xml.contains("<Entry key=\"c\" removed=\"true\"/>"));
    assert!(xml.contains("<Fault dataItemId=\"item16\""));
    assert!(xml.contains("nativeCode=\"1010\""));
    assert_eq!(xml.matches("<DeviceStream ").count(), 2);

    let json: serde_json::Value = serde_json::from_str(&write_json(&document)).unwrap();
    let streams = &json["MTConnectStreams"];
    assert_eq!(streams["jsonVersion"], 2);
    let mill = &streams["Streams"]["DeviceStream"][0];
    assert_eq!(mill["name"], "Mill");
    let controller = &mill["ComponentStream"][0];
    assert_eq!(controller["Events"]["Execution"][0]["value"], "ACTIVE");
    assert_eq!(controller["Samples"]["Position"][0]["value"], "1.50");
    assert_eq!(
        controller["Condition"]["Fault"][0]["value"],
        "TOOL CHANGER FAULT"
    );
    let lathe = &streams["Streams"]["DeviceStream"][1]["ComponentStream"][0];
    assert_eq!(lathe["Samples"]["SpindleSpeed"][0]["value"], 1200.5);
}

#[test]
fn extension_elements_keep_their_prefix_even_when_undeclared() {
    let body = r#"<MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:1.3">
      <Header instanceId="1" bufferSize="8" firstSequence="1" lastSequence="2" nextSequence="3"/>
      <Streams><DeviceStream name="d" uuid="u"><ComponentStream component="Path" componentId="p">
        <Events>
          <x:ToolGroup dataItemId="tg" timestamp="2024-05-01T00:00:00Z" sequence="2">A</x:ToolGroup>
          <y:SequenceNumber dataItemId="sn" timestamp="2024-05-01T00:00:00Z" sequence="1">9</y:SequenceNumber>
        </Events>
      </ComponentStream></DeviceStream></Streams></MTConnectStreams>"#;
    let document = parse(body).unwrap();
    let kinds: Vec<&str> = document
        .observations
        .iter()
        .map(|o| o.kind.as_str())
        .collect();
    assert_eq!(kinds, ["y:SEQUENCE_NUMBER", "x:TOOL_GROUP"]);
}

#[test]
fn declared_extension_namespaces_give_their_prefix() {
    let body = r#"<MTConnectStreams xmlns="urn:mtconnect.org:MTConnectStreams:2.3" xmlns:m="urn:mtconnect.org:MTConnectStreams:2.3" xmlns:x="urn:example.com:ExampleStreams:2.3">
      <Header instanceId="1" bufferSize="8" firstSequence="1" lastSequence="1" nextSequence="2"/>
      <Streams><DeviceStream name="d" uuid="u"><ComponentStream component="Path" componentId="p">
        <Samples><x:Flow dataItemId="f" timestamp="2024-05-01T00:00:00Z" sequence="1">3.5</x:Flow></Samples>
      </ComponentStream></DeviceStream></Streams></MTConnectStreams>"#;
    let document = parse(body).unwrap();
    assert_eq!(document.observations[0].kind, "x:FLOW");
    assert_eq!(document.observations[0].value, text("3.5"));
}

#[test]
fn legacy_error_documents_are_typed_agent_errors() {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>
      <MTConnectError xmlns="urn:mtconnect.org:MTConnectError:1.3">
        <Header creationTime="2024-01-01T00:00:00Z" sender="agent" instanceId="1650000000" version="1.8" bufferSize="131072"/>
        <Errors><Error errorCode="OUT_OF_RANGE">'from' must be greater than 1200</Error></Errors>
      </MTConnectError>"#;
    let Err(StreamsError::Agent(error)) = parse(body) else {
        panic!("an error document is an agent error");
    };
    assert_eq!(error.instance_id, Some(1_650_000_000));
    assert_eq!(error.buffer_size, Some(131_072));
    assert!(error.has(&ErrorCode::OutOfRange));
    assert_eq!(error.errors[0].message, "'from' must be greater than 1200");
    assert_eq!(
        StreamsError::Agent(error).to_string(),
        "the agent refused the request: OUT_OF_RANGE: 'from' must be greater than 1200"
    );
}

#[test]
fn error_documents_of_mtconnect_2_6_are_read_too() {
    let body = r#"<MTConnectError xmlns="urn:mtconnect.org:MTConnectError:2.6">
        <Header instanceId="5" bufferSize="16"/>
        <Errors><OutOfRange errorCode="OUT_OF_RANGE"><ErrorMessage>'from' must be greater than 9</ErrorMessage>
          <QueryParameter name="from"><Value>3</Value><Minimum>10</Minimum><Maximum>20</Maximum></QueryParameter>
        </OutOfRange></Errors></MTConnectError>"#;
    let Err(StreamsError::Agent(error)) = parse(body) else {
        panic!("an error document is an agent error");
    };
    assert_eq!(error.errors.len(), 1);
    assert_eq!(error.errors[0].code, ErrorCode::OutOfRange);
    assert_eq!(error.errors[0].message, "'from' must be greater than 9");

    let json_v1 = r#"{"MTConnectError": {"Header": {"instanceId": 5, "bufferSize": 16},
        "Errors": [{"Error": {"errorCode": "NO_DEVICE", "value": "Could not find the device 'x'"}}]}}"#;
    let Err(StreamsError::Agent(error)) = parse(json_v1) else {
        panic!("an error document is an agent error");
    };
    assert_eq!(error.instance_id, Some(5));
    assert_eq!(error.errors[0].code, ErrorCode::NoDevice);
}

#[test]
fn written_error_documents_read_back() {
    let mut error = ErrorDocument::single(ErrorCode::OutOfRange, "'from' must be greater than 41");
    error.instance_id = Some(77);
    error.buffer_size = Some(64);
    for body in [write_error_xml(&error), write_error_json(&error)] {
        assert_eq!(
            parse(&body),
            Err(StreamsError::Agent(error.clone())),
            "{body}"
        );
    }
}

#[test]
fn problems_are_reported_with_their_place() {
    let missing_sequence = r#"<MTConnectStreams>
      <Header instanceId="1" bufferSize="8" firstSequence="1" lastSequence="1" nextSequence="2"/>
      <Streams><DeviceStream name="d" uuid="u"><ComponentStream component="Path" componentId="p">
        <Events><Block dataItemId="b" timestamp="2024-05-01T00:00:00Z">G1</Block></Events>
      </ComponentStream></DeviceStream></Streams></MTConnectStreams>"#;
    assert_eq!(
        parse(missing_sequence).unwrap_err().to_string(),
        "attribute `sequence` is missing (at <Block> at line 4)"
    );

    let bad_header = r#"<MTConnectStreams><Header instanceId="x" bufferSize="8" firstSequence="1" lastSequence="1" nextSequence="2"/></MTConnectStreams>"#;
    assert_eq!(
        parse(bad_header).unwrap_err().to_string(),
        "attribute `instanceId` = \"x\" is not an unsigned integer (at <Header> at line 1)"
    );

    let bad_time = r#"{"MTConnectStreams": {"Header": {"instanceId": 1, "bufferSize": 8, "firstSequence": 1, "lastSequence": 1, "nextSequence": 2},
      "Streams": {"DeviceStream": [{"name": "d", "uuid": "u", "ComponentStream": [{"component": "Path", "componentId": "p",
        "Events": {"Block": [{"dataItemId": "b", "sequence": 1, "timestamp": "yesterday", "value": "G1"}]}}]}]}}}"#;
    assert_eq!(
        parse(bad_time).unwrap_err().to_string(),
        "`timestamp` = \"yesterday\" is not an ISO 8601 timestamp \
         (at MTConnectStreams.Streams.DeviceStream[0].ComponentStream[0].Events.Block[0])"
    );

    assert!(matches!(
        parse("<MTConnectStreams><Header"),
        Err(StreamsError::Xml { line: 1, .. })
    ));
    assert!(matches!(parse("{\"a\": "), Err(StreamsError::Json { .. })));
    assert_eq!(parse("  \n"), Err(StreamsError::Empty));
    assert!(matches!(
        parse("HTTP/1.1 200 OK"),
        Err(StreamsError::UnknownFormat { .. })
    ));
    assert_eq!(
        parse("<MTConnectDevices/>").unwrap_err().to_string(),
        "expected an MTConnectStreams document, found an XML document whose root element is <MTConnectDevices>"
    );
}

#[test]
fn json_version_1_documents_are_read_too() {
    let body = r#"{"MTConnectStreams": {"Header": {"instanceId": "3", "bufferSize": 8, "firstSequence": 1, "lastSequence": 2, "nextSequence": 3},
      "Streams": [{"DeviceStream": {"name": "d", "uuid": "u", "ComponentStreams": [{"ComponentStream": {"component": "Path", "componentId": "p",
        "Events": [{"Execution": {"dataItemId": "ex", "sequence": "2", "timestamp": "2024-05-01T00:00:00Z", "value": "READY"}}],
        "Condition": [{"Warning": {"dataItemId": "sys", "sequence": 1, "timestamp": "2024-05-01T00:00:00Z", "type": "SYSTEM", "nativeCode": "7", "value": "LOW OIL"}}]}}]}}]}}"#;
    let document = parse(body).unwrap();
    assert_eq!(document.header.instance_id, 3);
    let mut warning = Condition::new(ConditionLevel::Warning);
    warning.native_code = Some("7".to_owned());
    warning.text = Some("LOW OIL".to_owned());
    assert_eq!(document.observations[0].value, Value::Condition(warning));
    assert_eq!(document.observations[0].kind, "SYSTEM");
    assert_eq!(document.observations[1].kind, "EXECUTION");
    assert_eq!(document.observations[1].value, text("READY"));
}
