//! Every program of the workbook fails with a clear message and a non-zero
//! exit status, on this host, for real: without capabilities, without its
//! kernel module, with its receive queue overrun, and waiting for a module
//! that never answers. Each run happens in a fresh network namespace, so
//! nothing here touches the host's.
//!
//! The programs are built by `cargo build` from the test (the same target
//! directory and profile): binaries of other crates have no
//! `CARGO_BIN_EXE_` here.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nlbook_common::membership::group_mask;
use nlbook_common::{Errno, MsgBuilder, NlSocket, in_fresh_netns, procfs};

/// One program, and what it must say when each condition stops it.
struct Program {
    name: &'static str,
    /// Arguments that make it do its real work.
    args: &'static [&'static str],
    /// Run without any capability: what stderr must contain, or `None`
    /// when the program needs no privilege and must succeed.
    no_caps: Option<&'static [&'static str]>,
    /// Run as root on this host, whose kernel has none of the workbook's
    /// modules: what stderr must contain, or `None` when the program needs
    /// no module and must succeed.
    no_module: Option<&'static [&'static str]>,
}

const NETNS: &[&str] = &["CAP_SYS_ADMIN", "unshare -Urn"];

/// `EPROTONOSUPPORT` for the module's protocol, the module, and the lab
/// command that loads it.
macro_rules! module {
    ($protocol:literal, $module:literal, $chapter:literal) => {
        &[
            concat!(
                "socket(AF_NETLINK, SOCK_RAW, ",
                $protocol,
                ") failed: EPROTONOSUPPORT"
            ),
            $module,
            concat!("cargo xtask lab --chapter ", $chapter),
        ]
    };
}

const ECHO: &[&str] = module!(30, "echo", "ch01-hello-netlink");
const ADDRESSES: &[&str] = module!(29, ".ko", "ch02-addresses");
const DEFERRED: &[&str] = module!(26, "chapter-9 module", "ch09-deferred-work");
/// The exercise's module, which the exercise command loads.
const CLAIM: &[&str] = &[
    "socket(AF_NETLINK, SOCK_RAW, 31) failed: EPROTONOSUPPORT",
    "claim.ko",
    "cargo xtask exercise ch08-claim-a-number",
];
const MCAST_TIMER: &[&str] = &[
    "no greeting within 5 s",
    "EAGAIN",
    "mcast_timer.ko",
    "cargo xtask lab --chapter ch03-multicast",
];
const NLBOOK_KV: &[&str] = &[
    "no generic netlink family \"NLBOOK_KV\"",
    "nlbook_kv.ko",
    "cargo xtask lab --chapter ch11-generic-netlink",
];

const PROGRAMS: &[Program] = &[
    Program {
        name: "ch01-echo-check",
        args: &[],
        no_caps: Some(ECHO),
        no_module: Some(ECHO),
    },
    Program {
        name: "ch01-echo-neli",
        args: &[],
        no_caps: Some(ECHO),
        no_module: Some(ECHO),
    },
    Program {
        name: "ch01-echo-raw",
        args: &[],
        no_caps: Some(ECHO),
        no_module: Some(ECHO),
    },
    Program {
        name: "ch01-links-neli",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch01-links-rust-netlink",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch01-links-raw",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch02-autobind",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch02-bind",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch02-kernel-port",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch02-registered-raw",
        args: &[],
        no_caps: Some(ADDRESSES),
        no_module: Some(ADDRESSES),
    },
    Program {
        name: "ch02-unicast",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch02-whoami-neli",
        args: &[],
        no_caps: Some(ADDRESSES),
        no_module: Some(ADDRESSES),
    },
    Program {
        name: "ch02-whoami-raw",
        args: &[],
        no_caps: Some(ADDRESSES),
        no_module: Some(ADDRESSES),
    },
    Program {
        name: "ch03-groups",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch03-listener-neli",
        args: &[],
        no_caps: Some(&["joining group 22", "CAP_NET_ADMIN", "unshare -Urn"]),
        no_module: Some(MCAST_TIMER),
    },
    Program {
        name: "ch03-listener-raw",
        args: &[],
        no_caps: Some(&["bind(AF_NETLINK", "EPERM", "CAP_NET_ADMIN", "unshare -Urn"]),
        no_module: Some(MCAST_TIMER),
    },
    Program {
        name: "ch03-matrix",
        args: &[],
        no_caps: Some(&["root"]),
        no_module: None,
    },
    Program {
        name: "ch03-namespaces",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch03-usersock",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch04-inspect",
        args: &["--demo"],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch04-inspect-neli",
        args: &["--demo"],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch04-listeners",
        args: &[],
        no_caps: Some(module!(28, "group_listeners", "ch04-nl-table")),
        no_module: Some(module!(28, "group_listeners", "ch04-nl-table")),
    },
    // Arithmetic on group numbers: no socket, no privilege.
    Program {
        name: "ch04-test-bit",
        args: &[],
        no_caps: None,
        no_module: None,
    },
    Program {
        name: "ch05-netdev-listener",
        args: &[],
        no_caps: Some(NETNS),
        no_module: Some(module!(27, "netdev_events", "ch05-events")),
    },
    Program {
        name: "ch05-sa-monitor",
        args: &[],
        no_caps: Some(NETNS),
        no_module: Some(&["no ESP", "cargo xtask lab --chapter ch05-events"]),
    },
    Program {
        name: "ch05-sa-monitor-rust-netlink",
        args: &[],
        no_caps: Some(NETNS),
        no_module: Some(&["no ESP", "cargo xtask lab --chapter ch05-events"]),
    },
    Program {
        name: "ch06-burst",
        args: &[],
        no_caps: Some(module!(23, "burst_sender.ko", "ch06-enobufs")),
        no_module: Some(module!(23, "burst_sender.ko", "ch06-enobufs")),
    },
    Program {
        name: "ch06-neli",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch06-overrun",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch06-resync",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        // The exercise's judge: what it needs is a listener program, which
        // the lab hands it; here it is missing.
        name: "ch06-resync-judge",
        args: &["first-dump", "/nonexistent/ch06-resync-listener"],
        no_caps: Some(NETNS),
        no_module: Some(&[
            "starting the listener /nonexistent/ch06-resync-listener",
            "No such file or directory",
        ]),
    },
    Program {
        name: "ch06-resync-rust-netlink",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch06-uevent",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch07-listener",
        args: &[],
        no_caps: Some(&[
            "NETLINK_ADD_MEMBERSHIP",
            "EPERM",
            "CAP_NET_ADMIN",
            "unshare -Urn",
        ]),
        no_module: Some(&[
            "no greeting on group 22 within 5 s",
            "gfp_kernel.ko",
            "cargo xtask lab --chapter ch07-atomic-context",
        ]),
    },
    Program {
        name: "ch08-claim-check",
        args: &["serves"],
        no_caps: Some(CLAIM),
        no_module: Some(CLAIM),
    },
    Program {
        name: "ch08-max-links",
        args: &[],
        no_caps: Some(module!(31, "max_links.ko", "ch08-protocol-numbers")),
        no_module: Some(module!(31, "max_links.ko", "ch08-protocol-numbers")),
    },
    // socket() for every number: the answers are the report, not a failure.
    Program {
        name: "ch08-probe",
        args: &[],
        no_caps: None,
        no_module: None,
    },
    Program {
        name: "ch09-failslab",
        args: &["--thread", "nlbook_deferred"],
        no_caps: Some(DEFERRED),
        no_module: Some(DEFERRED),
    },
    Program {
        name: "ch09-flood",
        args: &[],
        no_caps: Some(DEFERRED),
        no_module: Some(DEFERRED),
    },
    Program {
        name: "ch09-hostile",
        args: &[],
        no_caps: Some(DEFERRED),
        no_module: Some(DEFERRED),
    },
    Program {
        name: "ch09-overrun",
        args: &[],
        no_caps: Some(DEFERRED),
        no_module: Some(DEFERRED),
    },
    Program {
        name: "ch10-client",
        args: &[],
        no_caps: Some(module!(25, "kthread_ported.ko", "ch10-porting-legacy")),
        no_module: Some(module!(25, "kthread_ported.ko", "ch10-porting-legacy")),
    },
    Program {
        name: "ch11-dump-intr",
        args: &[],
        no_caps: Some(NETNS),
        no_module: Some(NLBOOK_KV),
    },
    Program {
        name: "ch11-kv-check",
        args: &["requests"],
        no_caps: Some(NETNS),
        no_module: Some(NLBOOK_KV),
    },
    Program {
        name: "ch11-kv-neli",
        args: &[],
        no_caps: Some(NETNS),
        no_module: Some(NLBOOK_KV),
    },
    Program {
        name: "ch11-kv-rust-netlink",
        args: &[],
        no_caps: Some(NETNS),
        no_module: Some(NLBOOK_KV),
    },
    Program {
        name: "ch11-nlctrl",
        args: &["resolve", "NLBOOK_KV"],
        no_caps: Some(NETNS),
        no_module: Some(&[
            "no generic netlink family \"NLBOOK_KV\"",
            "is the module loaded?",
        ]),
    },
    Program {
        name: "ch12-acks",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch12-buffers",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch12-dumps",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch12-flags",
        args: &[],
        no_caps: Some(NETNS),
        no_module: None,
    },
    Program {
        name: "ch13-bench",
        args: &["--impl", "raw", "--case", "pingpong", "--messages", "10"],
        no_caps: Some(NETNS),
        no_module: None,
    },
];

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| panic!("tests/ has no parent"), Path::to_path_buf)
}

/// The programs, by their source files: `chapters/*/src/bin/*.rs`.
fn programs_on_disk() -> Vec<String> {
    let mut names = Vec::new();
    let chapters = std::fs::read_dir(workspace_root().join("chapters"))
        .unwrap_or_else(|e| panic!("chapters/: {e}"));
    for chapter in chapters.map(|entry| entry.unwrap_or_else(|e| panic!("chapters/: {e}"))) {
        let Ok(bins) = std::fs::read_dir(chapter.path().join("src/bin")) else {
            continue; // a crate without programs (common)
        };
        for bin in bins.map(|entry| entry.unwrap_or_else(|e| panic!("src/bin: {e}"))) {
            let path = bin.path();
            if path.extension().is_some_and(|e| e == "rs")
                && let Some(stem) = path.file_stem()
            {
                names.push(stem.to_string_lossy().into_owned());
            }
        }
    }
    names.sort();
    names
}

/// Builds every chapter's programs once, and returns the directory that
/// holds them (next to this test's own `deps/` directory).
fn bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut build = Command::new(env!("CARGO"));
        build
            .current_dir(workspace_root())
            .args(["build", "--bins"]);
        let chapters = std::fs::read_dir(workspace_root().join("chapters"))
            .unwrap_or_else(|e| panic!("chapters/: {e}"));
        for chapter in chapters.map(|entry| entry.unwrap_or_else(|e| panic!("chapters/: {e}"))) {
            if chapter.path().join("src/bin").is_dir() {
                build.args(["-p", &chapter.file_name().to_string_lossy()]);
            }
        }
        let status = build
            .status()
            .unwrap_or_else(|e| panic!("cannot run cargo build: {e}"));
        assert!(status.success(), "building the programs failed: {status}");
        let exe = std::env::current_exe().unwrap_or_else(|e| panic!("current_exe: {e}"));
        let deps = exe
            .parent()
            .unwrap_or_else(|| panic!("{} has no parent", exe.display()));
        let dir = deps
            .parent()
            .unwrap_or_else(|| panic!("{} has no parent", deps.display()));
        dir.to_path_buf()
    })
}

fn program_path(name: &str) -> PathBuf {
    let path = bin_dir().join(name);
    assert!(path.is_file(), "{} was not built", path.display());
    path
}

/// `setpriv`, which the capability-less runs need: util-linux has it.
fn setpriv() -> &'static str {
    let path = "/usr/bin/setpriv";
    assert!(
        Path::new(path).is_file(),
        "{path} is missing: install util-linux (`apt-get install util-linux`)"
    );
    path
}

/// Runs `name` in a fresh network namespace of its own and waits for it:
/// with every capability dropped when `no_caps` (the bounding set emptied, so
/// that even uid 0 gets none at `execve`), as this test runs otherwise.
fn run_in_fresh_netns(name: &str, args: &[&str], no_caps: bool) -> Output {
    let path = program_path(name);
    in_fresh_netns(|| {
        let mut cmd = if no_caps {
            let mut cmd = Command::new(setpriv());
            cmd.args([
                "--bounding-set=-all",
                "--inh-caps=-all",
                "--ambient-caps=-all",
                "--",
            ])
            .arg(&path);
            cmd
        } else {
            Command::new(&path)
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {name}: {e}"))
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The program failed with exit status 1, and its stderr starts with
/// `name: error: ` and names every one of `needles`.
fn assert_fails_saying(name: &str, condition: &str, out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{name} {condition}: exit status {}, stderr:\n{stderr}",
        out.status
    );
    assert!(
        stderr.starts_with(&format!("{name}: error: ")),
        "{name} {condition}: stderr does not start with `{name}: error: `:\n{stderr}"
    );
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{name} {condition}: stderr does not say {needle:?}:\n{stderr}"
        );
    }
}

fn assert_succeeds(name: &str, condition: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{name} {condition}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_table_covers_every_program() {
    let mut listed: Vec<String> = PROGRAMS.iter().map(|p| p.name.to_owned()).collect();
    listed.sort();
    assert_eq!(
        listed,
        programs_on_disk(),
        "add the new program to PROGRAMS, with what it says when it fails"
    );
}

#[test]
fn without_capabilities_every_program_names_what_it_lacks() {
    // Each program alone takes up to a second; together they run in turn.
    for program in PROGRAMS {
        let out = run_in_fresh_netns(program.name, program.args, true);
        match program.no_caps {
            Some(needles) => {
                assert_fails_saying(program.name, "without capabilities", &out, needles);
            }
            None => assert_succeeds(program.name, "without capabilities", &out),
        }
    }
}

#[test]
fn without_their_modules_the_clients_name_the_module_and_the_lab() {
    let threads: Vec<_> = PROGRAMS
        .iter()
        .map(|program| {
            // In parallel: the listeners wait 5 s for a module that is not there.
            std::thread::spawn(move || {
                let out = run_in_fresh_netns(program.name, program.args, false);
                (program, out)
            })
        })
        .collect();
    for thread in threads {
        let (program, out) = thread
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        match program.no_module {
            Some(needles) => {
                assert_fails_saying(program.name, "without its module", &out, needles);
            }
            None => assert_succeeds(program.name, "on this host", &out),
        }
    }
}

#[test]
fn a_protocol_number_without_a_module_is_unregistered_here() {
    // The precondition of the table's module cases: this host's kernel
    // registers none of the workbook's numbers.
    for (protocol, module) in [
        (23, "burst_sender.ko"),
        (25, "kthread_ported.ko"),
        (26, "a chapter-9 module"),
        (27, "netdev_events.ko"),
        (28, "group_listeners.ko"),
        (29, "whoami.ko"),
        (30, "echo.ko"),
        (31, "max_links.ko"),
    ] {
        nlbook_common::programs::assert_protocol_unregistered(protocol, module);
    }
}

#[test]
fn usage_errors_exit_2_with_a_usage_line() {
    for program in PROGRAMS {
        let out = Command::new(program_path(program.name))
            .arg("--no-such-option")
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.name));
        let stderr = String::from_utf8_lossy(&out.stderr);
        // ch01-echo-raw/-neli take any words as the texts to send.
        if program.name == "ch01-echo-raw" || program.name == "ch01-echo-neli" {
            continue;
        }
        assert_eq!(
            out.status.code(),
            Some(2),
            "{} --no-such-option: exit status {}, stderr:\n{stderr}",
            program.name,
            out.status
        );
        assert!(
            stderr.starts_with(&format!("{}: error: ", program.name)) && stderr.contains("usage: "),
            "{} --no-such-option: no usage line:\n{stderr}",
            program.name
        );
        assert!(out.stdout.is_empty(), "{}: printed to stdout", program.name);
    }
}

/// Waits until a socket of `protocol` in this thread's namespace has
/// joined `group` (1 to 32), as `/proc/net/netlink` shows it.
fn wait_for_listener(protocol: u8, group: u32, listener: &mut Child) {
    let mask = group_mask(group).unwrap_or_else(|| panic!("group {group} has no bit"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let entries = procfs::read().unwrap_or_else(|e| panic!("{e}"));
        if entries
            .iter()
            .any(|e| e.protocol == protocol && e.groups & mask != 0)
        {
            return;
        }
        if let Ok(Some(status)) = listener.try_wait() {
            panic!("the listener exited before joining group {group}: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "no socket joined group {group} within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: libc::c_int) {
    let pid = libc::pid_t::try_from(child.id()).unwrap_or_else(|e| panic!("pid: {e}"));
    // SAFETY: kill takes no pointers; pid is our own child, not yet reaped.
    let rc = unsafe { libc::kill(pid, sig) };
    assert_eq!(
        rc,
        0,
        "kill({pid}, {sig}): {}",
        std::io::Error::last_os_error()
    );
}

#[test]
fn a_listener_overrun_says_messages_were_lost() {
    // ch07-listener reads NETLINK_USERSOCK group 22. It is stopped once it
    // has joined, this test multicasts many more greetings than its queue
    // holds, and it is continued: its next recv() reports ENOBUFS, which
    // outside its --stall-ms experiment is a failure.
    let path = program_path("ch07-listener");
    let out = in_fresh_netns(|| {
        let mut listener = Command::new(&path)
            .args(["--rcvbuf", "1024", "--messages", "1000"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run ch07-listener: {e}"));
        wait_for_listener(2, 22, &mut listener);
        signal(&listener, libc::SIGSTOP);
        let sender = NlSocket::open(libc::NETLINK_USERSOCK).unwrap_or_else(|e| panic!("{e}"));
        let group = group_mask(22).unwrap_or_else(|| panic!("group 22 has no bit"));
        for seq in 0..200 {
            let greeting = MsgBuilder::new(0x10, 0, seq)
                .fixed(b"hello from kernel!\0")
                .finish()
                .unwrap_or_else(|e| panic!("{e}"));
            // The multicast is delivered first; then netlink_sendmsg()
            // tries port 0 too, which nobody holds on NETLINK_USERSOCK.
            match sender.send_to(&greeting, 0, group) {
                Ok(_) => {}
                Err(e) if e.errno == Errno(libc::ECONNREFUSED) => {}
                Err(e) => panic!("{e}"),
            }
        }
        signal(&listener, libc::SIGCONT);
        listener
            .wait_with_output()
            .unwrap_or_else(|e| panic!("ch07-listener: {e}"))
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_fails_saying(
        "ch07-listener",
        "overrun",
        &out,
        &[
            "recvmsg(AF_NETLINK",
            "ENOBUFS (105)",
            "hint: messages were lost",
            "receive buffer was full",
            "SO_RCVBUF",
            "resynchronise with a dump",
            "chapter 6",
        ],
    );
}
