//! Running external programs (apt, make, cargo, qemu) with clear errors and
//! visible progress.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};

/// Shows a command the way a reader would type it.
pub fn display(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        if arg.contains(' ') || arg.is_empty() {
            s.push_str(&format!(" '{arg}'"));
        } else {
            s.push(' ');
            s.push_str(&arg);
        }
    }
    s
}

/// The cargo that runs this tool (`CARGO`, which cargo sets for what it
/// runs), or the one on `PATH`.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Runs a command with inherited stdio; fails naming the command.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = display(cmd);
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Writes `paths` as `HEAD` of the git checkout at `root` holds them into
/// `into` (`git archive HEAD -- paths | tar -x`): what is committed, never
/// the working copy.
pub fn export_head(root: &Path, paths: &[&str], into: &Path) -> Result<()> {
    let mut archive = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["archive", "--format=tar", "HEAD", "--"])
        .args(paths)
        .stdout(Stdio::piped())
        .spawn()
        .context("running git archive")?;
    let stdout = archive.stdout.take().context("git archive's output")?;
    let untar = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(into)
        .stdin(stdout)
        .status()
        .context("running tar")?;
    if !archive.wait()?.success() || !untar.success() {
        bail!(
            "git archive HEAD -- {} of {} did not unpack into {}",
            paths.join(" "),
            root.display(),
            into.display()
        );
    }
    Ok(())
}

/// Runs a command and returns its stdout; stderr is kept for the error.
pub fn output(cmd: &mut Command) -> Result<String> {
    let shown = display(cmd);
    let out = cmd
        .output()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !out.status.success() {
        bail!(
            "`{shown}` failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim_end()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a long command (a kernel build) showing one progress line every few
/// seconds instead of thousands of lines; the full log goes to `log_path`, and
/// its tail is shown if the command fails.
pub fn run_with_progress(cmd: &mut Command, label: &str, log_path: &std::path::Path) -> Result<()> {
    let shown = display(cmd);
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    let stderr = child.stderr.take().context("no stderr pipe")?;
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let tx2 = tx.clone();
    let readers = [
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        }),
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx2.send(line);
            }
        }),
    ];
    let mut log = Vec::new();
    let start = Instant::now();
    let mut last = Instant::now();
    for line in rx {
        log.push(line);
        if last.elapsed().as_secs() >= 5 {
            last = Instant::now();
            let latest = log.last().map(|l| l.trim()).unwrap_or_default();
            eprintln!(
                "  [{label}] {:>4}s, {} lines, now: {latest}",
                start.elapsed().as_secs(),
                log.len()
            );
        }
    }
    for reader in readers {
        let _ = reader.join();
    }
    let status = child.wait()?;
    std::fs::write(log_path, log.join("\n"))
        .with_context(|| format!("writing {}", log_path.display()))?;
    if !status.success() {
        let tail: Vec<_> = log.iter().rev().take(30).rev().cloned().collect();
        bail!(
            "`{shown}` failed ({status}); last lines (full log: {}):\n{}",
            log_path.display(),
            tail.join("\n")
        );
    }
    eprintln!("  [{label}] done in {}s", start.elapsed().as_secs());
    Ok(())
}

/// True when this process runs as root (uid 0).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Host tests create network namespaces (CAP_SYS_ADMIN). As a plain user the
/// suite re-runs them in a user namespace where it has that right.
pub fn with_network_namespace_rights(cmd: Command) -> Result<Command> {
    if has_cap_sys_admin() {
        return Ok(cmd);
    }
    let probe = Command::new("unshare").args(["-Urn", "true"]).status();
    if !probe.is_ok_and(|s| s.success()) {
        bail!(
            "the host tests need CAP_SYS_ADMIN to create network namespaces, and this user cannot get it \
             with `unshare -Urn` (unprivileged user namespaces disabled?). Run as root, or enable them \
             (sysctl kernel.unprivileged_userns_clone=1 on Debian)"
        );
    }
    eprintln!("    (not root: running the host tests under `unshare -Urn`)");
    let mut wrapped = Command::new("unshare");
    wrapped
        .arg("-Urn")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        wrapped.current_dir(dir);
    }
    Ok(wrapped)
}

/// Whether this process may create network namespaces itself.
pub fn has_cap_sys_admin() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
}

/// Every process now, by pid (the numeric entries of `/proc`).
pub fn pids() -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// The fields of `/proc/PID/stat` the tool uses.
#[derive(Debug, PartialEq)]
pub struct ProcStat {
    pub ppid: i32,
    pub pgrp: i32,
    /// `PF_*` flags, e.g. `PF_KTHREAD`.
    pub flags: u64,
    /// Start time in clock ticks after boot: with the pid, names a process
    /// even when pids are reused.
    pub start: u64,
}

/// `/proc/PID/stat` of `pid`; `None` if it has gone.
pub fn stat_of(pid: i32) -> Option<ProcStat> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses,
/// so fields are counted from the last ')'.
pub fn parse_stat(stat: &str) -> Option<ProcStat> {
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the comm: state (0), ppid (1), pgrp (2), ..., flags (6), ...,
    // starttime (19).
    Some(ProcStat {
        ppid: fields.get(1)?.parse().ok()?,
        pgrp: fields.get(2)?.parse().ok()?,
        flags: fields.get(6)?.parse().ok()?,
        start: fields.get(19)?.parse().ok()?,
    })
}

/// Waits for, then holds, an exclusive lock on `path` (created if needed)
/// for as long as the returned file lives; says so while waiting for
/// another `what` to finish.
pub fn exclusive_lock(path: &Path, what: &str) -> Result<std::fs::File> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => return Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {}
        Err(std::fs::TryLockError::Error(e)) => {
            bail!("locking {}: {e}", path.display())
        }
    }
    eprintln!(
        "==> another {what} holds {}; waiting for it",
        path.display()
    );
    file.lock()
        .with_context(|| format!("locking {}", path.display()))?;
    Ok(file)
}

/// Gives a third-party program (Chromium, a fuzzer's toolchain) a home of
/// its own under `target/home/NAME`: whatever it keeps in `$HOME` or the XDG
/// folders (profiles, caches, dconf) stays out of the user's home folder.
pub fn home_under_target(cmd: &mut Command, name: &str) -> Result<std::path::PathBuf> {
    let home = crate::cache_dir().join("home").join(name);
    for sub in [".config", ".cache", ".local/share", ".local/state"] {
        std::fs::create_dir_all(home.join(sub))
            .with_context(|| format!("creating {}", home.join(sub).display()))?;
    }
    cmd.env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_STATE_HOME", home.join(".local/state"));
    Ok(home)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stat_lines_whose_name_holds_spaces() {
        let line = "42 (a ) b) S 7 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0";
        assert_eq!(
            parse_stat(line),
            Some(ProcStat {
                ppid: 7,
                pgrp: 42,
                flags: 4_194_560,
                start: 12345
            })
        );
        assert_eq!(parse_stat("42 (cut short) S 7"), None);
    }
}
