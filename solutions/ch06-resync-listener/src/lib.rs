//! Chapter 6 exercise: a listener that stays in step with the kernel.
//!
//! The listener keeps a table of the namespace's IPv4 addresses: a dump to
//! start, then the address events. Its receive buffer is small, so a burst
//! of changes overruns it: the kernel drops events, and the next `recv`
//! fails once with `ENOBUFS`. The events still queued are older than any
//! dump made now; a dump is the only way back to the truth.

pub mod route;

use std::collections::BTreeSet;
use std::io;

use route::{Addr, Change, RouteSocket};

/// What one [`Listener::read_queued`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Round {
    /// Every queued event was applied; nothing was lost.
    UpToDate,
    /// Events were lost: the queue was read to its end, then the table
    /// was replaced by a fresh dump.
    Resynced,
}

/// A table of the namespace's IPv4 addresses, kept in step with the kernel.
pub struct Listener {
    sock: RouteSocket,
    table: BTreeSet<Addr>,
}

impl Listener {
    /// Listen first, then dump: an address added in between shows up
    /// twice (in the dump and as an event), never not at all.
    pub fn start(rcvbuf: i32) -> io::Result<Listener> {
        let sock = RouteSocket::listen(rcvbuf)?;
        let table = route::dump()?;
        Ok(Listener { sock, table })
    }

    /// Read until nothing is queued, applying each change in order. After
    /// `ENOBUFS`, keep reading: the queued events are still good, and
    /// older than the dump that ends the round.
    pub fn read_queued(&mut self) -> io::Result<Round> {
        let mut lost = false;
        loop {
            match self.sock.recv_now() {
                Ok(Some(changes)) => {
                    for change in changes {
                        match change {
                            Change::Added(a) => self.table.insert(a),
                            Change::Removed(a) => self.table.remove(&a),
                        };
                    }
                }
                Ok(None) => break,
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => lost = true,
                Err(e) => return Err(e),
            }
        }
        if !lost {
            return Ok(Round::UpToDate);
        }
        self.table = route::dump()?;
        Ok(Round::Resynced)
    }

    /// The table as it stands.
    pub fn table(&self) -> &BTreeSet<Addr> {
        &self.table
    }
}
