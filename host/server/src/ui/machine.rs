//! One machine's page, `/machines/{id}`: what it did over a range of days of the
//! organization's time zone — its state timeline, time per state and utilization, parts,
//! cycles and alarms — and what it reports now, with its driver's health.
//!
//! The numbers come from the same functions as the API's (`api::data`), so the page shows
//! exactly what `GET /api/v1/machines/{id}/timeline` answers for the same range. The charts
//! are inline SVG drawn here; `assets/machine.js` only adds a tooltip and keyboard reading.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chatter_model::{
    Alarm, ConditionLevel, Cycle, CycleEnd, Feed, Machine, MachineId, MachineStatus,
    StoredObservation, Timestamp, Totals, Value,
};
use chatter_runtime::{DriverHealth, DriverStatus};
use jiff::tz::TimeZone;
use serde::Deserialize;

use super::frame::{Frame, Section};
use super::page::{Failure, Message, render};
use crate::api::data::{self, OrgZone, Stretch, Window};
use crate::app::AppState;
use crate::auth::{Caller, Permission, Tenant};
use crate::live::MachineLive;
use crate::time::{self, SECOND};

/// The timeline's width in SVG user units.
const CHART_WIDTH: f64 = 1000.0;
/// Stretches narrower than this (in user units) are drawn together with their neighbours, so
/// a week of many thousands of short states stays a page of reasonable size. Totals are
/// computed from the stretches themselves, never from what is drawn.
const MIN_SEGMENT: f64 = 0.5;
/// The longest custom range, in days.
const MAX_DAYS: i64 = 31;
/// Cycles drawn in the cycle-time chart: the most recent ones.
const CHART_CYCLES: usize = 40;
/// Alarms listed: the most recent ones.
const LISTED_ALARMS: usize = 50;
/// Drawn segments listed in the timeline's table (a longer list is left to the chart).
const LISTED_SEGMENTS: usize = 200;

const HOUR: i64 = 3_600 * SECOND;
const DAY: i64 = 24 * HOUR;

/// The states in the order the page lists them.
const STATES: [MachineStatus; 6] = [
    MachineStatus::Running,
    MachineStatus::Idle,
    MachineStatus::Paused,
    MachineStatus::Setup,
    MachineStatus::Alarm,
    MachineStatus::Offline,
];

#[derive(Template)]
#[template(path = "machine.html")]
struct MachinePage {
    frame: Frame,
    machine: Head,
    /// Whether the caller may change the machine (its edit and delete links).
    can_operate: bool,
    range: RangeView,
    /// What the machine did over the range; none when the range could not be read.
    report: Option<Report>,
    values: Vec<ValueRow>,
    driver: DriverView,
    /// NC programs of the library linked to this machine: `(entry id, name, version)`.
    programs: Vec<(String, String, String)>,
}

/// The machine at the top of the page.
struct Head {
    id: String,
    name: String,
    group: Option<String>,
    /// As the API names it, for the badge's class.
    status: &'static str,
    status_label: &'static str,
    /// Since when, as shown.
    since: Option<String>,
}

/// The range picker.
struct RangeView {
    /// The machine's page, which the picker's links and form go to.
    path: String,
    /// `today`, `yesterday`, `week`, or `custom`.
    choice: &'static str,
    /// The custom form's dates.
    from: String,
    to: String,
    /// The range as shown, e.g. "Today, Tue 14 May 2024".
    label: String,
    zone: String,
}

impl RangeView {
    /// The `aria-current` of the preset `choice`.
    fn is(&self, choice: &str) -> bool {
        self.choice == choice
    }
}

/// What the machine did over the range.
struct Report {
    /// The range and the end of the time accounted for, in RFC 3339, for scripts and tests.
    from: String,
    to: String,
    end: String,
    timeline: Chart,
    totals: Vec<TotalRow>,
    /// The time accounted for.
    accounted: String,
    accounted_ns: i64,
    /// Whether the range goes on after now (and is accounted for up to now only).
    ongoing: bool,
    /// Running time over the time accounted for, 0–1, exactly as the API gives it.
    utilization: Option<f64>,
    utilization_text: String,
    production: Production,
    alarms: Vec<AlarmRow>,
    /// Alarms raised in the range (the list shows the newest [`LISTED_ALARMS`]).
    alarm_count: usize,
}

/// The timeline chart.
struct Chart {
    segments: Vec<Segment>,
    /// The part of the range still to come, if any: x and width.
    future: Option<(String, String)>,
    ticks: Vec<Tick>,
    /// Where now is, if in the range.
    now_x: Option<String>,
    /// Whether the table of segments is left out (too long).
    long: bool,
}

/// One drawn `<rect>`: a stretch, or neighbouring stretches too narrow to draw apart.
#[derive(Debug)]
struct Segment {
    x: String,
    width: String,
    /// The state drawn (the longest one, for merged stretches).
    state: &'static str,
    /// Whether it is time without data.
    no_data: bool,
    /// Whether it stands for several stretches.
    merged: bool,
    /// What it was, for the tooltip and the table.
    title: String,
    /// Its times and duration, for the table.
    when: String,
    duration: String,
    what: String,
}

/// A tick of the timeline's axis.
#[derive(Debug)]
struct Tick {
    x: String,
    /// Days get a longer tick than hours.
    day: bool,
    label: Option<String>,
    /// Labels shown at every width (others only on wide screens).
    major: bool,
    /// `start`, `middle` or `end`, so labels at the edges stay inside.
    anchor: &'static str,
}

/// A state's total.
struct TotalRow {
    state: &'static str,
    label: &'static str,
    ns: i64,
    duration: String,
    share: String,
}

/// Parts and cycles.
struct Production {
    parts: u64,
    cycles: u64,
    average: Option<Seconds>,
    best: Option<Seconds>,
    bars: Vec<Bar>,
    /// How many cycles the chart shows, and the longest of them.
    shown: usize,
    longest: String,
    /// Where the average line is drawn (y), if there is one.
    average_y: Option<String>,
}

/// A duration in seconds, as the API gives it, and as shown.
struct Seconds {
    exact: f64,
    text: String,
}

/// A bar of the cycle-time chart.
struct Bar {
    x: String,
    y: String,
    width: String,
    height: String,
    ended: &'static str,
    title: String,
}

/// An alarm in the list.
struct AlarmRow {
    start: String,
    start_iso: String,
    /// Its duration, or "active".
    duration: String,
    active: bool,
    level: &'static str,
    code: String,
    text: String,
    data_item: String,
}

/// A data item with its latest value.
struct ValueRow {
    id: String,
    name: Option<String>,
    kind: String,
    value: String,
    units: String,
    observed: String,
    observed_iso: String,
}

/// The driver's health.
struct DriverView {
    /// What runs the machine: a sentence.
    summary: String,
    /// `running`, `retrying`…, or `none`/`stopped`/`edge`.
    state: &'static str,
    health: Option<HealthView>,
}

/// What the supervisor reports.
struct HealthView {
    status: String,
    connections: usize,
    last_data: String,
    last_poll: String,
    last_error: Option<(String, String)>,
    last_fault: Option<(String, String)>,
    restarts: u32,
    polls: u64,
    observations: u64,
    counters: Vec<(String, u64)>,
}

/// `?range=today|yesterday|week` or `?from=YYYY-MM-DD&to=YYYY-MM-DD`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(crate) struct RangeQuery {
    range: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

/// `GET /machines/{id}`.
pub(crate) async fn show(
    State(app): State<AppState>,
    caller: Caller,
    tenant: Tenant,
    Path(id): Path<String>,
    Query(query): Query<RangeQuery>,
) -> Result<Response, Failure> {
    let machine = match MachineId::new(id.as_str()) {
        Ok(machine_id) => tenant.store().machine(&machine_id).await?,
        Err(_) => None,
    };
    let Some(machine) = machine else {
        return Ok(unknown(&id));
    };
    let zone = data::org_zone(&tenant).await?;
    let now = data::now();
    let live = app.live.get(tenant.org(), &machine.id).unwrap_or_default();
    let mut frame = Frame::signed_in(&app, &caller, &machine.name, Section::Dashboard).await?;
    let path = format!("/machines/{}", machine.id);
    let (range, window) = pick(&query, zone, now, path);
    let (report, status) = match window {
        Ok(window) => (
            Some(report(&app, &tenant, &machine.id, &window).await?),
            StatusCode::OK,
        ),
        Err((input, message)) => {
            frame = frame.with_field_error(input, message);
            (None, StatusCode::BAD_REQUEST)
        }
    };
    let zone = time::zone(&range.zone);
    let mut programs: Vec<(String, String, String)> = tenant
        .store()
        .library_entries()
        .await?
        .into_iter()
        .filter(|entry| entry.machine.as_ref() == Some(&machine.id))
        .map(|entry| (entry.id, entry.name, entry.version))
        .collect();
    programs.sort_by(|a, b| a.1.cmp(&b.1));
    let page = MachinePage {
        frame,
        machine: head(&machine, &live, &zone),
        can_operate: Permission::OperateMachines.granted_to(tenant.role()),
        range,
        report,
        values: values(&live, &zone),
        driver: driver(&machine, &live, &zone),
        programs,
    };
    Ok(render(status, &page))
}

/// The page for a machine the organization does not have (whoever else might).
fn unknown(id: &str) -> Response {
    Message::new("machine-not-found", "No such machine", StatusCode::NOT_FOUND)
        .text(&format!(
            "This organization has no machine “{id}”. It may have been removed, or belong to another organization."
        ))
        .link("/", "Back to the machines")
        .into_response()
}

/// The range the query asks for, shown in the picker, or which input is wrong and why.
fn pick(
    query: &RangeQuery,
    zone: OrgZone,
    now: Timestamp,
    path: String,
) -> (RangeView, Result<Window, (&'static str, String)>) {
    let given = |text: &Option<String>| {
        text.as_deref()
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
    };
    let (from, to) = (given(&query.from), given(&query.to));
    let mut view = RangeView {
        path,
        choice: "custom",
        from: from.clone().unwrap_or_default(),
        to: to.clone().unwrap_or_default(),
        label: String::new(),
        zone: zone.name.clone(),
    };
    let window = if from.is_some() || to.is_some() {
        custom(from.as_deref(), to.as_deref(), zone, now)
    } else {
        let (choice, window) = match query.range.as_deref().map_or("", str::trim) {
            "today" | "" => ("today", preset(0, 1, zone, now)),
            "yesterday" => ("yesterday", preset(-1, 0, zone, now)),
            "week" => ("week", week(zone, now)),
            other => (
                "custom",
                Err((
                    "range-from",
                    format!(
                        "There is no range “{other}”: choose Today, Yesterday, This week, or two dates."
                    ),
                )),
            ),
        };
        view.choice = choice;
        window
    };
    if let Ok(window) = &window {
        let day = |at| local(at, &window.zone, "%Y-%m-%d");
        view.from = day(window.from);
        view.to = day(window.to);
        view.label = label(view.choice, window);
    }
    (view, window)
}

/// The day `first` days after today (before it when negative) up to the start of the day
/// `last` days after today.
fn preset(
    first: i64,
    last: i64,
    zone: OrgZone,
    now: Timestamp,
) -> Result<Window, (&'static str, String)> {
    let start = time::start_of_day_after(now, first, &zone.zone);
    let end = time::start_of_day_after(now, last, &zone.zone);
    match (start, end) {
        (Ok(start), Ok(end)) => Window::new(start, end, zone, now),
        (Err(error), _) | (_, Err(error)) => Err(error),
    }
    .map_err(|message| ("range-from", message))
}

/// This week, from Monday.
fn week(zone: OrgZone, now: Timestamp) -> Result<Window, (&'static str, String)> {
    let range = time::start_of_week(now, &zone.zone).and_then(|monday| {
        let next = time::start_of_day_after(monday, 7, &zone.zone)?;
        Window::new(monday, next, zone, now)
    });
    range.map_err(|message| ("range-from", message))
}

/// The custom range: two dates, read as the API reads them (midnight in the organization's
/// time zone; the range ends where the second day begins).
fn custom(
    from: Option<&str>,
    to: Option<&str>,
    zone: OrgZone,
    now: Timestamp,
) -> Result<Window, (&'static str, String)> {
    let date = |input: &'static str, label: &str, text: Option<&str>| match text {
        None => Err((input, format!("Give a date in “{label}”."))),
        Some(text) => match text.parse::<jiff::civil::Date>() {
            Ok(_) => Ok(text.to_owned()),
            Err(_) => Err((
                input,
                format!("“{label}” must be a date like 2024-05-14, not “{text}”."),
            )),
        },
    };
    let from = date("range-from", "From", from)?;
    let to = date("range-to", "Until", to)?;
    let window = Window::resolve(Some(&from), Some(&to), zone, now).map_err(|message| {
        let message = match message.strip_prefix("to: ") {
            Some(_) => "“Until” must be a later day than “From”.".to_owned(),
            None => format!("The range cannot be read: {message}."),
        };
        ("range-to", message)
    })?;
    if window.to - window.from > MAX_DAYS * DAY + HOUR {
        return Err((
            "range-to",
            format!("Choose at most {MAX_DAYS} days; this range has more."),
        ));
    }
    Ok(window)
}

/// The range as the picker shows it.
fn label(choice: &str, window: &Window) -> String {
    let day = |at| local(at, &window.zone, "%a %-d %b %Y");
    let last = day(window.to - 1);
    let first = day(window.from);
    let days = if first == last {
        first
    } else {
        format!("{first} – {last}")
    };
    match choice {
        "today" => format!("Today, {days}"),
        "yesterday" => format!("Yesterday, {days}"),
        "week" => format!("This week, {days}"),
        _ => days,
    }
}

/// Reads what the machine did over `window`: one read of each kind.
async fn report(
    app: &AppState,
    tenant: &Tenant,
    machine: &MachineId,
    window: &Window,
) -> Result<Report, Failure> {
    let timeline = data::machine_timeline(app, tenant, machine, window).await?;
    let current = &timeline.current;
    let cycles = data::machine_cycles(tenant, machine, current, window, data::MAX_LIST).await?;
    let alarms = data::machine_alarms(tenant, machine, current, window, data::MAX_LIST).await?;
    let totals = &timeline.totals;
    let accounted = totals.covered();
    let utilization = totals.utilization();
    Ok(Report {
        from: time::format(window.from),
        to: time::format(window.to),
        end: time::format(window.end()),
        timeline: chart(&timeline.stretches, window),
        totals: total_rows(totals),
        accounted: duration(accounted),
        accounted_ns: accounted,
        ongoing: window.end() < window.to,
        utilization,
        utilization_text: utilization.map_or_else(|| "—".to_owned(), percent),
        production: production(totals, &cycles, window),
        alarm_count: alarms.len(),
        alarms: alarm_rows(alarms, window),
    })
}

fn total_rows(totals: &Totals) -> Vec<TotalRow> {
    let covered = totals.covered();
    STATES
        .iter()
        .map(|&status| {
            let ns = totals.time(status);
            TotalRow {
                state: status.as_str(),
                label: state_label(status),
                ns,
                duration: duration(ns),
                share: if covered > 0 {
                    percent(ns as f64 / covered as f64)
                } else {
                    "—".to_owned()
                },
            }
        })
        .collect()
}

/// The timeline over the whole range, the stretches up to now drawn, the rest marked as
/// still to come.
fn chart(stretches: &[Stretch], window: &Window) -> Chart {
    let span = window.to - window.from;
    let x = |at: Timestamp| (at - window.from) as f64 * CHART_WIDTH / span as f64;
    let end = window.end();
    let segments = segments(stretches, window);
    let future = (end < window.to).then(|| {
        let start = x(end.max(window.from));
        (number(start), number(CHART_WIDTH - start))
    });
    let now_x = (window.from..window.to)
        .contains(&window.now)
        .then(|| number(x(window.now)));
    Chart {
        long: segments.len() > LISTED_SEGMENTS,
        segments,
        future,
        ticks: ticks(window),
        now_x,
    }
}

/// Stretches neighbouring in time, to be drawn as one segment.
#[derive(Default)]
struct Group {
    start: Timestamp,
    end: Timestamp,
    count: usize,
    /// Time per state, and without data.
    time: Totals,
    no_data: i64,
    /// The one stretch, while the group holds only one.
    single: Option<Stretch>,
}

impl Group {
    fn add(&mut self, stretch: &Stretch) {
        if self.count == 0 {
            self.start = stretch.start;
            self.single = Some(*stretch);
        } else {
            self.single = None;
        }
        self.count += 1;
        self.end = stretch.end;
        self.time
            .add_time(stretch.status, stretch.end - stretch.start);
        if stretch.no_data {
            self.no_data += stretch.end - stretch.start;
        }
    }
}

/// The segments to draw: one per stretch at least [`MIN_SEGMENT`] wide; narrower neighbours
/// together, drawn in the state they spent most time in, until they are that wide.
fn segments(stretches: &[Stretch], window: &Window) -> Vec<Segment> {
    let span = (window.to - window.from) as f64;
    let width = |start: Timestamp, end: Timestamp| (end - start) as f64 * CHART_WIDTH / span;
    let mut out = Vec::new();
    let mut group = Group::default();
    for stretch in stretches {
        if width(stretch.start, stretch.end) >= MIN_SEGMENT {
            if group.count > 0 {
                out.push(segment(&std::mem::take(&mut group), window));
            }
            let mut one = Group::default();
            one.add(stretch);
            out.push(segment(&one, window));
            continue;
        }
        group.add(stretch);
        if width(group.start, group.end) >= MIN_SEGMENT {
            out.push(segment(&std::mem::take(&mut group), window));
        }
    }
    if group.count > 0 {
        out.push(segment(&group, window));
    }
    out
}

fn segment(group: &Group, window: &Window) -> Segment {
    let span = (window.to - window.from) as f64;
    let x = (group.start - window.from) as f64 * CHART_WIDTH / span;
    let width = (group.end - group.start) as f64 * CHART_WIDTH / span;
    let format = moment_format(window);
    let when = format!(
        "{}–{}",
        local(group.start, &window.zone, format),
        local(group.end, &window.zone, format)
    );
    let length = duration(group.end - group.start);
    let (state, no_data, what) = match group.single {
        Some(stretch) => {
            let what = if stretch.no_data {
                "Offline (no data)".to_owned()
            } else {
                state_label(stretch.status).to_owned()
            };
            (stretch.status, stretch.no_data, what)
        }
        None => {
            let longest = STATES
                .iter()
                .copied()
                .max_by_key(|&status| group.time.time(status))
                .unwrap_or(MachineStatus::Offline);
            let parts: Vec<String> = STATES
                .iter()
                .filter(|&&status| group.time.time(status) > 0)
                .map(|&status| {
                    format!(
                        "{} {}",
                        state_label(status).to_lowercase(),
                        duration(group.time.time(status))
                    )
                })
                .collect();
            let what = format!("{} short intervals: {}", group.count, parts.join(", "));
            let no_data = longest == MachineStatus::Offline
                && group.no_data * 2 > group.time.time(MachineStatus::Offline);
            (longest, no_data, what)
        }
    };
    Segment {
        x: number(x),
        width: number(width),
        state: state.as_str(),
        no_data,
        merged: group.single.is_none(),
        title: format!("{what}, {when} ({length})"),
        when,
        duration: length,
        what,
    }
}

/// How the times in a range are shown: with the day when it spans several.
fn moment_format(window: &Window) -> &'static str {
    if window.to - window.from > DAY + HOUR {
        "%a %-d %b %H:%M:%S"
    } else {
        "%H:%M:%S"
    }
}

/// The axis: hours for a day or two, days for longer ranges, in the organization's time zone.
fn ticks(window: &Window) -> Vec<Tick> {
    let span = window.to - window.from;
    let x = |at: Timestamp| (at - window.from) as f64 * CHART_WIDTH / span as f64;
    let anchor = |x: f64| {
        if x < 20.0 {
            "start"
        } else if x > CHART_WIDTH - 20.0 {
            "end"
        } else {
            "middle"
        }
    };
    let mut ticks = Vec::new();
    if span <= 2 * DAY + HOUR {
        // Every hour; labels every 2 (or 6) hours, every 6 (or 12) on narrow screens.
        let (every, major) = if span <= DAY + HOUR { (2, 6) } else { (6, 12) };
        let Ok(hours) = time::hour_boundaries(window.from, window.to, &window.zone) else {
            return ticks;
        };
        for at in hours {
            let Ok(zoned) = time::to_zoned(at, &window.zone) else {
                continue;
            };
            if zoned.minute() != 0 || zoned.second() != 0 || zoned.subsec_nanosecond() != 0 {
                continue;
            }
            let hour = i32::from(zoned.hour());
            let text = if hour == 0 && span > DAY + HOUR {
                zoned.strftime("%a %-d").to_string()
            } else {
                zoned.strftime("%H:%M").to_string()
            };
            let position = x(at);
            ticks.push(Tick {
                x: number(position),
                day: hour == 0,
                label: (hour % every == 0).then_some(text),
                major: hour % major == 0,
                anchor: anchor(position),
            });
        }
    } else {
        let days = span / DAY;
        let every = (days / 10 + 1).max(1);
        let major = (days / 4).max(1);
        let Ok(starts) = time::day_boundaries(window.from, window.to, &window.zone) else {
            return ticks;
        };
        let mut index = 0;
        for at in starts {
            let Ok(zoned) = time::to_zoned(at, &window.zone) else {
                continue;
            };
            if zoned.hour() != 0 || zoned.minute() != 0 || zoned.second() != 0 {
                continue;
            }
            let position = x(at);
            ticks.push(Tick {
                x: number(position),
                day: true,
                label: (index % every == 0 && at < window.to)
                    .then(|| zoned.strftime("%a %-d").to_string()),
                major: index % major == 0,
                anchor: anchor(position),
            });
            index += 1;
        }
    }
    ticks
}

/// Parts and cycle times: counts and the average from the totals (as the API's timeline gives
/// them), the best and the bars from the cycles themselves.
fn production(totals: &Totals, cycles: &[Cycle], window: &Window) -> Production {
    let seconds = |ns: i64| Seconds {
        exact: time::seconds(ns),
        text: duration(ns),
    };
    let average = (totals.cycles > 0).then(|| {
        let exact = time::seconds(totals.cycle_time) / totals.cycles as f64;
        Seconds {
            exact,
            text: duration((exact * SECOND as f64).round() as i64),
        }
    });
    let best = cycles.iter().map(Cycle::duration).min().map(seconds);
    let recent = &cycles[cycles.len().saturating_sub(CHART_CYCLES)..];
    let longest = recent.iter().map(Cycle::duration).max().unwrap_or(0);
    // The chart is 600 × 160 user units, bars from the bottom up, at most a tenth as wide.
    let (width, height) = (600.0, 160.0);
    let slot = width / recent.len().max(10) as f64;
    let y = |ns: i64| height - ns as f64 / longest.max(1) as f64 * (height - 8.0);
    let format = moment_format(window);
    let bars = recent
        .iter()
        .enumerate()
        .map(|(index, cycle)| {
            let top = y(cycle.duration());
            let program = cycle
                .program
                .as_deref()
                .map_or_else(String::new, |program| format!(", program {program}"));
            let parts = match cycle.parts {
                1 => ", 1 part".to_owned(),
                parts => format!(", {parts} parts"),
            };
            Bar {
                x: number(index as f64 * slot + slot * 0.1),
                y: number(top),
                width: number(slot * 0.8),
                height: number((height - top).max(1.0)),
                ended: cycle_end(cycle.ended),
                title: format!(
                    "Cycle {}–{} ({}){program}{parts}, {}",
                    local(cycle.start, &window.zone, format),
                    local(cycle.end, &window.zone, format),
                    duration(cycle.duration()),
                    cycle_end(cycle.ended)
                ),
            }
        })
        .collect();
    let average_y = average
        .as_ref()
        .filter(|_| longest > 0)
        .map(|average| number(y((average.exact * SECOND as f64) as i64).max(0.0)));
    Production {
        parts: totals.parts,
        cycles: totals.cycles,
        average,
        best,
        bars,
        shown: recent.len(),
        longest: duration(longest),
        average_y,
    }
}

fn cycle_end(ended: CycleEnd) -> &'static str {
    match ended {
        CycleEnd::Completed => "completed",
        CycleEnd::Stopped => "stopped",
        CycleEnd::Offline => "offline",
    }
}

/// The newest alarms first.
fn alarm_rows(mut alarms: Vec<Alarm>, window: &Window) -> Vec<AlarmRow> {
    alarms.sort_by_key(|alarm| std::cmp::Reverse(alarm.start));
    alarms
        .into_iter()
        .take(LISTED_ALARMS)
        .map(|alarm| AlarmRow {
            start: local(alarm.start, &window.zone, "%a %-d %b %H:%M:%S"),
            start_iso: time::format(alarm.start),
            duration: alarm
                .end
                .map_or_else(|| "active".to_owned(), |end| duration(end - alarm.start)),
            active: alarm.end.is_none(),
            level: match alarm.level {
                ConditionLevel::Fault => "fault",
                ConditionLevel::Warning => "warning",
                ConditionLevel::Normal => "normal",
                ConditionLevel::Unavailable => "unavailable",
            },
            code: alarm.native_code.unwrap_or_default(),
            text: alarm.text.unwrap_or_default(),
            data_item: alarm.data_item,
        })
        .collect()
}

fn head(machine: &Machine, live: &MachineLive, zone: &TimeZone) -> Head {
    let status = live.status.unwrap_or(MachineStatus::Offline);
    let since = live
        .current
        .as_ref()
        .and_then(|current| current.since)
        .map(|since| local(since, zone, "%a %-d %b %H:%M"));
    Head {
        id: machine.id.to_string(),
        name: machine.name.clone(),
        group: machine.group.clone(),
        status: status.as_str(),
        status_label: state_label(status),
        since,
    }
}

/// Every data item the driver declared and every one seen, with its latest value.
fn values(live: &MachineLive, zone: &TimeZone) -> Vec<ValueRow> {
    let mut rows: BTreeMap<&str, ValueRow> = BTreeMap::new();
    let blank = |id: &str| ValueRow {
        id: id.to_owned(),
        name: None,
        kind: String::new(),
        value: "—".to_owned(),
        units: String::new(),
        observed: "never".to_owned(),
        observed_iso: String::new(),
    };
    for item in &live.data_items {
        let row = rows
            .entry(item.id.as_str())
            .or_insert_with(|| blank(&item.id));
        row.name = item.name.clone().filter(|name| *name != item.id);
        row.kind.clone_from(&item.kind);
        row.units = item.units.clone().unwrap_or_default();
    }
    for (id, stored) in &live.latest {
        let row = rows.entry(id.as_str()).or_insert_with(|| blank(id));
        fill_value(row, stored, zone);
    }
    rows.into_values().collect()
}

fn fill_value(row: &mut ValueRow, stored: &StoredObservation, zone: &TimeZone) {
    let observation = &stored.observation;
    row.value = match &observation.value {
        Value::Sample(number) => format!("{number}"),
        Value::Event(text) if text.is_empty() => "(empty)".to_owned(),
        Value::Event(text) => text.clone(),
        Value::Condition(condition) => {
            let level = match condition.level {
                ConditionLevel::Normal => "Normal",
                ConditionLevel::Warning => "Warning",
                ConditionLevel::Fault => "Fault",
                ConditionLevel::Unavailable => "Unavailable",
            };
            [
                Some(level.to_owned()),
                condition.native_code.clone(),
                condition.text.clone(),
            ]
            .into_iter()
            .flatten()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" · ")
        }
        Value::Unavailable => "unavailable".to_owned(),
    };
    row.observed = local(observation.timestamp, zone, "%a %-d %b %H:%M:%S");
    row.observed_iso = time::format(observation.timestamp);
}

fn driver(machine: &Machine, live: &MachineLive, zone: &TimeZone) -> DriverView {
    let ms = |at: Option<i64>| {
        at.map_or_else(
            || "never".to_owned(),
            |ms| local(ms.saturating_mul(1_000_000), zone, "%a %-d %b %H:%M:%S"),
        )
    };
    if machine.feed == Feed::Edge {
        return DriverView {
            summary: format!(
                "An edge connector feeds this machine; no driver runs here. Last data: {}.",
                ms(live.last_update_ms)
            ),
            state: "edge",
            health: None,
        };
    }
    if !machine.enabled {
        return DriverView {
            summary: format!(
                "The machine is stopped: its driver ({}) does not run.",
                machine.driver
            ),
            state: "stopped",
            health: None,
        };
    }
    let Some(health) = &live.driver else {
        return DriverView {
            summary: format!("Driver {}: no report from it yet.", machine.driver),
            state: "none",
            health: None,
        };
    };
    let (state, status) = driver_status(&health.status);
    DriverView {
        summary: format!("Driver {}.", machine.driver),
        state,
        health: Some(health_view(health, status, ms)),
    }
}

fn health_view(
    health: &DriverHealth,
    status: String,
    ms: impl Fn(Option<i64>) -> String,
) -> HealthView {
    HealthView {
        status,
        connections: health.open_connections,
        last_data: ms(health.last_data_ms),
        last_poll: ms(health.last_poll_ms),
        last_error: health
            .last_error
            .as_ref()
            .map(|error| (error.message.clone(), ms(Some(error.at_ms)))),
        last_fault: health
            .last_fault
            .as_ref()
            .map(|fault| (fault.message.clone(), ms(Some(fault.at_ms)))),
        restarts: health.restarts,
        polls: health.polls,
        observations: health.observations,
        counters: health
            .counters
            .iter()
            .map(|(name, count)| (name.clone(), *count))
            .collect(),
    }
}

/// The driver's state as the API names it, and as shown.
fn driver_status(status: &DriverStatus) -> (&'static str, String) {
    match status {
        DriverStatus::Starting => ("starting", "Starting".to_owned()),
        DriverStatus::Running => ("running", "Running".to_owned()),
        DriverStatus::Retrying { error } => ("retrying", format!("Retrying: {error}")),
        DriverStatus::Restarting { attempt } => {
            ("restarting", format!("Restarting (attempt {attempt})"))
        }
        DriverStatus::Quarantined { reason } => ("quarantined", format!("Quarantined: {reason}")),
    }
}

/// A state as shown, beside its colour.
fn state_label(status: MachineStatus) -> &'static str {
    match status {
        MachineStatus::Offline => "Offline",
        MachineStatus::Alarm => "Alarm",
        MachineStatus::Running => "Running",
        MachineStatus::Paused => "Paused",
        MachineStatus::Setup => "Setup",
        MachineStatus::Idle => "Idle",
    }
}

/// `at` in `zone`, formatted with `format` (strftime).
fn local(at: Timestamp, zone: &TimeZone, format: &str) -> String {
    time::to_zoned(at, zone).map_or_else(
        |_| "—".to_owned(),
        |zoned| zoned.strftime(format).to_string(),
    )
}

/// A duration as people read it: "3 h 12 min", "4 min 5 s", "12 s".
fn duration(ns: i64) -> String {
    if ns <= 0 {
        return "0 s".to_owned();
    }
    if ns < SECOND {
        return "< 1 s".to_owned();
    }
    let seconds = ns / SECOND;
    let (hours, minutes, seconds) = (seconds / 3_600, seconds / 60 % 60, seconds % 60);
    if hours > 0 {
        format!("{hours} h {minutes} min")
    } else if minutes > 0 {
        format!("{minutes} min {seconds} s")
    } else {
        format!("{seconds} s")
    }
}

/// A share as a percentage with one decimal.
fn percent(share: f64) -> String {
    format!("{:.1} %", share * 100.0)
}

/// A coordinate, to two decimals without trailing zeros.
fn number(value: f64) -> String {
    let text = format!("{value:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_owned()
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn window(zone: &str, from: &str, to: &str, now: &str) -> Window {
        let zone = OrgZone {
            zone: time::zone(zone),
            name: zone.to_owned(),
        };
        Window::resolve(Some(from), Some(to), zone, time::parse(now).unwrap()).unwrap()
    }

    fn stretch(status: MachineStatus, start: i64, end: i64) -> Stretch {
        Stretch {
            status,
            start,
            end,
            no_data: false,
        }
    }

    #[test]
    fn narrow_stretches_are_drawn_together_in_their_longest_state() {
        let day = window("UTC", "2024-05-14", "2024-05-15", "2024-05-16T00:00:00Z");
        let from = day.from;
        // A minute is 0.69 units of 1000: drawn alone. Ten seconds are not.
        let minute = 60 * SECOND;
        let mut stretches = vec![stretch(MachineStatus::Running, from, from + minute)];
        let mut at = from + minute;
        for index in 0..12 {
            let status = if index % 3 == 0 {
                MachineStatus::Idle
            } else {
                MachineStatus::Running
            };
            stretches.push(stretch(status, at, at + 10 * SECOND));
            at += 10 * SECOND;
        }
        stretches.push(stretch(MachineStatus::Alarm, at, day.to));
        let drawn = segments(&stretches, &day);
        assert_eq!(drawn.first().unwrap().state, "running");
        assert!(!drawn.first().unwrap().merged);
        let merged: Vec<&Segment> = drawn.iter().filter(|s| s.merged).collect();
        // Twelve ten-second stretches (0.116 units each) make three segments of ≥ 0.5 units.
        assert_eq!(merged.len(), 3, "{drawn:?}");
        assert!(merged.iter().all(|s| s.state == "running"));
        assert!(
            merged[0]
                .title
                .starts_with("5 short intervals: running 30 s, idle 20 s")
        );
        assert_eq!(drawn.last().unwrap().state, "alarm");
        assert_eq!(drawn.last().unwrap().width, "997.92");
    }

    #[test]
    fn a_week_of_short_states_stays_small() {
        let week = window("UTC", "2024-05-13", "2024-05-20", "2024-05-21T00:00:00Z");
        let stretches: Vec<Stretch> = (0..60_480)
            .map(|index| {
                let start = week.from + index * 10 * SECOND;
                let status = if index % 2 == 0 {
                    MachineStatus::Running
                } else {
                    MachineStatus::Idle
                };
                stretch(status, start, start + 10 * SECOND)
            })
            .collect();
        let drawn = segments(&stretches, &week);
        assert!(drawn.len() <= 2_001, "{} segments", drawn.len());
    }

    #[test]
    fn a_day_has_hour_ticks_in_the_organizations_zone() {
        let day = window(
            "America/New_York",
            "2024-05-14",
            "2024-05-15",
            "2024-05-14T18:00:00Z",
        );
        let ticks = ticks(&day);
        assert_eq!(ticks.len(), 25);
        let labels: Vec<&str> = ticks.iter().filter_map(|t| t.label.as_deref()).collect();
        assert_eq!(labels.len(), 13);
        assert_eq!(labels[0], "00:00");
        assert_eq!(labels[3], "06:00");
        assert_eq!(ticks[0].anchor, "start");
        assert_eq!(ticks[24].anchor, "end");
        assert!(ticks[6].major && !ticks[2].major);
    }

    #[test]
    fn a_week_has_day_ticks() {
        let week = window("UTC", "2024-05-13", "2024-05-20", "2024-05-21T00:00:00Z");
        let ticks = ticks(&week);
        assert_eq!(ticks.len(), 8);
        assert_eq!(ticks[0].label.as_deref(), Some("Mon 13"));
        assert_eq!(
            ticks[7].label, None,
            "the end of the range has no day after it"
        );
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(0), "0 s");
        assert_eq!(duration(SECOND / 2), "< 1 s");
        assert_eq!(duration(65 * SECOND), "1 min 5 s");
        assert_eq!(
            duration(3 * HOUR + 12 * 60 * SECOND + 9 * SECOND),
            "3 h 12 min"
        );
        assert_eq!(number(12.5), "12.5");
        assert_eq!(number(1000.0), "1000");
        assert_eq!(number(0.004), "0");
    }

    #[test]
    fn custom_ranges_are_dates_in_order() {
        let zone = || OrgZone {
            zone: TimeZone::UTC,
            name: "UTC".to_owned(),
        };
        let now = time::parse("2024-05-14T12:00:00Z").unwrap();
        let error = |from, to| custom(from, to, zone(), now).err().unwrap();
        assert_eq!(error(Some("yesterday"), Some("2024-05-14")).0, "range-from");
        assert!(
            error(Some("2024-05-14"), Some("2024-05-14"))
                .1
                .contains("later day")
        );
        assert!(
            error(Some("2024-01-01"), Some("2024-05-14"))
                .1
                .contains("at most 31 days")
        );
        assert_eq!(error(Some("2024-05-01"), None).0, "range-to");
        let window = custom(Some("2024-05-01"), Some("2024-05-03"), zone(), now).unwrap();
        assert_eq!(time::format(window.from), "2024-05-01T00:00:00Z");
        assert_eq!(time::format(window.to), "2024-05-03T00:00:00Z");
    }
}
