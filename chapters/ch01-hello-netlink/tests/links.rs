//! The link dumps' reports, as the book shows them. Each program makes its
//! own fresh network namespace, so the host's is never touched.

use nlbook_common::programs::stdout_of_success;

fn report(program: &str) -> String {
    stdout_of_success(program, &[])
}

const RAW: &str = env!("CARGO_BIN_EXE_ch01-links-raw");
const NELI: &str = env!("CARGO_BIN_EXE_ch01-links-neli");
const RUST_NETLINK: &str = env!("CARGO_BIN_EXE_ch01-links-rust-netlink");

#[test]
fn links_raw() {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch01-hello-netlink --bin ch01-links-raw",
    }, {
        insta::assert_snapshot!("ch01-links-raw", report(RAW));
    });
}

#[test]
fn links_neli() {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch01-hello-netlink --bin ch01-links-neli",
    }, {
        insta::assert_snapshot!("ch01-links-neli", report(NELI));
    });
}

#[test]
fn links_rust_netlink() {
    insta::with_settings!({
        prepend_module_to_snapshot => false,
        omit_expression => true,
        description => "cargo run -p ch01-hello-netlink --bin ch01-links-rust-netlink",
    }, {
        insta::assert_snapshot!("ch01-links-rust-netlink", report(RUST_NETLINK));
    });
}

#[test]
fn raw_neli_and_rust_netlink_print_the_same_report() {
    let raw = report(RAW);
    assert_eq!(raw, report(NELI), "neli's report differs from raw's");
    assert_eq!(
        raw,
        report(RUST_NETLINK),
        "rust-netlink's report differs from raw's"
    );
}

#[test]
fn reports_are_the_same_on_every_run() {
    let first = report(RAW);
    for _ in 0..3 {
        assert_eq!(report(RAW), first);
    }
}
