//! The VM lab's snapshots (`kmod/ch08-protocol-numbers/lab.toml`), checked
//! against each other: the module's run is the same on every pinned
//! kernel, and loading it changes exactly one row of each kernel's probe.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used, clippy::panic)]

use nlbook_common::programs::{LAB_KERNELS as KERNELS, lab_snapshot};

/// A lab snapshot without its front matter, which names the kernel.
fn body(test: &str, kernel: &str) -> String {
    lab_snapshot("ch08-protocol-numbers", test, kernel)
}

/// The probe's table rows of a snapshot: `protocol -> answer`.
fn probe_rows(body: &str) -> Vec<(i32, String)> {
    body.lines()
        .skip_while(|l| !l.starts_with("protocol "))
        .skip(1)
        .take_while(|l| !l.starts_with("registered:"))
        .map(|l| {
            let number = l[..10].trim().parse().expect("a protocol number");
            (number, l[27..].to_owned())
        })
        .collect()
}

#[test]
fn the_module_run_is_the_same_on_every_kernel() {
    let reference = body("max-links", "6.1");
    assert!(reference.contains("# outcome: exit status 0"));
    for kernel in ["6.12", "debug"] {
        assert_eq!(
            body("max-links", kernel),
            reference,
            "kernel {kernel} differs from 6.1"
        );
    }
}

#[test]
fn loading_the_module_registers_31_and_nothing_else() {
    for kernel in KERNELS {
        let without = probe_rows(&body("probe", kernel));
        let with = probe_rows(&body("probe-with-module", kernel));
        assert_eq!(without.len(), 34, "{kernel}");
        assert_eq!(with.len(), without.len(), "{kernel}");
        for ((p, before), (q, after)) in without.iter().zip(&with) {
            assert_eq!(p, q);
            let expected = match p {
                31 => ("EPROTONOSUPPORT (93)", "registered"),
                _ => (before.as_str(), before.as_str()),
            };
            assert_eq!((before.as_str(), after.as_str()), expected, "{kernel}: {p}");
        }
        for p in [30, 32, 33] {
            assert_eq!(with[p].1, "EPROTONOSUPPORT (93)", "{kernel}: {p}");
        }
    }
}

#[test]
fn each_kernel_registers_what_its_configuration_builds_in() {
    let registered = |kernel| -> Vec<i32> {
        probe_rows(&body("probe", kernel))
            .into_iter()
            .filter(|(_, answer)| answer == "registered")
            .map(|(p, _)| p)
            .collect()
    };
    // ROUTE, USERSOCK and GENERIC are always built in.
    for kernel in KERNELS {
        for p in [0, 2, 16] {
            assert!(registered(kernel).contains(&p), "{kernel}: {p}");
        }
    }
    // Debian builds the same families into 6.1 and 6.12; the debug kernel
    // is a tinyconfig build with a few networking options of its own.
    assert_eq!(registered("6.1"), registered("6.12"));
    assert_ne!(registered("6.1"), registered("debug"));
}
