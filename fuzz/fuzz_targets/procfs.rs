//! `/proc/net/netlink`, parsed (`nlbook_common::procfs::parse`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nlbook_common::procfs;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.lines().count();
    match procfs::parse(text) {
        // One entry per line after the header.
        Ok(entries) => assert_eq!(entries.len(), lines.saturating_sub(1)),
        Err(e) => {
            assert!(
                e.line >= 1 && e.line <= lines.max(1),
                "{e}: line out of range"
            );
            assert!(
                e.offset <= text.len(),
                "{e}: offset {} out of range",
                e.offset
            );
            assert!(!e.to_string().is_empty());
        }
    }
});
