//! The NLBOOK_KV family, as `kmod/ch11-generic-netlink/nlbook_kv.h` defines it.

use nlbook_common::{Malformed, Problem, RtAttrIter};

/// The family's name: what clients resolve, never its id.
pub const FAMILY_NAME: &str = "NLBOOK_KV";
/// `NLBOOK_KV_FAMILY_VERSION`.
pub const FAMILY_VERSION: u8 = 1;
/// The multicast group that reports every SET and DEL.
pub const MCGRP_EVENTS: &str = "events";
/// Longest key in bytes, without its NUL.
pub const KEY_MAX: usize = 31;

/// Create or replace an entry: `KEY`, `VALUE`.
pub const CMD_SET: u8 = 1;
/// Read an entry (`KEY`), or with `NLM_F_DUMP` all of them.
pub const CMD_GET: u8 = 2;
/// Remove an entry: `KEY`.
pub const CMD_DEL: u8 = 3;

/// string, NUL-terminated, 1 to 31 bytes.
pub const ATTR_KEY: u16 = 1;
/// u32.
pub const ATTR_VALUE: u16 = 2;
/// u32, kernel to user only: the namespace's change counter.
pub const ATTR_GENERATION: u16 = 3;

/// A command's name, for output.
pub fn cmd_name(cmd: u8) -> &'static str {
    match cmd {
        CMD_SET => "SET",
        CMD_GET => "GET",
        CMD_DEL => "DEL",
        _ => "?",
    }
}

/// An attribute type's name, for output.
pub fn attr_name(attr: u32) -> &'static str {
    match attr {
        1 => "KEY",
        2 => "VALUE",
        3 => "GENERATION",
        _ => "unknown",
    }
}

/// One entry as the family sends it, in replies, dumps and events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    /// `KEY`.
    pub key: String,
    /// `VALUE`.
    pub value: u32,
    /// `GENERATION`.
    pub generation: u32,
}

/// An entry's attributes as they are found, before all three are there.
#[derive(Default)]
struct Fields {
    key: Option<String>,
    value: Option<u32>,
    generation: Option<u32>,
}

impl Fields {
    /// Take one attribute; unknown types are skipped (a newer module may
    /// send more). The error says what is wrong with the payload.
    fn take(&mut self, kind: u16, payload: &[u8]) -> Result<(), &'static str> {
        let u32_of = |payload: &[u8]| payload.try_into().ok().map(u32::from_ne_bytes);
        match kind {
            ATTR_KEY => {
                let key = nlbook_common::rtattr::cstr(payload).ok_or("KEY is not UTF-8")?;
                self.key = Some(key.to_owned());
            }
            ATTR_VALUE => self.value = Some(u32_of(payload).ok_or("VALUE is not a u32")?),
            ATTR_GENERATION => {
                self.generation = Some(u32_of(payload).ok_or("GENERATION is not a u32")?);
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> Result<Entry, &'static str> {
        match (self.key, self.value, self.generation) {
            (Some(key), Some(value), Some(generation)) => Ok(Entry {
                key,
                value,
                generation,
            }),
            _ => Err("an entry without KEY, VALUE (u32) and GENERATION (u32)"),
        }
    }
}

impl Entry {
    /// Decode the attributes of a reply, dump message or event, already
    /// split by a library (neli): all three must be there.
    pub fn from_attrs<'a>(
        attrs: impl IntoIterator<Item = (u16, &'a [u8])>,
    ) -> Result<Self, String> {
        let mut fields = Fields::default();
        for (kind, payload) in attrs {
            fields.take(kind, payload)?;
        }
        Ok(fields.finish()?)
    }

    /// Decode the attributes of a reply, dump message or event as received:
    /// `attrs` starts at offset `base` of the datagram, and errors name the
    /// offset of the attribute at fault (or `base` for a missing one).
    pub fn parse(attrs: &[u8], base: usize) -> Result<Self, Malformed> {
        let mut fields = Fields::default();
        for attr in RtAttrIter::at(attrs, base) {
            let attr = attr?;
            fields
                .take(attr.kind(), attr.payload)
                .map_err(|why| malformed(attr.offset, why))?;
        }
        fields.finish().map_err(|why| malformed(base, why))
    }
}

fn malformed(offset: usize, why: &str) -> Malformed {
    Malformed {
        what: "NLBOOK_KV entry",
        offset,
        problem: Problem::Invalid(why.to_owned()),
    }
}

impl std::fmt::Display for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}={} (generation {})",
            self.key, self.value, self.generation
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nlbook_common::MsgBuilder;

    fn attrs(value: &[u8]) -> Vec<u8> {
        let msg = MsgBuilder::new(0, 0, 0)
            .attr_str(ATTR_KEY, "colour")
            .attr(ATTR_VALUE, value)
            .attr(ATTR_GENERATION, &7u32.to_ne_bytes())
            .finish()
            .unwrap();
        msg[16..].to_vec()
    }

    #[test]
    fn parses_an_entry() {
        let bytes = attrs(&3u32.to_ne_bytes());
        let e = Entry::parse(&bytes, 20).unwrap();
        assert_eq!(e.to_string(), "colour=3 (generation 7)");
        let split = RtAttrIter::new(&bytes)
            .map(|a| a.map(|a| (a.kind(), a.payload)))
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        assert_eq!(Entry::from_attrs(split), Ok(e));
    }

    #[test]
    fn names_the_attribute_at_fault() {
        // KEY takes 4 + 7 bytes, padded to 12: VALUE starts at 20 + 12.
        let err = Entry::parse(&attrs(&[3, 0]), 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed NLBOOK_KV entry at offset 32: VALUE is not a u32"
        );
        let all = attrs(&3u32.to_ne_bytes());
        let err = Entry::parse(&all[..12], 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed NLBOOK_KV entry at offset 20: an entry without KEY, VALUE (u32) and \
             GENERATION (u32)"
        );
        let err = Entry::parse(&all[..14], 20).unwrap_err();
        assert_eq!(
            err.to_string(),
            "malformed rtattr at offset 32: needs 4 bytes, only 2 left"
        );
    }
}
