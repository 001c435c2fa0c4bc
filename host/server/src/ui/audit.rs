//! The organization's audit log, newest first, a hundred records a page.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chatter_model::UserId;
use serde::Deserialize;

use super::frame::{Frame, Section};
use super::page::{Failure, When, render};
use crate::app::AppState;
use crate::auth::{Caller, Tenant};

/// Records on one page.
const PAGE: usize = 100;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    frame: Frame,
    records: Vec<AuditRow>,
    /// The `before` of the next (older) page, if there may be one.
    older: Option<u64>,
    /// Whether this is not the newest page.
    paged: bool,
}

/// A record in the table.
struct AuditRow {
    seq: u64,
    at: When,
    action: String,
    actor: String,
    subject: String,
    ip: String,
    details: String,
}

/// Where the page starts.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuditQuery {
    #[serde(default)]
    before: Option<u64>,
}

/// `GET /audit?before=seq`.
pub(crate) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Query(query): Query<AuditQuery>,
) -> Result<Response, Failure> {
    let before = query.before.unwrap_or(u64::MAX);
    let records = tenant.store().audit_records_back(before, PAGE).await?;
    // People are named while they are members; others (former members, deleted accounts)
    // by their id, which is all the log keeps.
    let mut names: HashMap<UserId, String> = HashMap::new();
    for membership in tenant.store().members().await? {
        if let Some(user) = app.data.accounts().user(&membership.user).await? {
            names.insert(user.id, user.name);
        }
    }
    let name = |user: &Option<UserId>| match user {
        Some(user) => names.get(user).cloned().unwrap_or_else(|| user.to_string()),
        None => "—".to_owned(),
    };
    let older = (records.len() == PAGE)
        .then(|| records.last().map(|record| record.seq))
        .flatten();
    let rows = records
        .into_iter()
        .map(|record| {
            let entry = record.entry;
            AuditRow {
                seq: record.seq,
                at: When::at(entry.at_ms),
                actor: name(&entry.actor),
                subject: name(&entry.subject),
                ip: entry.ip.unwrap_or_else(|| "—".to_owned()),
                details: entry
                    .details
                    .iter()
                    .map(|(key, value)| format!("{key}: {value}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                action: entry.action,
            }
        })
        .collect();
    let page = AuditPage {
        frame: Frame::signed_in(&app, &caller, "Audit log", Section::Audit).await?,
        records: rows,
        older,
        paged: query.before.is_some(),
    };
    Ok(render(StatusCode::OK, &page))
}
