//! What a module exercise's check shows: a line per test and kernel, the
//! kernel reports of a failing run, and compiler messages at the student's
//! own file.

use std::path::{Path, PathBuf};

use crate::{lab, workspace};

/// What a module exercise's check shows: a line per (test, kernel); then
/// the compiler's messages, each once, pointed at the student's own file
/// (the lab builds a copy under target/lab/kmod/), with the kernels that
/// gave it; then every kernel report of each failing run (the same reports
/// on several kernels shown once) and the boot log that holds it all.
pub(super) fn kmod_report(dir: &Path, outcomes: &[lab::Outcome]) -> String {
    let mut text = String::new();
    for o in outcomes {
        let reason = match o.reason.split_once(':') {
            Some((head, _)) if head == "module does not build" => head,
            _ => o.reason.as_str(),
        };
        text.push_str(&match o.passed {
            true => format!("pass {} on {}\n", o.test_id, o.kernel),
            false => format!("FAIL {} on {}: {reason}\n", o.test_id, o.kernel),
        });
    }
    let shown = dir
        .strip_prefix(workspace::root())
        .unwrap_or(dir)
        .to_path_buf();
    // message -> kernels, in the order first seen.
    let mut messages: Vec<(String, Vec<String>)> = Vec::new();
    let mut reports: Vec<(Vec<String>, Vec<String>, Option<PathBuf>)> = Vec::new();
    for o in outcomes.iter().filter(|o| !o.passed) {
        if o.reason.starts_with("module does not build") {
            for line in o
                .details
                .iter()
                .filter_map(|l| lab::compiler::compiler_message(l, &shown))
            {
                match messages.iter_mut().find(|(m, _)| *m == line) {
                    Some((_, kernels)) if !kernels.contains(&o.kernel) => {
                        kernels.push(o.kernel.clone())
                    }
                    Some(_) => {}
                    None => messages.push((line, vec![o.kernel.clone()])),
                }
            }
        } else if !o.details.is_empty() {
            let at = format!("{} on {}", o.test_id, o.kernel);
            match reports.iter_mut().find(|(r, _, _)| *r == o.details) {
                Some((_, runs, _)) => runs.push(at),
                None => reports.push((o.details.clone(), vec![at], o.boot_log.clone())),
            }
        } else if let Some(log) = &o.boot_log {
            text.push_str(&format!(
                "\n{} on {}: the boot log is {}\n",
                o.test_id,
                o.kernel,
                log.display()
            ));
        }
    }
    if !messages.is_empty() {
        text.push_str("\nThe compiler says (each message once, with the kernels that gave it):\n");
        for (message, kernels) in &messages {
            text.push_str(&format!("{message}   [{}]\n", kernels.join(", ")));
        }
    }
    for (report, runs, log) in &reports {
        text.push_str(&format!("\nKernel reports of {}:\n", runs.join(", ")));
        for line in report {
            text.push_str(&format!("  {line}\n"));
        }
        if let Some(log) = log {
            text.push_str(&format!("  the whole boot log: {}\n", log.display()));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_failures_point_at_the_students_file_once() {
        let dir = workspace::root().join("exercises/ch07-timer-context");
        let build = |kernel: &str, test: &str| lab::Outcome {
            test_id: format!("ch07-timer-context/{test}"),
            kernel: kernel.into(),
            passed: false,
            reason: "module does not build: building x failed".into(),
            seconds: 0.0,
            details: vec![
                format!("building ch07-timer-context for kernel {kernel} failed:"),
                format!(
                    "/w/target/lab/kmod/{kernel}/ch07-timer-context-0123456789abcdef/timer_mcast.c:58:13: error: 'x' undeclared"
                ),
                "make[1]: *** [Makefile:2: all] Error 2".into(),
            ],
            boot_log: None,
        };
        let outcomes = vec![build("6.1", "a"), build("6.12", "a"), build("6.1", "b")];
        let text = kmod_report(&dir, &outcomes);
        let message =
            "exercises/ch07-timer-context/timer_mcast.c:58:13: error: 'x' undeclared   [6.1, 6.12]";
        assert_eq!(text.matches("timer_mcast.c:58:13").count(), 1, "{text}");
        assert!(text.contains(message), "{text}");
        assert!(!text.contains("target/lab"), "{text}");

        let report = |kernel: &str| lab::Outcome {
            test_id: "ch07-timer-context/congested".into(),
            kernel: kernel.into(),
            passed: false,
            reason: "kernel report: WARNING: inconsistent lock state".into(),
            seconds: 1.0,
            details: vec![
                "BUG: sleeping function called from invalid context at mm/slab.h:1".into(),
                "  call trace: dump_stack_lvl < mcast_tick [timer_mcast]".into(),
            ],
            boot_log: Some(PathBuf::from("/w/target/lab/boots/1/6.1-0.log")),
        };
        let text = kmod_report(&dir, &[report("6.1"), report("6.12")]);
        assert!(text.contains("Kernel reports of ch07-timer-context/congested on 6.1, ch07-timer-context/congested on 6.12:"), "{text}");
        assert!(text.contains("BUG: sleeping function called from invalid context"));
        assert!(text.contains("the whole boot log: /w/target/lab/boots/1/6.1-0.log"));
    }
}
