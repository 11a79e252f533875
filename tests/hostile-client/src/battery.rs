//! The cases, run against the kernel. Each sends something hostile,
//! records what came back, and then proves the module alive: a probe on the
//! same socket right behind the case (its answer also marks where the
//! case's answers end), or on a fresh socket after the cases that flood,
//! close or unload.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use ch11_generic_netlink::genl_socket::GenlSocket;
use ch11_generic_netlink::{kv, nlctrl};
use nlbook_common::socket::sockaddr_nl;
use nlbook_common::uapi::{
    NETLINK_EXT_ACK, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP,
    SOL_NETLINK,
};
use nlbook_common::{Errno, NlSocket, SysError};

use crate::answer::{Msg, Refusal, category, join};
use crate::datagram::{claiming_len, message, retyped, truncated};
use crate::kmod::ModuleFile;
use crate::target::{Family, Target};

/// Requests in the flood, sent without reading.
pub const BURST: u32 = 10_000;
/// Clients at once, each with its own socket.
pub const CLIENTS: usize = 8;
/// Request/answer rounds per concurrent client.
pub const ROUNDS: u32 = 25;
/// Requests a client sends before it goes away.
pub const IN_FLIGHT: u32 = 64;
/// The internal option that makes this program the client the battery
/// kills: it sends [`IN_FLIGHT`] quiet requests, says so, and waits.
pub const SEND_THEN_WAIT: &str = "--send-then-wait";

/// How long an answer may take (a kernel thread on a loaded emulator).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(5);
/// After a flood, the kernel thread has finished once it is silent this long.
const SETTLE: Duration = Duration::from_millis(300);
/// After a flood answered in sendmsg() itself, everything is queued already.
const DRAINED: Duration = Duration::from_millis(1);
/// Room for any answer: a 64 KiB request's refusal echoes only its header
/// (NETLINK_CAP_ACK), but a module could answer with anything.
const RECV_BUFFER: usize = 128 * 1024;
/// `NETLINK_CAP_ACK` (`include/uapi/linux/netlink.h`): errors echo only the
/// request's header.
const NETLINK_CAP_ACK: i32 = 10;
/// `UIO_MAXIOV`: the most messages one `sendmmsg()` takes.
const SENDMMSG_MAX: usize = 1024;

/// One row of the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    pub case: &'static str,
    pub sent: String,
    pub came_back: String,
    /// The probe after the case: `Err` says what it got instead.
    pub alive: Result<(), String>,
    /// The case's own judgement of what came back.
    pub verdict: Result<(), String>,
}

/// Sequence numbers, unique across the battery's sockets, so that the
/// first answer carrying a probe's number can only be the probe's.
static NEXT_SEQ: AtomicU32 = AtomicU32::new(1000);

fn seqs(count: u32) -> u32 {
    NEXT_SEQ.fetch_add(count, Ordering::Relaxed)
}

/// A receive that failed: the call, or the kernel's bytes.
#[derive(Debug)]
pub enum RecvError {
    Sys(SysError),
    Broken(String),
}

impl std::fmt::Display for RecvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecvError::Sys(e) if e.errno == Errno(libc::EAGAIN) => {
                write!(f, "no answer within {} s", ANSWER_TIMEOUT.as_secs())
            }
            RecvError::Sys(e) => e.fmt(f),
            RecvError::Broken(why) => f.write_str(why),
        }
    }
}

impl RecvError {
    fn errno(&self) -> Option<Errno> {
        match self {
            RecvError::Sys(e) => Some(e.errno),
            RecvError::Broken(_) => None,
        }
    }
}

/// One battery socket of the target's protocol, bound to its groups, with
/// extended and capped ACKs and a receive timeout.
pub struct Client {
    target: Target,
    sock: NlSocket,
    portid: u32,
    buf: Vec<u8>,
}

impl Client {
    pub fn open(target: Target) -> Result<Self, SysError> {
        let sock = NlSocket::open(target.family.protocol())?;
        sock.bind(0, target.family.groups())?;
        sock.set_recv_timeout(ANSWER_TIMEOUT)?;
        sock.set_option(SOL_NETLINK, NETLINK_EXT_ACK, 1)?;
        sock.set_option(SOL_NETLINK, NETLINK_CAP_ACK, 1)?;
        let portid = sock.portid()?;
        Ok(Client {
            target,
            sock,
            portid,
            buf: vec![0; RECV_BUFFER],
        })
    }

    pub fn send(&self, datagram: &[u8]) -> Result<(), SysError> {
        self.sock.send_to(datagram, 0, 0).map(drop)
    }

    /// The messages of the next datagram, noise left out.
    pub fn recv(&mut self) -> Result<Vec<Msg>, RecvError> {
        let got = self.sock.recv(&mut self.buf).map_err(RecvError::Sys)?;
        if got.truncated() {
            return Err(RecvError::Broken(format!(
                "a {}-byte datagram did not fit in {RECV_BUFFER} bytes",
                got.datagram_len
            )));
        }
        let msgs = Msg::parse_datagram(&self.buf[..got.len])
            .map_err(|e| RecvError::Broken(format!("the kernel sent a {e}")))?;
        Ok(msgs
            .into_iter()
            .filter(|m| !self.target.is_noise(m))
            .collect())
    }

    /// Everything up to and including the first message with `last_seq`;
    /// on failure, what had come until then, and the failure.
    pub fn read_through(&mut self, last_seq: u32) -> (Vec<Msg>, Option<RecvError>) {
        let mut got = Vec::new();
        loop {
            match self.recv() {
                Ok(msgs) => {
                    let done = msgs.iter().any(|m| m.seq() == last_seq);
                    got.extend(msgs);
                    if done {
                        return (got, None);
                    }
                }
                Err(e) => return (got, Some(e)),
            }
        }
    }

    /// Send the probe and judge its answer; what came before it is returned.
    pub fn probe(&mut self) -> Result<(Vec<Msg>, Result<(), String>)> {
        let seq = seqs(2);
        let probe = self.target.probe(seq)?;
        if let Err(e) = self.send(&probe.datagram) {
            return Ok((Vec::new(), Err(format!("the probe: {e}"))));
        }
        let (mut msgs, failed) = self.read_through(probe.last_seq);
        if let Some(e) = failed {
            let before = msgs
                .iter()
                .map(|m| self.target.describe(m))
                .collect::<Vec<_>>();
            return Ok((msgs, Err(format!("the probe: {e} (got {})", join(&before)))));
        }
        let answer = msgs.split_off(msgs.len().saturating_sub(probe.answer_len));
        Ok((msgs, self.target.judge_probe(seq, &answer, self.portid)))
    }

    /// A quiet request and its one answer, judged.
    fn quiet_round(&mut self) -> Result<(), String> {
        let seq = seqs(1);
        let request = self.target.quiet(seq).map_err(|e| e.to_string())?;
        self.send(&request).map_err(|e| e.to_string())?;
        match self.read_through(seq) {
            (msgs, None) => match msgs.as_slice() {
                [answer] => self.target.judge_quiet(seq, answer, self.portid),
                _ => Err(format!(
                    "request {seq}: {}",
                    join(
                        &msgs
                            .iter()
                            .map(|m| self.target.describe(m))
                            .collect::<Vec<_>>()
                    )
                )),
            },
            (_, Some(e)) => Err(format!("request {seq}: {e}")),
        }
    }

    fn describe_all(&self, msgs: &[Msg]) -> String {
        join(
            &msgs
                .iter()
                .map(|m| self.target.describe(m))
                .collect::<Vec<_>>(),
        )
    }
}

/// A probe on a fresh socket.
fn alive(target: Target) -> Result<(), String> {
    let mut client = Client::open(target).map_err(|e| e.to_string())?;
    match client.probe() {
        Ok((before, judged)) if before.is_empty() => judged,
        Ok((before, _)) => Err(format!("unasked answers: {}", client.describe_all(&before))),
        Err(e) => Err(format!("{e:#}")),
    }
}

/// NLBOOK_KV's id, which changes each time the family registers.
pub fn resolve_kv() -> Result<u16> {
    let sock = GenlSocket::open().context("a socket to ask nlctrl")?;
    let family = nlctrl::get_family(&sock, kv::FAMILY_NAME)?;
    Ok(family.id)
}

/// What the answers to one case may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// A message whose framing lies: never a reply; a refusal or nothing.
    NoReply,
    /// Exactly one refusal.
    Refused,
    /// A control message or a non-request: skipped, so only the ACK it asked for.
    AckOnly,
    /// Asked for an ACK: whatever else, an ACK or a refusal is among them.
    Acked,
    /// Anything well-formed.
    Anything,
}

fn judge(expect: Expect, target: &Target, msgs: &[Msg]) -> Result<(), String> {
    let is_error = |m: &Msg| m.header.nlmsg_type == NLMSG_ERROR;
    let describe = || join(&msgs.iter().map(|m| target.describe(m)).collect::<Vec<_>>());
    let ok = match expect {
        Expect::NoReply => msgs.iter().all(is_error),
        Expect::Refused => matches!(msgs, [m] if m.refusal().is_some_and(|r| r.errno.is_some())),
        Expect::AckOnly => matches!(msgs, [m] if m.is_ack()),
        Expect::Acked => msgs.iter().any(is_error),
        Expect::Anything => true,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("expected {expect:?}, got {}", describe()))
    }
}

/// One single-datagram case.
struct DatagramCase {
    case: &'static str,
    sent: String,
    datagram: Vec<u8>,
    expect: Expect,
}

impl DatagramCase {
    fn new(case: &'static str, sent: impl Into<String>, datagram: Vec<u8>, expect: Expect) -> Self {
        DatagramCase {
            case,
            sent: sent.into(),
            datagram,
            expect,
        }
    }
}

/// The single-datagram cases, in the order they run.
fn datagram_cases(target: &Target) -> Result<Vec<DatagramCase>> {
    let ty = target.request_type();
    let ask_ack = NLM_F_REQUEST | NLM_F_ACK;
    let basic = target.basic(seqs(1), NLM_F_REQUEST)?;
    let basic_len = basic.len();
    let past_end = u32::try_from(basic_len + 64).unwrap_or(u32::MAX);
    let empty_expect = if target.takes_empty_payload() {
        Expect::Anything
    } else {
        Expect::Refused
    };
    let retyped_case = |name, about: &str, new_type: u16| -> Result<_> {
        let m = target.basic(seqs(1), NLM_F_REQUEST)?;
        Ok(DatagramCase {
            case: name,
            sent: format!("the request as {about}, NLM_F_REQUEST|NLM_F_ACK"),
            datagram: retyped(&m, new_type, ask_ack),
            expect: if new_type < nlbook_common::uapi::NLMSG_MIN_TYPE {
                Expect::AckOnly
            } else {
                Expect::Acked
            },
        })
    };
    Ok(vec![
        DatagramCase::new(
            "header cut short",
            "the first 8 bytes of the request".to_string(),
            truncated(&target.basic(seqs(1), NLM_F_REQUEST)?, 8),
            Expect::NoReply,
        ),
        DatagramCase::new(
            "nlmsg_len below the header",
            format!("the request ({basic_len} bytes) claiming nlmsg_len 8"),
            claiming_len(&target.basic(seqs(1), NLM_F_REQUEST)?, 8),
            Expect::NoReply,
        ),
        DatagramCase::new(
            "nlmsg_len past the datagram",
            format!("the request ({basic_len} bytes) claiming nlmsg_len {past_end}"),
            claiming_len(&target.basic(seqs(1), NLM_F_REQUEST)?, past_end),
            Expect::NoReply,
        ),
        DatagramCase::new(
            "zero payload",
            "a 16-byte header of the request's type, nothing after it".to_string(),
            message(ty, NLM_F_REQUEST, seqs(1), b""),
            empty_expect,
        ),
        DatagramCase::new(
            "64 KiB payload",
            "the request's type with 65536 bytes of 'x'".to_string(),
            message(ty, NLM_F_REQUEST, seqs(1), &vec![b'x'; 65536]),
            Expect::Refused,
        ),
        retyped_case("type NLMSG_NOOP", "type 1 (NLMSG_NOOP)", NLMSG_NOOP)?,
        retyped_case("type NLMSG_ERROR", "type 2 (NLMSG_ERROR)", NLMSG_ERROR)?,
        retyped_case("type NLMSG_DONE", "type 3 (NLMSG_DONE)", NLMSG_DONE)?,
        retyped_case("type 0xffff", "type 0xffff", 0xffff)?,
        DatagramCase::new(
            "no NLM_F_REQUEST",
            "the request with flags NLM_F_ACK only".to_string(),
            target.basic(seqs(1), NLM_F_ACK)?,
            Expect::AckOnly,
        ),
        DatagramCase::new(
            "NLM_F_DUMP",
            match target.family {
                Family::GenlKv => "DEL battery with NLM_F_DUMP (DEL has no dump)".to_string(),
                _ => "the request with NLM_F_DUMP".to_string(),
            },
            target.dump_request(seqs(1))?,
            Expect::Anything,
        ),
    ])
}

/// A case's answers in an order that does not depend on timing: where a
/// kernel thread replies, its replies and the ACKs and refusals that
/// netlink_rcv_skb() sends at once arrive in either order; ACKs and
/// refusals are listed first. Within each kind the order is the kernel's.
fn in_stable_order(target: &Target, mut msgs: Vec<Msg>) -> Vec<Msg> {
    if target.family.answers_later() {
        msgs.sort_by_key(|m| m.header.nlmsg_type != NLMSG_ERROR);
    }
    msgs
}

/// Runs every case; `exe` is this program, for the client that is killed.
pub fn run(target: &mut Target, module: &ModuleFile, exe: &Path) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    // The first socket a process binds gets the process id as its port id,
    // and gets it again once the socket holding it has closed: a fresh
    // socket would then receive the replies a kernel thread still owes a
    // client that vanished. This socket keeps that port id until the module
    // is unloaded, so the battery's other sockets get port ids never used
    // before, and any answer they did not ask for is a fault.
    let port_keeper = Client::open(*target)?;

    let mut first = Client::open(*target)?;
    let (before, judged) = first.probe()?;
    rows.push(Row {
        case: "well-formed request",
        sent: target.probe_about().to_string(),
        came_back: if judged.is_ok() {
            "the right answer".to_string()
        } else {
            first.describe_all(&before)
        },
        verdict: Ok(()),
        alive: judged,
    });
    drop(first);

    for DatagramCase {
        case,
        sent,
        datagram,
        expect,
    } in datagram_cases(target)?
    {
        let mut client = Client::open(*target)?;
        let sent_result = client.send(&datagram);
        let (answers, alive) = client.probe()?;
        let answers = in_stable_order(target, answers);
        let mut came_back = client.describe_all(&answers);
        let mut verdict = judge(expect, target, &answers);
        if let Err(e) = sent_result {
            came_back = format!("{}: {}; {came_back}", e.syscall(), e.errno.name());
            verdict = Err(format!("the send failed: {e}"));
        }
        rows.push(Row {
            case,
            sent,
            came_back,
            alive,
            verdict,
        });
    }

    rows.push(burst(*target)?);
    rows.push(concurrent(*target));
    rows.push(closed_mid_exchange(*target));
    rows.push(killed_mid_exchange(*target, exe)?);
    // It pins the module (every socket of a module's protocol does).
    drop(port_keeper);
    rows.push(reload(target, module)?);
    Ok(rows)
}

/// `sendmmsg()` every datagram to the kernel, without reading.
fn send_all(sock: &NlSocket, datagrams: &[Vec<u8>]) -> Result<(), SysError> {
    use std::os::fd::AsRawFd;
    let mut kernel = sockaddr_nl(0, 0);
    for chunk in datagrams.chunks(SENDMMSG_MAX) {
        let mut iovs: Vec<libc::iovec> = chunk
            .iter()
            .map(|d| libc::iovec {
                iov_base: d.as_ptr().cast_mut().cast::<libc::c_void>(),
                iov_len: d.len(),
            })
            .collect();
        let mut headers: Vec<libc::mmsghdr> = iovs
            .iter_mut()
            .map(|iov| {
                // SAFETY: mmsghdr is plain data; all-zero is "no name, no
                // iovec, no control data", filled in below.
                let mut h: libc::mmsghdr = unsafe { std::mem::zeroed() };
                h.msg_hdr.msg_name = (&raw mut kernel).cast::<libc::c_void>();
                h.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t;
                h.msg_hdr.msg_iov = iov;
                h.msg_hdr.msg_iovlen = 1;
                h
            })
            .collect();
        let mut done = 0;
        while done < headers.len() {
            let rest = &mut headers[done..];
            let count = libc::c_uint::try_from(rest.len()).unwrap_or(libc::c_uint::MAX);
            // SAFETY: every header points at `kernel` and at an iovec of a
            // datagram, all of which outlive the call.
            let n = unsafe { libc::sendmmsg(sock.as_raw_fd(), rest.as_mut_ptr(), count, 0) };
            match usize::try_from(n) {
                Ok(sent) => done += sent,
                Err(_) => {
                    let err = SysError::last("sendmmsg(AF_NETLINK, to the kernel)");
                    if err.errno != Errno(libc::EINTR) {
                        return Err(err);
                    }
                }
            }
        }
    }
    Ok(())
}

/// 10,000 quiet requests without reading; then everything that came back.
fn burst(target: Target) -> Result<Row> {
    let mut client = Client::open(target)?;
    let base = seqs(BURST);
    let datagrams = (0..BURST)
        .map(|i| target.quiet(base + i))
        .collect::<Result<Vec<_>>>()?;
    let sent = format!(
        "{BURST} datagrams of one request each ({}), by sendmmsg(), nothing read meanwhile",
        target.quiet_about()
    );
    if let Err(e) = send_all(&client.sock, &datagrams) {
        return Ok(Row {
            case: "burst",
            sent,
            came_back: format!("{}: {}", e.syscall(), e.errno.name()),
            alive: alive(target),
            verdict: Err(format!("the flood could not be sent: {e}")),
        });
    }
    let gap = if target.family.answers_later() {
        SETTLE
    } else {
        DRAINED
    };
    client.sock.set_recv_timeout(gap)?;
    let (mut answers, mut kinds, mut enobufs) = (0u32, BTreeSet::new(), false);
    let mut verdict = Ok(());
    loop {
        match client.recv() {
            Ok(msgs) => {
                answers += u32::try_from(msgs.len()).unwrap_or(u32::MAX);
                for msg in &msgs {
                    // A module whose queue is full refuses with ENOBUFS
                    // (chapters 9 and 10); whether such a refusal or the
                    // socket's own overrun wins the room in the receive
                    // buffer is timing: both are the one outcome "lost".
                    match msg.refusal() {
                        Some(Refusal {
                            errno: Some(errno), ..
                        }) if errno == Errno(libc::ENOBUFS) => enobufs = true,
                        _ => {
                            kinds.insert(category(msg));
                        }
                    }
                }
            }
            Err(e) if e.errno() == Some(Errno(libc::ENOBUFS)) => enobufs = true,
            Err(e) if e.errno() == Some(Errno(libc::EAGAIN)) => break,
            Err(e) => {
                verdict = Err(format!("reading the answers: {e}"));
                break;
            }
        }
    }
    client.sock.set_recv_timeout(ANSWER_TIMEOUT)?;
    // The flooded socket itself works again once read.
    let (_, same_socket) = client.probe()?;
    if let Err(why) = same_socket {
        verdict = Err(format!("the flooded socket, once read: {why}"));
    }
    drop(client);
    let how_many = match answers {
        0 => "none",
        n if n == BURST => "all",
        n if n > BURST => "more than sent",
        _ => "some",
    };
    if answers > BURST {
        verdict = Err(format!("{answers} answers to {BURST} requests"));
    }
    let kinds = kinds.into_iter().collect::<Vec<_>>().join(", ");
    Ok(Row {
        case: "burst",
        sent,
        came_back: format!(
            "answers: {how_many} ({kinds}); ENOBUFS, on the socket or from a full queue: {}",
            if enobufs { "yes" } else { "no" }
        ),
        alive: alive(target),
        verdict,
    })
}

/// Several clients at once, each with request/answer rounds.
fn concurrent(target: Target) -> Row {
    let results: Vec<Result<(), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|_| {
                s.spawn(move || -> Result<(), String> {
                    let mut client = Client::open(target).map_err(|e| e.to_string())?;
                    (0..ROUNDS).try_for_each(|_| client.quiet_round())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("the client thread panicked".into()))
            })
            .collect()
    });
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    Row {
        case: "concurrent clients",
        sent: format!(
            "{CLIENTS} clients at once, each {ROUNDS} rounds of a request ({}) and its answer",
            target.quiet_about()
        ),
        came_back: if failed.is_empty() {
            "every answer right".to_string()
        } else {
            format!("wrong answers at {} clients", failed.len())
        },
        verdict: match failed.first() {
            None => Ok(()),
            Some(first) => Err((*first).clone()),
        },
        alive: alive(target),
    }
}

/// A thread that sends requests, reads one answer, and closes its socket.
fn closed_mid_exchange(target: Target) -> Row {
    let first_answer = std::thread::scope(|s| {
        s.spawn(move || -> Result<(), String> {
            let mut client = Client::open(target).map_err(|e| e.to_string())?;
            let base = seqs(IN_FLIGHT);
            for i in 0..IN_FLIGHT {
                let request = target.quiet(base + i).map_err(|e| e.to_string())?;
                client.send(&request).map_err(|e| e.to_string())?;
            }
            match client.read_through(base) {
                (msgs, None) => match msgs.as_slice() {
                    [answer] => target.judge_quiet(base, answer, client.portid),
                    _ => Err(format!("first answer: {}", client.describe_all(&msgs))),
                },
                (_, Some(e)) => Err(format!("first answer: {e}")),
            }
            // The socket closes here, the other answers unread or on their way.
        })
        .join()
        .unwrap_or_else(|_| Err("the client thread panicked".into()))
    });
    Row {
        case: "closed mid-exchange",
        sent: format!(
            "a thread sends {IN_FLIGHT} requests as in the burst, reads the first answer, closes its socket"
        ),
        came_back: match &first_answer {
            Ok(()) => format!("the first answer, right; {} left unread", IN_FLIGHT - 1),
            Err(_) => "a wrong first answer".to_string(),
        },
        verdict: first_answer,
        alive: alive(target),
    }
}

/// What the killed client does: send, say so, wait to be killed.
pub fn send_then_wait(target: Target) -> Result<()> {
    let client = Client::open(target)?;
    let base = seqs(IN_FLIGHT);
    for i in 0..IN_FLIGHT {
        client.send(&target.quiet(base + i)?)?;
    }
    println!("sent {IN_FLIGHT}");
    std::thread::sleep(Duration::from_secs(60));
    bail!("was not killed within 60 s")
}

/// A process that sends requests and is killed before reading any answer.
fn killed_mid_exchange(target: Target, exe: &Path) -> Result<Row> {
    let mut command = Command::new(exe);
    command
        .args([SEND_THEN_WAIT, "--probe", target.family.name()])
        .args(["--genl-id", &target.genl_id.to_string()])
        .stdout(Stdio::piped());
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    let said = child
        .stdout
        .take()
        .map(|out| {
            let mut line = String::new();
            BufReader::new(out).read_line(&mut line).map(|_| line)
        })
        .transpose()?
        .unwrap_or_default();
    child.kill().context("killing the client")?;
    let status = child.wait().context("waiting for the killed client")?;
    use std::os::unix::process::ExitStatusExt;
    let verdict =
        if said.trim() == format!("sent {IN_FLIGHT}") && status.signal() == Some(libc::SIGKILL) {
            Ok(())
        } else {
            Err(format!("the client said {said:?} and ended with {status}"))
        };
    Ok(Row {
        case: "killed mid-exchange",
        sent: format!(
            "a process sends {IN_FLIGHT} requests as in the burst and is killed (SIGKILL) before reading"
        ),
        came_back: "nothing read: the process is gone".to_string(),
        verdict,
        alive: alive(target),
    })
}

/// `delete_module()` while a client holds the module, again once it has
/// let go, then `finit_module()` and a probe.
fn reload(target: &mut Target, module: &ModuleFile) -> Result<Row> {
    let mut steps = Vec::new();
    let mut verdict = Ok(());
    let name = &module.name;
    // "delete_module <when>: unloaded", or the errno.
    let unload = |steps: &mut Vec<String>, when: &str| match module.unload() {
        Ok(()) => {
            steps.push(format!("delete_module {when}: unloaded"));
            true
        }
        Err(e) => {
            steps.push(format!("delete_module {when}: {}", e.errno.name()));
            false
        }
    };
    let sent;
    if target.family == Family::GenlKv {
        // A generic netlink socket pins genetlink, not the family's module;
        // an unfinished dump pins the module.
        sent = format!(
            "delete_module(\"{name}\") during a GET dump not yet read, again after reading it with \
             the socket still open, a GET on that socket, finit_module()"
        );
        let mut holder = Client::open(*target)?;
        let seq = seqs(1);
        holder.send(&target.basic(seq, NLM_F_REQUEST | NLM_F_DUMP)?)?;
        let gone = unload(&mut steps, "during the dump");
        let (msgs, failed) = holder.read_through_done(seq);
        steps.push(format!("the dump: {}", holder.describe_all(&msgs)));
        if let Some(e) = failed {
            verdict = Err(format!("the dump did not end: {e}"));
        }
        if !gone {
            if unload(&mut steps, "after it, the socket open") {
                let seq = seqs(1);
                holder.send(&target.basic(seq, NLM_F_REQUEST)?)?;
                let (msgs, failed) = holder.read_through(seq);
                steps.push(format!(
                    "the open socket's GET: {}",
                    match failed {
                        None => holder.describe_all(&msgs),
                        Some(e) => e.to_string(),
                    }
                ));
            } else {
                verdict = Err("the module stayed loaded after its dump ended".to_string());
            }
        }
    } else {
        sent = format!(
            "delete_module(\"{name}\") with an answered socket open, a probe on it, \
             delete_module() once it is closed, finit_module()"
        );
        let mut holder = Client::open(*target)?;
        let (_, held_alive) = holder.probe()?;
        if let Err(why) = held_alive {
            verdict = Err(format!("the holding socket: {why}"));
        }
        if unload(&mut steps, "with the socket open") {
            drop(holder);
        } else {
            let (_, still) = holder.probe()?;
            steps.push(match still {
                Ok(()) => "the socket still answered".to_string(),
                Err(why) => format!("the socket then got: {why}"),
            });
            drop(holder);
            if !unload(&mut steps, "once it is closed") {
                verdict = Err("the module would not unload with no socket open".to_string());
            }
        }
    }
    match module.load() {
        Ok(()) => steps.push("finit_module: loaded".to_string()),
        Err(e) => {
            steps.push(format!("finit_module: {}", e.errno.name()));
            return Ok(Row {
                case: "rmmod and insmod",
                sent,
                came_back: steps.join("; "),
                alive: Err(format!("not loaded: {e}")),
                verdict: Err(format!("could not load the module again: {e}")),
            });
        }
    }
    if target.family == Family::GenlKv {
        target.genl_id = resolve_kv()?;
    }
    Ok(Row {
        case: "rmmod and insmod",
        sent,
        came_back: steps.join("; "),
        alive: alive(*target),
        verdict,
    })
}

impl Client {
    /// A dump's messages through its NLMSG_DONE (or a refusal).
    fn read_through_done(&mut self, seq: u32) -> (Vec<Msg>, Option<RecvError>) {
        let mut got = Vec::new();
        loop {
            match self.recv() {
                Ok(msgs) => {
                    let done = msgs.iter().any(|m| {
                        m.seq() == seq
                            && (m.header.nlmsg_type == NLMSG_DONE
                                || m.header.nlmsg_type == NLMSG_ERROR)
                    });
                    got.extend(msgs);
                    if done {
                        return (got, None);
                    }
                }
                Err(e) => return (got, Some(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::fixtures::{msg, nlmsgerr};

    fn error(errno: i32) -> Msg {
        nlmsgerr(1, -errno)
    }

    #[test]
    fn kernel_thread_replies_are_listed_after_acks() {
        let reply = msg(0xffff, 1, b"ping");
        let deferred = Target::new(Family::Deferred, 0);
        let sorted = in_stable_order(&deferred, vec![reply.clone(), error(0)]);
        assert!(sorted[0].is_ack() && sorted[1] == reply);
        // Answered in sendmsg() itself: the kernel's order is kept.
        let echo = Target::new(Family::Echo, 0);
        assert_eq!(
            in_stable_order(&echo, vec![reply.clone(), error(0)])[0],
            reply
        );
    }

    #[test]
    fn judgements() {
        let t = Target::new(Family::Echo, 0);
        let reply = msg(0x10, 1, b"hello from kernel: ping\0");
        assert!(judge(Expect::NoReply, &t, &[]).is_ok());
        assert!(judge(Expect::NoReply, &t, &[error(libc::EINVAL)]).is_ok());
        let lie = judge(Expect::NoReply, &t, std::slice::from_ref(&reply)).unwrap_err();
        assert_eq!(
            lie,
            "expected NoReply, got reply \"hello from kernel: ping\""
        );
        assert!(judge(Expect::Refused, &t, &[error(libc::EMSGSIZE)]).is_ok());
        assert!(judge(Expect::Refused, &t, &[error(0)]).is_err());
        assert!(judge(Expect::AckOnly, &t, &[error(0)]).is_ok());
        assert!(judge(Expect::AckOnly, &t, &[reply.clone(), error(0)]).is_err());
        assert!(judge(Expect::Acked, &t, &[error(0), reply.clone()]).is_ok());
        assert!(judge(Expect::Acked, &t, &[reply]).is_err());
    }

    #[test]
    fn every_datagram_case_is_built_for_every_family() {
        for f in Family::ALL {
            let cases = datagram_cases(&Target::new(f, 0x20)).unwrap();
            assert_eq!(cases.len(), 11, "{f:?}");
            let cut = &cases[0].datagram;
            assert_eq!(cut.len(), 8);
            let big = &cases[4].datagram;
            assert_eq!(big.len(), 16 + 65536);
        }
    }
}
