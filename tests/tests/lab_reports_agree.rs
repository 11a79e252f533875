//! The implementations of a chapter print the same report for the same run
//! in the VM lab too: raw `libc`, `neli` and the rust-netlink crates, on
//! every pinned kernel the chapter runs on. The lab checks each run against
//! its recorded snapshot; this test checks that the recorded snapshots of
//! one chapter's implementations agree with each other (everything after the
//! command line: the report, the outcome and the kernel log), so a report
//! cannot drift in one implementation only.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::panic)]

use nlbook_common::programs::{LAB_KERNELS, lab_snapshot_body};

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
        chapter: "ch05-events",
        tests: &["sa-monitor", "sa-monitor-rust-netlink"],
    },
    SameReport {
        chapter: "ch05-events",
        tests: &["sa-monitor-bytes", "sa-monitor-bytes-rust-netlink"],
    },
    SameReport {
        chapter: "ch06-enobufs",
        tests: &["resync", "resync-rust-netlink"],
    },
    SameReport {
        chapter: "ch11-generic-netlink",
        tests: &["kv-neli", "kv-rust-netlink"],
    },
];

#[test]
fn every_implementation_of_a_run_prints_the_same_report_in_the_lab() {
    for same in SAME_REPORTS {
        let chapter = same.chapter;
        let Some((reference, others)) = same.tests.split_first() else {
            panic!("{chapter}: no tests listed");
        };
        let mut compared = 0;
        for kernel in LAB_KERNELS {
            let expected = lab_snapshot_body(&format!("{chapter}__{reference}@{kernel}"));
            for other in others {
                let got = lab_snapshot_body(&format!("{chapter}__{other}@{kernel}"));
                match (&expected, got) {
                    (Some(expected), Some(got)) => {
                        assert_eq!(
                            &got, expected,
                            "{chapter}/{other} on {kernel} printed another report than {reference}"
                        );
                        compared += 1;
                    }
                    (None, None) => {}
                    (Some(_), None) => {
                        panic!("{chapter}/{reference} ran on {kernel}, {other} did not")
                    }
                    (None, Some(_)) => {
                        panic!("{chapter}/{other} ran on {kernel}, {reference} did not")
                    }
                }
            }
        }
        assert!(
            compared > 0,
            "{chapter}: no kernel has snapshots of {}",
            same.tests.join(", ")
        );
    }
}
