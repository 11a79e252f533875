//! The VM lab's snapshots of the module runs (`kmod/ch02-addresses/lab.toml`)
//! are the same on every pinned kernel: the book shows the 6.1 ones and
//! says so. Only the snapshot's title names the kernel.

use nlbook_common::programs::lab_snapshot;

const MODULE_TESTS: [&str; 4] = [
    "whoami-raw",
    "whoami-neli",
    "registered-port",
    "registered-release",
];

fn body(test: &str, kernel: &str) -> String {
    lab_snapshot("ch02-addresses", test, kernel)
}

#[test]
fn module_runs_are_the_same_on_every_kernel() {
    for test in MODULE_TESTS {
        let reference = body(test, "6.1");
        assert!(reference.contains("# outcome: exit status 0"), "{test}");
        for kernel in ["6.12", "debug"] {
            assert_eq!(
                body(test, kernel),
                reference,
                "{test}: kernel {kernel} differs from 6.1"
            );
        }
    }
}
