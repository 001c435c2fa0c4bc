//! The Integrations page — connect an Autodesk account with one click, see each connection's
//! account, scopes, status and last sync, sync now, disconnect — and the OAuth callback that
//! brings the browser back from the provider.

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chatter_model::{Connection, ConnectionStatus, PluginId};

use super::cookies;
use super::dashboard::org_name;
use super::frame::{Done, Frame, Section};
use super::page::{Failure, Message, When, allow_form_targets, render};
use crate::accounts::{Audit, RequestContext};
use crate::app::AppState;
use crate::auth::{Caller, Permission, Tenant};
use crate::integrations::{CallbackParams, Connector, IntegrationError};

/// How long "Sync now" waits for the sync before answering; a longer sync goes on and the
/// page shows it when it ends.
const SYNC_WAIT: Duration = Duration::from_secs(20);

#[derive(Template)]
#[template(path = "integrations.html")]
struct IntegrationsPage {
    frame: Frame,
    org_name: String,
    can_manage: bool,
    connectors: Vec<ConnectorRow>,
    connections: Vec<ConnectionRow>,
}

struct ConnectorRow {
    plugin: String,
    name: String,
    description: String,
    scopes: String,
    configured: bool,
}

struct ConnectionRow {
    id: String,
    provider: String,
    account: String,
    scopes: String,
    status: &'static str,
    status_label: &'static str,
    reason: Option<String>,
    plugin: String,
    connected: When,
    last_sync: Option<SyncRow>,
}

struct SyncRow {
    at: When,
    imported: u32,
    skipped: u32,
    failures: Vec<(String, String)>,
    error: Option<String>,
}

impl ConnectionRow {
    fn new(connection: Connection, connectors: &[Connector]) -> Self {
        let provider = connectors
            .iter()
            .find(|c| c.provider == connection.provider)
            .and_then(|c| c.display_name.clone())
            .unwrap_or_else(|| connection.provider.clone());
        let (status_label, reason) = match &connection.status {
            ConnectionStatus::Connected => ("Connected", None),
            ConnectionStatus::NeedsReauthorization { reason } => {
                ("Needs re-authorization", Some(reason.clone()))
            }
            ConnectionStatus::Disconnected { .. } => ("Disconnected", None),
        };
        ConnectionRow {
            id: connection.id,
            account: connection
                .account
                .map_or_else(|| "(account not identified yet)".to_owned(), |a| a.name),
            scopes: connection.scopes.join(" "),
            status: connection.status.as_str(),
            status_label,
            reason,
            plugin: connection.plugin.to_string(),
            connected: When::at(connection.created_at_ms),
            last_sync: connection.last_sync.map(|sync| SyncRow {
                at: When::at(sync.finished_at_ms),
                imported: sync.imported,
                skipped: sync.skipped,
                failures: sync
                    .failures
                    .into_iter()
                    .map(|f| (f.item, f.message))
                    .collect(),
                error: sync.error,
            }),
            provider,
        }
    }
}

/// `GET /integrations`
pub(crate) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let frame = Frame::signed_in(&app, &caller, "Integrations", Section::Integrations)
        .await?
        .done(&done);
    page(&app, &tenant, frame, StatusCode::OK).await
}

async fn page(
    app: &AppState,
    tenant: &Tenant,
    frame: Frame,
    status: StatusCode,
) -> Result<Response, Failure> {
    let connectors = app
        .integrations
        .connectors()
        .await
        .map_err(Failure::internal)?;
    let mut connections = tenant.store().connections().await?;
    connections.sort_by_key(|c| std::cmp::Reverse(c.created_at_ms));
    let page = IntegrationsPage {
        frame,
        org_name: org_name(tenant).await?,
        can_manage: tenant.can(Permission::ManageIntegrations),
        connections: connections
            .into_iter()
            .map(|c| ConnectionRow::new(c, &connectors))
            .collect(),
        connectors: connectors
            .into_iter()
            .map(|c| ConnectorRow {
                plugin: c.plugin.to_string(),
                configured: c.display_name.is_some(),
                name: c.display_name.unwrap_or(c.provider),
                description: c.description,
                scopes: c.scopes.join(" "),
            })
            .collect(),
    };
    let mut response = render(status, &page);
    allow_form_targets(&mut response, &app.integrations.authorize_origins());
    Ok(response)
}

/// `POST /integrations/{plugin}/connect`: sends the browser to the provider's consent page.
pub(crate) async fn connect(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Path(plugin): Path<String>,
) -> Result<Response, Failure> {
    let Some(session) = &caller.session else {
        return Err(Failure::answer(
            Message::new(
                "browser-only",
                "Connect from a browser",
                StatusCode::BAD_REQUEST,
            )
            .text("Connecting an account needs you signed in in a browser, which the provider sends back to this server."),
        ));
    };
    let user = tenant
        .user()
        .cloned()
        .ok_or_else(|| Failure::internal("a member without a user"))?;
    let started = match PluginId::new(plugin.clone()) {
        Ok(plugin) => {
            app.integrations
                .begin(tenant.org(), &user, &session.hash, &plugin)
                .await
        }
        Err(_) => Err(IntegrationError::UnknownPlugin(
            PluginId::new("unknown").map_err(Failure::internal)?,
        )),
    };
    match started {
        Ok(url) => Ok(Redirect::to(url.as_str()).into_response()),
        Err(error) => {
            let mut frame =
                Frame::signed_in(&app, &caller, "Integrations", Section::Integrations).await?;
            frame.error = Some(error.to_string());
            page(&app, &tenant, frame, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// `GET /integrations/callback`: where the provider sends the browser back.
pub(crate) async fn callback(
    State(app): State<AppState>,
    caller: Caller,
    context: RequestContext,
    Query(params): Query<CallbackParams>,
) -> Result<Response, Failure> {
    let session = caller
        .session
        .as_ref()
        .map(|s| s.hash.as_str())
        .unwrap_or_default();
    match app.integrations.complete(session, params).await {
        Ok(connection) => {
            Audit::new("integration.connect", &context)
                .org(&connection.org)
                .actor(&caller.user.id)
                .detail("connection", &connection.id)
                .detail("provider", &connection.provider)
                .record(&app)
                .await
                .map_err(Failure::internal)?;
            // The first sync starts at once; the page shows it when it ends.
            let integrations = app.integrations.clone();
            let (org, id) = (connection.org.clone(), connection.id.clone());
            tokio::spawn(async move {
                if let Err(error) = integrations.sync(&org, &id).await {
                    tracing::warn!(%error, "the first sync of a new connection failed");
                }
            });
            Ok(cookies::done("/integrations", "integration_connected"))
        }
        Err(error) => {
            tracing::info!(%error, "a connection could not be completed");
            let mut message = Message::new(
                "connect-failed",
                "The connection was not made",
                StatusCode::BAD_REQUEST,
            )
            .text(&error.to_string())
            .link("/integrations", "Back to Integrations");
            message.frame =
                Frame::signed_in(&app, &caller, "Integrations", Section::Integrations).await?;
            Ok(message.into_response())
        }
    }
}

/// `POST /integrations/connections/{id}/sync`
pub(crate) async fn sync_now(
    State(app): State<AppState>,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    // Checked first so another organization's id is a plain 404.
    app.integrations
        .connection(tenant.org(), &id)
        .await
        .map_err(not_found_or_internal)?;
    let integrations = app.integrations.clone();
    let org = tenant.org().clone();
    let sync = tokio::spawn(async move { integrations.sync(&org, &id).await });
    let code = match tokio::time::timeout(SYNC_WAIT, sync).await {
        Err(_) => "sync_running",
        Ok(Ok(Ok(_))) => "sync_finished",
        Ok(Ok(Err(_)) | Err(_)) => "sync_failed",
    };
    Ok(cookies::done("/integrations", code))
}

/// `POST /integrations/connections/{id}/disconnect`
pub(crate) async fn disconnect(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let connection = app
        .integrations
        .disconnect(tenant.org(), &id)
        .await
        .map_err(not_found_or_internal)?;
    let mut audit = Audit::new("integration.disconnect", &context)
        .org(tenant.org())
        .detail("connection", &connection.id)
        .detail("provider", &connection.provider);
    if let Some(user) = tenant.user() {
        audit = audit.actor(user);
    }
    audit.record(&app).await.map_err(Failure::internal)?;
    Ok(cookies::done("/integrations", "integration_disconnected"))
}

fn not_found_or_internal(error: IntegrationError) -> Failure {
    match error {
        IntegrationError::NotFound(_) => Failure::answer(
            Message::new("not-found", "No such connection", StatusCode::NOT_FOUND)
                .link("/integrations", "Back to Integrations"),
        ),
        other => Failure::internal(other),
    }
}
