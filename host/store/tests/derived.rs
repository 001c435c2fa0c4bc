//! Derived data, forwarded observations, retention and device tokens.
#![allow(clippy::unwrap_used)]

mod common;

use chatter_model::{
    Alarm, ConditionLevel, Cycle, CycleEnd, DeviceToken, Interval, MachineStatus, PartCount, Totals,
};
use chatter_store::{DerivedRecords, Expiry, StoreError};
use common::*;

const HOUR: i64 = 3_600_000_000_000;
const DAY: i64 = 24 * HOUR;

fn expiry(
    raw_before: Option<i64>,
    raw_through: Option<u64>,
    derived_before: Option<i64>,
) -> Expiry {
    Expiry {
        raw_before,
        raw_through,
        derived_before,
    }
}

fn interval(status: MachineStatus, start: i64, end: i64) -> Interval {
    Interval { status, start, end }
}

fn records<'a>(
    intervals: &'a [Interval],
    parts: &'a [PartCount],
    cycles: &'a [Cycle],
    alarms: &'a [Alarm],
) -> DerivedRecords<'a> {
    DerivedRecords {
        intervals,
        parts,
        cycles,
        alarms,
        snapshot: b"snap",
    }
}

/// Totals summed straight from the records, clipped to the range.
fn expected(intervals: &[Interval], cycles: &[Cycle], from: i64, to: i64) -> Totals {
    let mut totals = Totals::default();
    for i in intervals {
        let overlap = i.end.min(to) - i.start.max(from);
        if overlap > 0 {
            totals.add_time(i.status, overlap);
        }
    }
    for c in cycles.iter().filter(|c| (from..to).contains(&c.end)) {
        totals.cycles += 1;
        totals.cycle_time += c.duration();
    }
    totals
}

#[tokio::test]
async fn totals_from_rollups_equal_totals_from_the_records_for_any_range() {
    let (store, org, mill) = (
        store_with(&["acme/mill"]).await,
        org_id("acme"),
        machine_id("mill"),
    );
    let base = 20_000 * DAY;
    // Three days of intervals of awkward lengths, written in several batches.
    let statuses = MachineStatus::ALL;
    let mut intervals = Vec::new();
    let mut cycles = Vec::new();
    let mut t = base - 7 * HOUR / 3;
    let mut i = 0;
    while t < base + 3 * DAY {
        let len = (i % 7 + 1) as i64 * 13 * 60_000_000_000 + 12_345;
        intervals.push(interval(statuses[i % 6], t, t + len));
        if statuses[i % 6] == MachineStatus::Running {
            cycles.push(Cycle {
                start: t,
                end: t + len,
                ended: CycleEnd::Completed,
                program: Some("O1000".into()),
                active: len,
                parts: 1,
            });
        }
        t += len;
        i += 1;
    }
    for chunk in intervals.chunks(17) {
        let ended: Vec<_> = cycles
            .iter()
            .filter(|c| chunk.iter().any(|i| i.end == c.end))
            .cloned()
            .collect();
        store
            .put_derived(&org, &mill, records(chunk, &[], &ended, &[]))
            .await
            .unwrap();
    }
    for (from, to) in [
        (base, base + DAY),
        (base - HOUR, base + 3 * DAY),
        (base + 5 * HOUR + 17, base + 2 * DAY + 3 * HOUR + 5),
        (base + 123, base + 456_789),
        (base - 10 * DAY, base + 10 * DAY),
    ] {
        let got = store.totals(&org, &mill, from, to).await.unwrap();
        assert_eq!(got, expected(&intervals, &cycles, from, to), "{from}..{to}");
    }
    let listed = store
        .intervals(&org, &mill, base + 100, base + HOUR)
        .await
        .unwrap();
    assert!(listed.first().unwrap().start <= base + 100);
    assert!(listed.windows(2).all(|w| w[0].end == w[1].start));
    assert_eq!(
        store
            .deriver_snapshot(&org, &mill)
            .await
            .unwrap()
            .as_deref(),
        Some(&b"snap"[..])
    );
}

#[tokio::test]
async fn derived_records_are_listed_by_time_and_scoped_by_organization() {
    let (store, org, mill) = (
        store_with(&["acme/mill", "rival/mill"]).await,
        org_id("acme"),
        machine_id("mill"),
    );
    let rival = org_id("rival");
    let part = |at, counter| PartCount {
        at,
        parts: 1,
        counter,
        program: None,
    };
    let alarm = Alarm {
        data_item: "system".into(),
        native_code: Some("1010".into()),
        level: ConditionLevel::Fault,
        text: Some("SPINDLE OVERLOAD".into()),
        start: 50,
        end: Some(80),
    };
    let parts = [part(10, 1), part(20, 2), part(20, 3), part(90, 4)];
    store
        .put_derived(
            &org,
            &mill,
            records(&[], &parts, &[], std::slice::from_ref(&alarm)),
        )
        .await
        .unwrap();
    assert_eq!(store.parts(&org, &mill, 0, 100, 10).await.unwrap().len(), 4);
    assert_eq!(store.parts(&org, &mill, 20, 90, 10).await.unwrap().len(), 2);
    assert_eq!(store.parts(&org, &mill, 0, 100, 1).await.unwrap().len(), 1);
    assert_eq!(
        store.alarms(&org, &mill, 0, 100, 10).await.unwrap(),
        vec![alarm]
    );
    assert!(
        store
            .parts(&rival, &mill, 0, 100, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .alarms(&rival, &mill, 0, 100, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.totals(&rival, &mill, 0, 100).await.unwrap(),
        Totals::default()
    );
    assert_eq!(store.totals(&org, &mill, 0, 100).await.unwrap().parts, 4);

    let unknown = store
        .put_derived(&org, &machine_id("ghost"), records(&[], &parts, &[], &[]))
        .await;
    assert!(matches!(unknown, Err(StoreError::UnknownMachine { .. })));

    store.remove_machine(&org, &mill).await.unwrap();
    store.put_machine(&machine("acme", "mill")).await.unwrap();
    assert!(
        store
            .parts(&org, &mill, 0, 100, 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.deriver_snapshot(&org, &mill).await.unwrap().is_none());
}

#[tokio::test]
async fn forwarded_observations_are_stored_once_whatever_is_sent_again() {
    let (store, org, mill) = (
        store_with(&["acme/mill"]).await,
        org_id("acme"),
        machine_id("mill"),
    );
    let batch = samples(1_000, 5);
    let first = store
        .append_forwarded(&org, &mill, "edge-a", &[1, 2, 3, 4, 5], &batch)
        .await
        .unwrap();
    assert_eq!(
        (first.duplicates, first.appended.sequences.clone()),
        (0, 1..6)
    );
    // The acknowledgement was lost: the edge sends 3..=7 again with two new ones.
    let again = samples(1_002, 5);
    let second = store
        .append_forwarded(&org, &mill, "edge-a", &[3, 4, 5, 6, 7], &again)
        .await
        .unwrap();
    assert_eq!((second.duplicates, second.appended.sequences), (3, 6..8));
    assert_eq!(second.last_sequence, 7);
    let all = store.observations(&org, &mill, 0, 100).await.unwrap();
    let stamps: Vec<_> = all.iter().map(|o| o.observation.timestamp).collect();
    assert_eq!(stamps, (1_000..1_007).collect::<Vec<_>>());
    assert_eq!(
        store.last_forwarded(&org, &mill).await.unwrap(),
        Some(("edge-a".to_owned(), 7))
    );

    let replay = store
        .append_forwarded(&org, &mill, "edge-a", &[1, 2, 3, 4, 5], &batch)
        .await
        .unwrap();
    assert_eq!((replay.duplicates, replay.last_sequence), (5, 7));
    assert!(replay.appended.sequences.is_empty());

    for bad in [&[9, 8, 10, 11, 12][..], &[9, 9, 10, 11, 12], &[9, 10]] {
        let refused = store
            .append_forwarded(&org, &mill, "edge-a", bad, &batch)
            .await;
        assert!(
            matches!(refused, Err(StoreError::Unordered { .. })),
            "{bad:?}"
        );
    }
    assert_eq!(store.last_sequence(&org, &mill).await.unwrap(), 7);

    // A replaced edge starts a new stream at 1.
    let fresh = store
        .append_forwarded(&org, &mill, "edge-b", &[1, 2], &samples(2_000, 2))
        .await
        .unwrap();
    assert_eq!((fresh.duplicates, fresh.appended.sequences), (0, 8..10));
}

fn cycle(start: i64, end: i64) -> Cycle {
    Cycle {
        start,
        end,
        ended: CycleEnd::Completed,
        program: Some("O1234".into()),
        active: end - start,
        parts: 1,
    }
}

fn alarm(start: i64, end: Option<i64>) -> Alarm {
    Alarm {
        data_item: "system".into(),
        native_code: Some("1010".into()),
        level: ConditionLevel::Fault,
        text: Some("SPINDLE OVERLOAD".into()),
        start,
        end,
    }
}

type Records = (Vec<Interval>, Vec<Cycle>, Vec<PartCount>, Vec<Alarm>);

/// What the store should answer for `[from, to)`: intervals overlapping it, and cycles, part
/// counts and alarms keyed within it.
fn keyed(
    intervals: &[Interval],
    cycles: &[Cycle],
    parts: &[PartCount],
    alarms: &[Alarm],
    from: i64,
    to: i64,
) -> Records {
    let within = |t: i64| (from..to).contains(&t);
    (
        intervals
            .iter()
            .filter(|x| x.end > from && x.start < to)
            .cloned()
            .collect(),
        cycles.iter().filter(|x| within(x.end)).cloned().collect(),
        parts.iter().filter(|x| within(x.at)).cloned().collect(),
        alarms.iter().filter(|x| within(x.start)).cloned().collect(),
    )
}

/// Long past days are read from day pages once read whole; whatever is read must equal the
/// records, before and after the pages exist, and after a write lands in a paged day.
#[tokio::test]
async fn reads_through_day_pages_equal_the_records_and_see_later_writes() {
    let (store, org, mill) = (
        store_with(&["acme/mill"]).await,
        org_id("acme"),
        machine_id("mill"),
    );
    // Three days of half-hour intervals, each running one with a cycle and a part, except a
    // gap from 30 to 32 h that a late write fills; an alarm a day.
    let minute = HOUR / 60;
    let mut intervals = Vec::new();
    let (mut cycles, mut parts, mut alarms) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..144 {
        let (start, end) = (n * 30 * minute, (n + 1) * 30 * minute);
        if (30 * HOUR..32 * HOUR).contains(&start) {
            continue;
        }
        let running = n % 2 == 0;
        let status = if running {
            MachineStatus::Running
        } else {
            MachineStatus::Idle
        };
        intervals.push(interval(status, start, end));
        if running {
            cycles.push(cycle(start, end));
            parts.push(PartCount {
                at: end,
                parts: 1,
                counter: n as u64,
                program: None,
            });
        }
    }
    for day in 0..3 {
        alarms.push(alarm(day * DAY + 5 * HOUR, None));
    }
    store
        .put_derived(&org, &mill, records(&intervals, &parts, &cycles, &alarms))
        .await
        .unwrap();

    let read = |from: i64, to: i64| {
        let (store, org, mill) = (store.clone(), org.clone(), mill.clone());
        async move {
            (
                store.intervals(&org, &mill, from, to).await.unwrap(),
                store
                    .cycles(&org, &mill, from, to, usize::MAX)
                    .await
                    .unwrap(),
                store
                    .parts(&org, &mill, from, to, usize::MAX)
                    .await
                    .unwrap(),
                store
                    .alarms(&org, &mill, from, to, usize::MAX)
                    .await
                    .unwrap(),
            )
        }
    };
    // Whole days, twice (the second time from pages), then ranges starting and ending inside
    // days and inside an interval.
    for (from, to) in [
        (0, 3 * DAY),
        (0, 3 * DAY),
        (HOUR + 10 * minute, 2 * DAY + HOUR),
        (DAY, 2 * DAY),
    ] {
        let expected = keyed(&intervals, &cycles, &parts, &alarms, from, to);
        assert_eq!(read(from, to).await, expected, "{from}..{to}");
    }
    let first_ten = store.cycles(&org, &mill, 0, 3 * DAY, 10).await.unwrap();
    assert_eq!(first_ten, cycles[..10]);
    let across_days = store.cycles(&org, &mill, 0, 3 * DAY, 30).await.unwrap();
    assert_eq!(
        across_days,
        cycles[..30],
        "a limit reaching into the second day's page"
    );

    // A late interval, cycle and part fill the gap on day 2; the day's alarm clears.
    let late_interval = interval(MachineStatus::Running, 30 * HOUR, 32 * HOUR);
    let late_cycle = cycle(30 * HOUR, 32 * HOUR);
    let late_part = PartCount {
        at: 32 * HOUR,
        parts: 1,
        counter: 999,
        program: None,
    };
    let cleared = alarm(DAY + 5 * HOUR, Some(DAY + 6 * HOUR));
    store
        .put_derived(
            &org,
            &mill,
            records(
                std::slice::from_ref(&late_interval),
                std::slice::from_ref(&late_part),
                std::slice::from_ref(&late_cycle),
                std::slice::from_ref(&cleared),
            ),
        )
        .await
        .unwrap();
    intervals.push(late_interval);
    intervals.sort_by_key(|i| i.start);
    cycles.push(late_cycle);
    cycles.sort_by_key(|c| c.end);
    parts.push(late_part);
    parts.sort_by_key(|p| p.at);
    alarms[1] = cleared;
    let expected = keyed(&intervals, &cycles, &parts, &alarms, 0, 3 * DAY);
    assert_eq!(read(0, 3 * DAY).await, expected);
}

/// Removing a machine takes its day pages with it: the same id starts empty.
#[tokio::test]
async fn a_machine_removed_and_added_again_has_no_paged_records() {
    let (store, org, mill) = (
        store_with(&["acme/mill"]).await,
        org_id("acme"),
        machine_id("mill"),
    );
    let idle = [interval(MachineStatus::Idle, 0, DAY)];
    store
        .put_derived(&org, &mill, records(&idle, &[], &[], &[]))
        .await
        .unwrap();
    assert_eq!(store.intervals(&org, &mill, 0, DAY).await.unwrap(), idle);
    assert!(store.remove_machine(&org, &mill).await.unwrap());
    store.put_machine(&machine("acme", "mill")).await.unwrap();
    assert_eq!(store.intervals(&org, &mill, 0, DAY).await.unwrap(), []);
}

#[tokio::test]
async fn expiry_removes_old_data_in_bounded_steps_and_keeps_the_rest() {
    let (store, org, mill) = (
        store_with(&["acme/mill"]).await,
        org_id("acme"),
        machine_id("mill"),
    );
    // 5,000 observations one second apart, in batches that become chunks.
    let second = 1_000_000_000;
    for batch in 0..5 {
        let observations: Vec<_> = (0..1_000)
            .map(|i| sample("x", (batch * 1_000 + i) * second, 1.0))
            .collect();
        store
            .append_observations(&org, &mill, &observations)
            .await
            .unwrap();
    }
    let intervals: Vec<_> = (0..100)
        .map(|i| interval(MachineStatus::Idle, i * HOUR, (i + 1) * HOUR))
        .collect();
    store
        .put_derived(&org, &mill, records(&intervals, &[], &[], &[]))
        .await
        .unwrap();

    // Read once, so the days have pages that expiry must drop with their records.
    let all = store.intervals(&org, &mill, 0, 200 * HOUR).await.unwrap();
    assert_eq!(all.len(), 100);

    let cutoff = 2_500 * second;
    // An edge that forwarded only up to sequence 1,500 keeps the rest, however old.
    let mut kept_for_the_edge = 0;
    loop {
        let step = store
            .expire(&org, &mill, expiry(Some(cutoff), Some(1_500), None), 40)
            .await
            .unwrap();
        kept_for_the_edge += step.observations;
        if !step.more {
            break;
        }
    }
    assert!(kept_for_the_edge <= 1_500, "{kept_for_the_edge}");
    let first = store.observations(&org, &mill, 0, 1).await.unwrap();
    assert!(first[0].sequence <= 1_501);

    let mut removed = 0;
    loop {
        let step = store
            .expire(&org, &mill, expiry(Some(cutoff), None, Some(50 * HOUR)), 40)
            .await
            .unwrap();
        removed += step.derived;
        if !step.more {
            break;
        }
    }
    // Whole chunks older than the cutoff go; the chunk straddling it stays.
    let left = store.observations(&org, &mill, 0, 10_000).await.unwrap();
    assert!(left.first().unwrap().observation.timestamp <= cutoff);
    assert!(left.len() >= 2_500 && left.len() < 5_000, "{}", left.len());
    assert_eq!(left.last().unwrap().sequence, 5_000);
    let kept = store.intervals(&org, &mill, 0, 200 * HOUR).await.unwrap();
    assert_eq!(kept.first().unwrap().start, 50 * HOUR);
    assert!(removed >= 50);
    assert_eq!(
        store
            .totals(&org, &mill, 50 * HOUR, 100 * HOUR)
            .await
            .unwrap()
            .idle,
        50 * HOUR
    );
}

#[tokio::test]
async fn device_tokens_are_found_by_hash_and_listed_per_organization() {
    let (store, org) = (
        store_with(&["acme/mill", "rival/mill"]).await,
        org_id("acme"),
    );
    let token = |org: &str, id: &str, at| DeviceToken {
        kind: chatter_model::DeviceKind::Edge,
        id: id.into(),
        org: org_id(org),
        name: format!("edge {id}"),
        created_at_ms: at,
        revoked_at_ms: None,
    };
    store
        .put_device_token("aa", &token("acme", "a2", 2))
        .await
        .unwrap();
    store
        .put_device_token("bb", &token("acme", "a1", 1))
        .await
        .unwrap();
    store
        .put_device_token("cc", &token("rival", "r1", 1))
        .await
        .unwrap();
    assert_eq!(
        store.device_token("cc").await.unwrap().unwrap().org,
        org_id("rival")
    );
    assert!(store.device_token("dd").await.unwrap().is_none());
    let listed = store.device_tokens(&org).await.unwrap();
    let ids: Vec<_> = listed.iter().map(|(_, t)| t.id.as_str()).collect();
    assert_eq!(ids, ["a1", "a2"]);
    let orphan = store.put_device_token("ee", &token("nobody", "x", 1)).await;
    assert!(matches!(orphan, Err(StoreError::UnknownOrganization(_))));
}
