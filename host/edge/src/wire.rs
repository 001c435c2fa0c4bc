//! The JSON of central's ingest API: what the edge sends and what central answers.

use chatter_model::{DataItem, StoredObservation, Timestamp, Value};
use serde::{Deserialize, Serialize};

/// Largest request body central accepts, before compression.
pub const MAX_BODY_BYTES: usize = 16 << 20;

/// `POST /api/v1/ingest`: a batch of one machine's observations from one stream.
#[derive(Debug, Serialize)]
pub struct IngestBatch<'a> {
    /// The machine's id, on the edge and on central.
    pub machine: &'a str,
    /// The edge's stream id.
    pub stream: &'a str,
    /// The machine's data items, when they are new to central or changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_items: Option<&'a [DataItem]>,
    /// The observations, by strictly increasing sequence number.
    pub observations: Vec<WireObservation<'a>>,
}

/// One observation as central receives it.
#[derive(Debug, Serialize)]
pub struct WireObservation<'a> {
    /// Its sequence number on the edge.
    pub sequence: u64,
    /// Its data item.
    pub data_item: &'a str,
    /// When the machine reported it, RFC 3339 in UTC with nanoseconds.
    pub timestamp: String,
    /// What the machine reported.
    pub value: &'a Value,
}

impl<'a> WireObservation<'a> {
    /// The wire form of a stored observation.
    pub fn new(stored: &'a StoredObservation) -> Self {
        WireObservation {
            sequence: stored.sequence,
            data_item: &stored.observation.data_item,
            timestamp: rfc3339(stored.observation.timestamp),
            value: &stored.observation.value,
        }
    }
}

/// `200` to `POST /api/v1/ingest`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct IngestResponse {
    /// Observations stored.
    pub accepted: u64,
    /// Observations skipped as already stored from this stream.
    #[serde(default)]
    pub duplicates: u64,
    /// Observations central will never accept.
    #[serde(default)]
    pub rejected: Vec<Rejected>,
    /// The last sequence number central holds from this stream.
    pub last_sequence: u64,
}

/// An observation central refused.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Rejected {
    /// Its place in the batch.
    pub index: usize,
    /// Its sequence number, unless the item was too damaged to tell.
    #[serde(default)]
    pub sequence: Option<u64>,
    /// Why.
    pub error: String,
}

/// `200` to `GET /api/v1/ingest/machines/{id}`: how far central got with the machine.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct Position {
    /// The machine.
    pub machine: String,
    /// The stream central last stored observations of, if any.
    pub stream: Option<String>,
    /// The last sequence number stored from that stream.
    #[serde(default)]
    pub last_sequence: u64,
}

/// Central's error answers: `{"error": {"code": …, "message": …}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong, as central says.
#[derive(Debug, Clone, Deserialize)]
pub struct ErrorDetail {
    /// A stable code (`invalid_token`, `machine_not_found`, …).
    pub code: String,
    /// A sentence for people.
    #[serde(default)]
    pub message: String,
}

/// `timestamp` (nanoseconds since the Unix epoch) as RFC 3339 in UTC with all nine digits of
/// nanoseconds, e.g. `2016-05-10T12:00:00.123456789Z`. Timestamps beyond what RFC 3339 can write
/// (before year 0 or after 9999, which no machine reports) are clamped to that range.
pub fn rfc3339(timestamp: Timestamp) -> String {
    let ts = jiff::Timestamp::from_nanosecond(i128::from(timestamp)).unwrap_or(if timestamp < 0 {
        jiff::Timestamp::MIN
    } else {
        jiff::Timestamp::MAX
    });
    format!("{ts:.9}")
}

/// The JSON body of a batch of `observations` (in sequence order), and how many of them it holds:
/// as many as fit in [`MAX_BODY_BYTES`], at least one.
pub fn encode_batch(
    machine: &str,
    stream: &str,
    data_items: Option<&[DataItem]>,
    observations: &[StoredObservation],
) -> Result<(Vec<u8>, usize), serde_json::Error> {
    let mut count = observations.len();
    loop {
        let batch = IngestBatch {
            machine,
            stream,
            data_items,
            observations: observations[..count]
                .iter()
                .map(WireObservation::new)
                .collect(),
        };
        let body = serde_json::to_vec(&batch)?;
        if body.len() <= MAX_BODY_BYTES || count <= 1 {
            return Ok((body, count));
        }
        // Rare (huge condition texts): halve until it fits rather than estimate sizes.
        count /= 2;
    }
}

/// `body` gzip-compressed, for `Content-Encoding: gzip`; observations repeat the same keys and
/// data item ids, so batches shrink several-fold, which matters on a shop's uplink.
pub fn gzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write as _;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::fast(),
    );
    encoder.write_all(body)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatter_model::{Category, Observation};

    fn stored(sequence: u64, timestamp: Timestamp, value: Value) -> StoredObservation {
        StoredObservation {
            sequence,
            backwards: false,
            observation: Observation {
                data_item: "exec".into(),
                timestamp,
                value,
            },
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_nanoseconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(
            rfc3339(1_462_881_600_123_456_789),
            "2016-05-10T12:00:00.123456789Z"
        );
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(
            rfc3339(1_462_881_600_000_000_000),
            "2016-05-10T12:00:00.000000000Z"
        );
    }

    #[test]
    fn a_batch_is_encoded_as_the_ingest_api_expects() {
        let items = [DataItem {
            id: "exec".into(),
            category: Category::Event,
            kind: "EXECUTION".into(),
            units: None,
            name: None,
        }];
        let observations = [
            stored(17, 1_462_881_600_123_456_789, Value::Event("ACTIVE".into())),
            stored(18, 1_462_881_601_000_000_000, Value::Sample(1.5)),
        ];
        let (body, count) = encode_batch("mill-1", "ab", Some(&items), &observations)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(count, 2);
        let json: serde_json::Value =
            serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            json,
            serde_json::json!({
                "machine": "mill-1",
                "stream": "ab",
                "data_items": [{"id": "exec", "category": "event", "kind": "EXECUTION"}],
                "observations": [
                    {"sequence": 17, "data_item": "exec",
                     "timestamp": "2016-05-10T12:00:00.123456789Z",
                     "value": {"type": "event", "value": "ACTIVE"}},
                    {"sequence": 18, "data_item": "exec",
                     "timestamp": "2016-05-10T12:00:01.000000000Z",
                     "value": {"type": "sample", "value": 1.5}},
                ]
            })
        );
        let (body, _) = encode_batch("mill-1", "ab", None, &observations[..1])
            .unwrap_or_else(|e| panic!("{e}"));
        let json: serde_json::Value =
            serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}"));
        assert!(json.get("data_items").is_none());
    }

    #[test]
    fn an_oversized_batch_is_cut_to_fit() {
        let text = "x".repeat(1 << 20);
        let observations: Vec<StoredObservation> = (1..=40)
            .map(|s| stored(s, 0, Value::Event(text.clone())))
            .collect();
        let (body, count) =
            encode_batch("m", "s", None, &observations).unwrap_or_else(|e| panic!("{e}"));
        assert!(body.len() <= MAX_BODY_BYTES);
        assert!((1..40).contains(&count), "{count}");
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read as _;
        let body = br#"{"observations":[]}"#.repeat(100);
        let compressed = gzip(&body).unwrap_or_else(|e| panic!("{e}"));
        assert!(compressed.len() < body.len() / 4);
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_end(&mut decoded)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(decoded, body);
    }

    #[test]
    fn answers_are_read() {
        let response: IngestResponse = serde_json::from_str(
            r#"{"accepted": 998, "duplicates": 0, "rejected": [{"index": 3, "sequence": 20, "error": "timestamp: bad"}], "last_sequence": 1000}"#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(response.rejected[0].sequence, Some(20));
        let position: Position =
            serde_json::from_str(r#"{"machine": "mill-1", "stream": null, "last_sequence": 0}"#)
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(position.stream, None);
    }
}
