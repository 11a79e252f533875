//! The echo clients on a machine without the echo module, such as this
//! project's host, whose kernel cannot load modules: both stop at `socket()`
//! and say what to do.

use std::process::Command;

use nlbook_common::{Errno, NlSocket};

fn run(program: &str, args: &[&str]) -> String {
    // The snapshot is only right where protocol 30 has no kernel socket.
    if let Err(e) = NlSocket::open(30) {
        assert_eq!(e.errno, Errno(libc::EPROTONOSUPPORT), "{e}");
    } else {
        panic!("protocol 30 is registered on this machine: is the echo module loaded here?");
    }
    let out = Command::new(program)
        .args(args)
        .output()
        .expect("the program runs");
    let show = |bytes: &[u8]| match String::from_utf8_lossy(bytes) {
        s if s.is_empty() => " (nothing)\n".to_owned(),
        s => format!("\n{s}"),
    };
    format!(
        "exit status: {}\nstdout:{}stderr:{}",
        out.status
            .code()
            .map_or("none".to_owned(), |c| c.to_string()),
        show(&out.stdout),
        show(&out.stderr),
    )
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
