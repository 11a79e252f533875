//! The 2.6-era module (`kmod/ch10-porting-legacy/legacy`) no longer builds:
//! a real build against each pinned kernel's headers, its compiler errors
//! snapshotted. The headers come from the lab (`kernels::prepare` fetches
//! them once); without them the test fails, it never skips.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::Path;

use xtask::lab::{build_only, kernels};

const LEGACY: &str = "kmod/ch10-porting-legacy/legacy";

fn compiler_errors(kernel: &str) -> String {
    let cache = xtask::cache_dir();
    let k = kernels::prepare(kernel, &cache).unwrap_or_else(|e| {
        panic!("kernel {kernel}: {e:#}\n(the build needs its headers; `cargo xtask lab --kernel {kernel}` prepares them)")
    });
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(LEGACY);
    build_only::expect_failure(&dir, LEGACY, &k, &cache).unwrap_or_else(|e| panic!("{e:#}"))
}

fn check(kernel: &str) {
    let errors = compiler_errors(kernel);
    insta::with_settings!({
        snapshot_path => "snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!("{LEGACY}/kthread_2_6.c built against kernel {kernel}'s headers"),
    }, {
        insta::assert_snapshot!(format!("ch10-legacy-build@{kernel}"), errors);
    });
}

#[test]
fn the_legacy_module_does_not_build_on_6_1() {
    check("6.1");
}

#[test]
fn the_legacy_module_does_not_build_on_6_12() {
    check("6.12");
}
