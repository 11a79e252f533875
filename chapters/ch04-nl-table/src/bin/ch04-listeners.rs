//! `ch04-listeners`: join and leave groups of the chapter module's protocol
//! (28) step by step, and after each step print what the module sees:
//! `netlink_has_listeners()` for every group. Runs in the VM lab, as root,
//! with `group_listeners.ko` loaded:
//!
//! ```text
//! cargo xtask lab --chapter ch04-nl-table --test listeners
//! ```
//!
//! Sockets are named A, B, C, U; their port ids never appear in the output,
//! which is the same on every run.

use std::process::ExitCode;

use anyhow::{Context, Result, ensure};
use ch04_nl_table::groups::{Groups, hex_words, nl_groups_bit};
use ch04_nl_table::listeners::{
    self, Client, EVENT, LISTENERS_GROUPS, LISTENERS_PROTOCOL, MULTICAST, QUERY,
};
use ch04_nl_table::membership::list_memberships;
use nlbook_common::membership::{MembershipError, join_group as join, leave_group as leave};
use nlbook_common::{Errno, NlMsgIter, NlSocket, exit_code};

const PROGRAM: &str = "ch04-listeners";

fn main() -> ExitCode {
    if let Err(usage) = nlbook_common::no_arguments(PROGRAM) {
        return nlbook_common::exit_code(PROGRAM, Err(usage));
    }
    exit_code(PROGRAM, run())
}

/// The module's view: the groups `netlink_has_listeners()` reports.
fn module_view(client: &mut Client) -> Result<Groups> {
    let (ngroups, groups) = client.query()?;
    ensure!(
        ngroups == LISTENERS_GROUPS,
        "the module reports {ngroups} groups, expected {LISTENERS_GROUPS}"
    );
    Ok(groups)
}

/// `groups 1,3,40`, or `no group`.
fn list(groups: &Groups) -> String {
    if groups.is_empty() {
        "no group".to_owned()
    } else {
        format!("groups {groups}")
    }
}

fn show_module(client: &mut Client) -> Result<()> {
    println!(
        "  module: netlink_has_listeners() is true for {}",
        list(&module_view(client)?)
    );
    Ok(())
}

/// What NETLINK_LIST_MEMBERSHIPS says about one socket.
fn show_member(name: &str, sock: &NlSocket) -> Result<()> {
    let m = list_memberships(sock)?;
    println!(
        "  {name}: NETLINK_LIST_MEMBERSHIPS {} -> {}",
        hex_words(&m.words),
        list(&m.groups())
    );
    Ok(())
}

/// The result of a join that the kernel must refuse.
fn show_refused(what: &str, result: Result<(), MembershipError>) -> Result<()> {
    match result {
        Ok(()) => anyhow::bail!("{what} succeeded, but the kernel should refuse it"),
        Err(e) => println!("  {what}: {}", e.errno()),
    }
    Ok(())
}

/// Drain `sock` without blocking and describe what was queued: the events
/// the module multicast. It multicasts before it replies, so by the time
/// the reply arrived, every copy was queued.
fn received(sock: &NlSocket) -> Result<String> {
    let mut groups = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        // SAFETY: buf is valid for writes of its length.
        let n = unsafe {
            libc::recv(
                std::os::fd::AsRawFd::as_raw_fd(sock),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT | libc::MSG_TRUNC,
            )
        };
        let Ok(n) = usize::try_from(n) else {
            match Errno::last() {
                Errno(libc::EINTR) => continue,
                Errno(libc::EAGAIN) => break,
                e => anyhow::bail!("recv: {e}"),
            }
        };
        // With MSG_TRUNC, n is the datagram's real size.
        let datagram = buf
            .get(..n)
            .with_context(|| format!("a datagram of {n} bytes, larger than any event"))?;
        for msg in NlMsgIter::new(datagram) {
            let msg = msg?;
            ensure!(
                msg.header.nlmsg_type == EVENT,
                "a message of type {:#x}",
                msg.header.nlmsg_type
            );
            let p: [u8; 4] = msg
                .payload
                .try_into()
                .context("an event without its group")?;
            groups.push(u32::from_ne_bytes(p));
        }
    }
    Ok(match groups.as_slice() {
        [] => "nothing".to_owned(),
        [g] => format!("1 event, for group {g}"),
        many => format!("{} events", many.len()),
    })
}

fn step(n: u32, what: &str) {
    println!("step {n}: {what}");
}

// ANCHOR: run
fn run() -> Result<()> {
    let mut client = Client::new()?;
    println!(
        "protocol {LISTENERS_PROTOCOL} (group_listeners.ko): {LISTENERS_GROUPS} groups; \
         Q asks the module, A, B, C and U join and leave"
    );
    show_module(&mut client)?;

    let a = listeners::open()?;
    let b = listeners::open()?;
    let c = listeners::open()?;

    let mask = [1, 3]
        .iter()
        .filter_map(|&g| nl_groups_bit(g))
        .fold(0, |m, b| m | b);
    step(1, &format!("A: bind() with nl_groups {mask:#010x}"));
    a.bind(0, mask)
        .map_err(|e| MembershipError::classify(e, 1))?;
    show_member("A", &a)?;
    show_module(&mut client)?;

    step(2, "B: bind(), then setsockopt(NETLINK_ADD_MEMBERSHIP, 40)");
    b.bind(0, 0)?;
    join(&b, 40)?;
    show_member("B", &b)?;
    show_module(&mut client)?;

    step(3, "C: bind(), then setsockopt(NETLINK_ADD_MEMBERSHIP, 3)");
    c.bind(0, 0)?;
    join(&c, 3)?;
    show_member("C", &c)?;
    show_module(&mut client)?;

    step(4, "A: setsockopt(NETLINK_DROP_MEMBERSHIP, 3)");
    leave(&a, 3)?;
    show_member("A", &a)?;
    show_module(&mut client)?;

    step(5, "C: close()");
    drop(c);
    show_module(&mut client)?;

    let a_portid = a.portid()?;
    let mask = nl_groups_bit(3).context("group 3 has an nl_groups bit")?;
    step(
        6,
        &format!("A: bind() again, same port id, nl_groups {mask:#010x}"),
    );
    a.bind(a_portid, mask)
        .map_err(|e| MembershipError::classify(e, 3))?;
    show_member("A", &a)?;
    show_module(&mut client)?;

    step(
        7,
        "B: setsockopt(NETLINK_ADD_MEMBERSHIP, 64), then 65, then 0",
    );
    join(&b, 64)?;
    show_refused("NETLINK_ADD_MEMBERSHIP 65", join(&b, 65))?;
    show_refused("NETLINK_ADD_MEMBERSHIP 0", join(&b, 0))?;
    show_member("B", &b)?;
    show_module(&mut client)?;

    step(8, "the module multicasts to group 40");
    show_multicast(&mut client, 40)?;
    println!("  B received: {}", received(&b)?);
    println!("  A received: {}", received(&a)?);

    let u = listeners::open()?;
    step(9, "U: setsockopt(NETLINK_ADD_MEMBERSHIP, 7), never bound");
    join(&u, 7)?;
    println!("  U: port id {}", u.portid()?);
    show_member("U", &u)?;
    show_module(&mut client)?;

    step(10, "the module multicasts to group 7");
    show_multicast(&mut client, 7)?;
    println!("  U received: {}", received(&u)?);

    step(11, "U: bind() with nl_groups 0");
    u.bind(0, 0)?;
    println!(
        "  U: port id {}",
        if u.portid()? == 0 { "0" } else { "assigned" }
    );
    show_member("U", &u)?;
    show_module(&mut client)?;

    step(
        12,
        "U: setsockopt(NETLINK_ADD_MEMBERSHIP, 7) again, then the module multicasts to 7",
    );
    join(&u, 7)?;
    show_member("U", &u)?;
    show_multicast(&mut client, 7)?;
    println!("  U received: {}", received(&u)?);

    step(13, "requests the module refuses");
    show_rejected(
        client.request(QUERY, &[0; 4]),
        "a query with a 4-byte payload",
    )?;
    show_rejected(
        client.request(MULTICAST, &[40, 0]),
        "a multicast request of 2 bytes",
    )?;
    show_rejected(
        client.request(MULTICAST, &65u32.to_ne_bytes()),
        "a multicast request for group 65",
    )?;

    step(14, "A, B and U: close()");
    drop((a, b, u));
    show_module(&mut client)?;
    Ok(())
}
// ANCHOR_END: run

fn show_multicast(client: &mut Client, group: u32) -> Result<()> {
    let r = client.multicast(group)?;
    ensure!(r.group == group, "a reply about group {}", r.group);
    let result = match r.result {
        0 => "0 (delivered)".to_owned(),
        e => format!("-{} (nobody got it)", Errno(e.saturating_neg())),
    };
    println!(
        "  module: netlink_has_listeners({group}) = {}, nlmsg_multicast() = {result}",
        u8::from(r.has_listeners)
    );
    Ok(())
}

fn show_rejected(result: Result<Vec<u8>, listeners::ModuleError>, what: &str) -> Result<()> {
    match result {
        Ok(_) => anyhow::bail!("{what} was accepted, but the module should refuse it"),
        Err(e @ listeners::ModuleError::Rejected { .. }) => println!("  {what}: {e}"),
        Err(e) => return Err(e.into()),
    }
    Ok(())
}
