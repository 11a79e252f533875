//! Before every grading, the sandbox proves it holds; after it, nothing of
//! graded code may be left.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use super::rust::TEST_WALL;
use super::sandbox::{NOBODY, Sandboxed, run_sandboxed};
use crate::{process, workspace};

/// Fails early, with the fix, where the sandbox cannot be set up; proves,
/// with the reason for each failure, that it holds a fork bomb, a hang and
/// a network-touching program, that it shows neither the host's processes
/// nor the host's network through /proc, and that the workbook, the
/// grader's files and a service's socket in /run are out of sight.
///
/// Returns a machine-wide lock held until the grading is over: every run
/// uses the one `nobody` account, whose process limit (counted across the
/// machine, whatever the namespaces) two gradings at once would share.
pub fn ensure_sandbox_works() -> Result<std::fs::File> {
    if !crate::process::is_root() {
        bail!(
            "grading runs student code as an unprivileged user, which needs root: run `cargo xtask grade` as root"
        );
    }
    let root = workspace::root();
    for private in ["/tmp", "/var/tmp", "/dev", "/run", "/proc"] {
        if root.starts_with(private) {
            bail!(
                "grading gives each test a {private} of its own, which would hide this workbook at {}: \
                 clone it elsewhere to grade",
                root.display()
            );
        }
    }
    // A killed run's init comes to us, to be reaped.
    // SAFETY: prctl with integer arguments.
    if unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } < 0 {
        bail!(
            "prctl(PR_SET_CHILD_SUBREAPER): {}",
            std::io::Error::last_os_error()
        );
    }
    let lock = crate::process::exclusive_lock(&lock_path(), "grading")?;
    let top = Path::new("/");
    let who = run_sandboxed(Path::new("/usr/bin/id"), &["-u"], top, TEST_WALL)
        .context("the grading sandbox cannot be set up")?;
    if !who.success || who.output.trim() != "0" {
        bail!(
            "the grading sandbox does not work here ({}): it needs unprivileged user namespaces \
             (sysctl kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0)",
            who.outcome
        );
    }
    let mut problems = Vec::new();
    let sh = Path::new("/bin/sh");
    // More processes than the limit allows: some forks must be refused,
    // and none may outlive the run.
    let nobody_before = processes_of(NOBODY);
    let bomb = shell("for i in $(seq 100); do sleep 1 & done; wait", &[], top, 5)?;
    if !bomb.output.contains("fork") || processes_of(NOBODY) > nobody_before {
        problems.push(format!(
            "a fork bomb was not held (forks refused, none left): {}",
            said(&bomb)
        ));
    }
    let hang = run_sandboxed(sh, &["-c", "sleep 60"], top, Duration::from_secs(1))?;
    if !hang.outcome.contains("killed after") {
        problems.push(format!("a hang was not killed: {}", said(&hang)));
    }
    // Its own network only, seen from itself and through its PID 1.
    for dev in ["/proc/net/dev", "/proc/1/net/dev"] {
        let net = run_sandboxed(Path::new("/bin/cat"), &[dev], top, TEST_WALL)?;
        if net.output.lines().count() != 3 || !net.output.contains("lo:") {
            problems.push(format!("{dev} shows more than lo: {}", said(&net)));
        }
    }
    // Its own processes only: init (1) and the shell (2); the glob and
    // echo are the shell's own. Init's command line, the grader's, blank.
    let ps = shell(
        "cd /proc && echo [0-9]* && tr -d '\\000' < 1/cmdline",
        &[],
        top,
        10,
    )?;
    if ps.output.trim() != "1 2" {
        problems.push(format!(
            "/proc lists processes other than the sandbox's own (1 2), or the grader's \
             command line as init's: {}",
            said(&ps)
        ));
    }
    if !host_services_hidden()? {
        problems.push("a world-writable Unix socket in /run is visible".into());
    }
    problems.extend(files_hidden(&root)?);
    if !problems.is_empty() {
        bail!(
            "the grading sandbox does not hold here, so nothing is graded:\n  - {}",
            problems.join("\n  - ")
        );
    }
    Ok(lock)
}

/// `sh -c script args...` in the sandbox, in `dir`, for `secs` seconds.
fn shell(script: &str, args: &[&str], dir: &Path, secs: u64) -> Result<Sandboxed> {
    let mut all = vec!["-c", script, "sh"];
    all.extend_from_slice(args);
    run_sandboxed(Path::new("/bin/sh"), &all, dir, Duration::from_secs(secs))
}

/// A run's outcome and output, on one line.
fn said(run: &Sandboxed) -> String {
    let output: String = run.output.split_whitespace().collect::<Vec<_>>().join(" ");
    format!(
        "{}: {}",
        run.outcome,
        output.chars().take(300).collect::<String>()
    )
}

/// Whether graded code cannot see a world-writable Unix socket that a host
/// service put in /run (where the system bus, the journal and the container
/// daemons listen): the probe makes one and looks for it from the sandbox.
fn host_services_hidden() -> Result<bool> {
    let probe = Path::new("/run").join(format!(
        "netlink-workbook-grading-probe-{}.sock",
        std::process::id()
    ));
    let _listener = std::os::unix::net::UnixListener::bind(&probe)
        .with_context(|| format!("creating the sandbox probe {}", probe.display()))?;
    let removed = crate::RemovedOnDrop(probe.clone());
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(&removed.0, std::fs::Permissions::from_mode(0o777))
        .with_context(|| format!("chmod {}", probe.display()))?;
    let looked = shell(
        "if test -S \"$1\"; then echo visible; else echo hidden; fi",
        &[&probe.to_string_lossy()],
        Path::new("/"),
        10,
    )?;
    Ok(looked.success && looked.output.trim() == "hidden")
}

/// What a test must not see, looked for from a working folder placed like
/// a graded slot (under the grader's files): the workbook (its README and
/// its solutions, or in a students' repository its exercises), a file of the grader's next to the slot (as another
/// submission's slot or a report is), and a file inside the slot (where the
/// instructor's hidden tests are copied to be built). One problem per path
/// in sight.
fn files_hidden(root: &Path) -> Result<Vec<String>> {
    let probe = crate::cache_dir()
        .join("grade/probe")
        .join(std::process::id().to_string());
    let removed = crate::RemovedOnDrop(probe.clone());
    let slot = removed.0.join("slot");
    std::fs::create_dir_all(&slot).with_context(|| format!("creating {}", slot.display()))?;
    let beside = probe.join("beside");
    let inside = slot.join("inside");
    for file in [&beside, &inside] {
        std::fs::write(file, "a file graded code must not see\n")
            .with_context(|| format!("creating {}", file.display()))?;
    }
    // A students' repository (a handout, graded by its own workflow) has
    // no solutions/: its exercises/ stand for the workbook's other files.
    let solutions = root.join("solutions");
    let workbook_folder = match solutions.is_dir() {
        true => solutions,
        false => root.join("exercises"),
    };
    let secret: Vec<PathBuf> = vec![root.join("README.md"), workbook_folder, beside, inside];
    for path in &secret {
        if !path.exists() {
            bail!(
                "the sandbox probe {} is missing on the host",
                path.display()
            );
        }
    }
    let paths: Vec<String> = secret
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let looked = shell(
        "for f; do if test -e \"$f\"; then echo \"visible: $f\"; fi; done; echo looked",
        &args,
        &slot,
        10,
    )?;
    if !looked.success || !looked.output.contains("looked") {
        return Ok(vec![format!(
            "the file probe did not run: {}",
            said(&looked)
        )]);
    }
    Ok(looked
        .output
        .lines()
        .filter_map(|l| l.strip_prefix("visible: "))
        .map(|path| format!("a test can see {path}"))
        .collect())
}

/// The machine-wide grading lock: in /run/lock, where every checkout of the
/// workbook finds it.
pub fn lock_path() -> PathBuf {
    let lock_dir = Path::new("/run/lock");
    if lock_dir.is_dir() {
        lock_dir.join("netlink-workbook-grading.lock")
    } else {
        crate::cache_dir().join("grade.lock")
    }
}

/// How many processes run as `uid` (none may outlive a graded test).
fn processes_of(uid: u32) -> usize {
    pids_of(uid).len()
}

/// The processes (zombies included) whose real uid is `uid`.
fn pids_of(uid: u32) -> Vec<i32> {
    process::pids()
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/status"))
                .ok()
                .is_some_and(|status| {
                    status
                        .lines()
                        .find_map(|l| l.strip_prefix("Uid:"))
                        .and_then(|ids| ids.split_whitespace().next())
                        .is_some_and(|real| real == uid.to_string())
                })
        })
        .collect()
}

/// The processes of graded code still running: `nobody` in a user
/// namespace other than ours (every sandbox has its own). The host's own
/// `nobody` processes live in our namespace and are left alone. A run's
/// processes all end with its PID namespace, so after a run this is empty;
/// the self-check and the leftovers check make sure.
pub fn sandbox_processes() -> Vec<i32> {
    let Ok(ours) = std::fs::read_link("/proc/self/ns/user") else {
        return Vec::new();
    };
    pids_of(NOBODY)
        .into_iter()
        .filter(|pid| std::fs::read_link(format!("/proc/{pid}/ns/user")).is_ok_and(|ns| ns != ours))
        .collect()
}
