//! Setting machines up: adding one, editing it, disabling and enabling its driver, deleting it
//! with its data, and testing a setup's connection before saving it.
//!
//! The form is drawn from the installed drivers' manifests — each driver's description, the
//! endpoints it reads and its settings with their type, description and default — and every
//! refusal is put beside its field, with the summary above the form. The operations are
//! [`crate::setup`]'s, as the API's are, so both check and record the same things.

use std::collections::BTreeMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chatter_model::{Feed, Machine, Value};
use chatter_runtime::Manifest;
use chatter_runtime::manifest::ConfigType;
use serde::Deserialize;

use super::cookies;
use super::frame::{Frame, Section};
use super::page::{Failure, Message, When, render};
use crate::accounts::RequestContext;
use crate::app::AppState;
use crate::auth::{Caller, Tenant};
use crate::fleet::{PROBE_TIMEOUT, ProbeReport};
use crate::setup::{
    self, DEFAULT_POLL_INTERVAL_MS, EndpointInput, MachineError, MachineInput, SetupError,
};

impl From<MachineError> for Failure {
    fn from(error: MachineError) -> Self {
        match error {
            MachineError::NotFound(_) => Failure::answer(
                Message::new(
                    "not-found",
                    "There is no such machine",
                    StatusCode::NOT_FOUND,
                )
                .text("This organization has no machine with that id. It may have been deleted.")
                .link("/", "Back to the dashboard"),
            ),
            MachineError::Invalid(errors) => {
                let text = errors
                    .iter()
                    .map(|error| sentence(&error.message))
                    .collect::<Vec<_>>()
                    .join(" ");
                Failure::answer(
                    Message::new(
                        "refused",
                        "That did not work",
                        StatusCode::UNPROCESSABLE_ENTITY,
                    )
                    .text(&text)
                    .link("/", "Back to the dashboard"),
                )
            }
            MachineError::Internal(error) => Failure::internal(format!("{error:#}")),
        }
    }
}

/// A form input with its label, hint and error, as the template draws it.
struct Input {
    /// The element's id.
    id: String,
    /// The form field's name.
    name: String,
    label: String,
    value: String,
    /// Said under the label; empty for none.
    hint: String,
    placeholder: String,
    error: Option<String>,
    required: bool,
    kind: InputKind,
    /// The keyboard phones show: `text` or `numeric`/`decimal`.
    inputmode: &'static str,
    /// The `list` of suggestions; empty for none.
    list: &'static str,
}

/// How an input is drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InputKind {
    Text,
    Textarea,
    /// Yes, no, or the default.
    Boolean,
}

impl Input {
    fn new(id: impl Into<String>, name: impl Into<String>, label: impl Into<String>) -> Self {
        Input {
            id: id.into(),
            name: name.into(),
            label: label.into(),
            value: String::new(),
            hint: String::new(),
            placeholder: String::new(),
            error: None,
            required: false,
            kind: InputKind::Text,
            inputmode: "text",
            list: "",
        }
    }

    fn value(mut self, value: impl Into<String>) -> Self {
        self.value = value.into();
        self
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = hint.into();
        self
    }

    fn numeric(mut self) -> Self {
        self.inputmode = "numeric";
        self
    }

    fn required(mut self, required: bool) -> Self {
        self.required = required;
        self
    }

    /// Takes the error meant for this input, if any.
    fn errors(mut self, errors: &Placed) -> Self {
        self.error = errors.get(&self.id).cloned();
        self
    }

    /// What `aria-describedby` names: the hint and the error.
    fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if !self.hint.is_empty() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }

    fn is_text(&self) -> bool {
        self.kind == InputKind::Text
    }

    fn is_textarea(&self) -> bool {
        self.kind == InputKind::Textarea
    }

    /// Whether the value is `value` (for the options of a yes/no setting).
    fn is(&self, value: &str) -> bool {
        self.value == value
    }
}

/// Errors by the id of the input they are shown beside.
type Placed = BTreeMap<String, String>;

#[derive(Template)]
#[template(path = "machine_form.html")]
struct FormPage {
    frame: Frame,
    heading: String,
    /// The machine being edited; none when adding one.
    editing: Option<Editing>,
    /// Where the form is sent: `/machines`, or `/machines/{id}`.
    action: String,
    /// This page's address, where choosing a driver goes.
    path: String,
    name: Input,
    /// Only when adding: an existing machine keeps its id.
    id: Option<Input>,
    group: Input,
    goal: Input,
    poll: Input,
    /// The organization's groups, suggested for `group`.
    groups: Vec<String>,
    drivers: Vec<DriverChoice>,
    /// The chosen driver's id, as the form sends it.
    driver: String,
    driver_error: Option<String>,
    /// What the endpoints section says about the chosen driver.
    endpoints_help: String,
    /// The name the driver reads its first endpoint by, for the script.
    default_endpoint: String,
    endpoints: Vec<EndpointRow>,
    settings: Vec<Input>,
    report: Option<ReportView>,
    /// The save button's text.
    submit: &'static str,
}

/// The machine an edit page is about.
struct Editing {
    id: String,
    name: String,
    enabled: bool,
    /// Whether an edge connector feeds it (no driver runs here).
    edge: bool,
}

/// An installed driver, as the form offers it.
struct DriverChoice {
    id: String,
    version: String,
    description: String,
    checked: bool,
}

/// An endpoint row.
struct EndpointRow {
    name: Input,
    host: Input,
    port: Input,
}

/// A connection test's report, as shown.
struct ReportView {
    ok: bool,
    heading: String,
    text: String,
    items: Vec<ItemRow>,
    observations: Vec<ObservationRow>,
    /// Observations the first poll returned beyond those shown.
    more: usize,
}

struct ItemRow {
    id: String,
    category: &'static str,
    kind: String,
    units: String,
}

struct ObservationRow {
    item: String,
    value: String,
    at: When,
}

/// What the setup form holds: sent by the browser, or a machine's setup to edit.
#[derive(Debug, Default, Clone)]
struct Held {
    name: String,
    id: String,
    group: String,
    goal: String,
    driver: String,
    poll: String,
    endpoints: Vec<HeldEndpoint>,
    config: BTreeMap<String, String>,
    /// The machine the form edits, when it does (sent back by a connection test).
    editing: Option<String>,
}

#[derive(Debug, Default, Clone)]
struct HeldEndpoint {
    name: String,
    host: String,
    port: String,
}

impl Held {
    /// What a new machine's form starts with.
    fn blank(driver: String) -> Self {
        Held {
            driver,
            poll: DEFAULT_POLL_INTERVAL_MS.to_string(),
            ..Held::default()
        }
    }

    /// The setup of `machine`.
    fn of(machine: &Machine) -> Self {
        Held {
            name: machine.name.clone(),
            id: machine.id.to_string(),
            group: machine.group.clone().unwrap_or_default(),
            goal: machine
                .daily_part_goal
                .map(|goal| goal.to_string())
                .unwrap_or_default(),
            driver: machine.driver.to_string(),
            poll: machine.poll_interval_ms.to_string(),
            endpoints: machine
                .endpoints
                .iter()
                .map(|endpoint| HeldEndpoint {
                    name: endpoint.name.clone(),
                    host: endpoint.host.clone(),
                    port: endpoint.port.to_string(),
                })
                .collect(),
            config: machine.config.clone(),
            editing: Some(machine.id.to_string()),
        }
    }

    /// Reads the form's fields. Endpoint rows without host and port are left out, so the
    /// rows kept are numbered as the setup's endpoints are.
    fn read(fields: Vec<(String, String)>) -> Self {
        let mut held = Held::default();
        let mut rows: BTreeMap<usize, HeldEndpoint> = BTreeMap::new();
        for (name, value) in fields {
            if let Some(key) = name.strip_prefix("config.") {
                held.config.insert(key.to_owned(), value);
                continue;
            }
            if let Some((index, part)) = endpoint_field(&name) {
                let row = rows.entry(index).or_default();
                match part {
                    "name" => row.name = value,
                    "host" => row.host = value,
                    _ => row.port = value,
                }
                continue;
            }
            match name.as_str() {
                "name" => held.name = value,
                "id" => held.id = value,
                "group" => held.group = value,
                "daily_part_goal" => held.goal = value,
                "driver" => held.driver = value,
                "poll_interval_ms" => held.poll = value,
                "editing" => held.editing = Some(value).filter(|id| !id.is_empty()),
                _ => {}
            }
        }
        held.endpoints = rows
            .into_values()
            .filter(|row| !row.host.trim().is_empty() || !row.port.trim().is_empty())
            .collect();
        held
    }

    /// The setup the form describes, for [`crate::setup`]; text that should be a number and is
    /// not is refused here, by the field's name. An edited machine keeps what the form does not
    /// show: whether it runs, how it is fed and its signal mapping.
    fn input(&self, existing: Option<&Machine>) -> MachineInput {
        let mut refused = Vec::new();
        let daily_part_goal = whole_number(
            &mut refused,
            "daily_part_goal",
            &self.goal,
            "a whole number of parts",
        );
        let poll_interval_ms = whole_number(
            &mut refused,
            "poll_interval_ms",
            &self.poll,
            "a whole number of milliseconds",
        )
        .map(|ms| u32::try_from(ms).unwrap_or(u32::MAX));
        let mut endpoints = Vec::new();
        for (index, row) in self.endpoints.iter().enumerate() {
            let field = format!("endpoints[{index}].port");
            if row.port.trim().is_empty() {
                refused.push(SetupError::invalid(&field, "enter the TCP port (1–65535)"));
            }
            let port =
                whole_number(&mut refused, &field, &row.port, "a TCP port (1–65535)").unwrap_or(0);
            endpoints.push(EndpointInput {
                name: row.name.clone(),
                host: row.host.clone(),
                port,
            });
        }
        let config = self
            .config
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .map(|(key, value)| {
                let value = serde_json::Value::String(value.trim().to_owned());
                (key.clone(), value)
            })
            .collect();
        MachineInput {
            id: Some(self.id.trim().to_owned()),
            name: Some(self.name.clone()),
            driver: self.driver.trim().to_owned(),
            endpoints,
            config,
            poll_interval_ms,
            enabled: Some(existing.is_none_or(|machine| machine.enabled)),
            feed: existing.map(|machine| machine.feed),
            signals: existing.map(|machine| machine.signals.clone()),
            group: Some(self.group.clone()),
            daily_part_goal,
            refused,
        }
    }
}

/// The whole number a form's `field` holds: none when blank or when it is not one (then
/// refused, saying it is not `what`).
fn whole_number(refused: &mut Vec<SetupError>, field: &str, text: &str, what: &str) -> Option<u64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<u64>() {
        Ok(number) => Some(number),
        Err(_) => {
            refused.push(SetupError::invalid(
                field,
                format!("`{text}` is not {what}"),
            ));
            None
        }
    }
}

/// `endpoints[3].host` → `(3, "host")`.
fn endpoint_field(name: &str) -> Option<(usize, &str)> {
    let rest = name.strip_prefix("endpoints[")?;
    let (index, part) = rest.split_once("].")?;
    let index = index.parse().ok().filter(|index| *index < MAX_ENDPOINTS)?;
    matches!(part, "name" | "host" | "port").then_some((index, part))
}

/// Most endpoint rows a form may send.
const MAX_ENDPOINTS: usize = 16;

/// `?driver=`: the driver whose settings the form shows.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct DriverQuery {
    #[serde(default)]
    driver: Option<String>,
}

/// `GET /machines/new`.
pub(crate) async fn new_page(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Query(query): Query<DriverQuery>,
) -> Result<Response, Failure> {
    let drivers = setup::drivers(&app).await?;
    let driver = match query.driver {
        Some(driver) => driver,
        // With one driver there is nothing to choose.
        None if drivers.len() == 1 => drivers[0].id.to_string(),
        None => String::new(),
    };
    let shown = Shown {
        held: Held::blank(driver),
        ..Shown::default()
    };
    page(&app, &caller, &tenant, None, shown).await
}

/// `GET /machines/{id}/edit`.
pub(crate) async fn edit_page(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Path(id): Path<String>,
    Query(query): Query<DriverQuery>,
) -> Result<Response, Failure> {
    let machine = setup::existing(&tenant, &id).await?;
    let mut held = Held::of(&machine);
    if let Some(driver) = query.driver
        && driver != held.driver
    {
        // Another driver takes other settings.
        held.driver = driver;
        held.config.clear();
    }
    let shown = Shown {
        held,
        ..Shown::default()
    };
    page(&app, &caller, &tenant, Some(&machine), shown).await
}

/// `POST /machines`: adds the machine, or shows the form again with what is wrong.
pub(crate) async fn create(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    context: RequestContext,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let held = Held::read(fields);
    match setup::create(&app, &context, &tenant, held.input(None)).await {
        Ok(machine) => Ok(cookies::done(
            &format!("/machines/{}", machine.id),
            "machine_added",
        )),
        Err(MachineError::Invalid(errors)) => {
            let shown = Shown::refused(held, errors);
            page(&app, &caller, &tenant, None, shown).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /machines/{id}`: saves the machine's new setup and restarts its driver.
pub(crate) async fn save(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let machine = setup::existing(&tenant, &id).await?;
    let mut held = Held::read(fields);
    // The id is the path's: it cannot be changed.
    held.id = machine.id.to_string();
    let input = held.input(Some(&machine));
    match setup::replace(&app, &context, &tenant, &id, input).await {
        Ok(saved) => Ok(cookies::done(
            &format!("/machines/{}", saved.id),
            "machine_saved",
        )),
        Err(MachineError::Invalid(errors)) => {
            let shown = Shown::refused(held, errors);
            page(&app, &caller, &tenant, Some(&machine), shown).await
        }
        Err(other) => Err(other.into()),
    }
}

/// `POST /machines/test`: tries the form's setup without saving it and shows the form again
/// with the report.
pub(crate) async fn test(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<Response, Failure> {
    let mut held = Held::read(fields);
    let existing = match &held.editing {
        Some(id) => Some(setup::existing(&tenant, id).await?),
        None => None,
    };
    if let Some(machine) = &existing {
        held.id = machine.id.to_string();
    }
    let shown = match setup::probe(&app, &tenant, held.input(existing.as_ref())).await {
        Ok(report) => Shown {
            held,
            report: Some(report),
            ..Shown::default()
        },
        Err(MachineError::Invalid(errors)) => Shown::refused(held, errors),
        Err(other) => return Err(other.into()),
    };
    page(&app, &caller, &tenant, existing.as_ref(), shown).await
}

/// `POST /machines/{id}/disable`.
pub(crate) async fn disable(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let machine = setup::set_enabled(&app, &context, &tenant, &id, false).await?;
    Ok(cookies::done(
        &format!("/machines/{}", machine.id),
        "machine_disabled",
    ))
}

/// `POST /machines/{id}/enable`.
pub(crate) async fn enable(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let machine = setup::set_enabled(&app, &context, &tenant, &id, true).await?;
    Ok(cookies::done(
        &format!("/machines/{}", machine.id),
        "machine_enabled",
    ))
}

#[derive(Template)]
#[template(path = "machine_delete.html")]
struct DeletePage {
    frame: Frame,
    id: String,
    name: String,
    enabled: bool,
}

/// `GET /machines/{id}/delete`: what deleting removes, and the way to keep it.
pub(crate) async fn delete_page(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    let machine = setup::existing(&tenant, &id).await?;
    let title = format!("Delete {}", machine.name);
    let page = DeletePage {
        frame: Frame::signed_in(&app, &caller, &title, Section::Dashboard).await?,
        id: machine.id.to_string(),
        name: machine.name,
        enabled: machine.enabled,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `POST /machines/{id}/delete`.
pub(crate) async fn delete(
    State(app): State<AppState>,
    tenant: Tenant,
    context: RequestContext,
    Path(id): Path<String>,
) -> Result<Response, Failure> {
    setup::remove(&app, &context, &tenant, &id).await?;
    Ok(cookies::done("/", "machine_deleted"))
}

/// What the form page shows besides the form's values.
#[derive(Default)]
struct Shown {
    held: Held,
    errors: Vec<SetupError>,
    report: Option<ProbeReport>,
}

impl Shown {
    fn refused(held: Held, errors: Vec<SetupError>) -> Self {
        Shown {
            held,
            errors,
            report: None,
        }
    }
}

/// Draws the setup form of a new machine (`editing` none) or of `editing`.
async fn page(
    app: &AppState,
    caller: &Caller,
    tenant: &Tenant,
    editing: Option<&Machine>,
    shown: Shown,
) -> Result<Response, Failure> {
    let Shown {
        held,
        errors,
        report,
    } = shown;
    let drivers = setup::drivers(app).await?;
    let manifest = drivers
        .iter()
        .find(|manifest| manifest.id.as_str() == held.driver.trim());
    let expected: Vec<String> = manifest
        .map(|manifest| {
            setup::endpoint_settings(manifest)
                .into_iter()
                .map(|(key, default)| {
                    let set = held.config.get(key).filter(|name| !name.trim().is_empty());
                    set.map_or(default, |name| name.trim().to_owned())
                })
                .filter(|name| !name.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let network = manifest.is_some_and(|manifest| {
        manifest.requests(chatter_runtime::manifest::Capability::MachineNetwork)
    });
    let rows = held.endpoints.len().max(expected.len()).max(1);

    let status = errors
        .iter()
        .map(SetupError::status)
        .max()
        .unwrap_or(StatusCode::OK);
    let title = match editing {
        Some(machine) => format!("Edit {}", machine.name),
        None => "Add a machine".to_owned(),
    };
    let mut frame = Frame::signed_in(app, caller, &title, Section::Dashboard).await?;
    let mut placed = Placed::new();
    let mut unplaced = Vec::new();
    let mut ranked: Vec<(usize, SetupError)> = errors
        .into_iter()
        .map(|error| (rank(&error.field), error))
        .collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    for (_, error) in ranked {
        match input_of(&error.field, editing.is_some(), rows, manifest) {
            Some(input) => {
                let message = sentence(&error.message);
                frame = frame.with_field_error(input.clone(), message.clone());
                placed.entry(input).or_insert(message);
            }
            None => unplaced.push(sentence(&format!("{}: {}", error.field, error.message))),
        }
    }
    if let Some(failure) = report.as_ref().and_then(|report| report.failure.as_ref())
        && failure.is_connection()
        && network
    {
        // Beside the host of the endpoint the driver reads.
        let row = held
            .endpoints
            .iter()
            .position(|row| expected.first() == Some(&row.name))
            .unwrap_or(0);
        let input = format!("endpoint-{row}-host");
        let message = sentence(&format!("Could not connect: {}", failure.message));
        frame = frame.with_field_error(input.clone(), message.clone());
        placed.entry(input).or_insert(message);
    }
    let report = report.map(report_view);
    if !unplaced.is_empty() {
        frame.error = Some(unplaced.join(" "));
    }

    let driver_error = placed.get("machine-driver").cloned();
    let endpoints = (0..rows)
        .map(|index| {
            let held_row = held
                .endpoints
                .get(index)
                .cloned()
                .unwrap_or_else(|| HeldEndpoint {
                    name: expected.get(index).cloned().unwrap_or_default(),
                    ..HeldEndpoint::default()
                });
            let needed = network && index < expected.len().max(1);
            let field = |part: &str, label: &str| {
                Input::new(
                    format!("endpoint-{index}-{part}"),
                    format!("endpoints[{index}].{part}"),
                    label,
                )
                .required(needed)
            };
            EndpointRow {
                name: field("name", "Name")
                    .value(held_row.name)
                    .hint(if index == 0 {
                        "What the driver calls it"
                    } else {
                        ""
                    })
                    .errors(&placed),
                host: field("host", "Host")
                    .value(held_row.host)
                    .hint(if index == 0 {
                        "IP address or host name"
                    } else {
                        ""
                    })
                    .errors(&placed),
                port: field("port", "Port")
                    .value(held_row.port)
                    .numeric()
                    .hint(if index == 0 { "1–65535" } else { "" })
                    .errors(&placed),
            }
        })
        .collect();
    let endpoints_help = match (manifest, expected.as_slice()) {
        (None, _) => "Choose a driver first: it says which endpoints it reads.".to_owned(),
        (Some(_), _) if !network => {
            "This driver connects to nothing: no endpoint is needed.".to_owned()
        }
        (Some(_), []) => "Where the driver reaches the machine on your network.".to_owned(),
        (Some(_), names) => format!(
            "The driver connects to the endpoint named {}. Give the machine's address on your network.",
            names
                .iter()
                .map(|name| format!("“{name}”"))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    };
    let settings = manifest
        .map(|manifest| settings_of(manifest, &held.config, &placed))
        .unwrap_or_default();
    let groups = groups_of(tenant).await?;

    let id = editing.is_none().then(|| {
        Input::new("machine-id", "id", "Id")
            .value(held.id.clone())
            .hint("Used in addresses and the API: lower-case letters, digits, “-” and “_”. It cannot be changed later.")
            .required(true)
            .errors(&placed)
    });
    let page = FormPage {
        heading: title,
        editing: editing.map(|machine| Editing {
            id: machine.id.to_string(),
            name: machine.name.clone(),
            enabled: machine.enabled,
            edge: machine.feed == Feed::Edge,
        }),
        action: editing.map_or_else(
            || "/machines".to_owned(),
            |machine| format!("/machines/{}", machine.id),
        ),
        path: editing.map_or_else(
            || "/machines/new".to_owned(),
            |machine| format!("/machines/{}/edit", machine.id),
        ),
        name: Input::new("machine-name", "name", "Name")
            .value(held.name.clone())
            .hint("As people in the shop call it, e.g. “Okuma lathe 2”.")
            .required(true)
            .errors(&placed),
        id,
        group: Input {
            list: "machine-groups",
            ..Input::new("machine-group", "group", "Group")
                .value(held.group.clone())
                .hint("The cell or department it stands in; dashboards filter by it.")
                .errors(&placed)
        },
        goal: Input::new("machine-goal", "daily_part_goal", "Daily part goal")
            .value(held.goal.clone())
            .numeric()
            .hint("Parts it should make a day; dashboards show today's count against it.")
            .errors(&placed),
        poll: Input::new(
            "machine-poll",
            "poll_interval_ms",
            "Poll interval (milliseconds)",
        )
        .value(held.poll.clone())
        .numeric()
        .hint(format!(
            "How often the driver reads the machine: {} to {}. Default {DEFAULT_POLL_INTERVAL_MS}.",
            setup::POLL_INTERVAL_MS.start(),
            setup::POLL_INTERVAL_MS.end()
        ))
        .errors(&placed),
        groups,
        drivers: drivers
            .iter()
            .map(|manifest| DriverChoice {
                id: manifest.id.to_string(),
                version: manifest.version.clone(),
                description: manifest.description.clone(),
                checked: manifest.id.as_str() == held.driver.trim(),
            })
            .collect(),
        driver: held.driver.trim().to_owned(),
        driver_error,
        endpoints_help,
        default_endpoint: expected.first().cloned().unwrap_or_default(),
        endpoints,
        settings,
        report,
        submit: if editing.is_some() {
            "Save changes"
        } else {
            "Add machine"
        },
        frame,
    };
    Ok(render(status, &page))
}

/// The driver's settings as inputs: the type decides the input, the description is the hint,
/// the default the placeholder.
fn settings_of(
    manifest: &Manifest,
    config: &BTreeMap<String, String>,
    placed: &Placed,
) -> Vec<Input> {
    manifest
        .config
        .iter()
        .map(|(key, field)| {
            let default = field.default.as_ref().map(|default| match default {
                toml::Value::String(text) => text.clone(),
                other => other.to_string(),
            });
            let mut hint = field.description.trim_end_matches('.').to_owned();
            hint.push('.');
            if let Some(default) = default.as_ref().filter(|default| !default.is_empty()) {
                hint.push_str(&format!(" Default: {default}."));
            }
            let mut input = Input::new(
                format!("config-{key}"),
                format!("config.{key}"),
                label_of(key),
            )
            .value(config.get(key).cloned().unwrap_or_default())
            .hint(hint)
            .required(field.required && field.default.is_none())
            .errors(placed);
            input.placeholder = default.unwrap_or_default();
            match field.kind {
                ConfigType::Integer => input.inputmode = "numeric",
                ConfigType::Number => input.inputmode = "decimal",
                ConfigType::Boolean => input.kind = InputKind::Boolean,
                ConfigType::String if key.ends_with("-xml") => input.kind = InputKind::Textarea,
                ConfigType::String => {}
            }
            input
        })
        .collect()
}

/// A setting's key as a label: `max-batch` → “Max batch”.
fn label_of(key: &str) -> String {
    let words = key.replace(['-', '_'], " ");
    let words = words
        .replace(" ms", " (ms)")
        .replace("xml", "XML")
        .replace(" id", " ID");
    sentence_case(&words)
}

/// The id of the input an error about `field` is shown beside; none when the page has no such
/// input (the error then goes above the form).
fn input_of(
    field: &str,
    editing: bool,
    rows: usize,
    manifest: Option<&Manifest>,
) -> Option<String> {
    let input = match field {
        "name" => "machine-name",
        "id" if !editing => "machine-id",
        "group" => "machine-group",
        "daily_part_goal" => "machine-goal",
        "poll_interval_ms" => "machine-poll",
        "driver" => "machine-driver",
        "endpoints" => "endpoint-0-host",
        _ => {
            if let Some(key) = field.strip_prefix("config.") {
                let shown = manifest.is_some_and(|manifest| manifest.config.contains_key(key));
                return shown.then(|| format!("config-{key}"));
            }
            let (index, part) = endpoint_field(field)?;
            return (index < rows).then(|| format!("endpoint-{index}-{part}"));
        }
    };
    Some(input.to_owned())
}

/// Where a field stands in the form, so the summary lists errors in the form's order.
fn rank(field: &str) -> usize {
    match field {
        "name" => 0,
        "id" => 1,
        "group" => 2,
        "daily_part_goal" => 3,
        "driver" => 4,
        "endpoints" => 5,
        "poll_interval_ms" => 200,
        _ => match endpoint_field(field) {
            Some((index, part)) => {
                10 + index * 3
                    + match part {
                        "name" => 0,
                        "host" => 1,
                        _ => 2,
                    }
            }
            None if field.starts_with("config.") => 300,
            None => 400,
        },
    }
}

/// The organization's groups, for the group field's suggestions.
async fn groups_of(tenant: &Tenant) -> Result<Vec<String>, Failure> {
    let mut groups: Vec<String> = tenant
        .store()
        .machines()
        .await?
        .into_iter()
        .filter_map(|machine| machine.group)
        .collect();
    groups.sort_by_key(|group| group.to_lowercase());
    groups.dedup();
    Ok(groups)
}

fn report_view(report: ProbeReport) -> ReportView {
    let items = report
        .data_items
        .iter()
        .map(|item| ItemRow {
            id: item.id.clone(),
            category: match item.category {
                chatter_model::Category::Sample => "sample",
                chatter_model::Category::Event => "event",
                chatter_model::Category::Condition => "condition",
            },
            kind: item.kind.clone(),
            units: item.units.clone().unwrap_or_default(),
        })
        .collect();
    let observations = report
        .observations
        .iter()
        .map(|observation| ObservationRow {
            item: observation.data_item.clone(),
            value: value_text(&observation.value),
            at: When::at(observation.timestamp / 1_000_000),
        })
        .collect();
    let (heading, text) = match &report.failure {
        None => (
            "The connection works".to_owned(),
            format!(
                "The driver opened the machine, declared {} data items and read {} observations in its first poll. Nothing was saved.",
                report.data_items.len(),
                report.observations_total
            ),
        ),
        Some(failure) => {
            let step = match failure.stage {
                crate::fleet::ProbeStage::Start => "starting the driver",
                crate::fleet::ProbeStage::Open => "opening the machine",
                crate::fleet::ProbeStage::Poll => "reading the machine",
            };
            (
                "The connection test failed".to_owned(),
                format!(
                    "It failed while {step} ({}): {} Nothing was saved. The test waits at most {} seconds.",
                    failure.kind,
                    sentence(&failure.message),
                    PROBE_TIMEOUT.as_secs()
                ),
            )
        }
    };
    ReportView {
        ok: report.ok,
        heading,
        text,
        items,
        more: report
            .observations_total
            .saturating_sub(report.observations.len()),
        observations,
    }
}

/// A value as shown.
fn value_text(value: &Value) -> String {
    match value {
        Value::Sample(number) => number.to_string(),
        Value::Event(text) => text.clone(),
        Value::Condition(condition) => {
            let level = format!("{:?}", condition.level).to_lowercase();
            match &condition.text {
                Some(text) => format!("{level}: {text}"),
                None => level,
            }
        }
        Value::Unavailable => "unavailable".to_owned(),
    }
}

/// A message as a sentence for people: capitalized, quoted with typographic quotes instead of
/// backticks, and ended with a full stop.
fn sentence(message: &str) -> String {
    let mut text = String::with_capacity(message.len() + 2);
    let mut open = true;
    for c in message.trim().chars() {
        if c == '`' {
            text.push(if open { '“' } else { '”' });
            open = !open;
        } else {
            text.push(c);
        }
    }
    let mut text = sentence_case(&text);
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    text
}

fn sentence_case(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_as_sentences() {
        assert_eq!(
            sentence("`fast` is not a number"),
            "“fast” is not a number."
        );
        assert_eq!(sentence("a machine needs an id"), "A machine needs an id.");
    }

    #[test]
    fn settings_are_labelled_from_their_keys() {
        assert_eq!(label_of("max-batch"), "Max batch");
        assert_eq!(label_of("timeout-ms"), "Timeout (ms)");
        assert_eq!(label_of("devices-xml"), "Devices XML");
    }

    #[test]
    fn the_form_numbers_kept_endpoints_as_the_setup_does() {
        let held = Held::read(vec![
            ("endpoints[0].name".into(), "adapter".into()),
            ("endpoints[0].host".into(), String::new()),
            ("endpoints[0].port".into(), String::new()),
            ("endpoints[1].name".into(), "agent".into()),
            ("endpoints[1].host".into(), "10.0.0.5".into()),
            ("endpoints[1].port".into(), "50o0".into()),
            ("config.speed".into(), "fast".into()),
        ]);
        assert_eq!(held.endpoints.len(), 1);
        let input = held.input(None);
        assert_eq!(input.endpoints[0].name, "agent");
        assert_eq!(input.refused.len(), 1);
        assert_eq!(
            input.refused[0].to_string(),
            "endpoints[0].port: `50o0` is not a TCP port (1–65535)"
        );
        assert_eq!(input.config["speed"], "fast");
        assert_eq!(
            input_of("endpoints[0].port", false, 1, None).as_deref(),
            Some("endpoint-0-port")
        );
        assert_eq!(input_of("id", true, 1, None), None);
    }
}
