//! The library pages: what the organization's integrations imported — tool libraries with each
//! tool's geometry and presets, CAM templates with their setup and operations, NC programs
//! (which can be linked to a machine) — each with the connection and version it came from.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chatter_model::library::{
    ArtifactKind, CamTemplate, LengthUnit, Operation, Preset, Tool, ToolLibrary,
};
use chatter_model::{Connection, LibraryEntry, MachineId};
use serde::Deserialize;

use super::cookies;
use super::dashboard::org_name;
use super::frame::{Done, Frame, Section};
use super::page::{Failure, Message, When, render};
use crate::api::integrations::link;
use crate::app::AppState;
use crate::auth::{Caller, Permission, Tenant};

/// Lines of a program shown on its page; the API has the whole text.
const PROGRAM_PREVIEW_LINES: usize = 400;

#[derive(Template)]
#[template(path = "library.html")]
struct LibraryPage {
    frame: Frame,
    org_name: String,
    all_selected: bool,
    kinds: Vec<KindChoice>,
    entries: Vec<EntryRow>,
}

struct KindChoice {
    value: &'static str,
    label: &'static str,
    count: usize,
    selected: bool,
}

struct EntryRow {
    id: String,
    name: String,
    kind: &'static str,
    location: String,
    version: String,
    source: String,
    imported: When,
    machine: Option<String>,
}

fn kind_label(kind: ArtifactKind) -> &'static str {
    match kind {
        ArtifactKind::ToolLibrary => "Tool library",
        ArtifactKind::CamTemplate => "CAM template",
        ArtifactKind::NcProgram => "NC program",
    }
}

/// Who an entry came from: the connection's account and provider.
fn source_of(entry: &LibraryEntry, connections: &[Connection]) -> String {
    match connections.iter().find(|c| c.id == entry.connection) {
        Some(connection) => {
            let account = connection
                .account
                .as_ref()
                .map_or("an account", |a| a.name.as_str());
            format!("{account} ({})", connection.provider)
        }
        None => format!("connection {}", entry.connection),
    }
}

#[derive(Deserialize)]
pub(crate) struct LibraryQuery {
    #[serde(default)]
    kind: Option<String>,
}

/// `GET /library`
pub(crate) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Query(query): Query<LibraryQuery>,
) -> Result<Response, Failure> {
    let kind = query.kind.as_deref().and_then(ArtifactKind::parse);
    let frame = Frame::signed_in(&app, &caller, "Library", Section::Library).await?;
    let store = tenant.store();
    let mut entries = store.library_entries().await?;
    let connections = store.connections().await?;
    entries.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
    let kinds = ArtifactKind::ALL
        .into_iter()
        .map(|k| KindChoice {
            value: k.as_str(),
            label: kind_label(k),
            count: entries.iter().filter(|e| e.kind == k).count(),
            selected: kind == Some(k),
        })
        .collect();
    let page = LibraryPage {
        frame,
        org_name: org_name(&tenant).await?,
        all_selected: kind.is_none(),
        kinds,
        entries: entries
            .iter()
            .filter(|e| kind.is_none_or(|k| e.kind == k))
            .map(|e| EntryRow {
                id: e.id.clone(),
                name: e.name.clone(),
                kind: kind_label(e.kind),
                location: e.location.clone(),
                version: e.version.clone(),
                source: source_of(e, &connections),
                imported: When::at(e.imported_at_ms),
                machine: e.machine.as_ref().map(ToString::to_string),
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "library_entry.html")]
struct EntryPage {
    frame: Frame,
    id: String,
    name: String,
    kind: &'static str,
    location: String,
    version: String,
    source: String,
    modified: When,
    imported: When,
    tools: Vec<ToolRow>,
    setup: Option<SetupView>,
    operations: Vec<OperationRow>,
    program: Option<ProgramView>,
}

struct ToolRow {
    number: String,
    kind: String,
    description: String,
    diameter: String,
    flutes: String,
    lengths: String,
    product: String,
    presets: Vec<PresetRow>,
}

struct PresetRow {
    name: String,
    rpm: String,
    cutting_feed: String,
    plunge_feed: String,
}

struct SetupView {
    stock: Option<String>,
    wcs: Option<String>,
}

struct OperationRow {
    name: String,
    strategy: String,
    tool: String,
    rpm: String,
    cutting_feed: String,
    plunge_feed: String,
    coolant: String,
}

struct ProgramView {
    preview: String,
    lines: usize,
    shown: usize,
    machine: Option<String>,
    machines: Vec<(String, String)>,
    can_link: bool,
}

/// A measure as shown: at most four decimals, no trailing zeros.
fn number(value: f64) -> String {
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.to_owned()
    }
}

fn measure(value: Option<f64>, unit: &str) -> String {
    value.map_or_else(|| "—".into(), |v| format!("{} {unit}", number(v)))
}

fn feed_unit(unit: LengthUnit) -> &'static str {
    match unit {
        LengthUnit::Millimeters => "mm/min",
        LengthUnit::Inches => "in/min",
    }
}

fn tool_row(tool: &Tool) -> ToolRow {
    let unit = tool.unit.symbol();
    let g = &tool.geometry;
    ToolRow {
        number: tool.number.map_or_else(|| "—".into(), |n| format!("T{n}")),
        kind: tool.kind.clone(),
        description: tool.description.clone(),
        diameter: measure(g.diameter, unit),
        flutes: g.flutes.map_or_else(|| "—".into(), |f| f.to_string()),
        lengths: format!(
            "cut {} · overall {}",
            measure(g.flute_length, unit),
            measure(g.overall_length, unit)
        ),
        product: [tool.vendor.as_deref(), tool.product_id.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" "),
        presets: tool
            .presets
            .iter()
            .map(|p| preset_row(p, tool.unit))
            .collect(),
    }
}

fn preset_row(preset: &Preset, unit: LengthUnit) -> PresetRow {
    PresetRow {
        name: preset.name.clone(),
        rpm: preset
            .spindle_rpm
            .map_or_else(|| "—".into(), |r| format!("{} rpm", number(r))),
        cutting_feed: measure(preset.cutting_feed, feed_unit(unit)),
        plunge_feed: measure(preset.plunge_feed, feed_unit(unit)),
    }
}

fn operation_row(operation: &Operation) -> OperationRow {
    OperationRow {
        name: operation.name.clone(),
        strategy: operation.strategy.clone(),
        tool: operation.tool.as_ref().map_or_else(
            || "—".into(),
            |tool| {
                format!(
                    "{} ({}, ⌀ {})",
                    tool.description,
                    tool.kind,
                    measure(tool.geometry.diameter, tool.unit.symbol())
                )
            },
        ),
        rpm: operation
            .spindle_rpm
            .map_or_else(|| "—".into(), |r| format!("{} rpm", number(r))),
        cutting_feed: measure(operation.cutting_feed, feed_unit(operation.unit)),
        plunge_feed: measure(operation.plunge_feed, feed_unit(operation.unit)),
        coolant: operation.coolant.clone().unwrap_or_else(|| "—".into()),
    }
}

fn setup_view(template: &CamTemplate) -> Option<SetupView> {
    let setup = template.setup.as_ref()?;
    Some(SetupView {
        stock: setup.stock.as_ref().map(|stock| {
            let unit = stock.unit.symbol();
            let axis = |i: usize, name: &str| {
                format!(
                    "{name} {} to {}",
                    number(stock.low[i]),
                    number(stock.high[i])
                )
            };
            format!(
                "{}, {}, {} {unit}",
                axis(0, "X"),
                axis(1, "Y"),
                axis(2, "Z")
            )
        }),
        wcs: setup.wcs.as_ref().map(|wcs| {
            [
                wcs.work_offset.map(|o| format!("work offset {o}")),
                wcs.origin.as_ref().map(|o| format!("origin: {o}")),
                wcs.box_point
                    .as_ref()
                    .map(|p| format!("stock box point: {p}")),
                wcs.orientation
                    .as_ref()
                    .map(|o| format!("orientation: {o}")),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ")
        }),
    })
}

/// `GET /library/{id}`
pub(crate) async fn entry(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Path(id): Path<String>,
    Query(done): Query<Done>,
) -> Result<Response, Failure> {
    let store = tenant.store();
    let Some(entry) = store.library_entry(&id).await? else {
        return Err(not_found());
    };
    let connections = store.connections().await?;
    let frame = Frame::signed_in(&app, &caller, &entry.name, Section::Library)
        .await?
        .done(&done);
    let mut page = EntryPage {
        frame,
        id: entry.id.clone(),
        name: entry.name.clone(),
        kind: kind_label(entry.kind),
        location: entry.location.clone(),
        version: entry.version.clone(),
        source: source_of(&entry, &connections),
        modified: When::at(entry.modified_at_ms),
        imported: When::at(entry.imported_at_ms),
        tools: Vec::new(),
        setup: None,
        operations: Vec::new(),
        program: None,
    };
    match entry.kind {
        ArtifactKind::ToolLibrary => {
            let library: ToolLibrary =
                serde_json::from_str(&entry.content).map_err(Failure::internal)?;
            page.tools = library.tools.iter().map(tool_row).collect();
        }
        ArtifactKind::CamTemplate => {
            let template: CamTemplate =
                serde_json::from_str(&entry.content).map_err(Failure::internal)?;
            page.setup = setup_view(&template);
            page.operations = template.operations.iter().map(operation_row).collect();
        }
        ArtifactKind::NcProgram => {
            let lines = entry.content.lines().count();
            let mut machines: Vec<(String, String)> = store
                .machines()
                .await?
                .into_iter()
                .map(|m| (m.id.to_string(), m.name))
                .collect();
            machines.sort();
            page.program = Some(ProgramView {
                preview: entry
                    .content
                    .lines()
                    .take(PROGRAM_PREVIEW_LINES)
                    .collect::<Vec<_>>()
                    .join("\n"),
                shown: lines.min(PROGRAM_PREVIEW_LINES),
                lines,
                machine: entry.machine.as_ref().map(ToString::to_string),
                machines,
                can_link: tenant.can(Permission::ManageIntegrations),
            });
        }
    }
    Ok(render(StatusCode::OK, &page))
}

fn not_found() -> Failure {
    Failure::answer(
        Message::new("not-found", "No such library entry", StatusCode::NOT_FOUND)
            .link("/library", "Back to the library"),
    )
}

#[derive(Deserialize)]
pub(crate) struct LinkForm {
    #[serde(default)]
    machine: String,
}

/// `POST /library/{id}/machine`: which machine an NC program is for (empty: none).
pub(crate) async fn link_machine(
    tenant: Tenant,
    Path(id): Path<String>,
    Form(form): Form<LinkForm>,
) -> Result<Response, Failure> {
    if tenant.store().library_entry(&id).await?.is_none() {
        return Err(not_found());
    }
    let machine = match form.machine.trim() {
        "" => None,
        text => Some(MachineId::new(text.to_owned()).map_err(|_| {
            Failure::answer(Message::new(
                "bad-machine",
                "No such machine",
                StatusCode::UNPROCESSABLE_ENTITY,
            ))
        })?),
    };
    match link(&tenant, &id, machine).await {
        Ok(_) => Ok(cookies::done(&format!("/library/{id}"), "program_linked")),
        Err(error) => Err(Failure::answer(
            Message::new(
                "link-failed",
                "The program was not linked",
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .text(&error.to_string())
            .link(&format!("/library/{id}"), "Back to the program"),
        )),
    }
}
