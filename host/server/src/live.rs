//! Each machine's live state — data items, latest value per data item, derived status, driver
//! health — kept in memory for the API and the status page, and a broadcast of every change.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chatter_derive::Current;
use chatter_model::{
    DataItem, MachineId, MachineStatus, OrgId, PartCount, StoredObservation, Timestamp,
};
use chatter_runtime::DriverHealth;
use serde::Serialize;
use tokio::sync::broadcast;

/// What the server knows about a machine right now.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MachineLive {
    /// The data items its driver declared.
    pub data_items: Vec<DataItem>,
    /// The latest observation of each data item, by data item id.
    pub latest: HashMap<String, StoredObservation>,
    /// Its derived status: what its deriver has open now.
    pub status: Option<MachineStatus>,
    /// Since when it has had that status, the cycle it is in and its active alarms.
    pub current: Option<Current>,
    /// When the last observation arrived, in milliseconds since the Unix epoch.
    pub last_update_ms: Option<i64>,
    /// The latest timestamp of its observations (data time, by the machine's clock), in
    /// nanoseconds since the Unix epoch.
    #[serde(skip)]
    pub data_time: Option<Timestamp>,
    /// When an active alarm last cleared, in data time: the timestamp of the observation that
    /// cleared it.
    #[serde(skip)]
    pub alarms_cleared_at: Option<Timestamp>,
    /// Its driver's health.
    pub driver: Option<DriverHealth>,
    /// Its parts of the organization's current day, once someone has asked (see
    /// [`crate::floor`]); kept current as parts are counted.
    #[serde(skip)]
    pub parts_today: Option<DayParts>,
}

/// The parts a machine made in one day of its organization's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayParts {
    /// The day's start, in nanoseconds since the Unix epoch.
    pub from: Timestamp,
    /// Its end (exclusive).
    pub to: Timestamp,
    /// Parts counted in it.
    pub parts: u64,
    /// When the count was last read from the store, in milliseconds since the Unix epoch.
    pub counted_at_ms: i64,
}

impl DayParts {
    fn add(&mut self, counts: &[PartCount]) {
        self.parts += counts
            .iter()
            .filter(|count| (self.from..self.to).contains(&count.at))
            .map(|count| count.parts)
            .sum::<u64>();
    }
}

impl MachineLive {
    fn set_current(&mut self, current: Current) {
        self.status = Some(current.status);
        self.current = Some(current);
    }
}

/// A change of a machine's live state, as broadcast to subscribers.
#[derive(Debug, Clone, Serialize)]
pub struct LiveEvent {
    /// The machine's organization: subscribers only see their own.
    #[serde(skip)]
    pub org: OrgId,
    /// The machine.
    pub machine: MachineId,
    /// Its status after the change.
    pub status: MachineStatus,
    /// When its last observation arrived.
    pub last_update_ms: Option<i64>,
    /// The sequence number of its latest observation.
    pub sequence: u64,
    /// Since when it has had its status, in data time (nanoseconds since the Unix epoch).
    #[serde(skip)]
    pub since: Option<Timestamp>,
    /// The latest timestamp of its observations, in data time.
    #[serde(skip)]
    pub data_time: Option<Timestamp>,
    /// When the earliest of its active alarms (warnings included) was raised, in data time.
    #[serde(skip)]
    pub alarm_since: Option<Timestamp>,
    /// When its driver here last polled it successfully (with or without data), in
    /// milliseconds since the Unix epoch; `None` when no driver here reads it.
    #[serde(skip)]
    pub last_poll_ms: Option<i64>,
    /// When an active alarm last cleared, in data time.
    #[serde(skip)]
    pub alarms_cleared_at: Option<Timestamp>,
    /// Parts counted by this change: when, and how many.
    #[serde(skip)]
    pub new_parts: Vec<(Timestamp, u64)>,
}

/// When the latest of the alarms active `before` and no longer active `after` cleared: the
/// timestamp of the batch's last observation of its data item (what cleared it). Reads the
/// batch only when an alarm cleared.
fn cleared_at(
    before: Option<&Current>,
    after: Option<&Current>,
    batch: &[StoredObservation],
) -> Option<Timestamp> {
    let after = after.map_or(&[][..], |current| current.alarms.as_slice());
    before?
        .alarms
        .iter()
        .filter(|alarm| {
            !after
                .iter()
                .any(|a| a.data_item == alarm.data_item && a.native_code == alarm.native_code)
        })
        .filter_map(|alarm| {
            batch
                .iter()
                .rev()
                .find(|o| o.observation.data_item == alarm.data_item)
                .map(|o| o.observation.timestamp.max(alarm.start))
        })
        .max()
}

type Key = (OrgId, MachineId);

/// Live state of every machine of every organization.
#[derive(Clone)]
pub struct LiveState {
    machines: Arc<RwLock<HashMap<Key, MachineLive>>>,
    events: broadcast::Sender<LiveEvent>,
}

impl Default for LiveState {
    fn default() -> Self {
        // Slow subscribers skip events (they get a `Lagged` and catch up from the API).
        let (events, _) = broadcast::channel(1024);
        LiveState {
            machines: Arc::default(),
            events,
        }
    }
}

impl LiveState {
    /// A machine's live state.
    pub fn get(&self, org: &OrgId, machine: &MachineId) -> Option<MachineLive> {
        self.machines()
            .get(&(org.clone(), machine.clone()))
            .cloned()
    }

    /// What `read` takes from a machine's live state, without copying the rest of it.
    pub fn read<R>(
        &self,
        org: &OrgId,
        machine: &MachineId,
        read: impl FnOnce(&MachineLive) -> R,
    ) -> Option<R> {
        self.machines()
            .get(&(org.clone(), machine.clone()))
            .map(read)
    }

    /// Subscribes to changes of every organization's machines; filter by `LiveEvent::org`.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.events.subscribe()
    }

    /// Restores a machine's state from the store (at start-up).
    pub fn restore(
        &self,
        org: &OrgId,
        machine: &MachineId,
        items: Vec<DataItem>,
        latest: Vec<StoredObservation>,
        current: Current,
    ) {
        let mut live = MachineLive {
            data_time: latest.iter().map(|o| o.observation.timestamp).max(),
            data_items: items,
            latest: latest
                .into_iter()
                .map(|o| (o.observation.data_item.clone(), o))
                .collect(),
            ..MachineLive::default()
        };
        live.set_current(current);
        self.write().insert((org.clone(), machine.clone()), live);
    }

    /// Records the data items a driver declared.
    pub fn declare(&self, org: &OrgId, machine: &MachineId, items: Vec<DataItem>) {
        self.update(org, machine, |live| live.data_items = items);
    }

    /// Applies a stored batch with the part counts and derived state after it, and broadcasts
    /// the new status.
    pub fn apply(
        &self,
        org: &OrgId,
        machine: &MachineId,
        batch: &[StoredObservation],
        new_parts: &[PartCount],
        now_ms: i64,
        current: Current,
    ) {
        let counted = new_parts
            .iter()
            .map(|count| (count.at, count.parts))
            .collect();
        self.update_counting(org, machine, counted, |live| {
            if let Some(today) = &mut live.parts_today {
                today.add(new_parts);
            }
            // Time only goes forward, as the deriver reads it.
            let newest = batch.iter().map(|o| o.observation.timestamp).max();
            live.data_time = live.data_time.max(newest);
            // Newest first, so each data item is cloned once however often a batch repeats it.
            let mut seen = std::collections::HashSet::new();
            for stored in batch.iter().rev() {
                let item = &stored.observation.data_item;
                if seen.insert(item) {
                    live.latest.insert(item.clone(), stored.clone());
                }
            }
            live.last_update_ms = Some(now_ms);
            let previous = live.current.take();
            live.set_current(current);
            if let Some(cleared) = cleared_at(previous.as_ref(), live.current.as_ref(), batch) {
                live.alarms_cleared_at = Some(cleared);
            }
        });
    }

    /// Records a machine's part count for a day, read from the store; parts counted from now on
    /// are added to it. Nothing is broadcast: the count was already true.
    pub fn set_parts_today(&self, org: &OrgId, machine: &MachineId, day: DayParts) {
        if let Some(live) = self.write().get_mut(&(org.clone(), machine.clone())) {
            live.parts_today = Some(day);
        }
    }

    /// Records a driver's health.
    pub fn set_driver_health(&self, org: &OrgId, machine: &MachineId, health: DriverHealth) {
        self.update(org, machine, |live| live.driver = Some(health));
    }

    /// Records that a machine's driver was stopped.
    pub fn clear_driver_health(&self, org: &OrgId, machine: &MachineId) {
        self.update(org, machine, |live| live.driver = None);
    }

    /// Forgets a machine.
    pub fn remove(&self, org: &OrgId, machine: &MachineId) {
        self.write().remove(&(org.clone(), machine.clone()));
    }

    fn update(&self, org: &OrgId, machine: &MachineId, change: impl FnOnce(&mut MachineLive)) {
        self.update_counting(org, machine, Vec::new(), change);
    }

    /// Applies `change` and broadcasts the result, with the parts the change counted.
    fn update_counting(
        &self,
        org: &OrgId,
        machine: &MachineId,
        new_parts: Vec<(Timestamp, u64)>,
        change: impl FnOnce(&mut MachineLive),
    ) {
        let event = {
            let mut machines = self.write();
            let live = machines.entry((org.clone(), machine.clone())).or_default();
            change(live);
            let current = live.current.as_ref();
            LiveEvent {
                org: org.clone(),
                machine: machine.clone(),
                status: live.status.unwrap_or(MachineStatus::Offline),
                last_update_ms: live.last_update_ms,
                sequence: live.latest.values().map(|o| o.sequence).max().unwrap_or(0),
                since: current.and_then(|c| c.since),
                data_time: live.data_time,
                alarm_since: current.and_then(|c| c.alarms.iter().map(|a| a.start).min()),
                last_poll_ms: live.driver.as_ref().and_then(|d| d.last_poll_ms),
                alarms_cleared_at: live.alarms_cleared_at,
                new_parts,
            }
        };
        // No subscribers is fine.
        let _ = self.events.send(event);
    }

    fn machines(&self) -> std::sync::RwLockReadGuard<'_, HashMap<Key, MachineLive>> {
        self.machines
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<Key, MachineLive>> {
        self.machines
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
