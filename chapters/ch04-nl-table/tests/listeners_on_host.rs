//! The module's client on a machine without the module, such as this
//! project's host, whose kernel cannot load modules: it stops at socket()
//! and says what to do.

use nlbook_common::programs::{assert_protocol_unregistered, outcome};

#[test]
fn listeners_without_the_module() {
    assert_protocol_unregistered(28, "group_listeners");
    let report = outcome(env!("CARGO_BIN_EXE_ch04-listeners"), &[]);
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch04-nl-table --bin ch04-listeners   # on the host, without the module",
    }, {
        insta::assert_snapshot!("ch04-listeners-without-module", report);
    });
}
