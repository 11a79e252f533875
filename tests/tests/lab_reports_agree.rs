//! The implementations of a chapter print the same report for the same run
//! in the VM lab too: raw `libc`, `neli` and the rust-netlink crates, on
//! every pinned kernel the chapter runs on. The lab checks each run against
//! its recorded snapshot; this test checks that the recorded snapshots of
//! one chapter's implementations agree with each other, so a report cannot
//! drift in one implementation only.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// One chapter's implementations of one run: the lab tests whose reports
/// must be identical, the first being the reference.
struct SameReport {
    chapter: &'static str,
    tests: &'static [&'static str],
}

const SAME_REPORTS: &[SameReport] = &[
    SameReport {
        chapter: "ch01-hello-netlink",
        tests: &["links-raw", "links-neli", "links-rust-netlink"],
    },
    SameReport {
        chapter: "ch06-enobufs",
        tests: &["resync", "resync-rust-netlink"],
    },
];

fn lab_snapshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/lab")
}

/// The kernels a lab test has snapshots for.
fn kernels_of(chapter: &str, test: &str) -> Vec<String> {
    let prefix = format!("{chapter}__{test}@");
    let mut kernels: Vec<String> = std::fs::read_dir(lab_snapshots())
        .expect("tests/snapshots/lab")
        .map(|entry| entry.expect("a lab snapshot").file_name())
        .filter_map(|name| {
            let name = name.to_str()?;
            Some(
                name.strip_prefix(&prefix)?
                    .strip_suffix(".snap")?
                    .to_owned(),
            )
        })
        .collect();
    kernels.sort();
    kernels
}

/// What a run printed and logged: the snapshot after its `$ command` line.
fn report(chapter: &str, test: &str, kernel: &str) -> String {
    let path = lab_snapshots().join(format!("{chapter}__{test}@{kernel}.snap"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (_, after_command) = text
        .split_once("\n$ ")
        .unwrap_or_else(|| panic!("{}: no `$ command` line", path.display()));
    let (_, body) = after_command
        .split_once('\n')
        .unwrap_or_else(|| panic!("{}: nothing after the command", path.display()));
    body.to_owned()
}

#[test]
fn every_implementation_of_a_run_prints_the_same_report_in_the_lab() {
    for same in SAME_REPORTS {
        let (reference, others) = same.tests.split_first().expect("tests listed");
        let kernels = kernels_of(same.chapter, reference);
        assert!(
            !kernels.is_empty(),
            "{}/{reference}: no lab snapshot",
            same.chapter
        );
        for other in others {
            assert_eq!(
                kernels_of(same.chapter, other),
                kernels,
                "{}/{other} runs on other kernels than {reference}",
                same.chapter
            );
            for kernel in &kernels {
                assert_eq!(
                    report(same.chapter, other, kernel),
                    report(same.chapter, reference, kernel),
                    "{}/{other} on {kernel} printed another report than {reference}",
                    same.chapter
                );
            }
        }
    }
}
