//! Chapter 13's crate weights are the lock file's: the crates and versions
//! of each set, and the count of crates in its tree, are what `cargo tree`
//! gives today (the build times are a measurement, like the benchmark's),
//! and the chapter's table is rendered from the committed results.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used)]

use xtask::crate_weight;

#[test]
fn the_committed_crate_counts_are_the_lock_files() {
    let problems = crate_weight::check_against_lock().expect("counting the crate sets' trees");
    assert!(
        problems.is_empty(),
        "run `cargo xtask crate-weight`:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_chapters_table_is_rendered_from_the_results() {
    let weights = crate_weight::committed().expect("book/src/perf/crate-weight.json");
    let table = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/perf/crate-weight.md"),
    )
    .expect("book/src/perf/crate-weight.md");
    assert_eq!(table, crate_weight::markdown_table(&weights));
    assert!(weights.sets.iter().all(|s| s.release_build_s > 0.0));
}
