//! `ch11-kv-check`: the graded checks of exercise `ch11-kv-family`, run
//! against a student's NLBOOK_KV module in the VM lab. Each check works in
//! a fresh network namespace (so on a fresh store), prints what it did,
//! and exits with status 0 only if the family answered as `nlbook_kv.h`
//! says; otherwise its last line names the first answer that was wrong.
//!
//! ```text
//! ch11-kv-check requests   SET, GET and DEL, and their refusals
//! ch11-kv-check policy     malformed attributes refused, naming the attribute
//! ch11-kv-check dump       whole, in order, resumed, and marked when interrupted
//! ch11-kv-check wrap       GENERATION never 0, across the counter's wrap
//! ```

use std::process::ExitCode;

use anyhow::{Context, Result, bail, ensure};
use ch11_generic_netlink::genl_socket::{GenlError, GenlSocket};
use ch11_generic_netlink::kv::{
    ATTR_GENERATION, ATTR_KEY, ATTR_VALUE, CMD_DEL, CMD_GET, CMD_SET, Entry, FAMILY_NAME,
    FAMILY_VERSION, KEY_MAX,
};
use ch11_generic_netlink::nlctrl::get_family;
use nlbook_common::genl::{GenlMsgHdr, request};
use nlbook_common::rtattr::RtAttrIter;
use nlbook_common::uapi::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_MULTI, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR,
};
use nlbook_common::{Errno, MsgBuilder, NlMsgErr, NlMsgIter, UsageError};

const PROGRAM: &str = "ch11-kv-check";
const USAGE: &str = "usage: ch11-kv-check requests|policy|dump|wrap";

/// More entries than two datagrams of a dump hold.
const ENTRIES: u32 = 300;

/// The reader's buffer: one page, so a dump of `ENTRIES` takes several
/// datagrams, each built by its own pass.
const DUMP_BUFFER: usize = 4096;

/// How many changes the `wrap` check waits for the counter's last value:
/// the exercise's store starts 512 changes before it.
const WRAP_WITHIN: u32 = 1024;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let check: fn(&Kv) -> Result<()> = match args.as_slice() {
        [one] if one == "requests" => requests,
        [one] if one == "policy" => policy,
        [one] if one == "dump" => dump_check,
        [one] if one == "wrap" => wrap,
        _ => {
            let what = format!("expected one check, got {args:?}");
            return nlbook_common::usage_exit(PROGRAM, &UsageError::new(what, USAGE));
        }
    };
    let outcome = nlbook_common::in_fresh_netns(|| check(&Kv::open()?))
        .map_err(anyhow::Error::from)
        .and_then(|r| r);
    if outcome.is_ok() {
        println!("PASS");
    }
    nlbook_common::exit_code(PROGRAM, outcome)
}

/// A raw client of the family, resolved by name.
struct Kv {
    sock: GenlSocket,
    family: u16,
}

impl Kv {
    fn open() -> Result<Self> {
        let sock = GenlSocket::open()?;
        let family = get_family(&sock, FAMILY_NAME)
            .map_err(ch11_generic_netlink::without_module)?
            .id;
        Ok(Kv { sock, family })
    }

    /// A request with `NLM_F_ACK`, its attributes still to add.
    fn request(&self, cmd: u8) -> (MsgBuilder, u32) {
        let seq = self.sock.next_seq();
        let flags = NLM_F_REQUEST | NLM_F_ACK;
        (request(self.family, flags, seq, cmd, FAMILY_VERSION), seq)
    }

    /// Send a request and collect its answer (or the refusal).
    fn send(&self, (msg, seq): (MsgBuilder, u32)) -> Result<Vec<Entry>, GenlError> {
        let bytes = msg
            .finish()
            .map_err(|e| GenlError::Unexpected(e.to_string()))?;
        self.sock
            .transact(&bytes, seq)?
            .iter()
            .map(|m| Entry::parse(&m.attrs, 20).map_err(GenlError::Malformed))
            .collect()
    }

    fn set(&self, key: &str, value: u32) -> Result<()> {
        let (msg, seq) = self.request(CMD_SET);
        let msg = msg
            .attr_str(ATTR_KEY, key)
            .attr(ATTR_VALUE, &value.to_ne_bytes());
        let answer = self
            .send((msg, seq))
            .with_context(|| format!("SET {key}={value}"))?;
        ensure!(
            answer.is_empty(),
            "SET {key}={value}: answered {answer:?}, expected only the ACK"
        );
        Ok(())
    }

    fn get(&self, key: &str) -> Result<Entry, GenlError> {
        let (msg, seq) = self.request(CMD_GET);
        let answer = self.send((msg.attr_str(ATTR_KEY, key), seq))?;
        match <[Entry; 1]>::try_from(answer) {
            Ok([entry]) => Ok(entry),
            Err(answer) => Err(GenlError::Unexpected(format!(
                "GET {key}: {} messages before the ACK, expected 1",
                answer.len()
            ))),
        }
    }

    fn del(&self, key: &str) -> Result<(), GenlError> {
        let (msg, seq) = self.request(CMD_DEL);
        self.send((msg.attr_str(ATTR_KEY, key), seq)).map(drop)
    }
}

/// `what` must be refused with `errno`.
fn refused_with<T: std::fmt::Debug>(
    what: &str,
    answer: Result<T, GenlError>,
    errno: i32,
) -> Result<()> {
    match answer {
        Err(GenlError::Refused(r)) if r.errno == Errno(errno) => {
            println!("{what}: refused, {r}");
            Ok(())
        }
        Err(GenlError::Refused(r)) => bail!("{what}: refused with {r}, expected {}", Errno(errno)),
        Err(e) => bail!("{what}: {e}"),
        Ok(answer) => bail!("{what}: accepted ({answer:?}), expected {}", Errno(errno)),
    }
}

fn key(i: u32) -> String {
    format!("k{i:03}")
}

fn requests(kv: &Kv) -> Result<()> {
    kv.set("colour", 7)?;
    kv.set("size", 42)?;
    kv.set("colour", 9)?;
    println!("SET colour=7, size=42, colour=9: each ACKed");
    let colour = kv.get("colour").context("GET colour")?;
    ensure!(
        colour.key == "colour" && colour.value == 9,
        "GET colour answered {colour}, expected colour=9"
    );
    let size = kv.get("size").context("GET size")?;
    ensure!(
        size.value == 42 && size.generation == colour.generation,
        "GET size answered {size}, expected size=42 at the generation of {colour}"
    );
    println!("GET colour, GET size: 9 and 42, one generation");
    kv.del("size").context("DEL size")?;
    println!("DEL size: ACKed");
    let after = kv.get("colour").context("GET colour")?;
    ensure!(
        after.generation != colour.generation,
        "GET colour after DEL size: generation still {}: every change must bump it",
        after.generation
    );
    refused_with("GET size after its DEL", kv.get("size"), libc::ENOENT)?;
    refused_with("DEL size again", kv.del("size"), libc::ENOENT)?;
    let (msg, seq) = kv.request(CMD_SET);
    refused_with(
        "SET without VALUE",
        kv.send((msg.attr_str(ATTR_KEY, "colour"), seq)),
        libc::EINVAL,
    )?;
    let (msg, seq) = kv.request(CMD_GET);
    refused_with("GET without KEY", kv.send((msg, seq)), libc::EINVAL)?;
    Ok(())
}

/// A SET whose attributes the family's policy must refuse, naming the
/// attribute at fault (by its offset in the request).
fn refused_by_policy(kv: &Kv, what: &str, attrs: &[(u16, &[u8])], at_fault: u16) -> Result<()> {
    let (mut msg, seq) = kv.request(CMD_SET);
    for (kind, payload) in attrs {
        msg = msg.attr(*kind, payload);
    }
    match kv.send((msg, seq)) {
        Err(GenlError::Refused(r)) if r.attr_at_offset == Some(at_fault) => {
            println!("{what}: refused, {r}");
            Ok(())
        }
        Err(GenlError::Refused(r)) => bail!(
            "{what}: refused with {r}, but the extended ACK must point at attribute {at_fault} \
             (the policy does that)"
        ),
        Err(e) => bail!("{what}: {e}"),
        Ok(_) => bail!("{what}: accepted; the policy must refuse it"),
    }
}

fn policy(kv: &Kv) -> Result<()> {
    let longest = "k".repeat(KEY_MAX);
    kv.set(&longest, 1)?;
    println!("SET with a KEY of {KEY_MAX} bytes: ACKed");
    let value = 5u32.to_ne_bytes();
    let wide = 5u64.to_ne_bytes();
    let with_nul = |s: &str| [s.as_bytes(), &[0]].concat();
    let too_long = with_nul(&"k".repeat(KEY_MAX + 1));
    // What is sent, its attributes, the attribute at fault.
    type Refusal<'a> = (&'a str, Vec<(u16, &'a [u8])>, u16);
    let refusals: [Refusal; 6] = [
        (
            "SET, KEY of 32 bytes",
            vec![(ATTR_KEY, &too_long), (ATTR_VALUE, &value)],
            ATTR_KEY,
        ),
        (
            "SET, KEY without its NUL",
            vec![(ATTR_KEY, b"abcd"), (ATTR_VALUE, &value)],
            ATTR_KEY,
        ),
        (
            "SET, VALUE as a u16",
            vec![(ATTR_KEY, b"short\0"), (ATTR_VALUE, &[5, 0])],
            ATTR_VALUE,
        ),
        (
            "SET, VALUE as a u64",
            vec![(ATTR_KEY, b"wide\0"), (ATTR_VALUE, &wide)],
            ATTR_VALUE,
        ),
        (
            "SET, GENERATION from user space",
            vec![
                (ATTR_KEY, b"forged\0"),
                (ATTR_VALUE, &value),
                (ATTR_GENERATION, &value),
            ],
            ATTR_GENERATION,
        ),
        (
            "SET, attribute type 4 (unknown)",
            vec![(ATTR_KEY, b"extra\0"), (ATTR_VALUE, &value), (4, &value)],
            4,
        ),
    ];
    for (what, attrs, at_fault) in &refusals {
        refused_by_policy(kv, what, attrs, *at_fault)?;
    }
    for key in ["abcd", "short", "wide", "forged", "extra"] {
        refused_with(
            &format!("GET {key} (its SET was refused)"),
            kv.get(key),
            libc::ENOENT,
        )?;
    }
    Ok(())
}

/// What a dump held: its entries in order, how many were marked, and
/// whether `NLMSG_DONE` was.
#[derive(Default)]
struct Dump {
    entries: Vec<Entry>,
    datagrams: usize,
    marked: usize,
    done_marked: bool,
}

/// Dump the store one datagram at a time, checking every message's
/// framing; `between` runs after the first datagram.
fn dump(kv: &Kv, mut between: impl FnMut() -> Result<()>) -> Result<Dump> {
    let reader = GenlSocket::open()?;
    let seq = reader.next_seq();
    let flags = NLM_F_REQUEST | NLM_F_DUMP;
    reader.send(&request(kv.family, flags, seq, CMD_GET, FAMILY_VERSION).finish()?)?;
    let portid = reader.socket().portid()?;
    let mut d = Dump::default();
    loop {
        let bytes = reader
            .recv_datagram(DUMP_BUFFER)
            .context("reading the dump")?;
        d.datagrams += 1;
        for msg in NlMsgIter::new(&bytes) {
            let msg = msg?;
            let h = msg.header;
            let at = format!("dump message {}", d.entries.len() + 1);
            ensure!(
                h.nlmsg_seq == seq && h.nlmsg_pid == portid,
                "{at}: seq {} and port id {}, expected the request's {seq} and the reader's {portid}",
                h.nlmsg_seq,
                h.nlmsg_pid
            );
            let marked = h.nlmsg_flags & NLM_F_DUMP_INTR != 0;
            match h.nlmsg_type {
                NLMSG_DONE => {
                    d.done_marked = marked;
                    return Ok(d);
                }
                NLMSG_ERROR => bail!("the dump failed: {:?}", NlMsgErr::parse(&msg)?.errno()),
                kind => {
                    ensure!(
                        kind == kv.family,
                        "{at}: type {kind}, expected the family's id"
                    );
                    ensure!(
                        h.nlmsg_flags & NLM_F_MULTI != 0,
                        "{at}: no NLM_F_MULTI (every message of a dump carries it)"
                    );
                    let (genl, attrs) = GenlMsgHdr::parse(&msg)?;
                    ensure!(
                        genl.cmd == CMD_GET,
                        "{at}: command {}, expected GET",
                        genl.cmd
                    );
                    let attrs = RtAttrIter::new(attrs)
                        .map(|a| a.map(|a| (a.kind(), a.payload)))
                        .collect::<Result<Vec<_>, _>>()?;
                    let entry = Entry::from_attrs(attrs).map_err(anyhow::Error::msg)?;
                    ensure!(
                        entry.generation != 0,
                        "{at}: {entry}: GENERATION is never 0"
                    );
                    d.entries.push(entry);
                    d.marked += usize::from(marked);
                }
            }
        }
        if d.datagrams == 1 {
            between()?;
        }
    }
}

/// A dump nothing changed under must hold exactly `keys`, unmarked.
fn whole(what: &str, d: &Dump, keys: &[String]) -> Result<()> {
    let got: Vec<&str> = d.entries.iter().map(|e| e.key.as_str()).collect();
    if got != keys {
        let first_wrong = got
            .iter()
            .zip(keys)
            .position(|(g, k)| g != k)
            .unwrap_or(got.len().min(keys.len()));
        bail!(
            "{what}: {} entries, expected {} in key order, each once; they differ from entry {} on \
             ({:?} where {:?} belongs)",
            got.len(),
            keys.len(),
            first_wrong + 1,
            got.get(first_wrong),
            keys.get(first_wrong)
        );
    }
    ensure!(
        d.marked == 0 && !d.done_marked,
        "{what}: marked NLM_F_DUMP_INTR although nothing changed"
    );
    println!(
        "{what}: {} entries in {} datagrams, in key order, unmarked",
        got.len(),
        d.datagrams
    );
    Ok(())
}

/// A dump with a DEL of `victim` after its first datagram: the reader
/// must be told (some message, or NLMSG_DONE, marked).
fn interrupted(kv: &Kv, victim: &str) -> Result<()> {
    let d = dump(kv, || {
        kv.del(victim).with_context(|| format!("DEL {victim}"))
    })?;
    ensure!(
        d.datagrams > 2,
        "a dump of {ENTRIES} entries came in {} datagrams of at most {DUMP_BUFFER} bytes: each \
         pass must stop when its skb is full",
        d.datagrams
    );
    ensure!(
        d.marked > 0 || d.done_marked,
        "a dump that a DEL changed after its first datagram: no message marked NLM_F_DUMP_INTR \
         (each pass must tell the core the store's generation)"
    );
    println!(
        "a dump with DEL {victim} after datagram 1: {} message(s) marked NLM_F_DUMP_INTR{}",
        d.marked,
        if d.done_marked {
            ", NLMSG_DONE too"
        } else {
            ""
        }
    );
    Ok(())
}

fn fill(kv: &Kv) -> Result<Vec<String>> {
    let keys: Vec<String> = (0..ENTRIES).map(key).collect();
    for (i, k) in (0..).zip(&keys) {
        kv.set(k, i)?;
    }
    println!("SET {}..{}: each ACKed", keys[0], keys[keys.len() - 1]);
    Ok(keys)
}

fn dump_check(kv: &Kv) -> Result<()> {
    whole("a dump of the empty store", &dump(kv, || Ok(()))?, &[])?;
    let mut keys = fill(kv)?;
    whole("a dump, nothing changing", &dump(kv, || Ok(()))?, &keys)?;
    for (i, entry) in (0..).zip(&dump(kv, || Ok(()))?.entries) {
        ensure!(entry.value == i, "dump: {entry}, expected the value {i}");
    }
    interrupted(kv, &keys[0])?;
    keys.remove(0);
    whole(
        "the dump again, nothing changing",
        &dump(kv, || Ok(()))?,
        &keys,
    )?;
    Ok(())
}

fn wrap(kv: &Kv) -> Result<()> {
    let keys = fill(kv)?;
    let first = &keys[0];
    let mut generation = kv.get(first)?.generation;
    let mut changes = 0;
    while generation != u32::MAX {
        ensure!(
            changes < WRAP_WITHIN,
            "GENERATION did not reach {:#x} within {WRAP_WITHIN} changes (it is {generation:#x}): \
             a store starts at KV_FIRST_GENERATION",
            u32::MAX
        );
        kv.set(first, 0)?;
        generation = kv.get(first)?.generation;
        changes += 1;
    }
    println!("after {changes} more SETs, GENERATION is {generation:#x}");
    kv.set(first, 0)?;
    let after = kv.get(first)?.generation;
    ensure!(
        after != 0,
        "one more SET made GENERATION 0: it must never be 0 (nl_dump_check_consistent() reads 0 \
         as \"no generation\", and the next dump's change goes unmarked)"
    );
    println!("one more SET: GENERATION {after:#x}, not 0");
    interrupted(kv, &keys[1])
}
