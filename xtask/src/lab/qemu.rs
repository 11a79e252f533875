//! Booting a kernel under QEMU and collecting what the guest prints.
//!
//! QEMU exits 0 even after a guest panic, so a boot is judged only by the
//! markers the guest prints; every boot is bounded by a timeout.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

/// A line of the serial console and when the host saw it.
#[derive(Debug, Clone)]
pub struct Line {
    pub at: Duration,
    pub text: String,
}

/// Everything a boot printed, and whether it had to be stopped.
#[derive(Debug)]
pub struct Boot {
    /// The tests' channel (ttyS1), timed as it arrived.
    pub lines: Vec<Line>,
    /// The kernel's console (ttyS0).
    pub console: Vec<String>,
    pub timed_out: bool,
}

/// How QEMU executes the guest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accel {
    Kvm,
    Tcg,
}

impl Accel {
    fn args(self) -> &'static [&'static str] {
        match self {
            Accel::Kvm => &["-accel", "kvm", "-cpu", "host"],
            Accel::Tcg => &["-accel", "tcg", "-cpu", "max"],
        }
    }
}

const KERNEL_ARGS: &str = "console=ttyS0 panic=-1 oops=panic quiet printk.time=1";

/// Boots `vmlinux` (PVH direct boot) with `initrd`, stopping after `limit`.
/// The console goes to `console_path`; the tests' channel is read live.
pub fn boot(
    vmlinux: &Path,
    initrd: &Path,
    console_path: &Path,
    accel: Accel,
    limit: Duration,
) -> Result<Boot> {
    let start = Instant::now();
    let _ = std::fs::remove_file(console_path);
    let mut child = Command::new("qemu-system-x86_64")
        .args(accel.args())
        .args([
            "-smp",
            "1",
            // The initramfs is unpacked into memory next to its own copy.
            "-m",
            "512M",
            "-nographic",
            "-no-reboot",
            "-nodefaults",
        ])
        .arg("-serial")
        .arg(format!("file:{}", console_path.display()))
        .args(["-serial", "stdio", "-nic", "none", "-monitor", "none"])
        .arg("-kernel")
        .arg(vmlinux)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", KERNEL_ARGS])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("could not start qemu-system-x86_64 (package qemu-system-x86)")?;
    let stdout = child.stdout.take().context("no stdout pipe")?;
    let stderr = child.stderr.take().context("no stderr pipe")?;
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut buf = Vec::new();
        while reader.read_until(b'\n', &mut buf).is_ok_and(|n| n > 0) {
            let text = String::from_utf8_lossy(&buf)
                .trim_end_matches(['\r', '\n'])
                .to_string();
            if tx
                .send(Line {
                    at: start.elapsed(),
                    text,
                })
                .is_err()
            {
                break;
            }
            buf.clear();
        }
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s);
        s
    });
    let mut lines = Vec::new();
    let mut timed_out = false;
    loop {
        let left = limit.saturating_sub(start.elapsed());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                timed_out = true;
                let _ = child.kill();
                break;
            }
        }
    }
    let status = child.wait()?;
    let _ = reader.join();
    let qemu_errors = err_reader.join().unwrap_or_default();
    if !timed_out && !status.success() && lines.is_empty() {
        anyhow::bail!("qemu failed ({status}): {}", qemu_errors.trim());
    }
    let console = std::fs::read(console_path).unwrap_or_default();
    let console = String::from_utf8_lossy(&console)
        .lines()
        .map(|l| l.trim_end_matches('\r').to_string())
        .collect();
    Ok(Boot {
        lines,
        console,
        timed_out,
    })
}

/// KVM only when it really runs a guest: on some hosts `/dev/kvm` exists but
/// cannot (lab notes §1). Probed once per machine with a real boot, cached.
pub fn choose_accel(vmlinux: &Path, probe_initrd: &Path, cache: &Path) -> Accel {
    match std::env::var("NLBOOK_LAB_ACCEL").as_deref() {
        Ok("tcg") => return Accel::Tcg,
        Ok("kvm") => return Accel::Kvm,
        _ => {}
    }
    let cached = cache.join("lab/accel");
    if let Ok(text) = std::fs::read_to_string(&cached) {
        return if text.trim() == "kvm" {
            Accel::Kvm
        } else {
            Accel::Tcg
        };
    }
    let usable = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/kvm")
        .is_ok()
        && boot(
            vmlinux,
            probe_initrd,
            &probe_initrd.with_extension("console"),
            Accel::Kvm,
            Duration::from_secs(15),
        )
        .is_ok_and(|b| b.lines.iter().any(|l| l.text.starts_with("@@LAB DONE")));
    let accel = if usable { Accel::Kvm } else { Accel::Tcg };
    eprintln!(
        "==> QEMU acceleration: {} (probed once; delete {} to probe again)",
        if usable {
            "KVM"
        } else {
            "TCG (KVM unavailable or unusable here)"
        },
        cached.display()
    );
    let _ = std::fs::write(&cached, if usable { "kvm" } else { "tcg" });
    accel
}
