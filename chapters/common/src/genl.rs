//! Generic netlink: the 4-byte header after `nlmsghdr`, and the numbers of
//! the controller family, `nlctrl` (`include/uapi/linux/genetlink.h`).
//!
//! ```text
//!  0          16     17        18         20
//!  +----------+------+---------+----------+-------------
//!  | nlmsghdr | cmd  | version | reserved | attributes
//!  +----------+------+---------+----------+-------------
//! ```
//!
//! `nlmsg_type` holds the family's id, which the kernel assigns when the
//! family registers; only `nlctrl`'s is fixed (`GENL_ID_CTRL`).

use crate::nlmsg::{Malformed, MsgBuilder, NlMsg, Problem};

/// `GENL_HDRLEN`: `struct genlmsghdr`, already a multiple of 4.
pub const GENL_HDRLEN: usize = 4;

/// `GENL_NAMSIZ`: family and group names are shorter, NUL included.
pub const GENL_NAMSIZ: usize = 16;

/// The id of `nlctrl`, the family that answers questions about families.
pub const GENL_ID_CTRL: u16 = 0x10;

// enum ctrl_cmd (commands of nlctrl)
/// Ask for one family (by `CTRL_ATTR_FAMILY_NAME` or `_ID`) or, as a dump,
/// all of them. Also the command of the answers.
pub const CTRL_CMD_GETFAMILY: u8 = 3;
/// nlctrl's "notify" group announces families as they come and go.
pub const CTRL_CMD_NEWFAMILY: u8 = 1;
/// A family went away.
pub const CTRL_CMD_DELFAMILY: u8 = 2;

// enum ctrl_attr (attributes of nlctrl messages)
/// u16: the family's id.
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// string: the family's name.
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// u32: the family's version.
pub const CTRL_ATTR_VERSION: u16 = 3;
/// u32: the size of the family's own fixed header after the genl header.
pub const CTRL_ATTR_HDRSIZE: u16 = 4;
/// u32: the family's highest attribute type.
pub const CTRL_ATTR_MAXATTR: u16 = 5;
/// nested: the family's commands.
pub const CTRL_ATTR_OPS: u16 = 6;
/// nested: the family's multicast groups, each a nest of
/// `CTRL_ATTR_MCAST_GRP_*` (the outer types are 1, 2, ...: an index).
pub const CTRL_ATTR_MCAST_GROUPS: u16 = 7;

// enum ctrl_attr_mcast_grp
/// string: the group's name.
pub const CTRL_ATTR_MCAST_GRP_NAME: u16 = 1;
/// u32: the group's number, for `NETLINK_ADD_MEMBERSHIP`.
pub const CTRL_ATTR_MCAST_GRP_ID: u16 = 2;

// ANCHOR: header
/// `struct genlmsghdr`, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenlMsgHdr {
    /// The family's command.
    pub cmd: u8,
    /// The family's interface version.
    pub version: u8,
}

impl GenlMsgHdr {
    /// The 4 bytes on the wire (`reserved` is 0: the kernel refuses
    /// anything else for families that validate strictly).
    pub fn to_bytes(self) -> [u8; GENL_HDRLEN] {
        [self.cmd, self.version, 0, 0]
    }

    /// Split a message's payload into its genl header and the attributes
    /// after it.
    pub fn parse<'a>(msg: &NlMsg<'a>) -> Result<(Self, &'a [u8]), Malformed> {
        match (
            msg.payload.get(..GENL_HDRLEN),
            msg.payload.get(GENL_HDRLEN..),
        ) {
            (Some(&[cmd, version, _, _]), Some(attrs)) => Ok((GenlMsgHdr { cmd, version }, attrs)),
            _ => Err(Malformed {
                what: "genlmsghdr",
                offset: msg.offset + crate::nlmsg::NLMSG_HDRLEN,
                problem: Problem::Truncated {
                    have: msg.payload.len(),
                    need: GENL_HDRLEN,
                },
            }),
        }
    }
}

/// Start a generic netlink request to `family`: the netlink header, then
/// the genl header; append attributes to the builder.
pub fn request(family: u16, flags: u16, seq: u32, cmd: u8, version: u8) -> MsgBuilder {
    MsgBuilder::new(family, flags, seq).fixed(&GenlMsgHdr { cmd, version }.to_bytes())
}
// ANCHOR_END: header

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nlmsg::NlMsgIter;
    use crate::uapi::NLM_F_REQUEST;

    #[test]
    fn request_layout() {
        let bytes = request(GENL_ID_CTRL, NLM_F_REQUEST, 7, CTRL_CMD_GETFAMILY, 2)
            .attr_str(CTRL_ATTR_FAMILY_NAME, "nlctrl")
            .finish()
            .unwrap();
        // 16 + 4 + (4 + 7, padded to 12)
        assert_eq!(bytes.len(), 32);
        assert_eq!(&bytes[4..6], &GENL_ID_CTRL.to_ne_bytes());
        assert_eq!(&bytes[16..20], &[CTRL_CMD_GETFAMILY, 2, 0, 0]);
        let msg = NlMsgIter::new(&bytes).next().unwrap().unwrap();
        let (hdr, attrs) = GenlMsgHdr::parse(&msg).unwrap();
        assert_eq!(hdr.cmd, CTRL_CMD_GETFAMILY);
        assert_eq!(attrs.len(), 12); // the builder pads every attribute
    }

    #[test]
    fn short_payload_is_malformed() {
        let bytes = crate::MsgBuilder::new(GENL_ID_CTRL, 0, 1)
            .fixed(&[3, 1])
            .finish()
            .unwrap();
        let mut truncated = bytes.clone();
        truncated[0..4].copy_from_slice(&18u32.to_ne_bytes());
        let msg = NlMsgIter::new(&truncated[..18]).next().unwrap().unwrap();
        let err = GenlMsgHdr::parse(&msg).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed genlmsghdr at offset 16: needs 4 bytes, only 2 left"
        );
    }
}
