//! The test_bit table, as the book shows it: pure arithmetic, the same on
//! every machine.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used, clippy::panic)]

use std::process::Command;

fn output(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ch04-test-bit"))
        .args(args)
        .output()
        .expect("the program runs")
}

#[test]
fn test_bit_table() {
    let out = output(&[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch04-nl-table --bin ch04-test-bit",
    }, {
        insta::assert_snapshot!("ch04-test-bit", String::from_utf8_lossy(&out.stdout));
    });
}

#[test]
fn a_bad_argument_is_refused() {
    let out = output(&["forty"]);
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ch04-test-bit: error: not a group number: \"forty\"\nusage: ch04-test-bit [GROUP...]\n"
    );
}
