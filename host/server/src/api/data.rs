//! What the machines did over a range: a machine's state timeline with totals per state, its
//! parts, cycles and alarms, and the same totals across the organization's machines, by day or
//! hour of the organization's time zone.
//!
//! Ranges are `?from=…&to=…` in RFC 3339 (or a date, meaning midnight in the organization's
//! time zone); they default to today so far. Time after now is not counted; time in the range
//! with no data counts as offline.
//!
//! The computations — [`Window`], [`machine_timeline`], [`machine_cycles`], [`machine_alarms`]
//! — are shared with the machine's page (`crate::ui`), so the page and the API always show the
//! same numbers; the handlers here only map them to JSON.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use chatter_derive::{Current, OpenCycle};
use chatter_model::{
    Alarm, ConditionLevel, Cycle, CycleEnd, Interval, Machine, MachineId, MachineStatus, PartCount,
    Timestamp, Totals,
};
use chatter_store::StoreError;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use super::machines::existing;
use crate::app::AppState;
use crate::auth::Tenant;
use crate::error::ApiError;
use crate::time;

/// Most records a list returns.
pub(crate) const MAX_LIST: usize = 10_000;
/// Most buckets a summary splits its range into.
const MAX_BUCKETS: usize = 1_000;

/// `?from=…&to=…&limit=…&bucket=day|hour`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    limit: Option<usize>,
    bucket: Option<Bucketing>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Bucketing {
    Day,
    Hour,
}

/// A resolved range, with the organization's time zone and the time it was asked at.
pub(crate) struct Window {
    /// Its start.
    pub(crate) from: Timestamp,
    /// Its end (exclusive); may be after now.
    pub(crate) to: Timestamp,
    /// When it was resolved.
    pub(crate) now: Timestamp,
    /// The organization's time zone.
    pub(crate) zone: TimeZone,
    /// Its IANA name.
    pub(crate) zone_name: String,
}

/// An organization's time zone, with its IANA name.
pub(crate) struct OrgZone {
    /// The zone.
    pub(crate) zone: TimeZone,
    /// Its name, as the organization's record gives it.
    pub(crate) name: String,
}

/// The organization's time zone (UTC if its record is gone).
pub(crate) async fn org_zone(tenant: &Tenant) -> Result<OrgZone, StoreError> {
    let name = tenant
        .store()
        .organization()
        .await?
        .map_or_else(|| "UTC".to_owned(), |org| org.time_zone);
    Ok(OrgZone {
        zone: time::zone(&name),
        name,
    })
}

/// Now, in nanoseconds since the Unix epoch (to the millisecond).
pub(crate) fn now() -> Timestamp {
    chatter_model::now_ms().saturating_mul(1_000_000)
}

impl Window {
    /// The range `[from, to)` asked for at `now`; refused, with a sentence naming `to`, unless
    /// `to` is after `from`.
    pub(crate) fn new(
        from: Timestamp,
        to: Timestamp,
        zone: OrgZone,
        now: Timestamp,
    ) -> Result<Window, String> {
        if to <= from {
            return Err(format!(
                "to: {} is not after from, {}",
                time::format(to),
                time::format(from)
            ));
        }
        Ok(Window {
            from,
            to,
            now,
            zone: zone.zone,
            zone_name: zone.name,
        })
    }

    /// The range a client's `from` and `to` name — RFC 3339 times, or dates meaning midnight
    /// in `zone` — from the start of today and up to now when not given. The error is a
    /// sentence starting with the field it is about.
    pub(crate) fn resolve(
        from: Option<&str>,
        to: Option<&str>,
        zone: OrgZone,
        now: Timestamp,
    ) -> Result<Window, String> {
        let bad = |field: &'static str| move |message: String| format!("{field}: {message}");
        let from = match from {
            Some(text) => time::parse_bound(text, &zone.zone).map_err(bad("from"))?,
            None => time::start_of_day(now, &zone.zone).map_err(bad("from"))?,
        };
        let to = match to {
            Some(text) => time::parse_bound(text, &zone.zone).map_err(bad("to"))?,
            None => now,
        };
        Window::new(from, to, zone, now)
    }

    /// The end of the time that can be accounted for: the range's end or now.
    pub(crate) fn end(&self) -> Timestamp {
        self.to.min(self.now)
    }

    fn header(&self) -> RangeJson {
        RangeJson {
            from: time::format(self.from),
            to: time::format(self.to),
            time_zone: self.zone_name.clone(),
        }
    }
}

#[derive(Serialize)]
struct RangeJson {
    from: String,
    to: String,
    time_zone: String,
}

/// Resolves the query's range in the organization's time zone.
async fn window(tenant: &Tenant, query: &RangeQuery) -> Result<Window, ApiError> {
    let zone = org_zone(tenant).await?;
    Window::resolve(query.from.as_deref(), query.to.as_deref(), zone, now())
        .map_err(|message| ApiError::bad_request("invalid_range", message))
}

/// The machine `id`, the query's range and how many records a list may hold.
async fn machine_range(
    tenant: &Tenant,
    id: &str,
    query: &RangeQuery,
) -> Result<(Machine, Window, usize), ApiError> {
    let machine = existing(tenant, id).await?;
    let window = window(tenant, query).await?;
    let limit = query.limit.unwrap_or(MAX_LIST).clamp(1, MAX_LIST);
    Ok((machine, window, limit))
}

/// Totals as the API shows them.
#[derive(Serialize)]
struct TotalsJson {
    /// Seconds per state.
    seconds: StateSeconds,
    /// Running time over the time accounted for, 0–1.
    utilization: Option<f64>,
    parts: u64,
    cycles: u64,
    average_cycle_seconds: Option<f64>,
    alarms: u64,
}

#[derive(Serialize)]
struct StateSeconds {
    offline: f64,
    alarm: f64,
    running: f64,
    paused: f64,
    setup: f64,
    idle: f64,
}

impl From<&Totals> for TotalsJson {
    fn from(totals: &Totals) -> Self {
        let s = |status| time::seconds(totals.time(status));
        TotalsJson {
            seconds: StateSeconds {
                offline: s(MachineStatus::Offline),
                alarm: s(MachineStatus::Alarm),
                running: s(MachineStatus::Running),
                paused: s(MachineStatus::Paused),
                setup: s(MachineStatus::Setup),
                idle: s(MachineStatus::Idle),
            },
            utilization: totals.utilization(),
            parts: totals.parts,
            cycles: totals.cycles,
            average_cycle_seconds: (totals.cycles > 0)
                .then(|| time::seconds(totals.cycle_time) / totals.cycles as f64),
            alarms: totals.alarms,
        }
    }
}

/// The machine's totals over `[from, to)`: the stored records, the state it is in now, and
/// offline for the time with no data.
pub(crate) async fn machine_totals(
    tenant: &Tenant,
    machine: &MachineId,
    current: &Current,
    from: Timestamp,
    to: Timestamp,
) -> Result<Totals, StoreError> {
    if to <= from {
        return Ok(Totals::default());
    }
    let mut totals = tenant.store().totals(machine, from, to).await?;
    totals.merge(&current.unstored(from, to));
    totals.fill_uncovered(to - from);
    Ok(totals)
}

/// A stretch of a machine's timeline: a state from `start` to `end` (exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stretch {
    /// The state.
    pub(crate) status: MachineStatus,
    /// When it began (or the range's start).
    pub(crate) start: Timestamp,
    /// When it ended (or the end of the time accounted for).
    pub(crate) end: Timestamp,
    /// The machine sent nothing in this stretch: it counts as offline.
    pub(crate) no_data: bool,
}

/// What a machine did over a [`Window`].
pub(crate) struct Timeline {
    /// Its stretches, clipped to the time accounted for (`[from, end)`) and tiling it.
    pub(crate) stretches: Vec<Stretch>,
    /// Time per state (with parts, cycles and alarms) over the same time.
    pub(crate) totals: Totals,
    /// What the machine has open now.
    pub(crate) current: Current,
}

/// The machine's timeline over `window`: its stored intervals, the ones not stored yet, and
/// the state it is in now, without gaps (stretches with no data are offline); and its totals,
/// from the stored rollups and the same unstored state. Utilization is
/// [`Totals::utilization`]: running time over the time accounted for.
pub(crate) async fn machine_timeline(
    app: &AppState,
    tenant: &Tenant,
    machine: &MachineId,
    window: &Window,
) -> Result<Timeline, StoreError> {
    let current = app.ingest.current(tenant.org(), machine).await?;
    let end = window.end();
    let mut stored = if window.from < end {
        tenant.store().intervals(machine, window.from, end).await?
    } else {
        Vec::new()
    };
    stored.extend(current.pending);
    if let Some(since) = current.since.filter(|&since| since < end) {
        stored.push(Interval {
            status: current.status,
            start: since,
            end,
        });
    }
    let stretches = continuous(&stored, window.from, end);
    let totals = machine_totals(tenant, machine, &current, window.from, end).await?;
    Ok(Timeline {
        stretches,
        totals,
        current,
    })
}

#[derive(Serialize)]
struct IntervalJson {
    status: MachineStatus,
    start: String,
    end: String,
    seconds: f64,
    /// The machine sent nothing in this stretch.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    no_data: bool,
}

impl From<&Stretch> for IntervalJson {
    fn from(stretch: &Stretch) -> Self {
        IntervalJson {
            status: stretch.status,
            start: time::format(stretch.start),
            end: time::format(stretch.end),
            seconds: time::seconds(stretch.end - stretch.start),
            no_data: stretch.no_data,
        }
    }
}

/// `GET /api/v1/machines/{id}/timeline`: the intervals of the range, clipped to it and without
/// gaps (stretches with no data are offline), with totals per state.
pub(super) async fn timeline(
    tenant: Tenant,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<RangeQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (machine, window, limit) = machine_range(&tenant, &id, &query).await?;
    let timeline = machine_timeline(&app, &tenant, &machine.id, &window).await?;
    let truncated = timeline.stretches.len() > limit;
    let intervals: Vec<IntervalJson> = timeline
        .stretches
        .iter()
        .take(limit)
        .map(IntervalJson::from)
        .collect();
    Ok(Json(serde_json::json!({
        "machine": machine.id,
        "range": window.header(),
        "intervals": intervals,
        "truncated": truncated,
        "totals": TotalsJson::from(&timeline.totals),
        "current": CurrentJson::new(&timeline.current, window.now),
    })))
}

/// The intervals clipped to `[from, to)`, with the gaps between them filled as offline.
fn continuous(intervals: &[Interval], from: Timestamp, to: Timestamp) -> Vec<Stretch> {
    let stretch = |status, start, end, no_data| Stretch {
        status,
        start,
        end,
        no_data,
    };
    let mut out = Vec::new();
    let mut cursor = from;
    for interval in intervals {
        let (start, end) = (interval.start.max(from), interval.end.min(to));
        if end <= start {
            continue;
        }
        if start > cursor {
            out.push(stretch(MachineStatus::Offline, cursor, start, true));
        }
        out.push(stretch(interval.status, start, end, false));
        cursor = end;
    }
    if cursor < to {
        out.push(stretch(MachineStatus::Offline, cursor, to, true));
    }
    out
}

#[derive(Serialize)]
struct CycleJson {
    start: String,
    end: String,
    seconds: f64,
    active_seconds: f64,
    ended: CycleEnd,
    program: Option<String>,
    parts: u64,
}

impl From<Cycle> for CycleJson {
    fn from(cycle: Cycle) -> Self {
        CycleJson {
            start: time::format(cycle.start),
            end: time::format(cycle.end),
            seconds: time::seconds(cycle.duration()),
            active_seconds: time::seconds(cycle.active),
            ended: cycle.ended,
            program: cycle.program,
            parts: cycle.parts,
        }
    }
}

/// The machine's cycles that ended in `window` (at most `limit`, oldest first): the stored
/// ones and the one `current` holds back (unless it was stored since).
pub(crate) async fn machine_cycles(
    tenant: &Tenant,
    machine: &MachineId,
    current: &Current,
    window: &Window,
    limit: usize,
) -> Result<Vec<Cycle>, StoreError> {
    let mut cycles = tenant
        .store()
        .cycles(machine, window.from, window.to, limit)
        .await?;
    let ended = current.ended_cycle.as_ref().filter(|ended| {
        (window.from..window.to).contains(&ended.end)
            && !cycles.iter().any(|stored| stored.start == ended.start)
    });
    cycles.extend(ended.cloned());
    cycles.truncate(limit);
    Ok(cycles)
}

/// `GET /api/v1/machines/{id}/cycles`: cycles that ended in the range, with the open one.
pub(super) async fn cycles(
    tenant: Tenant,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<RangeQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (machine, window, limit) = machine_range(&tenant, &id, &query).await?;
    let current = app.ingest.current(tenant.org(), &machine.id).await?;
    let cycles = machine_cycles(&tenant, &machine.id, &current, &window, limit).await?;
    let durations: Vec<i64> = cycles.iter().map(Cycle::duration).collect();
    let listed: Vec<CycleJson> = cycles.into_iter().map(CycleJson::from).collect();
    Ok(Json(serde_json::json!({
        "machine": machine.id,
        "range": window.header(),
        "count": listed.len(),
        "parts": listed.iter().map(|c| c.parts).sum::<u64>(),
        "average_seconds": average(&durations),
        "best_seconds": durations.iter().min().map(|&d| time::seconds(d)),
        "cycles": listed,
        "open": current.cycle.as_ref().map(OpenCycleJson::from),
    })))
}

/// What a machine has open now, with times in RFC 3339.
#[derive(Serialize)]
struct CurrentJson {
    status: MachineStatus,
    /// Since when it has had that status; `null` before any data.
    since: Option<String>,
    cycle: Option<OpenCycleJson>,
    /// The cycle that ended last, while a part may still be counted to it.
    ended_cycle: Option<CycleJson>,
    alarms: Vec<AlarmJson>,
}

impl CurrentJson {
    fn new(current: &Current, now: Timestamp) -> Self {
        CurrentJson {
            status: current.status,
            since: current.since.map(time::format),
            cycle: current.cycle.as_ref().map(OpenCycleJson::from),
            ended_cycle: current.ended_cycle.clone().map(CycleJson::from),
            alarms: current
                .alarms
                .iter()
                .map(|alarm| AlarmJson::new(alarm.clone(), now))
                .collect(),
        }
    }
}

/// The cycle running now.
#[derive(Serialize)]
struct OpenCycleJson {
    start: String,
    program: Option<String>,
    /// Time with execution `ACTIVE` so far.
    active_seconds: f64,
    parts: u64,
}

impl From<&OpenCycle> for OpenCycleJson {
    fn from(cycle: &OpenCycle) -> Self {
        OpenCycleJson {
            start: time::format(cycle.start),
            program: cycle.program.clone(),
            active_seconds: time::seconds(cycle.active),
            parts: cycle.parts,
        }
    }
}

fn average(durations: &[i64]) -> Option<f64> {
    let count = durations.len();
    (count > 0).then(|| time::seconds(durations.iter().sum::<i64>()) / count as f64)
}

#[derive(Serialize)]
struct PartJson {
    at: String,
    parts: u64,
    counter: u64,
    program: Option<String>,
}

impl From<PartCount> for PartJson {
    fn from(part: PartCount) -> Self {
        PartJson {
            at: time::format(part.at),
            parts: part.parts,
            counter: part.counter,
            program: part.program,
        }
    }
}

/// `GET /api/v1/machines/{id}/parts`: rises of the part counter in the range.
pub(super) async fn parts(
    tenant: Tenant,
    Path(id): Path<String>,
    Query(query): Query<RangeQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (machine, window, limit) = machine_range(&tenant, &id, &query).await?;
    let parts = tenant
        .store()
        .parts(&machine.id, window.from, window.to, limit)
        .await?;
    let total: u64 = parts.iter().map(|p| p.parts).sum();
    let listed: Vec<PartJson> = parts.into_iter().map(PartJson::from).collect();
    Ok(Json(serde_json::json!({
        "machine": machine.id,
        "range": window.header(),
        "total": total,
        "parts": listed,
    })))
}

#[derive(Serialize)]
struct AlarmJson {
    data_item: String,
    native_code: Option<String>,
    level: ConditionLevel,
    text: Option<String>,
    start: String,
    end: Option<String>,
    /// How long it lasted, or has lasted so far.
    seconds: f64,
    active: bool,
}

impl AlarmJson {
    fn new(alarm: Alarm, now: Timestamp) -> Self {
        AlarmJson {
            start: time::format(alarm.start),
            end: alarm.end.map(time::format),
            seconds: time::seconds(alarm.end.unwrap_or(now) - alarm.start),
            active: alarm.end.is_none(),
            data_item: alarm.data_item,
            native_code: alarm.native_code,
            level: alarm.level,
            text: alarm.text,
        }
    }
}

/// The machine's alarms raised in `window` (at most `limit`): the cleared ones stored, oldest
/// first, then the ones `current` has active (unless they cleared since).
pub(crate) async fn machine_alarms(
    tenant: &Tenant,
    machine: &MachineId,
    current: &Current,
    window: &Window,
    limit: usize,
) -> Result<Vec<Alarm>, StoreError> {
    let mut alarms = tenant
        .store()
        .alarms(machine, window.from, window.to, limit)
        .await?;
    let same = |a: &Alarm, b: &Alarm| {
        a.start == b.start && a.data_item == b.data_item && a.native_code == b.native_code
    };
    let active: Vec<Alarm> = current
        .alarms
        .iter()
        .filter(|alarm| (window.from..window.to).contains(&alarm.start))
        .filter(|alarm| !alarms.iter().any(|stored| same(stored, alarm)))
        .cloned()
        .collect();
    alarms.extend(active);
    alarms.truncate(limit);
    Ok(alarms)
}

/// `GET /api/v1/machines/{id}/alarms`: alarms raised in the range, cleared or still active.
pub(super) async fn alarms(
    tenant: Tenant,
    State(app): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<RangeQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let (machine, window, limit) = machine_range(&tenant, &id, &query).await?;
    let current = app.ingest.current(tenant.org(), &machine.id).await?;
    let alarms = machine_alarms(&tenant, &machine.id, &current, &window, limit).await?;
    let listed: Vec<AlarmJson> = alarms
        .into_iter()
        .map(|alarm| AlarmJson::new(alarm, window.now))
        .collect();
    Ok(Json(serde_json::json!({
        "machine": machine.id,
        "range": window.header(),
        "alarms": listed,
    })))
}

#[derive(Serialize)]
struct BucketJson {
    start: String,
    end: String,
    totals: TotalsJson,
}

#[derive(Serialize)]
struct MachineSummaryJson {
    id: MachineId,
    name: String,
    status: MachineStatus,
    totals: TotalsJson,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    buckets: Vec<BucketJson>,
}

/// `GET /api/v1/summary`: totals of every machine of the organization over the range, and of
/// all of them, optionally by day or hour of the organization's time zone.
pub(super) async fn summary(
    tenant: Tenant,
    State(app): State<AppState>,
    Query(query): Query<RangeQuery>,
) -> Result<impl IntoResponse, ApiError> {
    let window = window(&tenant, &query).await?;
    let end = window.end();
    let boundaries = match query.bucket {
        None => Vec::new(),
        Some(bucketing) => buckets(&window, end, bucketing)?,
    };
    let mut all = Totals::default();
    let mut machines = Vec::new();
    for machine in tenant.store().machines().await? {
        let summary = machine_summary(&app, &tenant, machine, &window, &boundaries).await?;
        all.merge(&summary.1);
        machines.push(summary.0);
    }
    Ok(Json(serde_json::json!({
        "range": window.header(),
        "totals": TotalsJson::from(&all),
        "machines": machines,
    })))
}

async fn machine_summary(
    app: &AppState,
    tenant: &Tenant,
    machine: Machine,
    window: &Window,
    boundaries: &[Timestamp],
) -> Result<(MachineSummaryJson, Totals), ApiError> {
    let current = app.ingest.current(tenant.org(), &machine.id).await?;
    let totals = machine_totals(tenant, &machine.id, &current, window.from, window.end()).await?;
    let mut buckets = Vec::new();
    for pair in boundaries.windows(2) {
        let bucket = machine_totals(tenant, &machine.id, &current, pair[0], pair[1]).await?;
        buckets.push(BucketJson {
            start: time::format(pair[0]),
            end: time::format(pair[1]),
            totals: TotalsJson::from(&bucket),
        });
    }
    let json = MachineSummaryJson {
        id: machine.id,
        name: machine.name,
        status: current.status,
        totals: TotalsJson::from(&totals),
        buckets,
    };
    Ok((json, totals))
}

fn buckets(
    window: &Window,
    end: Timestamp,
    bucketing: Bucketing,
) -> Result<Vec<Timestamp>, ApiError> {
    let boundaries = match bucketing {
        Bucketing::Day => time::day_boundaries(window.from, end, &window.zone),
        Bucketing::Hour => time::hour_boundaries(window.from, end, &window.zone),
    }
    .map_err(|m| ApiError::bad_request("invalid_range", m))?;
    if boundaries.len() > MAX_BUCKETS + 1 {
        return Err(ApiError::bad_request(
            "invalid_range",
            format!(
                "bucket: the range holds more than {MAX_BUCKETS} buckets; choose a shorter range or days"
            ),
        ));
    }
    Ok(boundaries)
}
