//! Paths of the workspace this tool belongs to.

use std::path::{Path, PathBuf};

/// The workspace root: the directory holding the root `Cargo.toml`.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
