//! The resynchronising listener's run, written once for every
//! implementation of the listener (`ch06-resync` with raw calls,
//! `ch06-resync-rust-netlink` with the rust-netlink crates): two addresses,
//! a listener with the floor for a buffer, 16 addresses added while it does
//! not read, one deletion while it keeps up, and its table checked against a
//! fresh dump. Adding, deleting and the final check use the raw calls of
//! [`crate::addr`]; only the listener differs.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use anyhow::{Result, bail};

use crate::addr::{self, Addr};

/// Addresses added while the listener does not read.
pub const ADDED: u8 = 16;

/// The listener's receive buffer: the floor, so that events are lost.
pub const LISTENER_RCVBUF: i32 = 1024;

/// What one round of reading did.
pub enum Round {
    /// Events were applied; the queue is empty.
    UpToDate,
    /// The kernel reported lost events; the table was rebuilt.
    Resynced {
        /// Events applied after the loss was reported.
        drained: usize,
        /// What the fresh dump had and the table did not.
        added: Vec<Addr>,
        /// What the table had and the fresh dump did not.
        removed: Vec<Addr>,
    },
}

/// A listener that keeps a table of the namespace's IPv4 addresses.
pub trait ResyncListener: Sized {
    /// Join `RTNLGRP_IPV4_IFADDR` with a receive buffer of `rcvbuf`, then
    /// dump the addresses into the table.
    fn start(rcvbuf: i32) -> Result<Self>;
    /// Read everything queued; on ENOBUFS, drain the queue and dump again.
    fn read_queued(&mut self) -> Result<Round>;
    /// The table as it stands.
    fn table(&self) -> &BTreeSet<Addr>;
    /// Events applied so far.
    fn applied(&self) -> usize;
    /// Resynchronisations so far.
    fn resyncs(&self) -> usize;
}

/// The addresses of a round, in one line.
fn list(addrs: &[Addr]) -> String {
    match addrs {
        [] => "none".into(),
        [one] => one.to_string(),
        [first, .., last] => format!("{} ({first} .. {last})", addrs.len()),
    }
}

/// The run, in a fresh network namespace the caller made; the report.
pub fn run<L: ResyncListener>() -> Result<String> {
    let mut out = String::new();
    macro_rules! say {
        ($($arg:tt)*) => { let _ = writeln!(out, $($arg)*); };
    }
    say!("NETLINK_ROUTE in a fresh network namespace");
    addr::add(addr::demo_addr(0, 1))?;
    addr::add(addr::demo_addr(0, 2))?;
    let mut listener = L::start(LISTENER_RCVBUF)?;
    let table: Vec<Addr> = listener.table().iter().copied().collect();
    say!(
        "listener: group RTNLGRP_IPV4_IFADDR, SO_RCVBUF {LISTENER_RCVBUF}; the first dump: {}",
        list(&table)
    );

    let burst: Vec<Addr> = (1..=ADDED).map(|n| addr::demo_addr(1, n)).collect();
    for a in &burst {
        addr::add(*a)?;
    }
    say!("added while the listener did not read: {}", list(&burst));

    match listener.read_queued()? {
        Round::UpToDate => {
            say!("read: every event arrived; nothing to resynchronise");
        }
        Round::Resynced {
            drained,
            added,
            removed,
        } => {
            say!("read: ENOBUFS (105): events were lost");
            say!("  applied the {drained} events still queued, then dumped again");
            say!(
                "  the dump added {}, removed {}",
                list(&added),
                list(&removed)
            );
        }
    }

    // Back to normal: a change while the listener keeps up.
    let gone = addr::demo_addr(1, 1);
    addr::delete(gone)?;
    let round = listener.read_queued()?;
    say!(
        "deleted {gone}, read: {}",
        match round {
            Round::UpToDate => "the event arrived, applied",
            Round::Resynced { .. } => "lost again, resynchronised",
        }
    );

    let kernel = addr::dump()?;
    let table = listener.table();
    say!(
        "table: {} addresses, {} events applied, {} resync; the kernel's dump: {} addresses, {}",
        table.len(),
        listener.applied(),
        listener.resyncs(),
        kernel.len(),
        if kernel == *table {
            "the same"
        } else {
            "DIFFERENT"
        }
    );
    if kernel != *table {
        bail!("the listener's table differs from the kernel's");
    }
    Ok(out)
}
