//! Running a chapter's programs from its tests, the way a reader runs them.
//! Test support: these panic, naming the program and what it printed, when
//! a program does not do what the test needs.

// Test support: a panic, with its message, is how a test fails.
#![allow(clippy::panic)]

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

/// The kernels of the VM lab, by the names its snapshots use.
pub const LAB_KERNELS: [&str; 3] = ["6.1", "6.12", "debug"];

/// A VM-lab snapshot (`tests/snapshots/lab/<chapter>__<test>@<kernel>.snap`)
/// without its front matter, which names the kernel: the modules line, the
/// command line, the program's output, the outcome and the kernel log.
pub fn lab_snapshot(chapter: &str, test: &str, kernel: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/snapshots/lab")
        .join(format!("{chapter}__{test}@{kernel}.snap"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: record it with `cargo xtask lab --chapter {chapter} --accept`",
            path.display()
        )
    });
    let body = text
        .strip_prefix("---\n")
        .and_then(|rest| rest.find("\n---\n").map(|end| &rest[end + 5..]));
    match body {
        Some(body) => body.to_owned(),
        None => panic!("{}: no insta front matter", path.display()),
    }
}

/// The program's output in a VM-lab snapshot: the lines between the
/// command line (`$ ...`) and `# outcome:`, each ending in a newline.
pub fn lab_program_output(chapter: &str, test: &str, kernel: &str) -> String {
    lab_snapshot(chapter, test, kernel)
        .lines()
        .skip_while(|l| !l.starts_with("$ "))
        .skip(1)
        .take_while(|l| !l.starts_with("# outcome:"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// The text of a VM-lab snapshot (`tests/snapshots/lab/<name>.snap`, e.g.
/// `ch11-generic-netlink__kv-neli@6.1`) after its command line (`$ ...`):
/// the program's output, the outcome and the kernel log, which two programs
/// doing the same job must print alike. `None` if it is not recorded.
pub fn lab_snapshot_body(name: &str) -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/snapshots/lab")
        .join(format!("{name}.snap"));
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => panic!("{}: {e}", path.display()),
    };
    match text
        .split_once("\n$ ")
        .and_then(|(_, rest)| rest.split_once('\n'))
    {
        Some((_command, body)) => Some(body.to_owned()),
        None => panic!("{}: no command line (`$ ...`)", path.display()),
    }
}
