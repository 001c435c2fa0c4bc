//! What sled's flush leaves out: making its writes survive a power cut, not only a crash.
//!
//! On Linux sled 0.34 ends a flush with `sync_file_range`, which neither flushes the drive's write
//! cache nor persists the log file's new length, and it never syncs the separate files it writes
//! values larger than about 128 KiB to (`blobs/`, where plugin components end up). After each
//! sled flush, this syncs the log file with `fdatasync`, and every blob file and the blob
//! directory not synced before.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::StoreError;

/// Why a flush did not make writes durable; shared by every writer waiting on that flush.
#[derive(Debug, Clone)]
pub(crate) enum FlushFailure {
    /// sled's own flush failed.
    Sled(sled::Error),
    /// Syncing a file or directory failed.
    Sync {
        path: PathBuf,
        error: Arc<io::Error>,
    },
}

impl From<FlushFailure> for StoreError {
    fn from(failure: FlushFailure) -> Self {
        match failure {
            FlushFailure::Sled(source) => StoreError::Sled {
                context: "flushing writes to disk".to_owned(),
                source,
            },
            FlushFailure::Sync { path, error } => StoreError::Sync {
                path,
                // io::Error is not Clone; every waiter gets its own with the same kind and text.
                source: io::Error::new(error.kind(), error.to_string()),
            },
        }
    }
}

/// The files of an on-disk sled database that need syncing after sled's flush.
pub(crate) struct DiskSync {
    log_path: PathBuf,
    log: File,
    blobs: PathBuf,
    /// Blob files already synced; sled never rewrites one, it only creates and deletes them.
    synced_blobs: Mutex<HashSet<OsString>>,
}

impl DiskSync {
    /// Prepares syncing the sled database in `dir`, which sled has just opened.
    pub(crate) fn open(dir: &Path) -> io::Result<Self> {
        let log_path = dir.join("db");
        let log = File::open(&log_path)?;
        // sled may have just created its files; their directory entries must last too.
        sync_dir(dir)?;
        let synced_blobs = Mutex::new(HashSet::new());
        Ok(DiskSync {
            log_path,
            log,
            blobs: dir.join("blobs"),
            synced_blobs,
        })
    }

    /// Syncs what sled's last flush wrote.
    pub(crate) fn sync(&self) -> Result<(), FlushFailure> {
        self.sync_new_blobs()?;
        self.log.sync_data().map_err(|e| failure(&self.log_path, e))
    }

    fn sync_new_blobs(&self) -> Result<(), FlushFailure> {
        let entries = match std::fs::read_dir(&self.blobs) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(failure(&self.blobs, e)),
        };
        let mut synced = self
            .synced_blobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut present = HashSet::new();
        let mut any_new = false;
        for entry in entries {
            let entry = entry.map_err(|e| failure(&self.blobs, e))?;
            let name = entry.file_name();
            if !synced.contains(&name) {
                match File::open(entry.path()).and_then(|file| file.sync_all()) {
                    Ok(()) => any_new = true,
                    // sled deletes blobs it no longer needs; one gone meanwhile needs no sync.
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(failure(&entry.path(), e)),
                }
            }
            present.insert(name);
        }
        // Forgetting deleted blobs keeps the set as small as the directory.
        *synced = present;
        if any_new {
            sync_dir(&self.blobs).map_err(|e| failure(&self.blobs, e))?;
        }
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn failure(path: &Path, error: io::Error) -> FlushFailure {
    FlushFailure::Sync {
        path: path.to_owned(),
        error: Arc::new(error),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn new_blobs_are_synced_once_and_deleted_ones_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("db"), b"log").unwrap();
        let disk = DiskSync::open(dir.path()).unwrap();
        disk.sync().unwrap();

        std::fs::create_dir(dir.path().join("blobs")).unwrap();
        std::fs::write(dir.path().join("blobs/1"), b"big value").unwrap();
        disk.sync().unwrap();
        assert_eq!(disk.synced_blobs.lock().unwrap().len(), 1);

        std::fs::remove_file(dir.path().join("blobs/1")).unwrap();
        disk.sync().unwrap();
        assert!(disk.synced_blobs.lock().unwrap().is_empty());
    }

    #[test]
    fn a_failed_sync_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let err = DiskSync::open(dir.path()).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let failure = failure(Path::new("/x/db"), io::Error::other("EIO"));
        let err = StoreError::from(failure);
        assert_eq!(
            err.to_string(),
            "cannot make writes durable: syncing `/x/db` failed: EIO"
        );
    }
}
