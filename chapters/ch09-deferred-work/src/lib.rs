//! The chapter 9 modules' protocol and what its clients share.
//!
//! The modules (`kmod/ch09-deferred-work`) create a kernel socket for
//! protocol 26. A request is any message of type `NLMSG_MIN_TYPE` or above
//! with `NLM_F_REQUEST` and 1 to 100 bytes of payload; the reply has the
//! same type and sequence number, and exactly the request's payload.
//!
//! - [`request`]: the datagram of one request, built byte by byte.
//! - [`answer`]: reading what came back (a reply, a refusal, or nothing).
//! - [`failslab`]: making a module thread's next allocation fail, on purpose.
//! - [`hostile`]: the hostile client's cases and how each is judged.
//! - [`flood`]: the flooding client's payloads and its summary.

pub mod answer;
pub mod failslab;
pub mod flood;
pub mod hostile;
pub mod request;

use std::mem;
use std::os::fd::AsRawFd;
use std::time::Duration;

use anyhow::{Context, Result};
use nlbook_common::{Errno, NlSocket, SysError};

// ANCHOR: protocol
/// The modules' protocol number. No kernel family uses it
/// (`include/uapi/linux/netlink.h` ends at 22, `NETLINK_SMC`, in 6.1 and
/// 6.12). The tutorial's `NETLINK_TEST` was 25: chapter 10's port keeps
/// that number, and each chapter's modules have a number of their own.
pub const DEFERRED_PROTOCOL: i32 = 26;

/// The type of our requests: the first one that is not a control message
/// (`NLMSG_MIN_TYPE`). Replies carry it back.
pub const REQUEST_TYPE: u16 = nlbook_common::uapi::NLMSG_MIN_TYPE;

/// The longest payload the fixed module accepts: the size of the tutorial's
/// buffer, and the number of bytes the tutorial copied from every request.
pub const MAX_PAYLOAD: usize = 100;
// ANCHOR_END: protocol

/// How long a client waits for each answer it is owed.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);

/// A `send()` that takes this long has waited for something: the fixed
/// module only copies and queues.
pub const STALL: Duration = Duration::from_secs(1);

/// The number after option `name` on a command line: from 1 to `max`, or
/// the usage error that says so.
pub fn count_option<'a, T>(
    args: &mut impl Iterator<Item = &'a String>,
    name: &str,
    max: T,
) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + From<u8> + std::fmt::Display + Copy,
{
    let v = args.next().ok_or_else(|| format!("{name} needs a value"))?;
    v.parse::<T>()
        .ok()
        .filter(|n| (T::from(1)..=max).contains(n))
        .ok_or_else(|| format!("{name}: a number from 1 to {max}, not `{v}`"))
}

/// Open a socket of protocol 26, bound to a port id the kernel chooses.
/// Without a module, the kernel has no socket for 26: say so.
pub fn open_client() -> Result<NlSocket> {
    let sock = NlSocket::open(DEFERRED_PROTOCOL).map_err(|e| {
        if e.errno == Errno(libc::EPROTONOSUPPORT) {
            anyhow::anyhow!(
                "{e}: no kernel socket for protocol 26: is a chapter-9 module loaded? (`cargo xtask lab --chapter ch09-deferred-work`)"
            )
        } else {
            anyhow::Error::new(e)
        }
    })?;
    sock.bind(0, 0)?;
    sock.set_recv_timeout(ANSWER_TIMEOUT)
        .context("setting the answer timeout")?;
    Ok(sock)
}

// ANCHOR: dontwait
/// Send one datagram to the kernel (port id 0) with `MSG_DONTWAIT`: a
/// send that must never wait. (It still runs the module's input callback
/// before it returns: that is part of sending.)
pub fn send_dontwait(sock: &NlSocket, datagram: &[u8]) -> Result<usize, SysError> {
    let dest = nlbook_common::socket::sockaddr_nl(0, 0);
    loop {
        // SAFETY: datagram and dest outlive the call, and the lengths are
        // theirs; the kernel only reads from both.
        let n = unsafe {
            libc::sendto(
                sock.as_raw_fd(),
                datagram.as_ptr().cast::<libc::c_void>(),
                datagram.len(),
                libc::MSG_DONTWAIT,
                (&raw const dest).cast::<libc::sockaddr>(),
                mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if let Ok(n) = usize::try_from(n) {
            return Ok(n);
        }
        let err = SysError::last("sendto(AF_NETLINK, to the kernel, MSG_DONTWAIT)");
        if err.errno != Errno(libc::EINTR) {
            return Err(err);
        }
    }
}
// ANCHOR_END: dontwait
