//! IPv4 addresses on `lo`: what the chapter's dumps walk. A fresh network
//! namespace's `lo` is down and holds no IPv4 address, so after [`add_many`]
//! the dump holds exactly the addresses added. Adding is
//! `nlbook_common::address::add`: one acknowledged `RTM_NEWADDR`, on a
//! socket of its own.

use std::net::Ipv4Addr;

use anyhow::{Context, Result};
use nlbook_common::MsgBuilder;
use nlbook_common::address::{self, Addr, LO_INDEX, ifaddrmsg};
use nlbook_common::uapi::{NLM_F_DUMP, NLM_F_REQUEST, RTM_GETADDR};

/// The `n`-th address of the chapter's range, from 1, as `/32` on `lo`:
/// 10.12.0.1, 10.12.0.2, ... (256 per third octet).
pub fn nth(n: u32) -> Addr {
    Addr {
        ifindex: LO_INDEX,
        addr: Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 12, 0, 0)) + n),
        prefix: 32,
    }
}

/// Add addresses 1 to `n` of the range, one acknowledged request each.
pub fn add_many(n: u32) -> Result<()> {
    for i in 1..=n {
        address::add(nth(i)).with_context(|| format!("adding address {i} of {n}"))?;
    }
    Ok(())
}

/// An `RTM_GETADDR` dump request for every IPv4 address.
pub fn dump_request(seq: u32) -> Result<Vec<u8>> {
    Ok(
        MsgBuilder::new(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq)
            .fixed(&ifaddrmsg(0, 0))
            .finish()?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range() {
        assert_eq!(nth(1).addr, Ipv4Addr::new(10, 12, 0, 1));
        assert_eq!(nth(256).addr, Ipv4Addr::new(10, 12, 1, 0));
        assert_eq!(nth(1).to_string(), "10.12.0.1/32");
    }

    #[test]
    fn the_dump_request_is_a_whole_message() {
        assert_eq!(dump_request(1).unwrap().len(), 24);
    }
}
