//! The module clients on a machine without the chapter's modules, such as
//! this project's host, whose kernel cannot load modules: 30 and 32 give the
//! same error, and 31 stops with where the module runs.

use nlbook_common::programs::{assert_protocol_unregistered, outcome};

#[test]
fn max_links_without_the_module() {
    assert_protocol_unregistered(31, "max_links.ko");
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch08-protocol-numbers --bin ch08-max-links   # on the host, without the module",
    }, {
        insta::assert_snapshot!(
            "ch08-max-links-without-module",
            outcome(env!("CARGO_BIN_EXE_ch08-max-links"), &[])
        );
    });
}

#[test]
fn claim_check_without_the_module() {
    assert_protocol_unregistered(31, "claim.ko");
    let shown = outcome(env!("CARGO_BIN_EXE_ch08-claim-check"), &["serves"]);
    assert!(shown.starts_with("exit status: 1\n"), "{shown}");
    assert!(shown.contains("claim.ko did not claim it"), "{shown}");
    // Nothing holds NETLINK_USERSOCK's port 0 without a module either.
    let shown = outcome(env!("CARGO_BIN_EXE_ch08-claim-check"), &["usersock"]);
    assert!(shown.starts_with("exit status: 0\n"), "{shown}");
    let shown = outcome(env!("CARGO_BIN_EXE_ch08-claim-check"), &["nonsense"]);
    assert!(
        shown.contains("usage: ch08-claim-check serves|reasons|usersock"),
        "{shown}"
    );
}
