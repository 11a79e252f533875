//! Chapter 11: nlctrl's `CTRL_CMD_GETFAMILY` answers
//! (`nlctrl::parse_family`, nested multicast groups) and the NLBOOK_KV
//! family's entries (`kv::Entry::parse`).
#![no_main]

use ch11_generic_netlink::{kv, nlctrl};
use libfuzzer_sys::fuzz_target;
use nlbook_fuzz::check_malformed;

/// Where the attributes start: after nlmsghdr (16) and genlmsghdr (4).
const BASE: usize = 20;

fuzz_target!(|data: &[u8]| {
    let end = BASE + data.len();
    match nlctrl::parse_family(data, BASE) {
        Ok(family) => {
            assert!(data.len() >= 8, "an id and a name need two attributes");
            let _ = family.to_string();
        }
        Err(e) => {
            check_malformed(&e, end);
            assert!(e.offset >= BASE);
        }
    }
    match kv::Entry::parse(data, BASE) {
        Ok(entry) => assert!(entry.key.len() < data.len()),
        Err(e) => {
            check_malformed(&e, end);
            assert!(e.offset >= BASE);
        }
    }
});
