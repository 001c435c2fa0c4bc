//! The rules' state machine: fed each machine's live changes and the wall clock, it decides
//! when a rule fires and when it resolves, per (rule, machine). It does no I/O — the
//! [`super::Alerts`] service feeds it from the live broadcast, arms a timer for
//! [`Engine::next_deadline`], and stores and delivers the [`Transition`]s it returns — so
//! that its behaviour is tested here with made-up times.
//!
//! # Two clocks
//!
//! A condition's time is the machine's data time: the timestamps of its observations. A
//! replayed or buffered log is judged by its own timestamps, however fast it arrives. A machine
//! whose data arrives about when it was stamped (within [`LIVE_SLACK`]) is *live*: its data
//! time is taken to run on with the wall clock between observations (a machine in alarm sends
//! nothing until the alarm changes), so a timer fires its rules without waiting for more data.
//! Whether a feed went silent is judged by the wall clock alone.
//!
//! # State
//!
//! Per (rule, machine): since when the condition holds (its *stretch*), whether it fired in
//! that stretch, and for a part count the day it fired. A stretch ends when the condition no
//! longer holds at a change, or when a change shows that a new one began (the status changed
//! and came back in between, unseen). Per machine: the latest change, and the parts of its
//! current local day.

use std::collections::{BTreeSet, HashMap};

use chatter_model::alert::{AlarmLevel, Condition, EventKind};
use chatter_model::{AlertEvent, AlertRule, MachineId, MachineStatus, OrgId, Shift, Timestamp};
use jiff::tz::TimeZone;

use crate::live::LiveEvent;
use crate::{shifts, time};

/// How far a machine's data time may be from the wall clock when its data arrives for the
/// machine to count as live. Controllers' clocks drift by minutes; a replay is years off.
pub(crate) const LIVE_SLACK: Timestamp = 3600 * time::SECOND;

const DAY: Timestamp = 86_400 * time::SECOND;
const MILLI: Timestamp = 1_000_000;

/// Why a rule fired or resolved, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cause {
    /// In alarm (faults, or warnings too).
    Alarm(AlarmLevel),
    /// Idle in a shift.
    Idle,
    /// Offline by its data.
    Offline,
    /// Its driver here has not reached it.
    Silent,
    /// Parts counted in the day: how many by then.
    Parts(u64),
}

/// A rule firing or resolving on a machine: what to record and deliver.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Transition {
    /// The rule, as it is now.
    pub(crate) rule: AlertRule,
    /// The machine.
    pub(crate) machine: MachineId,
    /// Fired or resolved.
    pub(crate) kind: EventKind,
    /// The event's id.
    pub(crate) id: String,
    /// When, in data time (wall time for a silent feed or a timer).
    pub(crate) at: Timestamp,
    /// Since when the condition held.
    pub(crate) since: Option<Timestamp>,
    /// For a resolved event, the fired one it ends.
    pub(crate) resolves: Option<String>,
    /// Why.
    pub(crate) cause: Cause,
}

/// An organization's shifts, as spans of time in which idle time counts: contiguous shifts
/// (06:00–14:00 then 14:00–22:00) make one span, so an alert does not resolve and fire again
/// at the handover.
pub(crate) struct Calendar {
    zone: TimeZone,
    shifts: Vec<Shift>,
    cache: Option<SpanCache>,
}

/// The spans around a recent time, so that each change does not lay out the week again.
struct SpanCache {
    from: Timestamp,
    to: Timestamp,
    spans: Vec<(Timestamp, Timestamp)>,
}

impl Calendar {
    /// The calendar of an organization in `zone` with `shifts`.
    pub(crate) fn new(zone: TimeZone, shifts: Vec<Shift>) -> Self {
        Calendar {
            zone,
            shifts,
            cache: None,
        }
    }

    /// The span of shifts holding `t`: its start (`Timestamp::MIN` when it began more than a
    /// day before `t`, as with shifts round the clock) and its end.
    fn span_at(&mut self, t: Timestamp) -> Option<(Timestamp, Timestamp)> {
        if self.shifts.is_empty() {
            return None;
        }
        let fresh = self
            .cache
            .as_ref()
            .is_some_and(|cache| cache.from + DAY <= t && t < cache.to - DAY);
        if !fresh {
            let (from, to) = (t.saturating_sub(2 * DAY), t.saturating_add(3 * DAY));
            let mut spans: Vec<(Timestamp, Timestamp)> = Vec::new();
            for period in shifts::shift_periods(&self.shifts, &self.zone, from, to) {
                match spans.last_mut() {
                    Some(last) if last.1 >= period.start => last.1 = last.1.max(period.end),
                    _ => spans.push((period.start, period.end)),
                }
            }
            // A span cut off by the window began earlier than the window says.
            if let Some(first) = spans.first_mut()
                && first.0 <= from
            {
                first.0 = Timestamp::MIN;
            }
            self.cache = Some(SpanCache { from, to, spans });
        }
        let cache = self.cache.as_ref()?;
        cache
            .spans
            .iter()
            .find(|(start, end)| *start <= t && t < *end)
            .copied()
    }

    /// The local day holding `at`.
    fn day_of(&self, at: Timestamp) -> Option<(Timestamp, Timestamp)> {
        time::day_of(at, &self.zone).ok()
    }
}

/// What the engine knows about a machine, from its latest change.
#[derive(Debug, Clone, Default)]
struct Track {
    status: Option<MachineStatus>,
    since: Option<Timestamp>,
    data_time: Option<Timestamp>,
    /// When the latest data arrived, in wall time (nanoseconds).
    arrived: Option<Timestamp>,
    alarm_since: Option<Timestamp>,
    /// When an alarm last cleared.
    alarms_cleared: Option<Timestamp>,
    /// Since when it has been online, as far as the engine saw.
    online_since: Option<Timestamp>,
    /// When its driver here last polled it, in wall time (nanoseconds).
    last_poll: Option<Timestamp>,
    /// Its current local day, once parts are counted, and the parts in it.
    day: Option<(Timestamp, Timestamp)>,
    day_parts: u64,
}

impl Track {
    /// Whether its data arrives about when it was stamped.
    fn is_live(&self) -> bool {
        match (self.data_time, self.arrived) {
            (Some(data), Some(arrived)) => (arrived - data).abs() <= LIVE_SLACK,
            _ => false,
        }
    }

    /// Its data time at wall time `now`: for a live machine, the latest data time plus the
    /// wall time since it arrived; for any other, the latest data time.
    fn time_at(&self, now: Timestamp) -> Option<Timestamp> {
        let data = self.data_time?;
        match self.arrived {
            Some(arrived) if self.is_live() => Some(data + (now - arrived).max(0)),
            _ => Some(data),
        }
    }

    /// The wall time at which a live machine's data time reaches `data`.
    fn wall_time_of(&self, data: Timestamp) -> Option<Timestamp> {
        let (latest, arrived) = (self.data_time?, self.arrived?);
        self.is_live().then(|| data - latest + arrived)
    }
}

/// Which clock a stretch is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Clock {
    Data,
    Wall,
}

/// A condition holding.
#[derive(Debug, Clone, Copy)]
struct Stretch {
    start: Timestamp,
    /// What identifies the stretch: a different one means a new stretch began. `None` when
    /// only seeing the condition stop ends it.
    key: Option<Timestamp>,
    clock: Clock,
    /// When it stops holding by itself (a shift's end), in data time.
    until: Option<Timestamp>,
    cause: Cause,
}

/// Per (rule, machine).
#[derive(Debug, Clone, Default)]
struct RuleState {
    start: Option<Timestamp>,
    key: Option<Timestamp>,
    /// The open fired event and why it fired.
    fired: Option<(String, Cause)>,
    /// The timer armed for it, in wall time.
    armed: Option<Timestamp>,
    /// For a part count: the start of the day it fired for.
    fired_day: Option<Timestamp>,
}

type StateKey = (OrgId, String, MachineId);

/// An organization's rules and calendar.
struct OrgRules {
    rules: Vec<AlertRule>,
    calendar: Calendar,
}

/// Event ids that sort by creation: milliseconds, then a counter for events made within one.
#[derive(Default)]
struct Ids {
    counter: u64,
}

impl Ids {
    fn next(&mut self, now: Timestamp) -> String {
        self.counter += 1;
        format!("{:013}-{:08x}", now.div_euclid(MILLI).max(0), self.counter)
    }
}

/// Every organization's rules with their state.
#[derive(Default)]
pub(crate) struct Engine {
    orgs: HashMap<OrgId, OrgRules>,
    tracks: HashMap<(OrgId, MachineId), Track>,
    states: HashMap<OrgId, HashMap<(String, MachineId), RuleState>>,
    timers: BTreeSet<(Timestamp, StateKey)>,
    ids: Ids,
}

impl Engine {
    /// Replaces an organization's rules and calendar. States of rules gone, disabled, or whose
    /// condition or machines changed are dropped (an open alert of theirs gets no resolved
    /// event); the machines seen so far are judged against the new rules at once.
    pub(crate) fn set_org(
        &mut self,
        org: &OrgId,
        rules: Vec<AlertRule>,
        calendar: Calendar,
        now: Timestamp,
    ) -> Vec<Transition> {
        let rules: Vec<AlertRule> = rules.into_iter().filter(|rule| rule.enabled).collect();
        if let Some(states) = self.states.get_mut(org) {
            let old = self
                .orgs
                .get(org)
                .map(|o| o.rules.as_slice())
                .unwrap_or(&[]);
            states.retain(|(rule_id, machine), _| {
                let before = old.iter().find(|r| &r.id == rule_id);
                let after = rules.iter().find(|r| &r.id == rule_id);
                match (before, after) {
                    (Some(before), Some(after)) => {
                        before.condition == after.condition
                            && before.machines == after.machines
                            && after.applies_to(machine)
                    }
                    _ => false,
                }
            });
        }
        self.orgs.insert(org.clone(), OrgRules { rules, calendar });
        let machines: Vec<MachineId> = self
            .tracks
            .keys()
            .filter(|(owner, _)| owner == org)
            .map(|(_, machine)| machine.clone())
            .collect();
        let mut out = Vec::new();
        for machine in machines {
            self.judge(org, &machine, None, now, &mut out);
        }
        out
    }

    /// Forgets an organization (it was deleted).
    pub(crate) fn remove_org(&mut self, org: &OrgId) {
        self.orgs.remove(org);
        self.states.remove(org);
        self.tracks.retain(|(owner, _), _| owner != org);
    }

    /// Takes up the alerts still open in an organization's history (newest first), so that a
    /// restart neither fires them again nor forgets to resolve them, and the days part counts
    /// already fired for.
    pub(crate) fn restore(&mut self, org: &OrgId, history: &[AlertEvent]) {
        let mut seen = std::collections::HashSet::new();
        for event in history {
            if !seen.insert((event.rule.as_str(), &event.machine)) {
                continue;
            }
            let Some(rules) = self.orgs.get(org) else {
                return;
            };
            let Some(rule) = rules.rules.iter().find(|r| r.id == event.rule) else {
                continue;
            };
            if !rule.applies_to(&event.machine) || event.kind != EventKind::Fired {
                continue;
            }
            let cause = cause_of(&rule.condition);
            let milestone = rule.condition.is_milestone();
            let day = rules.calendar.day_of(event.at).map(|(start, _)| start);
            let state = self
                .states
                .entry(org.clone())
                .or_default()
                .entry((event.rule.clone(), event.machine.clone()))
                .or_default();
            if milestone {
                state.fired_day = day;
            } else {
                state.start = event.since;
                state.fired = Some((event.id.clone(), cause));
            }
        }
    }

    /// The open alerts of an organization: (rule, machine) of every fired, unresolved one.
    pub(crate) fn open(&self, org: &OrgId) -> Vec<(String, MachineId)> {
        self.states.get(org).map_or_else(Vec::new, |states| {
            states
                .iter()
                .filter(|(_, state)| state.fired.is_some())
                .map(|(key, _)| key.clone())
                .collect()
        })
    }

    /// The day a change's parts need counted before it, when the engine has not counted the
    /// machine's day yet and a part-count rule watches it: the day, and the instant to count up
    /// to (the change's first part, exclusive).
    pub(crate) fn needs_day_count(
        &self,
        event: &LiveEvent,
    ) -> Option<((Timestamp, Timestamp), Timestamp)> {
        let (first, _) = *event.new_parts.first()?;
        let rules = self.orgs.get(&event.org)?;
        let counted = rules
            .rules
            .iter()
            .any(|rule| rule.condition.is_milestone() && rule.applies_to(&event.machine));
        let known = self
            .tracks
            .get(&(event.org.clone(), event.machine.clone()))
            .is_some_and(|track| track.day.is_some());
        if !counted || known {
            return None;
        }
        Some((rules.calendar.day_of(first)?, first))
    }

    /// Sets the parts a machine made in `day` before the changes to come (read from the store).
    pub(crate) fn set_day_count(
        &mut self,
        org: &OrgId,
        machine: &MachineId,
        day: (Timestamp, Timestamp),
        parts: u64,
    ) {
        let track = self
            .tracks
            .entry((org.clone(), machine.clone()))
            .or_default();
        track.day = Some(day);
        track.day_parts = parts;
    }

    /// Takes in a machine's change, seen at wall time `now`.
    pub(crate) fn observe(&mut self, event: &LiveEvent, now: Timestamp) -> Vec<Transition> {
        let (org, machine) = (&event.org, &event.machine);
        let mut out = Vec::new();
        if !self.orgs.contains_key(org) {
            return out;
        }
        let track = self
            .tracks
            .entry((org.clone(), machine.clone()))
            .or_default();
        let data_changed = event.data_time != track.data_time;
        track.status = Some(event.status);
        track.since = event.since;
        if data_changed {
            track.data_time = event.data_time;
            track.arrived = event.last_update_ms.map(|ms| ms.saturating_mul(MILLI));
        }
        track.alarm_since = event.alarm_since;
        track.alarms_cleared = event.alarms_cleared_at;
        track.last_poll = event.last_poll_ms.map(|ms| ms.saturating_mul(MILLI));
        if event.status == MachineStatus::Offline {
            track.online_since = None;
        } else if track.online_since.is_none() {
            track.online_since = event.since;
        }
        if !event.new_parts.is_empty() {
            self.count_parts(event, now, &mut out);
        }
        self.judge(org, machine, None, now, &mut out);
        out
    }

    /// When the engine next needs [`Engine::due`], in wall time.
    pub(crate) fn next_deadline(&self) -> Option<Timestamp> {
        self.timers.first().map(|(at, _)| *at)
    }

    /// Judges again every (rule, machine) whose timer is due at wall time `now`.
    pub(crate) fn due(&mut self, now: Timestamp) -> Vec<Transition> {
        let mut out = Vec::new();
        while let Some(first) = self.timers.first().cloned() {
            if first.0 > now {
                break;
            }
            self.timers.remove(&first);
            let (at, (org, rule_id, machine)) = first;
            let state = self
                .states
                .get_mut(&org)
                .and_then(|states| states.get_mut(&(rule_id.clone(), machine.clone())));
            // A timer another replaced, or of a state since dropped, is stale.
            let Some(state) = state.filter(|state| state.armed == Some(at)) else {
                continue;
            };
            state.armed = None;
            self.judge(&org, &machine, Some(&rule_id), now, &mut out);
        }
        out
    }

    /// Judges every duration rule watching `machine`, or only rule `only`.
    fn judge(
        &mut self,
        org: &OrgId,
        machine: &MachineId,
        only: Option<&str>,
        now: Timestamp,
        out: &mut Vec<Transition>,
    ) {
        // Borrowed field by field — rules, calendar, track and states at once — so that
        // nothing is cloned unless a rule fires or resolves.
        let Engine {
            orgs,
            tracks,
            states,
            timers,
            ids,
        } = self;
        let (Some(org_rules), Some(track)) = (
            orgs.get_mut(org),
            tracks.get(&(org.clone(), machine.clone())),
        ) else {
            return;
        };
        let OrgRules { rules, calendar } = org_rules;
        let mut judging = Judging {
            org,
            machine,
            track,
            calendar,
            states: states.entry(org.clone()).or_default(),
            timers,
            ids,
            now,
        };
        let watching = rules.iter().filter(|rule| {
            !rule.condition.is_milestone()
                && rule.applies_to(machine)
                && only.is_none_or(|id| id == rule.id)
        });
        for rule in watching {
            judging.rule(rule, out);
        }
    }

    /// Counts a change's parts into the machine's day and fires part-count rules that reach
    /// their count, once a day each.
    fn count_parts(&mut self, event: &LiveEvent, now: Timestamp, out: &mut Vec<Transition>) {
        let (org, machine) = (&event.org, &event.machine);
        let Some(rules) = self.orgs.get(org) else {
            return;
        };
        let counting: Vec<AlertRule> = rules
            .rules
            .iter()
            .filter(|rule| rule.condition.is_milestone() && rule.applies_to(machine))
            .cloned()
            .collect();
        if counting.is_empty() {
            return;
        }
        for &(at, parts) in &event.new_parts {
            let Some(day) = rules.calendar.day_of(at) else {
                continue;
            };
            let Some(track) = self.tracks.get_mut(&(org.clone(), machine.clone())) else {
                return;
            };
            if track.day != Some(day) {
                track.day = Some(day);
                track.day_parts = 0;
            }
            track.day_parts += parts;
            let total = track.day_parts;
            for rule in &counting {
                let Condition::PartCount { parts: goal } = rule.condition else {
                    continue;
                };
                let state = self
                    .states
                    .entry(org.clone())
                    .or_default()
                    .entry((rule.id.clone(), machine.clone()))
                    .or_default();
                if total >= goal && state.fired_day != Some(day.0) {
                    state.fired_day = Some(day.0);
                    out.push(Transition {
                        rule: rule.clone(),
                        machine: machine.clone(),
                        kind: EventKind::Fired,
                        id: self.ids.next(now),
                        at,
                        since: None,
                        resolves: None,
                        cause: Cause::Parts(total),
                    });
                }
            }
        }
    }
}

/// One machine's rules being judged, with what that borrows of the engine.
struct Judging<'a> {
    org: &'a OrgId,
    machine: &'a MachineId,
    track: &'a Track,
    calendar: &'a mut Calendar,
    states: &'a mut HashMap<(String, MachineId), RuleState>,
    timers: &'a mut BTreeSet<(Timestamp, StateKey)>,
    ids: &'a mut Ids,
    now: Timestamp,
}

impl Judging<'_> {
    /// Judges one duration rule: fires, resolves, or arms a timer for when it would fire (or
    /// its stretch would end by itself).
    fn rule(&mut self, rule: &AlertRule, out: &mut Vec<Transition>) {
        let Some(duration) = rule.condition.duration() else {
            return;
        };
        let (track, machine, now) = (self.track, self.machine, self.now);
        let data_now = track.time_at(now);
        let stretch = evaluate(&rule.condition, track, self.calendar, now);
        let key = (rule.id.clone(), machine.clone());
        let state = self.states.entry(key.clone()).or_default();
        let mut arm = None;
        match stretch {
            None => {
                if let Some((fired, cause)) = state.fired.take() {
                    let ended = ended_at(cause, track, state.start, now);
                    out.push(Transition {
                        rule: rule.clone(),
                        machine: machine.clone(),
                        kind: EventKind::Resolved,
                        id: self.ids.next(now),
                        at: ended.or(data_now).unwrap_or(now),
                        since: state.start,
                        resolves: Some(fired),
                        cause,
                    });
                }
                state.start = None;
                state.key = None;
            }
            Some(stretch) => {
                let renewed = state.start.is_some()
                    && matches!((state.key, stretch.key), (Some(a), Some(b)) if a != b);
                if renewed {
                    // The previous stretch ended unseen, by the time this one began — when the
                    // machine's change does not say more exactly.
                    if let Some((fired, cause)) = state.fired.take() {
                        let ended = if cause == stretch.cause {
                            None
                        } else {
                            ended_at(cause, track, state.start, now)
                        };
                        out.push(Transition {
                            rule: rule.clone(),
                            machine: machine.clone(),
                            kind: EventKind::Resolved,
                            id: self.ids.next(now),
                            at: ended.unwrap_or(stretch.start),
                            since: state.start,
                            resolves: Some(fired),
                            cause,
                        });
                    }
                    state.start = None;
                }
                let start = *state.start.get_or_insert(stretch.start);
                if state.key.is_none() || renewed {
                    state.key = stretch.key;
                }
                let t = match stretch.clock {
                    Clock::Data => data_now,
                    Clock::Wall => Some(now),
                };
                let deadline = start.saturating_add(duration);
                if state.fired.is_none() {
                    if t.is_some_and(|t| t >= deadline) {
                        let id = self.ids.next(now);
                        state.fired = Some((id.clone(), stretch.cause));
                        out.push(Transition {
                            rule: rule.clone(),
                            machine: machine.clone(),
                            kind: EventKind::Fired,
                            id,
                            at: t.unwrap_or(now),
                            since: Some(start),
                            resolves: None,
                            cause: stretch.cause,
                        });
                    } else {
                        arm = match stretch.clock {
                            Clock::Data => track.wall_time_of(deadline),
                            Clock::Wall => Some(deadline),
                        };
                    }
                }
                if state.fired.is_some()
                    && let Some(until) = stretch.until
                {
                    arm = track.wall_time_of(until);
                }
            }
        }
        if let Some(at) = arm
            && state.armed.is_none_or(|armed| armed > at)
        {
            // An earlier timer stays: when it fires, the rule is judged again and re-armed.
            state.armed = Some(at);
            self.timers.insert((at, (self.org.clone(), key.0, key.1)));
        }
    }
}

/// When a stretch that began at `start` and fired for `cause` ended, as exactly as the
/// machine's latest change tells: the start of the status that replaced the one it was about,
/// when an alarm last cleared, or when a silent driver was heard from again. `None` when the
/// change tells nothing better than its own data time.
fn ended_at(
    cause: Cause,
    track: &Track,
    start: Option<Timestamp>,
    now: Timestamp,
) -> Option<Timestamp> {
    let status = track.status?;
    let ended = match cause {
        Cause::Alarm(AlarmLevel::Fault) if status != MachineStatus::Alarm => track.since,
        Cause::Offline if status != MachineStatus::Offline => track.since,
        Cause::Idle if status != MachineStatus::Idle => track.since,
        Cause::Alarm(AlarmLevel::Warning) if status == MachineStatus::Offline => track.since,
        Cause::Alarm(AlarmLevel::Warning) => track.alarms_cleared,
        Cause::Silent => Some(track.last_poll.unwrap_or(now)),
        _ => None,
    }?;
    // What came before the stretch tells nothing of its end.
    (start.is_none_or(|start| ended >= start)).then_some(ended)
}

fn cause_of(condition: &Condition) -> Cause {
    match condition {
        Condition::InAlarm { level, .. } => Cause::Alarm(*level),
        Condition::IdleDuringShift { .. } => Cause::Idle,
        Condition::Offline { .. } => Cause::Offline,
        Condition::PartCount { .. } => Cause::Parts(0),
    }
}

/// Whether `condition` holds for the machine at wall time `now`, and since when.
fn evaluate(
    condition: &Condition,
    track: &Track,
    calendar: &mut Calendar,
    now: Timestamp,
) -> Option<Stretch> {
    let status = track.status?;
    let data = |start: Timestamp, key: Option<Timestamp>, cause| Stretch {
        start,
        key,
        clock: Clock::Data,
        until: None,
        cause,
    };
    match *condition {
        Condition::InAlarm {
            level: AlarmLevel::Fault,
            ..
        } => {
            let since = track.since?;
            (status == MachineStatus::Alarm)
                .then(|| data(since, Some(since), Cause::Alarm(AlarmLevel::Fault)))
        }
        Condition::InAlarm {
            level: AlarmLevel::Warning,
            ..
        } => {
            let raised = track.alarm_since?;
            let start = raised.max(track.online_since.unwrap_or(raised));
            (status != MachineStatus::Offline)
                .then(|| data(start, None, Cause::Alarm(AlarmLevel::Warning)))
        }
        Condition::IdleDuringShift { .. } => {
            let since = track.since?;
            if status != MachineStatus::Idle {
                return None;
            }
            let t = track.time_at(now)?;
            let (shift_start, shift_end) = calendar.span_at(t)?;
            let start = since.max(shift_start);
            Some(Stretch {
                until: Some(shift_end),
                ..data(start, Some(start), Cause::Idle)
            })
        }
        Condition::Offline { .. } => {
            if status == MachineStatus::Offline {
                let since = track.since?;
                return Some(data(since, Some(since), Cause::Offline));
            }
            // A driver here that polls is proof of life, even when nothing changes.
            let last = track.last_poll?;
            Some(Stretch {
                start: last,
                key: Some(last),
                clock: Clock::Wall,
                until: None,
                cause: Cause::Silent,
            })
        }
        Condition::PartCount { .. } => None,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use chatter_model::UserId;
    use chatter_model::alert::Channels;

    use super::*;

    const MIN: Timestamp = 60 * time::SECOND;
    /// 2016-05-10T00:00:00Z, a Tuesday: replayed data, years before the wall clock.
    const REPLAY_DAY: Timestamp = 1_462_838_400 * time::SECOND;
    /// The wall clock of the tests: 2030-01-01T00:00:00Z.
    const NOW: Timestamp = 1_893_456_000 * time::SECOND;

    fn org() -> OrgId {
        OrgId::new("acme").unwrap()
    }

    fn mill() -> MachineId {
        MachineId::new("mill-1").unwrap()
    }

    fn rule(id: &str, condition: Condition) -> AlertRule {
        AlertRule {
            id: id.into(),
            org: org(),
            name: format!("rule {id}"),
            condition,
            machines: Vec::new(),
            channels: Channels::default(),
            enabled: true,
            muted_until_ms: None,
            created_by: UserId::new("u1").unwrap(),
            created_ms: 0,
        }
    }

    fn engine(rules: Vec<AlertRule>, shifts: Vec<Shift>) -> Engine {
        let mut engine = Engine::default();
        let calendar = Calendar::new(TimeZone::UTC, shifts);
        assert!(engine.set_org(&org(), rules, calendar, NOW).is_empty());
        engine
    }

    /// A change of `mill-1`: its status since `since`, data up to `data`, arrived at wall time
    /// `arrived`.
    fn change(
        status: MachineStatus,
        since: Timestamp,
        data: Timestamp,
        arrived: Timestamp,
    ) -> LiveEvent {
        LiveEvent {
            org: org(),
            machine: mill(),
            status,
            last_update_ms: Some(arrived / MILLI),
            sequence: 1,
            since: Some(since),
            data_time: Some(data),
            alarm_since: (status == MachineStatus::Alarm).then_some(since),
            last_poll_ms: None,
            alarms_cleared_at: None,
            new_parts: Vec::new(),
        }
    }

    /// A replayed change: arrives now, stamped years ago.
    fn replayed(status: MachineStatus, since: Timestamp, data: Timestamp) -> LiveEvent {
        change(status, since, data, NOW)
    }

    fn kinds(transitions: &[Transition]) -> Vec<(EventKind, Option<Timestamp>, Timestamp)> {
        transitions
            .iter()
            .map(|t| (t.kind, t.since, t.at))
            .collect()
    }

    fn in_alarm(minutes: u32) -> Condition {
        Condition::InAlarm {
            minutes,
            level: AlarmLevel::Fault,
        }
    }

    #[test]
    fn an_alarm_fires_once_when_data_shows_it_lasted_and_resolves_once() {
        let mut engine = engine(vec![rule("long", in_alarm(10))], Vec::new());
        let s = REPLAY_DAY + 8 * 60 * MIN;
        let alarm = MachineStatus::Alarm;
        assert!(engine.observe(&replayed(alarm, s, s), NOW).is_empty());
        assert!(
            engine
                .observe(&replayed(alarm, s, s + 9 * MIN), NOW)
                .is_empty()
        );
        let fired = engine.observe(&replayed(alarm, s, s + 10 * MIN), NOW);
        assert_eq!(kinds(&fired), [(EventKind::Fired, Some(s), s + 10 * MIN)]);
        assert_eq!(fired[0].cause, Cause::Alarm(AlarmLevel::Fault));
        assert_eq!(engine.open(&org()), [("long".to_owned(), mill())]);
        // Still in alarm: nothing more.
        assert!(
            engine
                .observe(&replayed(alarm, s, s + 20 * MIN), NOW)
                .is_empty()
        );
        let end = s + 25 * MIN;
        let resolved = engine.observe(&replayed(MachineStatus::Idle, end, end), NOW);
        assert_eq!(kinds(&resolved), [(EventKind::Resolved, Some(s), end)]);
        assert_eq!(resolved[0].resolves.as_deref(), Some(fired[0].id.as_str()));
        assert!(resolved[0].id > fired[0].id, "ids sort by creation");
        assert!(
            engine
                .observe(&replayed(MachineStatus::Idle, end, end + MIN), NOW)
                .is_empty()
        );
        assert!(engine.open(&org()).is_empty());
    }

    #[test]
    fn an_alarm_cleared_before_its_time_fires_nothing() {
        let mut engine = engine(vec![rule("long", in_alarm(10))], Vec::new());
        let s = REPLAY_DAY;
        assert!(
            engine
                .observe(&replayed(MachineStatus::Alarm, s, s + 9 * MIN), NOW)
                .is_empty()
        );
        let back = s + 9 * MIN + 30 * time::SECOND;
        assert!(
            engine
                .observe(&replayed(MachineStatus::Running, back, back), NOW)
                .is_empty()
        );
        // Data long after, in another state, fires nothing either.
        assert!(
            engine
                .observe(
                    &replayed(MachineStatus::Running, back, back + 60 * MIN),
                    NOW
                )
                .is_empty()
        );
        // A new alarm counts from its own start.
        let again = back + 61 * MIN;
        assert!(
            engine
                .observe(&replayed(MachineStatus::Alarm, again, again + 9 * MIN), NOW)
                .is_empty()
        );
        let fired = engine.observe(
            &replayed(MachineStatus::Alarm, again, again + 10 * MIN),
            NOW,
        );
        assert_eq!(
            kinds(&fired),
            [(EventKind::Fired, Some(again), again + 10 * MIN)]
        );
    }

    #[test]
    fn an_alarm_that_ended_unseen_is_resolved_before_the_next_one_counts() {
        let mut engine = engine(vec![rule("long", in_alarm(10))], Vec::new());
        let s = REPLAY_DAY;
        assert_eq!(
            engine
                .observe(&replayed(MachineStatus::Alarm, s, s + 11 * MIN), NOW)
                .len(),
            1
        );
        // The next change shows another alarm: the first ended in between.
        let next = s + 30 * MIN;
        let seen = engine.observe(&replayed(MachineStatus::Alarm, next, next + MIN), NOW);
        assert_eq!(kinds(&seen), [(EventKind::Resolved, Some(s), next)]);
    }

    #[test]
    fn replayed_data_is_judged_by_its_own_time_never_by_the_wall_clock() {
        let mut engine = engine(vec![rule("long", in_alarm(10))], Vec::new());
        let s = REPLAY_DAY;
        assert!(
            engine
                .observe(&replayed(MachineStatus::Alarm, s, s), NOW)
                .is_empty()
        );
        assert_eq!(engine.next_deadline(), None);
        // Hours of wall time pass: the replay's alarm lasted no longer for it.
        assert!(engine.due(NOW + 600 * MIN).is_empty());
        assert!(engine.open(&org()).is_empty());
    }

    #[test]
    fn a_live_machine_in_alarm_fires_by_the_wall_clock_without_more_data() {
        let mut engine = engine(vec![rule("long", in_alarm(10))], Vec::new());
        // The machine's clock is 2 minutes behind the server's: its alarm began 1 minute ago
        // by its clock, and its data arrived now.
        let skew = 2 * MIN;
        let s = NOW - skew - MIN;
        let latest = NOW - skew;
        assert!(
            engine
                .observe(&change(MachineStatus::Alarm, s, latest, NOW), NOW)
                .is_empty()
        );
        // 10 minutes after the alarm began by the machine's clock: 9 minutes from now.
        assert_eq!(engine.next_deadline(), Some(NOW + 9 * MIN));
        // Polls change nothing in between (same data), and the timer stays.
        let poll = change(MachineStatus::Alarm, s, latest, NOW);
        assert!(engine.observe(&poll, NOW + MIN).is_empty());
        assert!(engine.due(NOW + 8 * MIN).is_empty());
        let fired = engine.due(NOW + 9 * MIN);
        assert_eq!(kinds(&fired), [(EventKind::Fired, Some(s), s + 10 * MIN)]);
        assert_eq!(engine.next_deadline(), None);
        let back = s + 12 * MIN;
        let resolved = engine.observe(
            &change(MachineStatus::Idle, back, back, NOW + 11 * MIN),
            NOW + 11 * MIN,
        );
        assert_eq!(kinds(&resolved), [(EventKind::Resolved, Some(s), back)]);
    }

    #[test]
    fn a_stale_timer_does_not_fire_an_alarm_that_ended() {
        let mut engine = engine(vec![rule("long", in_alarm(10))], Vec::new());
        assert!(
            engine
                .observe(&change(MachineStatus::Alarm, NOW, NOW, NOW), NOW)
                .is_empty()
        );
        let later = NOW + 3 * MIN;
        assert!(
            engine
                .observe(&change(MachineStatus::Running, later, later, later), later)
                .is_empty()
        );
        assert!(engine.due(NOW + 30 * MIN).is_empty());
    }

    #[test]
    fn warnings_count_for_a_warning_rule_while_online() {
        let warning = Condition::InAlarm {
            minutes: 10,
            level: AlarmLevel::Warning,
        };
        let mut engine = engine(
            vec![rule("warn", warning), rule("fault", in_alarm(10))],
            Vec::new(),
        );
        let s = REPLAY_DAY;
        let mut running = replayed(MachineStatus::Running, s, s);
        assert!(engine.observe(&running, NOW).is_empty());
        // A warning from s + 1 min: the machine keeps running.
        running.alarm_since = Some(s + MIN);
        running.data_time = Some(s + 10 * MIN);
        assert!(engine.observe(&running, NOW).is_empty());
        running.data_time = Some(s + 11 * MIN);
        let fired = engine.observe(&running, NOW);
        assert_eq!(
            kinds(&fired),
            [(EventKind::Fired, Some(s + MIN), s + 11 * MIN)]
        );
        assert_eq!(fired[0].rule.id, "warn");
        // Offline ends it, though alarms stay active while offline.
        let off = s + 12 * MIN;
        let mut offline = replayed(MachineStatus::Offline, off, off);
        offline.alarm_since = Some(s + MIN);
        assert_eq!(
            kinds(&engine.observe(&offline, NOW)),
            [(EventKind::Resolved, Some(s + MIN), off)]
        );
        // Back online with the same warning: it counts from the return.
        let back = s + 40 * MIN;
        let mut online = replayed(MachineStatus::Idle, back, back + 10 * MIN);
        online.alarm_since = Some(s + MIN);
        assert_eq!(
            kinds(&engine.observe(&online, NOW)),
            [(EventKind::Fired, Some(back), back + 10 * MIN)]
        );
    }

    #[test]
    fn a_resolved_alarm_is_dated_when_it_cleared_not_when_the_news_arrived() {
        let warning = Condition::InAlarm {
            minutes: 10,
            level: AlarmLevel::Warning,
        };
        let mut engine = engine(vec![rule("warn", warning)], Vec::new());
        let s = REPLAY_DAY;
        let mut running = replayed(MachineStatus::Running, s, s + 11 * MIN);
        running.alarm_since = Some(s);
        assert_eq!(engine.observe(&running, NOW).len(), 1);
        // The warning cleared at s + 12 min; the batch that said so ran on to s + 15 min.
        running.alarm_since = None;
        running.alarms_cleared_at = Some(s + 12 * MIN);
        running.data_time = Some(s + 15 * MIN);
        let resolved = engine.observe(&running, NOW);
        assert_eq!(
            kinds(&resolved),
            [(EventKind::Resolved, Some(s), s + 12 * MIN)]
        );
    }

    fn shift(name: &str, start: &str, end: &str) -> Shift {
        serde_json::from_value(serde_json::json!({
            "name": name,
            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
            "start": start,
            "end": end,
        }))
        .unwrap()
    }

    #[test]
    fn idle_counts_only_inside_a_shift_and_resolves_when_it_ends() {
        let idle = Condition::IdleDuringShift { minutes: 30 };
        let mut engine = engine(
            vec![rule("idle", idle)],
            vec![shift("Night", "22:00", "06:00")],
        );
        let day = REPLAY_DAY;
        let s = day + 20 * 60 * MIN; // idle from 20:00
        let at = |hours: i64, minutes: i64| day + hours * 60 * MIN + minutes * MIN;
        // Two hours idle before the shift count for nothing.
        assert!(
            engine
                .observe(&replayed(MachineStatus::Idle, s, at(22, 0)), NOW)
                .is_empty()
        );
        assert!(
            engine
                .observe(&replayed(MachineStatus::Idle, s, at(22, 29)), NOW)
                .is_empty()
        );
        let fired = engine.observe(&replayed(MachineStatus::Idle, s, at(22, 30)), NOW);
        assert_eq!(
            kinds(&fired),
            [(EventKind::Fired, Some(at(22, 0)), at(22, 30))]
        );
        assert_eq!(fired[0].cause, Cause::Idle);
        // Past midnight, still in the night shift: nothing.
        assert!(
            engine
                .observe(&replayed(MachineStatus::Idle, s, at(25, 0)), NOW)
                .is_empty()
        );
        // The shift ends at 06:00 the next morning, the machine still idle.
        let resolved = engine.observe(&replayed(MachineStatus::Idle, s, at(30, 1)), NOW);
        assert_eq!(
            kinds(&resolved),
            [(EventKind::Resolved, Some(at(22, 0)), at(30, 1))]
        );
        // Idle all day outside the shift: nothing.
        assert!(
            engine
                .observe(&replayed(MachineStatus::Idle, s, at(45, 0)), NOW)
                .is_empty()
        );
        // The next night counts from its own start.
        let fired = engine.observe(&replayed(MachineStatus::Idle, s, at(46, 30)), NOW);
        assert_eq!(
            kinds(&fired),
            [(EventKind::Fired, Some(at(46, 0)), at(46, 30))]
        );
    }

    #[test]
    fn idle_through_back_to_back_shifts_is_one_alert_and_no_shifts_means_none() {
        let idle = Condition::IdleDuringShift { minutes: 30 };
        let shifts = vec![
            shift("Early", "06:00", "14:00"),
            shift("Late", "14:00", "22:00"),
        ];
        let mut engine = engine(vec![rule("idle", idle)], shifts);
        let s = REPLAY_DAY + 13 * 60 * MIN;
        assert_eq!(
            engine
                .observe(&replayed(MachineStatus::Idle, s, s + 30 * MIN), NOW)
                .len(),
            1
        );
        assert!(
            engine
                .observe(&replayed(MachineStatus::Idle, s, s + 90 * MIN), NOW)
                .is_empty()
        );

        let mut without = self::engine(vec![rule("idle", idle)], Vec::new());
        assert!(
            without
                .observe(&replayed(MachineStatus::Idle, s, s + 600 * MIN), NOW)
                .is_empty()
        );
    }

    #[test]
    fn a_live_machine_idle_at_the_shift_end_resolves_by_the_wall_clock() {
        let idle = Condition::IdleDuringShift { minutes: 10 };
        let mut engine = engine(
            vec![rule("idle", idle)],
            vec![shift("Day", "00:00", "01:00")],
        );
        // NOW is midnight: idle since then, live.
        assert!(
            engine
                .observe(&change(MachineStatus::Idle, NOW, NOW, NOW), NOW)
                .is_empty()
        );
        assert_eq!(engine.next_deadline(), Some(NOW + 10 * MIN));
        assert_eq!(engine.due(NOW + 10 * MIN).len(), 1);
        assert_eq!(engine.next_deadline(), Some(NOW + 60 * MIN));
        let resolved = engine.due(NOW + 60 * MIN);
        assert_eq!(
            kinds(&resolved),
            [(EventKind::Resolved, Some(NOW), NOW + 60 * MIN)]
        );
    }

    #[test]
    fn a_part_count_fires_once_a_day_per_machine() {
        let mut engine = engine(
            vec![rule("goal", Condition::PartCount { parts: 3 })],
            Vec::new(),
        );
        let day = REPLAY_DAY;
        let mut parts = replayed(MachineStatus::Running, day, day + MIN);
        parts.new_parts = vec![(day + MIN, 1)];
        // The day was never counted: the caller reads what came before this change.
        assert_eq!(
            engine.needs_day_count(&parts),
            Some(((day, day + DAY), day + MIN))
        );
        engine.set_day_count(&org(), &mill(), (day, day + DAY), 1);
        assert!(engine.observe(&parts, NOW).is_empty());
        assert_eq!(engine.needs_day_count(&parts), None);
        parts.new_parts = vec![(day + 2 * MIN, 1), (day + 3 * MIN, 1)];
        let fired = engine.observe(&parts, NOW);
        assert_eq!(kinds(&fired), [(EventKind::Fired, None, day + 2 * MIN)]);
        assert_eq!(fired[0].cause, Cause::Parts(3));
        parts.new_parts = vec![(day + 4 * MIN, 5)];
        assert!(engine.observe(&parts, NOW).is_empty());
        // The next day starts from 0.
        parts.new_parts = vec![(day + DAY + MIN, 2)];
        assert!(engine.observe(&parts, NOW).is_empty());
        parts.new_parts = vec![(day + DAY + 2 * MIN, 1)];
        assert_eq!(
            kinds(&engine.observe(&parts, NOW)),
            [(EventKind::Fired, None, day + DAY + 2 * MIN)]
        );
        // Part counts never open an alert.
        assert!(engine.open(&org()).is_empty());
    }

    #[test]
    fn a_silent_driver_fires_offline_by_the_wall_clock_and_resolves_when_it_polls_again() {
        let mut engine = engine(
            vec![rule("off", Condition::Offline { minutes: 5 })],
            Vec::new(),
        );
        let mut poll = change(
            MachineStatus::Running,
            NOW - 60 * MIN,
            NOW - 60 * MIN,
            NOW - 60 * MIN,
        );
        poll.last_poll_ms = Some(NOW / MILLI);
        assert!(engine.observe(&poll, NOW).is_empty());
        assert_eq!(engine.next_deadline(), Some(NOW + 5 * MIN));
        // Polls keep coming: the first timer finds the machine alive and waits for the latest.
        poll.last_poll_ms = Some((NOW + 2 * MIN) / MILLI);
        assert!(engine.observe(&poll, NOW + 2 * MIN).is_empty());
        assert!(engine.due(NOW + 5 * MIN).is_empty());
        assert_eq!(engine.next_deadline(), Some(NOW + 7 * MIN));
        let fired = engine.due(NOW + 7 * MIN);
        assert_eq!(
            kinds(&fired),
            [(EventKind::Fired, Some(NOW + 2 * MIN), NOW + 7 * MIN)]
        );
        assert_eq!(fired[0].cause, Cause::Silent);
        poll.last_poll_ms = Some((NOW + 9 * MIN) / MILLI);
        let resolved = engine.observe(&poll, NOW + 9 * MIN);
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].kind, EventKind::Resolved);
    }

    #[test]
    fn offline_by_data_fires_on_the_data_clock() {
        let mut engine = engine(
            vec![rule("off", Condition::Offline { minutes: 5 })],
            Vec::new(),
        );
        let s = REPLAY_DAY;
        assert!(
            engine
                .observe(&replayed(MachineStatus::Offline, s, s + 4 * MIN), NOW)
                .is_empty()
        );
        let fired = engine.observe(&replayed(MachineStatus::Offline, s, s + 6 * MIN), NOW);
        assert_eq!(fired[0].cause, Cause::Offline);
        let back = s + 7 * MIN;
        assert_eq!(
            engine
                .observe(&replayed(MachineStatus::Idle, back, back), NOW)
                .len(),
            1
        );
    }

    #[test]
    fn open_alerts_survive_a_restart_through_the_history() {
        let rules = vec![rule("long", in_alarm(10))];
        let mut engine = engine(rules.clone(), Vec::new());
        let s = REPLAY_DAY;
        let fired = engine.observe(&replayed(MachineStatus::Alarm, s, s + 11 * MIN), NOW);
        let event = AlertEvent {
            id: fired[0].id.clone(),
            org: org(),
            rule: "long".into(),
            rule_name: "rule long".into(),
            machine: mill(),
            machine_name: "Mill 1".into(),
            kind: EventKind::Fired,
            at: fired[0].at,
            since: Some(s),
            message: String::new(),
            alarm: None,
            resolves: None,
            muted: false,
            deliveries: Vec::new(),
            created_ms: 0,
        };
        // A new engine, as after a restart: the open alert is not fired again...
        let mut restarted = self::engine(rules, Vec::new());
        restarted.restore(&org(), std::slice::from_ref(&event));
        assert_eq!(restarted.open(&org()).len(), 1);
        assert!(
            restarted
                .observe(&replayed(MachineStatus::Alarm, s, s + 20 * MIN), NOW)
                .is_empty()
        );
        // ...and is resolved when the alarm ends.
        let end = s + 21 * MIN;
        let resolved = restarted.observe(&replayed(MachineStatus::Idle, end, end), NOW);
        assert_eq!(resolved[0].resolves.as_deref(), Some(event.id.as_str()));
    }

    #[test]
    fn changing_a_rule_drops_its_state_and_disabled_rules_do_nothing() {
        let mut engine = engine(vec![rule("long", in_alarm(10))], Vec::new());
        let s = REPLAY_DAY;
        assert_eq!(
            engine
                .observe(&replayed(MachineStatus::Alarm, s, s + 11 * MIN), NOW)
                .len(),
            1
        );
        let calendar = || Calendar::new(TimeZone::UTC, Vec::new());
        // Renamed only: the open alert stays.
        let mut renamed = rule("long", in_alarm(10));
        renamed.name = "Renamed".into();
        assert!(
            engine
                .set_org(&org(), vec![renamed], calendar(), NOW)
                .is_empty()
        );
        assert_eq!(engine.open(&org()).len(), 1);
        // A longer duration: judged afresh at once, from the machine's latest change.
        let fired = engine.set_org(&org(), vec![rule("long", in_alarm(11))], calendar(), NOW);
        assert_eq!(kinds(&fired), [(EventKind::Fired, Some(s), s + 11 * MIN)]);
        let mut disabled = rule("long", in_alarm(10));
        disabled.enabled = false;
        assert!(
            engine
                .set_org(&org(), vec![disabled], calendar(), NOW)
                .is_empty()
        );
        assert!(engine.open(&org()).is_empty());
        assert!(
            engine
                .observe(&replayed(MachineStatus::Alarm, s, s + 30 * MIN), NOW)
                .is_empty()
        );
    }

    #[test]
    fn rules_watch_only_their_machines() {
        let mut only = rule("long", in_alarm(10));
        only.machines = vec![MachineId::new("lathe-2").unwrap()];
        let mut engine = engine(vec![only], Vec::new());
        let s = REPLAY_DAY;
        assert!(
            engine
                .observe(&replayed(MachineStatus::Alarm, s, s + 60 * MIN), NOW)
                .is_empty()
        );
    }
}
