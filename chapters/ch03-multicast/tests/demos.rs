//! The demos that run on any machine: each makes its own fresh network
//! namespace, so the host's is never touched. Their outputs must also be
//! what the VM lab recorded on the pinned kernels, line for line.

use nlbook_common::programs::{lab_program_output, stdout_of_success};

fn output(program: &str) -> String {
    stdout_of_success(program, &[])
}

fn lab_output(test: &str, kernel: &str) -> String {
    lab_program_output("ch03-multicast", test, kernel)
}

const GROUPS: &str = env!("CARGO_BIN_EXE_ch03-groups");
const USERSOCK: &str = env!("CARGO_BIN_EXE_ch03-usersock");
const NAMESPACES: &str = env!("CARGO_BIN_EXE_ch03-namespaces");

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
fn namespaces() {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo xtask demo ch03 ch03-namespaces",
    }, {
        insta::assert_snapshot!("ch03-namespaces", output(NAMESPACES));
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
    for kernel in ["6.1", "6.12", "6.12-rt", "debug"] {
        assert_eq!(
            output(NAMESPACES),
            lab_output("namespaces", kernel),
            "ch03-namespaces vs {kernel}"
        );
    }
}

#[test]
fn outputs_are_the_same_on_every_run() {
    let first = (output(GROUPS), output(USERSOCK), output(NAMESPACES));
    for _ in 0..3 {
        assert_eq!(
            (output(GROUPS), output(USERSOCK), output(NAMESPACES)),
            first
        );
    }
}
