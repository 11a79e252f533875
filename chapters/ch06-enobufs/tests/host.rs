//! The chapter's programs on this machine. The host kernel is not a pinned
//! one: the cost of a message, the floor and rmem_max may differ, so these
//! tests check the relations the chapter teaches, not the numbers (the book
//! shows the VM lab's). They pass as root and under `unshare -Urn`.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used, clippy::panic)]

use ch06_enobufs::rcvbuf::{effective_rcvbuf, in_initial_user_namespace, messages_that_fit};
use nlbook_common::programs::{outcome, stdout_of_success};

const OVERRUN: &str = env!("CARGO_BIN_EXE_ch06-overrun");
const RESYNC: &str = env!("CARGO_BIN_EXE_ch06-resync");
const RESYNC_RUST_NETLINK: &str = env!("CARGO_BIN_EXE_ch06-resync-rust-netlink");
const NELI: &str = env!("CARGO_BIN_EXE_ch06-neli");
const BURST: &str = env!("CARGO_BIN_EXE_ch06-burst");

/// The numbers in `line`, in order.
fn numbers(line: &str) -> Vec<u64> {
    line.split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect()
}

fn line_with<'a>(text: &'a str, needle: &str) -> &'a str {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with {needle:?} in:\n{text}"))
}

/// The lines of step `n` ("n. ..." up to the next step).
fn step(text: &str, n: u32) -> Vec<&str> {
    text.lines()
        .skip_while(|l| !l.starts_with(&format!("{n}. ")))
        .skip(1)
        .take_while(|l| l.starts_with("   "))
        .map(str::trim)
        .collect()
}

#[test]
fn overrun_follows_the_kernels_rules() {
    let out = stdout_of_success(OVERRUN, &[]);
    let rmem_max = numbers(line_with(&out, "rmem_max"))[1] as u32;
    let floor = numbers(line_with(&out, "the floor, SOCK_MIN_RCVBUF"))[1] as u32;
    for line in step(&out, 1).iter().filter(|l| l.contains("->")) {
        let n = numbers(line);
        assert_eq!(
            u64::from(effective_rcvbuf(n[0] as i64, rmem_max, floor)),
            n[1],
            "{line}"
        );
    }
    let truesize = numbers(line_with(&out, "rmem_alloc"))[2] as u32;
    let fit = messages_that_fit(floor, truesize);

    // 3: ENOBUFS first, then exactly what fit, then empty; drops agree.
    let s3 = step(&out, 3);
    let drops = numbers(s3[0]);
    assert_eq!(drops[2], drops[3], "SO_MEMINFO and /proc agree: {}", s3[0]);
    assert_eq!(drops[2], u64::from(10 - fit));
    assert!(s3[1].starts_with("recv: ENOBUFS (105)"), "{}", s3[1]);
    let got: Vec<&&str> = s3
        .iter()
        .filter(|l| l.starts_with("recv: message"))
        .collect();
    assert_eq!(got.len(), fit as usize);
    assert!(s3.last().unwrap().starts_with("recv: EAGAIN"));

    // 4: a message sent while congested is dropped although it fits; one
    // sent to the empty queue arrives.
    let s4 = step(&out, 4);
    let congested = numbers(line_with(&s4.join("\n"), "message 11 sent"));
    assert_eq!(congested[4], congested[3] + 1, "{s4:?}");
    let after = numbers(line_with(&s4.join("\n"), "message 12 sent"));
    assert_eq!(after[1], after[2], "{s4:?}");
    assert!(s4.contains(&"recv: message 12"), "{s4:?}");

    // 5: the same drops, no error.
    let s5 = step(&out, 5);
    assert_eq!(numbers(s5[0])[0], u64::from(10 - fit));
    assert!(s5.iter().all(|l| !l.contains("ENOBUFS")), "{s5:?}");

    // 6: SO_RCVBUFFORCE works only with CAP_NET_ADMIN in the initial user
    // namespace; a namespace of one's own never gives it.
    let s6 = step(&out, 6);
    if in_initial_user_namespace() {
        assert!(s6[0].contains("initial user namespace: ok, effective 2097152"));
    } else {
        assert!(s6[0].contains("a user namespace of its own: EPERM (1)"));
    }
    assert!(s6[1].contains("EPERM (1)"), "{s6:?}");
}

#[test]
fn resync_ends_with_the_kernels_table() {
    assert_resync_report(&stdout_of_success(RESYNC, &[]));
}

/// The listener written with netlink-sys and netlink-packet-route sees the
/// same loss, as the same `recv` error, and prints the same report.
#[test]
fn resync_with_rust_netlink_prints_the_raw_report() {
    let out = stdout_of_success(RESYNC_RUST_NETLINK, &[]);
    assert_resync_report(&out);
    assert_eq!(out, stdout_of_success(RESYNC, &[]));
}

fn assert_resync_report(out: &str) {
    let out = out.to_owned();
    assert!(
        out.contains("read: ENOBUFS (105): events were lost"),
        "{out}"
    );
    let queued = numbers(line_with(&out, "events still queued"))[0];
    let added = numbers(line_with(&out, "the dump added"))[0];
    assert_eq!(queued + added, 16, "{out}");
    assert!(out.contains("removed none"));
    assert!(out.contains("deleted 10.6.1.1/32, read: the event arrived, applied"));
    assert!(
        line_with(&out, "table: 17 addresses").ends_with("17 addresses, the same"),
        "{out}"
    );
}

#[test]
fn neli_router_hides_the_loss_and_the_handle_reports_it() {
    let out = stdout_of_success(NELI, &[]);
    let router = numbers(line_with(&out, "the multicast receiver got"));
    let (dropped, got) = (router[0], router[1]);
    assert!(dropped > 0, "{out}");
    assert_eq!(dropped + got, 400, "{out}");
    assert!(line_with(&out, "the multicast receiver got").ends_with("in order: true"));
    assert!(out.contains("errors it passed on before the router closed: none"));

    let handle: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("NlSocketHandle"))
        .collect();
    assert!(
        handle[1].contains("Err(SocketError::Io(ENOBUFS (105)))"),
        "{out}"
    );
    let received = handle
        .iter()
        .filter(|l| l.contains("recv: message"))
        .count() as u64;
    let drops = numbers(handle.last().unwrap())[0];
    assert_eq!(received + drops, 10, "{out}");
}

#[test]
fn outputs_are_the_same_on_every_run() {
    for program in [OVERRUN, RESYNC, NELI] {
        let first = stdout_of_success(program, &[]);
        assert_eq!(stdout_of_success(program, &[]), first, "{program}");
    }
}

#[test]
fn without_the_module_burst_says_what_to_load() {
    // The host kernel cannot load modules: protocol 23 is never served here.
    nlbook_common::programs::assert_protocol_unregistered(23, "burst_sender.ko");
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "ch06-burst without its module",
    }, {
        insta::assert_snapshot!("ch06-burst-without-module", outcome(BURST, &[]));
    });
}
