//! `ch06-resync-judge`: grades exercise `ch06-resync-listener` in the VM
//! lab. In a fresh network namespace it starts the student's listener
//! program, changes the namespace's addresses (in bursts the listener's
//! small buffer cannot hold, or one at a time), asks the listener to read
//! (`read` on its standard input) and compares the table it answers with
//! the kernel's own dump. It exits with status 0 only if every answer was
//! right; its last line names the first one that was not.
//!
//! ```text
//! ch06-resync-judge first-dump|keeps-up|loss|loss-twice LISTENER
//! ```
//!
//! The listener's lines are printed prefixed, never as they came: its
//! output cannot pass for the judge's.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, ExitCode, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use ch06_enobufs::addr::{self, Addr, demo_addr};
use nlbook_common::UsageError;

const PROGRAM: &str = "ch06-resync-judge";
const USAGE: &str = "usage: ch06-resync-judge first-dump|keeps-up|loss|loss-twice LISTENER";

/// How long the listener has for one answer, and to exit at the end.
const ANSWER_WITHIN: Duration = Duration::from_secs(8);

/// Addresses added in one burst: far more than the listener's buffer holds.
const BURST: u8 = 16;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [check, listener] = args.as_slice() else {
        let what = format!("expected a check and the listener's path, got {args:?}");
        return nlbook_common::usage_exit(PROGRAM, &UsageError::new(what, USAGE));
    };
    let check: fn(&mut Judge) -> Result<()> = match check.as_str() {
        "first-dump" => |_| Ok(()),
        "keeps-up" => keeps_up,
        "loss" => loss,
        "loss-twice" => loss_twice,
        other => {
            let what = format!("unknown check {other:?}");
            return nlbook_common::usage_exit(PROGRAM, &UsageError::new(what, USAGE));
        }
    };
    let outcome = nlbook_common::in_fresh_netns(|| {
        addr::add(demo_addr(0, 1))?;
        addr::add(demo_addr(0, 2))?;
        println!("added 10.6.0.1/32 and 10.6.0.2/32 to lo; starting the listener");
        let mut judge = Judge::start(listener)?;
        let run = judge
            .answer("ready", "at start")
            .and_then(|()| check(&mut judge))
            .and_then(|()| judge.finish());
        run.map_err(|e| judge.with_stderr(e))
    })
    .map_err(anyhow::Error::from)
    .and_then(|r| r);
    if outcome.is_ok() {
        println!("PASS");
    }
    nlbook_common::exit_code(PROGRAM, outcome)
}

/// The listener, as the judge drives it.
struct Judge {
    child: Child,
    stdin: Option<ChildStdin>,
    answers: Receiver<String>,
    stderr: Option<JoinHandle<Vec<String>>>,
}

/// `10.6.1.7/32@1`: how the listener writes an address.
fn shown(a: &Addr) -> String {
    format!("{a}@{}", a.ifindex)
}

impl Judge {
    fn start(path: &str) -> Result<Judge> {
        let mut child = Command::new(path)
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting the listener {path}"))?;
        let (stdout, stderr) = (child.stdout.take(), child.stderr.take());
        let (stdout, stderr) = stdout.zip(stderr).context("the listener's pipes")?;
        let (send, answers) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            // Its last lines only: a listener that prints without end
            // must not fill the judge's memory.
            let mut kept = std::collections::VecDeque::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if kept.len() == 20 {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
            kept.into()
        });
        Ok(Judge {
            stdin: child.stdin.take(),
            child,
            answers,
            stderr: Some(stderr),
        })
    }

    /// Ask the listener to read; its answer must be `label` and its table
    /// the kernel's.
    fn read(&mut self, label: &str, what: &str) -> Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .context("the listener's input is closed")?;
        writeln!(stdin, "read").context("the listener no longer reads its input")?;
        self.answer(label, what)
    }

    /// The listener's next line: `label` and the kernel's table.
    fn answer(&mut self, label: &str, what: &str) -> Result<()> {
        let line = match self.answers.recv_timeout(ANSWER_WITHIN) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                bail!("{what}: no answer within {} s", ANSWER_WITHIN.as_secs())
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.wait().ok();
                bail!(
                    "{what}: the listener ended without answering ({})",
                    status.map_or("no exit status".into(), |s| s.to_string())
                )
            }
        };
        println!("  listener: {}", line.escape_debug());
        let (said, table) = line.split_once(' ').unwrap_or((line.as_str(), ""));
        if said == "error" {
            bail!("{what}: the listener failed: {table}");
        }
        let table: BTreeSet<&str> = table.split_whitespace().collect();
        let kernel: BTreeSet<String> = addr::dump()?.iter().map(shown).collect();
        let kernel: BTreeSet<&str> = kernel.iter().map(String::as_str).collect();
        let missing: Vec<&str> = kernel.difference(&table).copied().collect();
        let extra: Vec<&str> = table.difference(&kernel).copied().collect();
        if !missing.is_empty() || !extra.is_empty() {
            bail!(
                "{what}: the listener's table is not the kernel's: missing [{}], not in the kernel's \
                 [{}]",
                missing.join(" "),
                extra.join(" ")
            );
        }
        if said != label {
            bail!(
                "{what}: the listener said `{said}`, expected `{label}` (its table is right: {})",
                match label {
                    "resynced" => "but events were lost, and it must say so",
                    _ => "but nothing was lost, so it must not dump again",
                }
            );
        }
        println!("{what}: `{said}`, {} addresses, the kernel's", kernel.len());
        Ok(())
    }

    /// Close its input: it must exit, with status 0.
    fn finish(&mut self) -> Result<()> {
        drop(self.stdin.take());
        for _ in 0..ANSWER_WITHIN.as_millis() / 50 {
            if let Some(status) = self.child.try_wait()? {
                if !status.success() {
                    bail!("the listener exited with {status} when its input ended");
                }
                println!("input closed: the listener exited");
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        bail!(
            "the listener did not exit within {} s of its input ending",
            ANSWER_WITHIN.as_secs()
        )
    }

    /// `e`, with the last lines the listener wrote to its standard error
    /// (a panic's message, typically) printed before it.
    fn with_stderr(&mut self, e: anyhow::Error) -> anyhow::Error {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let lines = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        for line in &lines {
            println!("  listener's stderr: {}", line.escape_debug());
        }
        // "thread 'main' (TID) panicked at FILE:LINE:COL:", then the
        // message: kept without the thread id, which differs every run.
        let at = lines.iter().position(|l| l.contains("panicked at "));
        match at.and_then(|i| Some((lines[i].split_once("panicked at ")?.1, lines.get(i + 1)))) {
            Some((place, message)) => anyhow!(
                "{e:#} (it panicked at {place} {})",
                message.map_or(String::new(), |m| m.escape_debug().to_string())
            ),
            None => e,
        }
    }
}

fn burst(block: u8) -> Result<()> {
    for n in 1..=BURST {
        addr::add(demo_addr(block, n))?;
    }
    Ok(())
}

fn keeps_up(judge: &mut Judge) -> Result<()> {
    addr::add(demo_addr(1, 1))?;
    judge.read("up-to-date", "one address added")?;
    addr::delete(demo_addr(0, 1))?;
    judge.read("up-to-date", "one address deleted")?;
    judge.read("up-to-date", "nothing changed")
}

/// A burst that overruns the listener, whose first event (10.6.1.1 added)
/// stays queued and whose last (10.6.1.1 deleted) is lost: a listener
/// that dumps before it has read the queue to its end, then applies what
/// was queued, brings back an address the kernel no longer has.
fn lossy_burst(judge: &mut Judge, block: u8, what: &str) -> Result<()> {
    burst(block)?;
    addr::delete(demo_addr(block, 1))?;
    println!(
        "added 10.6.{block}.1 to 10.6.{block}.{BURST}, deleted 10.6.{block}.1, the listener not \
         reading"
    );
    judge.read("resynced", what)
}

fn loss(judge: &mut Judge) -> Result<()> {
    lossy_burst(judge, 1, "after a burst")?;
    addr::delete(demo_addr(1, 2))?;
    judge.read("up-to-date", "one address deleted after it")
}

fn loss_twice(judge: &mut Judge) -> Result<()> {
    lossy_burst(judge, 1, "after a burst")?;
    addr::add(demo_addr(3, 1))?;
    judge.read("up-to-date", "one address added after it")?;
    lossy_burst(judge, 2, "after a second burst")?;
    judge.read("up-to-date", "nothing changed")
}
