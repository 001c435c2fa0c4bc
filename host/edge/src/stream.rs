//! The edge's stream id: a random 128-bit id created the first time a data folder is used and
//! kept in it (`edge-stream`). Central remembers the last sequence number it stored per stream;
//! a new data folder starts its sequence numbers at 1 again, and its new stream id tells central
//! that these are new observations, not duplicates.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The file in the data folder holding the stream id.
pub const STREAM_FILE: &str = "edge-stream";

/// A stream id: 32 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StreamId(String);

/// The stream id could not be read or created.
#[derive(Debug, thiserror::Error)]
pub enum StreamIdError {
    /// Reading or writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file does not hold a stream id.
    #[error("{path} does not hold a stream id (32 hex digits); remove it to start a new stream")]
    Corrupt {
        /// The file.
        path: PathBuf,
    },
    /// The operating system gave no randomness.
    #[error("no randomness for a new stream id: {0}")]
    Random(getrandom::Error),
}

impl StreamId {
    /// A new random stream id.
    pub fn random() -> Result<Self, StreamIdError> {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).map_err(StreamIdError::Random)?;
        Ok(StreamId(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    /// Parses a stream id; `None` unless it is 32 hex digits.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        (text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| StreamId(text.to_ascii_lowercase()))
    }

    /// The id as sent to central.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The stream id of `data_dir`, created (and made durable) if the folder has none yet.
    pub fn load_or_create(data_dir: &Path) -> Result<Self, StreamIdError> {
        let path = data_dir.join(STREAM_FILE);
        let io = |source| StreamIdError::Io {
            path: path.clone(),
            source,
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text).ok_or(StreamIdError::Corrupt { path }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let id = Self::random()?;
                std::fs::create_dir_all(data_dir).map_err(io)?;
                write_atomically(&path, format!("{id}\n").as_bytes()).map_err(io)?;
                Ok(id)
            }
            Err(e) => Err(io(e)),
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Writes `path` so that it is either absent or complete after a crash, and durable on return:
/// a synced temporary file renamed over it, then the folder synced so the rename is kept.
fn write_atomically(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let temp = path.with_extension("tmp");
    {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(contents)?;
        file.sync_all()?;
    }
    std::fs::rename(&temp, path)?;
    if let Some(dir) = path.parent() {
        // Directories cannot be opened for syncing on every platform; the rename is then only
        // as durable as the OS makes it.
        if let Ok(dir) = std::fs::File::open(dir) {
            dir.sync_all()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_dir_keeps_its_stream_id() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let data = dir.path().join("data");
        let first = StreamId::load_or_create(&data).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first.as_str().len(), 32);
        let again = StreamId::load_or_create(&data).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(first, again);
        assert!(!data.join("edge-stream.tmp").exists());

        let other = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let second = StreamId::load_or_create(other.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_ne!(first, second, "a new data folder is a new stream");
    }

    #[test]
    fn a_damaged_file_is_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join(STREAM_FILE), "garbage").unwrap_or_else(|e| panic!("{e}"));
        let error = StreamId::load_or_create(dir.path())
            .err()
            .map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("remove it")));
    }

    #[test]
    fn parsing_accepts_only_32_hex_digits() {
        assert!(StreamId::parse("0123456789ABCDEF0123456789abcdef\n").is_some());
        assert!(StreamId::parse("0123").is_none());
        assert!(StreamId::parse("0123456789abcdef0123456789abcdeg").is_none());
    }
}
