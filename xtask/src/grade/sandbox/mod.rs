//! One run of graded code: as `nobody`, in user, network, mount, IPC and
//! PID namespaces of its own, in a root file system that holds only what a
//! test needs, with limits, its output captured.
//!
//! A run is three processes. std forks the *outer* one and calls
//! [`enter`] in it before it would exec the program:
//!
//! ```text
//! grader
//!  └─ outer   nobody; limits; new namespaces; builds the new root read-only;
//!      │      waits, then ends the way the test ended
//!      └─ init    PID 1 of the new PID namespace: mounts its own /proc,
//!          │      moves into the new root, reaps; hands the test's wait
//!          │      status up and exits, and the kernel kills what is left
//!          └─ test    PID 2: returns from `enter`, std execs the program
//! ```
//!
//! The test is not PID 1 itself: the kernel ignores the signals a PID 1
//! sends itself with their default action, so `abort()` would not end it
//! with SIGABRT. Everything the three run between fork and exec is prepared
//! before the fork (every path a C string): they make system calls only,
//! allocate nothing and take no lock.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::output::{OUTPUT_KEPT_EACH_END, wait_with_limit};

mod init;
mod plan;

use init::enter;
use plan::Plan;

const LIMIT_CPU_SECS: u64 = 20;

const LIMIT_MEMORY: u64 = 4 << 30;

const LIMIT_FILE_SIZE: u64 = 16 << 20;

const LIMIT_PROCESSES: u64 = 64;

pub(super) const NOBODY: u32 = 65534;

/// What a sandboxed run did.
pub(super) struct Sandboxed {
    pub(super) success: bool,
    /// "exit status 101", "killed after 10 s", ...
    pub(super) outcome: String,
    /// Its output, cut in the middle when it printed more than the grader keeps.
    pub(super) output: String,
    /// How many bytes it printed.
    pub(super) printed: usize,
}

/// Runs `program` (a test executable, or a system program) as `nobody` in
/// the sandbox, in `workdir`, for at most `wall`.
///
/// It is root in its own user namespace, so tests can make network
/// namespaces of their own, and it reaches no network. It sees its own
/// processes only, and of the file system the read-only system folders, a
/// minimal `/dev`, its private `/tmp`, `/var/tmp`, `/dev/shm` and `/run`,
/// the program file itself and `workdir`, an empty folder at its own path:
/// the exercises' tests read nothing at run time, and the slot a test was
/// built in holds the instructor's hidden tests.
pub(super) fn run_sandboxed(
    program: &Path,
    args: &[&str],
    workdir: &Path,
    wall: Duration,
) -> Result<Sandboxed> {
    let plan = Plan::new(program, workdir)?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(workdir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec the closure only makes system calls on
    // data prepared before the fork (`plan`); it allocates nothing and takes
    // no lock, in each of the processes it forks as well.
    unsafe {
        cmd.pre_exec(move || enter(&plan));
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not start {} in the sandbox", program.display()))?;
    let started = Instant::now();
    let (stdout, stderr, timed_out) = wait_with_limit(&mut child, wall, OUTPUT_KEPT_EACH_END)?;
    let status = child.wait()?;
    let outcome = if timed_out {
        format!("killed after {} s (hangs?)", wall.as_secs())
    } else if let Some(signal) = std::os::unix::process::ExitStatusExt::signal(&status) {
        let why = match signal {
            libc::SIGXFSZ => "SIGXFSZ: wrote past the file-size limit",
            libc::SIGXCPU => "SIGXCPU: used up its CPU time",
            libc::SIGABRT => "SIGABRT: aborted (abort(), stack overflow, out of memory?)",
            libc::SIGSEGV => "SIGSEGV: bad memory access (stack overflow?)",
            libc::SIGKILL => "SIGKILL",
            _ => "a signal",
        };
        format!(
            "killed by signal {signal} ({why}) after {:.1} s",
            started.elapsed().as_secs_f64()
        )
    } else {
        format!("exit status {}", status.code().unwrap_or(-1))
    };
    Ok(Sandboxed {
        success: !timed_out && status.success(),
        outcome,
        output: format!("{}{}", stdout.text, stderr.text),
        printed: stdout.printed + stderr.printed,
    })
}
