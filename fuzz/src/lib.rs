//! Checks the fuzz targets share: where a decoded piece lies in the input,
//! and what every error and every attribute walk must satisfy.

use nlbook_common::{Malformed, RtAttrIter};

/// Where `part` starts in `whole`, if it is a slice of it (by address, so a
/// piece copied out of the input does not count).
pub fn offset_in(whole: &[u8], part: &[u8]) -> Option<usize> {
    let start = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (start + part.len() <= whole.len()).then_some(start)
}

/// An error names a place inside the input (or its end) and displays.
pub fn check_malformed(e: &Malformed, input_len: usize) {
    assert!(
        e.offset <= input_len,
        "{e}: offset {} past the input's {input_len} bytes",
        e.offset
    );
    assert!(!e.to_string().is_empty());
}

/// Walk `attrs` (offsets counted from `whole`'s start) and their payloads as
/// nested attributes, `depth` levels down: every attribute lies where its
/// offset says, inside `whole`; a walk stops after its one error.
pub fn walk_attrs(whole: &[u8], attrs: RtAttrIter<'_>, depth: usize) {
    let mut failed = false;
    let mut last_end = None;
    for attr in attrs {
        assert!(!failed, "an attribute after the walk's error");
        match attr {
            Ok(a) => {
                assert_eq!(a.offset % 4, 0, "attributes start 4-aligned");
                if let Some(end) = last_end {
                    assert!(a.offset >= end, "attributes overlap");
                }
                let payload_at = offset_in(whole, a.payload).expect("payload inside input");
                assert_eq!(payload_at, a.offset + 4, "payload right after the header");
                let len = u16::from_ne_bytes([whole[a.offset], whole[a.offset + 1]]);
                assert_eq!(usize::from(len), 4 + a.payload.len());
                let ty = u16::from_ne_bytes([whole[a.offset + 2], whole[a.offset + 3]]);
                assert_eq!(ty, a.rta_type);
                last_end = Some(payload_at + a.payload.len());
                let _ = (a.cstr(), a.u32(), a.kind(), a.is_marked_nested());
                if depth > 0 {
                    walk_attrs(whole, a.nested(), depth - 1);
                }
            }
            Err(e) => {
                check_malformed(&e, whole.len());
                failed = true;
            }
        }
    }
}
