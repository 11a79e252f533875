//! The kernel's netlink numbers, typed as they travel on the wire, each with
//! the header that defines it (paths under `include/uapi/linux/` unless noted).
//!
//! `libc` has most of these too, but as `c_int`; netlink carries message
//! types and flags as `u16`, so the casts would be everywhere.

// include/linux/socket.h
/// Socket option level for netlink options (`setsockopt(fd, SOL_NETLINK, ...)`).
pub const SOL_NETLINK: i32 = 270;

// netlink.h: protocols
/// Routing and link configuration: rtnetlink.
pub const NETLINK_ROUTE: i32 = 0;

// netlink.h: socket options at SOL_NETLINK
/// Ask for extended ACKs: error messages in `NLMSG_ERROR`.
pub const NETLINK_EXT_ACK: i32 = 11;

// netlink.h: control message types, below NLMSG_MIN_TYPE
/// Nothing; skip it.
pub const NLMSG_NOOP: u16 = 0x1;
/// An error, or with error 0 an acknowledgement (`struct nlmsgerr` follows).
pub const NLMSG_ERROR: u16 = 0x2;
/// The end of a multipart message (a dump).
pub const NLMSG_DONE: u16 = 0x3;
/// Data lost.
pub const NLMSG_OVERRUN: u16 = 0x4;
/// Types below this are the control messages above; families use the rest.
pub const NLMSG_MIN_TYPE: u16 = 0x10;

// netlink.h: nlmsg_flags, meaning shared by every request
/// Every request to the kernel carries this.
pub const NLM_F_REQUEST: u16 = 0x01;
/// Part of a multipart message, terminated by `NLMSG_DONE`.
pub const NLM_F_MULTI: u16 = 0x02;
/// Reply with an ACK (`NLMSG_ERROR` with error 0) or the error.
pub const NLM_F_ACK: u16 = 0x04;
/// Echo this request back.
pub const NLM_F_ECHO: u16 = 0x08;
/// The dump was inconsistent: the data changed while it was being dumped.
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// The dump was filtered as requested.
pub const NLM_F_DUMP_FILTERED: u16 = 0x20;

// netlink.h: modifiers of GET requests
/// Return the whole table.
pub const NLM_F_ROOT: u16 = 0x100;
/// Return all matching entries.
pub const NLM_F_MATCH: u16 = 0x200;
/// A dump: `NLM_F_ROOT | NLM_F_MATCH`.
pub const NLM_F_DUMP: u16 = NLM_F_ROOT | NLM_F_MATCH;

// netlink.h: modifiers of NEW requests (same bits, other meaning)
/// Replace an existing object.
pub const NLM_F_REPLACE: u16 = 0x100;
/// Fail with `EEXIST` if the object exists.
pub const NLM_F_EXCL: u16 = 0x200;
/// Create the object if it does not exist.
pub const NLM_F_CREATE: u16 = 0x400;

// netlink.h: flags of ACK messages (same bits, third meaning)
/// The ACK does not echo the request's payload.
pub const NLM_F_CAPPED: u16 = 0x100;
/// The ACK carries extended-ACK attributes after the request.
pub const NLM_F_ACK_TLVS: u16 = 0x200;

// netlink.h: enum nlmsgerr_attrs
/// Extended ACK: the error message, a NUL-terminated string.
pub const NLMSGERR_ATTR_MSG: u16 = 1;
/// Extended ACK: byte offset, in the request, of the attribute at fault (u32).
pub const NLMSGERR_ATTR_OFFS: u16 = 2;
/// Extended ACK: the type of a required attribute the request lacked (u32).
pub const NLMSGERR_ATTR_MISS_TYPE: u16 = 5;

// netlink.h: attribute type bits
/// The attribute holds nested attributes.
pub const NLA_F_NESTED: u16 = 1 << 15;
/// The attribute's payload is in network byte order.
pub const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
/// The attribute type without the two flag bits.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

// rtnetlink.h: message types of the link family
/// Create or change a link; also each link in a dump.
pub const RTM_NEWLINK: u16 = 16;
/// Delete a link.
pub const RTM_DELLINK: u16 = 17;
/// Get one link, or with `NLM_F_DUMP` all of them.
pub const RTM_GETLINK: u16 = 18;
/// Change a link.
pub const RTM_SETLINK: u16 = 19;

// rtnetlink.h: struct ifinfomsg, the fixed part of every link message
/// `sizeof(struct ifinfomsg)`: family u8, pad u8, type u16, index i32,
/// flags u32, change u32.
pub const IFINFOMSG_LEN: usize = 16;

// rtnetlink.h: message types of the address family
/// Add an address; also each address in a dump.
pub const RTM_NEWADDR: u16 = 20;
/// Delete an address.
pub const RTM_DELADDR: u16 = 21;
/// With `NLM_F_DUMP`: every address.
pub const RTM_GETADDR: u16 = 22;
/// With `NLM_F_DUMP`: every route.
pub const RTM_GETROUTE: u16 = 26;

// if_addr.h: struct ifaddrmsg, the fixed part of every address message
/// `sizeof(struct ifaddrmsg)`: family u8, prefixlen u8, flags u8, scope u8,
/// index u32.
pub const IFADDRMSG_LEN: usize = 8;

// if_addr.h: address attributes (IFA_*)
/// The address of the interface's peer, or its own on broadcast links.
pub const IFA_ADDRESS: u16 = 1;
/// The local address.
pub const IFA_LOCAL: u16 = 2;

// if_link.h: link attributes (IFLA_*)
/// Hardware address.
pub const IFLA_ADDRESS: u16 = 1;
/// Broadcast hardware address.
pub const IFLA_BROADCAST: u16 = 2;
/// Link name, a NUL-terminated string shorter than `IFNAMSIZ`.
pub const IFLA_IFNAME: u16 = 3;
/// MTU, u32.
pub const IFLA_MTU: u16 = 4;
/// Nested: the link kind and kind-specific data.
pub const IFLA_LINKINFO: u16 = 18;

// if_link.h: attributes nested in IFLA_LINKINFO
/// The link kind, a string: "dummy", "veth", ...
pub const IFLA_INFO_KIND: u16 = 1;
/// Nested: the kind's own attributes.
pub const IFLA_INFO_DATA: u16 = 2;

// veth.h: attributes nested in IFLA_INFO_DATA of a veth link
/// The peer: a `struct ifinfomsg` followed by its own IFLA_* attributes.
pub const VETH_INFO_PEER: u16 = 1;

// if.h
/// Link names are shorter than this, NUL included.
pub const IFNAMSIZ: usize = 16;
