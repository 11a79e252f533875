//! Facts about neli 0.7 and port ids that chapter 2 states. Each test runs
//! in a fresh network namespace of its own.

use ch02_addresses::ports::{in_autobind_range, process_id};
use neli::consts::socket::NlFamily;
use neli::err::SocketError;
use neli::socket::synchronous::NlSocketHandle;
use neli::utils::Groups;
use nlbook_common::in_fresh_netns;

fn connect(pid: Option<u32>) -> Result<NlSocketHandle, SocketError> {
    NlSocketHandle::connect(NlFamily::Usersock, pid, Groups::empty())
}

#[test]
fn connect_without_a_port_id_is_autobind() {
    in_fresh_netns(|| {
        let first = connect(None).unwrap();
        let second = connect(None).unwrap();
        // pid() is what getsockname() returned right after bind().
        assert_eq!(first.pid(), process_id());
        assert!(in_autobind_range(second.pid()));
    })
    .unwrap();
}

#[test]
fn a_taken_port_id_is_eaddrinuse_in_an_io_error() {
    in_fresh_netns(|| {
        let _holder = connect(Some(4242)).unwrap();
        let Err(SocketError::Io(io)) = connect(Some(4242)) else {
            panic!("a second bind to port id 4242 must fail with an I/O error");
        };
        assert_eq!(io.raw_os_error(), Some(libc::EADDRINUSE));
        assert_eq!(io.kind(), std::io::ErrorKind::AddrInUse);
    })
    .unwrap();
}
