//! One machine's forwarder: sends the local store's observations of the machine to central, in
//! order, each exactly once as central stores them, whatever fails in between.
//!
//! The cursor is the last sequence number central acknowledged. It lives only in memory: at
//! start (and after central refused a request) it is asked from central, which knows the last
//! number it stored from this edge's stream. A batch that fails is read and sent again from the
//! same cursor, so nothing is skipped; central drops the numbers it already has, so nothing is
//! stored twice.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chatter_model::{DataItem, MachineId, OrgId, now_ms};
use chatter_store::{Store, StoreError};
use tokio::sync::watch;
use tracing::Instrument as _;

use crate::backoff::Backoff;
use crate::client::{Central, SendError};
use crate::config::EdgeSettings;
use crate::stream::StreamId;
use crate::wire::encode_batch;

/// How often the local store is checked for new observations when all were sent.
pub const IDLE_POLL: Duration = Duration::from_millis(200);

/// How one machine's forwarding is going, for status output.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ForwarderStatus {
    /// The machine.
    pub machine: String,
    /// The last sequence number stored locally.
    pub local_last: u64,
    /// The last sequence number central acknowledged; `None` until central was asked.
    pub forwarded: Option<u64>,
    /// When central last acknowledged a batch, in milliseconds since the Unix epoch.
    pub last_success_ms: Option<i64>,
    /// The last error, cleared by the next success.
    pub last_error: Option<String>,
    /// Observations central rejected for good since the edge started.
    pub rejected: u64,
}

impl ForwarderStatus {
    /// Observations stored locally and not yet acknowledged by central (all of them while
    /// central has not been reached).
    pub fn pending(&self) -> u64 {
        self.local_last.saturating_sub(self.forwarded.unwrap_or(0))
    }
}

/// A shared, live view of a forwarder's [`ForwarderStatus`].
#[derive(Debug, Clone, Default)]
pub struct StatusHandle(Arc<Mutex<ForwarderStatus>>);

impl StatusHandle {
    /// A copy of the current status.
    pub fn snapshot(&self) -> ForwarderStatus {
        self.0.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, change: impl FnOnce(&mut ForwarderStatus)) {
        // A panic elsewhere while holding the lock leaves a usable status; keep reporting.
        let mut status = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        change(&mut status);
    }
}

/// Why one step of the loop failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Central(#[from] SendError),
    #[error("local store: {0}")]
    Store(#[from] StoreError),
}

/// What one step of the loop did.
enum Progress {
    /// A batch was acknowledged.
    Sent,
    /// Nothing was pending.
    Idle,
}

/// Forwards one machine's observations to central.
pub struct Forwarder {
    org: OrgId,
    machine: MachineId,
    store: Arc<dyn Store>,
    central: Central,
    stream: StreamId,
    batch_size: usize,
    backoff: Backoff,
    status: StatusHandle,
    /// Last sequence number central acknowledged; `None`: ask central.
    cursor: Option<u64>,
    /// The data items central was last sent.
    sent_items: Option<Vec<DataItem>>,
    /// When the current run of failures began.
    failing_since: Option<Instant>,
}

impl Forwarder {
    /// A forwarder of `machine` of `org` from `store` to `central`, as stream `stream`.
    pub fn new(
        org: OrgId,
        machine: MachineId,
        store: Arc<dyn Store>,
        central: Central,
        stream: StreamId,
        settings: &EdgeSettings,
    ) -> Self {
        let status = StatusHandle::default();
        status.update(|s| s.machine = machine.as_str().to_owned());
        Forwarder {
            org,
            machine,
            store,
            central,
            stream,
            batch_size: settings.batch_size,
            backoff: Backoff::new(settings.backoff_initial, settings.backoff_max),
            status,
            cursor: None,
            sent_items: None,
            failing_since: None,
        }
    }

    /// The live status of this forwarder.
    pub fn status(&self) -> StatusHandle {
        self.status.clone()
    }

    /// Forwards until `shutdown` turns true (or its sender is dropped). A request in flight
    /// then is abandoned: central stores each sequence number once, so sending it again after
    /// the next start is harmless.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let span = tracing::info_span!("forwarder", machine = %self.machine);
        async move {
            loop {
                let outcome = tokio::select! {
                    () = stopped(&mut shutdown) => return,
                    outcome = self.step() => outcome,
                };
                let wait = self.after(outcome);
                if let Some(wait) = wait {
                    tokio::select! {
                        () = stopped(&mut shutdown) => return,
                        () = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
        .instrument(span)
        .await;
    }

    /// Sends the next batch, if any.
    async fn step(&mut self) -> Result<Progress, Failure> {
        let local_last = self.store.last_sequence(&self.org, &self.machine).await?;
        self.status.update(|s| s.local_last = local_last);
        let cursor = match self.cursor {
            Some(cursor) => cursor,
            None => self.resume_point(local_last).await?,
        };
        if local_last <= cursor {
            return Ok(Progress::Idle);
        }
        let observations = self
            .store
            .observations(&self.org, &self.machine, cursor, self.batch_size)
            .await?;
        if observations.is_empty() {
            return Ok(Progress::Idle);
        }
        let items = self.store.data_items(&self.org, &self.machine).await?;
        // Sent on the first batch after start and when the driver declared others since.
        let send_items = match &self.sent_items {
            Some(sent) => sent != &items,
            None => !items.is_empty(),
        };
        let (body, count) = encode_batch(
            self.machine.as_str(),
            self.stream.as_str(),
            send_items.then_some(items.as_slice()),
            &observations,
        )
        .map_err(|e| SendError::Encode(e.to_string()))?;
        let batch = &observations[..count];
        let last = batch.last().map_or(cursor, |o| o.sequence);
        let response = self.central.ingest(&body).await?;
        for rejected in &response.rejected {
            tracing::warn!(
                sequence = ?rejected.sequence,
                index = rejected.index,
                error = %rejected.error,
                "central rejected an observation for good; it stays in the edge's store only"
            );
        }
        if self.failing_since.is_some() {
            tracing::info!(
                backlog = local_last - cursor,
                "central is reachable again; sending the backlog"
            );
        }
        tracing::debug!(
            first = batch.first().map_or(0, |o| o.sequence),
            last,
            accepted = response.accepted,
            duplicates = response.duplicates,
            "batch acknowledged"
        );
        self.cursor = Some(last);
        self.sent_items = Some(items);
        let rejected = response.rejected.len() as u64;
        self.status.update(|s| {
            s.forwarded = Some(last);
            s.last_success_ms = Some(now_ms());
            s.last_error = None;
            s.rejected += rejected;
        });
        Ok(Progress::Sent)
    }

    /// Asks central where to continue: after the last number it stored from this edge's
    /// stream, or from the start if it holds another stream (this data folder is new) or none.
    async fn resume_point(&mut self, local_last: u64) -> Result<u64, Failure> {
        let position = self.central.position(self.machine.as_str()).await?;
        let cursor = match position.stream {
            Some(stream) if stream == self.stream.as_str() => position.last_sequence,
            _ => 0,
        };
        if cursor > local_last {
            tracing::warn!(
                central = cursor,
                local = local_last,
                "central holds more of this edge's stream than its store: was the data folder \
                 restored from a backup? Observations up to the central number will be taken \
                 for duplicates; remove `edge-stream` from the data folder to start a new stream"
            );
        }
        tracing::info!(
            after = cursor,
            backlog = local_last.saturating_sub(cursor),
            "forwarding to {}",
            self.central.base()
        );
        self.cursor = Some(cursor);
        self.status.update(|s| s.forwarded = Some(cursor));
        Ok(cursor)
    }

    /// Logs the outcome of a step and says how long to wait before the next one.
    fn after(&mut self, outcome: Result<Progress, Failure>) -> Option<Duration> {
        let error = match outcome {
            Ok(progress) => {
                self.backoff.reset();
                self.failing_since = None;
                return match progress {
                    Progress::Sent => None,
                    Progress::Idle => Some(IDLE_POLL),
                };
            }
            Err(error) => error,
        };
        self.status
            .update(|s| s.last_error = Some(error.to_string()));
        let first = self.failing_since.is_none();
        if first {
            self.failing_since = Some(Instant::now());
        }
        match error {
            Failure::Central(SendError::Unavailable {
                message,
                retry_after,
            }) => {
                let delay = self
                    .backoff
                    .next_delay()
                    .max(retry_after.unwrap_or_default());
                if first {
                    tracing::warn!(
                        error = %message,
                        "central is unavailable; keeping observations locally and retrying"
                    );
                } else {
                    tracing::debug!(error = %message, retry_in = ?delay, "central still unavailable");
                }
                Some(delay)
            }
            Failure::Central(error) if error.is_too_large() => {
                self.batch_size = (self.batch_size / 2).max(1);
                tracing::error!(
                    %error,
                    batch_size = self.batch_size,
                    "central finds batches too large; sending smaller ones (lower [edge] batch-size)"
                );
                Some(self.backoff.next_delay())
            }
            Failure::Central(error @ SendError::Refused { .. }) => {
                let hint = error.hint(self.machine.as_str()).unwrap_or_default();
                tracing::error!(
                    %error,
                    "{hint}; observations are kept and sent once this is fixed"
                );
                // Central may have been reset meanwhile: ask it again where to continue.
                self.cursor = None;
                Some(self.backoff.max())
            }
            Failure::Central(error @ SendError::Encode(_)) => {
                tracing::error!(%error, "cannot send observations");
                Some(self.backoff.max())
            }
            Failure::Store(error) => {
                tracing::error!(%error, "cannot read the local store");
                Some(self.backoff.next_delay())
            }
        }
    }
}

/// Completes once `shutdown` turns true or its sender is gone.
async fn stopped(shutdown: &mut watch::Receiver<bool>) {
    while !*shutdown.borrow_and_update() {
        if shutdown.changed().await.is_err() {
            return;
        }
    }
}
