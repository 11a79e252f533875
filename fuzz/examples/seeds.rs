//! Writes the seed corpora under `fuzz/corpus/<target>/`: real messages,
//! taken from the VM lab's recorded runs (the XFRM events chapter 5's
//! snapshots show byte by byte) and built the way the kernel and the
//! chapters' modules build them. Run from `fuzz/`:
//! `cargo run --example seeds`.

use std::fs;
use std::path::Path;

use ch04_nl_table::diag::{NETLINK_DIAG_FLAGS, NETLINK_DIAG_GROUPS, NETLINK_DIAG_MEMINFO};
use ch04_nl_table::groups::{Groups, LongLayout};
use ch05_events::netdev::EVENT_LEN;
use nlbook_common::genl::{
    CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_MAXATTR, CTRL_ATTR_MCAST_GROUPS,
    CTRL_ATTR_MCAST_GRP_ID, CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_VERSION, CTRL_CMD_NEWFAMILY,
    GENL_ID_CTRL,
};
use nlbook_common::uapi::{
    IFA_ADDRESS, IFA_LOCAL, NLA_F_NESTED, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_MULTI, NLM_F_REQUEST,
    NLMSG_DONE, NLMSG_ERROR, NLMSGERR_ATTR_MISS_TYPE, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS,
    RTM_NEWADDR,
};
use nlbook_common::{MsgBuilder, NLMSG_HDRLEN};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let xfrm = snapshot_hex_dumps(&root.join("../tests/snapshots/lab"))?;
    let errors = error_messages()?;
    let family = family_attrs()?;
    let entry = kv_attrs()?;
    let diag = diag_payloads();
    let mut replies = Vec::new();
    replies.extend(errors.iter().cloned());
    replies.push(address_event()?);
    replies.push(done_message(0));
    replies.push(
        MsgBuilder::new(0x11, 0, 1)
            .fixed(&7u32.to_ne_bytes())
            .finish()?,
    );
    replies.push(bench_message(0x1_0000_0002));
    replies.push(text_reply(b"remind me\0")?);
    replies.push(
        b"add@/devices/virtual/mem/null\0ACTION=add\0DEVPATH=/devices/virtual/mem/null\0\
          SUBSYSTEM=mem\0SEQNUM=1234\0"
            .to_vec(),
    );

    let mut nlmsg: Vec<Vec<u8>> = xfrm.clone();
    nlmsg.extend(errors.iter().cloned());
    nlmsg.push(genl_message(&family)?);
    nlmsg.push([address_event()?, done_message(0)].concat());
    let mut events = xfrm;
    events.push(netdev_event(16, 2, "veth0")?);

    let corpora: [(&str, Vec<Vec<u8>>); 7] = [
        ("nlmsg", nlmsg),
        ("procfs", vec![PROC_NET_NETLINK.as_bytes().to_vec()]),
        ("sock_diag", diag),
        ("events", events),
        ("genl_family", vec![family, entry]),
        ("replies", replies),
        (
            "book_url",
            BOOK_URLS.iter().map(|u| u.as_bytes().to_vec()).collect(),
        ),
    ];
    for (target, seeds) in corpora {
        let dir = root.join("corpus").join(target);
        fs::create_dir_all(&dir)?;
        for (i, seed) in seeds.iter().enumerate() {
            fs::write(dir.join(format!("seed-{i:02}")), seed)?;
        }
        println!("{}: {} seeds", dir.display(), seeds.len());
    }
    Ok(())
}

/// The messages the lab's snapshots show as hex dumps (`0000: 1c 02 ...`),
/// each dump one message; the same dump on several kernels counts once.
fn snapshot_hex_dumps(dir: &Path) -> Result<Vec<Vec<u8>>> {
    let mut dumps: Vec<Vec<u8>> = Vec::new();
    let mut paths: Vec<_> = fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    paths.sort_by_key(|e| e.path());
    for entry in paths {
        let text = fs::read_to_string(entry.path())?;
        let mut current: Option<Vec<u8>> = None;
        for line in text.lines() {
            let hex = line
                .trim_start()
                .split_once(": ")
                .filter(|(at, _)| at.len() == 4 && at.chars().all(|c| c.is_ascii_hexdigit()));
            match hex {
                Some((at, bytes)) => {
                    let dump = current.get_or_insert_with(Vec::new);
                    if usize::from_str_radix(at, 16)? != dump.len() {
                        return Err(format!("{}: a gap at {at}", entry.path().display()).into());
                    }
                    for b in bytes.split_whitespace() {
                        dump.push(u8::from_str_radix(b, 16)?);
                    }
                }
                None => {
                    if let Some(dump) = current.take().filter(|d| !dumps.contains(d)) {
                        dumps.push(dump);
                    }
                }
            }
        }
        if let Some(dump) = current.filter(|d| !dumps.contains(d)) {
            dumps.push(dump);
        }
    }
    if dumps.is_empty() {
        return Err("no hex dumps in the lab's snapshots".into());
    }
    Ok(dumps)
}

/// `NLMSG_ERROR`s: a capped ACK, and a refusal with the whole request
/// echoed and the extended ACK's three attributes.
fn error_messages() -> Result<Vec<Vec<u8>>> {
    let request = MsgBuilder::new(GENL_ID_CTRL, NLM_F_REQUEST, 5)
        .fixed(&[3, 2, 0, 0])
        .attr_str(CTRL_ATTR_FAMILY_NAME, "nope")
        .finish()?;
    let ack = MsgBuilder::new(NLMSG_ERROR, NLM_F_CAPPED, 5)
        .fixed(&0i32.to_ne_bytes())
        .fixed(&request[..NLMSG_HDRLEN])
        .finish()?;
    let tlvs = MsgBuilder::new(0, 0, 0)
        .attr_str(NLMSGERR_ATTR_MSG, "Unknown family")
        .attr(NLMSGERR_ATTR_OFFS, &20u32.to_ne_bytes())
        .attr(NLMSGERR_ATTR_MISS_TYPE, &2u32.to_ne_bytes())
        .finish()?;
    let refusal = MsgBuilder::new(NLMSG_ERROR, NLM_F_ACK_TLVS, 5)
        .fixed(&(-libc::ENOENT).to_ne_bytes())
        .fixed(&request)
        .fixed(&tlvs[NLMSG_HDRLEN..])
        .finish()?;
    Ok(vec![ack, refusal])
}

/// nlctrl's answer about the NLBOOK_KV family: its attributes only.
fn family_attrs() -> Result<Vec<u8>> {
    let msg = MsgBuilder::new(0, 0, 0)
        .attr_str(CTRL_ATTR_FAMILY_NAME, "NLBOOK_KV")
        .attr(CTRL_ATTR_FAMILY_ID, &0x1au16.to_ne_bytes())
        .attr(CTRL_ATTR_VERSION, &1u32.to_ne_bytes())
        .attr(CTRL_ATTR_MAXATTR, &3u32.to_ne_bytes())
        .nested(CTRL_ATTR_MCAST_GROUPS | NLA_F_NESTED, |b| {
            b.nested(1 | NLA_F_NESTED, |b| {
                b.attr(CTRL_ATTR_MCAST_GRP_ID, &6u32.to_ne_bytes())
                    .attr_str(CTRL_ATTR_MCAST_GRP_NAME, "events")
            })
        })
        .finish()?;
    Ok(msg[NLMSG_HDRLEN..].to_vec())
}

fn genl_message(attrs: &[u8]) -> Result<Vec<u8>> {
    Ok(MsgBuilder::new(GENL_ID_CTRL, NLM_F_MULTI, 9)
        .fixed(&[CTRL_CMD_NEWFAMILY, 2, 0, 0])
        .fixed(attrs)
        .finish()?)
}

/// An NLBOOK_KV entry's attributes.
fn kv_attrs() -> Result<Vec<u8>> {
    use ch11_generic_netlink::kv::{ATTR_GENERATION, ATTR_KEY, ATTR_VALUE};
    let msg = MsgBuilder::new(0, 0, 0)
        .attr_str(ATTR_KEY, "colour")
        .attr(ATTR_VALUE, &3u32.to_ne_bytes())
        .attr(ATTR_GENERATION, &7u32.to_ne_bytes())
        .finish()?;
    Ok(msg[NLMSG_HDRLEN..].to_vec())
}

/// `netlink_diag` reply payloads as `sk_diag_fill` builds them, and the
/// chapter module's two replies.
fn diag_payloads() -> Vec<Vec<u8>> {
    let attr = |ty: u16, payload: &[u8]| {
        let mut v = ((4 + payload.len()) as u16).to_ne_bytes().to_vec();
        v.extend_from_slice(&ty.to_ne_bytes());
        v.extend_from_slice(payload);
        v.resize(v.len().next_multiple_of(4), 0);
        v
    };
    let mut full = vec![libc::AF_NETLINK as u8, 3, 0, 7];
    for field in [4242u32, 0, 0, 31337, 7, 0] {
        full.extend_from_slice(&field.to_ne_bytes());
    }
    let kernel_socket = {
        let mut p = full.clone();
        p[1] = 2;
        p
    };
    let groups = Groups::of([1, 36]).to_kernel_longs(64, LongLayout::HOST);
    full.extend(attr(NETLINK_DIAG_GROUPS, &groups));
    let meminfo: Vec<u8> = [832u32, 2304, 0, 212_992, 0, 0, 0, 0, 6]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect();
    full.extend(attr(NETLINK_DIAG_MEMINFO, &meminfo));
    full.extend(attr(NETLINK_DIAG_FLAGS, &0x28u32.to_ne_bytes()));
    let query: Vec<u8> = [64u32, 0x5, 0x80]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect();
    let multicast: Vec<u8> = [3u32, 1, (-libc::ESRCH) as u32]
        .iter()
        .flat_map(|v| v.to_ne_bytes())
        .collect();
    vec![full, kernel_socket, query, multicast]
}

/// An `RTM_NEWADDR` event for 10.6.1.7/32 on lo.
fn address_event() -> Result<Vec<u8>> {
    let ip = [10, 6, 1, 7];
    Ok(MsgBuilder::new(RTM_NEWADDR, 0, 0)
        .fixed(&nlbook_common::address::ifaddrmsg(32, 1))
        .attr(IFA_ADDRESS, &ip)
        .attr(IFA_LOCAL, &ip)
        .finish()?)
}

fn done_message(error: i32) -> Vec<u8> {
    MsgBuilder::new(NLMSG_DONE, NLM_F_MULTI, 3)
        .fixed(&error.to_ne_bytes())
        .finish()
        .unwrap_or_default()
}

/// Chapter 13's benchmark message, as `write_message` lays it out.
fn bench_message(index: u64) -> Vec<u8> {
    let mut at = vec![0u8; ch13_performance::MSG_SPACE];
    if ch13_performance::write_message(&mut at, index).is_err() {
        return Vec::new();
    }
    at
}

/// Chapter 10's module answers with NUL-terminated text.
fn text_reply(text: &[u8]) -> Result<Vec<u8>> {
    let mut m = MsgBuilder::new(0x12, 0, 4).fixed(text).finish()?;
    let len = u32::try_from(NLMSG_HDRLEN + text.len())?;
    m[..4].copy_from_slice(&len.to_ne_bytes());
    m.truncate(NLMSG_HDRLEN + text.len());
    Ok(m)
}

/// The chapter-5 netdev module's event: ifindex, then the name in IFNAMSIZ.
fn netdev_event(nlmsg_type: u16, ifindex: i32, name: &str) -> Result<Vec<u8>> {
    let mut payload = ifindex.to_ne_bytes().to_vec();
    payload.extend_from_slice(name.as_bytes());
    payload.resize(EVENT_LEN, 0);
    Ok(MsgBuilder::new(nlmsg_type, 0, 0).fixed(&payload).finish()?)
}

/// `/proc/net/netlink` as Linux 6.1 writes it.
const PROC_NET_NETLINK: &str = "\
sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
0000000000000000 0   0          00000000 0        0        0     2        0        7
0000000000000000 0   2419843916 00000001 0        0        0     2        0        31245
0000000000000000 4   3812345678 00000000 1664     0        0     2        6        31250
";

/// Requests the book server answers (its pages, a query and a fragment, a
/// space) and the ones it must refuse: encoded dots and slashes, an
/// absolute path, `//`, backslashes, NUL, overlong and invalid UTF-8, a
/// malformed escape.
const BOOK_URLS: &[&str] = &[
    "/",
    "/index.html",
    "/ch01-hello-netlink.html?search=socket#the-first-socket",
    "/exercises/ch01-first-socket.html",
    "/fonts/open-sans-v17-all-charsets-regular.woff2",
    "/perf/results%20table.svg",
    "/caf%C3%A9/",
    "/./ch01//index.html",
    "/%2Fetc%2Fhostname",
    "//etc/hostname",
    "/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/hostname",
    "/..%2f..%2fetc/hostname",
    "/.%2E/%2e./etc",
    "/a/../b",
    "/%c0%ae%c0%ae/etc/hostname",
    "/%e0%80%ae/%ff%fe",
    "/index.html%00.png",
    "/..%5c..%5cetc%5chostname",
    "/..\\..\\etc",
    "/%252e%252e/etc",
    "/%zz%2",
];
