//! The chapter's programs on the host, whose kernel has XFRM_USER but no
//! ESP and cannot load modules. What they print there depends on the
//! machine's kernel, so the SA monitor's outcome is asserted, not
//! snapshotted; the listener's, which only needs protocol 27 to be
//! unregistered, is a snapshot.

use nlbook_common::programs::{assert_protocol_unregistered, outcome};
use nlbook_common::{Errno, NlSocket};

const MONITOR: &str = env!("CARGO_BIN_EXE_ch05-sa-monitor");
const MONITOR_RUST_NETLINK: &str = env!("CARGO_BIN_EXE_ch05-sa-monitor-rust-netlink");

#[test]
fn sa_monitor_says_what_the_kernel_lacks() {
    let report = outcome(MONITOR, &[]);
    let xfrm_user = match NlSocket::open(ch05_events::xfrm::NETLINK_XFRM) {
        Ok(_) => true,
        Err(e) => {
            assert_eq!(e.errno, Errno(libc::EPROTONOSUPPORT), "{e}");
            false
        }
    };
    if !xfrm_user {
        assert!(
            report.contains("this kernel has no NETLINK_XFRM (CONFIG_XFRM_USER, module xfrm_user)"),
            "{report}"
        );
        assert!(report.starts_with("exit status: 1\n"), "{report}");
    } else if report.starts_with("exit status: 0\n") {
        // A kernel with ESP: the events arrive as in the VM lab.
        assert!(
            report.contains("S received 2 messages, the same as B, byte for byte"),
            "{report}"
        );
        assert!(
            report.contains("C received 0 messages after its ACKs"),
            "{report}"
        );
    } else {
        // This project's host: XFRM_USER without ESP.
        assert_eq!(
            report,
            "exit status: 1\nstdout: (nothing)\nstderr:\nch05-sa-monitor: error: XFRM_MSG_NEWSA: \
             this kernel has no ESP (EPROTONOSUPPORT): run it in the VM lab: \
             `cargo xtask lab --chapter ch05-events --test sa-monitor`\n"
        );
    }
}

#[test]
fn sa_monitor_refuses_unknown_arguments() {
    let report = outcome(MONITOR, &["--verbose"]);
    assert_eq!(
        report,
        "exit status: 2\nstdout: (nothing)\nstderr:\nch05-sa-monitor: error: unknown \
         argument \"--verbose\"\nusage: ch05-sa-monitor [--hex]\n"
    );
}

/// The rust-netlink monitor ends as the raw one does, whatever this
/// kernel lacks: the same output, the same error (its socket is
/// netlink-sys's `SOCK_DGRAM`, which netlink treats as `SOCK_RAW`).
#[test]
fn sa_monitor_rust_netlink_ends_as_the_raw_monitor_does() {
    let raw = outcome(MONITOR, &[])
        .replace("ch05-sa-monitor: ", "ch05-sa-monitor-rust-netlink: ")
        .replace("SOCK_RAW", "SOCK_DGRAM");
    assert_eq!(outcome(MONITOR_RUST_NETLINK, &[]), raw);
}

#[test]
fn sa_monitor_rust_netlink_refuses_unknown_arguments() {
    let report = outcome(MONITOR_RUST_NETLINK, &["--verbose"]);
    assert_eq!(
        report,
        "exit status: 2\nstdout: (nothing)\nstderr:\nch05-sa-monitor-rust-netlink: error: \
         unknown argument \"--verbose\"\nusage: ch05-sa-monitor-rust-netlink [--hex]\n"
    );
}

#[test]
fn netdev_listener_without_the_module() {
    assert_protocol_unregistered(27, "netdev_events");
    let report = outcome(env!("CARGO_BIN_EXE_ch05-netdev-listener"), &[]);
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch05-events --bin ch05-netdev-listener   # on the host, without the module",
    }, {
        insta::assert_snapshot!("ch05-netdev-listener-without-module", report);
    });
}
