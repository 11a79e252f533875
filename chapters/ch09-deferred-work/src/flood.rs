//! The flooding client's requests and report. Its summary holds totals
//! only, so that it reads the same on every run: which reply came when
//! depends on the scheduler, how many came does not.

use std::fmt::Write as _;

use crate::{MAX_PAYLOAD, STALL};

/// The payload of request `index` (from 0) of client `client`: its name
/// and number, cut or padded to a length from 1 to 100 that changes from
/// request to request, so that every size gets used.
pub fn payload(client: usize, index: usize) -> Vec<u8> {
    let len = 1 + (index * 37 + client * 11) % MAX_PAYLOAD;
    let mut bytes = format!("client {client} request {index} ").into_bytes();
    bytes.extend((b'a'..=b'z').cycle().take(MAX_PAYLOAD));
    bytes.truncate(len);
    bytes
}

/// What one client saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientTotals {
    pub sent: usize,
    /// Replies with the right sequence number and exactly the payload sent.
    pub matched: usize,
    /// `send()` calls that took [`STALL`] or longer.
    pub stalled_sends: usize,
}

/// The report of a whole run.
pub fn summary(clients: usize, totals: &[ClientTotals]) -> String {
    let sent: usize = totals.iter().map(|t| t.sent).sum();
    let matched: usize = totals.iter().map(|t| t.matched).sum();
    let stalled: usize = totals.iter().map(|t| t.stalled_sends).sum();
    let mut out = String::new();
    let _ = writeln!(out, "sent {sent} requests from {clients} clients");
    let _ = writeln!(
        out,
        "got {matched} replies, each with its request's seq and exactly its payload"
    );
    let _ = writeln!(
        out,
        "send() calls that took {} s or more: {stalled} of {sent}",
        STALL.as_secs()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_cover_every_allowed_length() {
        let mut lengths: Vec<usize> = (0..200).map(|i| payload(0, i).len()).collect();
        lengths.sort_unstable();
        lengths.dedup();
        assert_eq!(lengths, (1..=MAX_PAYLOAD).collect::<Vec<_>>());
        assert_eq!(payload(2, 3), b"client 2 request 3 abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmn"[..(1 + (3 * 37 + 22) % 100)]);
    }

    #[test]
    fn the_summary_is_totals_only() {
        let one = ClientTotals {
            sent: 3,
            matched: 3,
            stalled_sends: 0,
        };
        assert_eq!(
            summary(2, &[one.clone(), one]),
            "sent 6 requests from 2 clients\n\
             got 6 replies, each with its request's seq and exactly its payload\n\
             send() calls that took 1 s or more: 0 of 6\n"
        );
    }
}
