//! How values are laid out on disk.
//!
//! Observations are the bulk of the data and arrive by the hundred thousand a second, so they are
//! postcard-encoded through private records: compact, and independent of the serde attributes the
//! model types carry for the HTTP API (postcard cannot round-trip `skip_serializing_if` or
//! adjacently tagged enums anyway). Metadata (organizations, machines, data items, plugin
//! installs, and the account records and audit records) is small and rarely written, so it is
//! JSON: readable with any sled dump, and tolerant of fields added later.
//!
//! # Observations, format 2
//!
//! A sled insert costs microseconds whatever its size, so an append writes a handful of values
//! per batch instead of one per observation. Integers are postcard varints (zigzag when signed).
//!
//! - **Chunks** (tree `observations`, key `org 0 machine 0 first_sequence`, the sequence number
//!   big-endian): consecutive observations of one batch, `2 | header | record…`, the record at
//!   offset `i` having sequence number `first_sequence + i`. The header is
//!   `{ len, base_timestamp, items: [str], backwards: [u32], marks: [u32] }`: how many records
//!   follow; the timestamp theirs are offsets from (the first one's); the data item ids they
//!   refer to by index, in order of first use; the offsets of the observations whose timestamp
//!   is earlier than that of the one stored before them (usually none); and where records 16, 32,
//!   … begin, in bytes after the header, so that a read starting inside a chunk decodes at most
//!   15 records it does not want. A record is `{ item: u32, timestamp offset: i64 (wrapping),
//!   value }`: about 15 bytes for a sample. A chunk is closed once its records reach 6 KiB or
//!   1,024 observations, so that sled's leaves (up to 17 values) stay under the size it would
//!   write to separate blob files.
//! - **Latest values** (tree `latest`, key `org 0 machine`): `2 |` a list of
//!   `{ sequence: u64, backwards: bool, { data_item: str, timestamp: i64, value } }`, one per data
//!   item, sorted by data item. Each append rewrites it once. The entry with the highest
//!   sequence number is the machine's last observation, whose timestamp decides whether the next
//!   one went backwards; removing a machine removes it, so a machine created again starts afresh.
//!
//! A value is `Sample(f64) | Event(str) | Condition { level, native_code, native_severity,
//! qualifier, text } | Unavailable` (see `records`; variant order is the format).
//!
//! Format 1 (until the backwards flag) stored one record `1 | { data_item, timestamp, value }`
//! per observation under `org 0 machine 0 sequence`, and one latest value per data item under
//! `org 0 machine 0 data_item`. No store was deployed with it, so it is not read: its values
//! fail to decode with "unknown record format 1".

mod chunks;
mod latest;
mod records;

use std::collections::BTreeMap;

use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) use chunks::{ChunkBody, encode_chunks, read_chunk};
pub(crate) use latest::{LatestValues, read_latest};

use crate::error::{CodecError, StoreError};
use crate::keys;

/// First byte of every chunk and latest-values record, so the layout can change again.
const FORMAT_V2: u8 = 2;

/// The bytes after the format byte, which must be the current one.
fn strip_format(bytes: &[u8]) -> Result<&[u8], CodecError> {
    let (&format, rest) = bytes.split_first().ok_or(CodecError::Empty)?;
    if format != FORMAT_V2 {
        return Err(CodecError::UnknownFormat(format));
    }
    Ok(rest)
}

fn encode_error(what: &'static str) -> impl FnOnce(postcard::Error) -> StoreError {
    move |source| StoreError::Encode {
        what,
        source: source.into(),
    }
}

/// Turns a codec error about the value of `key` in `tree` into a store error naming both.
pub(crate) fn decode_error(
    tree: &'static str,
    key: &[u8],
) -> impl FnOnce(CodecError) -> StoreError {
    move |source| StoreError::Decode {
        tree,
        key: keys::display(key),
        source,
    }
}

/// Decodes a big-endian `u64` (a sequence number or a count) stored under or as `key` of `tree`.
pub(crate) fn decode_u64(tree: &'static str, key: &[u8], bytes: &[u8]) -> Result<u64, StoreError> {
    let array: [u8; 8] = bytes
        .try_into()
        .map_err(|_| CodecError::Length {
            expected: 8,
            actual: bytes.len(),
        })
        .map_err(decode_error(tree, key))?;
    Ok(u64::from_be_bytes(array))
}

/// Encodes metadata as JSON.
pub(crate) fn to_json<T: Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Encode {
        what,
        source: e.into(),
    })
}

/// Decodes JSON metadata stored under `key` of `tree`.
pub(crate) fn from_json<T: DeserializeOwned>(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| decode_error(tree, key)(e.into()))
}

/// Encodes a driver instance's private state.
pub(crate) fn encode_state(state: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(state).map_err(|e| StoreError::Encode {
        what: "plugin state",
        source: e.into(),
    })
}

/// Decodes a driver instance's private state stored under `key` of `tree`.
pub(crate) fn decode_state(
    tree: &'static str,
    key: &[u8],
    bytes: &[u8],
) -> Result<BTreeMap<String, Vec<u8>>, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| decode_error(tree, key)(e.into()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_an_error_naming_tree_and_key() {
        let name = |error| decode_error("observations", b"o\0m\0\x01")(error).to_string();
        let err = read_chunk(1, b"\x02\xff\xff").err().unwrap();
        assert!(name(err).starts_with(
            "cannot decode the value of key `o\\x00m\\x00\\x01` in tree `observations`: postcard: "
        ),);
        let err = read_chunk(1, b"\x01\x01\x00").err().unwrap();
        assert!(name(err).ends_with(": unknown record format 1"));
        let err = read_latest(b"").err().unwrap();
        assert!(name(err).ends_with(": empty record"));
        let err = decode_u64("sequences", b"k", b"\x00").unwrap_err();
        assert!(
            err.to_string().ends_with("expected 8 bytes, found 1"),
            "{err}"
        );
    }
}
