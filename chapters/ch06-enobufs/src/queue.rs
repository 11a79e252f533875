//! Reading what is queued, without waiting, one `recv` at a time.

use std::os::fd::AsRawFd;

use nlbook_common::Errno;

/// What one `recv(MSG_DONTWAIT)` gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recv {
    /// A datagram: the bytes that fit in the buffer, and its real length.
    Datagram {
        /// The bytes copied.
        bytes: Vec<u8>,
        /// The datagram's size (`MSG_TRUNC`); more than `bytes.len()` if cut.
        len: usize,
    },
    /// The call failed: `ENOBUFS` after drops, or anything else.
    Error(Errno),
    /// `EAGAIN`: nothing is queued.
    Empty,
}

// ANCHOR: try_recv
/// One non-blocking receive into a buffer of `room` bytes. `ENOBUFS` is an
/// answer like any other: the kernel reports it once, on the first receive
/// after it dropped a message (`sk_err`, read and cleared by `sock_error()`),
/// and the queued messages follow.
pub fn try_recv(sock: &impl AsRawFd, room: usize) -> Recv {
    let mut buf = vec![0u8; room];
    loop {
        // SAFETY: buf is valid for writes of buf.len() bytes.
        let n = unsafe {
            libc::recv(
                sock.as_raw_fd(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                libc::MSG_DONTWAIT | libc::MSG_TRUNC,
            )
        };
        if let Ok(len) = usize::try_from(n) {
            buf.truncate(len);
            return Recv::Datagram { bytes: buf, len };
        }
        match Errno::last() {
            Errno(libc::EINTR) => continue,
            Errno(libc::EAGAIN) => return Recv::Empty,
            e => return Recv::Error(e),
        }
    }
}
// ANCHOR_END: try_recv

/// Receive until the queue is empty: every answer, the final `Empty`
/// included. Stops early at an error other than `ENOBUFS`, which would
/// repeat forever.
pub fn drain(sock: &impl AsRawFd, room: usize) -> Vec<Recv> {
    let mut all = Vec::new();
    loop {
        let r = try_recv(sock, room);
        let stop = match &r {
            Recv::Empty => true,
            Recv::Error(e) => *e != Errno(libc::ENOBUFS),
            Recv::Datagram { .. } => false,
        };
        all.push(r);
        if stop {
            return all;
        }
    }
}

/// `1, 2, 3, 7` as `1..3, 7`.
pub fn ranges(numbers: &[u32]) -> String {
    let mut parts = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let start = numbers[i];
        let mut end = start;
        while i + 1 < numbers.len() && numbers[i + 1] == end.wrapping_add(1) {
            i += 1;
            end = numbers[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else if end == start + 1 {
            format!("{start}, {end}")
        } else {
            format!("{start}..{end}")
        });
        i += 1;
    }
    if parts.is_empty() {
        "none".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_read_well() {
        assert_eq!(ranges(&[]), "none");
        assert_eq!(ranges(&[1]), "1");
        assert_eq!(ranges(&[1, 2]), "1, 2");
        assert_eq!(ranges(&[1, 2, 3, 7, 9, 10]), "1..3, 7, 9, 10");
    }
}
