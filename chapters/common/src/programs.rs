//! Running a chapter's programs from its tests, the way a reader runs them.
//! Test support: these panic, naming the program and what it printed, when
//! a program does not do what the test needs.

use std::process::{Command, Output};

use crate::{Errno, NlSocket};

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// What a program that must succeed printed: its stdout. It must exit 0
/// and write nothing to stderr.
pub fn stdout_of_success(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{program} failed ({}): {stderr}",
        out.status
    );
    assert!(stderr.is_empty(), "{program} wrote to stderr: {stderr}");
    String::from_utf8(out.stdout).unwrap_or_else(|e| panic!("{program} printed non-UTF-8: {e}"))
}

/// How a program ended, as a snapshot shows it: exit status, stdout, stderr.
pub fn outcome(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
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

/// A snapshot of a client "without its module" is only right where no
/// kernel socket serves `protocol`: here that is the host, whose kernel
/// cannot load modules.
pub fn assert_protocol_unregistered(protocol: i32, module: &str) {
    match NlSocket::open(protocol) {
        Err(e) => assert_eq!(e.errno, Errno(libc::EPROTONOSUPPORT), "{e}"),
        Ok(_) => {
            panic!("protocol {protocol} is registered on this machine: is {module} loaded here?")
        }
    }
}
