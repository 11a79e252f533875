//! `NETLINK_KOBJECT_UEVENT` messages: not `nlmsghdr`s but a header line
//! `ACTION@DEVPATH` and `KEY=VALUE` strings, each ending in a NUL
//! (`kobject_uevent_env()` and `alloc_uevent_skb()`, `lib/kobject_uevent.c`).

/// The kernel's only group on `NETLINK_KOBJECT_UEVENT` (udev's own
/// rebroadcasts use group 2, `MONITOR_GROUP_UDEV`).
pub const KERNEL_GROUP: u32 = 1;

/// One uevent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Uevent {
    /// `ACTION`: add, remove, change, ...
    pub action: String,
    /// `DEVPATH`, below /sys.
    pub devpath: String,
    /// `SEQNUM`: the kernel's counter of uevents, one more for each.
    pub seqnum: u64,
}

/// Parse one datagram; `None` if it is not a kernel uevent with the three
/// fields.
pub fn parse(datagram: &[u8]) -> Option<Uevent> {
    let mut parts = datagram.split(|&b| b == 0).filter(|p| !p.is_empty());
    let header = std::str::from_utf8(parts.next()?).ok()?;
    if !header.contains('@') {
        return None; // udev's "libudev" messages start otherwise
    }
    let (mut action, mut devpath, mut seqnum) = (None, None, None);
    for part in parts {
        let Ok(text) = std::str::from_utf8(part) else {
            continue;
        };
        match text.split_once('=') {
            Some(("ACTION", v)) => action = Some(v.to_owned()),
            Some(("DEVPATH", v)) => devpath = Some(v.to_owned()),
            Some(("SEQNUM", v)) => seqnum = v.parse().ok(),
            _ => {}
        }
    }
    Some(Uevent {
        action: action?,
        devpath: devpath?,
        seqnum: seqnum?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_kernel_uevent() {
        let m = b"add@/devices/virtual/mem/null\0ACTION=add\0DEVPATH=/devices/virtual/mem/null\0\
                  SUBSYSTEM=mem\0SYNTH_UUID=0\0SEQNUM=1234\0";
        assert_eq!(
            parse(m),
            Some(Uevent {
                action: "add".into(),
                devpath: "/devices/virtual/mem/null".into(),
                seqnum: 1234
            })
        );
        assert_eq!(parse(b"libudev\0\xfe\xed"), None);
        assert_eq!(parse(b"add@/x\0ACTION=add\0"), None);
    }
}
