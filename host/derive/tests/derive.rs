//! The deriver through its public API.

use MachineStatus::{Alarm as AlarmS, Idle, Offline, Paused, Running, Setup};
use chatter_derive::{Current, Derived, Deriver, DeriverState, OpenCycle, PART_GRACE_NS};
use chatter_model::{
    Alarm, Category, Condition, ConditionLevel, Cycle, CycleEnd, DataItem, Interval, MachineStatus,
    Observation, PartCount, SignalMapping, StoredObservation, Value,
};

const S: i64 = 1_000_000_000;

/// Builds observations with consecutive sequence numbers.
#[derive(Default)]
struct Feed {
    next: u64,
    batch: Vec<StoredObservation>,
}

impl Feed {
    fn push(&mut self, item: &str, secs: i64, value: Value) -> &mut Self {
        self.next += 1;
        self.batch.push(StoredObservation {
            sequence: self.next,
            backwards: false,
            observation: Observation {
                data_item: item.into(),
                timestamp: secs * S,
                value,
            },
        });
        self
    }

    fn event(&mut self, item: &str, secs: i64, text: &str) -> &mut Self {
        self.push(item, secs, Value::Event(text.into()))
    }

    fn take(&mut self) -> Vec<StoredObservation> {
        std::mem::take(&mut self.batch)
    }
}

fn item(id: &str, category: Category, kind: &str) -> DataItem {
    DataItem {
        id: id.into(),
        category,
        kind: kind.into(),
        units: None,
        name: None,
    }
}

fn model() -> Vec<DataItem> {
    vec![
        item("avail", Category::Event, "AVAILABILITY"),
        item("exec", Category::Event, "EXECUTION"),
        item("mode", Category::Event, "CONTROLLER_MODE"),
        item("pc", Category::Event, "PART_COUNT"),
        item("prog", Category::Event, "PROGRAM"),
        item("system", Category::Condition, "SYSTEM"),
    ]
}

fn deriver() -> Deriver {
    Deriver::new(&model(), &SignalMapping::default(), DeriverState::default())
}

fn run(deriver: &mut Deriver, batch: &[StoredObservation]) -> Derived {
    let mut out = Derived::default();
    deriver.apply(batch, &mut out);
    out
}

fn interval(status: MachineStatus, start: i64, end: i64) -> Interval {
    Interval {
        status,
        start: start * S,
        end: end * S,
    }
}

fn condition(level: ConditionLevel, code: Option<&str>, text: Option<&str>) -> Value {
    Value::Condition(Condition {
        level,
        native_code: code.map(Into::into),
        native_severity: None,
        qualifier: None,
        text: text.map(Into::into),
    })
}

#[test]
fn before_any_data_the_machine_is_offline_since_never() {
    let mut deriver = deriver();
    let out = run(&mut deriver, &[]);
    assert!(out.is_empty());
    assert_eq!(
        deriver.current(),
        Current {
            status: Offline,
            since: None,
            cycle: None,
            alarms: vec![],
            ended_cycle: None,
            pending: None,
        }
    );
    assert_eq!(deriver.state().processed_through(), 0);
}

#[test]
fn the_timeline_follows_the_precedence_rules() {
    let mut feed = Feed::default();
    feed.event("avail", 0, "AVAILABLE")
        .event("exec", 0, "READY")
        .event("mode", 0, "AUTOMATIC")
        .event("mode", 10, "MANUAL")
        .event("mode", 20, "AUTOMATIC")
        .event("exec", 20, "ACTIVE")
        .event("exec", 30, "FEED_HOLD")
        .push(
            "system",
            40,
            condition(ConditionLevel::Fault, Some("1"), None),
        )
        .push("system", 50, condition(ConditionLevel::Normal, None, None))
        .event("avail", 60, "UNAVAILABLE")
        .event("exec", 70, "ACTIVE");
    let mut deriver = deriver();
    let out = run(&mut deriver, &feed.take());
    assert_eq!(
        out.intervals,
        [
            interval(Idle, 0, 10),
            interval(Setup, 10, 20),
            interval(Running, 20, 30),
            interval(Paused, 30, 40),
            interval(AlarmS, 40, 50),
            interval(Paused, 50, 60),
        ]
    );
    let current = deriver.current();
    assert_eq!((current.status, current.since), (Offline, Some(60 * S)));
}

#[test]
fn without_availability_execution_decides_offline() {
    let items = [item("exec", Category::Event, "EXECUTION")];
    let mut deriver = Deriver::new(&items, &SignalMapping::default(), DeriverState::default());
    let mut feed = Feed::default();
    feed.event("other", 0, "x")
        .event("exec", 10, "READY")
        .push("exec", 20, Value::Unavailable)
        .event("exec", 30, "ACTIVE")
        .event("other", 40, "x");
    let out = run(&mut deriver, &feed.take());
    assert_eq!(
        out.intervals,
        [
            interval(Offline, 0, 10),
            interval(Idle, 10, 20),
            interval(Offline, 20, 30)
        ]
    );
    assert_eq!(deriver.current().status, Running);
}

#[test]
fn zero_length_statuses_are_dropped_and_neighbours_merge() {
    let mut feed = Feed::default();
    feed.event("avail", 0, "AVAILABLE")
        .event("exec", 0, "READY")
        .event("exec", 10, "ACTIVE")
        .event("exec", 10, "READY")
        .event("exec", 20, "ACTIVE")
        .event("exec", 30, "READY")
        .event("other", 31, "x");
    let mut deriver = deriver();
    let out = run(&mut deriver, &feed.take());
    assert_eq!(
        out.intervals,
        [interval(Idle, 0, 20), interval(Running, 20, 30)]
    );
    assert!(out.intervals.iter().all(|i| i.end > i.start));
}

#[test]
fn backwards_timestamps_happen_at_the_latest_time() {
    let mut feed = Feed::default();
    feed.event("avail", 100, "AVAILABLE")
        .event("exec", 100, "READY")
        .event("exec", 200, "ACTIVE")
        .event("exec", 50, "READY") // the clock went back: taken as 200
        .event("exec", 300, "ACTIVE")
        .event("pc", 10, "1")
        .event("pc", 20, "2")
        .event("other", 301, "x");
    let mut deriver = deriver();
    let out = run(&mut deriver, &feed.take());
    assert_eq!(out.intervals, [interval(Idle, 100, 300)]);
    assert_eq!(out.parts[0].at, 300 * S);
    assert_eq!(
        out.cycles.len(),
        1,
        "the 0 ns cycle at 200, released 100 s later"
    );
    assert_eq!(out.cycles[0].start, out.cycles[0].end);
    assert_eq!(deriver.current().since, Some(300 * S));
}

#[test]
fn unknown_items_are_ignored() {
    let mut feed = Feed::default();
    feed.event("avail", 0, "AVAILABLE")
        .event("exec", 0, "READY")
        .push("spindle_speed", 5, Value::Sample(1200.0))
        .event("whatever", 6, "ACTIVE")
        .push("whatever", 7, Value::Unavailable);
    let mut deriver = deriver();
    let out = run(&mut deriver, &feed.take());
    assert!(out.is_empty());
    assert_eq!(deriver.current().status, Idle);
    assert_eq!(deriver.state().processed_through(), 5);
}

#[test]
fn replaying_a_batch_derives_nothing_and_changes_nothing() {
    let mut feed = Feed::default();
    synthetic(&mut feed, 300);
    let batch = feed.take();
    let mut deriver = deriver();
    let first = run(&mut deriver, &batch);
    assert!(!first.is_empty());
    let state = deriver.state().clone();
    let again = run(&mut deriver, &batch);
    assert!(again.is_empty());
    assert_eq!(*deriver.state(), state);
    // A batch overlapping what was applied only applies what is new.
    let mut resumed = Deriver::new(&model(), &SignalMapping::default(), DeriverState::default());
    let mut out = run(&mut resumed, &batch[..100]);
    resumed.apply(&batch[50..], &mut out);
    assert_eq!(out, first);
}

/// A pseudo-random generator, so the test needs no dependency and always sees the same data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Appends `n` plausible and implausible observations: every signal, conditions, junk, unknown
/// items, repeated timestamps and a clock going backwards.
fn synthetic(feed: &mut Feed, n: usize) {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut secs = 0;
    let mut counter = 0u64;
    let executions = [
        "ACTIVE",
        "ACTIVE",
        "READY",
        "FEED_HOLD",
        "STOPPED",
        "PROGRAM_COMPLETED",
        "INTERRUPTED",
        "UNAVAILABLE",
        "WAIT",
    ];
    for _ in 0..n {
        secs += match rng.below(10) {
            0 => 0,
            1 => -5,
            2 => 120,
            _ => rng.below(30) as i64,
        };
        let pick = |rng: &mut Rng, of: &[&'static str]| of[rng.below(of.len() as u64) as usize];
        match rng.below(12) {
            0 => {
                let avail = pick(
                    &mut rng,
                    &["AVAILABLE", "AVAILABLE", "AVAILABLE", "UNAVAILABLE"],
                );
                feed.event("avail", secs, avail);
            }
            1..=3 => {
                let exec = pick(&mut rng, &executions);
                feed.event("exec", secs, exec);
            }
            4 => {
                let mode = pick(&mut rng, &["AUTOMATIC", "MANUAL", "MDI"]);
                feed.event("mode", secs, mode);
            }
            5 | 6 => {
                counter = match rng.below(20) {
                    0 => 0,
                    1 => 9_990,
                    _ => (counter + rng.below(3)) % 10_000,
                };
                feed.push("pc", secs, Value::Sample(counter as f64));
            }
            7 => {
                let program = pick(&mut rng, &["O1000", "O2000", ""]);
                feed.event("prog", secs, program);
            }
            8 | 9 => {
                let level = [
                    ConditionLevel::Normal,
                    ConditionLevel::Warning,
                    ConditionLevel::Fault,
                    ConditionLevel::Unavailable,
                ][rng.below(4) as usize];
                let code = pick(&mut rng, &["", "100", "200"]);
                let code = (!code.is_empty()).then_some(code);
                feed.push("system", secs, condition(level, code, Some("text")));
            }
            10 => {
                let item = pick(&mut rng, &["system", "pc", "exec", "avail"]);
                feed.push(item, secs, Value::Unavailable);
            }
            _ => {
                feed.push("load", secs, Value::Sample(rng.below(100) as f64));
            }
        }
    }
}

/// Appends `b` to `a`.
fn append(a: &mut Derived, b: Derived) {
    a.intervals.extend(b.intervals);
    a.parts.extend(b.parts);
    a.cycles.extend(b.cycles);
    a.alarms.extend(b.alarms);
}

#[test]
fn any_split_of_the_observations_derives_the_same() {
    let mut feed = Feed::default();
    synthetic(&mut feed, 5_000);
    let all = feed.take();
    let mapping = SignalMapping {
        part_count_rollover: Some(9_999),
        ..SignalMapping::default()
    };

    let mut whole = Deriver::new(&model(), &mapping, DeriverState::default());
    let expected = run(&mut whole, &all);
    assert!(
        expected.intervals.len() > 100,
        "{}",
        expected.intervals.len()
    );
    assert!(expected.cycles.len() > 20, "{}", expected.cycles.len());
    assert!(expected.parts.len() > 100, "{}", expected.parts.len());
    assert!(expected.alarms.len() > 50, "{}", expected.alarms.len());
    for pair in expected.intervals.windows(2) {
        assert_eq!(pair[0].end, pair[1].start, "contiguous");
        assert_ne!(pair[0].status, pair[1].status, "merged");
    }

    let mut single = Deriver::new(&model(), &mapping, DeriverState::default());
    let mut one_by_one = Derived::default();
    for observation in &all {
        single.apply(std::slice::from_ref(observation), &mut one_by_one);
    }
    assert_eq!(one_by_one, expected);
    assert_eq!(single.state(), whole.state());
    assert_eq!(single.current(), whole.current());

    let mut rng = Rng(42);
    for _ in 0..5 {
        let mut state = DeriverState::default();
        let mut split = Derived::default();
        let mut rest = &all[..];
        while !rest.is_empty() {
            let n = (1 + rng.below(200) as usize).min(rest.len());
            let (batch, tail) = rest.split_at(n);
            rest = tail;
            // Persist and resume between batches, as the host does.
            let json = serde_json::to_string(&state).expect("serializes");
            let restored: DeriverState = serde_json::from_str(&json).expect("deserializes");
            assert_eq!(restored, state);
            let mut deriver = Deriver::new(&model(), &mapping, restored);
            let mut out = Derived::default();
            deriver.apply(batch, &mut out);
            append(&mut split, out);
            state = deriver.state().clone();
        }
        assert_eq!(split, expected);
        assert_eq!(&state, whole.state());
    }
}

#[test]
fn mapping_overrides_win_over_declared_types_and_fallback_names() {
    let items = [
        item("exec", Category::Event, "EXECUTION"),
        DataItem {
            name: Some("RunState".into()),
            ..item("d17", Category::Event, "")
        },
    ];
    let mapping = SignalMapping {
        execution: vec!["RunState".into()],
        ..SignalMapping::default()
    };
    let mut deriver = Deriver::new(&items, &mapping, DeriverState::default());
    let mut feed = Feed::default();
    feed.event("AVAIL", 0, "AVAILABLE") // fallback name, any case
        .event("d17", 0, "READY")
        .event("exec", 10, "ACTIVE") // declared EXECUTION, but overridden
        .event("execution", 20, "ACTIVE") // fallback disabled for execution
        .event("d17", 30, "ACTIVE") // by the controller name
        .event("other", 31, "x");
    let out = run(&mut deriver, &feed.take());
    assert_eq!(out.intervals, [interval(Idle, 0, 30)]);
    assert_eq!(deriver.current().status, Running);
}

#[test]
fn declared_types_beat_fallback_names() {
    let items = [
        item("mode", Category::Event, "PATH_MODE"),
        item("m1", Category::Event, "CONTROLLER_MODE"),
    ];
    let mut deriver = Deriver::new(&items, &SignalMapping::default(), DeriverState::default());
    let mut feed = Feed::default();
    feed.event("avail", 0, "AVAILABLE")
        .event("mode", 10, "MANUAL")
        .event("m1", 20, "MDI")
        .event("other", 21, "x");
    let out = run(&mut deriver, &feed.take());
    assert_eq!(out.intervals, [interval(Idle, 0, 20)]);
    assert_eq!(deriver.current().status, Setup);
}

#[test]
fn declare_re_resolves_and_keeps_state() {
    let mut deriver = Deriver::new(&[], &SignalMapping::default(), DeriverState::default());
    let mut feed = Feed::default();
    feed.event("avail", 0, "AVAILABLE")
        .event("X1", 10, "ACTIVE");
    let out = run(&mut deriver, &feed.take());
    assert!(out.is_empty());
    assert_eq!(deriver.current().status, Idle);

    deriver.declare(&[item("X1", Category::Event, "EXECUTION")]);
    feed.event("X1", 20, "ACTIVE");
    let out = run(&mut deriver, &feed.take());
    assert_eq!(out.intervals, []);
    assert_eq!(deriver.current().status, Running);
    assert_eq!(deriver.current().since, Some(20 * S));
    feed.event("X1", 30, "READY");
    let out = run(&mut deriver, &feed.take());
    assert_eq!(out.intervals, [interval(Idle, 0, 20)]);
}

fn counter(secs: i64, parts: u64, counter: u64) -> PartCount {
    PartCount {
        at: secs * S,
        parts,
        counter,
        program: None,
    }
}

#[test]
fn part_counter_rollover_and_reset() {
    let mapping = SignalMapping {
        part_count_rollover: Some(9_999),
        ..SignalMapping::default()
    };
    let mut deriver = Deriver::new(&model(), &mapping, DeriverState::default());
    let mut feed = Feed::default();
    feed.push("pc", 0, Value::Sample(9_997.0)) // baseline
        .push("pc", 1, Value::Unavailable) // keeps the baseline
        .event("pc", 2, "9998")
        .event("pc", 3, "1") // 9999, 0, 1: a wrap
        .event("pc", 4, "n/a")
        .event("pc", 5, "3")
        .event("pc", 6, "2") // a drop low in the range: reset, 2 parts
        .event("pc", 7, "0"); // reset to 0: no parts
    let out = run(&mut deriver, &feed.take());
    assert_eq!(
        out.parts,
        [
            counter(2, 1, 9_998),
            counter(3, 3, 1),
            counter(5, 2, 3),
            counter(6, 2, 2)
        ]
    );

    let mut no_rollover = self::deriver();
    feed.event("pc", 10, "9998").event("pc", 11, "1");
    let out = run(&mut no_rollover, &feed.take());
    assert_eq!(
        out.parts,
        [counter(11, 1, 1)],
        "without a rollover, a reset"
    );
}

fn cycle(
    start: i64,
    end: i64,
    ended: CycleEnd,
    program: Option<&str>,
    active: i64,
    parts: u64,
) -> Cycle {
    Cycle {
        start: start * S,
        end: end * S,
        ended,
        program: program.map(Into::into),
        active: active * S,
        parts,
    }
}

#[test]
fn cycles_span_holds_and_count_active_time() {
    let mut deriver = deriver();
    let mut feed = Feed::default();
    feed.event("avail", 0, "AVAILABLE")
        .event("prog", 0, "O1000")
        .event("exec", 0, "READY")
        .event("pc", 0, "10")
        .event("exec", 10, "ACTIVE")
        .event("prog", 11, "O2000") // a program change mid-cycle does not rename it
        .event("exec", 20, "FEED_HOLD")
        .event("exec", 25, "ACTIVE")
        .event("pc", 30, "11")
        .event("exec", 40, "PROGRAM_COMPLETED");
    let out = run(&mut deriver, &feed.take());
    assert!(out.cycles.is_empty(), "held back for parts");
    assert_eq!(deriver.current().cycle, None);

    feed.event("pc", 50, "12"); // 10 s after the end: still this cycle's part
    let out = run(&mut deriver, &feed.take());
    assert_eq!(out.parts[0].program.as_deref(), Some("O2000"));
    assert!(out.cycles.is_empty());

    feed.event("other", 99, "x"); // 59 s after: still held
    assert!(run(&mut deriver, &feed.take()).is_empty());
    feed.event("other", 100, "x"); // 60 s after: released
    let out = run(&mut deriver, &feed.take());
    assert_eq!(
        out.cycles,
        [cycle(10, 40, CycleEnd::Completed, Some("O1000"), 25, 2)]
    );

    feed.event("pc", 101, "13"); // no cycle to credit
    let out = run(&mut deriver, &feed.take());
    assert_eq!(out.parts.len(), 1);
    assert!(out.cycles.is_empty());
}

#[test]
fn the_next_cycle_or_going_offline_releases_an_ended_cycle() {
    let mut deriver = deriver();
    let mut feed = Feed::default();
    feed.event("avail", 0, "AVAILABLE")
        .event("exec", 0, "ACTIVE")
        .event("exec", 10, "STOPPED")
        .event("prog", 12, "O1")
        .event("exec", 15, "ACTIVE")
        .event("prog", 15, ""); // reported with the start: the cycle runs no program
    let out = run(&mut deriver, &feed.take());
    assert_eq!(out.cycles, [cycle(0, 10, CycleEnd::Stopped, None, 10, 0)]);
    feed.event("prog", 16, "O2"); // after the start, when one is known: does not rename it
    let open = deriver.current().cycle;
    assert_eq!(
        open,
        Some(OpenCycle {
            start: 15 * S,
            program: None,
            active: 0,
            parts: 0
        })
    );

    feed.event("exec", 20, "READY")
        .event("avail", 30, "UNAVAILABLE");
    let out = run(&mut deriver, &feed.take());
    assert_eq!(
        out.cycles,
        [cycle(15, 20, CycleEnd::Completed, Some("O2"), 5, 0)]
    );
}

#[test]
fn a_cycle_started_without_a_program_runs_the_first_one_reported() {
    let mut deriver = deriver();
    let mut feed = Feed::default();
    feed.event("avail", 0, "AVAILABLE")
        .event("exec", 1, "ACTIVE")
        .event("prog", 2, "O7")
        .event("prog", 3, "O8")
        .event("exec", 4, "PROGRAM_COMPLETED")
        .event("avail", 5, "UNAVAILABLE");
    let out = run(&mut deriver, &feed.take());
    assert_eq!(
        out.cycles,
        [cycle(1, 4, CycleEnd::Completed, Some("O7"), 3, 0)]
    );
}

#[test]
fn going_offline_mid_cycle_ends_it_at_once() {
    let mut deriver = deriver();
    let mut feed = Feed::default();
    feed.event("avail", 0, "AVAILABLE")
        .event("exec", 0, "READY")
        .event("exec", 10, "ACTIVE")
        .event("pc", 10, "5")
        .event("pc", 12, "6")
        .event("exec", 14, "INTERRUPTED");
    let out = run(&mut deriver, &feed.take());
    assert!(out.cycles.is_empty());
    let open = deriver.current().cycle.expect("open");
    assert_eq!((open.active, open.parts), (4 * S, 1));

    feed.push("avail", 20, Value::Unavailable);
    let out = run(&mut deriver, &feed.take());
    assert_eq!(out.cycles, [cycle(10, 20, CycleEnd::Offline, None, 4, 1)]);
    assert_eq!(deriver.current().cycle, None);

    // Back online with execution active: a new cycle.
    feed.event("avail", 30, "AVAILABLE")
        .event("exec", 30, "ACTIVE");
    run(&mut deriver, &feed.take());
    assert_eq!(deriver.current().cycle.map(|c| c.start), Some(30 * S));
}

fn alarm(
    code: Option<&str>,
    level: ConditionLevel,
    text: Option<&str>,
    start: i64,
    end: Option<i64>,
) -> Alarm {
    Alarm {
        data_item: "system".into(),
        native_code: code.map(Into::into),
        level,
        text: text.map(Into::into),
        start: start * S,
        end: end.map(|e| e * S),
    }
}

#[test]
fn normal_with_a_code_clears_that_code_and_without_clears_all() {
    use ConditionLevel::{Fault, Normal, Warning};
    let mut deriver = deriver();
    let mut feed = Feed::default();
    feed.event("avail", 0, "AVAILABLE")
        .event("exec", 0, "ACTIVE")
        .push("system", 1, condition(Warning, Some("A"), Some("low oil")))
        .push("system", 2, condition(Warning, Some("B"), None))
        .push("system", 3, condition(Fault, Some("A"), Some("no oil")))
        .push("system", 4, condition(Warning, Some("A"), None)) // stays at fault
        .push("other_cond", 4, condition(Warning, None, None))
        .push("system", 5, condition(Normal, Some("B"), None));
    let out = run(&mut deriver, &feed.take());
    let mut timeline = out.intervals.clone();
    assert_eq!(out.alarms, [alarm(Some("B"), Warning, None, 2, Some(5))]);
    let current = deriver.current();
    assert_eq!(current.status, AlarmS);
    assert_eq!(current.alarms.len(), 2);
    assert_eq!(
        current.alarms[0],
        alarm(Some("A"), Fault, Some("no oil"), 1, None)
    );

    // Going offline does not clear alarms.
    feed.event("avail", 6, "UNAVAILABLE")
        .event("avail", 7, "AVAILABLE");
    let out = run(&mut deriver, &feed.take());
    timeline.extend(out.intervals);
    assert!(out.alarms.is_empty());

    feed.push("system", 8, condition(Normal, None, None));
    let out = run(&mut deriver, &feed.take());
    timeline.extend(out.intervals);
    assert_eq!(
        out.alarms,
        [alarm(Some("A"), Fault, Some("no oil"), 1, Some(8))]
    );
    assert_eq!(deriver.current().status, Running);
    assert_eq!(
        deriver.current().alarms.len(),
        1,
        "other_cond is still active"
    );

    feed.push("other_cond", 9, Value::Unavailable)
        .push("system", 9, condition(Fault, None, None))
        .push(
            "system",
            10,
            condition(ConditionLevel::Unavailable, None, None),
        );
    let out = run(&mut deriver, &feed.take());
    assert_eq!(out.alarms.len(), 2);
    assert_eq!(out.alarms[0].data_item, "other_cond");
    assert_eq!(out.alarms[1], alarm(None, Fault, None, 9, Some(10)));
    assert!(deriver.current().alarms.is_empty());
    timeline.extend(out.intervals);
    assert_eq!(
        timeline,
        [
            interval(Running, 0, 3),
            interval(AlarmS, 3, 6),
            interval(Offline, 6, 7),
            interval(AlarmS, 7, 8),
            interval(Running, 8, 9),
        ]
    );
}

#[test]
fn totals_from_the_timeline_and_the_open_status() {
    let mut deriver = deriver();
    let mut feed = Feed::default();
    feed.event("avail", 10, "AVAILABLE")
        .event("exec", 10, "READY")
        .event("exec", 20, "ACTIVE")
        .event("exec", 50, "READY");
    let out = run(&mut deriver, &feed.take());
    assert_eq!(out.intervals, [interval(Idle, 10, 20)]);
    // Running 20..50 closed at the latest timestamp: pending until time moves on.
    let pending = deriver.pending_interval();
    assert_eq!(pending, Some(interval(Running, 20, 50)));
    // What is not stored yet, over 0..60: running 20..50, then idle (open) 50..60; with the
    // stored idle 10..20 and the time before any data as offline, the span is covered.
    let mut totals = deriver.current().unstored(0, 60 * S);
    assert_eq!((totals.running, totals.idle), (30 * S, 10 * S));
    totals.add_time(Idle, 10 * S);
    totals.fill_uncovered(60 * S);
    assert_eq!(totals.offline, 10 * S);
    assert_eq!(totals.idle, 20 * S);
    assert_eq!(totals.running, 30 * S);
    assert_eq!(totals.covered(), 60 * S);
    // A span ending before the open status began sees only the pending interval.
    assert_eq!(deriver.current().unstored(0, 30 * S).running, 10 * S);
}

#[test]
fn grace_constant_is_a_minute() {
    assert_eq!(PART_GRACE_NS, 60 * S);
}

#[test]
fn the_machine_is_offline_while_the_host_does_not_read_it() {
    let mut deriver = deriver();
    let mut feed = Feed::default();
    feed.event("avail", 0, "AVAILABLE")
        .event("exec", 0, "ACTIVE")
        .event(chatter_model::COLLECTION_STOPPED, 10, "STOPPED")
        .event("exec", 40, "ACTIVE")
        .event("exec", 50, "READY");
    let out = run(&mut deriver, &feed.take());
    let spans: Vec<_> = out
        .intervals
        .iter()
        .map(|i| (i.status, i.start / S, i.end / S))
        .collect();
    assert_eq!(spans, [(Running, 0, 10), (Offline, 10, 40)]);
    let pending = deriver.pending_interval().unwrap();
    assert_eq!(
        (pending.status, pending.start / S, pending.end / S),
        (Running, 40, 50)
    );
    // Going unread ended the cycle; reporting again started another.
    let ends: Vec<_> = out.cycles.iter().map(|c| (c.start / S, c.ended)).collect();
    assert_eq!(ends, [(0, CycleEnd::Offline)]);
    assert_eq!(deriver.current().status, Idle);
}
