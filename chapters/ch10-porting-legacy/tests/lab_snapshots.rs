//! What the chapter says of its recorded runs, checked against them: the
//! ported module's run (`kmod/ch10-porting-legacy/lab.toml`) is the same on
//! every pinned kernel, and the legacy build fails on 6.12 with 6.1's
//! errors plus `kernel_thread()`'s new argument.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::Path;

use nlbook_common::programs::{LAB_KERNELS, lab_snapshot};

#[test]
fn the_ported_module_runs_the_same_on_every_kernel() {
    let reference = lab_snapshot("ch10-porting-legacy", "client", "6.1");
    assert!(reference.contains("# outcome: exit status 0"));
    assert!(reference.contains("\"reminder from the timer\""));
    for kernel in &LAB_KERNELS[1..] {
        assert_eq!(
            lab_snapshot("ch10-porting-legacy", "client", kernel),
            reference,
            "kernel {kernel} differs from 6.1"
        );
    }
}

fn legacy_build(kernel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(format!("tests/snapshots/ch10-legacy-build@{kernel}.snap"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}: run the legacy_build tests", path.display()));
    xtask::book::snapshot_body(&text)
        .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()))
        .to_owned()
}

#[test]
fn on_6_12_the_legacy_build_adds_only_kernel_thread_s_arguments() {
    let (old, new) = (legacy_build("6.1"), legacy_build("6.12"));
    let extra: Vec<&str> = new
        .lines()
        .filter(|l| !old.lines().any(|o| o == *l))
        .collect();
    assert_eq!(extra.len(), 2, "{extra:#?}");
    assert!(extra[0].ends_with("error: too few arguments to function 'kernel_thread'"));
    assert_eq!(
        extra[1],
        "<kernel>/include/linux/sched/task.h: note: declared here"
    );
    assert!(old.lines().all(|l| new.lines().any(|n| n == l)));
}
