//! The host demos' reports, as the book shows them. Each program makes its
//! own fresh network namespace, so the host's is never touched.
//!
//! The same programs run in the VM lab on the pinned kernels (6.1, 6.12,
//! debug; `kmod/ch02-addresses/lab.toml`); the last test checks that every
//! kernel printed the very report this host prints.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used, clippy::panic)]

/// The host demos: program name and lab test name.
const DEMOS: [(&str, &str); 4] = [
    ("ch02-autobind", "autobind"),
    ("ch02-bind", "bind"),
    ("ch02-kernel-port", "kernel-port"),
    ("ch02-unicast", "unicast"),
];

use nlbook_common::programs::{LAB_KERNELS, lab_program_output, stdout_of_success};

fn program(name: &str) -> &'static str {
    match name {
        "ch02-autobind" => env!("CARGO_BIN_EXE_ch02-autobind"),
        "ch02-bind" => env!("CARGO_BIN_EXE_ch02-bind"),
        "ch02-kernel-port" => env!("CARGO_BIN_EXE_ch02-kernel-port"),
        "ch02-unicast" => env!("CARGO_BIN_EXE_ch02-unicast"),
        other => panic!("not a host demo: {other}"),
    }
}

fn report(name: &str) -> String {
    stdout_of_success(program(name), &[])
}

fn snapshot(name: &str) {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => format!("cargo run -p ch02-addresses --bin {name}"),
    }, {
        insta::assert_snapshot!(name, report(name));
    });
}

#[test]
fn autobind() {
    snapshot("ch02-autobind");
}

#[test]
fn bind() {
    snapshot("ch02-bind");
}

#[test]
fn kernel_port() {
    snapshot("ch02-kernel-port");
}

#[test]
fn unicast() {
    snapshot("ch02-unicast");
}

#[test]
fn reports_are_the_same_on_every_run() {
    for (name, _) in DEMOS {
        let first = report(name);
        for _ in 0..3 {
            assert_eq!(report(name), first, "{name} changed between runs");
        }
    }
}

#[test]
fn the_pinned_kernels_print_the_same_reports() {
    for (name, test) in DEMOS {
        let host = report(name);
        for kernel in LAB_KERNELS {
            assert_eq!(
                lab_program_output("ch02-addresses", test, kernel),
                host,
                "{name}: kernel {kernel} printed another report than this host"
            );
        }
    }
}
