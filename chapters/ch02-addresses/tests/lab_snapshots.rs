//! The VM lab's snapshots of the module runs (`kmod/ch02-addresses/lab.toml`)
//! are the same on every pinned kernel: the book shows the 6.1 ones and
//! says so. Only the snapshot's title names the kernel.

use std::path::PathBuf;

const MODULE_TESTS: [&str; 4] = [
    "whoami-raw",
    "whoami-neli",
    "registered-port",
    "registered-release",
];

/// A lab snapshot without its front matter, which names the kernel.
fn body(test: &str, kernel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/snapshots/lab")
        .join(format!("ch02-addresses__{test}@{kernel}.snap"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: record it with `cargo xtask lab --chapter ch02-addresses --accept`",
            path.display()
        )
    });
    let rest = text.strip_prefix("---\n").expect("insta front matter");
    let end = rest.find("\n---\n").expect("insta front matter ends");
    rest[end + 5..].to_owned()
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
