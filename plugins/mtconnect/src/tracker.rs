//! Where reading an agent's buffer stands, as a pure state machine: which request to send next,
//! and what a response means — new observations, an agent restart, or observations the agent
//! dropped before the driver could read them (a gap).
//!
//! The driver keeps a [`Checkpoint`] — the agent's instance id and the next sequence number to
//! read — in its state, saved with every poll's observations. With it, a restarted driver
//! resumes exactly where it stopped: no gap, no duplicate.
//!
//! - A response from another instance than the checkpoint's means the agent restarted and its
//!   sequence numbers started again: everything in the new instance's buffer is new, so reading
//!   starts again at the new instance's first sequence.
//! - When the agent's buffer moved past the checkpoint (an `OUT_OF_RANGE` error, or a
//!   `firstSequence` beyond it) the observations in between are lost. The tracker reports
//!   exactly which sequences, and reading goes on at the oldest one still buffered.
//!
//! Recovering from either needs the agent's current window, which a `/sample` without `from`
//! reveals: it answers from the oldest buffered observation. The tracker asks for one
//! ([`Request::SampleFromStart`]) and judges its header.

use chatter_mtconnect::streams::{Header, Observation, StreamsDocument};

/// How far the driver has read an agent: the part of the driver's state that survives restarts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// The agent instance the sequence numbers belong to.
    pub instance_id: u64,
    /// The first sequence number not read yet.
    pub next_sequence: u64,
}

/// What to ask the agent next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `/current`: the latest value of every data item.
    Current,
    /// `/sample` without `from`: from the oldest buffered observation.
    SampleFromStart,
    /// `/sample?from=…`.
    SampleFrom(u64),
}

/// Something the driver must record beside the observations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The agent restarted: its instance id changed and its sequence numbers started again.
    Restart {
        /// The instance read until now.
        old_instance: u64,
        /// The instance read from now on.
        new_instance: u64,
    },
    /// Sequences `first..=last` of `instance` left the agent's buffer before they were read.
    Gap {
        /// The agent instance the sequences belong to.
        instance: u64,
        /// The first lost sequence.
        first: u64,
        /// The last lost sequence.
        last: u64,
    },
    /// The agent's sequence numbers went backwards without a new instance id, which a
    /// conforming agent never does; reading starts again at its oldest observation.
    Rewound {
        /// The agent instance.
        instance: u64,
        /// Where the driver expected to continue.
        expected: u64,
        /// The agent's next sequence.
        agent_next: u64,
    },
}

impl Event {
    /// How many observations the event says were lost.
    pub fn lost(&self) -> u64 {
        match self {
            Event::Gap { first, last, .. } => last - first + 1,
            _ => 0,
        }
    }
}

/// What a response brought.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outcome {
    /// New observations, oldest first.
    pub observations: Vec<Observation>,
    /// What to record about the agent, in the order it happened.
    pub events: Vec<Event>,
    /// Whether to ask again right away: the agent has more, or the response was set aside.
    pub more: bool,
}

/// Why the tracker needs to learn the agent's window before reading on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recovery {
    /// The agent answered from another instance.
    Restart { old_instance: u64 },
    /// The agent no longer had `from` in its buffer.
    OutOfRange { from: u64 },
}

/// The state machine; see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracker {
    checkpoint: Option<Checkpoint>,
    start_at_current: bool,
    recovery: Option<Recovery>,
}

impl Tracker {
    /// A tracker resuming at `checkpoint` (`None`: a fresh driver, which starts with the
    /// agent's current values when `start_at_current`, else with its whole buffer).
    pub fn new(checkpoint: Option<Checkpoint>, start_at_current: bool) -> Self {
        Tracker {
            checkpoint,
            start_at_current,
            recovery: None,
        }
    }

    /// Where reading stands; `None` until the first response.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        self.checkpoint
    }

    /// What to ask the agent next.
    pub fn next_request(&self) -> Request {
        match (self.checkpoint, self.recovery) {
            (_, Some(_)) => Request::SampleFromStart,
            (Some(checkpoint), None) => Request::SampleFrom(checkpoint.next_sequence),
            (None, None) if self.start_at_current => Request::Current,
            (None, None) => Request::SampleFromStart,
        }
    }

    /// The agent refused the request with `OUT_OF_RANGE`; `instance_id` is the error
    /// document's, when it had one.
    pub fn on_out_of_range(&mut self, instance_id: Option<u64>) -> Outcome {
        if let (Some(checkpoint), None) = (self.checkpoint, self.recovery) {
            self.recovery = Some(match instance_id {
                Some(instance) if instance != checkpoint.instance_id => Recovery::Restart {
                    old_instance: checkpoint.instance_id,
                },
                _ => Recovery::OutOfRange {
                    from: checkpoint.next_sequence,
                },
            });
        }
        // Without a `from` nothing can be out of range; asking the same again is all there is.
        Outcome {
            more: true,
            ..Outcome::default()
        }
    }

    /// The agent answered `document` to [`next_request`](Self::next_request).
    pub fn on_document(&mut self, document: StreamsDocument) -> Outcome {
        let header = document.header.clone();
        match (self.checkpoint, self.recovery.take()) {
            (None, _) => self.accept(document, None, Vec::new()),
            (Some(checkpoint), None) => self.continue_from(checkpoint, document),
            (Some(checkpoint), Some(recovery)) => {
                let events = recovered(checkpoint, recovery, &header);
                // Within the same run of the agent, what was read before stays read.
                let from = events.is_empty().then_some(checkpoint.next_sequence);
                self.accept(document, from, events)
            }
        }
    }

    /// A response to `from = checkpoint.next_sequence`.
    fn continue_from(&mut self, checkpoint: Checkpoint, document: StreamsDocument) -> Outcome {
        let header = &document.header;
        let from = checkpoint.next_sequence;
        let recovery = if header.instance_id != checkpoint.instance_id {
            Some(Recovery::Restart {
                old_instance: checkpoint.instance_id,
            })
        } else if header.first_sequence > from || agent_next(header) < from {
            // Agents that answer rather than refuse a `from` out of their buffer.
            Some(Recovery::OutOfRange { from })
        } else {
            None
        };
        match recovery {
            Some(recovery) => {
                self.recovery = Some(recovery);
                Outcome {
                    more: true,
                    ..Outcome::default()
                }
            }
            None => self.accept(document, Some(from), Vec::new()),
        }
    }

    /// Takes the observations of `document` from sequence `from` on and moves the checkpoint
    /// to the document's next sequence (never back before `from`).
    fn accept(
        &mut self,
        document: StreamsDocument,
        from: Option<u64>,
        events: Vec<Event>,
    ) -> Outcome {
        let header = document.header;
        let mut observations = document.observations;
        let mut next_sequence = header.next_sequence;
        if let Some(from) = from {
            observations.retain(|o| o.sequence >= from);
            next_sequence = next_sequence.max(from);
        }
        self.checkpoint = Some(Checkpoint {
            instance_id: header.instance_id,
            next_sequence,
        });
        Outcome {
            observations,
            events,
            more: has_more(&header),
        }
    }
}

/// The sequence number the agent will give its next observation. (The header's
/// `nextSequence` is where the response ends, which a `count` may put earlier.)
fn agent_next(header: &Header) -> u64 {
    header.last_sequence.saturating_add(1)
}

/// Whether the agent holds observations after those of a response with `header`.
fn has_more(header: &Header) -> bool {
    header.next_sequence <= header.last_sequence
}

/// The events a recovery ends in, judged from the header of the response to
/// [`Request::SampleFromStart`], which starts at the agent's oldest buffered observation.
fn recovered(checkpoint: Checkpoint, recovery: Recovery, header: &Header) -> Vec<Event> {
    let mut events = Vec::new();
    let restarted = header.instance_id != checkpoint.instance_id;
    if restarted {
        let old_instance = match recovery {
            Recovery::Restart { old_instance } => old_instance,
            Recovery::OutOfRange { .. } => checkpoint.instance_id,
        };
        events.push(Event::Restart {
            old_instance,
            new_instance: header.instance_id,
        });
        // A new instance numbers from 1: anything before its first sequence is gone too.
        if header.first_sequence > 1 {
            events.push(Event::Gap {
                instance: header.instance_id,
                first: 1,
                last: header.first_sequence - 1,
            });
        }
        return events;
    }
    let from = match recovery {
        Recovery::OutOfRange { from } => from,
        // The agent went back to the old instance id: read on from the checkpoint.
        Recovery::Restart { .. } => checkpoint.next_sequence,
    };
    if from > agent_next(header) {
        events.push(Event::Rewound {
            instance: header.instance_id,
            expected: from,
            agent_next: agent_next(header),
        });
    } else if header.first_sequence > from {
        events.push(Event::Gap {
            instance: header.instance_id,
            first: from,
            last: header.first_sequence - 1,
        });
    }
    events
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use chatter_mtconnect::streams::{Category, ComponentRef, Representation, Value};

    use super::*;

    /// A response of instance `instance` whose buffer holds `first..=last`, carrying the
    /// observations `from..next` (`next` past the last one returned).
    fn document(instance: u64, first: u64, last: u64, from: u64, next: u64) -> StreamsDocument {
        let component = Arc::new(ComponentRef::default());
        StreamsDocument {
            header: Header {
                instance_id: instance,
                buffer_size: 1_000,
                first_sequence: first,
                last_sequence: last,
                next_sequence: next,
                ..Header::default()
            },
            observations: (from..next)
                .map(|sequence| Observation {
                    component: Arc::clone(&component),
                    data_item_id: "x".to_owned(),
                    name: None,
                    sequence,
                    timestamp: sequence as i64,
                    category: Category::Event,
                    kind: "BLOCK".to_owned(),
                    sub_type: None,
                    representation: Representation::Value,
                    value: Value::Text(sequence.to_string()),
                })
                .collect(),
        }
    }

    fn sequences(outcome: &Outcome) -> Vec<u64> {
        outcome.observations.iter().map(|o| o.sequence).collect()
    }

    fn checkpoint(instance_id: u64, next_sequence: u64) -> Option<Checkpoint> {
        Some(Checkpoint {
            instance_id,
            next_sequence,
        })
    }

    #[test]
    fn a_fresh_driver_reads_the_whole_buffer_in_batches() {
        let mut tracker = Tracker::new(None, false);
        assert_eq!(tracker.next_request(), Request::SampleFromStart);
        let outcome = tracker.on_document(document(7, 40, 100, 40, 60));
        assert_eq!(sequences(&outcome), (40..60).collect::<Vec<_>>());
        assert!(outcome.more);
        assert_eq!(tracker.next_request(), Request::SampleFrom(60));
        let outcome = tracker.on_document(document(7, 40, 100, 60, 101));
        assert_eq!(outcome.observations.len(), 41);
        assert!(!outcome.more);
        assert_eq!(tracker.checkpoint(), checkpoint(7, 101));
        assert!(outcome.events.is_empty());
    }

    #[test]
    fn a_fresh_driver_may_start_at_the_current_values() {
        let mut tracker = Tracker::new(None, true);
        assert_eq!(tracker.next_request(), Request::Current);
        let outcome = tracker.on_document(document(7, 1, 500, 480, 501));
        assert_eq!(outcome.observations.len(), 21);
        assert_eq!(tracker.next_request(), Request::SampleFrom(501));
    }

    #[test]
    fn a_restarted_driver_resumes_at_its_checkpoint_without_gap_or_duplicate() {
        let mut tracker = Tracker::new(checkpoint(7, 60), false);
        assert_eq!(tracker.next_request(), Request::SampleFrom(60));
        let outcome = tracker.on_document(document(7, 1, 80, 60, 81));
        assert_eq!(sequences(&outcome), (60..81).collect::<Vec<_>>());
        assert!(outcome.events.is_empty());
    }

    #[test]
    fn observations_before_the_checkpoint_are_never_reported_twice() {
        let mut tracker = Tracker::new(checkpoint(7, 60), false);
        // An agent that answers with a little more than asked for.
        let outcome = tracker.on_document(document(7, 1, 80, 55, 81));
        assert_eq!(outcome.observations[0].sequence, 60);
    }

    #[test]
    fn an_agent_restart_starts_again_at_the_new_instance_first_sequence() {
        let mut tracker = Tracker::new(checkpoint(7, 5_000), false);
        // The new instance happens to have sequence 5000 already: the answer is set aside.
        let outcome = tracker.on_document(document(8, 1, 6_000, 5_000, 5_100));
        assert!(outcome.observations.is_empty());
        assert!(outcome.more);
        assert_eq!(tracker.next_request(), Request::SampleFromStart);

        let outcome = tracker.on_document(document(8, 1, 6_000, 1, 1_001));
        assert_eq!(
            outcome.events,
            [Event::Restart {
                old_instance: 7,
                new_instance: 8
            }]
        );
        assert_eq!(sequences(&outcome), (1..1_001).collect::<Vec<_>>());
        assert_eq!(tracker.checkpoint(), checkpoint(8, 1_001));
    }

    #[test]
    fn an_agent_restart_is_noticed_from_an_error_document_too() {
        let mut tracker = Tracker::new(checkpoint(7, 5_000), false);
        let outcome = tracker.on_out_of_range(Some(8));
        assert!(outcome.more && outcome.observations.is_empty());
        assert_eq!(tracker.next_request(), Request::SampleFromStart);
        let outcome = tracker.on_document(document(8, 1, 30, 1, 31));
        assert_eq!(outcome.events.len(), 1);
        assert!(matches!(outcome.events[0], Event::Restart { .. }));
        assert_eq!(outcome.observations.len(), 30);
    }

    #[test]
    fn a_restarted_agent_whose_buffer_already_wrapped_reports_the_lost_start() {
        let mut tracker = Tracker::new(checkpoint(7, 5_000), false);
        tracker.on_out_of_range(Some(8));
        let outcome = tracker.on_document(document(8, 301, 400, 301, 401));
        assert_eq!(
            outcome.events,
            [
                Event::Restart {
                    old_instance: 7,
                    new_instance: 8
                },
                Event::Gap {
                    instance: 8,
                    first: 1,
                    last: 300
                }
            ]
        );
        assert_eq!(outcome.events[1].lost(), 300);
    }

    #[test]
    fn a_buffer_that_moved_past_the_checkpoint_is_a_gap_of_exactly_the_lost_sequences() {
        let mut tracker = Tracker::new(checkpoint(7, 1_201), false);
        let outcome = tracker.on_out_of_range(Some(7));
        assert!(outcome.more);
        assert_eq!(tracker.next_request(), Request::SampleFromStart);
        let outcome = tracker.on_document(document(7, 1_451, 2_000, 1_451, 1_500));
        assert_eq!(
            outcome.events,
            [Event::Gap {
                instance: 7,
                first: 1_201,
                last: 1_450
            }]
        );
        assert_eq!(outcome.events[0].lost(), 250);
        assert_eq!(outcome.observations[0].sequence, 1_451);
        assert_eq!(tracker.checkpoint(), checkpoint(7, 1_500));
        assert_eq!(tracker.next_request(), Request::SampleFrom(1_500));
    }

    #[test]
    fn an_error_document_without_instance_is_taken_as_a_gap_and_judged_by_the_window() {
        let mut tracker = Tracker::new(checkpoint(7, 100), false);
        tracker.on_out_of_range(None);
        // The window shows a restart after all.
        let outcome = tracker.on_document(document(9, 1, 10, 1, 11));
        assert_eq!(
            outcome.events,
            [Event::Restart {
                old_instance: 7,
                new_instance: 9
            }]
        );
    }

    #[test]
    fn an_agent_answering_from_beyond_the_checkpoint_is_a_gap_too() {
        let mut tracker = Tracker::new(checkpoint(7, 100), false);
        let outcome = tracker.on_document(document(7, 150, 300, 150, 200));
        assert!(outcome.observations.is_empty() && outcome.more);
        let outcome = tracker.on_document(document(7, 160, 300, 160, 200));
        assert_eq!(
            outcome.events,
            [Event::Gap {
                instance: 7,
                first: 100,
                last: 159
            }]
        );
    }

    #[test]
    fn the_window_catching_up_with_the_checkpoint_loses_nothing() {
        // OUT_OF_RANGE because the checkpoint was ahead of a slow agent; by the time the window
        // is asked for, the agent got there.
        let mut tracker = Tracker::new(checkpoint(7, 100), false);
        tracker.on_out_of_range(Some(7));
        let outcome = tracker.on_document(document(7, 50, 120, 50, 121));
        assert!(outcome.events.is_empty());
        assert_eq!(sequences(&outcome), (100..121).collect::<Vec<_>>());
    }

    #[test]
    fn a_short_window_answer_never_moves_the_checkpoint_back() {
        let mut tracker = Tracker::new(checkpoint(7, 100), false);
        tracker.on_out_of_range(Some(7));
        // The answer from the oldest observation ends before the checkpoint (count reached).
        let outcome = tracker.on_document(document(7, 50, 120, 50, 81));
        assert!(outcome.observations.is_empty() && outcome.more);
        assert_eq!(tracker.next_request(), Request::SampleFrom(100));
    }

    #[test]
    fn sequences_going_backwards_in_one_instance_are_reported_and_reading_starts_over() {
        let mut tracker = Tracker::new(checkpoint(7, 900), false);
        let outcome = tracker.on_document(document(7, 1, 50, 50, 51));
        assert!(outcome.observations.is_empty());
        let outcome = tracker.on_document(document(7, 1, 50, 1, 51));
        assert_eq!(
            outcome.events,
            [Event::Rewound {
                instance: 7,
                expected: 900,
                agent_next: 51
            }]
        );
        assert_eq!(outcome.observations.len(), 50);
        assert_eq!(tracker.checkpoint(), checkpoint(7, 51));
    }

    #[test]
    fn an_empty_answer_at_the_end_of_the_buffer_changes_nothing() {
        let mut tracker = Tracker::new(checkpoint(7, 101), false);
        let outcome = tracker.on_document(document(7, 1, 100, 101, 101));
        assert!(outcome.observations.is_empty() && outcome.events.is_empty() && !outcome.more);
        assert_eq!(tracker.checkpoint(), checkpoint(7, 101));
    }
}
