//! What runs between fork and exec: the outer process enters the
//! namespaces and builds the root, PID 1 (init) mounts /proc, pivots and
//! reaps, and the test returns to std, which execs the program. System
//! calls only, on what the plan prepared.

use std::ffi::CStr;

use super::plan::{Make, Plan, SCRATCH_OPTIONS};
use super::{LIMIT_CPU_SECS, LIMIT_FILE_SIZE, LIMIT_MEMORY, LIMIT_PROCESSES, NOBODY};

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
pub(super) fn enter(plan: &Plan) -> std::io::Result<()> {
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
