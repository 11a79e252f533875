//! The module clients on a machine without the chapter's modules, such as
//! this project's host, whose kernel cannot load modules: they stop at
//! `socket()` and say where the modules run.

use std::process::Command;

use nlbook_common::{Errno, NlSocket};

fn run(program: &str) -> String {
    // The snapshot is only right where protocol 29 has no kernel socket.
    match NlSocket::open(29) {
        Err(e) => assert_eq!(e.errno, Errno(libc::EPROTONOSUPPORT), "{e}"),
        Ok(_) => panic!("protocol 29 is registered on this machine: is a chapter-2 module loaded?"),
    }
    let out = Command::new(program).output().expect("the program runs");
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
