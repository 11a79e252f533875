//! Paths of the workspace this tool belongs to.

use std::path::{Path, PathBuf};

/// The workspace root: the directory holding the root `Cargo.toml`.
pub fn root() -> PathBuf {
    // This crate lives in xtask/book-builder/.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
