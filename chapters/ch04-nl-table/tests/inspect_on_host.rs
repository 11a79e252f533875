//! The inspector's demo on the host kernel. Memory numbers depend on the
//! kernel (the book shows them from the VM lab's pinned kernel), so these
//! tests check the facts that do not: who is in which group, who is
//! reported twice, what /proc shows, and that the raw and neli dumps agree.

// Test code: a panic, with its message, is how a test fails.
#![allow(clippy::expect_used, clippy::panic)]

use ch04_nl_table::demo::{self, FLOOD, Role};
use ch04_nl_table::diag::{self, SocketInfo};
use ch04_nl_table::groups::{Groups, LongLayout, nlgrpsz};
use ch04_nl_table::inspect::{self, Reported};
use ch04_nl_table::membership::list_memberships;
use ch04_nl_table::procfs::{self, ProcEntry};
use nlbook_common::in_fresh_netns;
use nlbook_common::programs::stdout_of_success;

fn stdout(program: &str) -> String {
    stdout_of_success(program, &["--demo"])
}

#[test]
fn raw_and_neli_print_the_same_report() {
    let raw = stdout(env!("CARGO_BIN_EXE_ch04-inspect"));
    let neli = stdout(env!("CARGO_BIN_EXE_ch04-inspect-neli"));
    assert_eq!(raw, neli);
    // And the report is the same run after run.
    assert_eq!(stdout(env!("CARGO_BIN_EXE_ch04-inspect")), raw);
}

struct Seen {
    roles: Vec<Role>,
    sockets: Vec<Reported>,
    inspector_inode: u64,
    proc_entries: Vec<ProcEntry>,
}

impl Seen {
    fn role(&self, name: &str) -> &Role {
        self.roles.iter().find(|r| r.name == name).expect("a role")
    }
    fn info(&self, name: &str) -> (&SocketInfo, usize) {
        let inode = self.role(name).inode;
        let r = self
            .sockets
            .iter()
            .find(|s| u64::from(s.info.msg.inode) == inode)
            .expect("in the dump");
        (&r.info, r.times)
    }
    fn groups(&self, name: &str) -> Option<Groups> {
        self.info(name).0.groups.as_ref().map(|g| g.groups.clone())
    }
    fn proc_entry(&self, name: &str) -> Option<&ProcEntry> {
        let inode = self.role(name).inode;
        self.proc_entries.iter().find(|e| e.inode == inode)
    }
}

fn run_scenario() -> Seen {
    in_fresh_netns(|| {
        let roles = demo::scenario().expect("the demo's sockets");
        let dump = inspect::dump_raw().expect("the dump");
        let proc_entries = procfs::read().expect("/proc/thread-self/net/netlink");
        // The report itself must build too.
        demo::report(&roles, &dump, &proc_entries).expect("the report");
        Seen {
            sockets: inspect::dedupe(&dump.replies),
            inspector_inode: dump.inspector_inode,
            roles,
            proc_entries,
        }
    })
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn groups_and_duplicates() {
    let s = run_scenario();
    assert_eq!(s.groups("monitor"), Some(Groups::of([1, 36])));
    assert_eq!(s.groups("bridge-watcher"), Some(Groups::of([33])));
    assert_eq!(s.groups("never-bound"), Some(Groups::of([3])));
    assert_eq!(s.groups("slow-reader"), Some(Groups::of([2])));
    assert_eq!(s.groups("usersock"), Some(Groups::of([22])));
    assert_eq!(
        s.groups("sender"),
        None,
        "never joined: no bitmap, no attribute"
    );
    // Bound and subscribed: in the hash table and on mc_list.
    for name in ["monitor", "bridge-watcher", "slow-reader", "usersock"] {
        assert_eq!(s.info(name).1, 2, "{name}");
    }
    // Only on mc_list, or only in the hash table.
    assert_eq!(s.info("never-bound").1, 1);
    assert_eq!(s.info("never-bound").0.msg.portid, 0);
    assert_eq!(s.info("sender").1, 1);
}

#[test]
fn proc_shows_only_bound_sockets_and_32_groups() {
    let s = run_scenario();
    assert_eq!(s.proc_entry("monitor").map(|e| e.groups), Some(0x1));
    assert_eq!(s.proc_entry("bridge-watcher").map(|e| e.groups), Some(0));
    assert_eq!(s.proc_entry("usersock").map(|e| e.groups), Some(1 << 21));
    assert!(s.proc_entry("never-bound").is_none());
    let slow = s.info("slow-reader").0.meminfo.unwrap();
    let proc_slow = s.proc_entry("slow-reader").unwrap();
    assert_eq!(
        (proc_slow.rmem, proc_slow.drops),
        (slow.rmem_alloc, slow.drops)
    );
}

#[test]
fn the_slow_reader_dropped_what_did_not_fit() {
    let s = run_scenario();
    let (info, _) = s.info("slow-reader");
    let m = info.meminfo.unwrap();
    assert_eq!(
        info.flags.map(diag::flag_names).as_deref(),
        Some("NO_ENOBUFS")
    );
    assert!(m.rmem_alloc > 0 && m.rcvbuf < 10_000, "{m:?}");
    // Every message either sits in the queue (all the same size) or was
    // counted as dropped.
    let held = FLOOD - m.drops as usize;
    assert!(
        held >= 1 && (m.rmem_alloc as usize).is_multiple_of(held),
        "{m:?}"
    );
    let queued_on_the_monitor = s.info("monitor").0.meminfo.unwrap().rmem_alloc;
    assert_eq!(queued_on_the_monitor, 0, "group 2 is not the monitor's");
}

#[test]
fn the_bitmaps_agree() {
    let s = run_scenario();
    for name in [
        "monitor",
        "bridge-watcher",
        "never-bound",
        "slow-reader",
        "usersock",
    ] {
        let from_diag = s.info(name).0.groups.clone().unwrap();
        let listed = list_memberships(&s.role(name).sock).unwrap();
        assert_eq!(from_diag.groups, listed.groups(), "{name}");
    }
    // USERSOCK has 32 groups: one unsigned long in the attribute, one u32
    // from NETLINK_LIST_MEMBERSHIPS.
    let usersock = s.info("usersock").0.groups.clone().unwrap();
    assert_eq!(usersock.raw.len(), nlgrpsz(32, LongLayout::HOST.bits));
    assert_eq!(list_memberships(&s.role("usersock").sock).unwrap().len, 4);
}

#[test]
fn the_inspector_sees_its_own_dump_running() {
    let s = run_scenario();
    let me = s
        .sockets
        .iter()
        .find(|r| u64::from(r.info.msg.inode) == s.inspector_inode)
        .unwrap();
    assert_eq!(
        me.info.flags.map(diag::flag_names).as_deref(),
        Some("CB_RUNNING")
    );
    assert!(
        me.info.meminfo.unwrap().rmem_alloc > 0,
        "the dump skb being filled"
    );
    // Everything else is the kernel's: port 0, SOCK_DIAG type DGRAM.
    let ours: Vec<u64> = s.roles.iter().map(|r| r.inode).collect();
    for r in &s.sockets {
        let ino = u64::from(r.info.msg.inode);
        if ino != s.inspector_inode && !ours.contains(&ino) {
            assert_eq!(r.info.msg.portid, 0);
            assert_eq!(i32::from(r.info.msg.sock_type), libc::SOCK_DGRAM);
        }
    }
}
