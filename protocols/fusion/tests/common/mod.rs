//! Reading the shared fixtures (real Fusion files, never copied into the repository).

use std::path::PathBuf;

/// `$CHATTER_FIXTURES`, else `shared/fixtures` beside the workspace.
pub fn folder() -> PathBuf {
    std::env::var_os("CHATTER_FIXTURES").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
        PathBuf::from,
    )
}

/// The bytes of fixture `path`, or `None` (printing why) when the fixtures are absent.
pub fn read(test: &str, path: &str) -> Option<Vec<u8>> {
    let folder = folder();
    if !folder.is_dir() {
        println!(
            "skipping {test}: fixtures not found at {}",
            folder.display()
        );
        return None;
    }
    let file = folder.join(path);
    Some(std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display())))
}
