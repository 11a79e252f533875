//! Message types and flags by name. The same flag bit means different
//! things in different messages (`0x100` is `NLM_F_ROOT` in a GET request,
//! `NLM_F_REPLACE` in a NEW request, `NLM_F_CAPPED` in an `NLMSG_ERROR`), so
//! the names depend on the message type.

use nlbook_common::uapi::{
    NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_DUMP_FILTERED, NLM_F_DUMP_INTR, NLM_F_ECHO,
    NLM_F_MULTI, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, RTM_DELADDR,
    RTM_DELLINK, RTM_GETADDR, RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, RTM_SETLINK,
};

/// The name of a message type of NETLINK_ROUTE (or a control message).
pub fn type_name(nlmsg_type: u16) -> String {
    let name = match nlmsg_type {
        NLMSG_NOOP => "NLMSG_NOOP",
        NLMSG_ERROR => "NLMSG_ERROR",
        NLMSG_DONE => "NLMSG_DONE",
        NLMSG_OVERRUN => "NLMSG_OVERRUN",
        RTM_NEWLINK => "RTM_NEWLINK",
        RTM_DELLINK => "RTM_DELLINK",
        RTM_GETLINK => "RTM_GETLINK",
        RTM_SETLINK => "RTM_SETLINK",
        RTM_NEWADDR => "RTM_NEWADDR",
        RTM_DELADDR => "RTM_DELADDR",
        RTM_GETADDR => "RTM_GETADDR",
        other => return format!("type {other}"),
    };
    name.to_owned()
}

/// The flags of a message the kernel sent, by name, joined with `|`;
/// `-` for none. Bits without a name here are shown in hex.
pub fn reply_flags(nlmsg_type: u16, flags: u16) -> String {
    let mut known: Vec<(u16, &str)> = vec![
        (NLM_F_REQUEST, "NLM_F_REQUEST"),
        (NLM_F_MULTI, "NLM_F_MULTI"),
        (NLM_F_ACK, "NLM_F_ACK"),
        (NLM_F_ECHO, "NLM_F_ECHO"),
        (NLM_F_DUMP_INTR, "NLM_F_DUMP_INTR"),
        (NLM_F_DUMP_FILTERED, "NLM_F_DUMP_FILTERED"),
    ];
    if nlmsg_type == NLMSG_ERROR {
        known.push((NLM_F_CAPPED, "NLM_F_CAPPED"));
    }
    // An NLMSG_DONE that reports an error can carry extended ACK
    // attributes too.
    if nlmsg_type == NLMSG_ERROR || nlmsg_type == NLMSG_DONE {
        known.push((NLM_F_ACK_TLVS, "NLM_F_ACK_TLVS"));
    }
    let mut names: Vec<String> = Vec::new();
    let mut rest = flags;
    for (bit, name) in known {
        if flags & bit != 0 {
            names.push(name.to_owned());
            rest &= !bit;
        }
    }
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    if names.is_empty() {
        "-".to_owned()
    } else {
        names.join("|")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_named_per_message_type() {
        assert_eq!(reply_flags(RTM_NEWADDR, 0), "-");
        assert_eq!(
            reply_flags(RTM_NEWADDR, NLM_F_MULTI | NLM_F_DUMP_INTR),
            "NLM_F_MULTI|NLM_F_DUMP_INTR"
        );
        // 0x100 is NLM_F_CAPPED only in an NLMSG_ERROR.
        assert_eq!(
            reply_flags(NLMSG_ERROR, 0x300),
            "NLM_F_CAPPED|NLM_F_ACK_TLVS"
        );
        assert_eq!(reply_flags(RTM_NEWADDR, 0x100), "0x100");
    }

    #[test]
    fn types() {
        assert_eq!(type_name(NLMSG_DONE), "NLMSG_DONE");
        assert_eq!(type_name(RTM_NEWADDR), "RTM_NEWADDR");
        assert_eq!(type_name(99), "type 99");
    }
}
