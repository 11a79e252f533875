//! The client on a machine without the module, such as this project's
//! host, whose kernel cannot load modules: it stops at `socket()` and says
//! where the module runs.

use nlbook_common::programs::{assert_protocol_unregistered, outcome};

#[test]
fn client_without_the_module() {
    assert_protocol_unregistered(25, "kthread_ported.ko");
    insta::with_settings!({
        snapshot_path => "snapshots",
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch10-porting-legacy --bin ch10-client   # on the host, without the module",
    }, {
        insta::assert_snapshot!(
            "ch10-client-without-module",
            outcome(env!("CARGO_BIN_EXE_ch10-client"), &[])
        );
    });
}
