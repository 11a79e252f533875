//! `ch02-autobind`: which port ids the kernel hands out when a program
//! binds with `nl_pid = 0`, or never binds at all.
//!
//! Runs in a fresh network namespace of its own (root, or `unshare -Urn`),
//! so no other program's sockets get in the way. Prints facts, never a port
//! id: the kernel's choices are the process id and random numbers.

use std::process::ExitCode;

use anyhow::Result;
use ch02_addresses::in_fresh_netns;
use ch02_addresses::ports::{AUTOBIND_NEGATIVE, in_autobind_range, process_id, yes_no};
use nlbook_common::uapi::NETLINK_ROUTE;
use nlbook_common::{NlSocket, exit_code};

const PROGRAM: &str = "ch02-autobind";

fn main() -> ExitCode {
    if let Err(usage) = nlbook_common::no_arguments(PROGRAM) {
        return nlbook_common::exit_code(PROGRAM, Err(usage));
    }
    exit_code(PROGRAM, in_fresh_netns(run))
}

fn run() -> Result<()> {
    let pid = process_id();
    let range = format!(
        "[{}, {}]",
        AUTOBIND_NEGATIVE.start(),
        AUTOBIND_NEGATIVE.end()
    );
    println!(
        "a fresh network namespace; protocol NETLINK_USERSOCK ({})",
        libc::NETLINK_USERSOCK
    );

    // ANCHOR: unbound
    let unbound = NlSocket::open(libc::NETLINK_USERSOCK)?;
    println!(
        "new socket, before bind(): getsockname() says port id 0: {}",
        yes_no(unbound.portid()? == 0)
    );
    // ANCHOR_END: unbound

    // ANCHOR: first_second
    let first = NlSocket::open(libc::NETLINK_USERSOCK)?;
    first.bind(0, 0)?; // nl_pid 0: "kernel, choose"
    let first_port = first.portid()?;
    println!(
        "socket 1, bind(nl_pid 0): port id == our process id: {}",
        yes_no(first_port == pid)
    );

    let second = NlSocket::open(libc::NETLINK_USERSOCK)?;
    second.bind(0, 0)?;
    let second_port = second.portid()?;
    println!(
        "socket 2, bind(nl_pid 0): port id == our process id: {}; negative, in {range}: {}",
        yes_no(second_port == pid),
        yes_no(in_autobind_range(second_port))
    );
    // ANCHOR_END: first_second

    // ANCHOR: third
    let third = NlSocket::open(libc::NETLINK_USERSOCK)?;
    third.bind(0, 0)?;
    let third_port = third.portid()?;
    println!(
        "socket 3, bind(nl_pid 0): in {range}: {}; socket 2's port id minus one: {}",
        yes_no(in_autobind_range(third_port)),
        yes_no(third_port as i32 == (second_port as i32).wrapping_sub(1))
    );
    // ANCHOR_END: third

    // ANCHOR: implicit
    // No bind() at all: netlink_sendmsg() autobinds a socket that is not
    // bound yet. Sending to socket 1 (user to user, allowed on USERSOCK).
    let sender = NlSocket::open(libc::NETLINK_USERSOCK)?;
    let before = sender.portid()?;
    sender.send_to(&[0u8; 16], first_port, 0)?;
    let after = sender.portid()?;
    println!(
        "socket 4, never bound: port id 0 before its first sendmsg(): {}; in {range} after it: {}",
        yes_no(before == 0),
        yes_no(in_autobind_range(after))
    );
    // ANCHOR_END: implicit

    // ANCHOR: tables
    let route = NlSocket::open(NETLINK_ROUTE)?;
    route.bind(0, 0)?;
    println!(
        "a NETLINK_ROUTE socket, bind(nl_pid 0): port id == our process id: {} \
         (each protocol has a table of its own)",
        yes_no(route.portid()? == pid)
    );

    let elsewhere = nlbook_common::in_fresh_netns(|| -> Result<bool> {
        let s = NlSocket::open(libc::NETLINK_USERSOCK)?;
        s.bind(0, 0)?;
        Ok(s.portid()? == pid)
    })??;
    println!(
        "a NETLINK_USERSOCK socket in another fresh namespace: port id == our process id: {} \
         (each namespace too)",
        yes_no(elsewhere)
    );
    // ANCHOR_END: tables

    // ANCHOR: reuse
    drop(first);
    let again = NlSocket::open(libc::NETLINK_USERSOCK)?;
    again.bind(0, 0)?;
    println!(
        "socket 1 closed; socket 5, bind(nl_pid 0): port id == our process id: {} \
         (the number is free again)",
        yes_no(again.portid()? == pid)
    );
    // ANCHOR_END: reuse

    // Keep every socket open until here, so each one above held its port id.
    drop((unbound, second, third, sender, route, again));
    Ok(())
}
