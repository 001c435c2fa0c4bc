//! CAM templates: the two fixture templates, their units, their setup, and inputs that must fail
//! cleanly.
//!
//! Expected facts come from a plain `roxmltree` walk of the fixture, independent of the parser.

#![allow(clippy::unwrap_used)]

mod common;

use chatter_fusion::{FusionError, TEMPLATE_NAMESPACE, parse_cam_template};
use chatter_model::library::{CamTemplate, LengthUnit};

const AL: &str = "autodesk/fusion-cam-templates/AL_1-16in_1.f3dhsm-template";
const UHMW: &str = "autodesk/fusion-cam-templates/UHMW_3-8in_Tri.f3dhsm-template";

/// Per `<template>` element: its strategy and its `name → expression` parameters.
fn scan(xml: &str) -> Vec<(String, Vec<(String, String)>)> {
    let document = roxmltree::Document::parse(xml).unwrap();
    document
        .root_element()
        .children()
        .filter(|n| n.has_tag_name("template"))
        .map(|template| {
            let parameters = template
                .children()
                .filter(|n| n.has_tag_name("parameter"))
                .map(|p| {
                    (
                        p.attribute("name").unwrap().to_owned(),
                        p.attribute("expression").unwrap().to_owned(),
                    )
                })
                .collect();
            (
                template.attribute("strategy").unwrap().to_owned(),
                parameters,
            )
        })
        .collect()
}

fn expression<'a>(parameters: &'a [(String, String)], name: &str) -> Option<&'a str> {
    parameters
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, e)| e.as_str())
}

/// `20.00000000000001in/min` → 508.0 (mm/min), `1000mmpm` → 1000.0.
fn feed_mm_per_min(expression: &str) -> f64 {
    if let Some(inches) = expression.strip_suffix("in/min") {
        inches.parse::<f64>().unwrap() * 25.4
    } else {
        expression
            .strip_suffix("mmpm")
            .unwrap()
            .parse::<f64>()
            .unwrap()
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

/// Checks the operations of `template` against the scan of `xml`.
fn matches_scan(xml: &str, template: &CamTemplate) {
    let scanned: Vec<_> = scan(xml)
        .into_iter()
        .filter(|(strategy, _)| strategy != "setup")
        .collect();
    assert_eq!(template.operations.len(), scanned.len());
    for (operation, (strategy, parameters)) in template.operations.iter().zip(&scanned) {
        assert_eq!(&operation.strategy, strategy);
        assert_eq!(operation.unit, LengthUnit::Millimeters);
        match expression(parameters, "tool_spindleSpeed") {
            Some(speed) => {
                let rpm: f64 = speed.trim_end_matches('.').parse().unwrap();
                assert_eq!(operation.spindle_rpm, Some(rpm), "{}", operation.name);
            }
            None => assert_eq!(operation.spindle_rpm, None),
        }
        match expression(parameters, "tool_feedCutting") {
            Some(feed) => assert!(
                close(operation.cutting_feed.unwrap(), feed_mm_per_min(feed)),
                "{}: {:?} vs {feed}",
                operation.name,
                operation.cutting_feed
            ),
            None => assert_eq!(operation.cutting_feed, None),
        }
        match expression(parameters, "tool_feedPlunge") {
            Some(feed) => assert!(close(operation.plunge_feed.unwrap(), feed_mm_per_min(feed))),
            None => assert_eq!(operation.plunge_feed, None),
        }
    }
}

#[test]
fn aluminum_template_operations_and_feeds() {
    let Some(bytes) = common::read("aluminum_template_operations_and_feeds", AL) else {
        return;
    };
    let xml = String::from_utf8(bytes.clone()).unwrap();
    assert_eq!(xml.matches("<template ").count(), 6);
    let template = parse_cam_template(&bytes).unwrap();
    matches_scan(&xml, &template);
    let strategies: Vec<&str> = template
        .operations
        .iter()
        .map(|o| o.strategy.as_str())
        .collect();
    assert_eq!(
        strategies,
        [
            "bore",
            "bore",
            "adaptive2d",
            "contour2d",
            "manual",
            "contour2d"
        ]
    );

    let bore = &template.operations[0];
    assert_eq!(bore.name, "Bore1");
    // `20.00000000000001in/min` in a millimeter operation.
    assert!(close(bore.cutting_feed.unwrap(), 508.0));
    assert!(close(bore.stock_to_leave.unwrap(), 0.1));
    assert_eq!(bore.coolant.as_deref(), Some("disabled"));

    // The tool stays in inches; its presets, written in mm/min, are converted to in/min.
    let tool = bore.tool.as_ref().unwrap();
    assert_eq!(tool.unit, LengthUnit::Inches);
    assert_eq!(tool.kind, "flat end mill");
    assert_eq!(tool.number, Some(112));
    assert_eq!(tool.vendor.as_deref(), Some("Carbide 3D"));
    assert_eq!(tool.geometry.diameter, Some(0.0625));
    assert_eq!(tool.geometry.flutes, Some(2));
    assert_eq!(tool.presets.len(), 4);
    let default = &tool.presets[0];
    assert_eq!(default.name, "Default Preset");
    assert_eq!(default.spindle_rpm, Some(10000.0));
    assert!(close(default.cutting_feed.unwrap(), 20.0));
    assert!(close(default.plunge_feed.unwrap(), 12.0));
    assert!(close(tool.presets[2].stepdown.unwrap(), 0.008));

    // The manual NC operation has no tool and no feeds.
    let manual = &template.operations[4];
    assert!(manual.tool.is_none());
    assert_eq!(manual.cutting_feed, None);

    // No setup element: the stock comes from the first operation, in millimeters; no WCS.
    let setup = template.setup.as_ref().unwrap();
    let stock = setup.stock.as_ref().unwrap();
    assert_eq!(stock.unit, LengthUnit::Millimeters);
    assert_eq!(stock.low, [0.0, 0.0, -1.4605]);
    assert_eq!(stock.high, [190.5, 190.5, 0.0]);
    assert_eq!(setup.wcs, None);
}

#[test]
fn uhmw_template_setup_is_not_an_operation() {
    let Some(bytes) = common::read("uhmw_template_setup_is_not_an_operation", UHMW) else {
        return;
    };
    let xml = String::from_utf8(bytes.clone()).unwrap();
    assert_eq!(xml.matches("<template ").count(), 9);
    assert_eq!(xml.matches("strategy=\"setup\"").count(), 1);
    let template = parse_cam_template(&bytes).unwrap();
    matches_scan(&xml, &template);
    assert_eq!(template.operations.len(), 8);
    assert_eq!(template.operations[0].strategy, "drill");
    // `1000mmpm` is already in the operation's unit.
    assert!(close(template.operations[0].cutting_feed.unwrap(), 1000.0));
    // `.01mm`.
    let with_small_stock = template
        .operations
        .iter()
        .filter_map(|o| o.stock_to_leave)
        .any(|s| close(s, 0.01));
    assert!(with_small_stock);

    let setup = template.setup.as_ref().unwrap();
    let stock = setup.stock.as_ref().unwrap();
    assert_eq!(stock.unit, LengthUnit::Millimeters);
    assert!(close(stock.high[0], 24.0 * 25.4));
    assert!(close(stock.high[1], 12.0 * 25.4));
    assert!(close(stock.low[2], -9.6393));
    let wcs = setup.wcs.as_ref().unwrap();
    // `job_workOffset` 0 is Fusion's default offset, not a number; the origin and orientation
    // modes are formulas.
    assert_eq!(wcs.work_offset, None);
    assert_eq!(wcs.origin, None);
    assert_eq!(wcs.orientation, None);
    assert_eq!(wcs.box_point.as_deref(), Some("top 1"));
}

#[test]
fn literal_wcs_parameters_are_taken() {
    let xml = format!(
        r#"<?xml version="1.0"?>
        <template-document xmlns="{TEMPLATE_NAMESPACE}">
          <template description="Setup1" strategy="setup" unit="inches">
            <parameter name="job_workOffset" expression="2"/>
            <parameter name="wcs_origin_mode" expression="'stockPoint'"/>
            <parameter name="wcs_orientation_mode" expression="'modelOrientation'"/>
            <parameter name="stockXLow" expression="-1in"/>
            <parameter name="stockXHigh" expression="1"/>
            <parameter name="stockYLow" expression="-25.4mm"/>
            <parameter name="stockYHigh" expression="1"/>
            <parameter name="stockZLow" expression="-0.5"/>
            <parameter name="stockZHigh" expression="stockZLow + 1"/>
          </template>
          <template description="Face1" strategy="face" unit="inches">
            <parameter name="tool_feedCutting" expression="2540mm/min"/>
            <parameter name="tool_feedPlunge" expression="tool_feedCutting / 2"/>
            <parameter name="stockToLeave" expression="0"/>
          </template>
        </template-document>"#
    );
    let template = parse_cam_template(xml.as_bytes()).unwrap();
    let setup = template.setup.unwrap();
    let wcs = setup.wcs.unwrap();
    assert_eq!(wcs.work_offset, Some(2));
    assert_eq!(wcs.origin.as_deref(), Some("stockPoint"));
    assert_eq!(wcs.orientation.as_deref(), Some("modelOrientation"));
    assert_eq!(setup.stock, None, "stockZHigh is a formula");
    let face = &template.operations[0];
    assert_eq!(face.unit, LengthUnit::Inches);
    assert!(close(face.cutting_feed.unwrap(), 100.0));
    assert_eq!(face.plunge_feed, None, "formulas are not evaluated");
    assert_eq!(face.stock_to_leave, Some(0.0));
}

#[test]
fn garbage_gives_errors_not_panics() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", Vec::new()),
        ("binary", vec![0xff, 0xfe, 0x00]),
        (
            "truncated",
            b"<template-document xmlns=\"x\"><template".to_vec(),
        ),
        ("json", b"{\"data\": []}".to_vec()),
        ("other root", b"<svg/>".to_vec()),
        (
            "wrong namespace",
            b"<template-document xmlns=\"urn:other\"/>".to_vec(),
        ),
        (
            "entity expansion",
            b"<!DOCTYPE a [<!ENTITY x \"xxxxxxxx\">]><a>&x;</a>".to_vec(),
        ),
    ];
    for (what, bytes) in cases {
        assert!(parse_cam_template(&bytes).is_err(), "{what} parsed");
    }
    let no_unit = format!(
        r#"<template-document xmlns="{TEMPLATE_NAMESPACE}"><template description="Op" strategy="face"/></template-document>"#
    );
    let error = parse_cam_template(no_unit.as_bytes()).unwrap_err();
    assert!(matches!(error, FusionError::BadOperation { .. }));
    assert_eq!(error.to_string(), "template operation \"Op\": no `unit`");
    let error = parse_cam_template(b"<svg/>").unwrap_err();
    assert!(error.to_string().starts_with(
        "not a Fusion CAM template: the root element is `svg`, expected `template-document`"
    ));
}
