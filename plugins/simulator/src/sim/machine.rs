//! The simulated machine: its processes (job lifecycle, spindle-load sampler, warnings) as
//! handlers of wake-ups, each reporting the data items it changes.
//!
//! The job lifecycle is one process that always has exactly one pending [`Step`]:
//!
//! 1. `StartJob`: a new program, part count 0, `MANUAL`; then `SetupTask`s (jogging in `MANUAL`,
//!    or MDI runs ending in `EndMdi`) until the setup time is used up;
//! 2. `StartCycle` (`AUTOMATIC`, `ACTIVE`): per operation, stretches of cutting that each end in
//!    `EndSegment` (`EndFeedHold` resumes after a feed hold, `EndToolChange` starts the next
//!    operation);
//! 3. the end of the cycle (`PROGRAM_COMPLETED`, part count + 1), then the next `StartCycle`
//!    (sometimes after `CallAway`) until the job's parts are done;
//! 4. `FinishJob` (`READY`): an idle gap, or `PowerOff` … `PowerOn`, then `StartJob` again.
//!
//! A fault (`RaiseFault`, drawn while cutting, at tool changes or during MDI runs) stops the
//! machine until `ClearFault`, after which the interrupted part or setup resumes.

use super::catalog::{
    self, Alarm, MINUTE, Millis, PROGRAMS, Program, SECOND, TOOL_CHANGER_FAULT, alarm_duration,
    draw_fault, draw_warning,
};
use super::queue::Queue;
use super::rng::Rng;
use super::values::{Change, Cond, Execution, Item, Mode, Value};

// Rates are "on average once every …" so that the chance within a stretch of time follows from
// its length (see `Rng::happens_within`).
/// Mean cutting time between two faults (tool changes aside).
const FAULT_EVERY_CUTTING: Millis = 150 * MINUTE;
/// Mean number of tool changes between two tool changer faults.
const TOOL_CHANGES_PER_FAULT: u64 = 300;
/// Mean MDI running time between two faults during setup (mostly an opened door).
const FAULT_EVERY_MDI: Millis = 60 * MINUTE;
/// Mean cutting time between two feed holds.
const FEED_HOLD_EVERY: Millis = 40 * MINUTE;
/// Chance in percent that a finished job is followed by the machine being switched off.
const POWER_OFF_PERCENT: u64 = 8;
/// How often the spindle load is sampled while cutting, like an agent's sampling period.
const LOAD_SAMPLE_PERIOD: Millis = 5 * SECOND;
/// Longer delays are cut to this (about 30 years), far beyond anything the machine schedules.
const LONGEST_DELAY: Millis = 1_000_000_000_000;

/// Everything a wake-up of one of the machine's processes can be.
#[derive(Debug, Clone, Copy)]
pub enum Wake {
    /// The next step of the job lifecycle.
    Step(Step),
    /// A spindle-load sample of the stretch of cutting with this generation.
    Load(u32),
    /// The warning process draws its next warning.
    RaiseWarning,
    /// The warning with this id ends, unless something replaced it since.
    ClearWarning(u32),
}

/// The steps of the job lifecycle.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    StartJob,
    SetupTask,
    EndMdi,
    StartCycle,
    EndSegment,
    EndFeedHold,
    EndToolChange,
    CallAway,
    FinishJob,
    RaiseFault(&'static Alarm),
    ClearFault,
    Resume,
    PowerOff,
    PowerOn,
}

/// The part of the lifecycle the machine is in, which decides where it resumes after a fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Setup,
    Production,
}

/// What ends the current stretch of cutting before the operation is done.
#[derive(Debug, Clone, Copy)]
enum Interruption {
    None,
    FeedHold,
    Fault(&'static Alarm),
}

/// The job on the machine: which program, how many parts are ordered and done.
#[derive(Debug, Clone, Copy)]
struct Job {
    program: usize,
    target: u32,
    done: u32,
    cycles: u32,
}

/// What one wake-up may touch: the simulated time it happens at, the queue to schedule further
/// wake-ups in, and the output its changes go to.
pub struct Ctx<'a> {
    now: i64,
    queue: &'a mut Queue<Wake>,
    out: &'a mut Vec<Change>,
}

impl<'a> Ctx<'a> {
    pub fn new(now: i64, queue: &'a mut Queue<Wake>, out: &'a mut Vec<Change>) -> Self {
        Ctx { now, queue, out }
    }

    fn emit(&mut self, item: Item, value: Value) {
        self.out.push(Change {
            at: self.now,
            item,
            value,
        });
    }

    fn after(&mut self, delay: Millis, wake: Wake) {
        // Delays are minutes or hours; clamping to ~30 years keeps the product in range without
        // an overflow-checked multiplication (a 128-bit library call on wasm32).
        let nanos = delay.min(LONGEST_DELAY) as i64 * 1_000_000;
        self.queue.push(self.now.saturating_add(nanos), wake);
    }

    fn then(&mut self, delay: Millis, step: Step) {
        self.after(delay, Wake::Step(step));
    }
}

/// The simulated machine.
pub struct Machine {
    /// Draws of the job lifecycle.
    life: Rng,
    /// Draws of the spindle-load sampler.
    noise: Rng,
    /// Draws of the warning process.
    warnings: Rng,
    programs: Vec<Program>,
    /// The last reported value of every data item, indexed by `Item as usize`: a change is
    /// reported only when the value differs, as an MTConnect agent does.
    shown: [Value; Item::ALL.len()],
    phase: Phase,
    job: Job,
    setup_left: Millis,
    operation: usize,
    feed: u64,
    rpm: u64,
    /// Typical load of the current operation, in tenths of a percent, and how far samples
    /// stray from it: worked out once per operation so that sampling needs no division (a
    /// slow instruction on wasm32, where this runs for most observations).
    load: u64,
    load_spread: u64,
    load_spike: u64,
    cut_left: Millis,
    interruption: Interruption,
    /// Generation of the current stretch of cutting: load samples of an older one are stale.
    cut: u32,
    /// Id of the latest warning.
    warning: u32,
}

impl Machine {
    /// The machine simulated for `seed`, before anything happened.
    pub fn new(seed: u64) -> Self {
        let mut root = Rng::new(seed);
        let programs = catalog::programs(&mut root.fork());
        Machine {
            life: root.fork(),
            noise: root.fork(),
            warnings: root.fork(),
            programs,
            shown: [Value::Unavailable; Item::ALL.len()],
            phase: Phase::Idle,
            job: Job {
                program: 0,
                target: 1,
                done: 0,
                cycles: 0,
            },
            setup_left: 0,
            operation: 0,
            feed: 100,
            rpm: 0,
            load: 0,
            load_spread: 0,
            load_spike: 0,
            cut_left: 0,
            interruption: Interruption::None,
            cut: 0,
            warning: 0,
        }
    }

    /// The machine's part programs.
    pub fn programs(&self) -> &[Program] {
        &self.programs
    }

    /// Reports the initial value of every data item and schedules the processes' first
    /// wake-ups. Machines of different seeds start in different phases so a demo shop does not
    /// move in lockstep.
    pub fn start(&mut self, ctx: &mut Ctx) {
        let program = self.life.below(PROGRAMS as u64) as usize;
        self.job = Job {
            program,
            target: self.draw_target(program),
            done: 0,
            cycles: 0,
        };
        let roll = self.life.below(100);
        let (mode, first) = if roll < 55 {
            self.phase = Phase::Production;
            self.job.done = self.life.below(u64::from(self.job.target)) as u32;
            self.job.cycles = self.job.done;
            (Mode::Automatic, Step::StartCycle)
        } else if roll < 80 {
            self.phase = Phase::Setup;
            self.setup_left = self.life.between(5 * MINUTE, 30 * MINUTE);
            (Mode::Manual, Step::SetupTask)
        } else {
            self.job.done = self.job.target;
            (Mode::Automatic, Step::StartJob)
        };
        self.show_all(mode, ctx);
        ctx.then(self.life.between(2 * SECOND, 40 * SECOND), first);
        ctx.after(
            self.warnings.between(20 * MINUTE, 300 * MINUTE),
            Wake::RaiseWarning,
        );
    }

    /// Runs one wake-up.
    pub fn handle(&mut self, wake: Wake, ctx: &mut Ctx) {
        match wake {
            Wake::Step(step) => self.step(step, ctx),
            Wake::Load(cut) => self.sample_load(cut, ctx),
            Wake::RaiseWarning => self.raise_warning(ctx),
            Wake::ClearWarning(id) => self.clear_warning(id, ctx),
        }
    }

    fn step(&mut self, step: Step, ctx: &mut Ctx) {
        match step {
            Step::StartJob => self.start_job(ctx),
            Step::SetupTask => self.setup_task(ctx),
            Step::EndMdi => self.end_mdi(ctx),
            Step::StartCycle => self.start_cycle(ctx),
            Step::EndSegment => self.end_segment(ctx),
            Step::EndFeedHold => self.cut(ctx),
            Step::EndToolChange => self.start_operation(ctx),
            Step::CallAway => self.call_away(ctx),
            Step::FinishJob => self.finish_job(ctx),
            Step::RaiseFault(alarm) => self.raise_fault(alarm, ctx),
            Step::ClearFault => self.clear_fault(ctx),
            Step::Resume => self.resume(ctx),
            Step::PowerOff => self.power_off(ctx),
            Step::PowerOn => self.power_on(ctx),
        }
    }

    // --- reporting ---

    // Inlined so that at each call site the comparison reduces to the one variant it can be.
    #[inline(always)]
    fn show(&mut self, item: Item, value: Value, ctx: &mut Ctx) {
        let slot = &mut self.shown[item as usize];
        if *slot != value {
            *slot = value;
            ctx.emit(item, value);
        }
    }

    /// `show` for samples, comparing only numbers: most observations are samples.
    fn show_number(&mut self, item: Item, number: f64, ctx: &mut Ctx) {
        let slot = &mut self.shown[item as usize];
        if !matches!(*slot, Value::Number(shown) if shown == number) {
            *slot = Value::Number(number);
            ctx.emit(item, Value::Number(number));
        }
    }

    fn shown(&self, item: Item) -> Value {
        self.shown[item as usize]
    }

    fn show_execution(&mut self, execution: Execution, ctx: &mut Ctx) {
        self.show(Item::Execution, Value::Execution(execution), ctx);
    }

    fn show_mode(&mut self, mode: Mode, ctx: &mut Ctx) {
        self.show(Item::ControllerMode, Value::Mode(mode), ctx);
    }

    fn show_condition(&mut self, cond: Cond, ctx: &mut Ctx) {
        self.show(Item::System, Value::Condition(cond), ctx);
    }

    /// Spindle speed in rev/min and load in tenths of a percent.
    fn show_spindle(&mut self, rpm: u64, load_tenths: u64, ctx: &mut Ctx) {
        self.show_number(Item::SpindleSpeed, rpm as f64, ctx);
        self.show_number(Item::SpindleLoad, load_tenths as f64 / 10.0, ctx);
    }

    /// Reports every data item of a powered-up machine waiting in `mode`.
    fn show_all(&mut self, mode: Mode, ctx: &mut Ctx) {
        self.show(Item::Availability, Value::Available(true), ctx);
        self.show_execution(Execution::Ready, ctx);
        self.show_mode(mode, ctx);
        self.show(Item::Program, Value::Program(self.job.program), ctx);
        self.show(Item::PartCount, Value::Count(self.job.done), ctx);
        self.show_spindle(0, 0, ctx);
        self.show_number(Item::FeedOverride, self.feed as f64, ctx);
        self.show_condition(Cond::Normal, ctx);
    }

    // --- setup ---

    fn start_job(&mut self, ctx: &mut Ctx) {
        // Never the program that just ran: a new job means a new part.
        let program =
            (self.job.program + 1 + self.life.below(PROGRAMS as u64 - 1) as usize) % PROGRAMS;
        self.job = Job {
            program,
            target: self.draw_target(program),
            done: 0,
            cycles: 0,
        };
        self.phase = Phase::Setup;
        self.show_execution(Execution::Ready, ctx);
        self.show_mode(Mode::Manual, ctx);
        self.show(Item::Program, Value::Program(program), ctx);
        self.show(Item::PartCount, Value::Count(0), ctx);
        self.setup_left = self.life.between(12 * MINUTE, 50 * MINUTE);
        self.setup_task(ctx);
    }

    /// Parts ordered for a job of `program`: enough for one to three hours of production.
    fn draw_target(&mut self, program: usize) -> u32 {
        let per_part = self.programs[program].cycle_time() + MINUTE;
        let production = self.life.between(60 * MINUTE, 180 * MINUTE);
        (production / per_part).clamp(2, 80) as u32
    }

    /// The next task of the setup: jogging and loading tools in MANUAL, or a short MDI run
    /// (spindle warm-up, probing), until the setup time is used up.
    fn setup_task(&mut self, ctx: &mut Ctx) {
        if self.setup_left == 0 {
            return self.start_cycle(ctx);
        }
        if self.life.percent(40) {
            return self.run_mdi(ctx);
        }
        let span = self.life.between(MINUTE, 4 * MINUTE).min(self.setup_left);
        self.setup_left -= span;
        self.show_mode(Mode::Manual, ctx);
        ctx.then(span, Step::SetupTask);
    }

    fn run_mdi(&mut self, ctx: &mut Ctx) {
        let span = self
            .life
            .between(20 * SECOND, 2 * MINUTE)
            .min(self.setup_left);
        self.setup_left -= span;
        self.show_mode(Mode::ManualDataInput, ctx);
        self.show_execution(Execution::Active, ctx);
        let rpm = self.life.between(40, 300) * 10;
        let load = self.life.between(10, 80);
        self.show_spindle(rpm, load, ctx);
        if self.life.happens_within(span, FAULT_EVERY_MDI) {
            let alarm = draw_fault(&mut self.life, true);
            ctx.then(self.life.below(span), Step::RaiseFault(alarm));
        } else {
            ctx.then(span, Step::EndMdi);
        }
    }

    fn end_mdi(&mut self, ctx: &mut Ctx) {
        self.show_execution(Execution::Ready, ctx);
        self.show_spindle(0, 0, ctx);
        self.setup_task(ctx);
    }

    // --- production ---

    fn start_cycle(&mut self, ctx: &mut Ctx) {
        self.phase = Phase::Production;
        self.show_mode(Mode::Automatic, ctx);
        self.feed = self.draw_feed();
        self.show_number(Item::FeedOverride, self.feed as f64, ctx);
        self.job.cycles += 1;
        self.operation = 0;
        self.start_operation(ctx);
    }

    /// Operators slow the first part of a job down while they watch it, then mostly run at 100 %.
    fn draw_feed(&mut self) -> u64 {
        if self.job.cycles == 0 {
            return if self.life.percent(50) {
                [70, 80, 90][self.life.below(3) as usize]
            } else {
                100
            };
        }
        if self.feed != 100 && self.life.percent(70) {
            return 100;
        }
        if self.life.percent(4) {
            return [90, 110, 120][self.life.below(3) as usize];
        }
        self.feed
    }

    fn start_operation(&mut self, ctx: &mut Ctx) {
        let op = self.programs[self.job.program].operations[self.operation];
        self.cut_left = op.duration * 100 / self.feed;
        // The reported speed is the measured one, a few revolutions off the programmed one.
        self.rpm = op.rpm * self.life.between(997, 1_003) / 1_000;
        self.load = op.load * self.feed / 100;
        self.load_spread = self.load * 12 / 100;
        self.load_spike = self.load * 3 / 10;
        self.cut(ctx);
    }

    /// Cuts until the operation ends or something interrupts it, whichever comes first.
    fn cut(&mut self, ctx: &mut Ctx) {
        self.show_execution(Execution::Active, ctx);
        self.cut = self.cut.wrapping_add(1);
        self.show_number(Item::SpindleSpeed, self.rpm as f64, ctx);
        self.sample_load(self.cut, ctx);
        let left = self.cut_left;
        let (span, interruption) = if self.life.happens_within(left, FAULT_EVERY_CUTTING) {
            (
                self.life.below(left),
                Interruption::Fault(draw_fault(&mut self.life, false)),
            )
        } else if self.life.happens_within(left, FEED_HOLD_EVERY) {
            (self.life.below(left), Interruption::FeedHold)
        } else {
            (left, Interruption::None)
        };
        self.cut_left = left - span;
        self.interruption = interruption;
        ctx.then(span, Step::EndSegment);
    }

    fn end_segment(&mut self, ctx: &mut Ctx) {
        match std::mem::replace(&mut self.interruption, Interruption::None) {
            Interruption::Fault(alarm) => self.raise_fault(alarm, ctx),
            Interruption::FeedHold => self.feed_hold(ctx),
            Interruption::None => self.end_operation(ctx),
        }
    }

    /// The operator holds the feed (to clear chips, check a dimension): axes stop, the spindle
    /// keeps turning with almost no load.
    fn feed_hold(&mut self, ctx: &mut Ctx) {
        self.stop_cutting();
        self.show_execution(Execution::FeedHold, ctx);
        let load = self.life.between(5, 30);
        self.show_number(Item::SpindleLoad, load as f64 / 10.0, ctx);
        ctx.then(
            self.life.between(10 * SECOND, 150 * SECOND),
            Step::EndFeedHold,
        );
    }

    fn end_operation(&mut self, ctx: &mut Ctx) {
        if self.operation + 1 < self.programs[self.job.program].operations.len() {
            self.operation += 1;
            self.change_tool(ctx);
        } else {
            self.end_cycle(ctx);
        }
    }

    fn change_tool(&mut self, ctx: &mut Ctx) {
        self.stop_cutting();
        self.show_spindle(0, 0, ctx);
        if self.life.below(TOOL_CHANGES_PER_FAULT) == 0 {
            let when = self.life.between(2 * SECOND, 6 * SECOND);
            ctx.then(when, Step::RaiseFault(&TOOL_CHANGER_FAULT));
        } else {
            ctx.then(
                self.life.between(4 * SECOND, 12 * SECOND),
                Step::EndToolChange,
            );
        }
    }

    fn end_cycle(&mut self, ctx: &mut Ctx) {
        self.stop_cutting();
        self.show_execution(Execution::ProgramCompleted, ctx);
        self.show_spindle(0, 0, ctx);
        self.job.done += 1;
        self.show(Item::PartCount, Value::Count(self.job.done), ctx);
        // The operator unloads the part and loads the next blank (or just the last part).
        let part_change = self.life.between(15 * SECOND, 90 * SECOND);
        if self.job.done >= self.job.target {
            ctx.then(part_change + self.life.between(0, MINUTE), Step::FinishJob);
        } else if self.life.percent(5) {
            ctx.then(part_change, Step::CallAway);
        } else {
            ctx.then(part_change, Step::StartCycle);
        }
    }

    /// The operator is called away between two parts: the machine waits, idle.
    fn call_away(&mut self, ctx: &mut Ctx) {
        self.show_execution(Execution::Ready, ctx);
        ctx.then(self.life.between(5 * MINUTE, 25 * MINUTE), Step::StartCycle);
    }

    fn finish_job(&mut self, ctx: &mut Ctx) {
        self.phase = Phase::Idle;
        self.show_execution(Execution::Ready, ctx);
        if self.life.percent(POWER_OFF_PERCENT) {
            return ctx.then(self.life.between(MINUTE, 5 * MINUTE), Step::PowerOff);
        }
        // Usually the next job is waiting; sometimes there is no work, or no operator.
        let gap = if self.life.percent(12) {
            self.life.between(40 * MINUTE, 120 * MINUTE)
        } else {
            self.life.between(3 * MINUTE, 25 * MINUTE)
        };
        ctx.then(gap, Step::StartJob);
    }

    /// Ends the current stretch of cutting: its pending load samples become stale.
    fn stop_cutting(&mut self) {
        self.cut = self.cut.wrapping_add(1);
    }

    /// Reports the spindle load and schedules the next sample, one sampling period later.
    fn sample_load(&mut self, cut: u32, ctx: &mut Ctx) {
        if cut != self.cut {
            return;
        }
        // One draw per sample (this runs for most observations): the high bits choose the
        // noise, the low bits whether the tool meets a hard spot or a thicker wall.
        let draw = self.noise.next_u64();
        let spread = self.load_spread;
        let mut load = self.load - spread + Rng::scale(draw, 2 * spread + 1);
        if draw & 0xFF < 8 {
            load += self.load_spike;
        }
        self.show_number(Item::SpindleLoad, load.max(1) as f64 / 10.0, ctx);
        ctx.after(LOAD_SAMPLE_PERIOD, Wake::Load(cut));
    }

    // --- alarms ---

    fn raise_fault(&mut self, alarm: &'static Alarm, ctx: &mut Ctx) {
        self.stop_cutting();
        self.show_condition(Cond::Fault(alarm), ctx);
        self.show_execution(alarm.stops, ctx);
        self.show_spindle(0, 0, ctx);
        ctx.then(alarm_duration(&mut self.life, alarm), Step::ClearFault);
    }

    fn clear_fault(&mut self, ctx: &mut Ctx) {
        self.show_condition(Cond::Normal, ctx);
        self.show_execution(Execution::Ready, ctx);
        // The operator checks the machine (and the part) before going on.
        ctx.then(self.life.between(MINUTE, 5 * MINUTE), Step::Resume);
    }

    /// Continues after a fault: the interrupted part is machined again from its start.
    fn resume(&mut self, ctx: &mut Ctx) {
        match self.phase {
            Phase::Production => self.start_cycle(ctx),
            Phase::Setup => self.setup_task(ctx),
            Phase::Idle => self.start_job(ctx),
        }
    }

    fn raise_warning(&mut self, ctx: &mut Ctx) {
        ctx.after(
            self.warnings.between(60 * MINUTE, 360 * MINUTE),
            Wake::RaiseWarning,
        );
        // One condition at a time: no warning on top of a fault, nor while switched off.
        if self.shown(Item::System) != Value::Condition(Cond::Normal) {
            return;
        }
        let alarm = draw_warning(&mut self.warnings);
        self.warning = self.warning.wrapping_add(1);
        self.show_condition(Cond::Warning(alarm), ctx);
        ctx.after(
            alarm_duration(&mut self.warnings, alarm),
            Wake::ClearWarning(self.warning),
        );
    }

    fn clear_warning(&mut self, id: u32, ctx: &mut Ctx) {
        let showing = matches!(self.shown(Item::System), Value::Condition(Cond::Warning(_)));
        if showing && id == self.warning {
            self.show_condition(Cond::Normal, ctx);
        }
    }

    // --- power ---

    /// The machine is switched off: the agent reports every data item unavailable.
    fn power_off(&mut self, ctx: &mut Ctx) {
        self.stop_cutting();
        for item in Item::ALL {
            let value = match item {
                Item::Availability => Value::Available(false),
                _ => Value::Unavailable,
            };
            self.show(item, value, ctx);
        }
        ctx.then(self.life.between(20 * MINUTE, 150 * MINUTE), Step::PowerOn);
    }

    fn power_on(&mut self, ctx: &mut Ctx) {
        self.feed = 100;
        self.show_all(Mode::Manual, ctx);
        ctx.then(self.life.between(3 * MINUTE, 10 * MINUTE), Step::StartJob);
    }
}
