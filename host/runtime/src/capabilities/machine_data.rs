//! `machine-data`: the read-only view a report has of its organization's derived machine data.
//!
//! The runtime knows no store: it checks the grant, that every machine asked for is one of the
//! run's, and the size of what is asked, then reads through the run's [`MachineData`], which
//! the server implements over the organization's store. A machine outside the run — another
//! organization's above all — is refused before anything is read.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chatter_model as model;
use chatter_model::{MachineId, MachineStatus, StoredObservation, Timestamp};
use wasmtime::component::{HasSelf, Linker};

use crate::bindings::driver::chatter::plugin::types::{Error, ErrorCode, TimeRange};
use crate::bindings::report::chatter::plugin::machine_data::{
    self, Alarm, Cycle, CycleEnd, EventKinds as WitEventKinds, MachineEvents, MachineInfo,
    MachineState, ObservationPage, PartCount, StateInterval, Timeline, Totals,
};
use crate::capabilities::require;
use crate::host_state::HostState;
use crate::instance::to_wit_observation;
use crate::manifest::Capability;

/// Most machines one call may name.
pub const MAX_MACHINES_PER_CALL: usize = 1_000;
/// Most ranges one `totals-over` call may name.
pub const MAX_RANGES_PER_CALL: usize = 20_000;
/// Most cycles, part counts and alarms, each, one machine's `events` returns.
pub const MAX_EVENTS_PER_MACHINE: usize = 100_000;
/// Most observations one `observations` call returns.
pub const MAX_OBSERVATIONS_PER_CALL: u32 = 10_000;

/// A machine a report run covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunMachine {
    /// Its id.
    pub id: MachineId,
    /// Its display name.
    pub name: String,
}

/// What happened on a machine within a range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Events {
    /// Cycles that ended in the range.
    pub cycles: Vec<model::Cycle>,
    /// Rises of the part counter.
    pub parts: Vec<model::PartCount>,
    /// Alarms raised in the range, cleared or not.
    pub alarms: Vec<model::Alarm>,
}

/// Which lists of [`Events`] a report asked for; the others are not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventKinds {
    /// Cycles.
    pub cycles: bool,
    /// Part counts.
    pub parts: bool,
    /// Alarms.
    pub alarms: bool,
}

/// A page of raw observations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observations {
    /// The observations that matched.
    pub observations: Vec<StoredObservation>,
    /// The sequence number to continue after, if the machine has more.
    pub next: Option<u64>,
}

/// The derived data of one organization's machines, as a report run may read it. Every method
/// is asked only about a machine of [`MachineData::machines`].
#[async_trait]
pub trait MachineData: Send + Sync + 'static {
    /// The machines of the run, in the order of its request.
    fn machines(&self) -> &[RunMachine];

    /// The machine's intervals overlapping `[from, to)`, clipped to it, and their totals.
    async fn timeline(
        &self,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(Vec<model::Interval>, model::Totals), String>;

    /// The machine's totals over each range.
    async fn totals(
        &self,
        machine: &MachineId,
        ranges: &[(Timestamp, Timestamp)],
    ) -> Result<Vec<model::Totals>, String>;

    /// Up to `limit` of each of the `kinds` of event of the machine within `[from, to)`; the
    /// lists of other kinds are left empty.
    async fn events(
        &self,
        machine: &MachineId,
        (from, to): (Timestamp, Timestamp),
        kinds: EventKinds,
        limit: usize,
    ) -> Result<Events, String>;

    /// Up to `limit` observations of `items` (all when empty) with timestamps in `[from, to)`
    /// and sequence numbers above `after`.
    async fn observations(
        &self,
        machine: &MachineId,
        items: &[String],
        from: Timestamp,
        to: Timestamp,
        after: u64,
        limit: usize,
    ) -> Result<Observations, String>;
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    machine_data::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

fn error(code: ErrorCode, message: impl Into<String>) -> Error {
    Error {
        code,
        message: message.into(),
    }
}

impl HostState {
    /// The run's data source, once the grant is checked.
    fn machine_data(&self) -> Result<Arc<dyn MachineData>, Error> {
        require(self, Capability::MachineData)?;
        self.context.machine_data.clone().ok_or_else(|| {
            error(
                ErrorCode::Denied,
                "machine data is readable only while a report runs",
            )
        })
    }

    /// Resolves the ids a report asked for, refusing any machine outside the run.
    fn run_machines(
        &self,
        data: &dyn MachineData,
        ids: &[String],
    ) -> Result<Vec<MachineId>, Error> {
        if ids.len() > MAX_MACHINES_PER_CALL {
            return Err(error(
                ErrorCode::Denied,
                format!(
                    "{} machines in one call; at most {MAX_MACHINES_PER_CALL}",
                    ids.len()
                ),
            ));
        }
        ids.iter()
            .map(|id| {
                data.machines()
                    .iter()
                    .find(|machine| machine.id.as_str() == id)
                    .map(|machine| machine.id.clone())
                    .ok_or_else(|| {
                        error(
                            ErrorCode::Denied,
                            format!(
                                "machine `{id}` is not one of this report run's machines \
                                 (organization `{}`); a report reads only the machines of \
                                 its request",
                                self.identity.org
                            ),
                        )
                    })
            })
            .collect()
    }

    /// How long a read may still take before the call's deadline.
    fn read_budget(&self) -> Duration {
        self.remaining(Duration::MAX)
    }
}

fn checked_range(range: TimeRange) -> Result<(Timestamp, Timestamp), Error> {
    if range.start > range.end {
        return Err(error(
            ErrorCode::InvalidConfig,
            format!(
                "time range ends ({}) before it starts ({})",
                range.end, range.start
            ),
        ));
    }
    Ok((range.start, range.end))
}

/// Runs a read against the call's deadline.
async fn within<T>(
    budget: Duration,
    read: impl Future<Output = Result<T, String>>,
) -> Result<T, Error> {
    match tokio::time::timeout(budget, read).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(message)) => Err(error(ErrorCode::Internal, message)),
        Err(_) => Err(past_deadline()),
    }
}

fn past_deadline() -> Error {
    error(
        ErrorCode::Timeout,
        "the call's deadline passed while machine data was read",
    )
}

/// The answers of `read` for each machine, in the order of `ids`. The reads run as tasks, so
/// the runtime's threads share them: reading a machine's month decodes records, which is CPU
/// work. The deadline covers them all; reads still running when it passes are cancelled.
async fn read_each<T, Read>(
    ids: Vec<MachineId>,
    budget: Duration,
    read: impl Fn(MachineId) -> Read,
) -> Result<Vec<T>, Error>
where
    T: Send + 'static,
    Read: Future<Output = Result<T, String>> + Send + 'static,
{
    let mut answers: Vec<Option<T>> = std::iter::repeat_with(|| None).take(ids.len()).collect();
    let mut reads = tokio::task::JoinSet::new();
    for (index, id) in ids.into_iter().enumerate() {
        let answer = read(id);
        reads.spawn(async move { (index, answer.await) });
    }
    let gather = async {
        while let Some(joined) = reads.join_next().await {
            let (index, answer) = joined.map_err(|e| {
                error(
                    ErrorCode::Internal,
                    format!("a machine-data read stopped: {e}"),
                )
            })?;
            answers[index] = Some(answer.map_err(|message| error(ErrorCode::Internal, message))?);
        }
        Ok(())
    };
    match tokio::time::timeout(budget, gather).await {
        Ok(gathered) => gathered?,
        Err(_) => return Err(past_deadline()),
    }
    Ok(answers.into_iter().flatten().collect())
}

impl machine_data::Host for HostState {
    async fn machines(&mut self) -> Vec<MachineInfo> {
        let Ok(data) = self.machine_data() else {
            return Vec::new();
        };
        data.machines()
            .iter()
            .map(|machine| MachineInfo {
                id: machine.id.to_string(),
                name: machine.name.clone(),
            })
            .collect()
    }

    async fn timelines(
        &mut self,
        machines: Vec<String>,
        range: TimeRange,
        resolution: Option<i64>,
    ) -> Result<Vec<Timeline>, Error> {
        let data = self.machine_data()?;
        let ids = self.run_machines(data.as_ref(), &machines)?;
        let (from, to) = checked_range(range)?;
        let budget = self.read_budget();
        read_each(ids, budget, |id| {
            let data = data.clone();
            async move {
                let (intervals, totals) = data.timeline(&id, from, to).await?;
                let intervals = match resolution {
                    Some(resolution) if resolution > 0 => coarsen(&intervals, resolution),
                    _ => intervals,
                };
                Ok(Timeline {
                    machine: id.to_string(),
                    intervals: intervals.iter().map(to_wit_interval).collect(),
                    totals: to_wit_totals(&totals),
                })
            }
        })
        .await
    }

    async fn totals_over(
        &mut self,
        machines: Vec<String>,
        ranges: Vec<TimeRange>,
    ) -> Result<Vec<Vec<Totals>>, Error> {
        let data = self.machine_data()?;
        let ids = self.run_machines(data.as_ref(), &machines)?;
        if ranges.len() > MAX_RANGES_PER_CALL {
            return Err(error(
                ErrorCode::Denied,
                format!(
                    "{} ranges in one call; at most {MAX_RANGES_PER_CALL}",
                    ranges.len()
                ),
            ));
        }
        let ranges: Arc<[(Timestamp, Timestamp)]> = ranges
            .into_iter()
            .map(checked_range)
            .collect::<Result<_, _>>()?;
        let budget = self.read_budget();
        read_each(ids, budget, |id| {
            let (data, ranges) = (data.clone(), ranges.clone());
            async move {
                let totals = data.totals(&id, &ranges).await?;
                Ok(totals.iter().map(to_wit_totals).collect())
            }
        })
        .await
    }

    async fn events(
        &mut self,
        machines: Vec<String>,
        range: TimeRange,
        kinds: WitEventKinds,
    ) -> Result<Vec<MachineEvents>, Error> {
        let data = self.machine_data()?;
        let ids = self.run_machines(data.as_ref(), &machines)?;
        let (from, to) = checked_range(range)?;
        let budget = self.read_budget();
        let kinds = EventKinds {
            cycles: kinds.contains(WitEventKinds::CYCLES),
            parts: kinds.contains(WitEventKinds::PARTS),
            alarms: kinds.contains(WitEventKinds::ALARMS),
        };
        read_each(ids, budget, |id| {
            let data = data.clone();
            async move {
                // One more than the cap tells a full list from a cut one.
                let events = data
                    .events(&id, (from, to), kinds, MAX_EVENTS_PER_MACHINE + 1)
                    .await?;
                Ok(to_wit_events(&id, events))
            }
        })
        .await
    }

    async fn observations(
        &mut self,
        machine: String,
        data_items: Vec<String>,
        range: TimeRange,
        after_sequence: u64,
        limit: u32,
    ) -> Result<ObservationPage, Error> {
        let data = self.machine_data()?;
        let id = self
            .run_machines(data.as_ref(), std::slice::from_ref(&machine))?
            .remove(0);
        let (from, to) = checked_range(range)?;
        let limit = limit.clamp(1, MAX_OBSERVATIONS_PER_CALL) as usize;
        let budget = self.read_budget();
        let page = within(
            budget,
            data.observations(&id, &data_items, from, to, after_sequence, limit),
        )
        .await?;
        Ok(ObservationPage {
            observations: page
                .observations
                .into_iter()
                .map(|stored| (stored.sequence, to_wit_observation(stored.observation)))
                .collect(),
            next: page.next,
        })
    }
}

/// Merges intervals shorter than `resolution` into the neighbour before them (or after, for
/// the first), so a long range draws in few intervals. Adjacent intervals of one state join.
pub(crate) fn coarsen(intervals: &[model::Interval], resolution: i64) -> Vec<model::Interval> {
    let mut merged: Vec<model::Interval> = Vec::new();
    for interval in intervals {
        match merged.last_mut() {
            Some(last)
                if last.end == interval.start
                    && (last.status == interval.status
                        || interval.end - interval.start < resolution) =>
            {
                last.end = interval.end;
            }
            Some(last) if last.end == interval.start && last.end - last.start < resolution => {
                // A short first interval takes the state of the longer one after it.
                last.status = interval.status;
                last.end = interval.end;
            }
            _ => merged.push(*interval),
        }
    }
    merged
}

fn to_wit_range(start: Timestamp, end: Timestamp) -> TimeRange {
    TimeRange { start, end }
}

fn to_wit_state(status: MachineStatus) -> MachineState {
    match status {
        MachineStatus::Offline => MachineState::Offline,
        MachineStatus::Alarm => MachineState::Alarm,
        MachineStatus::Running => MachineState::Running,
        MachineStatus::Paused => MachineState::Paused,
        MachineStatus::Setup => MachineState::Setup,
        MachineStatus::Idle => MachineState::Idle,
    }
}

fn to_wit_interval(interval: &model::Interval) -> StateInterval {
    StateInterval {
        state: to_wit_state(interval.status),
        range: to_wit_range(interval.start, interval.end),
    }
}

fn to_wit_totals(totals: &model::Totals) -> Totals {
    Totals {
        offline: totals.offline,
        alarm: totals.alarm,
        running: totals.running,
        paused: totals.paused,
        setup: totals.setup,
        idle: totals.idle,
        parts: totals.parts,
        cycles: totals.cycles,
        cycle_time: totals.cycle_time,
        alarms: totals.alarms,
    }
}

fn to_wit_events(machine: &MachineId, mut events: Events) -> MachineEvents {
    let truncated = events.cycles.len() > MAX_EVENTS_PER_MACHINE
        || events.parts.len() > MAX_EVENTS_PER_MACHINE
        || events.alarms.len() > MAX_EVENTS_PER_MACHINE;
    events.cycles.truncate(MAX_EVENTS_PER_MACHINE);
    events.parts.truncate(MAX_EVENTS_PER_MACHINE);
    events.alarms.truncate(MAX_EVENTS_PER_MACHINE);
    MachineEvents {
        machine: machine.to_string(),
        cycles: events.cycles.into_iter().map(to_wit_cycle).collect(),
        parts: events.parts.into_iter().map(to_wit_part_count).collect(),
        alarms: events.alarms.into_iter().map(to_wit_alarm).collect(),
        truncated,
    }
}

fn to_wit_cycle(cycle: model::Cycle) -> Cycle {
    Cycle {
        range: to_wit_range(cycle.start, cycle.end),
        ended: match cycle.ended {
            model::CycleEnd::Completed => CycleEnd::Completed,
            model::CycleEnd::Stopped => CycleEnd::Stopped,
            model::CycleEnd::Offline => CycleEnd::Offline,
        },
        program: cycle.program,
        active: cycle.active,
        parts: cycle.parts,
    }
}

fn to_wit_part_count(count: model::PartCount) -> PartCount {
    PartCount {
        at: count.at,
        parts: count.parts,
        counter: count.counter,
        program: count.program,
    }
}

fn to_wit_alarm(alarm: model::Alarm) -> Alarm {
    Alarm {
        data_item: alarm.data_item,
        native_code: alarm.native_code,
        level: crate::instance::to_wit_level(alarm.level),
        text: alarm.text,
        raised: alarm.start,
        cleared: alarm.end,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interval(status: MachineStatus, start: i64, end: i64) -> model::Interval {
        model::Interval { status, start, end }
    }

    #[test]
    fn short_intervals_join_their_neighbours() {
        use MachineStatus::{Alarm, Idle, Running};
        let intervals = [
            interval(Idle, 0, 2),
            interval(Running, 2, 100),
            interval(Idle, 100, 103),
            interval(Running, 103, 200),
            interval(Alarm, 200, 300),
        ];
        assert_eq!(
            coarsen(&intervals, 10),
            vec![interval(Running, 0, 200), interval(Alarm, 200, 300)]
        );
        assert_eq!(coarsen(&intervals, 1), intervals.to_vec());
    }

    #[test]
    fn gaps_are_kept() {
        use MachineStatus::Running;
        let intervals = [interval(Running, 0, 5), interval(Running, 50, 52)];
        assert_eq!(coarsen(&intervals, 10), intervals.to_vec());
    }
}
