//! The prober on this machine. Which protocols the host's kernel registers
//! depends on its configuration, so these tests check properties that hold
//! on any Linux kernel; the full reports are the VM lab's snapshots, made
//! on the pinned kernels (`kmod/ch08-protocol-numbers/lab.toml`).

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used, clippy::panic)]

use ch08_protocol_numbers::numbers::{MAX_LINKS, label};
use nlbook_common::programs::{assert_protocol_unregistered, outcome, stdout_of_success};

const PROBE: &str = env!("CARGO_BIN_EXE_ch08-probe");

/// The report's table rows: (protocol, label, what socket() answered).
fn rows(report: &str) -> Vec<(i32, String, String)> {
    report
        .lines()
        .skip(2)
        .take_while(|l| !l.starts_with("registered:"))
        .map(|l| {
            let number = l[..10].trim().parse().expect("a protocol number");
            (number, l[10..27].trim().to_owned(), l[27..].to_owned())
        })
        .collect()
}

#[test]
fn the_default_report_covers_nl_table_and_two_numbers_past_it() {
    let report = stdout_of_success(PROBE, &[]);
    let rows = rows(&report);
    let numbers: Vec<i32> = rows.iter().map(|r| r.0).collect();
    assert_eq!(numbers, (0..=MAX_LINKS + 1).collect::<Vec<_>>(), "{report}");
    for (protocol, shown, _) in &rows {
        assert_eq!(shown, label(*protocol));
    }
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(
        lines[0],
        "socket(AF_NETLINK, SOCK_RAW, protocol) for protocols 0 to 33"
    );
    assert!(
        lines[lines.len() - 2].starts_with("registered: 0 "),
        "{report}"
    );
    assert!(lines[lines.len() - 1].ends_with(" 31 32 33"), "{report}");
}

#[test]
fn route_opens_and_numbers_past_max_links_never_do() {
    let report = stdout_of_success(PROBE, &[]);
    let rows = rows(&report);
    // rtnetlink registers NETLINK_ROUTE on every kernel with networking.
    assert_eq!(rows[0].2, "registered");
    for protocol in [MAX_LINKS, MAX_LINKS + 1] {
        assert_eq!(rows[protocol as usize].2, "EPROTONOSUPPORT (93)");
    }
}

#[test]
fn without_the_modules_30_31_and_32_look_the_same() {
    assert_protocol_unregistered(30, "a chapter-1 module");
    assert_protocol_unregistered(31, "max_links.ko");
    let report = stdout_of_success(PROBE, &["30", "32"]);
    let answers: Vec<String> = rows(&report).into_iter().map(|r| r.2).collect();
    assert_eq!(answers, ["EPROTONOSUPPORT (93)"; 3]);
    assert!(report.ends_with("registered: none\nEPROTONOSUPPORT: 30 31 32\n"));
}

#[test]
fn the_summary_lists_every_row_once_in_order() {
    let report = stdout_of_success(PROBE, &[]);
    let listed = |prefix: &str| -> Vec<i32> {
        let line = report
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .expect("a summary line");
        line.split(' ').filter_map(|n| n.parse().ok()).collect()
    };
    let rows = rows(&report);
    let registered: Vec<i32> = rows
        .iter()
        .filter(|r| r.2 == "registered")
        .map(|r| r.0)
        .collect();
    let refused: Vec<i32> = rows
        .iter()
        .filter(|r| r.2 == "EPROTONOSUPPORT (93)")
        .map(|r| r.0)
        .collect();
    assert_eq!(listed("registered: "), registered);
    assert_eq!(listed("EPROTONOSUPPORT: "), refused);
}

#[test]
fn reports_are_the_same_on_every_run() {
    let first = stdout_of_success(PROBE, &[]);
    for _ in 0..3 {
        assert_eq!(stdout_of_success(PROBE, &[]), first);
    }
}

#[test]
fn a_bad_range_is_refused_with_its_reason() {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch08-protocol-numbers --bin ch08-probe -- 40 33",
    }, {
        insta::assert_snapshot!("ch08-probe-bad-range", outcome(PROBE, &["40", "33"]));
    });
    for args in [&["1"][..], &["x", "2"], &["0", "300"], &["-1", "2"]] {
        let shown = outcome(PROBE, args);
        assert!(
            shown.starts_with("exit status: 2\nstdout: (nothing)\n"),
            "{shown}"
        );
        assert!(shown.contains("usage: ch08-probe [FIRST LAST]"), "{shown}");
    }
}
