//! The agent's REST interface: `/probe`, `/current` and `/sample`, for all devices or one
//! (`/<device>/…`), answering in XML or — when the request's `Accept` header asks for
//! `application/json` — in JSON version 2. Handlers are thin: read the request, ask the buffer,
//! write the document.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chatter_mtconnect::streams::{self, ErrorCode, ErrorDocument, StreamsDocument};

use super::Shared;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(probe_all))
        .route("/probe", get(probe_all))
        .route("/current", get(current_all))
        .route("/sample", get(sample_all))
        .route("/{device}", get(probe_device))
        .route("/{device}/probe", get(probe_device))
        .route("/{device}/current", get(current_device))
        .route("/{device}/sample", get(sample_device))
        .fallback(unknown)
        .with_state(shared)
}

type Parameters = Query<HashMap<String, String>>;

/// The format a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Xml,
    Json,
}

fn format_of(headers: &HeaderMap) -> Format {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if accept.contains("application/json") {
        Format::Json
    } else {
        Format::Xml
    }
}

async fn probe_all(State(shared): State<Arc<Shared>>) -> Response {
    probe(&shared, None)
}

async fn probe_device(State(shared): State<Arc<Shared>>, Path(device): Path<String>) -> Response {
    probe(&shared, Some(&device))
}

fn probe(shared: &Shared, device: Option<&str>) -> Response {
    // Device models are served as XML only, whatever the request accepts.
    match shared.probe(device) {
        Ok(body) => xml(StatusCode::OK, body),
        Err(error) => refusal(Format::Xml, &error),
    }
}

async fn current_all(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(parameters): Parameters,
) -> Response {
    current(&shared, None, &headers, &parameters)
}

async fn current_device(
    State(shared): State<Arc<Shared>>,
    Path(device): Path<String>,
    headers: HeaderMap,
    Query(parameters): Parameters,
) -> Response {
    current(&shared, Some(&device), &headers, &parameters)
}

fn current(
    shared: &Shared,
    device: Option<&str>,
    headers: &HeaderMap,
    parameters: &HashMap<String, String>,
) -> Response {
    let format = format_of(headers);
    let answer = number(shared, parameters, "at").and_then(|at| shared.current(device, at));
    document(format, answer)
}

async fn sample_all(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(parameters): Parameters,
) -> Response {
    sample(&shared, None, &headers, &parameters)
}

async fn sample_device(
    State(shared): State<Arc<Shared>>,
    Path(device): Path<String>,
    headers: HeaderMap,
    Query(parameters): Parameters,
) -> Response {
    sample(&shared, Some(&device), &headers, &parameters)
}

fn sample(
    shared: &Shared,
    device: Option<&str>,
    headers: &HeaderMap,
    parameters: &HashMap<String, String>,
) -> Response {
    let format = format_of(headers);
    let answer = number(shared, parameters, "from").and_then(|from| {
        let count = number(shared, parameters, "count")?;
        shared.sample(device, from, count)
    });
    document(format, answer)
}

async fn unknown(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let error = shared.error(
        ErrorCode::InvalidUri,
        format!(
            "{} is not a request this agent serves (probe, current, sample)",
            uri.path()
        ),
    );
    refusal(format_of(&headers), &error)
}

/// Query parameter `name` as an unsigned integer, if given.
fn number(
    shared: &Shared,
    parameters: &HashMap<String, String>,
    name: &str,
) -> Result<Option<u64>, ErrorDocument> {
    let Some(text) = parameters.get(name) else {
        return Ok(None);
    };
    match text.trim().parse::<i64>() {
        Ok(value) if value >= 0 => Ok(Some(value as u64)),
        Ok(_) => Err(shared.error(
            ErrorCode::OutOfRange,
            format!("'{name}' must be greater than 0 (negative values are not supported here)"),
        )),
        Err(_) => Err(shared.error(
            ErrorCode::QueryError,
            format!("'{name}' must be an integer, not {text:?}"),
        )),
    }
}

fn document(format: Format, answer: Result<StreamsDocument, ErrorDocument>) -> Response {
    match answer {
        Ok(document) => match format {
            Format::Xml => xml(StatusCode::OK, streams::write_xml(&document)),
            Format::Json => json(StatusCode::OK, streams::write_json(&document)),
        },
        Err(error) => refusal(format, &error),
    }
}

/// An error document with the status the reference agent gives it.
fn refusal(format: Format, error: &ErrorDocument) -> Response {
    let status = if error.has(&ErrorCode::NoDevice) || error.has(&ErrorCode::InvalidUri) {
        StatusCode::NOT_FOUND
    } else {
        StatusCode::BAD_REQUEST
    };
    match format {
        Format::Xml => xml(status, streams::write_error_xml(error)),
        Format::Json => json(status, streams::write_error_json(error)),
    }
}

fn xml(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        body,
    )
        .into_response()
}

fn json(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
