//! `ch11-dump-intr`: a dump of NLBOOK_KV that the store changes under, in
//! a fresh network namespace, with raw sockets.
//!
//! A writer stores 300 entries; a reader starts a dump and reads it one
//! datagram at a time; after the first datagram the writer deletes the
//! first entry. The first message built after that change carries
//! `NLM_F_DUMP_INTR`, and the dump is indeed wrong: it still shows the
//! deleted entry and misses another. A second dump, with no change under
//! it, is whole and unmarked.
//!
//! It needs the module, so it runs in the VM lab:
//!
//! ```text
//! cargo xtask lab --chapter ch11-generic-netlink --test dump-intr
//! ```

use std::collections::BTreeSet;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use ch11_generic_netlink::genl_socket::GenlSocket;
use ch11_generic_netlink::kv::{
    ATTR_KEY, ATTR_VALUE, CMD_DEL, CMD_GET, CMD_SET, Entry, FAMILY_NAME, FAMILY_VERSION,
};
use ch11_generic_netlink::nlctrl::get_family;
use nlbook_common::genl::{GenlMsgHdr, request};
use nlbook_common::rtattr::RtAttrIter;
use nlbook_common::uapi::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR,
};
use nlbook_common::{NlMsgErr, NlMsgIter};

const PROGRAM: &str = "ch11-dump-intr";

/// More entries than two datagrams of a dump hold.
const ENTRIES: u32 = 300;

/// The reader's buffer: one page. The kernel sizes a dump's datagrams to
/// the reader's buffer (at least about a page), so each one fits.
const DUMP_BUFFER: usize = 4096;

fn main() -> ExitCode {
    nlbook_common::main_in_fresh_netns(PROGRAM, run)
}

fn key(i: u32) -> String {
    format!("k{i:03}")
}

/// SET or DEL one key and wait for the ACK.
fn change(sock: &GenlSocket, family: u16, cmd: u8, key: &str, value: Option<u32>) -> Result<()> {
    let seq = sock.next_seq();
    let mut msg = request(family, NLM_F_REQUEST | NLM_F_ACK, seq, cmd, FAMILY_VERSION)
        .attr_str(ATTR_KEY, key);
    if let Some(v) = value {
        msg = msg.attr(ATTR_VALUE, &v.to_ne_bytes());
    }
    sock.transact(&msg.finish()?, seq)
        .with_context(|| format!("changing {key}"))?;
    Ok(())
}

/// What one datagram of the dump held.
struct Datagram {
    keys: Vec<String>,
    interrupted: usize,
    done: Option<bool>, // Some(NLM_F_DUMP_INTR on NLMSG_DONE)
}

fn read_datagram(reader: &GenlSocket, seq: u32) -> Result<Datagram> {
    let bytes = reader.recv_datagram(DUMP_BUFFER)?;
    let mut d = Datagram {
        keys: Vec::new(),
        interrupted: 0,
        done: None,
    };
    for msg in NlMsgIter::new(&bytes) {
        let msg = msg?;
        if msg.header.nlmsg_seq != seq {
            bail!("a message of seq {} in dump {seq}", msg.header.nlmsg_seq);
        }
        let intr = msg.header.nlmsg_flags & NLM_F_DUMP_INTR != 0;
        match msg.header.nlmsg_type {
            NLMSG_DONE => d.done = Some(intr),
            NLMSG_ERROR => bail!("the dump failed: {:?}", NlMsgErr::parse(&msg)?.errno()),
            _ => {
                let (_, attrs) = GenlMsgHdr::parse(&msg)?;
                let attrs = RtAttrIter::new(attrs)
                    .map(|a| a.map(|a| (a.kind(), a.payload)))
                    .collect::<Result<Vec<_>, _>>()?;
                let entry = Entry::from_attrs(attrs).map_err(anyhow::Error::msg)?;
                d.keys.push(entry.key);
                d.interrupted += usize::from(intr);
            }
        }
    }
    Ok(d)
}

fn describe(n: usize, d: &Datagram) -> String {
    let range = match (d.keys.first(), d.keys.last()) {
        (Some(a), Some(b)) => format!("{:>2} entries {a}..{b}", d.keys.len()),
        _ => "no entries".to_owned(),
    };
    let done = match d.done {
        Some(true) => ", NLMSG_DONE marked",
        Some(false) => ", NLMSG_DONE",
        None => "",
    };
    format!(
        "datagram {n}: {range}, {} marked NLM_F_DUMP_INTR{done}",
        d.interrupted
    )
}

// ANCHOR: dump
/// Dump the store one datagram at a time; `between` runs after the first.
fn dump(
    reader: &GenlSocket,
    family: u16,
    mut between: impl FnMut() -> Result<()>,
) -> Result<Vec<String>> {
    let seq = reader.next_seq();
    let req = request(
        family,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        CMD_GET,
        FAMILY_VERSION,
    )
    .finish()?;
    reader.send(&req)?;
    let mut keys = Vec::new();
    for n in 1.. {
        let d = read_datagram(reader, seq)?;
        println!("  {}", describe(n, &d));
        keys.extend(d.keys);
        if d.done.is_some() {
            break;
        }
        if n == 1 {
            between()?;
        }
    }
    Ok(keys)
}
// ANCHOR_END: dump

fn run() -> Result<()> {
    let writer = GenlSocket::open()?;
    let family = get_family(&writer, FAMILY_NAME)
        .map_err(ch11_generic_netlink::without_module)?
        .id;
    for i in 0..ENTRIES {
        change(&writer, family, CMD_SET, &key(i), Some(i))?;
    }
    println!(
        "the writer stored {ENTRIES} entries, {}..{}",
        key(0),
        key(ENTRIES - 1)
    );

    let reader = GenlSocket::open()?;
    println!(
        "a dump, read with a {DUMP_BUFFER}-byte buffer; after datagram 1 the writer deletes k000:"
    );
    let seen = dump(&reader, family, || {
        change(&writer, family, CMD_DEL, &key(0), None)?;
        println!("  (writer: DEL k000)");
        Ok(())
    })?;

    let seen_set: BTreeSet<&str> = seen.iter().map(String::as_str).collect();
    let now: Vec<String> = (1..ENTRIES).map(key).collect();
    let missed: Vec<&str> = now
        .iter()
        .map(String::as_str)
        .filter(|k| !seen_set.contains(k))
        .collect();
    let stale = seen_set.contains(key(0).as_str());
    println!(
        "that dump: {} entries; deleted k000 {}; missed: {}",
        seen.len(),
        if stale { "included" } else { "absent" },
        if missed.is_empty() {
            "none".to_owned()
        } else {
            missed.join(" ")
        }
    );

    println!("the same dump again, nothing changing:");
    let again = dump(&reader, family, || Ok(()))?;
    println!(
        "that dump: {} entries, {}",
        again.len(),
        if again == now {
            "exactly the store"
        } else {
            "NOT the store"
        }
    );
    Ok(())
}
