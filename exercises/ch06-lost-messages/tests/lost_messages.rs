//! The checks for `ch06-lost-messages`. Run them with `cargo test` (as root,
//! or under `unshare -Urn`): the socket test works in a fresh network
//! namespace of its own.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use ch06_lost_messages::{
    Action, Recv, SOCK_MIN_RCVBUF, effective_rcvbuf, messages_that_fit, receive_loop, recv_once,
    request_for,
};

#[test]
fn effective_buffer_follows_the_kernel() {
    let max = 212_992;
    assert_eq!(effective_rcvbuf(0, max), SOCK_MIN_RCVBUF);
    assert_eq!(effective_rcvbuf(1024, max), 2304);
    assert_eq!(effective_rcvbuf(1152, max), 2304);
    assert_eq!(effective_rcvbuf(1153, max), 2306);
    assert_eq!(effective_rcvbuf(65_536, max), 131_072);
    assert_eq!(effective_rcvbuf(1 << 20, max), 425_984);
    assert_eq!(effective_rcvbuf(-1, max), 425_984);
    assert_eq!(
        effective_rcvbuf(i32::MAX, u32::MAX),
        i32::MAX as u32 / 2 * 2
    );
}

#[test]
fn how_many_fit() {
    assert_eq!(messages_that_fit(2304, 768), 3);
    assert_eq!(messages_that_fit(2304, 960), 2);
    assert_eq!(messages_that_fit(2304, 832), 2);
    assert_eq!(messages_that_fit(212_992, 768), 277);
    assert_eq!(messages_that_fit(1000, 4096), 1);
    assert_eq!(messages_that_fit(2304, 0), u32::MAX);
}

#[test]
fn request_for_a_burst() {
    assert_eq!(request_for(16, 768, 212_992), Some(6144));
    assert_eq!(request_for(3, 960, 212_992), Some(1440));
    // 2 messages of 1000 bytes: the floor already holds them.
    assert_eq!(request_for(2, 1000, 212_992), Some(0));
    // An odd total: round up, or one message would not fit.
    assert_eq!(request_for(5, 641, 212_992), Some(1603));
    // More than 2 * rmem_max: only SO_RCVBUFFORCE could.
    assert_eq!(request_for(1000, 768, 212_992), None);
    assert_eq!(request_for(u32::MAX, u32::MAX, u32::MAX), None);
    for (burst, truesize) in [(16, 768), (7, 640), (300, 960)] {
        let r = request_for(burst, truesize, 4 << 20).unwrap();
        let size = effective_rcvbuf(r, 4 << 20);
        assert!(messages_that_fit(size, truesize) >= burst);
        assert!(r == 0 || messages_that_fit(effective_rcvbuf(r - 1, 4 << 20), truesize) < burst);
    }
}

fn scripted(script: Vec<Result<Recv, i32>>) -> impl FnMut() -> Result<Recv, i32> {
    let mut it = script.into_iter();
    move || it.next().expect("read past Empty")
}

#[test]
fn loop_without_loss() {
    let got = receive_loop(scripted(vec![
        Ok(Recv::Message(1)),
        Ok(Recv::Message(2)),
        Ok(Recv::Empty),
    ]));
    assert_eq!(got, Ok(vec![Action::Apply(1), Action::Apply(2)]));
    assert_eq!(receive_loop(scripted(vec![Ok(Recv::Empty)])), Ok(vec![]));
}

#[test]
fn loop_with_loss_resyncs_once_at_the_end() {
    let got = receive_loop(scripted(vec![
        Ok(Recv::Lost),
        Ok(Recv::Message(1)),
        Ok(Recv::Message(2)),
        Ok(Recv::Lost),
        Ok(Recv::Message(9)),
        Ok(Recv::Empty),
    ]));
    assert_eq!(
        got,
        Ok(vec![
            Action::Apply(1),
            Action::Apply(2),
            Action::Apply(9),
            Action::Resync
        ])
    );
    assert_eq!(
        receive_loop(scripted(vec![Ok(Recv::Lost), Ok(Recv::Empty)])),
        Ok(vec![Action::Resync])
    );
}

#[test]
fn loop_passes_other_errors_on() {
    let got = receive_loop(scripted(vec![Ok(Recv::Message(1)), Err(libc::EBADF)]));
    assert_eq!(got, Err(libc::EBADF));
}

/// Run `f` on a thread of its own in a new network namespace.
fn in_fresh_netns(f: impl FnOnce() + Send) {
    std::thread::scope(|s| {
        s.spawn(|| {
            // SAFETY: unshare takes flags only, and moves only this thread.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                panic!(
                    "unshare(CLONE_NEWNET) failed ({}): these tests need CAP_SYS_ADMIN: \
                     run them as root, or as `unshare -Urn cargo test`",
                    std::io::Error::last_os_error()
                );
            }
            f();
        })
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    });
}

fn usersock() -> OwnedFd {
    // SAFETY: socket() takes no pointers; the result is checked.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_USERSOCK) };
    assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
    // SAFETY: a descriptor we just opened.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: an all-zero sockaddr_nl is valid; family set; size passed.
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as u16;
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const addr).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        )
    };
    assert_eq!(rc, 0, "bind: {}", std::io::Error::last_os_error());
    fd
}

fn set_int(fd: &OwnedFd, level: i32, name: i32, value: i32) {
    // SAFETY: value outlives the call; its size is passed.
    let rc = unsafe { libc::setsockopt(fd.as_raw_fd(), level, name, (&raw const value).cast(), 4) };
    assert_eq!(rc, 0, "setsockopt: {}", std::io::Error::last_os_error());
}

fn send_to_group(fd: &OwnedFd, seq: u32) {
    let mut msg = [0u8; 36];
    msg[0..4].copy_from_slice(&36u32.to_ne_bytes());
    msg[4..6].copy_from_slice(&0x10u16.to_ne_bytes());
    msg[8..12].copy_from_slice(&seq.to_ne_bytes());
    // SAFETY: as in usersock().
    let mut to: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    to.nl_family = libc::AF_NETLINK as u16;
    to.nl_groups = 1 << 21; // group 22
    // SAFETY: msg and to outlive the call; their sizes are passed. USERSOCK
    // answers ECONNREFUSED after delivering to the group (chapter 3).
    unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            msg.as_ptr().cast(),
            msg.len(),
            0,
            (&raw const to).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as u32,
        )
    };
}

#[test]
fn a_real_overrun_is_noticed() {
    in_fresh_netns(|| {
        let listener = usersock();
        set_int(&listener, libc::SOL_SOCKET, libc::SO_RCVBUF, 1024);
        set_int(&listener, 270, 1, 22); // NETLINK_ADD_MEMBERSHIP, group 22
        let sender = usersock();
        for seq in 1..=10 {
            send_to_group(&sender, seq);
        }
        // How many the kernel kept: its queue length over one truesize.
        let mut meminfo = [0u32; 9];
        let mut len = 36u32;
        // SAFETY: meminfo has room for len bytes.
        unsafe {
            libc::getsockopt(
                listener.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_MEMINFO,
                meminfo.as_mut_ptr().cast(),
                &mut len,
            )
        };
        let kept = 10 - meminfo[8];
        let mut buf = [0u8; 64];
        let actions = receive_loop(|| recv_once(listener.as_fd(), &mut buf)).unwrap();
        let mut want: Vec<Action> = (1..=kept).map(Action::Apply).collect();
        want.push(Action::Resync);
        assert_eq!(actions, want);
        // Nothing lost any more: an empty queue is just empty.
        assert_eq!(recv_once(listener.as_fd(), &mut buf), Ok(Recv::Empty));
    });
}

#[test]
fn a_short_datagram_is_an_error() {
    in_fresh_netns(|| {
        let sock = usersock();
        let mut me: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_nl>() as u32;
        // SAFETY: me has room for len bytes.
        unsafe { libc::getsockname(sock.as_raw_fd(), (&raw mut me).cast(), &mut len) };
        // SAFETY: the buffers outlive the call; sizes passed.
        unsafe {
            libc::sendto(
                sock.as_raw_fd(),
                [1u8; 8].as_ptr().cast(),
                8,
                0,
                (&raw const me).cast(),
                len,
            )
        };
        let mut buf = [0u8; 64];
        assert_eq!(recv_once(sock.as_fd(), &mut buf), Err(libc::EBADMSG));
    });
}
