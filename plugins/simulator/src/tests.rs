//! Behaviour of the whole simulator as the host sees it: observations from polls.

use std::collections::HashMap;

use chatter_sdk::{ConditionLevel, Observation, Value};

use crate::{Settings, Simulator};

const SECOND: i64 = 1_000_000_000;
const HOUR: i64 = 3_600 * SECOND;

fn settings(seed: u64, speed: f64, start: i64, max_batch: usize) -> Settings {
    Settings {
        seed,
        speed,
        start: Some(start),
        max_batch,
    }
}

/// Everything simulator `seed` reports over its first `span` of simulated time, polled at real
/// speed (start 0, opened at 0) in batches of at most `max_batch`.
fn run(seed: u64, span: i64, max_batch: usize) -> Vec<Observation> {
    let mut simulator = Simulator::new(&settings(seed, 1.0, 0, max_batch), 0);
    drain(&mut simulator, span)
}

/// Polls at real time `now` until nothing is left.
fn drain(simulator: &mut Simulator, now: i64) -> Vec<Observation> {
    let mut all = Vec::new();
    loop {
        let batch = simulator.poll_at(now);
        if batch.is_empty() {
            return all;
        }
        all.extend(batch);
    }
}

fn event(observation: &Observation) -> Option<&str> {
    match &observation.value {
        Value::Event(text) => Some(text),
        _ => None,
    }
}

/// (offset from start, data item, value) for comparing runs that started at different times.
fn relative(observations: &[Observation], start: i64) -> Vec<(i64, String, String)> {
    observations
        .iter()
        .map(|o| {
            (
                o.timestamp - start,
                o.data_item.clone(),
                format!("{:?}", o.value),
            )
        })
        .collect()
}

#[test]
fn the_first_poll_reports_every_data_item_at_the_start() {
    let mut simulator = Simulator::new(&settings(1, 60.0, 5 * HOUR, 10_000), 0);
    let first = simulator.poll_at(0);
    let ids: Vec<&str> = first.iter().map(|o| o.data_item.as_str()).collect();
    let declared: Vec<String> = crate::observations::data_items()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(ids, declared);
    assert!(first.iter().all(|o| o.timestamp == 5 * HOUR));
    assert_eq!(event(&first[0]), Some("AVAILABLE"));
}

#[test]
fn the_same_seed_reports_the_same_sequence_whatever_the_start_speed_and_polling() {
    // Simulator A: defaults-like, polled once per real second; B: another start, 1000x faster
    // (one real second = 1000 s simulated), polled at uneven moments with a small batch cap.
    let horizon = 24 * HOUR;
    let mut a = Simulator::new(&settings(42, 60.0, 1_700_000_000 * SECOND, 10_000), 7);
    let mut from_a = Vec::new();
    for second in 0..=(horizon / 60 / SECOND) {
        from_a.extend(a.poll_at(7 + second * SECOND));
    }
    let mut b = Simulator::new(&settings(42, 1_000.0, 0, 37), 0);
    let mut from_b = Vec::new();
    let mut real = 0;
    while real < horizon / 1_000 {
        real += 123_456_789;
        from_b.extend(drain(&mut b, real.min(horizon / 1_000)));
    }
    let a = relative(&from_a, 1_700_000_000 * SECOND);
    let b = relative(&from_b, 0);
    assert!(a.len() > 1_000, "a day reports a lot: {}", a.len());
    assert_eq!(a, b);
}

#[test]
fn different_seeds_report_different_machines() {
    let one = relative(&run(1, 2 * HOUR, 10_000), 0);
    let two = relative(&run(2, 2 * HOUR, 10_000), 0);
    assert_ne!(one, two);
}

#[test]
fn timestamps_never_go_backwards() {
    for seed in 1..=5 {
        let all = run(seed, 48 * HOUR, 10_000);
        assert!(
            all.windows(2).all(|w| w[0].timestamp <= w[1].timestamp),
            "seed {seed}"
        );
    }
}

#[test]
fn every_execution_value_is_an_mtconnect_one_and_all_six_occur() {
    const ALLOWED: [&str; 6] = [
        "READY",
        "ACTIVE",
        "FEED_HOLD",
        "INTERRUPTED",
        "STOPPED",
        "PROGRAM_COMPLETED",
    ];
    let mut seen = HashMap::new();
    for seed in 1..=5 {
        for o in run(seed, 48 * HOUR, 10_000)
            .iter()
            .filter(|o| o.data_item == "execution")
        {
            match event(o) {
                Some(value) => {
                    assert!(ALLOWED.contains(&value), "seed {seed}: execution {value}");
                    *seen.entry(value.to_owned()).or_insert(0) += 1;
                }
                None => assert!(matches!(o.value, Value::Unavailable), "seed {seed}"),
            }
        }
    }
    println!("execution values over 5 machines x 48 h: {seen:?}");
    assert_eq!(seen.len(), ALLOWED.len(), "{seen:?}");
}

#[test]
fn part_count_goes_up_by_one_per_completed_program_and_restarts_with_each_job() {
    for seed in 1..=5 {
        let all = run(seed, 48 * HOUR, 10_000);
        // Last known values; a machine switched back on reports them again unchanged.
        let (mut parts, mut program): (Option<u32>, Option<&str>) = (None, None);
        let (mut completed_at, mut new_job_at) = (None, None);
        let mut jobs = 0;
        for o in &all {
            match (o.data_item.as_str(), event(o)) {
                ("execution", Some("PROGRAM_COMPLETED")) => completed_at = Some(o.timestamp),
                ("program", Some(name)) => {
                    if program.is_some_and(|before| before != name) {
                        new_job_at = Some(o.timestamp);
                        jobs += 1;
                    }
                    program = Some(name);
                }
                ("part-count", Some(text)) => {
                    let count: u32 = text.parse().expect("part count is a number");
                    let at = o.timestamp;
                    match parts {
                        _ if new_job_at == Some(at) => assert_eq!(count, 0, "seed {seed} at {at}"),
                        Some(before) if before != count => {
                            assert_eq!(count, before + 1, "seed {seed} at {at}");
                            assert_eq!(
                                completed_at,
                                Some(at),
                                "seed {seed}: no completion at {at}"
                            );
                        }
                        _ => {}
                    }
                    parts = Some(count);
                }
                _ => {}
            }
        }
        assert!(jobs >= 3, "seed {seed}: only {jobs} jobs in 48 h");
    }
}

#[test]
fn every_fault_is_followed_by_a_normal_condition() {
    let mut faults = 0;
    let mut warnings = 0;
    for seed in 1..=10 {
        let all = run(seed, 48 * HOUR, 10_000);
        let conditions: Vec<&Observation> =
            all.iter().filter(|o| o.data_item == "system").collect();
        for (i, o) in conditions.iter().enumerate() {
            let Value::Condition(condition) = &o.value else {
                continue;
            };
            match condition.level {
                ConditionLevel::Fault => {
                    faults += 1;
                    assert!(condition.native_code.is_some() && condition.text.is_some());
                    let next = conditions.get(i + 1).map(|n| &n.value);
                    let Some(Value::Condition(next)) = next else {
                        // The run may end during the fault.
                        assert_eq!(
                            i + 1,
                            conditions.len(),
                            "seed {seed}: {next:?} after a fault"
                        );
                        continue;
                    };
                    assert_eq!(next.level, ConditionLevel::Normal, "seed {seed}");
                }
                ConditionLevel::Warning => warnings += 1,
                _ => {}
            }
        }
    }
    println!("10 machines x 48 h: {faults} faults, {warnings} warnings");
    assert!(faults > 10 && warnings > 5);
}

#[test]
fn batches_respect_max_batch_and_carry_over_without_loss_or_duplicates() {
    let whole = run(3, 12 * HOUR, 100_000);
    let mut simulator = Simulator::new(&settings(3, 1.0, 0, 7), 0);
    let mut pieces = Vec::new();
    // Uneven polling: sometimes far behind (full batches), sometimes caught up.
    for step in 1..=2_000 {
        let batch = simulator.poll_at(step * 12 * HOUR / 2_000 + (step % 3) * SECOND);
        assert!(batch.len() <= 7);
        pieces.extend(batch);
    }
    pieces.extend(drain(&mut simulator, 12 * HOUR));
    let whole = relative(&whole, 0);
    let mut pieces = relative(&pieces, 0);
    // The pieces ran a few seconds past the end of `whole`.
    pieces.truncate(whole.len());
    assert_eq!(whole, pieces);
}

#[test]
fn the_spindle_turns_only_while_a_program_runs() {
    for seed in 1..=5 {
        let mut execution = String::new();
        for o in run(seed, 24 * HOUR, 10_000) {
            match (o.data_item.as_str(), &o.value) {
                ("execution", Value::Event(value)) => execution.clone_from(value),
                ("spindle-speed", Value::Sample(rpm)) if *rpm > 0.0 => {
                    assert!(
                        ["ACTIVE", "FEED_HOLD"].contains(&execution.as_str()),
                        "seed {seed}: spindle at {rpm} while {execution}"
                    );
                }
                _ => {}
            }
        }
    }
}

#[test]
fn a_switched_off_machine_reports_everything_unavailable_then_everything_again() {
    let mut offline = 0;
    for seed in 1..=10 {
        let all = run(seed, 72 * HOUR, 10_000);
        for (i, o) in all.iter().enumerate() {
            if o.data_item == "availability" && event(o) == Some("UNAVAILABLE") {
                offline += 1;
                let same_time = all[i + 1..]
                    .iter()
                    .take_while(|n| n.timestamp == o.timestamp);
                assert_eq!(
                    same_time
                        .filter(|n| matches!(n.value, Value::Unavailable))
                        .count(),
                    8
                );
            }
        }
    }
    println!("10 machines x 72 h: switched off {offline} times");
    assert!(offline > 0);
}

/// Derived machine states, in the host's order of precedence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum State {
    Offline,
    Alarm,
    Running,
    Paused,
    Setup,
    Idle,
}

/// Time spent in each state over the first `span` of machine `seed`.
fn shares(seed: u64, span: i64) -> HashMap<State, i64> {
    let (mut available, mut alarm) = (true, false);
    let (mut execution, mut mode) = (String::new(), String::new());
    let mut time = HashMap::new();
    let mut since = 0;
    for o in run(seed, span, 10_000) {
        let state = match () {
            _ if !available => State::Offline,
            _ if alarm => State::Alarm,
            _ if execution == "ACTIVE" => State::Running,
            _ if execution == "FEED_HOLD" => State::Paused,
            _ if mode != "AUTOMATIC" => State::Setup,
            _ => State::Idle,
        };
        *time.entry(state).or_insert(0) += o.timestamp - since;
        since = o.timestamp;
        match (o.data_item.as_str(), &o.value) {
            ("availability", Value::Event(v)) => available = v == "AVAILABLE",
            ("execution", Value::Event(v)) => execution.clone_from(v),
            ("controller-mode", Value::Event(v)) => mode.clone_from(v),
            ("system", Value::Condition(c)) => alarm = c.level == ConditionLevel::Fault,
            _ => {}
        }
    }
    time
}

fn print_shares(label: &str, time: &HashMap<State, i64>) {
    let total: i64 = time.values().sum();
    let mut line = format!("{label}:");
    for state in [
        State::Running,
        State::Paused,
        State::Idle,
        State::Setup,
        State::Alarm,
        State::Offline,
    ] {
        let share = 100.0 * *time.get(&state).unwrap_or(&0) as f64 / total as f64;
        line += &format!(" {state:?} {share:.1}%");
    }
    println!("{line}");
}

#[test]
fn an_eight_hour_shift_has_running_idle_setup_and_alarm_time() {
    let mut total: HashMap<State, i64> = HashMap::new();
    for seed in 1..=20 {
        let time = shares(seed, 8 * HOUR);
        print_shares(&format!("seed {seed:2}"), &time);
        if seed == 1 {
            for state in [State::Running, State::Idle, State::Setup, State::Alarm] {
                assert!(
                    time.get(&state).is_some_and(|t| *t > 0),
                    "seed 1: no {state:?} time"
                );
            }
        }
        for (state, t) in time {
            *total.entry(state).or_insert(0) += t;
        }
    }
    print_shares("20 machines", &total);
    let all: i64 = total.values().sum();
    let running = total[&State::Running];
    assert!(running * 100 / all >= 30 || total.values().all(|t| *t <= running));
    for state in [State::Idle, State::Setup, State::Alarm] {
        assert!(
            total.get(&state).is_some_and(|t| *t > 0),
            "no {state:?} time"
        );
    }
}

#[test]
fn at_the_default_speed_a_demo_visibly_moves_within_seconds() {
    // Real seconds until execution or controller mode first changes after the initial values.
    for seed in 1..=20 {
        let mut simulator = Simulator::new(&settings(seed, crate::DEFAULT_SPEED, 0, 10_000), 0);
        simulator.poll_at(0);
        let moved = (1..=60).find(|second| {
            simulator
                .poll_at(second * SECOND)
                .iter()
                .any(|o| o.data_item == "execution" || o.data_item == "controller-mode")
        });
        assert!(
            moved.is_some_and(|s| s <= 10),
            "seed {seed}: first change after {moved:?} s"
        );
    }
}

/// Nanoseconds per item of the best of five rounds of `round`, which returns how many items it
/// made (the best round is the one least disturbed by whatever else the machine runs).
fn best_of_five(mut round: impl FnMut() -> usize) -> f64 {
    (0..5)
        .map(|_| {
            let started = std::time::Instant::now();
            let count = round();
            started.elapsed().as_nanos() as f64 / count as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// Cost of generating observations natively, in polls of 1,000 like the host benchmark:
/// `cargo test -p simulator --lib --release -- --ignored --nocapture --test-threads=1 cost`.
#[test]
#[ignore = "a measurement, not a test"]
fn generation_cost() {
    let far = i64::MAX / 4;
    let mut simulation = crate::sim::Simulation::new(1);
    let core = best_of_five(|| {
        (0..1_000)
            .map(|_| {
                simulation
                    .advance(far, 1_000)
                    .0
                    .map(std::hint::black_box)
                    .count()
            })
            .sum()
    });
    let mut simulator = Simulator::new(&settings(1, 1.0, 0, 1_000), 0);
    let full = best_of_five(|| {
        (0..1_000)
            .map(|_| std::hint::black_box(simulator.poll_at(far)).len())
            .sum()
    });
    println!("simulation alone: {core:.1} ns per change");
    println!("poll (simulation, SDK observations, dropping them): {full:.1} ns per observation");
}

#[test]
fn a_live_simulation_never_reports_from_the_future() {
    let live = Settings {
        start: None,
        ..settings(3, 60.0, 0, 10_000)
    };
    let opened_at = 1_000_000_000_000;
    let mut simulator = Simulator::new(&live, opened_at);
    let now = opened_at + 30 * 1_000_000_000;
    let batch = simulator.poll_at(now);
    assert!(batch.len() > 9, "30 s at 60x should see changes");
    assert!(
        batch
            .iter()
            .all(|o| o.timestamp >= opened_at && o.timestamp <= now)
    );
}
