//! Chapter 5: XFRM SA events (`xfrm::decode_sa_event`: `NEWSA` with its
//! `xfrm_usersa_info`, `DELSA` with its `xfrm_usersa_id`, the algorithm and
//! `XFRMA_SA` attributes) and the netdev module's events
//! (`netdev::decode_event`).
#![no_main]

use ch05_events::{netdev, xfrm};
use libfuzzer_sys::fuzz_target;
use nlbook_common::NlMsgIter;
use nlbook_fuzz::check_malformed;

fuzz_target!(|data: &[u8]| {
    match xfrm::decode_sa_event(data) {
        Ok(event) => {
            // The clock fields a snapshot zeroes lie inside the message.
            for range in xfrm::clock_fields(&event) {
                assert!(
                    range.end <= data.len(),
                    "{range:?} past {} bytes",
                    data.len()
                );
            }
            let _ = format!("{event:?}");
        }
        Err(e) => check_malformed(&e, data.len()),
    }
    for msg in NlMsgIter::new(data).flatten() {
        match netdev::decode_event(msg.header.nlmsg_type, msg.payload) {
            Ok(event) => {
                assert_eq!(msg.payload.len(), netdev::EVENT_LEN);
                assert!(event.name.len() < netdev::EVENT_LEN - 4);
                let _ = event.to_string();
            }
            Err(e) => check_malformed(&e, msg.payload.len() + 16),
        }
    }
});
