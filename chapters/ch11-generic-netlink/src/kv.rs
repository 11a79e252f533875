//! The NLBOOK_KV family, as `kmod/ch11-generic-netlink/nlbook_kv.h` defines it.

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

impl Entry {
    /// Decode the attributes of a reply, dump message or event: all three
    /// must be there.
    pub fn from_attrs<'a>(
        attrs: impl IntoIterator<Item = (u16, &'a [u8])>,
    ) -> Result<Self, String> {
        let (mut key, mut value, mut generation) = (None, None, None);
        for (kind, payload) in attrs {
            match kind {
                ATTR_KEY => key = nlbook_common::rtattr::cstr(payload).map(str::to_owned),
                ATTR_VALUE => value = payload.try_into().ok().map(u32::from_ne_bytes),
                ATTR_GENERATION => generation = payload.try_into().ok().map(u32::from_ne_bytes),
                _ => {}
            }
        }
        match (key, value, generation) {
            (Some(key), Some(value), Some(generation)) => Ok(Entry {
                key,
                value,
                generation,
            }),
            _ => Err("an entry without KEY, VALUE (u32) and GENERATION (u32)".to_owned()),
        }
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
