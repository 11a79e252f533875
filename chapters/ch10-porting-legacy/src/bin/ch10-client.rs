//! `ch10-client`: talk to the ported legacy module on NETLINK_TEST (25).
//!
//! ```text
//! ch10-client
//! ```
//!
//! A fixed script, one message at a time, each answer checked: requests the
//! kernel thread answers, cancelling the timer's reminder (twice: the second
//! time there is none), the length limits, an unknown type, and then the
//! reminder itself, exactly once. The output holds no port ids and no
//! timings, so it is the same on every run. Exit status 0 when every answer
//! is the one the protocol promises, 1 otherwise.

use std::collections::VecDeque;
use std::process::ExitCode;
use std::time::Duration;

use ch10_porting_legacy::{
    Answer, CANCEL, NETLINK_TEST, REMIND_DELAY, REQUEST, TEXT_MAX, answer, expected_reminder,
    expected_reply, message,
};
use nlbook_common::uapi::{NETLINK_EXT_ACK, NLM_F_ACK, NLM_F_REQUEST, SOL_NETLINK};
use nlbook_common::{Errno, NlMsgIter, NlSocket};

/// How long one answer may take. The thread answers at once; the VM is slow.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// After the reminder: long enough for a second one, had the timer been
/// armed twice instead of moved.
const QUIET_AFTER_REMINDER: Duration = Duration::from_millis(1500);
const RECV_BUF_LEN: usize = 8192;

/// What a step expects back.
enum Expect {
    Exactly(Answer),
    /// Only the errno is the protocol's; the message is the module's wording.
    Errno(Errno),
}

struct Client {
    sock: NlSocket,
    seq: u32,
    pending: VecDeque<Answer>,
    failures: usize,
}

impl Client {
    fn next_answer(&mut self, timeout: Duration) -> Result<Option<Answer>, String> {
        if let Some(a) = self.pending.pop_front() {
            return Ok(Some(a));
        }
        self.sock
            .set_recv_timeout(timeout)
            .map_err(|e| e.to_string())?;
        let mut buf = vec![0u8; RECV_BUF_LEN];
        let got = match self.sock.recv(&mut buf) {
            Ok(got) => got,
            Err(e) if e.errno == Errno(libc::EAGAIN) => return Ok(None),
            Err(e) => return Err(e.to_string()),
        };
        if got.truncated() {
            return Err(format!("a {}-byte datagram was cut", got.datagram_len));
        }
        if got.from_portid != 0 {
            return Err(format!("a datagram from port {}", got.from_portid));
        }
        for msg in NlMsgIter::new(&buf[..got.len]) {
            let msg = msg.map_err(|e| e.to_string())?;
            self.pending
                .push_back(answer(&msg).map_err(|e| e.to_string())?);
        }
        Ok(self.pending.pop_front())
    }

    /// Sends one message and checks the one answer it must get.
    fn step(&mut self, what: &str, nlmsg_type: u16, flags: u16, payload: &[u8], expect: Expect) {
        self.seq += 1;
        let seq = self.seq;
        println!("seq {seq}: {what}");
        let sent = self
            .sock
            .send_to(&message(nlmsg_type, flags, seq, payload), 0, 0);
        if let Err(e) = sent {
            self.fail(&format!("{e}"));
            return;
        }
        let got = match self.next_answer(ANSWER_TIMEOUT) {
            Ok(Some(got)) => got,
            Ok(None) => {
                self.fail(&format!("no answer within {ANSWER_TIMEOUT:?}"));
                return;
            }
            Err(e) => {
                self.fail(&e);
                return;
            }
        };
        println!("  answer: {got}");
        let ok = match (&expect, &got) {
            (Expect::Exactly(want), got) => want == got,
            (Expect::Errno(want), Answer::Rejected { seq: s, errno, .. }) => {
                *s == seq && errno == want
            }
            (Expect::Errno(_), _) => false,
        };
        if !ok {
            let want = match expect {
                Expect::Exactly(a) => a.to_string(),
                Expect::Errno(e) => format!("seq {seq} rejected: {e}"),
            };
            self.fail(&format!("expected {want}"));
        }
    }

    fn fail(&mut self, why: &str) {
        println!("  WRONG: {why}");
        self.failures += 1;
    }
}

fn run() -> Result<usize, String> {
    let sock = NlSocket::open(NETLINK_TEST).map_err(|e| {
        format!(
            "{e}: kthread_ported.ko is not loaded (it runs in the VM lab: \
             cargo xtask lab --chapter ch10-porting-legacy)"
        )
    })?;
    // The module explains its rejections in extended ACKs.
    sock.set_option(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        .map_err(|e| e.to_string())?;
    println!("protocol {NETLINK_TEST} (NETLINK_TEST): connected to the kernel, port 0");
    let mut c = Client {
        sock,
        seq: 0,
        pending: VecDeque::new(),
        failures: 0,
    };

    // ANCHOR: script
    c.step(
        "request \"hello\": the kernel thread answers, the timer is armed",
        REQUEST,
        NLM_F_REQUEST,
        b"hello\0",
        Expect::Exactly(expected_reply(1, "hello")),
    );
    c.step(
        "cancel: timer_delete() finds the reminder pending",
        CANCEL,
        NLM_F_REQUEST | NLM_F_ACK,
        b"",
        Expect::Exactly(Answer::Ack { seq: 2 }),
    );
    c.step(
        "cancel again: nothing pending",
        CANCEL,
        NLM_F_REQUEST | NLM_F_ACK,
        b"",
        Expect::Errno(Errno(libc::ENOENT)),
    );
    let longest = "x".repeat(TEXT_MAX);
    c.step(
        "request of 100 bytes, no NUL: the longest text",
        REQUEST,
        NLM_F_REQUEST,
        longest.as_bytes(),
        Expect::Exactly(expected_reply(4, &longest)),
    );
    c.step(
        "request of 101 bytes: one too many",
        REQUEST,
        NLM_F_REQUEST,
        "x".repeat(TEXT_MAX + 1).as_bytes(),
        Expect::Errno(Errno(libc::EMSGSIZE)),
    );
    c.step(
        "request with an empty text",
        REQUEST,
        NLM_F_REQUEST,
        b"\0",
        Expect::Errno(Errno(libc::EINVAL)),
    );
    c.step(
        "a message of type 0x13, which the protocol does not have",
        0x13,
        NLM_F_REQUEST,
        b"hello\0",
        Expect::Errno(Errno(libc::EOPNOTSUPP)),
    );
    c.step(
        "request \"port me\": answered, and the timer moved again",
        REQUEST,
        NLM_F_REQUEST,
        b"port me\0",
        Expect::Exactly(expected_reply(8, "port me")),
    );
    // ANCHOR_END: script

    println!(
        "waiting for the reminder ({} ms after the last request)",
        REMIND_DELAY.as_millis()
    );
    match c.next_answer(ANSWER_TIMEOUT)? {
        Some(got) => {
            println!("  {got}");
            if got != expected_reminder() {
                c.fail(&format!("expected {}", expected_reminder()));
            }
        }
        None => c.fail(&format!("no reminder within {ANSWER_TIMEOUT:?}")),
    }
    match c.next_answer(QUIET_AFTER_REMINDER)? {
        None => println!(
            "nothing more in {} ms: mod_timer() moved the one timer, which fired once",
            QUIET_AFTER_REMINDER.as_millis()
        ),
        Some(got) => c.fail(&format!("after the reminder, unexpected: {got}")),
    }
    Ok(c.failures)
}

fn main() -> ExitCode {
    if let Err(usage) = nlbook_common::no_arguments("ch10-client") {
        return nlbook_common::exit_code("ch10-client", Err(usage));
    }
    match run() {
        Ok(0) => ExitCode::SUCCESS,
        Ok(n) => {
            println!("{n} answer(s) wrong");
            ExitCode::FAILURE
        }
        Err(e) => {
            nlbook_common::exit_code("ch10-client", Err(nlbook_common::anyhow::Error::msg(e)))
        }
    }
}
