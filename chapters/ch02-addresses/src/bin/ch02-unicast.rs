//! `ch02-unicast`: two processes talk over NETLINK_USERSOCK, each sending
//! with `sendto()` to the other's port id. No kernel code takes part but
//! the delivery.
//!
//! The program makes a fresh network namespace (root, or `unshare -Urn`),
//! binds a socket, and starts itself again as the child (`--child PORT`,
//! PORT being the parent's port id), which inherits the namespace. The
//! parent prints the child's lines as they come, between its own, so the
//! report reads in the order things happened.

use nlbook_common::UsageError;
use std::io::{BufRead, BufReader, Lines, Read};
use std::process::{ChildStdout, Command, ExitCode, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ch02_addresses::in_fresh_netns;
use ch02_addresses::ports::{
    NOBODY, message, payload_text, process_id, single_message, text_payload, yes_no,
};
use nlbook_common::uapi::NLMSG_MIN_TYPE;
use nlbook_common::{NlSocket, exit_code};

const PROGRAM: &str = "ch02-unicast";
const USAGE: &str =
    "usage: ch02-unicast (the child role, --child PORT, is started by the program itself)";

/// The message type both sides use: the first one that is not a control
/// message. Between user sockets, types mean what the two sides agree on.
const TEXT: u16 = NLMSG_MIN_TYPE;
/// What the child writes in `nlmsg_pid`: not its port id, on purpose.
const FALSE_NLMSG_PID: u32 = 12345;
/// How long each side waits for the other's message.
const WAIT: Duration = Duration::from_secs(5);
/// The child's line that says its message is on its way.
const SENT: &str = "child: sent";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.as_slice() {
        [] => in_fresh_netns(parent),
        [flag, port] if flag == "--child" => match port.parse::<u32>() {
            Ok(port) => child(port),
            Err(_) => Err(UsageError::new(format!("--child: not a port id: {port}"), USAGE).into()),
        },
        _ => Err(UsageError::new("unexpected arguments", USAGE).into()),
    };
    exit_code(PROGRAM, result)
}

fn parent() -> Result<()> {
    // ANCHOR: parent_bind
    let sock = NlSocket::open(libc::NETLINK_USERSOCK)?;
    sock.bind(0, 0)?;
    sock.set_recv_timeout(WAIT)?;
    let ours = sock.portid()?;
    println!(
        "parent: NETLINK_USERSOCK socket, bind(nl_pid 0): port id == the parent's process id: {}",
        yes_no(ours == process_id())
    );
    // ANCHOR_END: parent_bind

    // ANCHOR: spawn
    // Started from this thread, the child shares its network namespace.
    let mut child = Command::new(std::env::current_exe()?)
        .args(["--child", &ours.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting the child")?;
    let child_pid = child.id();
    // ANCHOR_END: spawn
    let mut child_lines =
        BufReader::new(child.stdout.take().context("the child's stdout")?).lines();
    let relayed = relay_until(&mut child_lines, Some(SENT));

    let exchanged = relayed.and_then(|()| {
        // ANCHOR: parent_recv
        let mut buf = [0u8; 1024];
        let got = sock.recv(&mut buf)?;
        let (header, payload) = single_message(&buf[..got.len])?;
        println!("parent: received {:?}", payload_text(&payload));
        println!(
            "parent: its sender address (msg_name.nl_pid) == the child's process id: {}",
            yes_no(got.from_portid == child_pid)
        );
        println!(
            "parent: its header's nlmsg_pid: {} (what the child wrote; nobody checks it)",
            header.nlmsg_pid
        );
        // Answer the sender address, never the header's claim.
        let pong = message(TEXT, 0, header.nlmsg_seq, ours, &text_payload("pong"))?;
        sock.send_to(&pong, got.from_portid, 0)?;
        println!("parent: sent \"pong\" with sendto() to that sender address");
        // ANCHOR_END: parent_recv
        relay_until(&mut child_lines, None)
    });

    let status = child.wait()?;
    let mut child_stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        err.read_to_string(&mut child_stderr)?;
    }
    if !status.success() {
        bail!("the child failed ({status}): {}", child_stderr.trim_end());
    }
    exchanged?;
    println!("parent: the child exited with status 0");

    // ANCHOR: nobody
    let hello = message(TEXT, 0, 2, ours, &text_payload("anyone?"))?;
    match sock.send_to(&hello, NOBODY, 0) {
        Ok(_) => bail!("port id {NOBODY} is held by some socket in a fresh namespace"),
        Err(e) => println!(
            "parent: sendto(port id {NOBODY}, which no socket holds): {}",
            e.errno
        ),
    }
    // ANCHOR_END: nobody
    Ok(())
}

/// Print the child's lines until one starts with `until` (`None`: until
/// the child closes its output).
fn relay_until(lines: &mut Lines<BufReader<ChildStdout>>, until: Option<&str>) -> Result<()> {
    for line in lines.by_ref() {
        let line = line?;
        println!("{line}");
        if until.is_some_and(|mark| line.starts_with(mark)) {
            return Ok(());
        }
    }
    match until {
        Some(mark) => bail!("the child ended before printing {mark:?}"),
        None => Ok(()),
    }
}

fn child(parent_port: u32) -> Result<()> {
    // ANCHOR: child
    let sock = NlSocket::open(libc::NETLINK_USERSOCK)?;
    sock.bind(0, 0)?;
    sock.set_recv_timeout(WAIT)?;
    println!(
        "child: its own socket, bind(nl_pid 0): port id == the child's process id: {}",
        yes_no(sock.portid()? == process_id())
    );
    let ping = message(TEXT, 0, 1, FALSE_NLMSG_PID, &text_payload("ping"))?;
    sock.send_to(&ping, parent_port, 0)?;
    println!(
        "{SENT} \"ping\" with sendto() to the parent's port id, nlmsg_pid {FALSE_NLMSG_PID} \
         (false, on purpose)"
    );
    let mut buf = [0u8; 1024];
    let got = sock.recv(&mut buf)?;
    let (_, payload) = single_message(&buf[..got.len])?;
    println!(
        "child: received {:?}; its sender address == the parent's port id: {}",
        payload_text(&payload),
        yes_no(got.from_portid == parent_port)
    );
    // ANCHOR_END: child
    Ok(())
}
