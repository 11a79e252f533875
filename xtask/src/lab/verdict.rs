//! What a test's run means: pass or fail, the snapshot it is compared with,
//! and the table a run ends with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::boots::Results;
use super::kernels::Kernel;
use super::plan::LabTest;
use super::transcript::GuestRun;
use super::{Mode, Outcome, dedup, normalize, qemu};

/// The outcome of every (test, kernel): modules that did not build fail
/// their tests; a run passes by its verdict and, when snapshots are
/// compared, its snapshot.
pub(super) fn outcomes(
    tests: &[LabTest],
    kernels: &[Kernel],
    broken: &BTreeMap<(String, PathBuf), String>,
    results: Results,
    mode: Mode,
) -> Vec<Outcome> {
    let snapshot_dir = crate::workspace::root().join("tests/snapshots/lab");
    let mut outcomes = Vec::new();
    for t in tests {
        for k in kernels {
            if let Some(why) = broken.get(&(k.name.clone(), t.module_dir.clone()))
                && t.runs_on(&k.name)
            {
                outcomes.push(Outcome {
                    test_id: t.id.clone(),
                    kernel: k.name.clone(),
                    passed: false,
                    reason: format!(
                        "module does not build: {}",
                        why.lines()
                            .filter(|l| !l.trim().is_empty())
                            .take(3)
                            .collect::<Vec<_>>()
                            .join("; ")
                    ),
                    seconds: 0.0,
                    details: why.lines().map(str::to_string).collect(),
                    boot_log: None,
                });
            }
        }
    }
    for (kernel, test, run) in &results {
        let body = snapshot_body(test, run);
        let (mut passed, mut reason) = verdict(test, &kernel.name, run);
        if mode == Mode::Show {
            println!("---- {} on {} ----\n{body}", test.id, kernel.name);
        } else if mode == Mode::Snapshots
            && let Err(why) = check_snapshot(&snapshot_dir, test, &kernel.name, &body)
        {
            passed = false;
            reason = if reason.is_empty() {
                why
            } else {
                format!("{reason}; {why}")
            };
        }
        outcomes.push(Outcome {
            test_id: test.id.clone(),
            kernel: kernel.name.clone(),
            passed,
            reason,
            seconds: run.duration.as_secs_f64(),
            details: match passed {
                true => Vec::new(),
                false => normalize::reports(&run.kernel_log),
            },
            boot_log: run.boot_log.clone(),
        });
    }
    outcomes
}

/// Pass or fail, judged by markers and the kernel log, never by QEMU's status.
pub(super) fn verdict(test: &LabTest, kernel: &str, run: &GuestRun) -> (bool, String) {
    let log = normalize::kernel_log(&run.kernel_log);
    let splat = log.iter().find(|l| normalize::is_splat(l));
    if test.expects_splat(kernel) {
        return match splat {
            Some(_) => (true, String::new()),
            None => (
                false,
                "expected a kernel report (BUG/WARNING/panic), saw none".into(),
            ),
        };
    }
    if let Some(line) = splat {
        return (false, format!("kernel report: {line}"));
    }
    if !run.finished {
        return (
            false,
            "the guest stopped during this test (hang or crash; see the boot log)".into(),
        );
    }
    if !run.insmod_failed.is_empty() {
        return (
            false,
            format!("insmod failed: {}", run.insmod_failed.join(", ")),
        );
    }
    if !run.rmmod_failed.is_empty() {
        return (
            false,
            format!("rmmod failed: {}", run.rmmod_failed.join(", ")),
        );
    }
    match run.exit {
        Some(0) => (true, String::new()),
        Some(137) => (
            false,
            format!("killed at the {} s limit", test.spec.timeout_secs),
        ),
        Some(code) => {
            let last = run.output.iter().rev().find(|l| !l.trim().is_empty());
            let said = last.map(|l| format!(": {}", l.trim())).unwrap_or_default();
            (false, format!("program exited with status {code}{said}"))
        }
        None => (false, "no exit status".into()),
    }
}

/// What the snapshot of one (test, kernel) holds: the program's output and
/// the kernel log, both normalized.
pub(super) fn snapshot_body(test: &LabTest, run: &GuestRun) -> String {
    let log = normalize::kernel_log(&run.kernel_log);
    let outcome = match (run.finished, run.exit) {
        (true, Some(code)) => format!("exit status {code}"),
        (true, None) => "no exit status".to_string(),
        (false, _) if log.iter().any(|l| l.starts_with("Kernel panic")) => {
            "the kernel panicked during the test (the VM went down)".to_string()
        }
        (false, _) => "the VM stopped responding during the test".to_string(),
    };
    let mut s = format!("$ {}\n", shown_program(&test.spec.program));
    if !test.spec.modules.is_empty() {
        s = format!("# modules: {}\n{s}", test.spec.modules.join(" "));
    }
    if !test.spec.kernel_modules.is_empty() {
        s = format!(
            "# the kernel's own modules, if not built in: {}\n{s}",
            test.spec.kernel_modules.join(" ")
        );
    }
    for line in &run.output {
        s.push_str(line);
        s.push('\n');
    }
    s.push_str(&format!("# outcome: {outcome}\n"));
    s.push_str("# kernel log:\n");
    if log.is_empty() {
        s.push_str("(nothing)\n");
    }
    for line in log {
        s.push_str(&normalize::hide_timing_counts(
            &line,
            &test.spec.timing_counts,
        ));
        s.push('\n');
    }
    s
}

fn shown_program(program: &[String]) -> String {
    program
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let a = if i == 0 {
                Path::new(a)
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or(a)
            } else {
                a
            };
            if a.contains(' ') {
                format!("'{a}'")
            } else {
                a.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn check_snapshot(
    dir: &Path,
    test: &LabTest,
    kernel: &str,
    body: &str,
) -> Result<(), String> {
    let description = format!("{} on kernel {kernel}: {}", test.id, test.spec.about);
    compare_snapshot(dir, &test.snapshot_name(kernel), &description, body)
}

/// Compares `body` with the lab snapshot `name` in `dir` (or writes it, as
/// `--accept` asks); a difference is an error naming it, not a panic.
pub(super) fn compare_snapshot(
    dir: &Path,
    name: &str,
    description: &str,
    body: &str,
) -> Result<(), String> {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(description);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        settings.bind(|| insta::assert_snapshot!(name, body));
    }));
    result.map_err(|_| format!("snapshot {name} differs (diff above)"))
}

pub(super) fn print_table(
    outcomes: &[Outcome],
    kernels: &[String],
    boot_times: &BTreeMap<String, Vec<Duration>>,
    accel: qemu::Accel,
) {
    let ids = dedup(outcomes.iter().map(|o| o.test_id.clone()));
    let width = ids.iter().map(String::len).max().unwrap_or(4).max(4);
    println!();
    print!("{:<width$}", "test");
    for k in kernels {
        print!("  {k:<14}");
    }
    println!();
    let mut failures = Vec::new();
    for id in &ids {
        print!("{id:<width$}");
        for k in kernels {
            let cell = match outcomes.iter().find(|o| &o.test_id == id && &o.kernel == k) {
                Some(o) if o.passed => format!("pass {:>5.1}s", o.seconds),
                Some(o) => {
                    failures.push(format!("{id} on {k}: {}", o.reason));
                    format!("FAIL {:>5.1}s", o.seconds)
                }
                None => "-".to_string(),
            };
            print!("  {cell:<14}");
        }
        println!();
    }
    let boots: Vec<String> = boot_times
        .iter()
        .map(|(k, ts)| {
            let avg = ts.iter().map(Duration::as_secs_f64).sum::<f64>() / ts.len().max(1) as f64;
            format!("{k} {avg:.1}s ({} boots)", ts.len())
        })
        .collect();
    println!("boot to first test ({accel:?}): {}", boots.join(", "));
    for f in &failures {
        println!("FAIL {f}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::{run, test};

    #[test]
    fn verdicts_follow_markers_and_kernel_reports() {
        let t = test("a");
        let clean = run("a", true);
        assert!(verdict(&t, "6.1", &clean).0);
        // The debug kernel is expected to report a bug for this test.
        assert!(!verdict(&t, "debug", &clean).0);
        let mut splat = run("a", false);
        splat.kernel_log =
            vec!["[ 1.0] BUG: sleeping function called from invalid context at x".into()];
        assert!(verdict(&t, "debug", &splat).0);
        assert!(!verdict(&t, "6.1", &splat).0);
        let mut failed = run("a", true);
        failed.exit = Some(1);
        failed.output = vec!["case WRONG: reply too long".into(), String::new()];
        assert_eq!(
            verdict(&t, "6.1", &failed),
            (
                false,
                "program exited with status 1: case WRONG: reply too long".to_string()
            )
        );
    }
}
