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

use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::process::ExitCode;
use std::thread;
use std::time::Duration;

use nlbook_common::Errno;

/// The group the chapter's modules multicast to (`NLBOOK_MCAST_GROUP`).
const GROUP: u32 = 22;
/// The message type the modules use (`NLBOOK_MCAST_HELLO`, `NLMSG_MIN_TYPE`).
const HELLO_TYPE: u16 = 0x10;
/// The greeting, sent with its NUL.
const HELLO_TEXT: &str = "hello from kernel!";
/// `sizeof(struct nlmsghdr)`.
const NLMSG_HDRLEN: usize = 16;
/// How long one `recv` may wait: the modules send every few milliseconds.
const RECV_TIMEOUT: Duration = Duration::from_secs(5);
/// Large enough for any datagram the modules send; `MSG_TRUNC` tells if not.
const RECV_BUF_LEN: usize = 8192;
const DEFAULT_MESSAGES: u32 = 10;

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
fn check_datagram(mut buf: &[u8]) -> Datagram {
    let mut greetings = 0;
    while !buf.is_empty() {
        let Some(hdr) = buf.get(..NLMSG_HDRLEN) else {
            return Datagram::Unexpected("a message shorter than a netlink header".into());
        };
        let len = u32::from_ne_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as usize;
        let msg_type = u16::from_ne_bytes([hdr[4], hdr[5]]);
        if len < NLMSG_HDRLEN || len > buf.len() {
            return Datagram::Unexpected("a message whose nlmsg_len does not fit".into());
        }
        if msg_type != HELLO_TYPE {
            return Datagram::Unexpected(format!("a message of type {msg_type:#x}"));
        }
        let payload = &buf[NLMSG_HDRLEN..len];
        let text = payload
            .iter()
            .position(|&b| b == 0)
            .map(|nul| &payload[..nul]);
        if text != Some(HELLO_TEXT.as_bytes()) {
            return Datagram::Unexpected(format!(
                "a payload other than \"{HELLO_TEXT}\": {:?}",
                String::from_utf8_lossy(payload)
            ));
        }
        greetings += 1;
        // Messages start on 4-byte boundaries (NLMSG_ALIGN).
        let next = (len + 3) & !3;
        buf = buf.get(next..).unwrap_or_default();
    }
    if greetings == 0 {
        return Datagram::Unexpected("an empty datagram".into());
    }
    Datagram::Greetings(greetings)
}

/// A failed call, printed as `what: NAME (number)`.
fn fail(what: &str, errno: Errno) -> ExitCode {
    eprintln!("{what}: {errno}");
    ExitCode::FAILURE
}

fn set_int_opt(fd: &OwnedFd, level: i32, name: i32, value: i32) -> Result<(), Errno> {
    // SAFETY: the option value is a c_int that outlives the call, and its
    // size is passed alongside.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast(),
            mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc < 0 { Err(Errno::last()) } else { Ok(()) }
}

fn get_int_opt(fd: &OwnedFd, level: i32, name: i32) -> Result<i32, Errno> {
    let mut value: i32 = 0;
    let mut len = mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: value and len are valid for writes and len holds value's size.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw mut value).cast(),
            &raw mut len,
        )
    };
    if rc < 0 {
        Err(Errno::last())
    } else {
        Ok(value)
    }
}

/// One `recv`: the datagram's length (the full length, even if it did not
/// fit, thanks to `MSG_TRUNC`), or the errno.
fn recv_once(fd: &OwnedFd, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: buf is valid for writes of buf.len() bytes.
        let n = unsafe {
            libc::recv(
                fd.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_TRUNC,
            )
        };
        match usize::try_from(n) {
            Ok(n) => return Ok(n),
            Err(_) => {
                let errno = Errno::last();
                if errno.0 != libc::EINTR {
                    return Err(errno);
                }
            }
        }
    }
}

fn open_socket() -> Result<OwnedFd, Errno> {
    // SAFETY: plain socket(2) call; the result is checked before use.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_USERSOCK,
        )
    };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Bind with `nl_pid` 0 so the kernel picks a port id. Without a port id the
/// socket would keep 0, and a multicast from the kernel (portid 0) skips
/// sockets whose port id equals the sender's (`do_one_broadcast`).
fn autobind(fd: &OwnedFd) -> Result<(), Errno> {
    // SAFETY: sockaddr_nl is plain data; all-zero is a valid value.
    let mut addr: libc::sockaddr_nl = unsafe { mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: addr is a valid sockaddr_nl and its size is passed alongside.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const addr).cast(),
            mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if rc < 0 { Err(Errno::last()) } else { Ok(()) }
}

fn set_recv_timeout(fd: &OwnedFd, timeout: Duration) -> Result<(), Errno> {
    let tv = libc::timeval {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_usec: 0,
    };
    // SAFETY: tv outlives the call and its size is passed alongside.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const tv).cast(),
            mem::size_of::<libc::timeval>() as libc::socklen_t,
        )
    };
    if rc < 0 { Err(Errno::last()) } else { Ok(()) }
}

fn run(opts: &Options) -> ExitCode {
    let fd = match open_socket() {
        Ok(fd) => fd,
        Err(e) => return fail("socket(AF_NETLINK, SOCK_RAW, NETLINK_USERSOCK)", e),
    };
    if let Err(e) = autobind(&fd) {
        return fail("bind(AF_NETLINK, nl_pid 0)", e);
    }

    // Before joining, so that no message is queued under the old size.
    if let Some(bytes) = opts.rcvbuf
        && let Err(e) = set_int_opt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF, bytes)
    {
        return fail(&format!("setsockopt(SO_RCVBUF, {bytes})"), e);
    }
    let effective = match get_int_opt(&fd, libc::SOL_SOCKET, libc::SO_RCVBUF) {
        Ok(v) => v,
        Err(e) => return fail("getsockopt(SO_RCVBUF)", e),
    };

    if let Err(e) = set_recv_timeout(&fd, RECV_TIMEOUT) {
        return fail("setsockopt(SO_RCVTIMEO)", e);
    }

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

    // The group number itself, not a bitmask: this way works for groups > 32.
    if let Err(e) = set_int_opt(
        &fd,
        libc::SOL_NETLINK,
        libc::NETLINK_ADD_MEMBERSHIP,
        GROUP as i32,
    ) {
        let code = fail(
            &format!("setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, {GROUP})"),
            e,
        );
        if e.0 == libc::EPERM {
            eprintln!(
                "joining a NETLINK_USERSOCK group needs CAP_NET_ADMIN: run as root \
                 (or in a user and network namespace of your own)"
            );
        }
        return code;
    }

    if let Some(ms) = opts.stall_ms {
        thread::sleep(Duration::from_millis(ms));
    }

    let mut buf = vec![0u8; RECV_BUF_LEN];
    let mut greetings: u32 = 0;
    let mut first = true;
    while greetings < opts.messages {
        let result = recv_once(&fd, &mut buf);
        let first_after_stall = first && opts.stall_ms.is_some();
        first = false;
        let n = match result {
            Ok(n) => n,
            Err(e) if e.0 == libc::ENOBUFS && first_after_stall => {
                println!(
                    "first recv after the stall: {e}: the kernel dropped messages for this socket"
                );
                continue;
            }
            Err(e) if e.0 == libc::ENOBUFS => {
                println!("recv: {e}: messages were dropped while this listener was reading");
                return ExitCode::FAILURE;
            }
            Err(e) if e.0 == libc::EAGAIN => {
                println!(
                    "recv: no message within {} s: is a chapter 7 module loaded?",
                    RECV_TIMEOUT.as_secs()
                );
                return ExitCode::FAILURE;
            }
            Err(e) => return fail("recv", e),
        };
        if first_after_stall {
            println!("first recv after the stall: a message, nothing was dropped");
        }
        if n > buf.len() {
            println!(
                "recv: a datagram larger than {} bytes, truncated",
                buf.len()
            );
            return ExitCode::FAILURE;
        }
        match check_datagram(&buf[..n]) {
            Datagram::Greetings(k) => greetings = greetings.saturating_add(k),
            Datagram::Unexpected(what) => {
                println!("recv: unexpected: {what}");
                return ExitCode::FAILURE;
            }
        }
    }

    println!(
        "received {greetings} messages, each of type {HELLO_TYPE:#x} with payload \"{HELLO_TEXT}\""
    );
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match parse_args(&args) {
        Ok(opts) => run(&opts),
        Err(msg) => {
            eprintln!("ch07-listener: {msg}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(msg_type: u16, payload: &[u8]) -> Vec<u8> {
        let len = NLMSG_HDRLEN + payload.len();
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
