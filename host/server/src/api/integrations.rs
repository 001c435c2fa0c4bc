//! `/api/v1/connections` and `/api/v1/library`: the organization's connections to third-party
//! providers (never their tokens), syncing and disconnecting them, and the library they fill.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use chatter_model::library::ArtifactKind;
use chatter_model::{Account, Connection, LibraryEntry, MachineId, SyncRecord};
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::integrations::IntegrationError;

/// A connection as the API shows it: everything but its tokens.
#[derive(Serialize)]
pub(crate) struct ConnectionView {
    id: String,
    provider: String,
    plugin: String,
    account: Option<Account>,
    scopes: Vec<String>,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
    created_by: String,
    created_at_ms: i64,
    last_sync: Option<SyncRecord>,
}

impl From<Connection> for ConnectionView {
    fn from(connection: Connection) -> Self {
        let status_reason = match &connection.status {
            chatter_model::ConnectionStatus::NeedsReauthorization { reason } => {
                Some(reason.clone())
            }
            _ => None,
        };
        ConnectionView {
            status: connection.status.as_str(),
            status_reason,
            id: connection.id,
            provider: connection.provider,
            plugin: connection.plugin.to_string(),
            account: connection.account,
            scopes: connection.scopes,
            created_by: connection.created_by.to_string(),
            created_at_ms: connection.created_at_ms,
            last_sync: connection.last_sync,
        }
    }
}

/// What an integration failure answers.
pub(crate) fn api_error(error: IntegrationError) -> ApiError {
    match error {
        IntegrationError::NotFound(id) => {
            ApiError::not_found("connection_not_found", format!("no connection `{id}`"))
        }
        error @ IntegrationError::NotConnected(_) => {
            ApiError::conflict("connection_not_usable", error.to_string())
        }
        error @ (IntegrationError::Token(_) | IntegrationError::Plugin(_)) => {
            ApiError::new(StatusCode::BAD_GATEWAY, "sync_failed", error.to_string())
        }
        error @ (IntegrationError::UnknownPlugin(_)
        | IntegrationError::ProviderNotConfigured { .. }
        | IntegrationError::NoVault) => {
            ApiError::unprocessable("integration_unavailable", error.to_string())
        }
        other => ApiError::internal(other),
    }
}

/// `GET /api/v1/connections`
pub(super) async fn list_connections(tenant: Tenant) -> Result<impl IntoResponse, ApiError> {
    let mut connections = tenant.store().connections().await?;
    connections.sort_by_key(|c| std::cmp::Reverse(c.created_at_ms));
    Ok(Json(
        connections
            .into_iter()
            .map(ConnectionView::from)
            .collect::<Vec<_>>(),
    ))
}

/// `POST /api/v1/connections/{id}/sync`: runs a sync now and answers with its record.
pub(super) async fn sync(
    State(app): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let record = app
        .integrations
        .sync(tenant.org(), &id)
        .await
        .map_err(api_error)?;
    Ok(Json(record))
}

/// `DELETE /api/v1/connections/{id}`: revokes the tokens and marks the connection
/// disconnected; the library keeps what it imported.
pub(super) async fn disconnect(
    State(app): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let connection = app
        .integrations
        .disconnect(tenant.org(), &id)
        .await
        .map_err(api_error)?;
    Ok(Json(ConnectionView::from(connection)))
}

/// A library entry in lists: everything but its document.
#[derive(Serialize)]
pub(crate) struct EntrySummary {
    id: String,
    kind: ArtifactKind,
    name: String,
    location: String,
    version: String,
    source_id: String,
    connection: String,
    modified_at_ms: i64,
    imported_at_ms: i64,
    machine: Option<MachineId>,
}

impl From<&LibraryEntry> for EntrySummary {
    fn from(entry: &LibraryEntry) -> Self {
        EntrySummary {
            id: entry.id.clone(),
            kind: entry.kind,
            name: entry.name.clone(),
            location: entry.location.clone(),
            version: entry.version.clone(),
            source_id: entry.source_id.clone(),
            connection: entry.connection.clone(),
            modified_at_ms: entry.modified_at_ms,
            imported_at_ms: entry.imported_at_ms,
            machine: entry.machine.clone(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct LibraryQuery {
    kind: Option<String>,
}

/// `GET /api/v1/library?kind=tool-library|cam-template|nc-program`
pub(super) async fn list_library(
    tenant: Tenant,
    Query(query): Query<LibraryQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let kind = match query.kind.as_deref() {
        None => None,
        Some(kind) => Some(ArtifactKind::parse(kind).ok_or_else(|| {
            ApiError::bad_request(
                "invalid_kind",
                format!("`kind` is tool-library, cam-template or nc-program, not `{kind}`"),
            )
        })?),
    };
    let entries = tenant.store().library_entries().await?;
    Ok(Json(
        entries
            .iter()
            .filter(|entry| kind.is_none_or(|kind| entry.kind == kind))
            .map(EntrySummary::from)
            .collect::<Vec<_>>(),
    ))
}

#[derive(Serialize)]
struct EntryView {
    #[serde(flatten)]
    summary: EntrySummary,
    /// The tool library or CAM template, for those kinds.
    #[serde(skip_serializing_if = "Option::is_none")]
    document: Option<serde_json::Value>,
    /// The program's text, for NC programs.
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
}

/// `GET /api/v1/library/{id}`: the entry with its document.
pub(super) async fn library_entry(
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let entry = tenant
        .store()
        .library_entry(&id)
        .await?
        .ok_or_else(|| entry_not_found(&id))?;
    let (document, text) = match entry.kind {
        ArtifactKind::NcProgram => (None, Some(entry.content.clone())),
        _ => (
            Some(serde_json::from_str(&entry.content).map_err(ApiError::internal)?),
            None,
        ),
    };
    Ok(Json(EntryView {
        summary: EntrySummary::from(&entry),
        document,
        text,
    }))
}

fn entry_not_found(id: &str) -> ApiError {
    ApiError::not_found(
        "library_entry_not_found",
        format!("no library entry `{id}`"),
    )
}

#[derive(Deserialize)]
pub(super) struct LinkBody {
    machine: Option<MachineId>,
}

/// `PUT /api/v1/library/{id}/machine` with `{"machine": "id"}` or `{"machine": null}`: which
/// machine an NC program is for.
pub(super) async fn link_machine(
    tenant: Tenant,
    Path(id): Path<String>,
    Json(body): Json<LinkBody>,
) -> Result<impl IntoResponse, ApiError> {
    link(&tenant, &id, body.machine).await.map(Json)
}

/// Links the program `id` to `machine` after checking both belong to the tenant.
pub(crate) async fn link(
    tenant: &Tenant,
    id: &str,
    machine: Option<MachineId>,
) -> Result<EntrySummary, ApiError> {
    let store = tenant.store();
    let entry = store
        .library_entry(id)
        .await?
        .ok_or_else(|| entry_not_found(id))?;
    if entry.kind != ArtifactKind::NcProgram {
        return Err(ApiError::unprocessable(
            "not_a_program",
            format!(
                "`{}` is a {}: only NC programs are linked to machines",
                entry.name, entry.kind
            ),
        ));
    }
    if let Some(machine) = &machine
        && store.machine(machine).await?.is_none()
    {
        return Err(ApiError::unprocessable(
            "machine_not_found",
            format!("`machine`: no machine `{machine}`"),
        ));
    }
    let entry = store
        .link_program(id, machine)
        .await?
        .ok_or_else(|| entry_not_found(id))?;
    Ok(EntrySummary::from(&entry))
}
