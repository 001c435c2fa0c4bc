//! CAM templates: `.f3dhsm-template` XML documents.
//!
//! A template document holds one `<template>` element per operation, in order. Each has a
//! `description` (the operation's name), a `strategy`, a `unit`, usually a `<tool>` and many
//! `<parameter name=… expression=…>` elements. Expressions are literals (`10000.`, `'disabled'`,
//! `0.1mm`, `20.in/min`) or formulas over other parameters; only literals are taken, formulas
//! give absent values (they are never evaluated).
//!
//! Units, so that every number in the output is in the unit stated next to it:
//!
//! - an operation's feeds and stock to leave are in the template's `unit`: values written with
//!   a unit (`20.in/min`, `0.1mm`) are converted, bare numbers are already in it;
//! - a tool keeps its own `unit` (an inch tool inside a millimeter template stays in inches),
//!   and its presets are converted into it: Fusion writes preset values as bare numbers in the
//!   template's unit (`508` mm/min for a 20 in/min feed in a millimeter template);
//! - the stock box is in the template's unit.
//!
//! A `<template strategy="setup">` is not an operation: it describes the setup (stock and work
//! coordinate system). The operations of a template share one setup, so the [`Setup`] comes from
//! the setup element when there is one, else from the first operation's stock parameters. The
//! WCS comes from the setup's `job_workOffset` (0, Fusion's "default offset", is left absent),
//! `wcs_origin_mode`, `wcs_orientation_mode` and `wcs_origin_boxPoint`; the operations'
//! `view_*` parameters describe each operation's own tool orientation, not the WCS, and are not
//! used.

use std::collections::HashMap;

use chatter_model::library::{
    CamTemplate, LengthUnit, Operation, Preset, Setup, StockBox, Tool, ToolGeometry, Wcs,
};
use roxmltree::{Document, Node};

use crate::FusionError;
use crate::value::{Literal, length, literal, number, parse_unit, surface_speed};

/// The XML namespace of Fusion (HSMWorks) template documents.
pub const TEMPLATE_NAMESPACE: &str = "http://www.hsmworks.com/namespace/hsmworks/document/template";

/// Parses a Fusion CAM template (`.f3dhsm-template`).
///
/// # Errors
///
/// A [`FusionError`] when the bytes are not UTF-8 XML, the root is not a template document of
/// [`TEMPLATE_NAMESPACE`], or an operation or its tool has no strategy, type or known unit.
pub fn parse_cam_template(bytes: &[u8]) -> Result<CamTemplate, FusionError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(bytes)
        .map_err(|_| FusionError::NotTemplate("the file is not UTF-8 text".into()))?;
    let document = Document::parse(text).map_err(FusionError::Xml)?;
    let root = document.root_element();
    if !is(root, "template-document") {
        return Err(FusionError::NotTemplate(format!(
            "the root element is `{}`, expected `template-document` in namespace {TEMPLATE_NAMESPACE}",
            root.tag_name().name()
        )));
    }

    let mut operations = Vec::new();
    let mut setup_element = None;
    let mut first_operation = None;
    for element in root.children().filter(|n| is(*n, "template")) {
        let name = element
            .attribute("description")
            .unwrap_or_default()
            .to_owned();
        let bad = |reason: String| FusionError::BadOperation {
            name: name.clone(),
            reason,
        };
        let strategy = element
            .attribute("strategy")
            .filter(|s| !s.trim().is_empty())
            .ok_or_else(|| bad("no `strategy`".into()))?;
        let unit_name = element
            .attribute("unit")
            .ok_or_else(|| bad("no `unit`".into()))?;
        let unit =
            parse_unit(unit_name).ok_or_else(|| bad(format!("unknown unit {unit_name:?}")))?;
        let parameters = Parameters::of(element);
        if strategy == "setup" {
            setup_element.get_or_insert_with(|| setup(&parameters, unit, true));
            continue;
        }
        first_operation.get_or_insert_with(|| setup(&parameters, unit, false));
        let tool = element
            .children()
            .find(|n| is(*n, "tool"))
            .map(|node| tool(node, unit))
            .transpose()
            .map_err(bad)?;
        operations.push(Operation {
            name,
            strategy: strategy.to_owned(),
            unit,
            tool,
            spindle_rpm: parameters.number("tool_spindleSpeed").filter(|v| *v > 0.0),
            cutting_feed: parameters.feed("tool_feedCutting", unit),
            plunge_feed: parameters.feed("tool_feedPlunge", unit),
            coolant: parameters.text("tool_coolant"),
            stock_to_leave: parameters.length("stockToLeave", unit),
        });
    }
    let setup = setup_element
        .or(first_operation)
        .filter(|s| s.stock.is_some() || s.wcs.is_some());
    Ok(CamTemplate { setup, operations })
}

/// Whether `node` is the element `name` of the template namespace.
fn is(node: Node<'_, '_>, name: &str) -> bool {
    node.is_element()
        && node.tag_name().name() == name
        && node.tag_name().namespace() == Some(TEMPLATE_NAMESPACE)
}

/// The setup a template's parameters describe; the WCS only from the setup element.
fn setup(parameters: &Parameters<'_>, unit: LengthUnit, with_wcs: bool) -> Setup {
    let corner = |axes: [&str; 3]| -> Option<[f64; 3]> {
        let mut corner = [0.0; 3];
        for (value, name) in corner.iter_mut().zip(axes) {
            *value = parameters.coordinate(name, unit)?;
        }
        Some(corner)
    };
    let stock = corner(["stockXLow", "stockYLow", "stockZLow"])
        .zip(corner(["stockXHigh", "stockYHigh", "stockZHigh"]))
        .filter(|(low, high)| low.iter().zip(high).all(|(l, h)| l <= h))
        .map(|(low, high)| StockBox { unit, low, high });
    let wcs = with_wcs
        .then(|| Wcs {
            work_offset: parameters
                .number("job_workOffset")
                .filter(|n| *n >= 1.0 && n.fract() == 0.0 && *n <= f64::from(u32::MAX))
                .map(|n| n as u32),
            origin: parameters.text("wcs_origin_mode"),
            orientation: parameters.text("wcs_orientation_mode"),
            box_point: parameters.text("wcs_origin_boxPoint"),
        })
        .filter(|wcs| *wcs != Wcs::default());
    Setup { stock, wcs }
}

/// A template's `<parameter>` expressions by name (the first of a name wins).
struct Parameters<'a> {
    by_name: HashMap<&'a str, &'a str>,
}

impl<'a> Parameters<'a> {
    /// The direct `<parameter>` children of `element`.
    fn of(element: Node<'a, '_>) -> Self {
        let mut by_name = HashMap::new();
        for parameter in element.children().filter(|n| is(*n, "parameter")) {
            if let (Some(name), Some(expression)) = (
                parameter.attribute("name"),
                parameter.attribute("expression"),
            ) {
                by_name.entry(name).or_insert(expression);
            }
        }
        Parameters { by_name }
    }

    fn literal(&self, name: &str) -> Option<Literal> {
        literal(self.by_name.get(name)?)
    }

    /// A bare number.
    fn number(&self, name: &str) -> Option<f64> {
        match self.literal(name)? {
            Literal::Number(v) => Some(v),
            _ => None,
        }
    }

    /// A quoted string, not empty.
    fn text(&self, name: &str) -> Option<String> {
        match self.literal(name)? {
            Literal::Text(t) if !t.trim().is_empty() => Some(t),
            _ => None,
        }
    }

    /// A positive feed in `unit` per minute.
    fn feed(&self, name: &str, unit: LengthUnit) -> Option<f64> {
        quantity(self.literal(name)?, unit, Kind::Feed).filter(|v| *v > 0.0)
    }

    /// A non-negative length in `unit`.
    fn length(&self, name: &str, unit: LengthUnit) -> Option<f64> {
        quantity(self.literal(name)?, unit, Kind::Length).filter(|v| *v >= 0.0)
    }

    /// A coordinate (any sign) in `unit`.
    fn coordinate(&self, name: &str, unit: LengthUnit) -> Option<f64> {
        quantity(self.literal(name)?, unit, Kind::Length)
    }
}

/// What a measure is, to refuse a feed where a length is expected and the reverse.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Length,
    Feed,
}

/// A measure in `unit`: bare numbers are already in it, others are converted.
fn quantity(literal: Literal, unit: LengthUnit, kind: Kind) -> Option<f64> {
    match (literal, kind) {
        (Literal::Number(v), _) => Some(v),
        (Literal::Length(v, from), Kind::Length) | (Literal::Feed(v, from), Kind::Feed) => {
            Some(length(v, from, unit))
        }
        _ => None,
    }
}

/// An operation's `<tool>`, its presets converted from the template's unit into its own.
fn tool(node: Node<'_, '_>, template_unit: LengthUnit) -> Result<Tool, String> {
    let kind = node
        .attribute("type")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or("its tool has no `type`")?;
    let unit_name = node.attribute("unit").ok_or("its tool has no `unit`")?;
    let unit =
        parse_unit(unit_name).ok_or_else(|| format!("its tool has unknown unit {unit_name:?}"))?;
    let child = |name: &str| node.children().find(|n| is(*n, name));
    let child_text = |name: &str| {
        child(name)
            .and_then(|n| n.text())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    };
    let child_attribute = |name: &str, attribute: &str| {
        child(name)
            .and_then(|n| n.attribute(attribute))
            .map(str::trim)
            .filter(|t| !t.is_empty())
    };
    let body = |attribute: &str| child_attribute("body", attribute).and_then(number);
    let presets = child("presets")
        .map(|presets| {
            presets
                .children()
                .filter(|n| is(*n, "preset"))
                .map(|n| preset(n, template_unit, unit))
                .collect()
        })
        .unwrap_or_default();
    Ok(Tool {
        guid: node
            .attribute("guid")
            .filter(|g| !g.trim().is_empty())
            .map(str::to_owned),
        number: child_attribute("nc", "number").and_then(|n| n.parse().ok()),
        kind: kind.to_owned(),
        description: child_text("description").unwrap_or_default(),
        vendor: child_text("manufacturer"),
        product_id: child_text("product-id"),
        material: child_attribute("material", "name").map(str::to_owned),
        unit,
        geometry: ToolGeometry {
            diameter: body("diameter").filter(|v| *v > 0.0),
            corner_radius: body("corner-radius").filter(|v| *v >= 0.0),
            flute_length: body("flute-length").filter(|v| *v > 0.0),
            shoulder_length: body("shoulder-length").filter(|v| *v > 0.0),
            body_length: body("body-length").filter(|v| *v > 0.0),
            overall_length: body("overall-length").filter(|v| *v > 0.0),
            shaft_diameter: body("shaft-diameter").filter(|v| *v > 0.0),
            flutes: child_attribute("body", "number-of-flutes")
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0),
            taper_angle: body("taper-angle").filter(|v| (0.0..90.0).contains(v)),
            tip_angle: body("tip-angle").filter(|v| *v > 0.0 && *v <= 180.0),
        },
        holder: child("holder").and_then(|holder| {
            holder
                .children()
                .find(|n| is(*n, "description"))
                .and_then(|n| n.text())
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        }),
        presets,
    })
}

/// One `<preset>` of a template's tool: values in `from` (the template's unit) converted to `to`
/// (the tool's).
fn preset(node: Node<'_, '_>, from: LengthUnit, to: LengthUnit) -> Preset {
    let mut values = HashMap::new();
    for parameter in node.children().filter(|n| is(*n, "parameter")) {
        if let (Some(key), Some(value)) = (parameter.attribute("key"), parameter.attribute("value"))
        {
            values.entry(key).or_insert(value);
        }
    }
    let get = |key: &str| values.get(key).and_then(|v| literal(v));
    let measure = |key: &str, kind: Kind| {
        get(key)
            .and_then(|v| quantity(v, from, kind))
            .map(|v| length(v, from, to))
            .filter(|v| *v > 0.0)
    };
    let plain = |key: &str| match get(key) {
        Some(Literal::Number(v)) if v > 0.0 => Some(v),
        _ => None,
    };
    Preset {
        name: node.attribute("name").unwrap_or_default().to_owned(),
        spindle_rpm: plain("tool_spindleSpeed"),
        cutting_feed: measure("tool_feedCutting", Kind::Feed),
        plunge_feed: measure("tool_feedPlunge", Kind::Feed),
        ramp_feed: measure("tool_feedRamp", Kind::Feed),
        feed_per_tooth: measure("tool_feedPerTooth", Kind::Length),
        surface_speed: plain("tool_surfaceSpeed").map(|v| surface_speed(v, from, to)),
        stepdown: measure("tool_stepdown", Kind::Length),
        stepover: measure("tool_stepover", Kind::Length),
        coolant: values
            .get("tool_coolant")
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_owned),
    }
}
