//! The hostile client's cases: requests whose lengths are chosen to expose
//! a module that trusts them, what the fixed module must answer to each,
//! and what the tutorial's `memcpy(str, NLMSG_DATA(nlh), 100)` answers.
//!
//! Reports never show the bytes a module adds: they are kernel memory, and
//! differ from run to run. Only their number is shown.

use nlbook_common::{Errno, NLMSG_HDRLEN};

use crate::MAX_PAYLOAD;
use crate::answer::Answer;
use crate::request::{batch, request, request_claiming};

/// What the client checks the module against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// The fixed design: every request answered by its own payload, every
    /// lie refused with the right errno.
    Correct,
    /// The tutorial's input handling (`copy_100.ko`): one reply of exactly
    /// 100 bytes to every datagram, starting with whatever the client sent
    /// after the first header.
    Leaky,
}

/// An answer the fixed module owes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Due {
    Reply { seq: u32, payload: Vec<u8> },
    Refused { seq: u32, errno: Errno },
}

/// One hostile request.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: &'static str,
    /// What is sent, in words.
    pub about: String,
    /// The datagram, exactly as sent.
    pub datagram: Vec<u8>,
    /// What the fixed module answers, in order.
    pub due: Vec<Due>,
}

impl Case {
    /// The bytes of the datagram after its first header: all a module that
    /// reads `NLMSG_DATA(nlh)` without checking can have got from us.
    pub fn sent_after_header(&self) -> &[u8] {
        self.datagram.get(NLMSG_HDRLEN..).unwrap_or_default()
    }

    /// How many answers to wait for.
    pub fn answers_due(&self, expect: Expect) -> usize {
        match expect {
            Expect::Correct => self.due.len(),
            Expect::Leaky => 1,
        }
    }
}

/// The names of the cases, in the order they run.
pub const CASE_NAMES: &[&str] = &[
    "short",
    "longest",
    "empty",
    "too-long",
    "len-past-end",
    "len-below-header",
    "truncated-header",
    "two-in-one",
];

fn pattern(len: usize) -> Vec<u8> {
    (b'a'..=b'z').cycle().take(len).collect()
}

// ANCHOR: cases
/// Every case; case `i` uses sequence numbers from `100 * (i + 1)`.
pub fn cases() -> Vec<Case> {
    let einval = Errno(libc::EINVAL);
    let reply = |seq, payload: &[u8]| Due::Reply {
        seq,
        payload: payload.to_vec(),
    };
    let refused = |seq, errno| Due::Refused { seq, errno };
    vec![
        Case {
            name: "short",
            about: "a 5-byte payload, \"hello\"".into(),
            datagram: request(100, b"hello"),
            due: vec![reply(100, b"hello")],
        },
        Case {
            name: "longest",
            about: format!("a {MAX_PAYLOAD}-byte payload, the most allowed"),
            datagram: request(200, &pattern(MAX_PAYLOAD)),
            due: vec![reply(200, &pattern(MAX_PAYLOAD))],
        },
        Case {
            name: "empty",
            about: "a header and no payload".into(),
            datagram: request(300, b""),
            due: vec![refused(300, einval)],
        },
        Case {
            name: "too-long",
            about: format!("a {}-byte payload", MAX_PAYLOAD + 1),
            datagram: request(400, &pattern(MAX_PAYLOAD + 1)),
            due: vec![refused(400, Errno(libc::EMSGSIZE))],
        },
        Case {
            name: "len-past-end",
            about: "\"hello\" with nlmsg_len 121: 100 bytes more than sent".into(),
            datagram: request_claiming(500, 121, b"hello"),
            due: vec![refused(500, einval)],
        },
        Case {
            name: "len-below-header",
            about: "\"hello\" with nlmsg_len 8: less than the header itself".into(),
            datagram: request_claiming(600, 8, b"hello"),
            due: vec![refused(600, einval)],
        },
        Case {
            name: "truncated-header",
            about: "8 bytes: the first half of a header".into(),
            datagram: request(700, b"")[..8].to_vec(),
            // The sequence number was in the half that never came.
            due: vec![refused(0, einval)],
        },
        Case {
            name: "two-in-one",
            about: "two requests in one datagram, \"hello\" and \"abc\"".into(),
            datagram: batch(&[(800, b"hello"), (801, b"abc")]),
            due: vec![reply(800, b"hello"), reply(801, b"abc")],
        },
    ]
}
// ANCHOR_END: cases

/// One answer, described without showing any byte the client did not send.
pub fn describe(case: &Case, answer: &Answer) -> String {
    let Answer::Reply { payload, .. } = answer else {
        return answer.to_string();
    };
    let own = case.due.iter().any(|d| match d {
        Due::Reply { payload: p, .. } => p == payload,
        Due::Refused { .. } => false,
    });
    if own {
        return format!("{answer}: exactly the payload sent");
    }
    let sent = case.sent_after_header();
    let common = payload.len().min(sent.len());
    if payload[..common] != sent[..common] {
        return format!("{answer}, not the bytes sent (values not shown)");
    }
    format!(
        "{answer}: {common} the client sent after the header, {} it never sent (kernel memory, values not shown)",
        payload.len() - common
    )
}

/// Judge the answers one case got; `Err` says what is wrong.
pub fn judge(case: &Case, expect: Expect, answers: &[Answer]) -> Result<(), String> {
    match expect {
        Expect::Correct => judge_correct(case, answers),
        Expect::Leaky => judge_leaky(case, answers),
    }
}

fn judge_correct(case: &Case, answers: &[Answer]) -> Result<(), String> {
    for (i, due) in case.due.iter().enumerate() {
        let got = answers.get(i).unwrap_or(&Answer::Nothing);
        let right = match (due, got) {
            (
                Due::Reply { seq, payload },
                Answer::Reply {
                    seq: s, payload: p, ..
                },
            ) => s == seq && p == payload,
            (Due::Refused { seq, errno }, Answer::Refused { seq: s, errno: e }) => {
                s == seq && e == errno
            }
            _ => false,
        };
        if !right {
            return Err(format!(
                "expected {}, got {}",
                due_text(due),
                describe(case, got)
            ));
        }
    }
    Ok(())
}

fn due_text(due: &Due) -> String {
    match due {
        Due::Reply { seq, payload } => {
            format!("a reply of {} bytes with seq {seq}", payload.len())
        }
        Due::Refused { seq, errno } => format!("refused: {errno} with seq {seq}"),
    }
}

fn judge_leaky(case: &Case, answers: &[Answer]) -> Result<(), String> {
    let sent = case.sent_after_header();
    match answers.first() {
        Some(Answer::Reply { payload, .. })
            if payload.len() == MAX_PAYLOAD
                && payload[..sent.len().min(MAX_PAYLOAD)]
                    == sent[..sent.len().min(MAX_PAYLOAD)] =>
        {
            Ok(())
        }
        Some(other) => Err(format!(
            "expected the tutorial's {MAX_PAYLOAD}-byte reply, got {}",
            describe(case, other)
        )),
        None => Err("no answer".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(name: &str) -> Case {
        cases().into_iter().find(|c| c.name == name).unwrap()
    }

    fn reply(seq: u32, payload: &[u8]) -> Answer {
        Answer::Reply {
            seq,
            msg_type: 0x10,
            payload: payload.to_vec(),
        }
    }

    #[test]
    fn the_names_list_every_case_in_order() {
        let names: Vec<&str> = cases().iter().map(|c| c.name).collect();
        assert_eq!(names, CASE_NAMES);
    }

    #[test]
    fn the_lies_are_in_the_datagrams() {
        assert_eq!(case("short").datagram.len(), 21);
        let past = case("len-past-end");
        assert_eq!(
            (past.datagram.len(), &past.datagram[..4]),
            (21, &121u32.to_ne_bytes()[..])
        );
        assert_eq!(&case("len-below-header").datagram[..4], &8u32.to_ne_bytes());
        assert_eq!(case("truncated-header").datagram.len(), 8);
        assert_eq!(case("two-in-one").datagram.len(), 24 + 19);
    }

    #[test]
    fn the_fixed_answers_pass_and_a_leak_fails() {
        let short = case("short");
        assert!(judge(&short, Expect::Correct, &[reply(100, b"hello")]).is_ok());
        let mut leak = b"hello".to_vec();
        leak.resize(100, 0xAA);
        let why = judge(&short, Expect::Correct, &[reply(100, &leak)]).unwrap_err();
        assert_eq!(
            why,
            "expected a reply of 5 bytes with seq 100, got a reply of 100 bytes: 5 the client sent after the header, 95 it never sent (kernel memory, values not shown)"
        );
        // The leaked bytes' values never appear in a report.
        assert!(!why.contains("aa") && !why.contains("170"));
    }

    #[test]
    fn a_refusal_needs_the_right_errno_and_seq() {
        let empty = case("empty");
        let refused = |seq, e| Answer::Refused {
            seq,
            errno: Errno(e),
        };
        assert!(judge(&empty, Expect::Correct, &[refused(300, libc::EINVAL)]).is_ok());
        assert!(judge(&empty, Expect::Correct, &[refused(300, libc::EMSGSIZE)]).is_err());
        assert!(judge(&empty, Expect::Correct, &[refused(301, libc::EINVAL)]).is_err());
        assert!(judge(&empty, Expect::Correct, &[Answer::Nothing]).is_err());
    }

    #[test]
    fn two_in_one_needs_both_replies_in_order() {
        let two = case("two-in-one");
        assert_eq!(two.answers_due(Expect::Correct), 2);
        let good = [reply(800, b"hello"), reply(801, b"abc")];
        assert!(judge(&two, Expect::Correct, &good).is_ok());
        assert!(judge(&two, Expect::Correct, &good[..1]).is_err());
        let swapped = [reply(801, b"abc"), reply(800, b"hello")];
        assert!(judge(&two, Expect::Correct, &swapped).is_err());
    }

    #[test]
    fn the_leaky_expectation_is_100_bytes_starting_with_what_was_sent() {
        let two = case("two-in-one");
        let mut leak = two.sent_after_header().to_vec();
        assert_eq!(leak.len(), 27);
        leak.resize(100, 0);
        assert!(judge(&two, Expect::Leaky, &[reply(800, &leak)]).is_ok());
        assert!(judge(&two, Expect::Leaky, &[reply(800, b"hello")]).is_err());
        let truncated = case("truncated-header");
        assert!(judge(&truncated, Expect::Leaky, &[reply(0, &[9; 100])]).is_ok());
        assert_eq!(
            describe(&truncated, &reply(0, &[9; 100])),
            "a reply of 100 bytes: 0 the client sent after the header, 100 it never sent (kernel memory, values not shown)"
        );
        let too_long = case("too-long");
        assert!(judge(&too_long, Expect::Leaky, &[reply(400, &pattern(100))]).is_ok());
    }
}
