//! `chatter audit verify`: an intact log verifies, and a record edited, removed, moved, or cut
//! from the end of the log — straight in the database, as someone with disk access would —
//! is found and named.

#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn chatter(args: &[&str], data: &Path, stdin: Option<&str>) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_chatter"))
        .args(args)
        .arg("--data")
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn verify(data: &Path) -> (bool, String) {
    let output = chatter(&["audit", "verify"], data, None);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

/// A data folder whose audit log has a few records.
fn logged_installation(dir: &Path) -> std::path::PathBuf {
    let data = dir.join("data");
    let added = chatter(
        &[
            "user",
            "add",
            "--email",
            "ops@shop.example",
            "--name",
            "Ops",
            "--password-stdin",
        ],
        &data,
        Some("operator password 1\n"),
    );
    assert!(added.status.success(), "{added:?}");
    for name in ["one", "two", "three"] {
        let created = chatter(
            &[
                "token",
                "create",
                "--email",
                "ops@shop.example",
                "--name",
                name,
            ],
            &data,
            None,
        );
        assert!(created.status.success(), "{created:?}");
    }
    data
}

/// Copies the installation and changes its audit tree with `tamper`.
fn tampered(data: &Path, into: &Path, tamper: impl FnOnce(&sled::Tree)) -> std::path::PathBuf {
    let copy = into.join("copy");
    copy_dir(data, &copy);
    let db = sled::open(copy.join("store")).unwrap();
    let audit = db.open_tree("audit").unwrap();
    tamper(&audit);
    db.flush().unwrap();
    drop(audit);
    drop(db);
    copy
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

#[test]
fn verify_finds_edited_removed_reordered_and_truncated_records() {
    let dir = tempfile::tempdir().unwrap();
    let data = logged_installation(dir.path());
    let (ok, text) = verify(&data);
    assert!(ok, "{text}");
    assert!(text.contains("audit log intact: 4 records"), "{text}");

    let edited = tempfile::tempdir().unwrap();
    let copy = tampered(&data, edited.path(), |audit| {
        let value = audit.get(key(2)).unwrap().unwrap();
        let text = String::from_utf8(value.to_vec()).unwrap();
        let forged = text.replace("token.create", "token.revoke");
        assert_ne!(forged, text);
        audit.insert(key(2), forged.as_bytes()).unwrap();
    });
    let (ok, text) = verify(&copy);
    assert!(!ok);
    assert!(text.contains("record 2 was altered"), "{text}");

    let removed = tempfile::tempdir().unwrap();
    let copy = tampered(&data, removed.path(), |audit| {
        audit.remove(key(2)).unwrap();
    });
    let (ok, text) = verify(&copy);
    assert!(!ok);
    assert!(text.contains("record 3 follows record 1"), "{text}");

    let reordered = tempfile::tempdir().unwrap();
    let copy = tampered(&data, reordered.path(), |audit| {
        let second = audit.get(key(2)).unwrap().unwrap();
        let third = audit.get(key(3)).unwrap().unwrap();
        audit.insert(key(2), third).unwrap();
        audit.insert(key(3), second).unwrap();
    });
    let (ok, text) = verify(&copy);
    assert!(!ok);
    assert!(text.contains("record 3 follows record 1"), "{text}");

    let truncated = tempfile::tempdir().unwrap();
    let copy = tampered(&data, truncated.path(), |audit| {
        audit.remove(key(4)).unwrap();
    });
    let (ok, text) = verify(&copy);
    assert!(!ok);
    assert!(text.contains("the last ones were removed"), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}
