//! Asking `nlctrl` about families, by hand: `CTRL_CMD_GETFAMILY` for one
//! family by name, or as a dump for all of them. A family's id and its
//! multicast groups' ids are assigned when it registers, so a client learns
//! them here, by name, every time it starts.

use std::fmt;

use nlbook_common::Errno;
use nlbook_common::genl::{
    CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_MAXATTR, CTRL_ATTR_MCAST_GROUPS,
    CTRL_ATTR_MCAST_GRP_ID, CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_VERSION, CTRL_CMD_GETFAMILY,
    GENL_ID_CTRL, request,
};
use nlbook_common::nlmsg::Problem;
use nlbook_common::rtattr::RtAttrIter;
use nlbook_common::uapi::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use nlbook_common::{Malformed, RtAttr};

use crate::genl_socket::{GenlError, GenlSocket};

/// The version of nlctrl's interface this code speaks (`genl_ctrl.version`).
const CTRL_VERSION: u8 = 2;

/// A multicast group of a family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Its name, unique within the family.
    pub name: String,
    /// Its number for `NETLINK_ADD_MEMBERSHIP`.
    pub id: u32,
}

/// A generic netlink family, as nlctrl describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Family {
    /// `CTRL_ATTR_FAMILY_ID`: the `nlmsg_type` of its messages.
    pub id: u16,
    /// `CTRL_ATTR_FAMILY_NAME`.
    pub name: String,
    /// `CTRL_ATTR_VERSION`.
    pub version: u32,
    /// `CTRL_ATTR_MAXATTR`: its highest attribute type.
    pub maxattr: u32,
    /// `CTRL_ATTR_MCAST_GROUPS`, in the order nlctrl lists them.
    pub groups: Vec<Group>,
}

impl Family {
    /// The group called `name`, if the family has one.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:<16} id {:#06x}  version {}  maxattr {:<3}",
            self.name, self.id, self.version, self.maxattr
        )?;
        if self.groups.is_empty() {
            return f.write_str("  no groups");
        }
        f.write_str("  groups:")?;
        for g in &self.groups {
            write!(f, " {} {:#x}", g.name, g.id)?;
        }
        Ok(())
    }
}

fn malformed(attr: &RtAttr<'_>, why: &str) -> Malformed {
    Malformed {
        what: "nlctrl attribute",
        offset: attr.offset,
        problem: Problem::Invalid(why.to_owned()),
    }
}

// ANCHOR: parse_family
/// Decode the attributes of a `CTRL_CMD_GETFAMILY` answer, which start at
/// offset `base` of the datagram (for offsets in errors).
pub fn parse_family(attrs: &[u8], base: usize) -> Result<Family, Malformed> {
    let (mut id, mut name) = (None, None);
    let (mut version, mut maxattr, mut groups) = (0, 0, Vec::new());
    for attr in RtAttrIter::at(attrs, base) {
        let attr = attr?;
        match attr.kind() {
            CTRL_ATTR_FAMILY_ID => {
                let bytes = attr
                    .payload
                    .try_into()
                    .map_err(|_| malformed(&attr, "not a u16"))?;
                id = Some(u16::from_ne_bytes(bytes));
            }
            CTRL_ATTR_FAMILY_NAME => {
                let text = attr.cstr().ok_or_else(|| malformed(&attr, "not UTF-8"))?;
                name = Some(text.to_owned());
            }
            CTRL_ATTR_VERSION => {
                version = attr.u32().ok_or_else(|| malformed(&attr, "not a u32"))?;
            }
            CTRL_ATTR_MAXATTR => {
                maxattr = attr.u32().ok_or_else(|| malformed(&attr, "not a u32"))?;
            }
            // A nest of nests: the outer types are only an index (1, 2, ...).
            CTRL_ATTR_MCAST_GROUPS => {
                for entry in attr.nested() {
                    let entry = entry?;
                    let (mut gname, mut gid) = (None, None);
                    for field in entry.nested() {
                        let field = field?;
                        match field.kind() {
                            CTRL_ATTR_MCAST_GRP_NAME => {
                                let text =
                                    field.cstr().ok_or_else(|| malformed(&field, "not UTF-8"))?;
                                gname = Some(text.to_owned());
                            }
                            CTRL_ATTR_MCAST_GRP_ID => {
                                gid = Some(
                                    field.u32().ok_or_else(|| malformed(&field, "not a u32"))?,
                                );
                            }
                            _ => {}
                        }
                    }
                    match (gname, gid) {
                        (Some(name), Some(id)) => groups.push(Group { name, id }),
                        _ => return Err(malformed(&entry, "a group without name or id")),
                    }
                }
            }
            _ => {}
        }
    }
    match (id, name) {
        (Some(id), Some(name)) => Ok(Family {
            id,
            name,
            version,
            maxattr,
            groups,
        }),
        _ => Err(Malformed {
            what: "CTRL_CMD_GETFAMILY answer",
            offset: base,
            problem: Problem::Invalid("no family id or name".to_owned()),
        }),
    }
}
// ANCHOR_END: parse_family

/// Why a family could not be resolved.
#[derive(Debug)]
pub enum ResolveError {
    /// nlctrl knows no family of that name in this network namespace.
    NotFound(String),
    /// The family exists but has no group of that name.
    NoGroup {
        /// The family.
        family: String,
        /// The group asked for.
        group: String,
    },
    /// Anything else.
    Genl(GenlError),
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolveError::NotFound(name) => write!(
                f,
                "no generic netlink family \"{name}\" in this network namespace \
                 (nlctrl answered ENOENT (2)): is the module loaded?"
            ),
            ResolveError::NoGroup { family, group } => {
                write!(f, "family \"{family}\" has no multicast group \"{group}\"")
            }
            ResolveError::Genl(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ResolveError {}

// ANCHOR: get_family
/// Ask nlctrl for the family called `name`.
pub fn get_family(sock: &GenlSocket, name: &str) -> Result<Family, ResolveError> {
    let seq = sock.next_seq();
    let req = request(
        GENL_ID_CTRL,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        CTRL_CMD_GETFAMILY,
        CTRL_VERSION,
    )
    .attr_str(CTRL_ATTR_FAMILY_NAME, name)
    .finish()
    .map_err(|e| ResolveError::Genl(GenlError::Unexpected(e.to_string())))?;
    let answer = match sock.transact(&req, seq) {
        Ok(answer) => answer,
        Err(GenlError::Refused(r)) if r.errno == Errno(libc::ENOENT) => {
            return Err(ResolveError::NotFound(name.to_owned()));
        }
        Err(e) => return Err(ResolveError::Genl(e)),
    };
    let [reply] = answer.as_slice() else {
        let why = format!("{} answers to one CTRL_CMD_GETFAMILY", answer.len());
        return Err(ResolveError::Genl(GenlError::Unexpected(why)));
    };
    parse_family(&reply.attrs, 20).map_err(|e| ResolveError::Genl(e.into()))
}
// ANCHOR_END: get_family

/// The id of group `group` of family `family`.
pub fn resolve_group(sock: &GenlSocket, family: &str, group: &str) -> Result<u32, ResolveError> {
    let fam = get_family(sock, family)?;
    fam.group(group).map(|g| g.id).ok_or(ResolveError::NoGroup {
        family: family.to_owned(),
        group: group.to_owned(),
    })
}

/// Every family nlctrl shows in this network namespace, sorted by name.
pub fn list_families(sock: &GenlSocket) -> Result<Vec<Family>, GenlError> {
    let seq = sock.next_seq();
    let req = request(
        GENL_ID_CTRL,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        CTRL_CMD_GETFAMILY,
        CTRL_VERSION,
    )
    .finish()
    .map_err(|e| GenlError::Unexpected(e.to_string()))?;
    let mut families = sock
        .transact(&req, seq)?
        .iter()
        .map(|m| parse_family(&m.attrs, 20))
        .collect::<Result<Vec<_>, _>>()?;
    families.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(families)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlbook_common::MsgBuilder;
    use nlbook_common::uapi::NLA_F_NESTED;

    fn reply_attrs() -> Vec<u8> {
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
            .finish()
            .unwrap();
        msg[16..].to_vec()
    }

    #[test]
    fn parses_a_family_and_its_groups() {
        let fam = parse_family(&reply_attrs(), 20).unwrap();
        assert_eq!(fam.id, 0x1a);
        assert_eq!(fam.name, "NLBOOK_KV");
        assert_eq!((fam.version, fam.maxattr), (1, 3));
        assert_eq!(fam.group("events").map(|g| g.id), Some(6));
        assert_eq!(fam.group("nope"), None);
        assert_eq!(
            fam.to_string(),
            "NLBOOK_KV        id 0x001a  version 1  maxattr 3    groups: events 0x6"
        );
    }

    #[test]
    fn a_truncated_reply_is_malformed_not_a_panic() {
        let attrs = reply_attrs();
        for len in 0..attrs.len() {
            let _ = parse_family(&attrs[..len], 20);
        }
        let err = parse_family(&attrs[..6], 20).unwrap_err();
        assert_eq!(err.offset, 20);
    }
}
