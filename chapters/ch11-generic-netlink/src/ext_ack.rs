//! An extended ACK: the errno of an `NLMSG_ERROR` and what the kernel said
//! about it, told the same way by the raw and the neli clients.

use std::fmt;

use nlbook_common::Errno;
use nlbook_common::genl::GENL_HDRLEN;
use nlbook_common::nlmsg::NLMSG_HDRLEN;
use nlbook_common::rtattr::RtAttrIter;

use crate::kv::attr_name;

/// A request the kernel refused, with what its extended ACK said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The error.
    pub errno: Errno,
    /// `NLMSGERR_ATTR_MSG`.
    pub message: Option<String>,
    /// `NLMSGERR_ATTR_OFFS`: where the attribute at fault starts in the
    /// request, counted from its `nlmsghdr`.
    pub offset: Option<u32>,
    /// The type of the attribute found at `offset` in the request we sent.
    pub attr_at_offset: Option<u16>,
    /// `NLMSGERR_ATTR_MISS_TYPE`: a required attribute that was missing.
    pub missing_type: Option<u32>,
}

/// The type of the attribute that starts `offset` bytes into `request` (a
/// whole generic netlink request: headers, then attributes).
pub fn attr_at(request: &[u8], offset: u32) -> Option<u16> {
    let start = NLMSG_HDRLEN + GENL_HDRLEN;
    let attrs = request.get(start..)?;
    RtAttrIter::at(attrs, start)
        .map_while(Result::ok)
        .find(|a| a.offset == offset as usize)
        .map(|a| a.kind())
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.errno)?;
        match &self.message {
            Some(m) => write!(f, " \"{m}\"")?,
            None => write!(f, " (no message)")?,
        }
        if let Some(offset) = self.offset {
            write!(f, ", attribute at offset {offset}")?;
            if let Some(kind) = self.attr_at_offset {
                write!(f, " ({} = {kind})", attr_name(u32::from(kind)))?;
            }
        }
        if let Some(kind) = self.missing_type {
            write!(f, ", missing attribute {} = {kind}", attr_name(kind))?;
        }
        Ok(())
    }
}

impl std::error::Error for Refusal {}

#[cfg(test)]
mod tests {
    use super::*;
    use nlbook_common::genl::request;

    #[test]
    fn finds_the_attribute_at_an_offset() {
        let bytes = request(0x20, 1, 1, 1, 1)
            .attr_str(1, "colour")
            .attr(2, &[7, 0])
            .finish()
            .unwrap();
        assert_eq!(attr_at(&bytes, 20), Some(1));
        assert_eq!(attr_at(&bytes, 32), Some(2));
        assert_eq!(attr_at(&bytes, 24), None);
        assert_eq!(attr_at(&bytes[..10], 20), None);
    }

    #[test]
    fn reads_as_one_line() {
        let r = Refusal {
            errno: Errno(libc::EINVAL),
            message: Some("invalid attribute length".into()),
            offset: Some(32),
            attr_at_offset: Some(2),
            missing_type: None,
        };
        assert_eq!(
            r.to_string(),
            "EINVAL (22) \"invalid attribute length\", attribute at offset 32 (VALUE = 2)"
        );
        let r = Refusal {
            errno: Errno(libc::EINVAL),
            message: None,
            offset: None,
            attr_at_offset: None,
            missing_type: Some(2),
        };
        assert_eq!(
            r.to_string(),
            "EINVAL (22) (no message), missing attribute VALUE = 2"
        );
    }
}
