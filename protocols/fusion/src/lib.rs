//! Autodesk Fusion files as Chatter library documents, without I/O.
//!
//! Two parsers turn the bytes of a Fusion file into the normalized documents of
//! [`chatter_model::library`]:
//!
//! - [`parse_tool_library`]: a tool library, either a `.tools` archive (a ZIP holding
//!   `tools.json`) or the plain `.json` export, into a [`ToolLibrary`];
//! - [`parse_cam_template`]: a `.f3dhsm-template` (XML) into a [`CamTemplate`].
//!
//! Both are pure functions over untrusted bytes: they never panic, bound how much an archive may
//! inflate, and report what is wrong with a [`FusionError`]. The crate compiles for the host and
//! for `wasm32-wasip2`, where the Autodesk Fusion integration plugin runs it in its sandbox.
//!
//! Every measure keeps its unit: a tool's lengths and its presets' feeds are in the tool's unit,
//! an operation's feeds in the operation's unit, converting where Fusion stores them otherwise
//! (see [`parse_cam_template`]). Values Fusion leaves at zero where zero means "not given" (a
//! diameter, a length, a tip angle) are absent rather than zero.
//!
//! ```
//! let json = br#"{"data":[{"type":"drill","unit":"millimeters","geometry":{"DC":6.8,"SIG":118}}]}"#;
//! let library = chatter_fusion::parse_tool_library(json)?;
//! assert_eq!(library.tools[0].geometry.diameter, Some(6.8));
//! # Ok::<(), chatter_fusion::FusionError>(())
//! ```
//!
//! [`ToolLibrary`]: chatter_model::library::ToolLibrary
//! [`CamTemplate`]: chatter_model::library::CamTemplate

mod error;
mod template;
mod tools;
mod value;

pub use error::FusionError;
pub use template::{TEMPLATE_NAMESPACE, parse_cam_template};
pub use tools::{MAX_TOOLS_JSON_BYTES, parse_tool_library};
