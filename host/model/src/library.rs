//! The organization's CAM library: the normalized documents integrations import (tool
//! libraries, CAM templates) and the kinds of artifact the library holds.
//!
//! An integration parses its provider's files inside its sandbox and stores the result as one of
//! these documents (JSON, with the media type below); the host validates every document by
//! deserializing it into these types before it reaches the library, so a hostile plugin cannot
//! store something the UI and API do not understand. Every measure carries its unit: Fusion
//! mixes inches and millimeters within one library.

use serde::{Deserialize, Serialize};

/// Media type of a [`ToolLibrary`] document.
pub const TOOL_LIBRARY_MEDIA_TYPE: &str = "application/vnd.chatter.tool-library+json";
/// Media type of a [`CamTemplate`] document.
pub const CAM_TEMPLATE_MEDIA_TYPE: &str = "application/vnd.chatter.cam-template+json";
/// Media type of an NC program: its text as it is.
pub const NC_PROGRAM_MEDIA_TYPE: &str = "text/plain";

/// What an artifact in the library is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ArtifactKind {
    /// A [`ToolLibrary`].
    ToolLibrary,
    /// A [`CamTemplate`].
    CamTemplate,
    /// An NC program (G-code text).
    NcProgram,
}

impl ArtifactKind {
    /// Every kind, in display order.
    pub const ALL: [ArtifactKind; 3] = [
        ArtifactKind::ToolLibrary,
        ArtifactKind::CamTemplate,
        ArtifactKind::NcProgram,
    ];

    /// The name used in the WIT `artifact.kind` field and in URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            ArtifactKind::ToolLibrary => "tool-library",
            ArtifactKind::CamTemplate => "cam-template",
            ArtifactKind::NcProgram => "nc-program",
        }
    }

    /// The media type a document of this kind must have.
    pub fn media_type(self) -> &'static str {
        match self {
            ArtifactKind::ToolLibrary => TOOL_LIBRARY_MEDIA_TYPE,
            ArtifactKind::CamTemplate => CAM_TEMPLATE_MEDIA_TYPE,
            ArtifactKind::NcProgram => NC_PROGRAM_MEDIA_TYPE,
        }
    }

    /// Parses the WIT spelling.
    pub fn parse(kind: &str) -> Option<Self> {
        ArtifactKind::ALL.into_iter().find(|k| k.as_str() == kind)
    }
}

impl std::fmt::Display for ArtifactKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A unit of length; feeds are this unit per minute, surface speeds this unit's larger sibling
/// (meters or feet) per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LengthUnit {
    /// Millimeters (feeds in mm/min, surface speed in m/min).
    Millimeters,
    /// Inches (feeds in in/min, surface speed in ft/min).
    Inches,
}

impl LengthUnit {
    /// The short symbol: `mm` or `in`.
    pub fn symbol(self) -> &'static str {
        match self {
            LengthUnit::Millimeters => "mm",
            LengthUnit::Inches => "in",
        }
    }
}

/// A tool library: the tools of one file, in file order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolLibrary {
    /// The tools.
    pub tools: Vec<Tool>,
}

/// One cutting tool with its geometry and its cutting-data presets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    /// The tool's id in its library (Fusion's `guid`), when it has one.
    #[serde(default)]
    pub guid: Option<String>,
    /// The tool number the post processor gives it (`T12`).
    #[serde(default)]
    pub number: Option<u32>,
    /// The tool type as Fusion names it: `flat end mill`, `drill`, `chamfer mill`, …
    pub kind: String,
    /// The tool's description.
    #[serde(default)]
    pub description: String,
    /// Who makes it.
    #[serde(default)]
    pub vendor: Option<String>,
    /// The maker's product id.
    #[serde(default)]
    pub product_id: Option<String>,
    /// The cutting material (`carbide`, `hss`, …).
    #[serde(default)]
    pub material: Option<String>,
    /// The unit of every length of this tool, and of its presets' feeds.
    pub unit: LengthUnit,
    /// Its shape.
    pub geometry: ToolGeometry,
    /// The holder's description, when the tool comes with one.
    #[serde(default)]
    pub holder: Option<String>,
    /// Cutting data, in the tool's unit.
    #[serde(default)]
    pub presets: Vec<Preset>,
}

/// A tool's shape, in the tool's unit. Unknown values are absent, never zero.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolGeometry {
    /// Cutting diameter.
    #[serde(default)]
    pub diameter: Option<f64>,
    /// Corner radius.
    #[serde(default)]
    pub corner_radius: Option<f64>,
    /// Length of cut (flute length).
    #[serde(default)]
    pub flute_length: Option<f64>,
    /// Shoulder length.
    #[serde(default)]
    pub shoulder_length: Option<f64>,
    /// Body length below the holder.
    #[serde(default)]
    pub body_length: Option<f64>,
    /// Overall length.
    #[serde(default)]
    pub overall_length: Option<f64>,
    /// Shaft (shank) diameter.
    #[serde(default)]
    pub shaft_diameter: Option<f64>,
    /// Number of flutes.
    #[serde(default)]
    pub flutes: Option<u32>,
    /// Taper angle, in degrees.
    #[serde(default)]
    pub taper_angle: Option<f64>,
    /// Point (tip) angle, in degrees.
    #[serde(default)]
    pub tip_angle: Option<f64>,
}

/// A named set of cutting data for a tool.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preset {
    /// The preset's name (`Default Preset`, `Aluminum Pocketing`, …).
    pub name: String,
    /// Spindle speed, rpm.
    #[serde(default)]
    pub spindle_rpm: Option<f64>,
    /// Cutting feed, unit per minute.
    #[serde(default)]
    pub cutting_feed: Option<f64>,
    /// Plunge feed, unit per minute.
    #[serde(default)]
    pub plunge_feed: Option<f64>,
    /// Ramp feed, unit per minute.
    #[serde(default)]
    pub ramp_feed: Option<f64>,
    /// Feed per tooth, unit.
    #[serde(default)]
    pub feed_per_tooth: Option<f64>,
    /// Surface speed (m/min or ft/min).
    #[serde(default)]
    pub surface_speed: Option<f64>,
    /// Stepdown, unit.
    #[serde(default)]
    pub stepdown: Option<f64>,
    /// Stepover, unit.
    #[serde(default)]
    pub stepover: Option<f64>,
    /// Coolant mode (`flood`, `mist`, `disabled`, …).
    #[serde(default)]
    pub coolant: Option<String>,
}

/// A CAM template or setup: the operations it holds, in order, and the setup they share.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CamTemplate {
    /// The setup (stock and work coordinate system), when the file gives one.
    #[serde(default)]
    pub setup: Option<Setup>,
    /// The machining operations.
    pub operations: Vec<Operation>,
}

/// Where the part sits: the stock and the work coordinate system.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Setup {
    /// The stock's bounding box.
    #[serde(default)]
    pub stock: Option<StockBox>,
    /// The work coordinate system.
    #[serde(default)]
    pub wcs: Option<Wcs>,
}

/// A box of stock, low and high corner per axis, in `unit`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StockBox {
    /// The unit of the coordinates.
    pub unit: LengthUnit,
    /// Lowest X, Y, Z.
    pub low: [f64; 3],
    /// Highest X, Y, Z.
    pub high: [f64; 3],
}

/// The work coordinate system.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wcs {
    /// The work offset number (`1` is G54).
    #[serde(default)]
    pub work_offset: Option<u32>,
    /// How the origin is placed (Fusion's mode, e.g. `stock box point`).
    #[serde(default)]
    pub origin: Option<String>,
    /// How the orientation is chosen (e.g. `model orientation`).
    #[serde(default)]
    pub orientation: Option<String>,
    /// The point of the stock box the origin is placed on when `origin` is a stock box point
    /// (Fusion's `top 1`, `top center`, …), as the file gives it.
    #[serde(default)]
    pub box_point: Option<String>,
}

/// One machining operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// Its name (`2D Adaptive1`).
    pub name: String,
    /// The strategy (`adaptive2d`, `bore`, `contour2d`, `drill`, `slot`, …).
    pub strategy: String,
    /// The unit of the operation's feeds and lengths.
    pub unit: LengthUnit,
    /// The tool it cuts with.
    #[serde(default)]
    pub tool: Option<Tool>,
    /// Spindle speed, rpm.
    #[serde(default)]
    pub spindle_rpm: Option<f64>,
    /// Cutting feed, unit per minute.
    #[serde(default)]
    pub cutting_feed: Option<f64>,
    /// Plunge feed, unit per minute.
    #[serde(default)]
    pub plunge_feed: Option<f64>,
    /// Coolant mode.
    #[serde(default)]
    pub coolant: Option<String>,
    /// Stock left on the part, unit.
    #[serde(default)]
    pub stock_to_leave: Option<f64>,
}
