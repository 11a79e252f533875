//! `ch02-bind`: choosing a port id yourself with `bind()`, and what the
//! kernel answers when the number is taken.
//!
//! Runs in a fresh network namespace of its own (root, or `unshare -Urn`).
//! The port ids it chooses (4242424 and the two after it) are its own
//! constants; the process id is never printed.

use std::process::ExitCode;

use anyhow::Result;
use ch02_addresses::in_fresh_netns;
use ch02_addresses::ports::{AUTOBIND_NEGATIVE, in_autobind_range, process_id, yes_no};
use nlbook_common::uapi::NETLINK_ROUTE;
use nlbook_common::{NlSocket, SysError, exit_code};

const PROGRAM: &str = "ch02-bind";

/// The port id the program binds explicitly, and two more. Above
/// PID_MAX_LIMIT (4194304), so never a process id: socket C below binds
/// the process id, which would collide with a small chosen number in the
/// one run out of many thousands where the process id is that number.
const CHOSEN: u32 = 4_242_424;

fn main() -> ExitCode {
    if let Err(usage) = nlbook_common::no_arguments(PROGRAM) {
        return nlbook_common::exit_code(PROGRAM, Err(usage));
    }
    exit_code(PROGRAM, in_fresh_netns(run))
}

/// "ok", or the errno a failed call set.
fn outcome(result: &Result<(), SysError>) -> String {
    match result {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.errno.to_string(),
    }
}

fn run() -> Result<()> {
    let pid = process_id();
    let usersock = || NlSocket::open(libc::NETLINK_USERSOCK);
    println!(
        "a fresh network namespace; protocol NETLINK_USERSOCK ({})",
        libc::NETLINK_USERSOCK
    );

    // ANCHOR: eaddrinuse
    let a = usersock()?;
    let bound = a.bind(CHOSEN, 0);
    println!("socket A, bind(nl_pid {CHOSEN}): {}", outcome(&bound));
    bound?;
    println!(
        "socket A, getsockname() says {CHOSEN}: {}",
        yes_no(a.portid()? == CHOSEN)
    );

    let b = usersock()?;
    println!(
        "socket B, bind(nl_pid {CHOSEN}): {}",
        outcome(&b.bind(CHOSEN, 0))
    );
    println!(
        "socket B, getsockname() after that failed bind() says {CHOSEN} all the same: {}",
        yes_no(b.portid()? == CHOSEN)
    );
    let retry = b.bind(CHOSEN + 1, 0);
    println!("socket B, bind(nl_pid {}): {}", CHOSEN + 1, outcome(&retry));
    retry?;
    // ANCHOR_END: eaddrinuse

    // ANCHOR: rebind
    println!(
        "socket A, a second bind(nl_pid {}), another port id: {}",
        CHOSEN + 2,
        outcome(&a.bind(CHOSEN + 2, 0))
    );
    println!(
        "socket A, a second bind(nl_pid 0), \"choose for me\", once bound: {}",
        outcome(&a.bind(0, 0))
    );
    // Its own port id again: accepted, and groups 1 to 32 become what
    // this call names, whatever the socket was in before.
    for groups in [0b101, 0b010, 0] {
        let rebound = a.bind(CHOSEN, groups);
        println!(
            "socket A, bind(nl_pid {CHOSEN}, nl_groups {groups:#x}), its own port id: {}; its groups are now {:#x}",
            outcome(&rebound),
            a.groups()?
        );
    }
    // ANCHOR_END: rebind

    // ANCHOR: take_the_pid
    let c = usersock()?;
    let took = c.bind(pid, 0);
    println!(
        "socket C, bind(nl_pid = our process id): {}",
        outcome(&took)
    );
    took?;
    let d = usersock()?;
    d.bind(0, 0)?;
    let d_port = d.portid()?;
    println!(
        "socket D, bind(nl_pid 0): port id == our process id: {}; in [{}, {}]: {}",
        yes_no(d_port == pid),
        AUTOBIND_NEGATIVE.start(),
        AUTOBIND_NEGATIVE.end(),
        yes_no(in_autobind_range(d_port))
    );
    let e = usersock()?;
    println!(
        "socket E, bind(nl_pid = our process id), as tutorials do for every socket: {}",
        outcome(&e.bind(pid, 0))
    );
    // ANCHOR_END: take_the_pid

    // ANCHOR: other_table
    let route = NlSocket::open(NETLINK_ROUTE)?;
    println!(
        "a NETLINK_ROUTE socket, bind(nl_pid {CHOSEN}): {} (another protocol, another table)",
        outcome(&route.bind(CHOSEN, 0))
    );
    // ANCHOR_END: other_table

    drop((a, b, c, d, e, route));
    Ok(())
}
