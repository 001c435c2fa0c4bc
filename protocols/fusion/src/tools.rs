//! Tool libraries: `.tools` archives and their `tools.json`.
//!
//! A Fusion tool library is a JSON document `{"data": [tool, …], "version": …}`; a `.tools` file
//! is a ZIP archive holding it as `tools.json`. Each tool carries its own `unit`: one library
//! often mixes inch and millimeter tools, and every length and feed of a tool (geometry and
//! presets alike) is in that tool's unit, so values are taken as they are.
//!
//! What becomes of the entries:
//!
//! - entries of `type` `holder` (holders saved in the library on their own) and `probe` are not
//!   cutting tools and are skipped;
//! - zero where zero means "not given" is absent: diameters, lengths, flute counts, tip angles,
//!   spindle speeds, feeds and surface speeds. A corner radius of 0 (a sharp corner) and a taper
//!   angle of 0 (a straight tool) are real values and kept;
//! - presets come from `start-values.presets` (an array, current Fusion) or, in older libraries,
//!   from `start-values` itself: an object whose keys are preset names, `*` being the default
//!   preset (named `Default Preset` here, as current Fusion names it). A stepdown or stepover is
//!   taken when its `use-stepdown`/`use-stepover` flag is true, or when the flag is missing and
//!   the value positive.

use std::io::{Cursor, Read};

use chatter_model::library::{Preset, Tool, ToolGeometry, ToolLibrary};
use serde_json::{Map, Value};

use crate::FusionError;
use crate::value::parse_unit;

/// The most bytes `tools.json` may inflate to inside a `.tools` archive (64 MiB).
pub const MAX_TOOLS_JSON_BYTES: u64 = 64 * 1024 * 1024;

/// The first bytes of a ZIP archive's first local file header.
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// The name Fusion gives the `*` preset of older libraries.
const DEFAULT_PRESET: &str = "Default Preset";

/// Parses a Fusion tool library: a `.tools` archive (recognized by its ZIP signature) or the
/// `tools.json` document itself.
///
/// # Errors
///
/// A [`FusionError`] naming the problem: an unreadable archive, no `tools.json` in it, a
/// `tools.json` inflating beyond [`MAX_TOOLS_JSON_BYTES`], text that is not JSON, JSON that is
/// not a tool library, or a tool without a type or with an unknown unit.
pub fn parse_tool_library(bytes: &[u8]) -> Result<ToolLibrary, FusionError> {
    if bytes.starts_with(ZIP_MAGIC) {
        let json = tools_json(bytes)?;
        parse_json(&json)
    } else {
        parse_json(bytes)
    }
}

/// The inflated `tools.json` of a `.tools` archive.
fn tools_json(archive: &[u8]) -> Result<Vec<u8>, FusionError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(archive)).map_err(FusionError::Archive)?;
    let index = (0..archive.len())
        .find(|&i| {
            let Some(Ok(name)) = archive.name_for_index(i) else {
                return false;
            };
            let file = name.rsplit(['/', '\\']).next().unwrap_or(&name);
            file.eq_ignore_ascii_case("tools.json")
        })
        .ok_or(FusionError::MissingToolsJson)?;
    let entry = archive.by_index(index).map_err(FusionError::Archive)?;
    let declared = entry.size();
    if declared > MAX_TOOLS_JSON_BYTES {
        return Err(FusionError::TooLarge {
            limit: MAX_TOOLS_JSON_BYTES,
        });
    }
    // The declared size may lie: read one byte past the limit to notice.
    let mut json = Vec::with_capacity(usize::try_from(declared).unwrap_or(0));
    entry
        .take(MAX_TOOLS_JSON_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(FusionError::Inflate)?;
    if json.len() as u64 > MAX_TOOLS_JSON_BYTES {
        return Err(FusionError::TooLarge {
            limit: MAX_TOOLS_JSON_BYTES,
        });
    }
    Ok(json)
}

/// Parses the `tools.json` document.
fn parse_json(bytes: &[u8]) -> Result<ToolLibrary, FusionError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let document: Value = serde_json::from_slice(bytes).map_err(FusionError::Json)?;
    let data = document
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            FusionError::NotToolLibrary("expected an object with a `data` array of tools".into())
        })?;
    let mut tools = Vec::with_capacity(data.len());
    for (index, entry) in data.iter().enumerate() {
        let bad = |reason: &str| FusionError::BadTool {
            index,
            reason: reason.to_owned(),
        };
        let entry = entry.as_object().ok_or_else(|| bad("not an object"))?;
        if let Some(tool) = tool(entry).map_err(|reason| bad(&reason))? {
            tools.push(tool);
        }
    }
    Ok(ToolLibrary { tools })
}

/// One entry of `data`: a tool, `None` for an entry that is not a cutting tool, or what is wrong.
fn tool(entry: &Map<String, Value>) -> Result<Option<Tool>, String> {
    let kind = text(entry, "type").ok_or("no `type`")?;
    if matches!(kind.as_str(), "holder" | "probe") {
        return Ok(None);
    }
    let unit_name = entry
        .get("unit")
        .and_then(Value::as_str)
        .ok_or("no `unit`")?;
    let unit = parse_unit(unit_name).ok_or_else(|| format!("unknown unit {unit_name:?}"))?;
    let empty = Map::new();
    let geometry = entry
        .get("geometry")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let number = entry
        .get("post-process")
        .and_then(|p| p.get("number"))
        .and_then(Value::as_u64)
        .and_then(|n| u32::try_from(n).ok());
    Ok(Some(Tool {
        guid: text(entry, "guid"),
        number,
        kind,
        description: text(entry, "description").unwrap_or_default(),
        vendor: text(entry, "vendor"),
        product_id: text(entry, "product-id"),
        material: text(entry, "BMC"),
        unit,
        geometry: ToolGeometry {
            diameter: positive(geometry.get("DC")),
            corner_radius: non_negative(geometry.get("RE")),
            flute_length: positive(geometry.get("LCF")),
            shoulder_length: positive(geometry.get("shoulder-length")),
            body_length: positive(geometry.get("LB")),
            overall_length: positive(geometry.get("OAL")),
            shaft_diameter: positive(geometry.get("SFDM")),
            flutes: count(geometry.get("NOF")),
            taper_angle: non_negative(geometry.get("TA")).filter(|a| *a < 90.0),
            tip_angle: positive(geometry.get("SIG")).filter(|a| *a <= 180.0),
        },
        holder: entry
            .get("holder")
            .and_then(Value::as_object)
            .and_then(|holder| text(holder, "description")),
        presets: presets(entry.get("start-values")),
    }))
}

/// The presets of `start-values`, in either shape; none when it is missing or malformed.
fn presets(start_values: Option<&Value>) -> Vec<Preset> {
    let Some(start_values) = start_values.and_then(Value::as_object) else {
        return Vec::new();
    };
    if let Some(list) = start_values.get("presets") {
        return list
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_object)
                    .map(|values| preset(text(values, "name").unwrap_or_default(), values))
                    .collect()
            })
            .unwrap_or_default();
    }
    // Older libraries: one object per preset, keyed by name, `*` for the default.
    start_values
        .iter()
        .filter_map(|(name, values)| {
            let values = values.as_object()?;
            let name = if name == "*" { DEFAULT_PRESET } else { name };
            Some(preset(name.to_owned(), values))
        })
        .collect()
}

/// One preset's cutting data.
fn preset(name: String, values: &Map<String, Value>) -> Preset {
    Preset {
        name,
        spindle_rpm: positive(values.get("n")),
        cutting_feed: positive(values.get("v_f")),
        plunge_feed: positive(values.get("v_f_plunge")),
        ramp_feed: positive(values.get("v_f_ramp")),
        feed_per_tooth: positive(values.get("f_z")),
        surface_speed: positive(values.get("v_c")),
        stepdown: step(values, "use-stepdown", "stepdown"),
        stepover: step(values, "use-stepover", "stepover"),
        coolant: text(values, "tool-coolant"),
    }
}

/// A stepdown or stepover: taken when its flag says so, or when there is no flag.
fn step(values: &Map<String, Value>, flag: &str, key: &str) -> Option<f64> {
    match values.get(flag).and_then(Value::as_bool) {
        Some(false) => None,
        Some(true) | None => positive(values.get(key)),
    }
}

/// A non-empty string field.
fn text(object: &Map<String, Value>, key: &str) -> Option<String> {
    object
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// A finite number (JSON number, or a number written as a string).
fn finite(value: Option<&Value>) -> Option<f64> {
    match value? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => crate::value::number(s),
        _ => None,
    }
    .filter(|v| v.is_finite())
}

/// A value where zero (or less) means "not given".
fn positive(value: Option<&Value>) -> Option<f64> {
    finite(value).filter(|v| *v > 0.0)
}

/// A value where zero is meaningful but a negative number is not.
fn non_negative(value: Option<&Value>) -> Option<f64> {
    finite(value).filter(|v| *v >= 0.0)
}

/// A positive whole count.
fn count(value: Option<&Value>) -> Option<u32> {
    let v = positive(value)?;
    (v.fract() == 0.0 && v <= f64::from(u32::MAX)).then_some(v as u32)
}
