//! Group commit: a write is acknowledged only once it is durable, and concurrent writers share the
//! flush that makes it so.
//!
//! A flush with its fsync costs milliseconds while a write into sled's in-memory log costs
//! microseconds, so one flush per write would cap a shop's whole ingest at a few hundred writes a
//! second. Instead every writer, once its write is in the log, queues a waiter for one commit
//! thread. The thread takes every waiter queued so far, runs one flush, which covers all their
//! writes because each was in the log before its waiter was queued, and wakes them with the
//! result. Writers that queue during a flush are covered by the next one.
//!
//! The committer is an OS thread running sled's blocking `flush` rather than a tokio task awaiting
//! `flush_async`: concurrent `flush_async` calls can deadlock in sled 0.34 (spacejam/sled#1308,
//! seen here too), a thread works from any tokio runtime (or from several, as tests do), an fsync
//! never occupies an async worker, and dropping the store can join it: once the drop returns,
//! sled's file lock is released and the database can be reopened at once.

use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

use crate::disk_sync::{DiskSync, FlushFailure};
use crate::error::StoreError;

/// How [`SledStore`](crate::SledStore) makes writes durable. Both acknowledge a write only after
/// it is on disk; they differ in throughput under concurrent writers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CommitMode {
    /// Concurrent writes share one flush (the default).
    #[default]
    Group,
    /// Every write runs its own flush, on tokio's blocking pool: the baseline group commit is
    /// measured against. Writes in this mode must run within a tokio runtime.
    FlushEachWrite,
}

type Waiter = oneshot::Sender<Result<(), FlushFailure>>;

/// Makes everything written to the database so far durable.
struct Flusher {
    db: sled::Db,
    /// `None` for a temporary database, which has nothing to survive.
    disk: Option<DiskSync>,
    /// The first failure, returned from then on: after a failed fsync the kernel may have dropped
    /// the unwritten pages, so a later successful one would not cover the earlier writes.
    failed: OnceLock<FlushFailure>,
}

impl Flusher {
    fn flush(&self) -> Result<(), FlushFailure> {
        if let Some(failure) = self.failed.get() {
            return Err(failure.clone());
        }
        let flushed = self
            .db
            .flush()
            .map_err(FlushFailure::Sled)
            .and_then(|_| match &self.disk {
                Some(disk) => disk.sync(),
                None => Ok(()),
            });
        if let Err(failure) = &flushed {
            tracing::error!(?failure, "flush failed; the store accepts no more writes");
            let _ = self.failed.set(failure.clone());
        }
        flushed
    }
}

/// Makes writes already in sled's log durable, as [`CommitMode`] says.
pub(crate) struct Committer {
    flusher: Arc<Flusher>,
    /// `None` in [`CommitMode::FlushEachWrite`], and once dropping has begun.
    queue: Option<mpsc::Sender<Waiter>>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    /// Starts committing for `db`; in group mode this spawns the commit thread.
    pub(crate) fn start(
        db: sled::Db,
        disk: Option<DiskSync>,
        mode: CommitMode,
    ) -> std::io::Result<Self> {
        let flusher = Arc::new(Flusher {
            db,
            disk,
            failed: OnceLock::new(),
        });
        if mode == CommitMode::FlushEachWrite {
            return Ok(Committer {
                flusher,
                queue: None,
                thread: None,
            });
        }
        let (queue, waiters) = mpsc::channel();
        let flushing = Arc::clone(&flusher);
        let thread = std::thread::Builder::new()
            .name("chatter-store-commit".into())
            .spawn(move || run(&flushing, &waiters))?;
        Ok(Committer {
            flusher,
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Returns once every write this task has made so far is durable.
    pub(crate) async fn commit(&self) -> Result<(), StoreError> {
        let flushed = match &self.queue {
            None => {
                let flusher = Arc::clone(&self.flusher);
                let flushed = tokio::task::spawn_blocking(move || flusher.flush());
                flushed.await.map_err(|_| StoreError::CommitterStopped)?
            }
            Some(queue) => {
                let (waiter, flushed) = oneshot::channel();
                queue
                    .send(waiter)
                    .map_err(|_| StoreError::CommitterStopped)?;
                flushed.await.map_err(|_| StoreError::CommitterStopped)?
            }
        };
        flushed.map_err(StoreError::from)
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once it has served every queued waiter.
        drop(self.queue.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the store's commit thread panicked");
        }
    }
}

fn run(flusher: &Flusher, waiters: &mpsc::Receiver<Waiter>) {
    while let Ok(first) = waiters.recv() {
        let mut group = vec![first];
        group.extend(waiters.try_iter());
        let flushed = flusher.flush();
        tracing::trace!(writers = group.len(), ok = flushed.is_ok(), "group commit");
        for waiter in group {
            // A writer whose future was dropped no longer listens; its write is durable anyway.
            let _ = waiter.send(flushed.clone());
        }
    }
    tracing::debug!("commit thread stopped");
}
