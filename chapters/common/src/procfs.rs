//! `/proc/net/netlink`: the older view of the same sockets, one line each,
//! written by `netlink_native_seq_show` (`net/netlink/af_netlink.c`):
//!
//! ```text
//! sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
//! ```
//!
//! `Groups` is `(u32)nlk->groups[0]`: the first 32 groups only. The file
//! walks each protocol's hash table of bound sockets, so a socket that
//! joined groups without ever being bound is not listed.

use std::fmt;

/// Where a program finds its own thread's view. `/proc/net` is the main
/// thread's network namespace; a thread that moved to another namespace
/// (`unshare(CLONE_NEWNET)`) must read `/proc/thread-self/net`.
pub const PROC_NET_NETLINK: &str = "/proc/thread-self/net/netlink";

/// One line of `/proc/net/netlink`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProcEntry {
    /// `Eth`: the protocol.
    pub protocol: u8,
    /// `Pid`: the port id.
    pub portid: u32,
    /// `Groups`: groups 1 to 32 as a bitmask.
    pub groups: u32,
    /// `Rmem`: bytes queued for reading.
    pub rmem: u32,
    /// `Wmem`.
    pub wmem: u32,
    /// `Dump`: 1 while a dump is running.
    pub dump: u32,
    /// `Locks`: the socket's reference count.
    pub refs: u32,
    /// `Drops`.
    pub drops: u32,
    /// `Inode`.
    pub inode: u64,
}

/// A line that does not read as `netlink_native_seq_show` writes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcError {
    /// 1-based line number.
    pub line: usize,
    /// Byte offset in the text of what is wrong: the bad field, or the
    /// line's start when the line as a whole is wrong.
    pub offset: usize,
    /// What is wrong.
    pub problem: ProcProblem,
}

/// The ways a line of `/proc/net/netlink` can be wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcProblem {
    /// The first line is not [`HEADER`]; its fields as found.
    Header(Vec<String>),
    /// A socket's line has this many fields instead of 10.
    FieldCount(usize),
    /// A field that must be a number (in hex for `Groups`) is not one that
    /// fits its type.
    NotANumber {
        /// The column, as the header names it.
        column: &'static str,
        /// The field as found.
        found: String,
    },
}

impl fmt::Display for ProcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/proc/net/netlink line {}: ", self.line)?;
        match &self.problem {
            ProcProblem::Header(fields) => write!(f, "unexpected header {fields:?}"),
            ProcProblem::FieldCount(n) => write!(f, "{n} fields, expected 10"),
            ProcProblem::NotANumber { column, found } => match *column {
                "Eth" => write!(f, "Eth is not a protocol number: {found:?}"),
                "Groups" => write!(f, "Groups is not 32-bit hex: {found:?}"),
                _ => write!(f, "{column} is not a number: {found:?}"),
            },
        }
    }
}

impl std::error::Error for ProcError {}

/// The header line, as Linux 6.1 and 6.12 write it.
pub const HEADER: &[&str] = &[
    "sk", "Eth", "Pid", "Groups", "Rmem", "Wmem", "Dump", "Locks", "Drops", "Inode",
];

/// Where `part` (a slice of `text`) starts in it.
fn offset_of(text: &str, part: &str) -> usize {
    (part.as_ptr() as usize).saturating_sub(text.as_ptr() as usize)
}

/// Parse the whole file: a header, then one line per bound socket.
pub fn parse(text: &str) -> Result<Vec<ProcEntry>, ProcError> {
    let mut lines = text.lines().enumerate();
    let header: Vec<&str> = match lines.next() {
        Some((_, l)) => l.split_whitespace().collect(),
        None => Vec::new(),
    };
    if header != HEADER {
        return Err(ProcError {
            line: 1,
            offset: 0,
            problem: ProcProblem::Header(header.iter().map(|f| (*f).to_owned()).collect()),
        });
    }
    let mut entries = Vec::new();
    for (i, line) in lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_sk, eth, pid, groups, rmem, wmem, dump, locks, drops, inode] = fields[..] else {
            return Err(ProcError {
                line: i + 1,
                offset: offset_of(text, line),
                problem: ProcProblem::FieldCount(fields.len()),
            });
        };
        let bad = |column: &'static str, found: &str| ProcError {
            line: i + 1,
            offset: offset_of(text, found),
            problem: ProcProblem::NotANumber {
                column,
                found: found.to_owned(),
            },
        };
        let num =
            |column, s: &str| -> Result<u32, ProcError> { s.parse().map_err(|_| bad(column, s)) };
        entries.push(ProcEntry {
            protocol: eth.parse().map_err(|_| bad("Eth", eth))?,
            portid: num("Pid", pid)?,
            groups: u32::from_str_radix(groups, 16).map_err(|_| bad("Groups", groups))?,
            rmem: num("Rmem", rmem)?,
            wmem: num("Wmem", wmem)?,
            dump: num("Dump", dump)?,
            refs: num("Locks", locks)?,
            drops: num("Drops", drops)?,
            inode: inode.parse().map_err(|_| bad("Inode", inode))?,
        });
    }
    Ok(entries)
}

/// Read and parse this thread's `/proc/net/netlink`. A line that does not
/// parse is an `InvalidData` error carrying the [`ProcError`].
pub fn read() -> std::io::Result<Vec<ProcEntry>> {
    let text = std::fs::read_to_string(PROC_NET_NETLINK)
        .map_err(|e| std::io::Error::new(e.kind(), format!("reading {PROC_NET_NETLINK}: {e}")))?;
    parse(&text).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode
0000000000000000 0   0          00000000 0        0        0     2        0        7
0000000000000000 0   2419843916 00000001 0        0        0     2        0        31245
0000000000000000 4   3812345678 00000000 1664     0        0     2        6        31250
";

    #[test]
    fn parses_what_the_kernel_writes() {
        let e = parse(SAMPLE).unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].portid, 0);
        assert_eq!(e[1].groups, 1);
        assert_eq!(e[1].portid, 2_419_843_916);
        assert_eq!(e[2].protocol, 4);
        assert_eq!((e[2].rmem, e[2].drops, e[2].inode), (1664, 6, 31250));
        assert_eq!(parse(HEADER.join(" ").as_str()).unwrap(), vec![]);
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        assert_eq!(parse("").unwrap_err().line, 1);
        let mut bad = SAMPLE.to_owned();
        bad.push_str("0000000000000000 0 1 2\n");
        assert_eq!(
            parse(&bad).unwrap_err().to_string(),
            "/proc/net/netlink line 5: 4 fields, expected 10"
        );
        let bad = SAMPLE.replace("00000001", "0000000g");
        assert_eq!(
            parse(&bad).unwrap_err().to_string(),
            "/proc/net/netlink line 3: Groups is not 32-bit hex: \"0000000g\""
        );
        let bad = SAMPLE.replace(" 1664 ", " -1 ");
        let err = parse(&bad).unwrap_err();
        assert_eq!(
            err.problem,
            ProcProblem::NotANumber {
                column: "Rmem",
                found: "-1".into()
            }
        );
        assert_eq!(&bad[err.offset..err.offset + 2], "-1");
    }
}
