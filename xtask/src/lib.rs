//! The workbook's tool: the library behind `cargo xtask`, also used by the
//! whole-project tests in `tests/`.

pub mod bench;
pub mod browser;
pub mod citations;
pub mod cli;
pub mod crate_weight;
pub mod demo;
pub mod diagram;
pub mod exercises;
pub mod fuzz;
pub mod grade;
pub mod handout;
pub mod lab;
pub mod leftovers;
pub mod process;
pub mod provision;
pub mod site;
pub mod student;
pub mod test;

/// The book's builder and server, which `cargo xtask serve` builds on its
/// own ([`book_builder`]).
pub use book_builder::{book, http, workspace};

use std::path::PathBuf;

/// Where cached downloads and builds live: `target/` of the workspace.
pub fn cache_dir() -> PathBuf {
    workspace::root().join("target")
}

/// A file, or a folder with what it holds, removed when this is dropped.
pub struct RemovedOnDrop(pub PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = if self.0.is_dir() {
            std::fs::remove_dir_all(&self.0)
        } else {
            std::fs::remove_file(&self.0)
        };
    }
}

/// A self-check's tally: checks passed and failed, each failure printed
/// (`WRONG: ...`) as it is found.
#[derive(Debug, Default)]
pub struct Verdicts {
    pub passed: usize,
    pub failed: usize,
}

impl Verdicts {
    /// Counts one check; prints `what` went wrong unless `ok`.
    pub fn record(&mut self, ok: bool, what: String) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
            eprintln!("    WRONG: {what}");
        }
    }
}
