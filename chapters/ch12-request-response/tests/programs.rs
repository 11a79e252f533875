//! The chapter's programs on this machine's kernel, each in a fresh network
//! namespace. Sizes and counts differ between kernels, so the book shows
//! the VM lab's snapshots (`kmod/ch12-request-response/lab.toml`, one per
//! pinned kernel); here every rule the chapter states must hold, and the
//! output must not change from run to run.

use nlbook_common::programs::stdout_of_success;

const ACKS: &str = env!("CARGO_BIN_EXE_ch12-acks");
const DUMPS: &str = env!("CARGO_BIN_EXE_ch12-dumps");
const BUFFERS: &str = env!("CARGO_BIN_EXE_ch12-buffers");
const FLAGS: &str = env!("CARGO_BIN_EXE_ch12-flags");

fn output(program: &str) -> String {
    stdout_of_success(program, &[])
}

fn assert_contains(text: &str, wanted: &[&str]) {
    for w in wanted {
        assert!(text.contains(w), "missing {w:?} in:\n{text}");
    }
}

#[test]
fn acks_follow_the_rules() {
    let out = output(ACKS);
    assert_contains(
        &out,
        &[
            "<- recv 1: RTM_NEWLINK seq 1, flags -\n2.",
            "<- recv 2: NLMSG_ERROR seq 2, flags NLM_F_CAPPED, error 0: the ACK",
            "NLMSG_ERROR seq 3, flags -, error ENODEV (19)",
            "echoes the request: all 32 bytes (type RTM_GETLINK, seq 3)",
            "extended ACK message: \"Unknown device type\"",
            "error ERANGE (34)",
            "extended ACK offset: byte 32 of the request",
            "echoes the request: its header only (type RTM_NEWLINK, seq 6)",
            "<- recv 1: RTM_NEWADDR seq 10, nlmsg_pid = our port id, sender nl_groups 0x10: a notification",
            "<- recv 2: NLMSG_ERROR seq 10, nlmsg_pid = our port id, sender nl_groups 0x0: the answer",
            "<- recv 2: NLMSG_ERROR seq 11, flags NLM_F_CAPPED, error 0: the ACK",
            "(recv 1 brought the RTM_DELADDR notification, left out)",
        ],
    );
    // Pipelined answers come in the order of the requests.
    let seven = out.find("RTM_NEWLINK seq 7").expect("answer 7");
    let eight = out.find("NLMSG_ERROR seq 8").expect("answer 8");
    let nine = out.find("RTM_NEWLINK seq 9").expect("answer 9");
    assert!(seven < eight && eight < nine, "{out}");
}

#[test]
fn flags_say_what_a_request_may_do() {
    let out = output(FLAGS);
    assert_contains(
        &out,
        &[
            "-> RTM_NEWADDR 10.12.0.1/32, CREATE|EXCL, seq 1, NLM_F_ACK\n  <- recv 1: NLMSG_ERROR seq 1, flags NLM_F_CAPPED, error 0: the ACK",
            // 6.12 and later add an extended ACK message; 6.1 does not.
            "NLMSG_ERROR seq 2, flags ",
            "NLMSG_ERROR seq 3, flags ",
            "NLMSG_ERROR seq 4, flags NLM_F_CAPPED, error 0: the ACK",
            "NLMSG_ERROR seq 5, flags NLM_F_CAPPED, error 0: the ACK",
            "NLMSG_ERROR seq 6, flags -, error ENODEV (19)",
            "NLMSG_ERROR seq 7, flags -, error EEXIST (17)",
            "NLMSG_ERROR seq 8, flags -, error EOPNOTSUPP (95)",
            "NLMSG_ERROR seq 9, flags NLM_F_CAPPED, error 0: the ACK",
            "<- recv 1: RTM_NEWADDR seq 10, nlmsg_pid = our port id, sender nl_groups 0x10: a notification",
            "<- recv 1: RTM_NEWLINK seq 11, flags NLM_F_MULTI",
            "NLMSG_DONE seq 12, flags NLM_F_MULTI|NLM_F_ACK_TLVS, error EINVAL (22)",
            "extended ACK message: \"Filter by device index not supported for link dumps\"",
        ],
    );
}

#[test]
fn an_interrupted_dump_is_flagged_and_a_retry_is_whole() {
    let out = output(DUMPS);
    assert_contains(
        &out,
        &[
            "600 addresses in",
            "NLMSG_DONE carries error 0",
            "NLM_F_MULTI|NLM_F_DUMP_INTR",
            "parts marked NLM_F_DUMP_INTR: recv ",
            "whole: 601 addresses, none missed, none twice",
        ],
    );
}

#[test]
fn small_buffers_lose_data_and_the_recommended_one_does_not() {
    let out = output(BUFFERS);
    // The lines of step n, from "n. " up to "n+1. ".
    let step = |n: u32| {
        let (head, next) = (format!("{n}. "), format!("{}. ", n + 1));
        out.lines()
            .skip_while(|l| !l.starts_with(&head))
            .take_while(|l| !l.starts_with(&next))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_contains(&out, &["a recv with exactly that much:", "cut: no"]);
    assert!(step(2).contains("MSG_TRUNC"), "{out}");
    assert!(!step(2).contains(" 600 of 600"), "{out}");
    assert!(
        step(3).contains("600 of 600 addresses arrived whole"),
        "{out}"
    );
    assert!(!step(3).contains("MSG_TRUNC"), "{out}");
    // The socket remembers its 32 KiB reads: 8 KiB is now too small.
    assert!(step(4).contains("MSG_TRUNC"), "{out}");
}

#[test]
fn outputs_are_the_same_on_every_run() {
    for program in [ACKS, DUMPS, BUFFERS, FLAGS] {
        assert_eq!(output(program), output(program), "{program}");
    }
}
