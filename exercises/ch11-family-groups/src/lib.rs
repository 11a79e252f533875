//! Chapter 11 exercise: a generic netlink family, as nlctrl describes it.
//!
//! A client learns a family's id and its multicast groups' ids by asking
//! nlctrl (`GENL_ID_CTRL`, 0x10) with `CTRL_CMD_GETFAMILY`. The answer is one
//! netlink message (host byte order throughout):
//!
//! ```text
//!  0                 16               20
//!  +-----------------+----------------+--------------------------------
//!  | nlmsghdr        | genlmsghdr     | attributes
//!  | len u32         | cmd u8         |   CTRL_ATTR_FAMILY_ID    (1) u16
//!  | type u16 = 0x10 | version u8     |   CTRL_ATTR_FAMILY_NAME  (2) string + NUL
//!  | flags u16       | reserved u16   |   CTRL_ATTR_VERSION      (3) u32
//!  | seq u32, pid u32|                |   CTRL_ATTR_MCAST_GROUPS (7) nested:
//!  +-----------------+----------------+     one nest per group (types 1, 2, ...),
//!                                             each holding
//!                                               CTRL_ATTR_MCAST_GRP_NAME (1) string
//!                                               CTRL_ATTR_MCAST_GRP_ID   (2) u32
//! ```
//!
//! or, if nlctrl refuses (no such family), an `NLMSG_ERROR` (type 2) whose
//! payload starts with a negative errno (i32).
//!
//! Every attribute is a 4-byte header (`u16` length counting the header,
//! `u16` type, whose two top bits are flags: mask them with
//! [`NLA_TYPE_MASK`]), its payload, and padding to the next multiple of 4.
//! Other attributes (operations, policies, ...) may be present: skip them.
//!
//! Your task: replace each `todo!()` below. `cargo xtask exercise` checks your work.

// The parameters are unused until you write the bodies.
#![allow(unused_variables)]

/// nlctrl's fixed family id: the `nlmsg_type` of its answers.
pub const GENL_ID_CTRL: u16 = 0x10;
/// `nlmsg_type` of an error answer.
pub const NLMSG_ERROR: u16 = 2;
/// The attribute type without `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER`.
pub const NLA_TYPE_MASK: u16 = 0x3fff;

/// `CTRL_ATTR_FAMILY_ID`, u16.
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// `CTRL_ATTR_FAMILY_NAME`, a NUL-terminated string.
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// `CTRL_ATTR_VERSION`, u32.
pub const CTRL_ATTR_VERSION: u16 = 3;
/// `CTRL_ATTR_MCAST_GROUPS`, nested.
pub const CTRL_ATTR_MCAST_GROUPS: u16 = 7;
/// `CTRL_ATTR_MCAST_GRP_NAME`, a NUL-terminated string.
pub const CTRL_ATTR_MCAST_GRP_NAME: u16 = 1;
/// `CTRL_ATTR_MCAST_GRP_ID`, u32.
pub const CTRL_ATTR_MCAST_GRP_ID: u16 = 2;

/// A multicast group of a family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// `CTRL_ATTR_MCAST_GRP_NAME`, without its NUL.
    pub name: String,
    /// `CTRL_ATTR_MCAST_GRP_ID`.
    pub id: u32,
}

/// A family, as decoded from nlctrl's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Family {
    /// `CTRL_ATTR_FAMILY_ID`.
    pub id: u16,
    /// `CTRL_ATTR_FAMILY_NAME`, without its NUL.
    pub name: String,
    /// `CTRL_ATTR_VERSION`, 0 if absent.
    pub version: u32,
    /// The groups, in the order of the answer; empty if there are none.
    pub groups: Vec<Group>,
}

/// What is wrong with an answer. Offsets count from the first byte of the
/// datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Error {
    /// Fewer bytes are left than a header needs: the 16-byte `nlmsghdr`,
    /// the 4-byte genl header, or a 4-byte attribute header.
    Truncated {
        /// Where the header starts.
        offset: usize,
        /// Bytes it needs.
        need: usize,
        /// Bytes left (for the attributes: up to the end of the message).
        have: usize,
    },
    /// A length field (`nlmsg_len` or an attribute's) that is smaller than
    /// its own header, or reaches past the end of what contains it.
    BadLength {
        /// Where the structure with the length field starts.
        offset: usize,
        /// The length field's value.
        len: usize,
    },
    /// nlctrl refused: an `NLMSG_ERROR` carrying this errno (positive,
    /// e.g. 2 for ENOENT).
    Refused {
        /// The errno.
        errno: i32,
    },
    /// A message of another type than nlctrl's or an error.
    NotNlctrl {
        /// Its `nlmsg_type`.
        nlmsg_type: u16,
    },
    /// `CTRL_ATTR_FAMILY_ID` (not exactly 2 bytes, or absent) or
    /// `CTRL_ATTR_FAMILY_NAME` (absent, or not UTF-8): `what` names it.
    BadFamily {
        /// `"CTRL_ATTR_FAMILY_ID"` or `"CTRL_ATTR_FAMILY_NAME"`.
        what: &'static str,
    },
    /// A group's nest without a name (UTF-8) or without a 4-byte id.
    BadGroup {
        /// Where that group's nest starts.
        offset: usize,
    },
}

/// Decode one answer of nlctrl to `CTRL_CMD_GETFAMILY`: `datagram` is what
/// one `recv` returned, starting with the `nlmsghdr`.
///
/// Checks, in this order: a whole `nlmsghdr`; `nlmsg_len` at least 16 and
/// within the datagram; an `NLMSG_ERROR` becomes [`Error::Refused`] (4
/// bytes of errno needed, else [`Error::Truncated`] at 16); any type but
/// [`GENL_ID_CTRL`] is [`Error::NotNlctrl`]; a whole genl header; then every
/// attribute up to `nlmsg_len`, nested ones included. Never panics.
pub fn parse_family(datagram: &[u8]) -> Result<Family, Error> {
    todo!()
}

/// The id of the family's group called `name`, if it has one.
pub fn group_id(family: &Family, name: &str) -> Option<u32> {
    todo!()
}
