//! Tool libraries: the Amana Tool master library (`.tools` and its plain `tools.json`), the older
//! `start-values` shape, and inputs that must fail cleanly.
//!
//! Expected facts are read from the fixture independently of the parser: the archive is opened
//! with `zip` and `tools.json` walked as a `serde_json::Value`.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{Cursor, Read, Write};

use chatter_fusion::{FusionError, MAX_TOOLS_JSON_BYTES, parse_tool_library};
use chatter_model::library::{LengthUnit, Tool};
use serde_json::Value;

const AMANA: &str = "autodesk/fusion-tool-libraries/Amana-Tool-Fusion-Master.tools";

/// The `tools.json` inside a `.tools` archive, read with `zip` alone.
fn unzipped(archive: &[u8]) -> Vec<u8> {
    let mut archive = zip::ZipArchive::new(Cursor::new(archive)).unwrap();
    let mut json = Vec::new();
    archive
        .by_name("tools.json")
        .unwrap()
        .read_to_end(&mut json)
        .unwrap();
    json
}

fn by_guid<'a>(tools: &'a [Tool], guid: &str) -> &'a Tool {
    tools
        .iter()
        .find(|t| t.guid.as_deref() == Some(guid))
        .unwrap_or_else(|| panic!("no tool {guid}"))
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9 * a.abs().max(1.0),
        (None, None) => true,
        _ => false,
    }
}

#[test]
fn amana_library_has_every_tool_with_its_type_and_unit() {
    let Some(bytes) = common::read("amana_library_has_every_tool_with_its_type_and_unit", AMANA)
    else {
        return;
    };
    let json: Value = serde_json::from_slice(&unzipped(&bytes)).unwrap();
    let entries = json["data"].as_array().unwrap();
    let mut types: BTreeMap<String, usize> = BTreeMap::new();
    let mut inches = 0;
    let mut millimeters = 0;
    for entry in entries {
        *types
            .entry(entry["type"].as_str().unwrap().to_owned())
            .or_default() += 1;
        match entry["unit"].as_str().unwrap() {
            "inches" => inches += 1,
            "millimeters" => millimeters += 1,
            other => panic!("unexpected unit {other}"),
        }
    }
    assert_eq!(entries.len(), 327);
    assert!(!types.contains_key("holder"));

    let library = parse_tool_library(&bytes).unwrap();
    assert_eq!(library.tools.len(), entries.len());
    let mut parsed_types: BTreeMap<String, usize> = BTreeMap::new();
    for tool in &library.tools {
        *parsed_types.entry(tool.kind.clone()).or_default() += 1;
    }
    assert_eq!(parsed_types, types);
    let count = |unit| library.tools.iter().filter(|t| t.unit == unit).count();
    assert_eq!(count(LengthUnit::Inches), inches);
    assert_eq!(count(LengthUnit::Millimeters), millimeters);
    assert!(inches > millimeters && millimeters > 0);
    // File order is kept.
    for (entry, tool) in entries.iter().zip(&library.tools) {
        assert_eq!(tool.guid.as_deref(), entry["guid"].as_str());
    }
}

#[test]
fn amana_tools_keep_geometry_and_first_preset() {
    let Some(bytes) = common::read("amana_tools_keep_geometry_and_first_preset", AMANA) else {
        return;
    };
    let json: Value = serde_json::from_slice(&unzipped(&bytes)).unwrap();
    let entries = json["data"].as_array().unwrap();
    let library = parse_tool_library(&bytes).unwrap();

    // The first, the last, the first millimeter tool and the first with a stepover.
    let mut picked = vec![&entries[0], &entries[entries.len() - 1]];
    picked.extend(entries.iter().find(|e| e["unit"] == "millimeters"));
    picked.extend(
        entries
            .iter()
            .find(|e| e["start-values"]["presets"][0]["use-stepover"] == true),
    );
    assert_eq!(picked.len(), 4);
    for entry in picked {
        let guid = entry["guid"].as_str().unwrap();
        let tool = by_guid(&library.tools, guid);
        let geometry = &entry["geometry"];
        assert!(
            close(tool.geometry.diameter, geometry["DC"].as_f64()),
            "{guid}"
        );
        assert_eq!(
            tool.geometry.flutes,
            geometry["NOF"].as_u64().map(|n| n as u32),
            "{guid}"
        );
        assert!(close(
            tool.geometry.overall_length,
            geometry["OAL"].as_f64()
        ));
        assert_eq!(
            tool.description,
            entry["description"].as_str().unwrap().trim()
        );
        assert_eq!(tool.vendor.as_deref(), entry["vendor"].as_str());
        assert_eq!(tool.material.as_deref(), entry["BMC"].as_str());
        assert_eq!(
            tool.number.map(u64::from),
            entry["post-process"]["number"].as_u64()
        );
        let first = &entry["start-values"]["presets"][0];
        let preset = &tool.presets[0];
        assert_eq!(preset.name, first["name"].as_str().unwrap());
        assert!(close(preset.spindle_rpm, first["n"].as_f64()), "{guid}");
        assert!(close(preset.cutting_feed, first["v_f"].as_f64()), "{guid}");
        assert!(close(preset.plunge_feed, first["v_f_plunge"].as_f64()));
        assert!(close(preset.surface_speed, first["v_c"].as_f64()));
        assert_eq!(preset.coolant.as_deref(), first["tool-coolant"].as_str());
        if first["use-stepover"] == true {
            assert!(close(preset.stepover, first["stepover"].as_f64()));
        } else {
            assert_eq!(preset.stepover, None);
        }
    }
}

#[test]
fn a_millimeter_tool_stays_in_millimeters() {
    let Some(bytes) = common::read("a_millimeter_tool_stays_in_millimeters", AMANA) else {
        return;
    };
    let json: Value = serde_json::from_slice(&unzipped(&bytes)).unwrap();
    let entry = json["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["unit"] == "millimeters")
        .unwrap();
    let library = parse_tool_library(&bytes).unwrap();
    let tool = by_guid(&library.tools, entry["guid"].as_str().unwrap());
    assert_eq!(tool.unit, LengthUnit::Millimeters);
    // Values are taken as they are: no conversion to the library's majority unit.
    assert!(close(
        tool.geometry.diameter,
        entry["geometry"]["DC"].as_f64()
    ));
    assert!(close(
        tool.presets[0].cutting_feed,
        entry["start-values"]["presets"][0]["v_f"].as_f64()
    ));
}

#[test]
fn zero_means_absent_only_where_zero_is_meaningless() {
    let Some(bytes) = common::read("zero_means_absent_only_where_zero_is_meaningless", AMANA)
    else {
        return;
    };
    let library = parse_tool_library(&bytes).unwrap();
    // The first tool, a flat end mill, has RE 0, SIG 0 and TA 0 in the file.
    let tool = &library.tools[0];
    assert_eq!(tool.kind, "flat end mill");
    assert_eq!(tool.geometry.corner_radius, Some(0.0));
    assert_eq!(tool.geometry.taper_angle, Some(0.0));
    assert_eq!(tool.geometry.tip_angle, None);
    assert!(tool.geometry.diameter.is_some());
}

#[test]
fn plain_json_parses_like_the_archive() {
    let Some(bytes) = common::read("plain_json_parses_like_the_archive", AMANA) else {
        return;
    };
    let from_archive = parse_tool_library(&bytes).unwrap();
    let from_json = parse_tool_library(&unzipped(&bytes)).unwrap();
    assert_eq!(from_archive, from_json);
}

#[test]
fn older_start_values_shape_gives_named_presets() {
    let json = br#"{"version": 1, "data": [{
        "type": "bull nose end mill", "unit": "millimeters", "description": "10mm bull",
        "guid": "g-1", "BMC": "carbide",
        "geometry": {"DC": 10, "RE": 1, "NOF": 4, "LCF": 22, "SIG": 0},
        "post-process": {"number": 7},
        "start-values": {
            "*": {"n": 8000, "v_f": 1200, "v_f_plunge": 400, "f_z": 0.0375, "v_c": 251.3,
                  "tool-coolant": "flood"},
            "Steel": {"n": 4000, "v_f": 600, "stepdown": 2, "use-stepdown": true,
                      "stepover": 5, "use-stepover": false}
        }
    }, {"type": "holder", "unit": "millimeters", "description": "ER32"},
       {"type": "drill", "unit": "inches", "geometry": {"DC": 0.25, "SIG": 118}}]}"#;
    let library = parse_tool_library(json).unwrap();
    assert_eq!(library.tools.len(), 2, "the holder is not a cutting tool");
    let tool = &library.tools[0];
    assert_eq!(tool.number, Some(7));
    assert_eq!(tool.unit, LengthUnit::Millimeters);
    assert_eq!(tool.geometry.corner_radius, Some(1.0));
    assert_eq!(tool.geometry.tip_angle, None);
    let names: Vec<&str> = tool.presets.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Default Preset", "Steel"]);
    let default = &tool.presets[0];
    assert_eq!(default.spindle_rpm, Some(8000.0));
    assert_eq!(default.cutting_feed, Some(1200.0));
    assert_eq!(default.feed_per_tooth, Some(0.0375));
    assert_eq!(default.coolant.as_deref(), Some("flood"));
    let steel = &tool.presets[1];
    assert_eq!(steel.stepdown, Some(2.0));
    assert_eq!(steel.stepover, None, "use-stepover is false");
    let drill = &library.tools[1];
    assert_eq!(drill.geometry.tip_angle, Some(118.0));
    assert!(drill.presets.is_empty(), "no start-values, no presets");
}

/// A ZIP archive with one entry.
fn archive(name: &str, content: &[u8], method: zip::CompressionMethod) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(method)
        .large_file(content.len() > u32::MAX as usize);
    writer.start_file(name, options).unwrap();
    writer.write_all(content).unwrap();
    writer.finish().unwrap().into_inner()
}

#[test]
fn archive_without_tools_json_is_refused() {
    let bytes = archive("readme.txt", b"hello", zip::CompressionMethod::Stored);
    let error = parse_tool_library(&bytes).unwrap_err();
    assert!(matches!(error, FusionError::MissingToolsJson));
    assert_eq!(
        error.to_string(),
        "the `.tools` archive holds no `tools.json`"
    );
}

#[test]
fn archive_inflating_beyond_the_limit_is_refused() {
    let huge = vec![b' '; usize::try_from(MAX_TOOLS_JSON_BYTES).unwrap() + 1];
    let bytes = archive("tools.json", &huge, zip::CompressionMethod::Deflated);
    assert!(bytes.len() < 1024 * 1024, "compresses well");
    let error = parse_tool_library(&bytes).unwrap_err();
    assert!(matches!(error, FusionError::TooLarge { .. }), "{error}");
    assert!(error.to_string().contains("inflates beyond 67108864 bytes"));
}

#[test]
fn garbage_gives_errors_not_panics() {
    let truncated_tools = common::read("garbage_gives_errors_not_panics", AMANA)
        .map(|bytes| bytes[..bytes.len() / 2].to_vec());
    let small = archive(
        "tools.json",
        br#"{"data":[{"type":"flat end mill","unit":"inches"}]}"#,
        zip::CompressionMethod::Deflated,
    );
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("zip magic only", b"PK\x03\x04".to_vec()),
        ("truncated small zip", small[..small.len() - 10].to_vec()),
        ("not JSON", b"<xml/>".to_vec()),
        ("binary", vec![0xff, 0x00, 0x13, 0x37]),
        ("array", b"[]".to_vec()),
        ("no data", br#"{"version": 1}"#.to_vec()),
        ("data not an array", br#"{"data": 5}"#.to_vec()),
        ("tool not an object", br#"{"data": [5]}"#.to_vec()),
        (
            "tool without type",
            br#"{"data": [{"unit": "inches"}]}"#.to_vec(),
        ),
        (
            "unknown unit",
            br#"{"data": [{"type": "drill", "unit": "furlongs"}]}"#.to_vec(),
        ),
        ("deep nesting", "[".repeat(100_000).into_bytes()),
    ];
    if let Some(truncated) = truncated_tools {
        cases.push(("truncated .tools", truncated));
    }
    for (what, bytes) in cases {
        assert!(parse_tool_library(&bytes).is_err(), "{what} parsed");
    }
    // Wrong shapes inside a tool are ignored rather than fatal.
    let odd = br#"{"data": [{"type": "drill", "unit": "inches", "geometry": {"DC": "x", "NOF": -2},
        "start-values": {"presets": 3}, "holder": [], "post-process": {"number": -1}}]}"#;
    let library = parse_tool_library(odd).unwrap();
    let tool = &library.tools[0];
    assert_eq!(tool.geometry.diameter, None);
    assert_eq!(tool.geometry.flutes, None);
    assert_eq!(tool.number, None);
    assert!(tool.presets.is_empty());
}

#[test]
fn errors_name_the_problem() {
    let error =
        parse_tool_library(br#"{"data": [{"type": "drill", "unit": "furlongs"}]}"#).unwrap_err();
    assert_eq!(
        error.to_string(),
        "tool 0 of the library: unknown unit \"furlongs\""
    );
    let error = parse_tool_library(b"[]").unwrap_err();
    assert_eq!(
        error.to_string(),
        "not a Fusion tool library: expected an object with a `data` array of tools"
    );
}
