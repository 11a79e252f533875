//! The demos that run on any machine: each makes its own fresh network
//! namespace, so the host's is never touched. Their outputs must also be
//! what the VM lab recorded on the pinned kernels, line for line.

use nlbook_common::programs::stdout_of_success;
use std::path::Path;

fn output(program: &str) -> String {
    stdout_of_success(program, &[])
}

/// The program's output in a VM-lab snapshot: the lines between the
/// command line and the outcome.
fn lab_output(test: &str, kernel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/snapshots/lab")
        .join(format!("ch03-multicast__{test}@{kernel}.snap"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text
        .lines()
        .skip_while(|l| !l.starts_with("$ "))
        .skip(1)
        .take_while(|l| !l.starts_with("# outcome:"))
        .collect::<Vec<_>>()
        .join("\n");
    lines.push('\n');
    lines
}

const GROUPS: &str = env!("CARGO_BIN_EXE_ch03-groups");
const USERSOCK: &str = env!("CARGO_BIN_EXE_ch03-usersock");

#[test]
fn groups() {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo xtask demo ch03 ch03-groups",
    }, {
        insta::assert_snapshot!("ch03-groups", output(GROUPS));
    });
}

#[test]
fn usersock() {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo xtask demo ch03 ch03-usersock",
    }, {
        insta::assert_snapshot!("ch03-usersock", output(USERSOCK));
    });
}

#[test]
fn this_kernel_answers_like_the_pinned_ones() {
    for kernel in ["6.1", "6.12", "debug"] {
        assert_eq!(
            output(GROUPS),
            lab_output("groups", kernel),
            "ch03-groups vs {kernel}"
        );
        assert_eq!(
            output(USERSOCK),
            lab_output("usersock", kernel),
            "ch03-usersock vs {kernel}"
        );
    }
}

#[test]
fn outputs_are_the_same_on_every_run() {
    let first = (output(GROUPS), output(USERSOCK));
    for _ in 0..3 {
        assert_eq!((output(GROUPS), output(USERSOCK)), first);
    }
}
