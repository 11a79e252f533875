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

use std::ffi::{CStr, CString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::output::{OUTPUT_KEPT_EACH_END, wait_with_limit};

const LIMIT_CPU_SECS: u64 = 20;
const LIMIT_MEMORY: u64 = 4 << 30;
const LIMIT_FILE_SIZE: u64 = 16 << 20;
const LIMIT_PROCESSES: u64 = 64;
pub(super) const NOBODY: u32 = 65534;

/// The host's folders a test sees, read-only, at their own paths.
const SYSTEM_TREES: [&str; 2] = ["/usr", "/etc"];
/// Merged-usr links (`/bin -> usr/bin`), made as the same links; where the
/// host has a real folder instead, it is bound like [`SYSTEM_TREES`].
const TOP_LINKS: [&str; 6] = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
/// The devices of the sandbox's `/dev`, bound from the host's.
const DEVICES: [&str; 5] = ["null", "zero", "full", "random", "urandom"];
/// Private, sized, writable: each run starts with them empty.
const SCRATCH: [&str; 4] = ["/tmp", "/var/tmp", "/dev/shm", "/run"];
const SCRATCH_OPTIONS: &CStr = c"size=64m";

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

/// Where each run's new root is mounted, inside the run's own mount
/// namespace: on the host it stays an empty folder.
fn root_mount_point() -> PathBuf {
    crate::cache_dir().join("grade/sandbox-root")
}

/// One step of making the new root, every path already below it.
enum Make {
    Dir(CString),
    /// An empty file, to bind a file onto.
    File(CString),
    Link {
        target: CString,
        at: CString,
    },
}

/// Everything the three processes need, prepared before the fork.
struct Plan {
    /// `nobody`'s uid and gid maps: `0 65534 1`.
    map: CString,
    /// The host folder the new root's tmpfs is mounted on.
    root: CString,
    /// Folders, mount-point files and links, parents first.
    make: Vec<Make>,
    /// Read-only binds `(host path, path below the new root)`.
    binds: Vec<(CString, CString)>,
    /// The private tmpfs folders, below the new root.
    scratch: Vec<CString>,
    /// Where init mounts the namespace's own proc, below the new root.
    proc_dir: CString,
    /// The working folder as the test sees it, after the pivot.
    workdir: CString,
    /// Where this process's command line lies in memory (`arg_start`,
    /// `arg_end` of /proc/self/stat): init, a copy of the grader, blanks it,
    /// or the test would read the grader's arguments in /proc/1/cmdline
    /// (the class folder, the hidden tests' folder).
    args: Option<(usize, usize)>,
}

impl Plan {
    fn new(program: &Path, workdir: &Path) -> Result<Plan> {
        let root = root_mount_point();
        std::fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
        let mut plan = Plan {
            map: CString::new(format!("0 {NOBODY} 1"))?,
            root: c_path(&root)?,
            make: Vec::new(),
            binds: Vec::new(),
            scratch: Vec::new(),
            proc_dir: c_path(&root.join("proc"))?,
            workdir: c_path(workdir)?,
            args: own_args(),
        };
        let below = |path: &Path| -> Result<CString> {
            let relative = path.strip_prefix("/").unwrap_or(path);
            c_path(&root.join(relative))
        };
        let mut made = std::collections::BTreeSet::new();
        let mut dir = |plan: &mut Plan, path: &Path| -> Result<()> {
            let mut parents: Vec<&Path> = path.ancestors().collect();
            parents.reverse();
            for parent in parents {
                if parent != Path::new("/") && made.insert(parent.to_path_buf()) {
                    plan.make.push(Make::Dir(below(parent)?));
                }
            }
            Ok(())
        };
        for tree in SYSTEM_TREES {
            dir(&mut plan, Path::new(tree))?;
            plan.binds
                .push((c_path(Path::new(tree))?, below(Path::new(tree))?));
        }
        for top in TOP_LINKS.map(Path::new) {
            let Ok(meta) = top.symlink_metadata() else {
                continue;
            };
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(top)?;
                plan.make.push(Make::Link {
                    target: c_path(&target)?,
                    at: below(top)?,
                });
            } else if meta.is_dir() {
                dir(&mut plan, top)?;
                plan.binds.push((c_path(top)?, below(top)?));
            }
        }
        dir(&mut plan, Path::new("/dev"))?;
        for device in DEVICES {
            let path = Path::new("/dev").join(device);
            plan.make.push(Make::File(below(&path)?));
            plan.binds.push((c_path(&path)?, below(&path)?));
        }
        for (name, target) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            plan.make.push(Make::Link {
                target: CString::new(target)?,
                at: below(&Path::new("/dev").join(name))?,
            });
        }
        dir(&mut plan, Path::new("/proc"))?;
        for scratch in SCRATCH.map(Path::new) {
            dir(&mut plan, scratch)?;
            plan.scratch.push(below(scratch)?);
        }
        // The test's own two paths, where they are not already in sight.
        if !visible(workdir)? {
            dir(&mut plan, workdir)?;
        }
        if !visible(program)? {
            if let Some(parent) = program.parent() {
                dir(&mut plan, parent)?;
            }
            plan.make.push(Make::File(below(program)?));
            plan.binds.push((c_path(program)?, below(program)?));
        }
        Ok(plan)
    }
}

/// `(arg_start, arg_end)` of this process: fields 48 and 49 of
/// /proc/self/stat, counting from 1 (the 45th and 46th after the `)` that
/// ends the command's name).
fn own_args() -> Option<(usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let (_, fields) = stat.rsplit_once(')')?;
    let mut fields = fields.split_whitespace().skip(45);
    let start = fields.next()?.parse().ok()?;
    let end = fields.next()?.parse().ok()?;
    (start < end).then_some((start, end))
}

/// Whether `path` is in sight in the sandbox already (the root, or below a
/// system folder); an error when the sandbox would hide it under one of its
/// own folders.
fn visible(path: &Path) -> Result<bool> {
    if !path.is_absolute() {
        bail!("the sandbox needs absolute paths, not {}", path.display());
    }
    if path == Path::new("/") {
        return Ok(true);
    }
    let shown = SYSTEM_TREES.iter().chain(&TOP_LINKS);
    if shown.into_iter().any(|tree| path.starts_with(tree)) {
        return Ok(true);
    }
    let own = SCRATCH.iter().chain(&["/dev", "/proc"]);
    if let Some(folder) = own.into_iter().find(|folder| path.starts_with(folder)) {
        bail!(
            "the sandbox has a {folder} of its own, which would hide {}: move the workbook elsewhere to grade",
            path.display()
        );
    }
    Ok(false)
}

fn c_path(path: &Path) -> Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .with_context(|| format!("a path with a NUL byte: {}", path.display()))
}

/// A system call's `-1` as the error it means.
fn check(rc: libc::c_long) -> std::io::Result<()> {
    if rc < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(())
    }
}

fn check_int(rc: libc::c_int) -> std::io::Result<()> {
    check(libc::c_long::from(rc))
}

/// The outer process, run by std between fork and exec. Returns (for std to
/// exec the program) only in the test process; an error before init is
/// forked, or in init before the test is forked, reaches the grader as
/// std's spawn error.
fn enter(plan: &Plan) -> std::io::Result<()> {
    limit(libc::RLIMIT_CPU, LIMIT_CPU_SECS)?;
    limit(libc::RLIMIT_AS, LIMIT_MEMORY)?;
    limit(libc::RLIMIT_FSIZE, LIMIT_FILE_SIZE)?;
    limit(libc::RLIMIT_NPROC, LIMIT_PROCESSES)?;
    limit(libc::RLIMIT_CORE, 0)?;
    // SAFETY: system calls without pointers, or with a null pointer and a
    // count of 0 (setgroups).
    unsafe {
        // The group the grader kills on timeout: outer and init stay in it
        // (nothing in the sandbox can move init), and init's end ends all.
        check_int(libc::setpgid(0, 0))?;
        check_int(libc::setgroups(0, std::ptr::null()))?;
        check_int(libc::setgid(NOBODY))?;
        check_int(libc::setuid(NOBODY))?;
        // Changing uid made the process non-dumpable, which hands its /proc
        // files to root: it could not write its own uid_map.
        check_int(libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0))?;
        // IPC too: System V segments and message queues would outlive the
        // run in the host's namespace. The PID namespace is for the
        // children: init is the first process forked below.
        check_int(libc::unshare(
            libc::CLONE_NEWUSER
                | libc::CLONE_NEWNET
                | libc::CLONE_NEWNS
                | libc::CLONE_NEWIPC
                | libc::CLONE_NEWPID,
        ))?;
    }
    write_proc(c"/proc/self/setgroups", b"deny")?;
    write_proc(c"/proc/self/uid_map", plan.map.as_bytes())?;
    write_proc(c"/proc/self/gid_map", plan.map.as_bytes())?;
    build_root(plan)?;
    let mut status_pipe = [0; 2];
    // SAFETY: status_pipe has room for the two descriptors.
    check_int(unsafe { libc::pipe2(status_pipe.as_mut_ptr(), libc::O_CLOEXEC) })?;
    let [status_read, status_write] = status_pipe;
    // SAFETY: fork in a single-threaded process (std's child).
    let init_pid = unsafe { libc::fork() };
    if init_pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if init_pid == 0 {
        return init(plan, status_write);
    }
    // Outer keeps nothing but the status pipe: not the output pipes (they
    // end when the test's processes end), not std's error pipe (its spawn
    // returns once every holder has exec'd or exited).
    close_all_but(status_read);
    let mut status = [0u8; 4];
    let mut got = 0;
    while let Some(rest) = status.get_mut(got..)
        && !rest.is_empty()
    {
        // SAFETY: rest is valid for writes of its length.
        let n = unsafe { libc::read(status_read, rest.as_mut_ptr().cast(), rest.len()) };
        if n > 0 {
            got += n.unsigned_abs();
        } else if n == 0
            || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted
        {
            break;
        }
    }
    let init_status = wait_for(init_pid);
    // What init handed up is the test's status; without it (init was
    // killed, or failed before the test started), init's own.
    let status = if got == status.len() {
        libc::c_int::from_ne_bytes(status)
    } else {
        init_status
    };
    end_like(status)
}

fn limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let l = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: l is a valid rlimit.
    check_int(unsafe { libc::setrlimit(resource, &l) })
}

/// The new root, in the run's own mount namespace: a tmpfs with what a test
/// needs bound in read-only, then the private scratch folders. Only init
/// mounts /proc (a proc shows the PID namespace of the process that mounts
/// it) and moves into the new root.
fn build_root(plan: &Plan) -> std::io::Result<()> {
    let read_only = libc::mount_attr {
        attr_set: libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: every path is a NUL-terminated string of the plan; the mounts
    // are in a mount namespace of our own; the mount_attr is valid for its
    // size.
    unsafe {
        check_int(libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ))?;
        check_int(libc::mount(
            c"tmpfs".as_ptr(),
            plan.root.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID,
            c"size=1m,mode=0755".as_ptr().cast(),
        ))?;
        for step in &plan.make {
            match step {
                Make::Dir(path) => check_int(libc::mkdir(path.as_ptr(), 0o755))?,
                Make::File(path) => {
                    let fd = libc::open(
                        path.as_ptr(),
                        libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY | libc::O_CLOEXEC,
                        0o644,
                    );
                    check_int(fd)?;
                    libc::close(fd);
                }
                Make::Link { target, at } => {
                    check_int(libc::symlink(target.as_ptr(), at.as_ptr()))?;
                }
            }
        }
        for (from, to) in &plan.binds {
            check_int(libc::mount(
                from.as_ptr(),
                to.as_ptr(),
                std::ptr::null(),
                libc::MS_BIND | libc::MS_REC,
                std::ptr::null(),
            ))?;
        }
        check(libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            plan.root.as_ptr(),
            libc::AT_RECURSIVE,
            &read_only as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        ))?;
        for dir in &plan.scratch {
            check_int(libc::mount(
                c"tmpfs".as_ptr(),
                dir.as_ptr(),
                c"tmpfs".as_ptr(),
                libc::MS_NOSUID | libc::MS_NODEV,
                SCRATCH_OPTIONS.as_ptr().cast(),
            ))?;
        }
    }
    Ok(())
}

/// PID 1 of the run's PID namespace. Forks the test (which returns, to be
/// exec'd) and reaps every process until the test ends; then hands the
/// test's wait status to outer and exits, and with it the kernel kills every
/// process left in the namespace, those that left the process group too.
fn init(plan: &Plan, status_write: libc::c_int) -> std::io::Result<()> {
    let proc_flags = libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC | libc::MS_RDONLY;
    // SAFETY: NUL-terminated paths of the plan; pivot_root and umount2 act
    // on this process's own mount namespace; arg_start..arg_end is the
    // writable stack area the kernel put the command line in, read from
    // /proc/self/stat before the fork, which copied it.
    unsafe {
        // Mounted while the host's /proc is still in sight: the kernel lets
        // a user namespace mount a proc only where one is visible already.
        check_int(libc::mount(
            c"proc".as_ptr(),
            plan.proc_dir.as_ptr(),
            c"proc".as_ptr(),
            proc_flags,
            std::ptr::null(),
        ))?;
        check_int(libc::chdir(plan.root.as_ptr()))?;
        check(libc::syscall(
            libc::SYS_pivot_root,
            c".".as_ptr(),
            c".".as_ptr(),
        ))?;
        check_int(libc::umount2(c".".as_ptr(), libc::MNT_DETACH))?;
        // std's chdir pointed into the old tree.
        check_int(libc::chdir(plan.workdir.as_ptr()))?;
        // Not dumpable: the test (same uid) can then neither ptrace init
        // nor open its descriptors through /proc/1/fd to forge a status.
        check_int(libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0))?;
        check_int(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0))?;
        check_int(libc::prctl(
            libc::PR_SET_NAME,
            c"sandbox-init".as_ptr(),
            0,
            0,
            0,
        ))?;
        if let Some((start, end)) = plan.args {
            // The grader's argument strings, in init's own copy of its
            // memory (fork copied it; nothing else in init reads them).
            std::ptr::write_bytes(
                std::ptr::with_exposed_provenance_mut::<u8>(start),
                0,
                end - start,
            );
        }
    }
    default_signals();
    // SAFETY: fork in a single-threaded process.
    let test_pid = unsafe { libc::fork() };
    if test_pid < 0 {
        return Err(std::io::Error::last_os_error());
    }
    if test_pid == 0 {
        // The test: std execs the program (the status pipe is close-on-exec).
        return Ok(());
    }
    close_all_but(status_write);
    loop {
        let mut status = 0;
        // SAFETY: status is a valid pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid == test_pid {
            let bytes = status.to_ne_bytes();
            // SAFETY: bytes is valid for its length; _exit ends init, and
            // the kernel every process left in the namespace.
            unsafe {
                libc::write(status_write, bytes.as_ptr().cast(), bytes.len());
                libc::_exit(0);
            }
        }
        if pid < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            // SAFETY: ends init (no child is left to wait for).
            unsafe { libc::_exit(127) };
        }
    }
}

/// Every signal's default action: init came from the grader, whose handlers
/// must not run in it.
fn default_signals() {
    for signal in 1..=64 {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: resetting a disposition; invalid numbers just fail.
        unsafe { libc::signal(signal, libc::SIG_DFL) };
    }
    // SAFETY: an empty set, initialised by sigemptyset before use.
    unsafe {
        let mut none = std::mem::zeroed::<libc::sigset_t>();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
}

/// Closes every descriptor but `keep`.
fn close_all_but(keep: libc::c_int) {
    let keep = keep.unsigned_abs();
    // SAFETY: closing descriptors only this process uses from here on.
    unsafe {
        if keep > 0 {
            libc::close_range(0, keep - 1, 0);
        }
        libc::close_range(keep + 1, libc::c_uint::MAX, 0);
    }
}

/// `pid`'s wait status, once it has ended.
fn wait_for(pid: libc::pid_t) -> libc::c_int {
    loop {
        let mut status = 0;
        // SAFETY: status is a valid pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            return status;
        }
        if rc < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return 127 << 8;
        }
    }
}

/// Ends outer the way the test ended: the same exit code, or killed by the
/// same signal, so the grader's report names it (SIGABRT, SIGXFSZ, ...).
fn end_like(status: libc::c_int) -> ! {
    if libc::WIFSIGNALED(status) {
        let signal = libc::WTERMSIG(status);
        // SAFETY: outer only ends itself: no core file of its own, the
        // signal's default action, unblocked, sent to itself.
        unsafe {
            libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
            libc::signal(signal, libc::SIG_DFL);
            let mut only = std::mem::zeroed::<libc::sigset_t>();
            libc::sigemptyset(&mut only);
            libc::sigaddset(&mut only, signal);
            libc::sigprocmask(libc::SIG_UNBLOCK, &only, std::ptr::null_mut());
            libc::kill(libc::getpid(), signal);
            libc::_exit(128 + signal);
        }
    }
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        127
    };
    // SAFETY: ends outer.
    unsafe { libc::_exit(code) }
}

fn write_proc(path: &CStr, data: &[u8]) -> std::io::Result<()> {
    // SAFETY: path is NUL-terminated; data is valid for its length.
    unsafe {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        check_int(fd)?;
        let n = libc::write(fd, data.as_ptr().cast(), data.len());
        libc::close(fd);
        check(n.try_into().unwrap_or(-1))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_parents_first_and_binds_the_program_alone() {
        let plan = Plan::new(
            Path::new("/srv/wb/target/grade/target/x/debug/deps/layout-0123"),
            Path::new("/srv/wb/target/grade/build/x"),
        )
        .unwrap();
        let root = root_mount_point();
        let dirs: Vec<PathBuf> = plan
            .make
            .iter()
            .filter_map(|m| match m {
                Make::Dir(p) => Some(PathBuf::from(p.to_str().unwrap())),
                _ => None,
            })
            .collect();
        for (i, d) in dirs.iter().enumerate() {
            let parent = d.parent().unwrap();
            assert!(
                parent == root || dirs[..i].iter().any(|p| p == parent),
                "{} before its parent",
                d.display()
            );
        }
        assert!(dirs.contains(&root.join("srv/wb/target/grade/build/x")));
        assert!(!dirs.contains(&root.join("srv/wb/target/grade/target/x/debug/deps/layout-0123")));
        let bound: Vec<&str> = plan
            .binds
            .iter()
            .map(|(from, _)| from.to_str().unwrap())
            .collect();
        assert!(bound.contains(&"/srv/wb/target/grade/target/x/debug/deps/layout-0123"));
        assert!(
            !bound
                .iter()
                .any(|b| b.starts_with("/srv/wb/target/grade/build"))
        );
        assert!(bound.contains(&"/usr") && bound.contains(&"/etc"));
    }

    #[test]
    fn finds_its_own_command_line_in_memory() {
        let (start, end) = own_args().unwrap();
        let len = std::fs::read("/proc/self/cmdline").unwrap().len();
        assert_eq!(end - start, len);
    }

    #[test]
    fn refuses_paths_its_own_folders_would_hide() {
        assert!(visible(Path::new("/usr/bin/sh")).unwrap());
        assert!(visible(Path::new("/bin/sh")).unwrap());
        assert!(!visible(Path::new("/home/t/wb")).unwrap());
        assert!(visible(Path::new("/tmp/wb")).is_err());
        assert!(visible(Path::new("/run/user/0/wb")).is_err());
        assert!(visible(Path::new("relative")).is_err());
    }
}
