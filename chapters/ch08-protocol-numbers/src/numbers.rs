//! Protocol numbers: the table the kernel keeps them in, the ones it names,
//! and what `socket()` says about each.

use nlbook_common::{Errno, NlSocket};

// ANCHOR: max_links
/// `MAX_LINKS` (`include/uapi/linux/netlink.h`): the size of the kernel's
/// `nl_table`, one slot per protocol number. Numbers are 0 to 31.
pub const MAX_LINKS: i32 = 32;
// ANCHOR_END: max_links

// ANCHOR: names
/// The `NETLINK_*` protocol numbers of `include/uapi/linux/netlink.h` (the
/// same in 6.1 and 6.12), without the `NETLINK_` prefix. 17 has no name: a
/// comment there keeps it free for `NETLINK_DM`. 23 to 31 have none.
pub const NAMED: [(i32, &str); 22] = [
    (0, "ROUTE"),
    (1, "UNUSED"),
    (2, "USERSOCK"),
    (3, "FIREWALL"),
    (4, "SOCK_DIAG"),
    (5, "NFLOG"),
    (6, "XFRM"),
    (7, "SELINUX"),
    (8, "ISCSI"),
    (9, "AUDIT"),
    (10, "FIB_LOOKUP"),
    (11, "CONNECTOR"),
    (12, "NETFILTER"),
    (13, "IP6_FW"),
    (14, "DNRTMSG"),
    (15, "KOBJECT_UEVENT"),
    (16, "GENERIC"),
    (18, "SCSITRANSPORT"),
    (19, "ECRYPTFS"),
    (20, "RDMA"),
    (21, "CRYPTO"),
    (22, "SMC"),
];
// ANCHOR_END: names

/// What `netlink.h` calls `protocol`, if anything.
pub fn name(protocol: i32) -> Option<&'static str> {
    NAMED
        .iter()
        .find(|(number, _)| *number == protocol)
        .map(|(_, name)| *name)
}

/// How a number is described in a report: its name, `(NETLINK_DM)` for 17,
/// `MAX_LINKS` for 32, `-` for the rest.
pub fn label(protocol: i32) -> &'static str {
    match (protocol, name(protocol)) {
        (_, Some(name)) => name,
        (17, None) => "(kept for DM)",
        (MAX_LINKS, None) => "(MAX_LINKS)",
        _ => "-",
    }
}

// ANCHOR: probe
/// `socket(AF_NETLINK, SOCK_RAW, protocol)`, closed again at once: `Ok` if
/// the kernel has the protocol registered, else the errno it answered.
pub fn probe(protocol: i32) -> Result<(), Errno> {
    NlSocket::open(protocol).map(drop).map_err(|e| e.errno)
}
// ANCHOR_END: probe

/// What `socket()` answered, as a report shows it.
pub fn outcome(result: Result<(), Errno>) -> String {
    match result {
        Ok(()) => "registered".to_owned(),
        Err(errno) => errno.to_string(),
    }
}

/// The numbers of a report, inclusive; at most [`RANGE_LIMIT`] of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    /// The first number probed.
    pub first: i32,
    /// The last number probed.
    pub last: i32,
}

/// A report probes at most this many numbers, so that a typo cannot make
/// it print millions of lines.
pub const RANGE_LIMIT: i32 = 256;

/// The default range: every slot of `nl_table` and two numbers past it.
pub const DEFAULT_RANGE: Range = Range {
    first: 0,
    last: MAX_LINKS + 1,
};

/// Why the command line does not name a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRange(pub String);

impl std::fmt::Display for BadRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}; usage: ch08-probe [FIRST LAST] (0 <= FIRST <= LAST, at most {RANGE_LIMIT} numbers; default {} {})",
            self.0, DEFAULT_RANGE.first, DEFAULT_RANGE.last
        )
    }
}

impl std::error::Error for BadRange {}

impl Range {
    /// The range the arguments name: none for the default, or FIRST LAST.
    pub fn from_args(args: &[String]) -> Result<Self, BadRange> {
        let number = |s: &str| {
            s.parse::<i32>()
                .map_err(|_| BadRange(format!("`{s}` is not a protocol number")))
        };
        let range = match args {
            [] => return Ok(DEFAULT_RANGE),
            [first, last] => Range {
                first: number(first)?,
                last: number(last)?,
            },
            _ => {
                return Err(BadRange(format!(
                    "expected no arguments or two, got {}",
                    args.len()
                )));
            }
        };
        if range.first < 0 || range.first > range.last {
            return Err(BadRange(format!(
                "{} {} is not a range",
                range.first, range.last
            )));
        }
        if i64::from(range.last) - i64::from(range.first) >= i64::from(RANGE_LIMIT) {
            return Err(BadRange(format!(
                "{} {} is more than {RANGE_LIMIT} numbers",
                range.first, range.last
            )));
        }
        Ok(range)
    }

    /// The numbers, in order.
    pub fn numbers(self) -> impl Iterator<Item = i32> {
        self.first..=self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn names_follow_netlink_h() {
        assert_eq!(name(0), Some("ROUTE"));
        assert_eq!(name(16), Some("GENERIC"));
        assert_eq!(name(17), None);
        assert_eq!(name(22), Some("SMC"));
        assert!((23..MAX_LINKS).all(|p| name(p).is_none()));
        assert!(
            NAMED.windows(2).all(|w| w[0].0 < w[1].0),
            "sorted, no repeats"
        );
        assert_eq!(label(32), "(MAX_LINKS)");
        assert_eq!(label(31), "-");
    }

    #[test]
    fn ranges_from_the_command_line() {
        assert_eq!(Range::from_args(&[]), Ok(DEFAULT_RANGE));
        assert_eq!(
            Range::from_args(&args(&["30", "32"])).map(|r| r.numbers().collect::<Vec<_>>()),
            Ok(vec![30, 31, 32])
        );
        assert!(Range::from_args(&args(&["5"])).is_err());
        assert!(Range::from_args(&args(&["x", "3"])).is_err());
        assert!(Range::from_args(&args(&["-1", "3"])).is_err());
        assert!(Range::from_args(&args(&["4", "3"])).is_err());
        assert!(Range::from_args(&args(&["0", "255"])).is_ok());
        assert!(Range::from_args(&args(&["0", "256"])).is_err());
        assert!(Range::from_args(&args(&["0", "2147483647"])).is_err());
    }

    #[test]
    fn numbers_past_max_links_never_open() {
        // netlink_create() refuses them before it looks at nl_table.
        for p in [MAX_LINKS, MAX_LINKS + 1, 1000, -1] {
            assert_eq!(probe(p), Err(Errno(libc::EPROTONOSUPPORT)), "{p}");
        }
    }
}
