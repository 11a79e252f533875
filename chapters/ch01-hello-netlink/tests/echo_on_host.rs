//! The echo clients on a machine without the echo module, such as this
//! project's host, whose kernel cannot load modules: both stop at `socket()`
//! and say what to do.

use nlbook_common::programs::{assert_protocol_unregistered, outcome};

fn run(program: &str, args: &[&str]) -> String {
    assert_protocol_unregistered(30, "the echo module");
    outcome(program, args)
}

#[test]
fn echo_raw_without_the_module() {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch01-hello-netlink --bin ch01-echo-raw   # on the host, without the module",
    }, {
        insta::assert_snapshot!(
            "ch01-echo-raw-without-module",
            run(env!("CARGO_BIN_EXE_ch01-echo-raw"), &[])
        );
    });
}

#[test]
fn echo_neli_without_the_module() {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch01-hello-netlink --bin ch01-echo-neli -- hello again   # on the host, without the module",
    }, {
        insta::assert_snapshot!(
            "ch01-echo-neli-without-module",
            run(env!("CARGO_BIN_EXE_ch01-echo-neli"), &["hello", "again"])
        );
    });
}
