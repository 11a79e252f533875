//! A run's output, kept within bounds, and its end: on time, or killed with
//! its whole process group.

use std::io::Read;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::process;

/// Of a test's output, the grader keeps this much from the start and as
/// much from the end (where the panic message and the summary are).
pub(super) const OUTPUT_KEPT_EACH_END: usize = 32 << 10;

/// A stream's output as kept: all of it, or its two ends.
#[derive(Debug, Default)]
pub(crate) struct Kept {
    pub(crate) text: String,
    /// How many bytes the stream carried.
    pub(crate) printed: usize,
}

/// Keeps the first and the last `each_end` bytes of a stream, however much
/// passes through.
struct HeadAndTail {
    each_end: usize,
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    printed: usize,
}

impl HeadAndTail {
    fn new(each_end: usize) -> Self {
        HeadAndTail {
            each_end,
            head: Vec::new(),
            tail: std::collections::VecDeque::new(),
            printed: 0,
        }
    }

    fn push(&mut self, mut bytes: &[u8]) {
        self.printed += bytes.len();
        let room = self.each_end.saturating_sub(self.head.len());
        let (to_head, rest) = bytes.split_at(bytes.len().min(room));
        self.head.extend_from_slice(to_head);
        bytes = rest;
        if let Some(cut) = bytes.len().checked_sub(self.each_end) {
            self.tail.clear();
            bytes = bytes.split_at(cut).1;
        }
        let overflow = (self.tail.len() + bytes.len()).saturating_sub(self.each_end);
        self.tail.drain(..overflow);
        self.tail.extend(bytes);
    }

    fn finish(self) -> Kept {
        let left_out = self.printed - self.head.len() - self.tail.len();
        let mut text = String::from_utf8_lossy(&self.head).into_owned();
        if left_out > 0 {
            text.push_str(&format!(
                "\n[... {left_out} bytes of output left out ...]\n"
            ));
        }
        text.push_str(&String::from_utf8_lossy(&Vec::from(self.tail)));
        Kept {
            text,
            printed: self.printed,
        }
    }
}

/// Collects a child's output until it exits or `wall` passes, then kills
/// its whole process group (for a sandboxed run: its outer process and its
/// init, whose end ends every process in the run's PID namespace, those
/// that left the group too), and waits for the child. Of each stream, the
/// first and the last `kept_each_end` bytes are kept: a program printing
/// without end costs no memory. Returns the two streams and whether time
/// ran out. The child must lead its own process group.
pub(crate) fn run_with_limit(
    child: &mut std::process::Child,
    wall: Duration,
    kept_each_end: usize,
) -> Result<(Kept, Kept, bool)> {
    let reader = move |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut kept = HeadAndTail::new(kept_each_end);
            if let Some(mut p) = pipe {
                let mut chunk = [0u8; 8192];
                while let Ok(n) = p.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    kept.push(chunk.get(..n).unwrap_or_default());
                }
            }
            kept.finish()
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let mut timed_out = false;
    while child.try_wait()?.is_none() {
        if started.elapsed() > wall {
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The group too: a test may have left children (or a fork bomb) behind.
    let pgid = i32::try_from(child.id()).unwrap_or(0);
    if pgid > 0 {
        // SAFETY: signalling a process group we created.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
    }
    let _ = child.wait();
    let stdout = out.join().unwrap_or_default();
    let stderr = err.join().unwrap_or_default();
    Ok((stdout, stderr, timed_out))
}

/// [`run_with_limit`] for the grader, which is the child subreaper of
/// everything it runs: killed processes become zombies (ours to reap: a
/// killed run's init comes to us) a moment later, and until then they count
/// against the next test's process limit, so it also waits until the
/// child's group is gone.
pub(super) fn wait_with_limit(
    child: &mut std::process::Child,
    wall: Duration,
    kept_each_end: usize,
) -> Result<(Kept, Kept, bool)> {
    let pgid = i32::try_from(child.id()).unwrap_or(0);
    let (stdout, stderr, timed_out) = run_with_limit(child, wall, kept_each_end)?;
    // A run's init ends only once every process of its namespace has.
    let started = Instant::now();
    loop {
        reap_orphans();
        if pgid <= 0 || !group_alive(pgid) || started.elapsed() > Duration::from_secs(5) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok((stdout, stderr, timed_out))
}

/// Whether any process (zombies included) is still in process group `pgid`.
fn group_alive(pgid: i32) -> bool {
    process::pids()
        .into_iter()
        .any(|pid| process::stat_of(pid).is_some_and(|stat| stat.pgrp == pgid))
}

/// Orphans of a killed test (a fork bomb's children) are re-parented to this
/// process (a child subreaper, see `ensure_sandbox_works`): reap them so no
/// zombie is left behind. Only called when no other child of ours runs.
pub(super) fn reap_orphans() {
    loop {
        let mut status = 0;
        // SAFETY: status is a valid pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
        if pid <= 0 {
            break;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_both_ends_of_long_output() {
        let mut kept = HeadAndTail::new(4);
        for chunk in [&b"ab"[..], b"cdefgh", b"ijklmnopq", b"rs"] {
            kept.push(chunk);
        }
        let kept = kept.finish();
        assert_eq!(kept.printed, 19);
        assert_eq!(
            kept.text,
            "abcd\n[... 11 bytes of output left out ...]\npqrs"
        );
        let mut short = HeadAndTail::new(4);
        short.push(b"abcdef");
        assert_eq!(short.finish().text, "abcdef");
    }
}
