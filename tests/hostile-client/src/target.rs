//! The modules under test, by the kind of request they take: protocol,
//! the well-formed request that proves a module alive (the probe) and the
//! answer it must get, and a request the module answers without writing to
//! the kernel log (the quiet one), which the flooding cases send by the
//! thousand so that the lab's recorded kernel log stays short.
//!
//! Numbers and texts mirror the C sources in `kmod/`.

use anyhow::{Result, anyhow};
use ch11_generic_netlink::kv;
use nlbook_common::genl::{GENL_HDRLEN, GenlMsgHdr, request as genl_request};
use nlbook_common::uapi::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use nlbook_common::{NlMsg, RtAttrIter};

use crate::answer::{Msg, describe_control, text};
use crate::datagram::{concat, message};

/// The probe's text for the modules that take text.
pub const PING: &[u8] = b"ping";

/// The key the probe stores in NLBOOK_KV.
pub const KV_KEY: &str = "battery";

/// A module family: how to talk to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    /// ch01 `echo.ko`, protocol 30: any type from 16, 1..=256 bytes of text.
    Echo,
    /// ch02 `whoami.ko`, protocol 29: WHOAMI (16), no payload.
    Whoami,
    /// ch02 `registered_port.ko` / `registered_release.ko`, protocol 29.
    /// The probe is NOTIFY with nobody registered: refused with ENOTCONN.
    /// (A registration would make the answers of concurrent clients depend
    /// on who registered last.)
    Registry,
    /// ch04 `group_listeners.ko`, protocol 28: QUERY (16), no payload.
    Listeners,
    /// ch06 `burst_sender.ko`, protocol 23: REQUEST (16) with a __u32 count;
    /// the probe's socket listens on group 1 and asks for a burst of 1.
    Burst,
    /// ch08 `max_links.ko`, protocol 31: text of 1..=64 bytes.
    MaxLinks,
    /// ch09 `deferred_reply.ko`, protocol 26: 1..=100 bytes, echoed by a
    /// kernel thread.
    Deferred,
    /// ch10 `kthread_ported.ko`, protocol 25: REQUEST (0x10) text, answered
    /// by a kernel thread; a timer reminds the last requester.
    Kthread,
    /// ch11 `nlbook_kv.ko`: the generic netlink family NLBOOK_KV.
    GenlKv,
}

impl Family {
    pub const ALL: [Family; 9] = [
        Family::Echo,
        Family::Whoami,
        Family::Registry,
        Family::Listeners,
        Family::Burst,
        Family::MaxLinks,
        Family::Deferred,
        Family::Kthread,
        Family::GenlKv,
    ];

    /// The name `--probe` takes.
    pub fn name(self) -> &'static str {
        match self {
            Family::Echo => "echo",
            Family::Whoami => "whoami",
            Family::Registry => "registry",
            Family::Listeners => "listeners",
            Family::Burst => "burst",
            Family::MaxLinks => "max-links",
            Family::Deferred => "deferred",
            Family::Kthread => "kthread",
            Family::GenlKv => "genl-kv",
        }
    }

    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The netlink protocol its sockets open.
    pub fn protocol(self) -> i32 {
        match self {
            Family::Echo => 30,
            Family::Whoami | Family::Registry => 29,
            Family::Listeners => 28,
            Family::Burst => 23,
            Family::MaxLinks => 31,
            Family::Deferred => 26,
            Family::Kthread => 25,
            Family::GenlKv => ch11_generic_netlink::genl_socket::NETLINK_GENERIC,
        }
    }

    /// The multicast groups (bitmask) its sockets bind to.
    pub fn groups(self) -> u32 {
        match self {
            Family::Burst => 1 << (BURST_GROUP - 1),
            _ => 0,
        }
    }

    /// Whether answers come from a kernel thread, after the send returned.
    pub fn answers_later(self) -> bool {
        matches!(self, Family::Deferred | Family::Kthread)
    }
}

const REQUEST_TYPE: u16 = nlbook_common::uapi::NLMSG_MIN_TYPE;
/// registered_port.c: NLBOOK_NOTIFY.
const REGISTRY_NOTIFY: u16 = REQUEST_TYPE + 1;
/// burst_sender.c: NLBOOK_BURST_MESSAGE, sent to NLBOOK_BURST_GROUP.
const BURST_MESSAGE: u16 = REQUEST_TYPE + 1;
const BURST_GROUP: u32 = 1;
/// group_listeners.c: NLBOOK_LISTENERS_GROUPS.
const LISTENER_GROUPS: u32 = 64;
/// kthread_ported.c: NLBOOK_KT_REMINDER, sent by the timer at any time.
const KT_REMINDER: u16 = 0x12;

/// A probe: the datagram, the sequence number of its last message (the
/// first answer carrying it ends the probe's answer), and how many
/// messages its answer has.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    pub datagram: Vec<u8>,
    pub last_seq: u32,
    pub answer_len: usize,
}

/// A family, and for NLBOOK_KV the id it was given when it registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Target {
    pub family: Family,
    pub genl_id: u16,
}

impl Target {
    pub fn new(family: Family, genl_id: u16) -> Self {
        Target { family, genl_id }
    }

    /// The `nlmsg_type` of the family's requests.
    pub fn request_type(&self) -> u16 {
        match self.family {
            Family::Registry => REGISTRY_NOTIFY,
            Family::GenlKv => self.genl_id,
            _ => REQUEST_TYPE,
        }
    }

    fn kv(&self, flags: u16, seq: u32, cmd: u8, value: Option<u32>) -> Result<Vec<u8>> {
        let mut b = genl_request(self.genl_id, flags, seq, cmd, kv::FAMILY_VERSION)
            .attr_str(kv::ATTR_KEY, KV_KEY);
        if let Some(v) = value {
            b = b.attr(kv::ATTR_VALUE, &v.to_ne_bytes());
        }
        b.finish().map_err(|e| anyhow!("{e}"))
    }

    /// The family's ordinary request, one message with these flags: what
    /// the type and flag cases start from.
    pub fn basic(&self, seq: u32, flags: u16) -> Result<Vec<u8>> {
        let ty = self.request_type();
        Ok(match self.family {
            Family::Echo
            | Family::Registry
            | Family::MaxLinks
            | Family::Deferred
            | Family::Kthread => message(ty, flags, seq, PING),
            Family::Whoami | Family::Listeners => message(ty, flags, seq, b""),
            Family::Burst => message(ty, flags, seq, &1u32.to_ne_bytes()),
            Family::GenlKv => self.kv(flags, seq, kv::CMD_GET, None)?,
        })
    }

    /// The request that proves the module alive; see [`Target::judge_probe`].
    pub fn probe(&self, seq: u32) -> Result<Probe> {
        Ok(match self.family {
            // A burst of 1 to the probe's own group, acknowledged.
            Family::Burst => Probe {
                datagram: self.basic(seq, NLM_F_REQUEST | NLM_F_ACK)?,
                last_seq: seq,
                answer_len: 2,
            },
            // SET the key to the sequence number, then GET it back.
            Family::GenlKv => Probe {
                datagram: concat(&[
                    self.kv(NLM_F_REQUEST, seq, kv::CMD_SET, Some(seq))?,
                    self.kv(NLM_F_REQUEST, seq + 1, kv::CMD_GET, None)?,
                ]),
                last_seq: seq + 1,
                answer_len: 1,
            },
            _ => Probe {
                datagram: self.basic(seq, NLM_F_REQUEST)?,
                last_seq: seq,
                answer_len: 1,
            },
        })
    }

    /// What the probe sends, in words.
    pub fn probe_about(&self) -> &'static str {
        match self.family {
            Family::Echo => "type 16, \"ping\"; answer: \"hello from kernel: ping\"",
            Family::Whoami => "WHOAMI, no payload; answer: nlmsg_pid 0, this socket's port id",
            Family::Registry => "NOTIFY \"ping\", nobody registered; answer: ENOTCONN",
            Family::Listeners => "QUERY, no payload; answer: 64 groups",
            Family::Burst => {
                "burst of 1 with NLM_F_ACK from a socket on group 1; answer: message 1, ACK"
            }
            Family::MaxLinks => "\"ping\"; answer: \"protocol 31 answers: ping\"",
            Family::Deferred => "type 16, \"ping\"; answer: \"ping\" from the kernel thread",
            Family::Kthread => "REQUEST \"ping\"; answer: \"kthread: ping\" from the kernel thread",
            Family::GenlKv => "SET battery=<seq>, GET battery; answer: battery=<seq>",
        }
    }

    /// Is `answer` (the probe's last `answer_len` messages) right?
    pub fn judge_probe(&self, seq: u32, answer: &[Msg], portid: u32) -> Result<(), String> {
        let wrong = |why: &str| {
            let got: Vec<String> = answer.iter().map(|m| self.describe(m)).collect();
            Err(format!("{why}, got {}", crate::answer::join(&got)))
        };
        let [.., last] = answer else {
            return wrong("no answer");
        };
        let reply_ok = |m: &Msg, payload: &[u8]| {
            m.header.nlmsg_type == self.request_type() && m.seq() == seq && m.payload == payload
        };
        let ok = match self.family {
            Family::Echo => reply_ok(last, b"hello from kernel: ping\0"),
            Family::MaxLinks => reply_ok(last, b"protocol 31 answers: ping\0"),
            Family::Deferred => reply_ok(last, PING),
            Family::Kthread => reply_ok(last, b"kthread: ping\0"),
            Family::Whoami => {
                let mut expected = 0u32.to_ne_bytes().to_vec();
                expected.extend_from_slice(&portid.to_ne_bytes());
                reply_ok(last, &expected)
            }
            Family::Registry => last.seq() == seq && last.is_refusal(libc::ENOTCONN),
            Family::Listeners => {
                last.header.nlmsg_type == REQUEST_TYPE
                    && last.seq() == seq
                    && last.payload.len() == 12
                    && last.payload[..4] == LISTENER_GROUPS.to_ne_bytes()
            }
            Family::Burst => match answer {
                [event, ack] => {
                    event.header.nlmsg_type == BURST_MESSAGE
                        && event.payload == 1u32.to_ne_bytes()
                        && ack.seq() == seq
                        && ack.is_ack()
                }
                _ => false,
            },
            Family::GenlKv => {
                last.seq() == seq + 1 && self.kv_entry(last) == Some((KV_KEY.to_string(), seq))
            }
        };
        if ok {
            Ok(())
        } else {
            wrong(&format!("expected {}", self.probe_about()))
        }
    }

    /// A request the module answers without a kernel-log line, one answer
    /// each; see [`Target::judge_quiet`].
    pub fn quiet(&self, seq: u32) -> Result<Vec<u8>> {
        let ty = self.request_type();
        Ok(match self.family {
            // Refused before the module logs it.
            Family::Echo => message(ty, NLM_F_REQUEST, seq, b""),
            Family::Whoami => message(ty, NLM_F_REQUEST, seq, b"x"),
            Family::Burst => message(ty, NLM_F_REQUEST, seq, &0u32.to_ne_bytes()),
            // These log nothing for an accepted request.
            _ => self.basic(seq, NLM_F_REQUEST)?,
        })
    }

    /// What the quiet request sends, in words.
    pub fn quiet_about(&self) -> &'static str {
        match self.family {
            Family::Echo => "empty text, refused with EINVAL",
            Family::Whoami => "WHOAMI with a 1-byte payload, refused with EINVAL",
            Family::Burst => "a burst of 0, refused with ERANGE",
            Family::GenlKv => "GET battery",
            _ => "the probe's request",
        }
    }

    /// Is `msg` the right answer to quiet request `seq`?
    pub fn judge_quiet(&self, seq: u32, msg: &Msg, portid: u32) -> Result<(), String> {
        let refused = |errno| msg.seq() == seq && msg.is_refusal(errno);
        let ok = match self.family {
            Family::Echo | Family::Whoami => refused(libc::EINVAL),
            Family::Burst => refused(libc::ERANGE),
            Family::GenlKv => {
                msg.seq() == seq && self.kv_entry(msg).is_some_and(|(k, _)| k == KV_KEY)
            }
            _ => return self.judge_probe(seq, std::slice::from_ref(msg), portid),
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "request {seq} ({}) answered {}",
                self.quiet_about(),
                self.describe(msg)
            ))
        }
    }

    /// The request with `NLM_F_DUMP` for a module that has no dump: the
    /// ordinary request, or for NLBOOK_KV a DEL, which has no dumpit.
    pub fn dump_request(&self, seq: u32) -> Result<Vec<u8>> {
        match self.family {
            Family::GenlKv => self.kv(NLM_F_REQUEST | NLM_F_DUMP, seq, kv::CMD_DEL, None),
            _ => self.basic(seq, NLM_F_REQUEST | NLM_F_DUMP),
        }
    }

    /// Whether an empty payload is a well-formed request of this family.
    pub fn takes_empty_payload(&self) -> bool {
        matches!(self.family, Family::Whoami | Family::Listeners)
    }

    /// Messages that may arrive at any time and answer nothing.
    pub fn is_noise(&self, msg: &Msg) -> bool {
        self.family == Family::Kthread && msg.header.nlmsg_type == KT_REMINDER
    }

    fn kv_entry(&self, msg: &Msg) -> Option<(String, u32)> {
        if msg.header.nlmsg_type != self.genl_id {
            return None;
        }
        let nl = NlMsg {
            header: msg.header,
            payload: &msg.payload,
            offset: 0,
        };
        let (genl, attrs) = GenlMsgHdr::parse(&nl).ok()?;
        if genl.cmd != kv::CMD_GET {
            return None;
        }
        let attrs: Vec<_> = RtAttrIter::at(attrs, GENL_HDRLEN)
            .collect::<Result<_, _>>()
            .ok()?;
        let entry = kv::Entry::from_attrs(attrs.iter().map(|a| (a.kind(), a.payload))).ok()?;
        Some((entry.key, entry.value))
    }

    /// One answer, in words; never a port id or a family id, which differ
    /// from run to run.
    pub fn describe(&self, msg: &Msg) -> String {
        if let Some(control) = describe_control(msg) {
            return control;
        }
        let ty = msg.header.nlmsg_type;
        let typed = |what: String| {
            if ty == self.request_type() {
                what
            } else {
                format!("type {ty:#x} {what}")
            }
        };
        match self.family {
            Family::Burst if ty == BURST_MESSAGE => "burst message (group 1)".to_string(),
            Family::GenlKv => match self.kv_entry(msg) {
                // The value is the last probe's sequence number: not shown.
                Some((key, _)) => format!("GET reply {key}=<value>"),
                None => format!("{} bytes of another kind", msg.payload.len()),
            },
            Family::Whoami if msg.payload.len() == 8 => typed("WHOAMI answer".to_string()),
            Family::Listeners if msg.payload.len() == 12 => typed("QUERY answer".to_string()),
            _ => match text(&msg.payload) {
                Some(t) => typed(format!("reply \"{t}\"")),
                None => typed(format!("reply of {} bytes", msg.payload.len())),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::fixtures::{msg, nlmsgerr};
    use crate::datagram::first_header;
    use nlbook_common::NlMsgIter;

    fn refusal(seq: u32, errno: i32) -> Msg {
        nlmsgerr(seq, -errno)
    }

    #[test]
    fn names_round_trip() {
        for f in Family::ALL {
            assert_eq!(Family::from_name(f.name()), Some(f));
        }
        assert_eq!(Family::from_name("nope"), None);
    }

    #[test]
    fn probes_are_single_well_formed_requests() {
        for f in Family::ALL {
            let t = Target::new(f, 0x20);
            let p = t.probe(1000).unwrap();
            let msgs: Vec<_> = NlMsgIter::new(&p.datagram).map(Result::unwrap).collect();
            assert!(
                msgs.iter()
                    .all(|m| m.header.nlmsg_flags & NLM_F_REQUEST != 0),
                "{f:?}"
            );
            assert_eq!(msgs.last().unwrap().header.nlmsg_seq, p.last_seq);
            assert_eq!(msgs.len(), if f == Family::GenlKv { 2 } else { 1 });
        }
    }

    #[test]
    fn echo_probe_and_quiet_request() {
        let t = Target::new(Family::Echo, 0);
        let p = t.probe(7).unwrap();
        assert_eq!(p.datagram, message(0x10, NLM_F_REQUEST, 7, b"ping"));
        assert!(
            t.judge_probe(7, &[msg(0x10, 7, b"hello from kernel: ping\0")], 1)
                .is_ok()
        );
        let err = t.judge_probe(7, &[msg(0x10, 8, b"hello from kernel: ping\0")], 1);
        assert!(
            err.unwrap_err()
                .contains("got reply \"hello from kernel: ping\"")
        );
        assert_eq!(first_header(&t.quiet(9).unwrap()).unwrap().nlmsg_len, 16);
        assert!(t.judge_quiet(9, &refusal(9, libc::EINVAL), 1).is_ok());
        assert!(t.judge_quiet(9, &refusal(9, libc::EMSGSIZE), 1).is_err());
    }

    #[test]
    fn whoami_answer_names_the_sender() {
        let t = Target::new(Family::Whoami, 0);
        let mut payload = 0u32.to_ne_bytes().to_vec();
        payload.extend_from_slice(&4242u32.to_ne_bytes());
        assert!(t.judge_probe(3, &[msg(0x10, 3, &payload)], 4242).is_ok());
        assert!(t.judge_probe(3, &[msg(0x10, 3, &payload)], 1).is_err());
        assert_eq!(t.describe(&msg(0x10, 3, &payload)), "WHOAMI answer");
    }

    #[test]
    fn burst_probe_wants_the_event_and_the_ack() {
        let t = Target::new(Family::Burst, 0);
        let p = t.probe(5).unwrap();
        assert_eq!(p.answer_len, 2);
        let h = first_header(&p.datagram).unwrap();
        assert_eq!(h.nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
        let event = msg(BURST_MESSAGE, 1, &1u32.to_ne_bytes());
        let ack = refusal(5, 0);
        assert!(t.judge_probe(5, &[event.clone(), ack.clone()], 0).is_ok());
        assert!(t.judge_probe(5, &[ack], 0).is_err());
        assert_eq!(t.describe(&event), "burst message (group 1)");
        assert!(t.judge_quiet(6, &refusal(6, libc::ERANGE), 0).is_ok());
    }

    #[test]
    fn kv_probe_sets_then_gets() {
        let t = Target::new(Family::GenlKv, 0x21);
        let p = t.probe(10).unwrap();
        assert_eq!((p.last_seq, p.answer_len), (11, 1));
        let mut attrs = Vec::new();
        for (ty, payload) in [
            (kv::ATTR_KEY, b"battery\0".to_vec()),
            (kv::ATTR_VALUE, 10u32.to_ne_bytes().to_vec()),
            (kv::ATTR_GENERATION, 2u32.to_ne_bytes().to_vec()),
        ] {
            let len = u16::try_from(4 + payload.len()).unwrap();
            attrs.extend_from_slice(&len.to_ne_bytes());
            attrs.extend_from_slice(&ty.to_ne_bytes());
            attrs.extend_from_slice(&payload);
            attrs.resize(nlbook_common::nlmsg_align(attrs.len()), 0);
        }
        let mut payload = vec![kv::CMD_GET, 1, 0, 0];
        payload.extend_from_slice(&attrs);
        let get = msg(0x21, 11, &payload);
        assert!(t.judge_probe(10, std::slice::from_ref(&get), 0).is_ok());
        assert_eq!(t.describe(&get), "GET reply battery=<value>");
        assert!(t.judge_probe(12, &[get], 0).is_err());
        let dump = first_header(&t.dump_request(3).unwrap()).unwrap();
        assert_eq!(dump.nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
    }

    #[test]
    fn kthread_reminders_are_noise() {
        let t = Target::new(Family::Kthread, 0);
        assert!(t.is_noise(&msg(KT_REMINDER, 0, b"reminder from the timer\0")));
        assert!(!t.is_noise(&msg(0x10, 1, b"kthread: ping\0")));
        assert_eq!(
            t.describe(&msg(0xffff, 1, b"kthread: ping\0")),
            "type 0xffff reply \"kthread: ping\""
        );
    }
}
