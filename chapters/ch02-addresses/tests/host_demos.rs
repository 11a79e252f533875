//! The host demos' reports, as the book shows them. Each program makes its
//! own fresh network namespace, so the host's is never touched.
//!
//! The same programs run in the VM lab on the pinned kernels (6.1, 6.12,
//! debug; `kmod/ch02-addresses/lab.toml`); the last test checks that every
//! kernel printed the very report this host prints.

use std::path::PathBuf;

/// The host demos: program name and lab test name.
const DEMOS: [(&str, &str); 4] = [
    ("ch02-autobind", "autobind"),
    ("ch02-bind", "bind"),
    ("ch02-kernel-port", "kernel-port"),
    ("ch02-unicast", "unicast"),
];

use nlbook_common::programs::stdout_of_success;

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

/// The program's output in a lab snapshot: the lines between the command
/// line (`$ ...`) and `# outcome:`.
fn lab_output(snapshot: &str) -> Vec<&str> {
    snapshot
        .lines()
        .skip_while(|l| !l.starts_with("$ "))
        .skip(1)
        .take_while(|l| !l.starts_with("# outcome:"))
        .collect()
}

#[test]
fn the_pinned_kernels_print_the_same_reports() {
    let lab = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/snapshots/lab");
    for (name, test) in DEMOS {
        let host = report(name);
        let host: Vec<&str> = host.lines().collect();
        for kernel in ["6.1", "6.12", "debug"] {
            let path = lab.join(format!("ch02-addresses__{test}@{kernel}.snap"));
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}: record it with `cargo xtask lab --chapter ch02-addresses --accept`",
                    path.display()
                )
            });
            assert_eq!(
                lab_output(&text),
                host,
                "{name}: kernel {kernel} printed another report than this host"
            );
        }
    }
}
