//! What the chapter's timer module (`kmod/ch03-multicast/mcast_listeners.c`)
//! multicasts, and the lines its two listeners print.
//!
//! The module sends the message of `kmod/include/nlbook_mcast.h`: type
//! `NLMSG_MIN_TYPE`, payload `"hello from kernel!"` with its NUL, from port
//! 0, to NETLINK_USERSOCK group 22. `ch03-listener-raw` and
//! `ch03-listener-neli` check every message against it and print the same
//! lines, built here.

use std::time::Duration;

use nlbook_common::membership::group_mask;
use nlbook_common::uapi::NLMSG_MIN_TYPE;

/// The group the module multicasts to (`NLBOOK_MCAST_GROUP`).
pub const GROUP: u32 = 22;
/// The message type (`NLBOOK_MCAST_HELLO`).
pub const HELLO_TYPE: u16 = NLMSG_MIN_TYPE;
/// The payload up to its NUL (`NLBOOK_MCAST_TEXT`).
pub const HELLO_TEXT: &str = "hello from kernel!";
/// How long one receive may wait: the module sends every few milliseconds.
pub const RECV_TIMEOUT: Duration = Duration::from_secs(5);
/// How many messages each socket reads unless told otherwise.
pub const DEFAULT_MESSAGES: u32 = 5;

/// Check one received message against what the module sends. `from_portid`
/// and `groups` are the sender's address as `recvmsg` reported it.
pub fn check(nlmsg_type: u16, payload: &[u8], from_portid: u32, groups: u32) -> Result<(), String> {
    if from_portid != 0 {
        return Err("a message from a user-space sender, not from the kernel".into());
    }
    if Some(groups) != group_mask(GROUP) {
        return Err(format!("a message sent to nl_groups {groups:#010x}"));
    }
    if nlmsg_type != HELLO_TYPE {
        return Err(format!("a message of type {nlmsg_type:#x}"));
    }
    // The text ends at its NUL; padding may follow.
    let text = payload
        .iter()
        .position(|&b| b == 0)
        .map(|nul| &payload[..nul]);
    if text != Some(HELLO_TEXT.as_bytes()) {
        return Err(format!(
            "a payload other than {HELLO_TEXT:?}: {:?}",
            String::from_utf8_lossy(payload)
        ));
    }
    Ok(())
}

/// `socket 1: 5 messages, each "hello from kernel!" (type 0x10) from port 0, nl_groups 0x00200000 (group 22)`.
pub fn received_line(socket: &str, count: u32) -> String {
    format!(
        "{socket}: {count} messages, each {HELLO_TEXT:?} (type {HELLO_TYPE:#x}) from port 0 \
         (the kernel), nl_groups {:#010x} (group {GROUP})",
        group_mask(GROUP).unwrap_or(0)
    )
}

/// `NETLINK_LIST_MEMBERSHIPS of socket 1: groups 22`.
pub fn memberships_line(socket: &str, groups: &[u32]) -> String {
    let list: Vec<String> = groups.iter().map(u32::to_string).collect();
    let list = if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(" ")
    };
    format!("NETLINK_LIST_MEMBERSHIPS of {socket}: groups {list}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_modules_greeting_passes() {
        assert_eq!(
            check(0x10, b"hello from kernel!\0\0", 0, 0x0020_0000),
            Ok(())
        );
        assert_eq!(check(0x10, b"hello from kernel!\0", 0, 0x0020_0000), Ok(()));
    }

    #[test]
    fn anything_else_is_named() {
        let bad = [
            check(0x10, b"hello from kernel!\0", 77, 0x0020_0000),
            check(0x10, b"hello from kernel!\0", 0, 0x1),
            check(0x3, b"hello from kernel!\0", 0, 0x0020_0000),
            check(0x10, b"hello from kernel!", 0, 0x0020_0000),
            check(0x10, b"hello\0", 0, 0x0020_0000),
        ];
        for r in bad {
            assert!(r.is_err(), "{r:?}");
        }
    }

    #[test]
    fn lines() {
        assert_eq!(
            received_line("socket 1", 5),
            "socket 1: 5 messages, each \"hello from kernel!\" (type 0x10) from port 0 \
             (the kernel), nl_groups 0x00200000 (group 22)"
        );
        assert_eq!(
            memberships_line("socket 2", &[22]),
            "NETLINK_LIST_MEMBERSHIPS of socket 2: groups 22"
        );
        assert_eq!(
            memberships_line("socket 2", &[]),
            "NETLINK_LIST_MEMBERSHIPS of socket 2: groups none"
        );
    }
}
