//! The chapter 9 clients on a machine without the modules, such as this
//! project's host, whose kernel cannot load modules: both stop at
//! `socket()` and say what to do. Usage errors are refused before any
//! socket is opened.

use nlbook_common::programs::{assert_protocol_unregistered, outcome};

fn run(program: &str, args: &[&str]) -> String {
    assert_protocol_unregistered(26, "a chapter 9 module");
    outcome(program, args)
}

#[test]
fn flood_without_a_module() {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch09-deferred-work --bin ch09-flood   # on the host, without a module",
    }, {
        insta::assert_snapshot!(
            "ch09-flood-without-module",
            run(env!("CARGO_BIN_EXE_ch09-flood"), &[])
        );
    });
}

#[test]
fn hostile_without_a_module() {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch09-deferred-work --bin ch09-hostile   # on the host, without a module",
    }, {
        insta::assert_snapshot!(
            "ch09-hostile-without-module",
            run(env!("CARGO_BIN_EXE_ch09-hostile"), &[])
        );
    });
}

#[test]
fn usage_errors_exit_with_status_2() {
    let flood = outcome(env!("CARGO_BIN_EXE_ch09-flood"), &["--clients", "0"]);
    assert!(flood.starts_with("exit status: 2\n"), "{flood}");
    assert!(
        flood.contains("--clients: a number from 1 to 64, not `0`"),
        "{flood}"
    );
    let hostile = outcome(env!("CARGO_BIN_EXE_ch09-hostile"), &["no-such-case"]);
    assert!(hostile.starts_with("exit status: 2\n"), "{hostile}");
    assert!(hostile.contains("no case `no-such-case`"), "{hostile}");
}
