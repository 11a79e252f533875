//! `ch07-listener`: join NETLINK_USERSOCK multicast group 22 and check what
//! the chapter 7 modules send there, either keeping up or falling behind on
//! purpose.
//!
//! ```text
//! ch07-listener [--rcvbuf BYTES] [--stall-ms N] [--messages N]
//! ```
//!
//! - `--rcvbuf BYTES`: set `SO_RCVBUF` before joining, and print what the
//!   kernel made of it (it doubles the value and enforces a floor).
//! - `--stall-ms N`: after joining, do not read for N ms, like the report's
//!   `usleep()`: a small buffer fills up while the module keeps sending.
//! - `--messages N`: read N greetings, then exit (default 10). Each `recv`
//!   gives up after 5 s.
//!
//! The report is deterministic: facts and yes/no answers, no counts that
//! depend on timing, no port ids. Exit status 0 when N greetings arrived
//! intact and the only ENOBUFS, if any, came first after the stall; 1
//! otherwise; 2 for a usage error.
//!
//! Joining a NETLINK_USERSOCK group needs CAP_NET_ADMIN: the protocol does
//! not set `NL_CFG_F_NONROOT_RECV` (net/netlink/af_netlink.c,
//! `netlink_add_usersock_entry`).

use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use nlbook_common::{NlMsgIter, NlSocket, SysError, UsageError, WithHint, exit_code, module_hint};

/// The group the chapter's modules multicast to (`NLBOOK_MCAST_GROUP`).
const GROUP: u32 = 22;
/// The message type the modules use (`NLBOOK_MCAST_HELLO`, `NLMSG_MIN_TYPE`).
const HELLO_TYPE: u16 = 0x10;
/// The greeting, sent with its NUL.
const HELLO_TEXT: &str = "hello from kernel!";
/// How long one `recv` may wait: the modules send every few milliseconds.
const RECV_TIMEOUT: Duration = Duration::from_secs(5);
/// Large enough for any datagram the modules send; `MSG_TRUNC` tells if not.
const RECV_BUF_LEN: usize = 8192;
const DEFAULT_MESSAGES: u32 = 10;

const PROGRAM: &str = "ch07-listener";
const USAGE: &str = "usage: ch07-listener [--rcvbuf BYTES] [--stall-ms N] [--messages N]";

#[derive(Debug, PartialEq, Eq)]
struct Options {
    rcvbuf: Option<i32>,
    stall_ms: Option<u64>,
    messages: u32,
}

fn parse_args(args: &[String]) -> Result<Options, String> {
    let mut opts = Options {
        rcvbuf: None,
        stall_ms: None,
        messages: DEFAULT_MESSAGES,
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .ok_or_else(|| format!("{name} needs a value"))
                .cloned()
        };
        match arg.as_str() {
            "--rcvbuf" => {
                let v = value("--rcvbuf")?;
                let bytes = v
                    .parse::<i32>()
                    .ok()
                    .filter(|b| *b >= 0)
                    .ok_or_else(|| format!("--rcvbuf: not a byte count: {v}"))?;
                opts.rcvbuf = Some(bytes);
            }
            "--stall-ms" => {
                let v = value("--stall-ms")?;
                let ms = v
                    .parse::<u64>()
                    .map_err(|_| format!("--stall-ms: not a number of milliseconds: {v}"))?;
                opts.stall_ms = Some(ms);
            }
            "--messages" => {
                let v = value("--messages")?;
                let n = v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| format!("--messages: not a positive count: {v}"))?;
                opts.messages = n;
            }
            other => return Err(format!("unknown argument: {other}")),
        }
    }
    Ok(opts)
}

/// What one datagram held.
#[derive(Debug, PartialEq, Eq)]
enum Datagram {
    /// This many greetings, each with the expected type and text.
    Greetings(u32),
    /// Something else; the text says what, without variable numbers.
    Unexpected(String),
}

/// Check every netlink message in `buf`: each must be a whole `nlmsghdr`
/// whose `nlmsg_len` fits in what is left, of type `HELLO_TYPE`, whose
/// payload is the greeting up to its NUL (padding after the NUL is allowed).
fn check_datagram(buf: &[u8]) -> Datagram {
    let mut greetings = 0;
    for msg in NlMsgIter::new(buf) {
        let msg = match msg {
            Ok(msg) => msg,
            Err(malformed) => return Datagram::Unexpected(malformed.to_string()),
        };
        let msg_type = msg.header.nlmsg_type;
        if msg_type != HELLO_TYPE {
            return Datagram::Unexpected(format!("a message of type {msg_type:#x}"));
        }
        let text = msg
            .payload
            .iter()
            .position(|&b| b == 0)
            .map(|nul| &msg.payload[..nul]);
        if text != Some(HELLO_TEXT.as_bytes()) {
            return Datagram::Unexpected(format!(
                "a payload other than \"{HELLO_TEXT}\": {:?}",
                String::from_utf8_lossy(msg.payload)
            ));
        }
        greetings += 1;
    }
    if greetings == 0 {
        return Datagram::Unexpected("an empty datagram".into());
    }
    Datagram::Greetings(greetings)
}

/// A socket whose port id the kernel chose. Without a port id the socket
/// would keep 0, and a multicast from the kernel (portid 0) skips sockets
/// whose port id equals the sender's (`do_one_broadcast`).
fn open_socket() -> Result<NlSocket, SysError> {
    let sock = NlSocket::open(libc::NETLINK_USERSOCK)?;
    sock.bind(0, 0)?;
    Ok(sock)
}

fn run(opts: &Options) -> anyhow::Result<()> {
    let sock = open_socket()?;
    // Before joining, so that no message is queued under the old size.
    if let Some(bytes) = opts.rcvbuf {
        sock.set_option(libc::SOL_SOCKET, libc::SO_RCVBUF, bytes)?;
    }
    let effective = sock.option(libc::SOL_SOCKET, libc::SO_RCVBUF)?;
    sock.set_recv_timeout(RECV_TIMEOUT)?;

    // Everything that can be said in advance is printed before joining:
    // once joined, a buggy module may take the kernel down at any moment,
    // and the output up to that point should not depend on when.
    match opts.rcvbuf {
        Some(bytes) => println!("SO_RCVBUF: requested {bytes}, effective {effective}"),
        None => println!("SO_RCVBUF: the default, effective {effective}"),
    }
    println!("joining NETLINK_USERSOCK multicast group {GROUP}");
    if let Some(ms) = opts.stall_ms {
        println!("then not reading for {ms} ms");
    }

    // ANCHOR: stall
    // The group number itself, not a bitmask: this way works for groups > 32.
    sock.set_option(
        libc::SOL_NETLINK,
        libc::NETLINK_ADD_MEMBERSHIP,
        GROUP as i32,
    )?;
    // The report's usleep(): the module keeps sending, nobody reads.
    if let Some(ms) = opts.stall_ms {
        thread::sleep(Duration::from_millis(ms));
    }
    // ANCHOR_END: stall

    let mut buf = vec![0u8; RECV_BUF_LEN];
    let mut greetings: u32 = 0;
    let mut first = true;
    while greetings < opts.messages {
        let result = sock.recv(&mut buf);
        let first_after_stall = first && opts.stall_ms.is_some();
        first = false;
        // ANCHOR: enobufs
        let received = match result {
            Ok(received) => received,
            Err(e) if e.errno.0 == libc::ENOBUFS && first_after_stall => {
                println!(
                    "first recv after the stall: {}: the kernel dropped messages for this socket",
                    e.errno
                );
                continue;
            }
            // ANCHOR_END: enobufs
            // ENOBUFS anywhere else, and any other error: the SysError's
            // hint says what was lost, or what timed out.
            Err(e) if e.errno.0 == libc::EAGAIN => {
                let what = format!(
                    "no greeting on group {GROUP} within {} s ({e})",
                    RECV_TIMEOUT.as_secs()
                );
                let modules =
                    "a chapter-7 module (gfp_kernel.ko, gfp_atomic.ko or use_workqueue.ko)";
                return Err(
                    WithHint::new(what, module_hint(modules, "ch07-atomic-context")).into(),
                );
            }
            Err(e) => return Err(e.into()),
        };
        if first_after_stall {
            println!("first recv after the stall: a message, nothing was dropped");
        }
        if received.truncated() {
            anyhow::bail!(
                "recv: a datagram larger than {} bytes, truncated",
                buf.len()
            );
        }
        match check_datagram(&buf[..received.len]) {
            Datagram::Greetings(k) => greetings = greetings.saturating_add(k),
            Datagram::Unexpected(what) => anyhow::bail!("recv: unexpected: {what}"),
        }
    }

    println!(
        "received {greetings} messages, each of type {HELLO_TYPE:#x} with payload \"{HELLO_TEXT}\""
    );
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(opts) => exit_code(PROGRAM, run(&opts)),
        Err(msg) => exit_code(PROGRAM, Err(UsageError::new(msg, USAGE))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(msg_type: u16, payload: &[u8]) -> Vec<u8> {
        let len = 16 + payload.len();
        let mut v = Vec::new();
        v.extend_from_slice(&(len as u32).to_ne_bytes());
        v.extend_from_slice(&msg_type.to_ne_bytes());
        v.extend_from_slice(&[0; 10]);
        v.extend_from_slice(payload);
        v.resize((len + 3) & !3, 0);
        v
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_modules_greeting_passes() {
        let m = msg(HELLO_TYPE, b"hello from kernel!\0");
        assert_eq!(m.len(), 36);
        assert_eq!(check_datagram(&m), Datagram::Greetings(1));
    }

    #[test]
    fn padding_counted_in_nlmsg_len_passes() {
        // What nlmsg_end() would produce: nlmsg_len 36, payload NUL-padded.
        let mut m = msg(HELLO_TYPE, b"hello from kernel!\0\0");
        m[..4].copy_from_slice(&36u32.to_ne_bytes());
        assert_eq!(check_datagram(&m), Datagram::Greetings(1));
    }

    #[test]
    fn two_messages_in_one_datagram() {
        let mut m = msg(HELLO_TYPE, b"hello from kernel!\0");
        m.extend(msg(HELLO_TYPE, b"hello from kernel!\0"));
        assert_eq!(check_datagram(&m), Datagram::Greetings(2));
    }

    #[test]
    fn wrong_text_type_or_missing_nul_is_reported() {
        for m in [
            msg(HELLO_TYPE, b"hello from user!\0"),
            msg(HELLO_TYPE, b"hello from kernel!"),
            msg(0x3, b"hello from kernel!\0"),
        ] {
            assert!(matches!(check_datagram(&m), Datagram::Unexpected(_)));
        }
    }

    #[test]
    fn lying_lengths_are_reported() {
        let mut m = msg(HELLO_TYPE, b"hello from kernel!\0");
        m[..4].copy_from_slice(&100u32.to_ne_bytes());
        assert!(matches!(check_datagram(&m), Datagram::Unexpected(_)));
        m[..4].copy_from_slice(&8u32.to_ne_bytes());
        assert!(matches!(check_datagram(&m), Datagram::Unexpected(_)));
        assert!(matches!(check_datagram(&m[..10]), Datagram::Unexpected(_)));
        assert!(matches!(check_datagram(&[]), Datagram::Unexpected(_)));
    }

    #[test]
    fn options() {
        assert_eq!(
            parse_args(&args(&[
                "--rcvbuf",
                "1024",
                "--stall-ms",
                "2000",
                "--messages",
                "3"
            ])),
            Ok(Options {
                rcvbuf: Some(1024),
                stall_ms: Some(2000),
                messages: 3
            })
        );
        assert_eq!(
            parse_args(&[]),
            Ok(Options {
                rcvbuf: None,
                stall_ms: None,
                messages: DEFAULT_MESSAGES
            })
        );
        assert!(parse_args(&args(&["--messages", "0"])).is_err());
        assert!(parse_args(&args(&["--rcvbuf", "-1"])).is_err());
        assert!(parse_args(&args(&["--stall-ms"])).is_err());
        assert!(parse_args(&args(&["--bogus"])).is_err());
    }
}
