//! The checks for `ch02-port-ids`. Run them with `cargo test` as root, or
//! with `unshare -Urn cargo test`.
//!
//! Every test runs in a network namespace of its own: the sockets it opens
//! can neither see nor disturb any other program's, and port ids such as
//! 5000 are free there.

use std::os::fd::AsRawFd;

use ch02_port_ids::{
    Error, NLMSG_HDRLEN, Port, Received, SOCKADDR_NL_LEN, open_socket, sockaddr_nl,
};

/// Run `f` on a thread that has moved into a new network namespace.
fn in_fresh_netns(f: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare takes no pointers; it moves this thread only.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                panic!(
                    "unshare(CLONE_NEWNET) failed ({}): the tests need CAP_SYS_ADMIN; \
                     run them as root or under `unshare -Urn cargo test`",
                    std::io::Error::last_os_error()
                );
            }
            f();
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    });
}

/// Send raw bytes from a socket of the test's own, bound by the kernel;
/// returns that socket's port id.
fn send_raw(to: u32, bytes: &[u8]) -> u32 {
    let sender = Port::bind(0).expect("the test's own socket binds");
    let dest = sockaddr_nl(to);
    // SAFETY: bytes and dest outlive the call; the lengths are theirs.
    let n = unsafe {
        libc::sendto(
            sender.fd().as_raw_fd(),
            bytes.as_ptr().cast(),
            bytes.len(),
            0,
            (&raw const dest).cast(),
            SOCKADDR_NL_LEN,
        )
    };
    assert_eq!(
        n,
        bytes.len() as isize,
        "{}",
        std::io::Error::last_os_error()
    );
    sender.portid()
}

/// A header with the given fields, then the payload.
fn raw_message(
    nlmsg_len: u32,
    nlmsg_type: u16,
    seq: u32,
    nlmsg_pid: u32,
    payload: &[u8],
) -> Vec<u8> {
    let mut m = nlmsg_len.to_ne_bytes().to_vec();
    m.extend_from_slice(&nlmsg_type.to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&nlmsg_pid.to_ne_bytes());
    m.extend_from_slice(payload);
    m
}

#[test]
fn bind_zero_lets_the_kernel_choose() {
    in_fresh_netns(|| {
        let first = Port::bind(0).unwrap();
        let second = Port::bind(0).unwrap();
        // The first socket of a process in a namespace is offered the
        // process id; the next one a negative number.
        assert_eq!(first.portid(), std::process::id());
        assert!(
            (second.portid() as i32) < -4096,
            "{}",
            second.portid() as i32
        );
    });
}

#[test]
fn bind_to_a_chosen_port_id() {
    in_fresh_netns(|| {
        let port = Port::bind(5000).unwrap();
        assert_eq!(port.portid(), 5000);
    });
}

#[test]
fn a_taken_port_id_is_in_use() {
    in_fresh_netns(|| {
        let _holder = Port::bind(5000).unwrap();
        assert_eq!(Port::bind(5000).unwrap_err(), Error::InUse(5000));
        // Nothing else is taken.
        assert_eq!(Port::bind(5001).unwrap().portid(), 5001);
    });
}

#[test]
fn bind_first_free_skips_taken_port_ids() {
    in_fresh_netns(|| {
        let _a = Port::bind(5000).unwrap();
        let _b = Port::bind(5001).unwrap();
        let port = Port::bind_first_free([5000, 5001, 5002, 5003]).unwrap();
        assert_eq!(port.portid(), 5002);
        // The next call finds 5002 taken by `port`.
        let next = Port::bind_first_free(5000..5010).unwrap();
        assert_eq!(next.portid(), 5003);
    });
}

#[test]
fn bind_first_free_reports_when_all_are_taken() {
    in_fresh_netns(|| {
        let _a = Port::bind(5000).unwrap();
        let _b = Port::bind(5001).unwrap();
        assert_eq!(
            Port::bind_first_free([5000, 5001]).unwrap_err(),
            Error::AllInUse
        );
        assert_eq!(Port::bind_first_free([]).unwrap_err(), Error::AllInUse);
    });
}

#[test]
fn unicast_between_two_sockets() {
    in_fresh_netns(|| {
        let a = Port::bind(0).unwrap();
        let b = Port::bind(5000).unwrap();
        a.send(b.portid(), 0x10, 7, b"ping\0").unwrap();
        let got = b.recv().unwrap();
        assert_eq!(
            got,
            Received {
                from: a.portid(),
                nlmsg_type: 0x10,
                nlmsg_seq: 7,
                nlmsg_pid: a.portid(),
                payload: b"ping\0".to_vec(),
            }
        );
        // And back, to the sender address.
        b.send(got.from, 0x11, 8, b"pong").unwrap();
        let back = a.recv().unwrap();
        assert_eq!(back.from, 5000);
        assert_eq!(back.payload, b"pong");
        assert_eq!(back.nlmsg_seq, 8);
    });
}

#[test]
fn send_writes_the_header_in_host_byte_order() {
    in_fresh_netns(|| {
        let a = Port::bind(5000).unwrap();
        let raw = open_socket().unwrap();
        let addr = sockaddr_nl(6000);
        // SAFETY: addr is a valid sockaddr_nl.
        let rc = unsafe { libc::bind(raw.as_raw_fd(), (&raw const addr).cast(), SOCKADDR_NL_LEN) };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        a.send(6000, 0x1234, 0x0102_0304, b"abc").unwrap();
        let mut buf = [0u8; 64];
        // SAFETY: buf is valid for writes of its length.
        let n = unsafe { libc::recv(raw.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        assert!(n >= 19, "received {n} bytes, expected at least 19");
        assert_eq!(
            &buf[..19],
            &raw_message(19, 0x1234, 0x0102_0304, 5000, b"abc")[..]
        );
    });
}

#[test]
fn recv_names_the_sender_by_its_address_not_by_nlmsg_pid() {
    in_fresh_netns(|| {
        let b = Port::bind(0).unwrap();
        // A sender that lies in nlmsg_pid.
        let liar = send_raw(b.portid(), &raw_message(20, 0x10, 1, 12345, b"hi\0\0"));
        let got = b.recv().unwrap();
        assert_eq!(got.from, liar);
        assert_eq!(got.nlmsg_pid, 12345);
        assert_eq!(got.payload, b"hi\0\0");
    });
}

#[test]
fn recv_accepts_padding_after_the_message() {
    in_fresh_netns(|| {
        let b = Port::bind(0).unwrap();
        let mut padded = raw_message(19, 0x10, 1, 0, b"abc");
        padded.push(0);
        send_raw(b.portid(), &padded);
        assert_eq!(b.recv().unwrap().payload, b"abc");
    });
}

#[test]
fn sending_to_a_port_id_nobody_holds_is_no_such_port() {
    in_fresh_netns(|| {
        let a = Port::bind(0).unwrap();
        assert_eq!(
            a.send(5000, 0x10, 1, b"anyone?").unwrap_err(),
            Error::NoSuchPort(5000)
        );
    });
}

#[test]
fn recv_refuses_what_is_not_one_whole_message() {
    in_fresh_netns(|| {
        let b = Port::bind(0).unwrap();
        let cases: [Vec<u8>; 4] = [
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10],  // shorter than a header
            raw_message(40, 0x10, 1, 0, b"abcd"), // nlmsg_len past the end
            raw_message(8, 0x10, 1, 0, b"abcd"),  // nlmsg_len inside the header
            raw_message(NLMSG_HDRLEN as u32 + 9000, 0x10, 1, 0, &[7u8; 9000]), // too big to fit
        ];
        for bytes in cases {
            send_raw(b.portid(), &bytes);
            assert_eq!(
                b.recv().unwrap_err(),
                Error::Malformed,
                "{:?}",
                &bytes[..bytes.len().min(16)]
            );
        }
    });
}

#[test]
fn recv_times_out_with_eagain() {
    in_fresh_netns(|| {
        let b = Port::bind(0).unwrap();
        assert_eq!(
            b.recv().unwrap_err(),
            Error::Sys {
                call: "recvfrom",
                errno: libc::EAGAIN
            }
        );
    });
}
