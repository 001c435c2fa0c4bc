//! Report instances: a run reads only its own machines through batched calls, hands over
//! documents and recommendations that are checked on arrival, and is stopped by its limits —
//! keeping, every time, what it produced before.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chatter_model::{Cycle, CycleEnd, Interval, MachineId, MachineStatus, Severity, Totals};
use chatter_runtime::capabilities::machine_data::{
    EventKinds, Events, MachineData, Observations, RunMachine,
};
use chatter_runtime::{
    Day, Fault, InstanceContext, LoadedPlugin, ReportInstance, ReportOutcome, ReportRequest,
    Runtime,
};

const SECOND: i64 = 1_000_000_000;
const HOUR: i64 = 3_600 * SECOND;

/// Two machines: `mill-1` runs two hours of the day and made 7 parts in 3 cycles, `lathe-2`
/// never ran. Every machine id asked about is recorded.
struct Shop {
    machines: Vec<RunMachine>,
    asked: Mutex<Vec<String>>,
    /// The kinds of each `events` call.
    kinds: Mutex<Vec<EventKinds>>,
    /// How long a timeline takes to read.
    timeline_delay: Duration,
}

impl Shop {
    fn new() -> Arc<Self> {
        let machine = |id: &str, name: &str| RunMachine {
            id: MachineId::new(id).unwrap(),
            name: name.to_owned(),
        };
        Arc::new(Shop {
            machines: vec![machine("mill-1", "Mill 1"), machine("lathe-2", "Lathe 2")],
            asked: Mutex::new(Vec::new()),
            kinds: Mutex::new(Vec::new()),
            timeline_delay: Duration::ZERO,
        })
    }

    /// A shop whose timelines take `delay` each to read.
    fn slow(delay: Duration) -> Arc<Self> {
        let mut shop = Arc::into_inner(Self::new()).unwrap();
        shop.timeline_delay = delay;
        Arc::new(shop)
    }

    fn note(&self, machine: &MachineId) {
        self.asked.lock().unwrap().push(machine.to_string());
    }

    fn running(machine: &MachineId) -> i64 {
        if machine.as_str() == "mill-1" {
            2 * HOUR
        } else {
            0
        }
    }
}

#[async_trait]
impl MachineData for Shop {
    fn machines(&self) -> &[RunMachine] {
        &self.machines
    }

    async fn timeline(
        &self,
        machine: &MachineId,
        from: i64,
        to: i64,
    ) -> Result<(Vec<Interval>, Totals), String> {
        self.note(machine);
        tokio::time::sleep(self.timeline_delay).await;
        let running = Self::running(machine);
        let interval = |status, start, end| Interval { status, start, end };
        // A 10-second idle blip in the running stretch, which a coarse timeline hides.
        let intervals = vec![
            interval(MachineStatus::Running, from, from + running / 2),
            interval(
                MachineStatus::Idle,
                from + running / 2,
                from + running / 2 + 10 * SECOND,
            ),
            interval(
                MachineStatus::Running,
                from + running / 2 + 10 * SECOND,
                from + running,
            ),
            interval(MachineStatus::Idle, from + running, to),
        ];
        let totals = Totals {
            running,
            idle: to - from - running,
            parts: if running > 0 { 7 } else { 0 },
            ..Totals::default()
        };
        Ok((intervals, totals))
    }

    async fn totals(
        &self,
        machine: &MachineId,
        ranges: &[(i64, i64)],
    ) -> Result<Vec<Totals>, String> {
        self.note(machine);
        Ok(ranges.iter().map(|_| Totals::default()).collect())
    }

    async fn events(
        &self,
        machine: &MachineId,
        (from, _to): (i64, i64),
        kinds: EventKinds,
        _limit: usize,
    ) -> Result<Events, String> {
        self.note(machine);
        self.kinds.lock().unwrap().push(kinds);
        let cycles = if kinds.cycles && Self::running(machine) > 0 {
            (0..3)
                .map(|i| Cycle {
                    start: from + i * HOUR / 2,
                    end: from + i * HOUR / 2 + 600 * SECOND,
                    ended: CycleEnd::Completed,
                    program: Some("O1000".into()),
                    active: 600 * SECOND,
                    parts: 2,
                })
                .collect()
        } else {
            Vec::new()
        };
        Ok(Events {
            cycles,
            ..Events::default()
        })
    }

    async fn observations(
        &self,
        machine: &MachineId,
        _items: &[String],
        _from: i64,
        _to: i64,
        _after: u64,
        _limit: usize,
    ) -> Result<Observations, String> {
        self.note(machine);
        Ok(Observations::default())
    }
}

const DAY_START: i64 = 1_462_838_400 * SECOND; // 2016-05-10T00:00:00Z

fn request(machines: &[&str]) -> ReportRequest {
    ReportRequest {
        organization: "Acme".into(),
        machines: machines.iter().map(|m| (*m).to_owned()).collect(),
        period: (DAY_START, DAY_START + 24 * HOUR),
        time_zone: "UTC".into(),
        days: vec![Day {
            date: "2016-05-10".into(),
            range: (DAY_START, DAY_START + 24 * HOUR),
        }],
        shifts: Vec::new(),
        parameters: BTreeMap::new(),
    }
}

fn context(plugin: &LoadedPlugin, shop: &Arc<Shop>, behaviour: &str) -> InstanceContext {
    let given = BTreeMap::from([
        ("behaviour".to_owned(), behaviour.to_owned()),
        ("machine".to_owned(), "other-org-mill".to_owned()),
    ]);
    let mut context = InstanceContext::for_org(common::org());
    context.config = plugin.manifest.resolve_config(&given).unwrap();
    context.grants = plugin.manifest.capabilities.keys().copied().collect();
    context.machine_data = Some(shop.clone());
    context
}

async fn run(
    runtime: &Runtime,
    plugin: &Arc<LoadedPlugin>,
    context: InstanceContext,
    timeout: Duration,
) -> ReportOutcome {
    let instance = ReportInstance::start(runtime, plugin.clone(), context)
        .await
        .unwrap();
    instance
        .generate(request(&["mill-1", "lathe-2"]), timeout)
        .await
}

/// Runs the hostile report with `behaviour` over both machines of a fresh shop.
async fn run_behaviour(behaviour: &str, timeout: Duration) -> (ReportOutcome, Arc<Shop>) {
    let runtime = common::runtime();
    let plugin = common::load(&runtime, "hostile-report");
    let shop = Shop::new();
    let outcome = run(
        &runtime,
        &plugin,
        context(&plugin, &shop, behaviour),
        timeout,
    )
    .await;
    (outcome, shop)
}

fn document<'a>(outcome: &'a ReportOutcome, name: &str) -> &'a str {
    let document = outcome
        .product
        .documents
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no document `{name}` in {:?}", outcome.product.documents));
    std::str::from_utf8(&document.content).unwrap()
}

#[tokio::test]
async fn a_report_reads_its_machines_in_batches_and_hands_over_documents_and_advice() {
    let (outcome, shop) = run_behaviour("well-behaved", Duration::from_secs(10)).await;
    outcome.result.as_ref().unwrap();
    assert_eq!(
        document(&outcome, "summary.csv"),
        "machine,name,running_s,parts,cycles,days\n\
         mill-1,Mill 1,7200,7,3,1\n\
         lathe-2,Lathe 2,0,0,0,1\n"
    );
    let [advice] = outcome.product.recommendations.as_slice() else {
        panic!("one recommendation: {:?}", outcome.product.recommendations);
    };
    assert_eq!(advice.severity, Severity::Warning);
    assert_eq!(advice.machine.as_ref().map(|m| m.as_str()), Some("lathe-2"));
    assert_eq!(advice.text, "Lathe 2 never ran in this period.");
    // Three batched calls (timelines, totals, events) ask about each machine once.
    let asked = shop.asked.lock().unwrap().clone();
    assert_eq!(asked.len(), 6, "{asked:?}");
    let cycles_only = EventKinds {
        cycles: true,
        parts: false,
        alarms: false,
    };
    assert_eq!(
        *shop.kinds.lock().unwrap(),
        [cycles_only; 2],
        "the kinds the report asked for reach the data source"
    );
}

#[tokio::test]
async fn reads_slower_than_the_deadline_end_the_run_at_the_deadline() {
    let runtime = common::runtime();
    let plugin = common::load(&runtime, "hostile-report");
    let shop = Shop::slow(Duration::from_secs(60));
    let started = std::time::Instant::now();
    let outcome = run(
        &runtime,
        &plugin,
        context(&plugin, &shop, "well-behaved"),
        Duration::from_millis(500),
    )
    .await;
    // Not a speed check: without the deadline the reads would take a minute.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    match &outcome.result {
        Err(Fault::Plugin { code, message }) => {
            assert_eq!(code, "timeout");
            assert!(
                message.contains("deadline passed while machine data was read"),
                "{message}"
            );
        }
        Err(Fault::Deadline { .. }) => {}
        other => panic!("the run should fail at its deadline: {other:?}"),
    }
    assert!(outcome.product.documents.is_empty());
}

#[tokio::test]
async fn a_report_cannot_read_a_machine_outside_its_run() {
    let (outcome, shop) = run_behaviour("foreign-machine", Duration::from_secs(10)).await;
    let Err(Fault::Plugin { code, message }) = &outcome.result else {
        panic!("refused: {:?}", outcome.result);
    };
    assert_eq!(code, "denied");
    assert!(
        message.contains("machine `other-org-mill` is not one of this report run's machines"),
        "{message}"
    );
    assert!(shop.asked.lock().unwrap().is_empty(), "nothing was read");
}

#[tokio::test]
async fn machine_data_needs_its_grant() {
    let runtime = common::runtime();
    let plugin = common::load(&runtime, "hostile-report");
    let shop = Shop::new();
    let mut context = context(&plugin, &shop, "well-behaved");
    context.grants.clear();
    let outcome = run(&runtime, &plugin, context, Duration::from_secs(10)).await;
    let Err(Fault::Plugin { code, message }) = &outcome.result else {
        panic!("refused: {:?}", outcome.result);
    };
    assert_eq!(code, "denied");
    assert!(
        message.contains("`machine-data` capability is not granted"),
        "{message}"
    );
    assert!(shop.asked.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_looping_report_is_stopped_at_its_deadline_and_keeps_its_output() {
    let (outcome, _) = run_behaviour("infinite-loop", Duration::from_millis(300)).await;
    assert!(
        matches!(outcome.result, Err(Fault::Deadline { .. })),
        "{:?}",
        outcome.result
    );
    assert_eq!(document(&outcome, "before.csv"), "a\n1\n");
}

#[tokio::test]
async fn a_report_exhausting_memory_is_stopped_and_keeps_its_output() {
    let (outcome, _) = run_behaviour("memory-bomb", Duration::from_secs(10)).await;
    let Err(Fault::MemoryLimit { cap_bytes }) = outcome.result else {
        panic!("memory limit: {:?}", outcome.result);
    };
    assert_eq!(cap_bytes, 16 << 20);
    assert_eq!(document(&outcome, "before.csv"), "a\n1\n");
}

#[tokio::test]
async fn a_failing_report_keeps_what_it_handed_over() {
    let (outcome, _) = run_behaviour("fail-after-output", Duration::from_secs(10)).await;
    let Err(Fault::Plugin { code, message }) = &outcome.result else {
        panic!("failed: {:?}", outcome.result);
    };
    assert_eq!(
        (code.as_str(), message.as_str()),
        ("internal", "gave up after the summary")
    );
    assert!(document(&outcome, "summary.csv").starts_with("machine,name"));
    assert_eq!(outcome.product.recommendations.len(), 1);
}

#[tokio::test]
async fn a_panicking_report_traps() {
    let (outcome, _) = run_behaviour("panic", Duration::from_secs(10)).await;
    assert!(
        matches!(outcome.result, Err(Fault::Trap { .. })),
        "{:?}",
        outcome.result
    );
}

#[tokio::test]
async fn documents_and_recommendations_are_checked_on_arrival() {
    let (outcome, _) = run_behaviour("bad-documents", Duration::from_secs(10)).await;
    outcome.result.as_ref().unwrap();
    let refusals: Vec<&str> = document(&outcome, "refusals.csv").lines().collect();
    assert_eq!(refusals.len(), 4, "{refusals:?}");
    assert!(
        refusals[0].contains("`../escape.csv` is not a plain file name"),
        "{}",
        refusals[0]
    );
    assert!(
        refusals[1].contains("media type `application/x-msdownload`"),
        "{}",
        refusals[1]
    );
    assert!(
        refusals[2].contains("`twice.csv` was handed over already"),
        "{}",
        refusals[2]
    );
    assert!(
        refusals[3].contains("machine `someone-elses-machine`, which is not one of this run's"),
        "{}",
        refusals[3]
    );
    let names: Vec<&str> = outcome
        .product
        .documents
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(names, ["twice.csv", "refusals.csv"]);
    assert!(outcome.product.recommendations.is_empty());
}

#[tokio::test]
async fn a_report_is_not_a_driver_or_an_integration() {
    let runtime = common::runtime();
    let plugin = common::load(&runtime, "hostile-driver");
    let refused = ReportInstance::start(&runtime, plugin, InstanceContext::for_org(common::org()))
        .await
        .err()
        .unwrap();
    assert!(refused.to_string().contains("is not a report"), "{refused}");
}
