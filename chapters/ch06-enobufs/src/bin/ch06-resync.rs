//! `ch06-resync`: the pattern a daemon should use. A listener keeps a table
//! of the IPv4 addresses in its network namespace: one dump to start, then
//! the `RTNLGRP_IPV4_IFADDR` events. When `recv` says `ENOBUFS`, events were
//! lost and the table can no longer be trusted: it drains what is queued,
//! dumps again and reconciles.
//!
//! To lose events on purpose, the listener's buffer is the floor and 16
//! addresses are added to `lo` while it does not read. Runs in a fresh
//! network namespace (root, or `unshare -Urn`).

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ch06_enobufs::addr::{self, Addr, Event, RTNLGRP_IPV4_IFADDR};
use ch06_enobufs::queue::{Recv, try_recv};
use ch06_enobufs::rcvbuf::set_rcvbuf;
use ch06_enobufs::resync::{self, ResyncListener, Round};
use nlbook_common::membership::group_mask;
use nlbook_common::uapi::NETLINK_ROUTE;
use nlbook_common::{Errno, NlMsgIter, NlSocket, exit_code, in_fresh_netns};

// ANCHOR: listener
/// A table of addresses kept in step with the kernel.
struct AddrListener {
    sock: NlSocket,
    table: BTreeSet<Addr>,
    applied: usize,
    resyncs: usize,
}

impl AddrListener {
    fn apply(&mut self, datagram: &[u8]) -> Result<()> {
        for msg in NlMsgIter::new(datagram) {
            match addr::decode(&msg?).context("an address event")? {
                Some(Event::New(a)) => {
                    self.table.insert(a);
                }
                Some(Event::Del(a)) => {
                    self.table.remove(&a);
                }
                None => continue,
            }
            self.applied += 1;
        }
        Ok(())
    }
}

impl ResyncListener for AddrListener {
    fn start(rcvbuf: i32) -> Result<Self> {
        let sock = NlSocket::open(NETLINK_ROUTE)?;
        set_rcvbuf(&sock, rcvbuf)?;
        // Join first, then dump: an address that appears in between shows
        // up twice (dump and event), never not at all.
        let groups = group_mask(RTNLGRP_IPV4_IFADDR).context("group 5 has a bit")?;
        sock.bind(0, groups)?;
        sock.set_recv_timeout(Duration::from_secs(5))?;
        let table = addr::dump()?;
        Ok(AddrListener {
            sock,
            table,
            applied: 0,
            resyncs: 0,
        })
    }

    /// Read everything queued. On ENOBUFS: read on to the end of the queue
    /// (those events are older than any dump), then replace the table with
    /// a fresh dump and say what the lost events would have changed.
    fn read_queued(&mut self) -> Result<Round> {
        let mut lost = false;
        let mut drained = 0;
        loop {
            match try_recv(&self.sock, 16 * 1024) {
                Recv::Datagram { bytes, len } => {
                    if len > bytes.len() {
                        bail!("an event did not fit in {} bytes", bytes.len());
                    }
                    self.apply(&bytes)?;
                    drained += usize::from(lost);
                }
                Recv::Error(Errno(libc::ENOBUFS)) => lost = true,
                Recv::Error(e) => bail!("recv: {e}"),
                Recv::Empty => break,
            }
        }
        if !lost {
            return Ok(Round::UpToDate);
        }
        self.resyncs += 1;
        let fresh = addr::dump()?;
        let added = fresh.difference(&self.table).copied().collect();
        let removed = self.table.difference(&fresh).copied().collect();
        self.table = fresh;
        Ok(Round::Resynced {
            drained,
            added,
            removed,
        })
    }

    fn table(&self) -> &BTreeSet<Addr> {
        &self.table
    }

    fn applied(&self) -> usize {
        self.applied
    }

    fn resyncs(&self) -> usize {
        self.resyncs
    }
}
// ANCHOR_END: listener

fn main() -> std::process::ExitCode {
    if let Err(usage) = nlbook_common::no_arguments("ch06-resync") {
        return nlbook_common::exit_code("ch06-resync", Err(usage));
    }
    let result = in_fresh_netns(resync::run::<AddrListener>)
        .map_err(anyhow::Error::from)
        .and_then(|r| r)
        .map(|out| print!("{out}"));
    exit_code("ch06-resync", result)
}
