//! Reading a family's attribute policies back from the kernel:
//! `CTRL_CMD_GETPOLICY`, a dump of nlctrl. For each operation it names the
//! policy of its `do` and its `dump`; for each policy, each attribute's
//! type and the limits the kernel checks (value range, length, mask), and
//! for a nested attribute the policy its content follows. Attributes a
//! policy rejects outright (`NLA_REJECT`) are not reported.

use std::collections::BTreeMap;
use std::fmt;

use nlbook_common::RtAttr;
use nlbook_common::genl::{CTRL_ATTR_FAMILY_NAME, GENL_ID_CTRL, request};
use nlbook_common::rtattr::RtAttrIter;
use nlbook_common::uapi::{NLM_F_DUMP, NLM_F_REQUEST};

use crate::genl_socket::{GenlError, GenlSocket};

/// `CTRL_CMD_GETPOLICY` (`linux/genetlink.h`).
pub const CTRL_CMD_GETPOLICY: u8 = 10;
/// `CTRL_ATTR_POLICY`: policy index -> attribute type -> its description.
pub const CTRL_ATTR_POLICY: u16 = 8;
/// `CTRL_ATTR_OP_POLICY`: operation -> the policies of its do and dump.
pub const CTRL_ATTR_OP_POLICY: u16 = 9;
/// `CTRL_ATTR_OP`: ask about one operation only.
pub const CTRL_ATTR_OP: u16 = 10;
/// `CTRL_ATTR_POLICY_DO`, `CTRL_ATTR_POLICY_DUMP`.
const CTRL_ATTR_POLICY_DO: u16 = 1;
const CTRL_ATTR_POLICY_DUMP: u16 = 2;

/// `enum netlink_policy_type_attr` (`linux/netlink.h`).
const NL_POLICY_TYPE_ATTR_TYPE: u16 = 1;
const NL_POLICY_TYPE_ATTR_MIN_VALUE_S: u16 = 2;
const NL_POLICY_TYPE_ATTR_MAX_VALUE_S: u16 = 3;
const NL_POLICY_TYPE_ATTR_MIN_VALUE_U: u16 = 4;
const NL_POLICY_TYPE_ATTR_MAX_VALUE_U: u16 = 5;
const NL_POLICY_TYPE_ATTR_MIN_LENGTH: u16 = 6;
const NL_POLICY_TYPE_ATTR_MAX_LENGTH: u16 = 7;
const NL_POLICY_TYPE_ATTR_POLICY_IDX: u16 = 8;
const NL_POLICY_TYPE_ATTR_POLICY_MAXTYPE: u16 = 9;
const NL_POLICY_TYPE_ATTR_BITFIELD32_MASK: u16 = 10;
const NL_POLICY_TYPE_ATTR_MASK: u16 = 12;

/// `enum netlink_attribute_type`, by name.
fn type_name(t: u32) -> String {
    const NAMES: [&str; 16] = [
        "INVALID",
        "FLAG",
        "U8",
        "U16",
        "U32",
        "U64",
        "S8",
        "S16",
        "S32",
        "S64",
        "BINARY",
        "STRING",
        "NUL_STRING",
        "NESTED",
        "NESTED_ARRAY",
        "BITFIELD32",
    ];
    usize::try_from(t)
        .ok()
        .and_then(|i| NAMES.get(i))
        .map_or_else(|| format!("type {t}"), |n| (*n).to_owned())
}

/// What the kernel checks about one attribute.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AttrPolicy {
    /// `NL_ATTR_TYPE_*`.
    pub kind: u32,
    /// Unsigned or signed value range, as the kernel reports it.
    pub range: Option<(i128, i128)>,
    /// Length limits of a string or binary attribute.
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    /// For a nested attribute: the policy its content follows, and that
    /// policy's highest attribute type.
    pub nested: Option<(u32, u32)>,
    /// The bits a value may have set.
    pub mask: Option<u64>,
}

impl fmt::Display for AttrPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&type_name(self.kind))?;
        if let Some((min, max)) = self.range {
            write!(f, ", {min}..={max}")?;
        }
        match (self.min_length, self.max_length) {
            (Some(min), Some(max)) => write!(f, ", length {min}..={max}")?,
            (None, Some(max)) => write!(f, ", length at most {max}")?,
            (Some(min), None) => write!(f, ", length at least {min}")?,
            (None, None) => {}
        }
        if let Some((idx, maxtype)) = self.nested {
            write!(f, ", content: policy {idx} (types 1 to {maxtype})")?;
        }
        if let Some(mask) = self.mask {
            write!(f, ", mask {mask:#x}")?;
        }
        Ok(())
    }
}

/// A family's policies as `CTRL_CMD_GETPOLICY` reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Policies {
    /// Operation -> (policy of its do, policy of its dump).
    pub ops: BTreeMap<u32, (Option<u32>, Option<u32>)>,
    /// Policy index -> attribute type -> what is checked.
    pub policies: BTreeMap<u32, BTreeMap<u16, AttrPolicy>>,
}

fn unexpected(attr: &RtAttr<'_>, what: &str) -> GenlError {
    GenlError::Unexpected(format!(
        "{what} at offset {}: {} bytes",
        attr.offset,
        attr.payload.len()
    ))
}

fn u32_of(attr: &RtAttr<'_>) -> Result<u32, GenlError> {
    attr.u32().ok_or_else(|| unexpected(attr, "not a u32"))
}

fn eight_bytes(attr: &RtAttr<'_>) -> Result<[u8; 8], GenlError> {
    attr.payload
        .try_into()
        .map_err(|_| unexpected(attr, "not a 64-bit value"))
}

fn u64_of(attr: &RtAttr<'_>) -> Result<u64, GenlError> {
    eight_bytes(attr).map(u64::from_ne_bytes)
}

fn i64_of(attr: &RtAttr<'_>) -> Result<i64, GenlError> {
    eight_bytes(attr).map(i64::from_ne_bytes)
}

// ANCHOR: attr_policy
/// One attribute's description: a nest of `NL_POLICY_TYPE_ATTR_*`.
fn attr_policy(desc: &RtAttr<'_>) -> Result<AttrPolicy, GenlError> {
    let mut p = AttrPolicy::default();
    let (mut min, mut max) = (None, None);
    let mut nested = (None, None);
    for field in desc.nested() {
        let field = field?;
        match field.kind() {
            NL_POLICY_TYPE_ATTR_TYPE => p.kind = u32_of(&field)?,
            NL_POLICY_TYPE_ATTR_MIN_VALUE_U => min = Some(i128::from(u64_of(&field)?)),
            NL_POLICY_TYPE_ATTR_MAX_VALUE_U => max = Some(i128::from(u64_of(&field)?)),
            NL_POLICY_TYPE_ATTR_MIN_VALUE_S => min = Some(i128::from(i64_of(&field)?)),
            NL_POLICY_TYPE_ATTR_MAX_VALUE_S => max = Some(i128::from(i64_of(&field)?)),
            NL_POLICY_TYPE_ATTR_MIN_LENGTH => p.min_length = Some(u32_of(&field)?),
            NL_POLICY_TYPE_ATTR_MAX_LENGTH => p.max_length = Some(u32_of(&field)?),
            NL_POLICY_TYPE_ATTR_POLICY_IDX => nested.0 = Some(u32_of(&field)?),
            NL_POLICY_TYPE_ATTR_POLICY_MAXTYPE => nested.1 = Some(u32_of(&field)?),
            NL_POLICY_TYPE_ATTR_MASK => p.mask = Some(u64_of(&field)?),
            NL_POLICY_TYPE_ATTR_BITFIELD32_MASK => p.mask = Some(u64::from(u32_of(&field)?)),
            _ => {}
        }
    }
    p.range = min.zip(max);
    p.nested = nested.0.zip(nested.1);
    Ok(p)
}
// ANCHOR_END: attr_policy

/// Add the attributes of one `CTRL_CMD_GETPOLICY` answer to `into`.
fn add_answer(attrs: &[u8], into: &mut Policies) -> Result<(), GenlError> {
    for attr in RtAttrIter::new(attrs) {
        let attr = attr?;
        match attr.kind() {
            CTRL_ATTR_OP_POLICY => {
                for op in attr.nested() {
                    let op = op?;
                    let entry = into.ops.entry(u32::from(op.kind())).or_default();
                    for which in op.nested() {
                        let which = which?;
                        match which.kind() {
                            CTRL_ATTR_POLICY_DO => entry.0 = Some(u32_of(&which)?),
                            CTRL_ATTR_POLICY_DUMP => entry.1 = Some(u32_of(&which)?),
                            _ => {}
                        }
                    }
                }
            }
            CTRL_ATTR_POLICY => {
                for policy in attr.nested() {
                    let policy = policy?;
                    let attrs = into.policies.entry(u32::from(policy.kind())).or_default();
                    for desc in policy.nested() {
                        let desc = desc?;
                        attrs.insert(desc.kind(), attr_policy(&desc)?);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

// ANCHOR: get_policy
/// The policies of family `name`, of every operation or of `op` alone.
pub fn get_policy(sock: &GenlSocket, name: &str, op: Option<u32>) -> Result<Policies, GenlError> {
    let seq = sock.next_seq();
    let mut req = request(
        GENL_ID_CTRL,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        CTRL_CMD_GETPOLICY,
        2,
    )
    .attr_str(CTRL_ATTR_FAMILY_NAME, name);
    if let Some(op) = op {
        req = req.attr(CTRL_ATTR_OP, &op.to_ne_bytes());
    }
    let req = req
        .finish()
        .map_err(|e| GenlError::Unexpected(e.to_string()))?;
    let mut policies = Policies::default();
    for answer in sock.transact(&req, seq)? {
        add_answer(&answer.attrs, &mut policies)?;
    }
    Ok(policies)
}
// ANCHOR_END: get_policy

impl fmt::Display for Policies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (op, (doit, dumpit)) in &self.ops {
            let show = |p: &Option<u32>| p.map_or("-".to_owned(), |i| format!("policy {i}"));
            writeln!(f, "  op {op}: do {}, dump {}", show(doit), show(dumpit))?;
        }
        for (idx, attrs) in &self.policies {
            writeln!(f, "  policy {idx}:")?;
            for (ty, p) in attrs {
                writeln!(f, "    attr {ty}: {p}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlbook_common::MsgBuilder;
    use nlbook_common::uapi::NLA_F_NESTED;

    #[test]
    fn a_nested_attribute_names_its_policy() {
        let msg = MsgBuilder::new(0, 0, 0)
            .nested(CTRL_ATTR_POLICY | NLA_F_NESTED, |b| {
                b.nested(NLA_F_NESTED, |b| {
                    b.nested(1 | NLA_F_NESTED, |b| {
                        b.attr(NL_POLICY_TYPE_ATTR_TYPE, &13u32.to_ne_bytes())
                            .attr(NL_POLICY_TYPE_ATTR_POLICY_IDX, &1u32.to_ne_bytes())
                            .attr(NL_POLICY_TYPE_ATTR_POLICY_MAXTYPE, &3u32.to_ne_bytes())
                    })
                    .nested(2 | NLA_F_NESTED, |b| {
                        b.attr(NL_POLICY_TYPE_ATTR_TYPE, &4u32.to_ne_bytes())
                            .attr(NL_POLICY_TYPE_ATTR_MIN_VALUE_U, &1u64.to_ne_bytes())
                            .attr(NL_POLICY_TYPE_ATTR_MAX_VALUE_U, &128u64.to_ne_bytes())
                    })
                })
            })
            .finish()
            .unwrap();
        let mut p = Policies::default();
        add_answer(&msg[16..], &mut p).unwrap();
        assert_eq!(
            p.to_string(),
            "  policy 0:\n    attr 1: NESTED, content: policy 1 (types 1 to 3)\n    attr 2: U32, 1..=128\n"
        );
    }

    #[test]
    fn truncated_answers_are_errors_not_panics() {
        let msg = MsgBuilder::new(0, 0, 0)
            .nested(CTRL_ATTR_POLICY | NLA_F_NESTED, |b| {
                b.nested(NLA_F_NESTED, |b| {
                    b.nested(1 | NLA_F_NESTED, |b| {
                        b.attr(NL_POLICY_TYPE_ATTR_TYPE, &4u32.to_ne_bytes())
                    })
                })
            })
            .finish()
            .unwrap();
        for len in 16..msg.len() {
            let _ = add_answer(&msg[16..len], &mut Policies::default());
        }
    }
}
