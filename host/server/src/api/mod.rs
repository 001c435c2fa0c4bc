//! The JSON API under `/api/v1` and `/healthz`. Handlers are thin: they read the caller's
//! organization through its [`Tenant`](crate::auth::Tenant) and the live state, and map them
//! to JSON. Who may call each route is declared here, in [`routes`].

mod account;
mod alerts;
pub(crate) mod data;
mod edge;
mod events;
pub(crate) mod integrations;
mod machines;
mod plugins;
pub(crate) mod reports;
mod shifts;

pub use edge::RateLimiter;

use axum::Json;
use axum::http::Method;
use tower_http::decompression::RequestDecompressionLayer;

use crate::auth::Access::{Device, Org, Public, SignedIn};
use crate::auth::Permission::{
    ManageAlerts, ManageDeviceTokens, ManageIntegrations, ManageMembers, ManageOrganization,
    OperateMachines, ReadAudit, ReadMachines, RunReports,
};
use crate::error::ApiError;
use crate::routes::{Route, route};

/// The API's routes, each with who may call it.
pub(crate) fn routes() -> Vec<Route> {
    use Method as M;
    let mut routes = vec![
        route(M::GET, "/healthz", Public, healthz),
        route(M::GET, "/api/v1/me", SignedIn, account::me),
        route(M::GET, "/api/v1/tokens", SignedIn, account::list_tokens),
        route(
            M::POST,
            "/api/v1/tokens",
            Org(ReadMachines),
            account::create_token,
        ),
        route(
            M::DELETE,
            "/api/v1/tokens/{id}",
            SignedIn,
            account::revoke_token,
        ),
        route(
            M::GET,
            "/api/v1/members",
            Org(ReadMachines),
            account::members,
        ),
        route(
            M::PUT,
            "/api/v1/members/{user}",
            Org(ManageMembers),
            account::change_role,
        ),
        route(
            M::DELETE,
            "/api/v1/members/{user}",
            Org(ManageMembers),
            account::remove_member,
        ),
        route(
            M::GET,
            "/api/v1/invitations",
            Org(ManageMembers),
            account::invitations,
        ),
        route(
            M::POST,
            "/api/v1/invitations",
            Org(ManageMembers),
            account::invite,
        ),
        route(
            M::DELETE,
            "/api/v1/invitations/{id}",
            Org(ManageMembers),
            account::revoke_invitation,
        ),
        route(M::GET, "/api/v1/audit", Org(ReadAudit), account::audit),
        route(
            M::GET,
            "/api/v1/machines",
            Org(ReadMachines),
            machines::list,
        ),
        route(
            M::POST,
            "/api/v1/machines",
            Org(OperateMachines),
            machines::create,
        ),
        route(
            M::POST,
            "/api/v1/machines/test",
            Org(OperateMachines),
            machines::test,
        ),
        route(
            M::GET,
            "/api/v1/machines/{id}",
            Org(ReadMachines),
            machines::get,
        ),
        route(
            M::PUT,
            "/api/v1/machines/{id}",
            Org(OperateMachines),
            machines::replace,
        ),
        route(
            M::DELETE,
            "/api/v1/machines/{id}",
            Org(OperateMachines),
            machines::remove,
        ),
        route(
            M::POST,
            "/api/v1/machines/{id}/start",
            Org(OperateMachines),
            machines::start,
        ),
        route(
            M::POST,
            "/api/v1/machines/{id}/stop",
            Org(OperateMachines),
            machines::stop,
        ),
        route(
            M::GET,
            "/api/v1/machines/{id}/observations",
            Org(ReadMachines),
            machines::observations,
        ),
        route(
            M::GET,
            "/api/v1/machines/{id}/timeline",
            Org(ReadMachines),
            data::timeline,
        ),
        route(
            M::GET,
            "/api/v1/machines/{id}/cycles",
            Org(ReadMachines),
            data::cycles,
        ),
        route(
            M::GET,
            "/api/v1/machines/{id}/parts",
            Org(ReadMachines),
            data::parts,
        ),
        route(
            M::GET,
            "/api/v1/machines/{id}/alarms",
            Org(ReadMachines),
            data::alarms,
        ),
        route(M::GET, "/api/v1/summary", Org(ReadMachines), data::summary),
        route(M::GET, "/api/v1/shifts", Org(ReadMachines), shifts::get),
        route(
            M::PUT,
            "/api/v1/shifts",
            Org(ManageOrganization),
            shifts::replace,
        ),
        route(
            M::GET,
            "/api/v1/device-tokens",
            Org(ManageDeviceTokens),
            edge::list_tokens,
        ),
        route(
            M::POST,
            "/api/v1/device-tokens",
            Org(ManageDeviceTokens),
            edge::create_token,
        ),
        route(
            M::DELETE,
            "/api/v1/device-tokens/{id}",
            Org(ManageDeviceTokens),
            edge::revoke_token,
        ),
        route(M::POST, "/api/v1/ingest", Device, edge::post_batch)
            .layer(RequestDecompressionLayer::new()),
        route(
            M::GET,
            "/api/v1/ingest/machines/{id}",
            Device,
            edge::resume_point,
        ),
        route(M::GET, "/api/v1/plugins", Org(ReadMachines), plugins::list),
        route(M::GET, "/api/v1/events", Org(ReadMachines), events::stream),
        route(
            M::GET,
            "/api/v1/connections",
            Org(ReadMachines),
            integrations::list_connections,
        ),
        route(
            M::POST,
            "/api/v1/connections/{id}/sync",
            Org(ManageIntegrations),
            integrations::sync,
        ),
        route(
            M::DELETE,
            "/api/v1/connections/{id}",
            Org(ManageIntegrations),
            integrations::disconnect,
        ),
        route(
            M::GET,
            "/api/v1/library",
            Org(ReadMachines),
            integrations::list_library,
        ),
        route(
            M::GET,
            "/api/v1/library/{id}",
            Org(ReadMachines),
            integrations::library_entry,
        ),
        route(
            M::PUT,
            "/api/v1/library/{id}/machine",
            Org(ManageIntegrations),
            integrations::link_machine,
        ),
        route(
            M::GET,
            "/api/v1/reports",
            Org(ReadMachines),
            reports::catalog,
        ),
        route(
            M::POST,
            "/api/v1/reports/runs",
            Org(RunReports),
            reports::run,
        ),
        route(
            M::GET,
            "/api/v1/reports/runs",
            Org(ReadMachines),
            reports::list_runs,
        ),
        route(
            M::GET,
            "/api/v1/reports/runs/{id}",
            Org(ReadMachines),
            reports::get_run,
        ),
        route(
            M::GET,
            "/api/v1/reports/runs/{id}/documents/{name}",
            Org(ReadMachines),
            reports::document,
        ),
        route(
            M::GET,
            "/api/v1/reports/schedules",
            Org(ReadMachines),
            reports::list_schedules,
        ),
        route(
            M::POST,
            "/api/v1/reports/schedules",
            Org(RunReports),
            reports::create_schedule,
        ),
        route(
            M::GET,
            "/api/v1/reports/schedules/{id}",
            Org(ReadMachines),
            reports::get_schedule,
        ),
        route(
            M::DELETE,
            "/api/v1/reports/schedules/{id}",
            Org(RunReports),
            reports::delete_schedule,
        ),
        route(
            M::POST,
            "/api/v1/reports/schedules/{id}/run",
            Org(RunReports),
            reports::run_schedule,
        ),
    ];
    routes.extend(alert_routes());
    routes
}

/// The alerts API: reading with the machines, managing rules with [`ManageAlerts`], and each
/// member's own mute with reading.
fn alert_routes() -> Vec<Route> {
    use Method as M;
    vec![
        route(
            M::GET,
            "/api/v1/alerts/rules",
            Org(ReadMachines),
            alerts::list_rules,
        ),
        route(
            M::POST,
            "/api/v1/alerts/rules",
            Org(ManageAlerts),
            alerts::create_rule,
        ),
        route(
            M::GET,
            "/api/v1/alerts/rules/{id}",
            Org(ReadMachines),
            alerts::get_rule,
        ),
        route(
            M::PUT,
            "/api/v1/alerts/rules/{id}",
            Org(ManageAlerts),
            alerts::replace_rule,
        ),
        route(
            M::DELETE,
            "/api/v1/alerts/rules/{id}",
            Org(ManageAlerts),
            alerts::delete_rule,
        ),
        route(
            M::POST,
            "/api/v1/alerts/rules/{id}/mute",
            Org(ReadMachines),
            alerts::mute,
        ),
        route(
            M::DELETE,
            "/api/v1/alerts/rules/{id}/mute",
            Org(ReadMachines),
            alerts::unmute,
        ),
        route(
            M::GET,
            "/api/v1/alerts/events",
            Org(ReadMachines),
            alerts::events,
        ),
    ]
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// What any unknown path gets.
pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("route_not_found", "no such route")
}
