//! The module's client on a machine without the module, such as this
//! project's host, whose kernel cannot load modules: it stops at socket()
//! and says what to do.

use std::process::Command;

use nlbook_common::{Errno, NlSocket};

#[test]
fn listeners_without_the_module() {
    match NlSocket::open(28) {
        Err(e) => assert_eq!(e.errno, Errno(libc::EPROTONOSUPPORT), "{e}"),
        Ok(_) => panic!("protocol 28 is registered here: is group_listeners loaded?"),
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ch04-listeners"))
        .output()
        .expect("the program runs");
    assert!(out.stdout.is_empty());
    let report = format!(
        "exit status: {}\nstderr:\n{}",
        out.status
            .code()
            .map_or("none".to_owned(), |c| c.to_string()),
        String::from_utf8_lossy(&out.stderr)
    );
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch04-nl-table --bin ch04-listeners   # on the host, without the module",
    }, {
        insta::assert_snapshot!("ch04-listeners-without-module", report);
    });
}
