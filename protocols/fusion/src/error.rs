//! The ways a Fusion file can fail to parse.

/// Why a Fusion file could not be turned into a library document.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FusionError {
    /// The bytes start like a ZIP archive but the archive cannot be read.
    #[error("the `.tools` archive is not a readable ZIP file: {0}")]
    Archive(#[source] zip::result::ZipError),
    /// The archive has no `tools.json` entry.
    #[error("the `.tools` archive holds no `tools.json`")]
    MissingToolsJson,
    /// `tools.json` inflates beyond the limit.
    #[error("the `.tools` archive's `tools.json` inflates beyond {limit} bytes")]
    TooLarge {
        /// The most bytes accepted.
        limit: u64,
    },
    /// `tools.json` could not be read out of the archive (corrupt deflate data, bad checksum).
    #[error("the `.tools` archive's `tools.json` cannot be read: {0}")]
    Inflate(#[source] std::io::Error),
    /// The text is not JSON.
    #[error("the tool library is not JSON: {0}")]
    Json(#[source] serde_json::Error),
    /// JSON, but not shaped like a Fusion tool library.
    #[error("not a Fusion tool library: {0}")]
    NotToolLibrary(String),
    /// One tool of the library is malformed.
    #[error("tool {index} of the library: {reason}")]
    BadTool {
        /// Its position in `data`, from 0.
        index: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The text is not well-formed XML.
    #[error("the CAM template is not XML: {0}")]
    Xml(#[source] roxmltree::Error),
    /// XML, but not a Fusion CAM template.
    #[error("not a Fusion CAM template: {0}")]
    NotTemplate(String),
    /// One operation of the template is malformed.
    #[error("template operation {name:?}: {reason}")]
    BadOperation {
        /// Its name (`description`).
        name: String,
        /// What is wrong with it.
        reason: String,
    },
}
