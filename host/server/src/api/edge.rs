//! The edge ingestion API: device tokens, and batches of observations that edge connectors
//! forward.
//!
//! A batch is checked item by item: a bad item is reported by its index and sequence number
//! and the others are stored. Items are idempotent by (machine, stream, sequence): what was
//! stored before is counted as a duplicate, so an edge that lost an acknowledgement sends the
//! batch again safely. The answer comes only once the batch is durable.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chatter_model::{DataItem, DeviceKind, DeviceToken, Feed, MachineId, Observation, Value};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::accounts::{self, RequestContext};
use crate::app::AppState;
use crate::auth::{Actor, Tenant};
use crate::error::ApiError;
use crate::time;

/// Most observations a batch may hold.
pub const MAX_BATCH: usize = 10_000;
/// Most bytes a batch may take, after decompression.
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;
/// Longest data item id accepted.
const MAX_DATA_ITEM_LEN: usize = 256;
/// Longest stream id accepted.
const MAX_STREAM_LEN: usize = 64;

/// Per-token limits on how fast observations may arrive.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, TokenBucket>>,
}

#[derive(Debug, Clone, Copy)]
struct TokenBucket {
    available: f64,
    at: Instant,
}

impl RateLimiter {
    /// Lets each token send `per_second` observations a second on average, and up to `burst`
    /// at once.
    pub fn new(per_second: u64, burst: u64) -> Self {
        RateLimiter {
            per_second: per_second as f64,
            burst: burst.max(MAX_BATCH as u64) as f64,
            buckets: Mutex::default(),
        }
    }

    /// Takes `count` observations from the token's allowance, or says how many seconds to wait.
    fn take(&self, token: &str, count: usize) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let bucket = buckets.entry(token.to_owned()).or_insert(TokenBucket {
            available: self.burst,
            at: now,
        });
        let refill = now.duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.available = (bucket.available + refill).min(self.burst);
        bucket.at = now;
        let wanted = count as f64;
        if bucket.available >= wanted {
            bucket.available -= wanted;
            return Ok(());
        }
        let wait = (wanted - bucket.available) / self.per_second.max(1.0);
        Err(wait.ceil().max(1.0) as u64)
    }
}

/// `POST /api/v1/device-tokens` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewToken {
    name: String,
    #[serde(default)]
    kind: DeviceKind,
}

#[derive(Serialize)]
struct CreatedToken {
    /// The token itself: shown this once.
    token: String,
    #[serde(flatten)]
    record: DeviceToken,
}

/// `POST /api/v1/device-tokens`: creates a device token for the organization.
pub(super) async fn create_token(
    tenant: Tenant,
    State(app): State<AppState>,
    context: RequestContext,
    body: Result<Json<NewToken>, axum::extract::rejection::JsonRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let Json(input) = body.map_err(super::machines::invalid_body)?;
    let (token, record) =
        accounts::create_device_token(&app, &context, &tenant, &input.name, input.kind).await?;
    Ok((StatusCode::CREATED, Json(CreatedToken { token, record })))
}

/// `GET /api/v1/device-tokens`: the organization's device tokens (never the tokens themselves).
pub(super) async fn list_tokens(tenant: Tenant) -> Result<impl IntoResponse, ApiError> {
    let tokens: Vec<DeviceToken> = tenant
        .store()
        .device_tokens()
        .await?
        .into_iter()
        .map(|(_, token)| token)
        .collect();
    Ok(Json(serde_json::json!({ "device_tokens": tokens })))
}

/// `DELETE /api/v1/device-tokens/{id}`: revokes a token; it is refused from then on.
pub(super) async fn revoke_token(
    tenant: Tenant,
    State(app): State<AppState>,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    accounts::revoke_device_token(&app, &context, &tenant, &id, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The public id of the device token the edge called with.
fn device_token_id(tenant: &Tenant) -> &str {
    match tenant.actor() {
        Actor::Device { token } => token,
        Actor::User { .. } | Actor::Service { .. } => "",
    }
}

/// The machine of the tenant's organization that an edge may feed.
async fn edge_machine(tenant: &Tenant, id: &str) -> Result<MachineId, ApiError> {
    let unknown = || {
        ApiError::not_found(
            "machine_not_found",
            format!("no machine `{id}` in this token's organization"),
        )
    };
    let machine_id = MachineId::new(id).map_err(|_| unknown())?;
    let machine = tenant
        .store()
        .machine(&machine_id)
        .await?
        .ok_or_else(unknown)?;
    if machine.feed != Feed::Edge {
        return Err(ApiError::conflict(
            "machine_not_edge",
            format!(
                "machine `{id}` is read by its driver on this server; set its feed to \"edge\" to forward it"
            ),
        ));
    }
    Ok(machine_id)
}

/// `GET /api/v1/ingest/machines/{id}`: where an edge should resume.
pub(super) async fn resume_point(
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let machine = edge_machine(&tenant, &id).await?;
    let last = tenant.store().last_forwarded(&machine).await?;
    let (stream, last_sequence) = match last {
        Some((stream, last)) => (Some(stream), last),
        None => (None, 0),
    };
    Ok(Json(serde_json::json!({
        "machine": machine,
        "stream": stream,
        "last_sequence": last_sequence,
    })))
}

/// A batch as posted; observations are checked one by one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch<'a> {
    machine: String,
    stream: String,
    #[serde(default)]
    data_items: Option<Vec<DataItem>>,
    #[serde(borrow)]
    observations: Vec<&'a RawValue>,
}

/// One observation as posted; its text is borrowed from the body where JSON escapes allow.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PostedObservation<'a> {
    sequence: u64,
    #[serde(borrow)]
    data_item: Cow<'a, str>,
    #[serde(borrow)]
    timestamp: Cow<'a, str>,
    value: Value,
}

#[derive(Serialize)]
struct Rejected {
    index: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    sequence: Option<u64>,
    error: String,
}

#[derive(Serialize)]
struct BatchResult {
    accepted: usize,
    duplicates: usize,
    rejected: Vec<Rejected>,
    /// The last sequence number of the stream now stored: the edge may forget up to here.
    last_sequence: u64,
}

/// `POST /api/v1/ingest`: stores a batch an edge forwarded.
pub(super) async fn post_batch(
    tenant: Tenant,
    State(app): State<AppState>,
    body: Body,
) -> Result<Response, ApiError> {
    let org = tenant.org();
    let token = device_token_id(&tenant);
    let bytes = axum::body::to_bytes(body, MAX_BATCH_BYTES)
        .await
        .map_err(|_| too_large(format!("the batch is over {MAX_BATCH_BYTES} bytes")))?;
    let batch: Batch<'_> = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::bad_request("invalid_body", format!("the batch is not valid: {e}"))
    })?;
    if batch.observations.len() > MAX_BATCH {
        return Err(too_large(format!(
            "the batch holds {} observations; send at most {MAX_BATCH}",
            batch.observations.len()
        )));
    }
    check_stream(&batch.stream)?;
    let machine = edge_machine(&tenant, &batch.machine).await?;
    if let Err(wait) = app
        .rate_limiter
        .take(token, batch.observations.len().max(1))
    {
        return Ok(rate_limited(wait));
    }
    let span = tracing::info_span!("ingest", %org, %machine, token = %token);
    let _entered = span.enter();
    if let Some(items) = batch.data_items {
        app.ingest.declare(org, &machine, items).await?;
    }
    let (sequences, observations, rejected) = check_items(&batch.observations);
    let forwarded = app
        .ingest
        .append_forwarded(org, &machine, &batch.stream, &sequences, observations)
        .await?;
    if !rejected.is_empty() {
        tracing::warn!(rejected = rejected.len(), first = %rejected[0].error, "observations rejected");
    }
    let result = BatchResult {
        accepted: forwarded.appended.sequences.clone().count(),
        duplicates: forwarded.duplicates,
        rejected,
        last_sequence: forwarded.last_sequence,
    };
    Ok(Json(result).into_response())
}

/// Splits the posted observations into the valid ones, with their sequence numbers, and the
/// rejected ones with their reasons.
fn check_items(raw: &[&RawValue]) -> (Vec<u64>, Vec<Observation>, Vec<Rejected>) {
    let mut sequences = Vec::with_capacity(raw.len());
    let mut observations = Vec::with_capacity(raw.len());
    let mut rejected = Vec::new();
    for (index, item) in raw.iter().enumerate() {
        let previous = sequences.last().copied();
        match check_item(item, previous) {
            Ok((sequence, observation)) => {
                sequences.push(sequence);
                observations.push(observation);
            }
            Err((sequence, error)) => rejected.push(Rejected {
                index,
                sequence,
                error,
            }),
        }
    }
    (sequences, observations, rejected)
}

fn check_item(
    item: &RawValue,
    previous: Option<u64>,
) -> Result<(u64, Observation), (Option<u64>, String)> {
    let posted: PostedObservation<'_> =
        serde_json::from_str(item.get()).map_err(|e| (None, e.to_string()))?;
    let sequence = posted.sequence;
    let fail = |message: String| (Some(sequence), message);
    if sequence == 0 {
        return Err(fail("sequence: numbering starts at 1".into()));
    }
    if let Some(previous) = previous
        && sequence <= previous
    {
        return Err(fail(format!(
            "sequence: {sequence} does not follow {previous}; a batch must be in increasing order"
        )));
    }
    let data_item = posted.data_item.trim();
    if data_item.is_empty() || data_item.len() > MAX_DATA_ITEM_LEN {
        return Err(fail(format!(
            "data_item: give an id of 1–{MAX_DATA_ITEM_LEN} characters"
        )));
    }
    let timestamp = time::parse(&posted.timestamp).map_err(|m| fail(format!("timestamp: {m}")))?;
    Ok((
        sequence,
        Observation {
            data_item: data_item.to_owned(),
            timestamp,
            value: posted.value,
        },
    ))
}

fn check_stream(stream: &str) -> Result<(), ApiError> {
    let valid = !stream.is_empty()
        && stream.len() <= MAX_STREAM_LEN
        && stream
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(ApiError::unprocessable(
            "invalid_body",
            format!("stream: give an id of 1–{MAX_STREAM_LEN} letters, digits, `-` or `_`"),
        ))
    }
}

fn too_large(message: String) -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "batch_too_large", message)
}

fn rate_limited(wait_seconds: u64) -> Response {
    let mut response = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("this token sends faster than allowed; retry in {wait_seconds} s"),
    )
    .into_response();
    if let Ok(value) = wait_seconds.to_string().parse() {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_refuses_beyond_its_burst_and_says_how_long_to_wait() {
        let limiter = RateLimiter::new(10_000, 20_000);
        assert!(limiter.take("a", 15_000).is_ok());
        assert_eq!(limiter.take("a", 10_000), Err(1));
        assert!(limiter.take("b", 10_000).is_ok());
    }
}
