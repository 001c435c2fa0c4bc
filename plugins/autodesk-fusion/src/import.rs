//! Which files are imported, and how a file becomes a library document: tool libraries and CAM
//! templates are parsed and stored normalized (JSON), NC programs are stored as their text.

use chatter_model::library::ArtifactKind;
use chatter_sdk::Error;

/// The NC program extensions imported when the configuration names none.
pub const DEFAULT_NC_EXTENSIONS: &str = "nc,ngc,tap,gcode,cnc,txt";

/// What a file is, from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A `.tools` archive or a `.json` tool library.
    ToolLibrary,
    /// A `.f3dhsm-template`.
    CamTemplate,
    /// A text file with one of the NC extensions.
    NcProgram,
}

/// The kind of the file named `name`, or `None` when it is not imported.
pub fn classify(name: &str, nc_extensions: &[String]) -> Option<FileKind> {
    let (_, extension) = name.rsplit_once('.')?;
    let extension = extension.to_ascii_lowercase();
    match extension.as_str() {
        "tools" | "json" => Some(FileKind::ToolLibrary),
        "f3dhsm-template" => Some(FileKind::CamTemplate),
        _ if nc_extensions.contains(&extension) => Some(FileKind::NcProgram),
        _ => None,
    }
}

/// A parsed file: its artifact kind and the document to store.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// What it is.
    pub kind: ArtifactKind,
    /// The stored bytes, of `kind.media_type()`.
    pub content: Vec<u8>,
}

/// The library document for `bytes`, a file of kind `kind`.
pub fn document(kind: FileKind, bytes: Vec<u8>) -> Result<Document, Error> {
    let not_parsed = |e: chatter_fusion::FusionError| Error::protocol(e.to_string());
    let (kind, content) = match kind {
        FileKind::ToolLibrary => {
            let library = chatter_fusion::parse_tool_library(&bytes).map_err(not_parsed)?;
            (ArtifactKind::ToolLibrary, to_json(&library)?)
        }
        FileKind::CamTemplate => {
            let template = chatter_fusion::parse_cam_template(&bytes).map_err(not_parsed)?;
            (ArtifactKind::CamTemplate, to_json(&template)?)
        }
        FileKind::NcProgram => {
            if std::str::from_utf8(&bytes).is_err() {
                return Err(Error::protocol("the NC program is not UTF-8 text"));
            }
            (ArtifactKind::NcProgram, bytes)
        }
    };
    Ok(Document { kind, content })
}

fn to_json<T: serde::Serialize>(document: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(document).map_err(|e| {
        Error::new(
            chatter_sdk::ErrorCode::Internal,
            format!("cannot write the document: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nc() -> Vec<String> {
        DEFAULT_NC_EXTENSIONS
            .split(',')
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn files_are_known_by_extension() {
        assert_eq!(classify("Amana.tools", &nc()), Some(FileKind::ToolLibrary));
        assert_eq!(classify("lib.JSON", &nc()), Some(FileKind::ToolLibrary));
        assert_eq!(
            classify("AL.f3dhsm-template", &nc()),
            Some(FileKind::CamTemplate)
        );
        assert_eq!(classify("1001.nc", &nc()), Some(FileKind::NcProgram));
        assert_eq!(classify("part.f3d", &nc()), None);
        assert_eq!(classify("README", &nc()), None);
    }

    #[test]
    fn a_json_that_is_not_a_tool_library_fails() {
        let error = document(FileKind::ToolLibrary, br#"{"hello": 1}"#.to_vec()).unwrap_err();
        assert!(
            error.message.contains("not a Fusion tool library"),
            "{}",
            error.message
        );
    }

    #[test]
    fn nc_programs_must_be_text() {
        let ok = document(FileKind::NcProgram, b"G0 X0\n".to_vec()).unwrap();
        assert_eq!(ok.kind, ArtifactKind::NcProgram);
        assert_eq!(ok.content, b"G0 X0\n");
        assert!(document(FileKind::NcProgram, vec![0xff, 0xfe]).is_err());
    }
}
