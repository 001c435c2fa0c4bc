//! What a shop-floor screen shows of each machine — its state with how long it has held it,
//! the program, today's parts against the day's goal, the active alarm — for the dashboard's
//! tiles and the wall display. Built from the live state; the day's part count is read from
//! the store once and then kept current as parts are counted.

use chatter_model::{ConditionLevel, Machine, MachineId, MachineStatus, Timestamp, Value};
use chatter_runtime::DriverStatus;
use chatter_store::StoreError;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::app::AppState;
use crate::auth::Tenant;
use crate::live::{DayParts, MachineLive};
use crate::time;

/// How long a day's part count read from the store is trusted before it is read again, so a
/// count that missed a part (counted between the read and its recording) heals itself.
const RECOUNT_AFTER_MS: i64 = 10 * 60 * 1000;

/// A machine as a floor screen shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Tile {
    /// The machine's id.
    pub id: MachineId,
    /// Its name.
    pub name: String,
    /// Its cell or department.
    pub group: Option<String>,
    /// How many parts it should make today.
    pub goal: Option<u64>,
    /// What changes as it works.
    #[serde(flatten)]
    pub state: TileState,
}

/// The part of a tile that changes as the machine works: what the live stream sends.
#[derive(Debug, Clone, Serialize)]
pub struct TileState {
    /// Its derived status.
    pub status: MachineStatus,
    /// The status as shown.
    pub label: &'static str,
    /// Since when it has had that status, in milliseconds since the Unix epoch.
    pub since_ms: Option<i64>,
    /// The program it runs or last ran.
    pub program: Option<String>,
    /// The most severe active alarm, as shown.
    pub alarm: Option<String>,
    /// Parts counted today in the organization's time zone.
    pub parts_today: u64,
    /// Why its data may be stale, when it is: its driver is stopped, retrying or quarantined.
    pub collection: Option<&'static str>,
}

/// The organization's day and time zone, in which a floor screen counts today's parts.
#[derive(Debug, Clone)]
pub struct Today {
    zone: TimeZone,
    day: (Timestamp, Timestamp),
}

impl Today {
    /// Today in the tenant's organization.
    pub async fn of(tenant: &Tenant) -> Result<Today, StoreError> {
        let zone = tenant
            .store()
            .organization()
            .await?
            .map_or(TimeZone::UTC, |org| time::zone(&org.time_zone));
        Ok(Today::in_zone(zone))
    }

    fn in_zone(zone: TimeZone) -> Today {
        let now = chatter_model::now_ms().saturating_mul(1_000_000);
        // Only a time zone database gap could fail here; then the day is the last 24 hours.
        let day = time::day_of(now, &zone).unwrap_or((now - 86_400_000_000_000, now));
        Today { zone, day }
    }

    /// Today again, if the day has turned since this was made.
    fn current(&self) -> Today {
        let now = chatter_model::now_ms().saturating_mul(1_000_000);
        if now < self.day.1 {
            self.clone()
        } else {
            Today::in_zone(self.zone.clone())
        }
    }
}

/// The tiles of the tenant's machines, by name.
pub async fn tiles(app: &AppState, tenant: &Tenant) -> Result<Vec<Tile>, StoreError> {
    let today = Today::of(tenant).await?;
    let mut tiles = Vec::new();
    for machine in tenant.store().machines().await? {
        tiles.push(tile(app, tenant, machine, &today).await?);
    }
    tiles.sort_by_cached_key(|tile| tile.name.to_lowercase());
    Ok(tiles)
}

/// The groups the tenant's machines stand in, sorted.
pub fn groups(tiles: &[Tile]) -> Vec<String> {
    let mut groups: Vec<String> = tiles.iter().filter_map(|tile| tile.group.clone()).collect();
    groups.sort_by_key(|group| group.to_lowercase());
    groups.dedup();
    groups
}

async fn tile(
    app: &AppState,
    tenant: &Tenant,
    machine: Machine,
    today: &Today,
) -> Result<Tile, StoreError> {
    let mut state = state(app, tenant, &machine.id, today).await?;
    if !machine.enabled {
        state.collection = Some("Not collecting");
    }
    Ok(Tile {
        id: machine.id,
        name: machine.name,
        group: machine.group,
        goal: machine.daily_part_goal,
        state,
    })
}

/// What a machine's tile shows now.
pub async fn state(
    app: &AppState,
    tenant: &Tenant,
    machine: &MachineId,
    today: &Today,
) -> Result<TileState, StoreError> {
    let (mut state, counted) = app
        .live
        .read(tenant.org(), machine, |live| {
            (state_of(live), live.parts_today)
        })
        .unwrap_or_else(|| (state_of(&MachineLive::default()), None));
    state.parts_today = parts_today(app, tenant, machine, counted, &today.current()).await?;
    Ok(state)
}

/// A tile's state from the live state, but for today's parts.
fn state_of(live: &MachineLive) -> TileState {
    let status = live.status.unwrap_or(MachineStatus::Offline);
    TileState {
        status,
        label: status_label(status),
        since_ms: live
            .current
            .as_ref()
            .and_then(|current| current.since)
            .map(|since| since.div_euclid(1_000_000)),
        program: program(live),
        alarm: alarm(live),
        parts_today: 0,
        collection: live.driver.as_ref().and_then(|health| match health.status {
            DriverStatus::Starting | DriverStatus::Running => None,
            DriverStatus::Retrying { .. } => Some("Cannot reach the machine"),
            DriverStatus::Restarting { .. } => Some("Driver restarting"),
            DriverStatus::Quarantined { .. } => Some("Driver stopped after faults"),
        }),
    }
}

/// Today's parts: the live count when it is today's and fresh, otherwise read again.
async fn parts_today(
    app: &AppState,
    tenant: &Tenant,
    machine: &MachineId,
    counted: Option<DayParts>,
    today: &Today,
) -> Result<u64, StoreError> {
    let now_ms = chatter_model::now_ms();
    if let Some(count) = counted
        && count.from == today.day.0
        && now_ms - count.counted_at_ms < RECOUNT_AFTER_MS
    {
        return Ok(count.parts);
    }
    let (from, to) = today.day;
    let parts = tenant.store().totals(machine, from, to).await?.parts;
    let count = DayParts {
        from,
        to,
        parts,
        counted_at_ms: now_ms,
    };
    app.live.set_parts_today(tenant.org(), machine, count);
    Ok(parts)
}

/// The program of the open cycle, or the latest value of a program data item.
fn program(live: &MachineLive) -> Option<String> {
    let cycle = live
        .current
        .as_ref()
        .and_then(|current| current.cycle.as_ref())
        .and_then(|cycle| cycle.program.clone());
    cycle.or_else(|| {
        live.data_items
            .iter()
            .filter(|item| item.kind == "PROGRAM")
            .filter_map(|item| live.latest.get(&item.id))
            .find_map(|latest| match &latest.observation.value {
                Value::Event(program) => Some(program.trim().to_owned()),
                Value::Sample(_) | Value::Condition(_) | Value::Unavailable => None,
            })
            .filter(|program| !program.is_empty() && program != "UNAVAILABLE")
    })
}

/// The most severe active alarm (the latest raised among equals), as `code text`.
fn alarm(live: &MachineLive) -> Option<String> {
    let alarms = &live.current.as_ref()?.alarms;
    let severity = |level: ConditionLevel| match level {
        ConditionLevel::Fault => 2,
        ConditionLevel::Warning => 1,
        ConditionLevel::Normal | ConditionLevel::Unavailable => 0,
    };
    let worst = alarms
        .iter()
        .filter(|alarm| severity(alarm.level) > 0)
        .max_by_key(|alarm| (severity(alarm.level), alarm.start))?;
    let shown = [worst.native_code.as_deref(), worst.text.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Some(if shown.is_empty() {
        worst.data_item.clone()
    } else {
        shown
    })
}

/// A machine status as shown, beside its colour and icon.
pub fn status_label(status: MachineStatus) -> &'static str {
    match status {
        MachineStatus::Offline => "Offline",
        MachineStatus::Alarm => "Alarm",
        MachineStatus::Running => "Running",
        MachineStatus::Paused => "Paused",
        MachineStatus::Setup => "Setup",
        MachineStatus::Idle => "Idle",
    }
}
