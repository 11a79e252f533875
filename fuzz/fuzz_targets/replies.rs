//! The chapters' readers of whole answers, built on the common walk:
//! chapter 2's `single_message`, chapter 6's address events, burst
//! messages and uevents, chapter 9's `parse_answer`, chapter 10's
//! `answer`, chapter 12's `NLMSG_ERROR` / `NLMSG_DONE` readers and
//! chapter 13's `message_index`.
#![no_main]

use ch06_enobufs::{addr, burst, uevent};
use ch09_deferred_work::answer::{self, Answer};
use ch12_request_response::receive::Arrival;
use libfuzzer_sys::fuzz_target;
use nlbook_common::{NLMSG_HDRLEN, NlMsgIter};
use nlbook_fuzz::check_malformed;

fuzz_target!(|data: &[u8]| {
    let first = NlMsgIter::new(data).next();
    let one_message = NlMsgIter::new(data).count() == 1;

    if let Ok((header, payload)) = ch02_addresses::ports::single_message(data) {
        assert!(one_message);
        assert_eq!(header.nlmsg_len as usize, NLMSG_HDRLEN + payload.len());
    }
    match answer::parse_answer(data) {
        Ok(Answer::Reply { payload, .. }) => assert!(payload.len() + NLMSG_HDRLEN <= data.len()),
        Ok(Answer::Nothing) => panic!("a datagram is never 'nothing'"),
        Ok(_) => assert!(one_message),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    match burst::message_number(data) {
        Ok(n) => assert!(
            matches!(first, Some(Ok(m)) if m.payload.get(..4) == Some(&n.to_ne_bytes()[..]))
        ),
        Err(e) => check_malformed(&e, data.len()),
    }
    if let Ok(index) = ch13_performance::message_index(data) {
        assert_eq!(data[16..24], index.to_ne_bytes());
    }
    if let Some(ev) = uevent::parse(data) {
        assert!(ev.action.len() + ev.devpath.len() < data.len());
    }
    for msg in NlMsgIter::new(data).flatten() {
        match addr::decode(&msg) {
            Ok(Some(ev)) => assert!(addr::parse(&msg) == Some(ev)),
            Ok(None) => assert!(addr::parse(&msg).is_none()),
            Err(e) => {
                check_malformed(&e, data.len());
                assert!(addr::parse(&msg).is_none());
            }
        }
        if let Err(e) = ch10_porting_legacy::answer(&msg) {
            check_malformed(&e, data.len());
        }
        let arrival = Arrival {
            recv: 1,
            header: msg.header,
            payload: msg.payload.to_vec(),
        };
        match arrival.error() {
            Ok(Some(e)) => assert!(e.echoed_len == msg.payload.len()),
            Ok(None) => assert_ne!(msg.header.nlmsg_type, nlbook_common::uapi::NLMSG_ERROR),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
        let _ = arrival.done_error();
    }
});
