//! A machine's states over a range as one horizontal SVG bar: one color per state, gaps where
//! there is no data, ticks with labels under it, a tooltip on each stretch wide enough to point
//! at.
//!
//! The bar is [`WIDTH`] pixels of a `viewBox` and scales to its container (`width="100%"`).
//! Stretches narrower than a pixel cannot be seen anyway, so each pixel takes the state that
//! covers most of it and neighbouring pixels of the same state become one shape: the SVG has at
//! most one shape per pixel whatever the number of intervals, so a month of a busy machine stays
//! under 40 KB. Colors are `fill` attributes, not CSS: they print without
//! "background graphics" and need no style for the page's content security policy.
//!
//! ```
//! use chatter_report_kit::{Tick, state_timeline};
//! use chatter_sdk::TimeRange;
//! use chatter_sdk::machine_data::{MachineState, StateInterval};
//!
//! let hour = 3_600_000_000_000;
//! let intervals = [StateInterval {
//!     state: MachineState::Running,
//!     range: TimeRange { start: 0, end: 6 * hour },
//! }];
//! let ticks = [Tick::new(0, "First"), Tick::new(8 * hour, "Second")];
//! let svg = state_timeline("Mill 3", TimeRange { start: 0, end: 24 * hour }, &intervals, &ticks);
//! assert!(svg.contains("<title>running 6.0 h</title>"));
//! ```

use std::fmt::Write as _;

use chatter_sdk::machine_data::{MachineState, StateInterval};
use chatter_sdk::{Day, ShiftPeriod, TimeRange};

use crate::format::duration;
use crate::html::Escape;
use crate::page::Section;

/// Width of the bar in `viewBox` units, which are pixels at its natural size.
pub const WIDTH: usize = 1000;
/// Height of the bar.
pub const BAR_HEIGHT: u32 = 28;
/// Height of the axis under the bar (tick marks and labels).
const AXIS_HEIGHT: u32 = 18;
/// Drawn where no state is known (before the first observation, data not derived).
pub const NO_DATA_COLOR: &str = "#e5e7eb";
const AXIS_COLOR: &str = "#374151";
const LABEL_SIZE: f64 = 11.0;

/// A mark on the axis: a day start, a shift start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tick {
    /// Where, in nanoseconds since the Unix epoch.
    pub at: i64,
    /// What the mark is labelled with.
    pub label: String,
}

impl Tick {
    /// A mark at `at` labelled `label`.
    pub fn new(at: i64, label: impl Into<String>) -> Self {
        Tick {
            at,
            label: label.into(),
        }
    }
}

/// Periods of this many days or more label their day ticks `MM-DD`, so more labels fit.
const SHORT_LABELS_FROM_DAYS: usize = 8;

/// The ticks of a period's timeline: the start of each local day when the period has several
/// (labelled `YYYY-MM-DD`, or `MM-DD` from `SHORT_LABELS_FROM_DAYS` days on, the year being in
/// the page's heading); for one day, the start of each shift, or of the day without shifts.
pub fn period_ticks(days: &[Day], shifts: &[ShiftPeriod]) -> Vec<Tick> {
    if days.len() > 1 || shifts.is_empty() {
        let short = days.len() >= SHORT_LABELS_FROM_DAYS;
        days.iter()
            .map(|day| {
                let label = match day.date.get(5..) {
                    Some(month_day) if short => month_day,
                    _ => &day.date,
                };
                Tick::new(day.range.start, label)
            })
            .collect()
    } else {
        shifts
            .iter()
            .map(|p| Tick::new(p.range.start, &p.shift))
            .collect()
    }
}

/// The color a state is drawn in: running green, idle amber, alarm red, paused light orange,
/// setup blue, offline grey.
pub fn color(state: MachineState) -> &'static str {
    match state {
        MachineState::Running => "#16a34a",
        MachineState::Idle => "#f59e0b",
        MachineState::Alarm => "#dc2626",
        MachineState::Paused => "#fdba74",
        MachineState::Setup => "#2563eb",
        MachineState::Offline => "#6b7280",
    }
}

/// The key to the colors of [`state_timeline`], as an HTML list (`<ul class="legend">`) with a
/// small SVG swatch per state and one for "no data".
pub fn legend() -> String {
    let mut html = String::from("<ul class=\"legend\">");
    let entries = MachineState::ALL
        .iter()
        .map(|&state| (color(state), state.name()))
        .chain([(NO_DATA_COLOR, "no data")]);
    for (fill, name) in entries {
        let _ = write!(
            html,
            "<li><svg width=\"12\" height=\"12\" viewBox=\"0 0 12 12\" aria-hidden=\"true\">\
             <rect width=\"12\" height=\"12\" fill=\"{fill}\"/></svg>{name}</li>"
        );
    }
    html.push_str("</ul>");
    html
}

/// A machine's section of a page, headed by its `name`: its states over `range` as a
/// [`state_timeline`] with `ticks` under it, then the [`legend`]. The report adds its tables.
pub fn machine_section(
    name: &str,
    range: TimeRange,
    intervals: &[StateInterval],
    ticks: &[Tick],
) -> Section {
    Section::new(name)
        .html(&state_timeline(name, range, intervals, ticks))
        .html(&legend())
}

/// The states of one machine over `range` as an SVG bar with `ticks` under it. `label` names
/// the figure for screen readers (e.g. the machine's name). `intervals` may be in any order;
/// the parts outside `range` are ignored.
pub fn state_timeline(
    label: &str,
    range: TimeRange,
    intervals: &[StateInterval],
    ticks: &[Tick],
) -> String {
    let height = BAR_HEIGHT + AXIS_HEIGHT;
    let mut svg = format!(
        "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} \
         {height}\" width=\"100%\" role=\"img\" aria-label=\"States of {}\" \
         shape-rendering=\"crispEdges\"><rect width=\"{WIDTH}\" height=\"{BAR_HEIGHT}\" \
         fill=\"{NO_DATA_COLOR}\"/>",
        Escape(label)
    );
    if range.end > range.start {
        let runs = Pixels::new(range, intervals).runs();
        // One group per state carries the color, so each rectangle does not repeat it.
        for state in MachineState::ALL {
            let mut runs = runs.iter().filter(|run| run.state == state).peekable();
            if runs.peek().is_none() {
                continue;
            }
            let _ = write!(svg, "<g fill=\"{}\">", color(state));
            let mut slivers = String::new();
            for run in runs {
                draw_run(&mut svg, &mut slivers, run);
            }
            if !slivers.is_empty() {
                let _ = write!(svg, "<path d=\"{slivers}\"/>");
            }
            svg.push_str("</g>");
        }
        draw_ticks(&mut svg, range, ticks);
    }
    svg.push_str("</svg>");
    svg
}

/// Time per state within each pixel column of the bar.
struct Pixels {
    range: TimeRange,
    /// `bounds[p]`: where pixel `p` starts; `bounds[WIDTH]` is the end of the range.
    bounds: Vec<i64>,
    /// `time[p][s]`: nanoseconds of pixel `p` in state `MachineState::ALL[s]`.
    time: Vec<[i64; 6]>,
}

/// Neighbouring pixels of the same dominant state: one rectangle.
struct Run {
    state: MachineState,
    from: usize,
    to: usize,
    /// Nanoseconds in `state` within the run.
    in_state: i64,
    /// Nanoseconds in other states within the run, merged in because they were too short to
    /// draw.
    merged: i64,
}

impl Pixels {
    fn new(range: TimeRange, intervals: &[StateInterval]) -> Self {
        let span = i128::from(range.end) - i128::from(range.start);
        // Computed once: a month of intervals would otherwise divide 128-bit numbers (a span
        // of decades in nanoseconds times 1000 overflows i64) several times each.
        let bounds = (0..=WIDTH)
            .map(|p| (i128::from(range.start) + span * p as i128 / WIDTH as i128) as i64)
            .collect();
        let mut pixels = Pixels {
            range,
            bounds,
            time: vec![[0; 6]; WIDTH],
        };
        let mut hint = 0;
        for interval in intervals {
            hint = pixels.add(interval, hint);
        }
        pixels
    }

    /// The start of pixel `p` (`p` may be `WIDTH`, the end of the range).
    fn start(&self, p: usize) -> i64 {
        self.bounds[p]
    }

    /// The pixel containing `at`, which lies within the range, looked for from pixel `from`:
    /// intervals come in order, so the answer is almost always `from` or just after it.
    fn pixel_of(&self, at: i64, from: usize) -> usize {
        let mut p = if self.bounds[from] <= at {
            from
        } else {
            // Out of order: a floating-point estimate, off by one at most, made exact below.
            let span = (self.range.end - self.range.start) as f64;
            ((at - self.range.start) as f64 / span * WIDTH as f64) as usize
        };
        p = p.min(WIDTH - 1);
        while p > 0 && self.bounds[p] > at {
            p -= 1;
        }
        while p < WIDTH - 1 && self.bounds[p + 1] <= at {
            p += 1;
        }
        p
    }

    /// Adds the interval's time to the pixels it covers; returns the last of them, where the
    /// next interval most likely starts.
    fn add(&mut self, interval: &StateInterval, hint: usize) -> usize {
        let start = interval.range.start.max(self.range.start);
        let end = interval.range.end.min(self.range.end);
        if start >= end {
            return hint;
        }
        let state = state_index(interval.state);
        let first = self.pixel_of(start, hint);
        let last = self.pixel_of(end - 1, first);
        for p in first..=last {
            let overlap = end.min(self.start(p + 1)) - start.max(self.start(p));
            self.time[p][state] += overlap.max(0);
        }
        last
    }

    /// The state covering most of pixel `p`, or `None` when most of it has no data. Ties go to
    /// the state of higher precedence (alarm before running), the order of
    /// [`MachineState::ALL`].
    fn dominant(&self, p: usize) -> Option<MachineState> {
        let time = &self.time[p];
        let (best, most) = (0..6).fold((0, time[0]), |(best, most), s| {
            if time[s] > most {
                (s, time[s])
            } else {
                (best, most)
            }
        });
        let uncovered = self.start(p + 1) - self.start(p) - time.iter().sum::<i64>();
        (most > 0 && most >= uncovered).then_some(MachineState::ALL[best])
    }

    fn runs(&self) -> Vec<Run> {
        let mut runs: Vec<Run> = Vec::new();
        for p in 0..WIDTH {
            let Some(state) = self.dominant(p) else {
                continue;
            };
            let in_state = self.time[p][state_index(state)];
            let merged = self.time[p].iter().sum::<i64>() - in_state;
            match runs.last_mut() {
                Some(run) if run.state == state && run.to == p => {
                    run.to = p + 1;
                    run.in_state += in_state;
                    run.merged += merged;
                }
                _ => runs.push(Run {
                    state,
                    from: p,
                    to: p + 1,
                    in_state,
                    merged,
                }),
            }
        }
        runs
    }
}

fn state_index(state: MachineState) -> usize {
    MachineState::ALL
        .iter()
        .position(|&s| s == state)
        .unwrap_or_default()
}

/// Runs narrower than this many pixels get no tooltip: nobody can point at a sliver. They are
/// drawn as subpaths of one path per state instead of rectangles of their own, since a month
/// of a busy machine has hundreds of them, and a page of a hundred machines stays light.
const MIN_TOOLTIP_WIDTH: usize = 4;

/// Draws a wide `run` into `svg` as a rectangle with a tooltip, or a narrow one into `slivers`.
fn draw_run(svg: &mut String, slivers: &mut String, run: &Run) {
    let width = run.to - run.from;
    if width < MIN_TOOLTIP_WIDTH {
        let _ = write!(slivers, "M{} 0h{width}v{BAR_HEIGHT}h-{width}z", run.from);
        return;
    }
    let _ = write!(
        svg,
        "<rect x=\"{}\" width=\"{width}\" height=\"{BAR_HEIGHT}\"><title>{} {}",
        run.from,
        run.state.name(),
        duration(run.in_state),
    );
    if run.merged > 0 {
        let _ = write!(svg, " (+{} other)", duration(run.merged));
    }
    svg.push_str("</title></rect>");
}

/// Tick marks across the bar's lower edge, labels right of them. A label that would overlap the
/// previous one or run past the end is left out; its mark stays.
fn draw_ticks(svg: &mut String, range: TimeRange, ticks: &[Tick]) {
    let span = (range.end - range.start) as f64;
    let mut free_from = 0.0;
    for tick in ticks {
        if tick.at < range.start || tick.at > range.end {
            continue;
        }
        let x = (tick.at - range.start) as f64 * WIDTH as f64 / span;
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"0\" y2=\"{}\" stroke=\"{AXIS_COLOR}\" \
             stroke-width=\"1\"/>",
            BAR_HEIGHT + 5
        );
        // A rough width for a sans-serif label: proportional fonts average ~0.6 em per char.
        let width = tick.label.chars().count() as f64 * LABEL_SIZE * 0.6;
        let text_x = x + 3.0;
        if tick.label.is_empty() || text_x < free_from || text_x + width > WIDTH as f64 {
            continue;
        }
        let _ = write!(
            svg,
            "<text x=\"{text_x:.1}\" y=\"{}\" font-size=\"{LABEL_SIZE}\" \
             font-family=\"system-ui, sans-serif\" fill=\"{AXIS_COLOR}\">{}</text>",
            BAR_HEIGHT + AXIS_HEIGHT - 4,
            Escape(&tick.label)
        );
        free_from = text_x + width + 6.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000_000_000;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;

    fn interval(state: MachineState, start: i64, end: i64) -> StateInterval {
        StateInterval {
            state,
            range: TimeRange { start, end },
        }
    }

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    #[test]
    fn a_machine_section_has_its_timeline_then_the_legend() {
        let range = TimeRange { start: 0, end: DAY };
        let intervals = [interval(MachineState::Running, 0, HOUR)];
        let section = machine_section("Mill 3", range, &intervals, &[Tick::new(0, "First")]);
        let html = crate::Page::new("t").section(section).render();
        let heading = html.find("<h2>Mill 3</h2>\n<svg class=\"timeline\"");
        let legend = html.find("<ul class=\"legend\">");
        assert!(heading.is_some() && heading < legend);
    }

    #[test]
    fn wide_intervals_are_drawn_at_their_place_with_their_duration() {
        let range = TimeRange {
            start: 0,
            end: 10 * HOUR,
        };
        let intervals = [
            interval(MachineState::Running, 0, 4 * HOUR),
            interval(MachineState::Idle, 4 * HOUR, 5 * HOUR),
            interval(MachineState::Alarm, 5 * HOUR, 10 * HOUR),
        ];
        let svg = state_timeline("Mill 3", range, &intervals, &[]);
        assert!(svg.contains(
            "<g fill=\"#16a34a\"><rect x=\"0\" width=\"400\" height=\"28\"><title>running 4.0 h</title></rect></g>"
        ));
        assert!(svg.contains(
            "<g fill=\"#f59e0b\"><rect x=\"400\" width=\"100\" height=\"28\"><title>idle 1.0 h</title></rect></g>"
        ));
        assert!(svg.contains("<g fill=\"#dc2626\"><rect x=\"500\" width=\"500\""));
        assert!(svg.contains("viewBox=\"0 0 1000 46\" width=\"100%\""));
        assert!(svg.contains("aria-label=\"States of Mill 3\""));
    }

    #[test]
    fn gaps_without_data_stay_undrawn() {
        let range = TimeRange {
            start: 0,
            end: 10 * HOUR,
        };
        let intervals = [interval(MachineState::Setup, 6 * HOUR, 7 * HOUR)];
        let svg = state_timeline("m", range, &intervals, &[]);
        // The background plus one rectangle for the setup.
        assert_eq!(count(&svg, "<rect"), 2);
        assert!(svg.contains("x=\"600\" width=\"100\""));
    }

    #[test]
    fn stretches_narrower_than_a_pixel_merge_into_the_dominant_state() {
        // 1000 pixels over 1000 minutes: each pixel is a minute. Within every minute the
        // machine runs 40 s and idles 20 s: one running rectangle with the idle time merged.
        let range = TimeRange {
            start: 0,
            end: 1000 * MINUTE,
        };
        let second = MINUTE / 60;
        let intervals: Vec<_> = (0..1000)
            .flat_map(|m| {
                let t = m * MINUTE;
                [
                    interval(MachineState::Running, t, t + 40 * second),
                    interval(MachineState::Idle, t + 40 * second, t + MINUTE),
                ]
            })
            .collect();
        let svg = state_timeline("m", range, &intervals, &[]);
        assert_eq!(count(&svg, "<rect"), 2);
        assert!(svg.contains("<title>running 11.1 h (+5.6 h other)</title>"));
    }

    #[test]
    fn a_month_of_a_busy_machine_stays_small() {
        // 30 days, a state change every 90 seconds, through all six states.
        let range = TimeRange {
            start: 0,
            end: 30 * DAY,
        };
        let step = 90 * 1_000_000_000;
        let intervals: Vec<_> = (0..(30 * DAY / step))
            .map(|i| {
                let state = MachineState::ALL[(i % 6) as usize];
                interval(state, i * step, (i + 1) * step)
            })
            .collect();
        let ticks: Vec<_> = (0..30)
            .map(|d| Tick::new(d * DAY, format!("03-{:02}", d + 1)))
            .collect();
        let svg = state_timeline("m", range, &intervals, &ticks);
        assert!(svg.len() < 40_000, "{} bytes", svg.len());
        assert!(count(&svg, "<rect") + count(&svg, "z") <= WIDTH + 1);
    }

    #[test]
    fn a_state_changing_every_pixel_stays_under_40_kb() {
        // The worst case: every pixel of a month has a different dominant state than its
        // neighbours, with the next state mixed in, so every pixel is a rectangle of its own.
        let range = TimeRange {
            start: 0,
            end: 30 * DAY,
        };
        let pixel = 30 * DAY / WIDTH as i64;
        let intervals: Vec<_> = (0..WIDTH as i64)
            .flat_map(|p| {
                let t = p * pixel;
                let state = |k: i64| MachineState::ALL[((p + k) % 6) as usize];
                [
                    interval(state(0), t, t + pixel * 6 / 10),
                    interval(state(1), t + pixel * 6 / 10, t + pixel),
                ]
            })
            .collect();
        let svg = state_timeline("m", range, &intervals, &[]);
        // The background, then each pixel a subpath of its state's path, without a tooltip.
        assert_eq!(count(&svg, "<rect"), 1);
        assert_eq!(count(&svg, "<path d=\""), 6);
        assert_eq!(count(&svg, "h1v28h-1z"), WIDTH);
        assert!(!svg.contains("<title>"));
        assert!(svg.len() < 40_000, "{} bytes", svg.len());
    }

    #[test]
    fn ticks_are_marked_and_labels_that_would_overlap_are_left_out() {
        let range = TimeRange {
            start: 0,
            end: 24 * HOUR,
        };
        let ticks = [
            Tick::new(0, "First"),
            Tick::new(HOUR / 4, "Overlapping"),
            Tick::new(8 * HOUR, "Second <2>"),
            Tick::new(25 * HOUR, "Outside"),
        ];
        let svg = state_timeline("m", range, &[], &ticks);
        assert_eq!(count(&svg, "<line"), 3);
        assert!(svg.contains(">First</text>"));
        assert!(!svg.contains("Overlapping"));
        assert!(svg.contains(">Second &lt;2&gt;</text>"));
        assert!(!svg.contains("Outside"));
        assert!(svg.contains("<line x1=\"333.3\""));
    }

    #[test]
    fn an_empty_range_draws_only_the_background() {
        let range = TimeRange { start: 5, end: 5 };
        let intervals = [interval(MachineState::Running, 0, 10)];
        let svg = state_timeline("m", range, &intervals, &[Tick::new(5, "x")]);
        assert_eq!(count(&svg, "<rect"), 1);
        assert!(svg.ends_with("</svg>"));
    }

    fn day(date: &str, index: i64) -> Day {
        Day {
            date: date.to_owned(),
            range: TimeRange {
                start: index * DAY,
                end: (index + 1) * DAY,
            },
        }
    }

    fn labels(ticks: &[Tick]) -> Vec<&str> {
        ticks.iter().map(|t| t.label.as_str()).collect()
    }

    #[test]
    fn several_days_are_ticked_at_day_starts_one_day_at_shift_starts() {
        let shift = |name: &str, from: i64| ShiftPeriod {
            shift: name.to_owned(),
            date: "2025-03-03".to_owned(),
            range: TimeRange {
                start: from * HOUR,
                end: (from + 8) * HOUR,
            },
        };
        let shifts = [shift("First", 6), shift("Second", 14)];
        let three: Vec<Day> = (0..3)
            .map(|d| day(&format!("2025-03-0{}", d + 3), d))
            .collect();
        assert_eq!(
            labels(&period_ticks(&three, &shifts)),
            ["2025-03-03", "2025-03-04", "2025-03-05"]
        );
        let ticks = period_ticks(&three[..1], &shifts);
        assert_eq!(labels(&ticks), ["First", "Second"]);
        assert_eq!(ticks[1].at, 14 * HOUR);
        assert_eq!(labels(&period_ticks(&three[..1], &[])), ["2025-03-03"]);
        let month: Vec<Day> = (0..10)
            .map(|d| day(&format!("2025-03-{:02}", d + 1), d))
            .collect();
        assert_eq!(period_ticks(&month, &[])[9].label, "03-10");
    }

    #[test]
    fn the_legend_names_every_state_and_no_data() {
        let legend = legend();
        for state in MachineState::ALL {
            assert!(legend.contains(&format!(
                "fill=\"{}\"/></svg>{}</li>",
                color(state),
                state.name()
            )));
        }
        assert!(legend.contains("no data"));
    }
}
