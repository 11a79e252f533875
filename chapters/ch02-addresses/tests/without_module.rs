//! The module clients on a machine without the chapter's modules, such as
//! this project's host, whose kernel cannot load modules: they stop at
//! `socket()` and say where the modules run.

use nlbook_common::programs::{assert_protocol_unregistered, outcome};

fn run(program: &str) -> String {
    assert_protocol_unregistered(29, "a chapter-2 module");
    outcome(program, &[])
}

#[test]
fn whoami_raw_without_the_module() {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch02-addresses --bin ch02-whoami-raw   # on the host, without the module",
    }, {
        insta::assert_snapshot!(
            "ch02-whoami-raw-without-module",
            run(env!("CARGO_BIN_EXE_ch02-whoami-raw"))
        );
    });
}

#[test]
fn registered_raw_without_the_module() {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch02-addresses --bin ch02-registered-raw   # on the host, without the module",
    }, {
        insta::assert_snapshot!(
            "ch02-registered-raw-without-module",
            run(env!("CARGO_BIN_EXE_ch02-registered-raw"))
        );
    });
}

#[test]
fn whoami_neli_without_the_module() {
    // neli's error path says the same as the raw client's.
    let raw = run(env!("CARGO_BIN_EXE_ch02-whoami-raw"));
    let neli = run(env!("CARGO_BIN_EXE_ch02-whoami-neli"));
    assert_eq!(neli, raw.replace("ch02-whoami-raw", "ch02-whoami-neli"));
}
