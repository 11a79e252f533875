//! The book's picture of a netlink message, `book/src/diagrams/ch01-nlmsghdr.bob`,
//! is drawn from the bytes of the first request `ch01-echo-raw` sends
//! ("hello"), built here with the same calls, so the picture cannot drift
//! from the code. The VM lab's run of the client says which `nlmsg_len` it
//! really sent; the test checks the two agree.
//!
//! After a deliberate change, `UPDATE_DIAGRAMS=1 cargo test -p
//! ch01-hello-netlink --test layout_diagram` rewrites the picture.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use ch01_hello_netlink::echo::{ECHO_TYPE, request_payload};
use nlbook_common::uapi::NLM_F_REQUEST;
use nlbook_common::{NLMSG_HDRLEN, NlMsgHdr, nlmsg_length, nlmsg_space};

/// A port id to show in `nlmsg_pid`; the real one is the client's own.
const EXAMPLE_PORTID: u32 = 1234;

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The "hello" request, as `ch01-echo-raw` lays it out.
fn hello_request() -> (NlMsgHdr, Vec<u8>) {
    let payload = request_payload("hello");
    let header = NlMsgHdr {
        nlmsg_len: u32::try_from(nlmsg_length(payload.len())).expect("a short message"),
        nlmsg_type: ECHO_TYPE,
        nlmsg_flags: NLM_F_REQUEST,
        nlmsg_seq: 1,
        nlmsg_pid: EXAMPLE_PORTID,
    };
    let mut datagram = vec![0u8; nlmsg_space(payload.len())];
    datagram[..NLMSG_HDRLEN].copy_from_slice(&header.to_bytes());
    datagram[NLMSG_HDRLEN..NLMSG_HDRLEN + payload.len()].copy_from_slice(&payload);
    (header, datagram)
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Quoted, so svgbob shows the text as written instead of drawing its `_`.
fn quoted(text: &str) -> String {
    if text.is_empty() {
        String::new()
    } else {
        format!("\"{text}\"")
    }
}

/// One box per field: its bytes in hex (host order; x86_64 is
/// little-endian), its name and its value; then the two lengths that matter.
fn diagram(header: &NlMsgHdr, datagram: &[u8]) -> String {
    let nlmsg_len = header.nlmsg_len as usize;
    let payload_len = nlmsg_len - NLMSG_HDRLEN;
    let fields: [(&str, String, std::ops::Range<usize>); 7] = [
        ("nlmsg_len", nlmsg_len.to_string(), 0..4),
        ("nlmsg_type", format!("{:#x}", header.nlmsg_type), 4..6),
        ("nlmsg_flags", "REQUEST".into(), 6..8),
        ("nlmsg_seq", header.nlmsg_seq.to_string(), 8..12),
        ("nlmsg_pid", header.nlmsg_pid.to_string(), 12..16),
        ("payload", "hello + NUL".into(), 16..nlmsg_len),
        ("padding", String::new(), nlmsg_len..datagram.len()),
    ];
    let cells: Vec<[String; 3]> = fields
        .iter()
        .map(|(name, value, range)| {
            [
                quoted(&hex(&datagram[range.clone()])),
                quoted(name),
                quoted(value),
            ]
        })
        .collect();
    // A space either side of the widest line of each box.
    let widths: Vec<usize> = cells
        .iter()
        .map(|lines| lines.iter().map(String::len).max().unwrap_or(0) + 2)
        .collect();
    let rule = widths.iter().fold("+".to_string(), |line, w| {
        format!("{line}{}+", "-".repeat(*w))
    });
    let row = |line_of_box: usize| {
        cells
            .iter()
            .zip(&widths)
            .fold("|".to_string(), |line, (lines, w)| {
                format!("{line} {:<width$}|", lines[line_of_box], width = w - 1)
            })
    };
    // Each box's first offset above its left edge, the total above the end.
    let mut offsets = String::new();
    let mut edge = 0;
    for ((_, _, range), w) in fields.iter().zip(&widths) {
        offsets = format!("{offsets:<edge$}{}", quoted(&range.start.to_string()));
        edge += w + 1;
    }
    offsets = format!("{offsets:<edge$}{}", quoted(&datagram.len().to_string()));
    // An arrow from the left edge to the right edge of the `boxes` first boxes.
    let span = |boxes: usize, label: String| {
        let inner = widths[..boxes].iter().map(|w| w + 1).sum::<usize>() - 1;
        let label = format!(" {} ", quoted(&label));
        let dashes = inner.saturating_sub(label.len() + 2);
        let left = dashes / 2;
        format!(
            "|<{}{label}{}>|",
            "-".repeat(left),
            "-".repeat(dashes - left)
        )
    };
    [
        format!(
            "# The \"hello\" request of ch01-echo-raw, byte by byte, as the chapter's code builds it \
             (the port id {EXAMPLE_PORTID} stands for the client's own)"
        ),
        offsets,
        rule.clone(),
        row(0),
        rule.clone(),
        row(1),
        row(2),
        rule,
        span(6, format!("nlmsg_len = NLMSG_LENGTH({payload_len}) = {nlmsg_len}")),
        span(7, format!("NLMSG_SPACE({payload_len}) = {}", datagram.len())),
    ]
    .join("\n")
        + "\n"
}

#[test]
fn the_books_message_picture_is_drawn_from_the_request_the_client_builds() {
    let (header, datagram) = hello_request();
    let lab_run =
        workspace_root().join("tests/snapshots/lab/ch01-hello-netlink__echo-raw@6.1.snap");
    let snapshot = std::fs::read_to_string(&lab_run)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", lab_run.display()));
    let sent = format!("sent: \"hello\" (nlmsg_len {}, seq 1)", header.nlmsg_len);
    assert!(
        snapshot.lines().any(|l| l == sent),
        "the VM lab's run of ch01-echo-raw did not send {sent:?}: the picture would show another message"
    );
    let expected = diagram(&header, &datagram);
    let file = workspace_root().join("book/src/diagrams/ch01-nlmsghdr.bob");
    if std::env::var_os("UPDATE_DIAGRAMS").is_some() {
        std::fs::write(&file, &expected).expect("writing the diagram");
    }
    let committed = std::fs::read_to_string(&file).unwrap_or_default();
    assert_eq!(
        committed,
        expected,
        "{} is not the picture of the request the client builds; after a deliberate change run \
         UPDATE_DIAGRAMS=1 cargo test -p ch01-hello-netlink --test layout_diagram",
        file.display()
    );
}
