//! Derives, incrementally, a machine's state timeline, part counts, cycles and alarms from its
//! stream of observations.
//!
//! A [`Deriver`] takes a machine's [`StoredObservation`]s in sequence order, in batches of any
//! size, and appends what they close — [`Interval`]s of the timeline, [`PartCount`]s,
//! [`Cycle`]s and [`Alarm`]s — to a [`Derived`]. What is still open (the current status, the
//! running cycle, the active alarms) is in [`Deriver::current`]. Everything the deriver
//! remembers is a [`DeriverState`], which serializes, so that derivation resumes where it
//! stopped: observations at or below [`DeriverState::processed_through`] are skipped, which
//! makes replays idempotent. How the observations are split into batches never changes the
//! output.
//!
//! # Signals
//!
//! The deriver reads five signals: availability, execution, controller mode, part count and
//! program. Which data item is which is resolved once per declaration (not per observation),
//! per signal:
//!
//! 1. If the machine's [`SignalMapping`] lists names for the signal, an observation is that
//!    signal when its data item id equals one of the names, or when a declared item whose
//!    `name` equals one of them has that id. Declared types and fallback names are then not
//!    used for that signal. A name listed for two signals belongs to the first of
//!    availability, execution, controller mode, part count, program.
//! 2. Otherwise, the first declared item whose type (`kind`) is the signal's MTConnect type
//!    (`AVAILABILITY`, `EXECUTION`, `CONTROLLER_MODE`, `PART_COUNT`, `PROGRAM`) is it: the
//!    machine's main path. Later ones (a lathe's second path, a subprogram) are not.
//! 3. Otherwise, data item ids that equal, ignoring ASCII case, a name controllers commonly
//!    use are it:
//!    - availability: `avail`, `availability`;
//!    - execution: `execution`, `exec`, `pexecution`, `Program_Status`;
//!    - controller mode: `mode`, `controllermode`, `controller_mode`, `pmode`;
//!    - part count: `partcount`, `part_count`, `PartCountAct`, `pcount`;
//!    - program: `program`, `pprogram`, `Program_Name_Running`, `program_name`.
//!
//!    A fallback name never applies to an item declared with a known type (anything but an
//!    empty or `UNKNOWN` type) that is not the signal: an item `mode` declared as `PATH_MODE`
//!    is not the controller mode.
//!
//! Conditions are recognized by their value ([`Value::Condition`]), whatever the data item.
//! Observations of other items are ignored. [`Deriver::declare`] re-resolves when the driver
//! declares its items again; what was derived so far is kept.
//!
//! Event values are compared trimmed and ignoring ASCII case.
//!
//! # Time
//!
//! Time only goes forward: an observation whose timestamp is earlier than the latest applied
//! one (the machine's clock went backwards) is taken to happen at the latest applied
//! timestamp. Observations are applied in sequence order, never re-sorted.
//!
//! # Status
//!
//! After each observation the status is, first match wins:
//!
//! 1. **offline** — no observation yet; or availability is `UNAVAILABLE` (or its value is
//!    unavailable); or availability has never been reported (or the machine has no
//!    availability signal) and execution is unavailable or has never been reported; or the
//!    host reported that it stopped reading the machine ([`COLLECTION_STOPPED`]) and the
//!    machine has reported nothing since.
//! 2. **alarm** — an alarm (see below) is active at level fault.
//! 3. **running** — execution is `ACTIVE`.
//! 4. **paused** — execution is `FEED_HOLD`, `INTERRUPTED`, `OPTIONAL_STOP` or
//!    `PROGRAM_STOPPED`.
//! 5. **setup** — the controller mode is `MANUAL`, `MANUAL_DATA_INPUT` or `MDI`.
//! 6. **idle** — anything else (`READY`, `STOPPED`, `PROGRAM_COMPLETED`, execution unavailable
//!    while the machine is available, …).
//!
//! The timeline is contiguous: the first observation opens it, and each change of status
//! closes the open interval at the change's timestamp. A status that lasts 0 ns (several
//! observations at one timestamp) is dropped, and its neighbours merge when equal. Hence a
//! closed interval is emitted once an observation with a later timestamp than the start of the
//! status that followed it arrives; until then it is [`Deriver::pending_interval`]. The open
//! interval is [`Current::status`] since [`Current::since`]. [`Current::unstored`] gives what
//! these add to the stored records over a span.
//!
//! # Parts
//!
//! Part count values are read as numbers (a sample, or event text), rounded; non-numeric,
//! negative and unavailable values are ignored and keep the baseline. The first number is the
//! baseline and counts no parts. A rise from `a` to `b` counts `b - a` parts. A drop from `a`
//! to `b` is:
//!
//! - a rollover when the mapping sets `part_count_rollover` to `Some(max)` and `a >= max / 2`:
//!   the counter went `a → max → 0 → b`, which counts `(max - a) + b + 1` parts;
//! - otherwise a reset of the counter to 0, which counts `b` parts.
//!
//! Each count of at least one part is a [`PartCount`], with the counter's new value and the
//! program known then.
//!
//! # Cycles
//!
//! A cycle starts when execution is `ACTIVE`, the machine is not offline and no cycle is open
//! (so a machine coming back online while reporting `ACTIVE` starts a new cycle). It stays
//! open through `FEED_HOLD`, `INTERRUPTED`, `OPTIONAL_STOP`, `PROGRAM_STOPPED` (and any other
//! value, or execution unavailable while the machine is available) and back to `ACTIVE`. It
//! ends when execution becomes `PROGRAM_COMPLETED` or `READY` (completed) or `STOPPED`
//! (stopped), or when the machine goes offline (ended offline, at that timestamp). Its
//! `active` time is the time execution was `ACTIVE` during it; its `program` is the program
//! signal's last known value at its start, including a program reported at the start's very
//! timestamp after the execution, or else the first program reported while it runs (an
//! unavailable program keeps the last known one; an empty one means none).
//!
//! Parts are credited to the open cycle; when none is open, to the cycle that ended less than
//! [`PART_GRACE_NS`] (60 s) before the count, since controls often count the part just after
//! the program ends. To emit each cycle once, with its final parts, an ended cycle is held back
//! until an observation at least 60 s after its end arrives, the next cycle starts, or the
//! machine goes offline: **cycles appear up to 60 s (of observation timestamps) late**. A cycle
//! ended by going offline is emitted at once.
//!
//! # Alarms
//!
//! A condition at level warning or fault with native code `C` (possibly none) on data item `I`
//! raises alarm `(I, C)` at its timestamp if it is not active; if it is, its level becomes the
//! highest seen and its text the latest given. A normal condition with a native code clears
//! that code of `I`; a normal condition without a code, an unavailable condition, or the item's
//! value becoming unavailable clears every alarm of `I`. Cleared alarms are emitted with their
//! `end`; active ones are in [`Current::alarms`]. Going offline does not clear alarms (but
//! offline takes precedence over alarm in the status).

mod alarms;
mod cycles;
mod parts;
mod signals;
mod status;
mod timeline;
mod totals;

use chatter_model::{
    Alarm, COLLECTION_STOPPED, Cycle, DataItem, Interval, MachineStatus, PartCount, SignalMapping,
    StoredObservation, Timestamp, Value,
};
use serde::{Deserialize, Serialize};

pub use cycles::{OpenCycle, PART_GRACE_NS};

use alarms::Alarms;
use cycles::Cycles;
use parts::Counter;
use signals::{Resolver, Signal};
use status::{Availability, Execution, Mode, Signals};
use timeline::Timeline;

/// Serializable snapshot of everything the deriver remembers: persist it with the derived
/// records to resume derivation where it stopped.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeriverState {
    /// The last sequence applied.
    processed_through: u64,
    /// The latest applied timestamp: time never goes back before it.
    latest: Option<Timestamp>,
    /// The status signals' latest values.
    signals: Signals,
    /// The program's last known value.
    program: Option<String>,
    /// The part counter's baseline.
    counter: Counter,
    /// The open status and the interval that may still merge.
    timeline: Timeline,
    /// The open cycle and the one in its part grace.
    cycles: Cycles,
    /// The active alarms.
    alarms: Alarms,
}

impl DeriverState {
    /// The last sequence applied, 0 if none.
    pub fn processed_through(&self) -> u64 {
        self.processed_through
    }
}

/// Records closed by a batch of observations, in the order they closed (per kind).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Derived {
    /// Closed intervals of the timeline.
    pub intervals: Vec<Interval>,
    /// Part counts.
    pub parts: Vec<PartCount>,
    /// Ended cycles (up to [`PART_GRACE_NS`] after they ended).
    pub cycles: Vec<Cycle>,
    /// Cleared alarms, with their `end`.
    pub alarms: Vec<Alarm>,
}

impl Derived {
    /// Whether nothing was derived.
    pub fn is_empty(&self) -> bool {
        self.intervals.is_empty()
            && self.parts.is_empty()
            && self.cycles.is_empty()
            && self.alarms.is_empty()
    }

    /// Empties every list, keeping their capacity for the next batch.
    pub fn clear(&mut self) {
        self.intervals.clear();
        self.parts.clear();
        self.cycles.clear();
        self.alarms.clear();
    }
}

/// What is open now.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Current {
    /// The current status ([`MachineStatus::Offline`] before any data).
    pub status: MachineStatus,
    /// Since when, in nanoseconds since the Unix epoch; `None` before any data.
    pub since: Option<Timestamp>,
    /// The cycle running now, its active time counted up to the latest observation.
    pub cycle: Option<OpenCycle>,
    /// The active alarms (`end` is `None`), in the order they were raised.
    pub alarms: Vec<Alarm>,
    /// The cycle that ended last, while parts may still be credited to it (see
    /// [`PART_GRACE_NS`]); it is not in the stored records yet.
    pub ended_cycle: Option<Cycle>,
    /// The interval the latest status change closed, not yet in the stored records (see
    /// [`Deriver::pending_interval`]): queries add it to what is stored.
    #[serde(skip)]
    pub pending: Option<Interval>,
}

/// Derives one machine's timeline, parts, cycles and alarms from its observations.
#[derive(Debug, Clone)]
pub struct Deriver {
    /// Which data item is which signal.
    resolver: Resolver,
    /// The machine's overrides, kept to re-resolve on [`Deriver::declare`].
    mapping: SignalMapping,
    /// Everything derived so far.
    state: DeriverState,
}

impl Deriver {
    /// A deriver for a machine whose driver declared `items` (may be empty), with the
    /// machine's `mapping` overrides, resuming from `state` (`DeriverState::default()` to
    /// start afresh).
    pub fn new(items: &[DataItem], mapping: &SignalMapping, state: DeriverState) -> Self {
        Deriver {
            resolver: Resolver::new(items, mapping),
            mapping: mapping.clone(),
            state,
        }
    }

    /// The driver declared its items (again): re-resolves which items are which signal,
    /// keeping what was derived so far.
    pub fn declare(&mut self, items: &[DataItem]) {
        self.resolver = Resolver::new(items, &self.mapping);
    }

    /// Applies `batch` in sequence order, appending what it closes to `out`. Observations
    /// with a sequence at or below [`DeriverState::processed_through`] are skipped, so that
    /// catching up after a restart may replay a batch.
    pub fn apply(&mut self, batch: &[StoredObservation], out: &mut Derived) {
        for stored in batch {
            self.apply_one(stored, out);
        }
    }

    /// Everything the deriver remembers, to persist.
    pub fn state(&self) -> &DeriverState {
        &self.state
    }

    /// What is open now: the current status and since when, the open cycle, active alarms.
    pub fn current(&self) -> Current {
        let state = &self.state;
        let (status, since) = match state.timeline.open() {
            Some((status, since)) => (status, Some(since)),
            None => (MachineStatus::Offline, None),
        };
        Current {
            status,
            since,
            cycle: state.latest.and_then(|latest| state.cycles.current(latest)),
            alarms: state.alarms.open().to_vec(),
            ended_cycle: state.cycles.ended().cloned(),
            pending: self.pending_interval(),
        }
    }

    /// The interval closed by the latest timestamp's status change, which is not emitted yet:
    /// it ends where [`Current::since`] begins, and is emitted once an observation with a later
    /// timestamp shows that the current status lasts (a status lasting 0 ns is dropped and the
    /// interval resumes). Queries over "now" add it to the stored intervals; without it, time
    /// would look uncovered while a machine stays silent after a change.
    pub fn pending_interval(&self) -> Option<Interval> {
        self.state.timeline.held()
    }

    /// Applies one observation.
    fn apply_one(&mut self, stored: &StoredObservation, out: &mut Derived) {
        let state = &mut self.state;
        if stored.sequence <= state.processed_through {
            return;
        }
        state.processed_through = stored.sequence;
        let observation = &stored.observation;
        let t = state.latest.map_or(observation.timestamp, |latest| {
            latest.max(observation.timestamp)
        });
        state.latest = Some(t);
        state.timeline.advance(t, &mut out.intervals);
        state.cycles.advance(t, &mut out.cycles);

        let item = observation.data_item.as_str();
        let value = &observation.value;
        // The host stopped reading the machine; anything the machine reports resumes it.
        let unread = item == COLLECTION_STOPPED;
        if state.signals.unread != unread {
            state.signals.unread = unread;
            state.refresh(t, out);
        }
        if unread {
            return;
        }
        let mut changed = match value {
            Value::Condition(condition) => {
                state.alarms.condition(item, condition, t, &mut out.alarms);
                true
            }
            Value::Unavailable => {
                let before = state.alarms.open().len();
                state.alarms.clear_item(item, t, &mut out.alarms);
                state.alarms.open().len() != before
            }
            Value::Sample(_) | Value::Event(_) => false,
        };
        if !matches!(value, Value::Condition(_))
            && let Some(signal) = self.resolver.get(item)
        {
            changed |= state.signal(signal, value, t, self.mapping.part_count_rollover, out);
        }
        if changed || state.timeline.open().is_none() {
            state.refresh(t, out);
        }
    }
}

impl DeriverState {
    /// Takes in a value of `signal` at `t`; returns whether the status inputs changed.
    fn signal(
        &mut self,
        signal: Signal,
        value: &Value,
        t: Timestamp,
        rollover: Option<u64>,
        out: &mut Derived,
    ) -> bool {
        match signal {
            Signal::Availability => {
                replace(&mut self.signals.availability, Availability::parse(value))
            }
            Signal::Execution => replace(&mut self.signals.execution, Execution::parse(value)),
            Signal::ControllerMode => replace(&mut self.signals.mode, Mode::parse(value)),
            Signal::PartCount => {
                self.count(value, t, rollover, out);
                false
            }
            Signal::Program => {
                if self.program_is(value) {
                    self.cycles.program_changed(t, &self.program);
                }
                false
            }
        }
    }

    /// Takes in a part count value at `t`.
    fn count(&mut self, value: &Value, t: Timestamp, rollover: Option<u64>, out: &mut Derived) {
        if let Some((parts, counter)) = self.counter.observe(value, rollover) {
            self.cycles.count(parts);
            out.parts.push(PartCount {
                at: t,
                parts,
                counter,
                program: self.program.clone(),
            });
        }
    }

    /// Takes in a program value: an unavailable one keeps the last known, an empty one is none.
    /// Returns whether the program changed; allocates only then.
    fn program_is(&mut self, value: &Value) -> bool {
        let program = match value {
            Value::Event(text) => Some(text.trim()).filter(|text| !text.is_empty()),
            Value::Sample(number) => {
                let number = number.to_string();
                return replace(&mut self.program, Some(Some(number)));
            }
            Value::Condition(_) | Value::Unavailable => return false,
        };
        if self.program.as_deref() == program {
            return false;
        }
        self.program = program.map(str::to_owned);
        true
    }

    /// The status inputs changed at `t`: follows them with the cycles and the timeline.
    fn refresh(&mut self, t: Timestamp, out: &mut Derived) {
        let offline = self.signals.offline();
        let execution = self.signals.execution;
        self.cycles
            .update(execution, offline, t, &self.program, &mut out.cycles);
        let status = self.signals.status(self.alarms.fault());
        self.timeline.set(status, t, &mut out.intervals);
    }
}

/// Sets `slot` to `value` if there is one; returns whether `slot` changed.
fn replace<T: PartialEq>(slot: &mut T, value: Option<T>) -> bool {
    match value {
        Some(value) if *slot != value => {
            *slot = value;
            true
        }
        _ => false,
    }
}
