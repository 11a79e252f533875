//! A kernel-module exercise: the student's `.c` and `.h` files with the
//! repository's `Kbuild` and `lab.toml`, run in the VM lab; all submissions
//! share the boots. The scoring of every exercise the lab grades (module
//! and lab-program exercises) is here too.

use std::path::Path;

use anyhow::{Context, Result};

use super::{SubmissionGrade, TestResult, round2};
use crate::exercises::Exercise;
use crate::lab::{self, plan};

/// The lab tests of a kernel-module exercise, pointed at the student's module.
pub(super) fn kmod_tests(
    root: &Path,
    exercise: &Exercise,
    student: &Path,
    slot: &Path,
    index: usize,
) -> Result<Vec<plan::LabTest>> {
    if slot.exists() {
        std::fs::remove_dir_all(slot)?;
    }
    std::fs::create_dir_all(slot)?;
    // Module sources only; Kbuild and lab.toml come from the reference.
    for entry in std::fs::read_dir(student)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "c" || e == "h")
            && path.is_file()
            && path.metadata()?.len() <= 1 << 20
        {
            std::fs::copy(&path, slot.join(path.file_name().context("file name")?))?;
        }
    }
    let reference = root.join("exercises").join(&exercise.name);
    std::fs::copy(reference.join("Kbuild"), slot.join("Kbuild"))
        .context("the exercise has no Kbuild")?;
    let tests = plan::load_dir(&reference)?;
    // Unique per submission, so all submissions can share boots.
    let chapter = format!("{index:03}-{}", exercise.name);
    Ok(tests
        .into_iter()
        .map(|mut t| {
            t.id = format!("{chapter}/{}", t.spec.name);
            t.chapter = chapter.clone();
            t.module_dir = slot.to_path_buf();
            t
        })
        .collect())
}

pub(super) fn score_in_lab(grades: &mut [SubmissionGrade], tests: Vec<plan::LabTest>) {
    let kernels: Vec<String> = plan::KERNELS.iter().map(|k| k.to_string()).collect();
    // A module that does not build fails its own tests only (the lab says why).
    let outcomes = lab::execute(tests, &kernels, lab::Mode::Verdict).map(|s| s.outcomes);
    for (index, g) in grades.iter_mut().enumerate() {
        for e in g
            .exercises
            .iter_mut()
            .filter(|e| e.kind.runs_in_lab() && e.reason.as_deref() == Some("pending"))
        {
            let chapter = format!("{index:03}-{}", e.exercise);
            match &outcomes {
                Err(err) => e.reason = Some(format!("the VM lab failed: {err:#}")),
                Ok(outcomes) => {
                    e.tests = outcomes
                        .iter()
                        .filter(|o| o.test_id.starts_with(&format!("{chapter}/")))
                        .map(|o| TestResult {
                            name: format!(
                                "{}@{}",
                                o.test_id.split_once('/').map_or("", |(_, n)| n),
                                o.kernel
                            ),
                            passed: o.passed,
                            detail: test_detail(&e.exercise, o),
                            hidden: false,
                            seconds: o.seconds,
                        })
                        .collect();
                    let passed = e.tests.iter().filter(|t| t.passed).count();
                    e.reason = if e.tests.is_empty() {
                        Some("no lab test ran".into())
                    } else {
                        build_failure(
                            &e.exercise,
                            outcomes
                                .iter()
                                .filter(|o| o.test_id.starts_with(&format!("{chapter}/"))),
                        )
                    };
                    e.score = if e.tests.is_empty() {
                        0.0
                    } else {
                        round2(f64::from(e.points) * passed as f64 / e.tests.len() as f64)
                    };
                }
            }
        }
    }
}

/// What a failed module test says: its reason, then the kernel's reports
/// of the run (normalized, call traces included), or for a module that
/// did not build the compiler's messages at the student's files.
fn test_detail(exercise: &str, o: &lab::Outcome) -> String {
    if o.passed {
        return String::new();
    }
    let detail = match build_failure(exercise, std::iter::once(o)) {
        Some(build) => build,
        None if o.details.is_empty() => o.reason.clone(),
        None => format!("{}\n{}", o.reason, o.details.join("\n")),
    };
    super::rust::clip_start(&detail, super::DETAIL_MAX)
}

// ANCHOR: build_failure
/// The reason of a module that built on no kernel: every test failed
/// because of it, so the exercise scored 0 for one cause. The compiler's
/// messages point at the student's own files (`EXERCISE/file.c:LINE`), not
/// at the grader's copy, each once.
fn build_failure<'a>(
    exercise: &str,
    outcomes: impl Iterator<Item = &'a lab::Outcome>,
) -> Option<String> {
    let outcomes: Vec<&lab::Outcome> = outcomes.collect();
    let all_broken = !outcomes.is_empty()
        && outcomes
            .iter()
            .all(|o| o.reason.starts_with("module does not build"));
    if !all_broken {
        return None;
    }
    let mut messages: Vec<String> = Vec::new();
    for line in outcomes.iter().flat_map(|o| &o.details) {
        if let Some(m) = lab::compiler::compiler_message(line, Path::new(exercise))
            && !messages.contains(&m)
        {
            messages.push(m);
        }
    }
    Some(match messages.is_empty() {
        true => "module does not build (the compiler gave no message about a file)".to_string(),
        false => format!("module does not build:\n{}", messages.join("\n")),
    })
}
// ANCHOR_END: build_failure

#[cfg(test)]
mod tests {
    use super::*;

    fn broken(kernel: &str) -> lab::Outcome {
        lab::Outcome {
            test_id: "003-ch07-timer-context/listener".into(),
            kernel: kernel.into(),
            passed: false,
            reason: "module does not build: building x failed".into(),
            seconds: 0.0,
            details: vec![
                format!(
                    "/w/target/grade/work/003-x/ch07-timer-context/timer_mcast.c:58:13: error: 'x' undeclared"
                ),
                "make[1]: *** [Makefile:2: all] Error 2".into(),
            ],
            boot_log: None,
        }
    }

    #[test]
    fn a_module_that_builds_nowhere_has_one_reason_at_the_students_file() {
        let outcomes = [broken("6.1"), broken("6.12")];
        let reason = build_failure("ch07-timer-context", outcomes.iter()).unwrap();
        assert_eq!(
            reason,
            "module does not build:\nch07-timer-context/timer_mcast.c:58:13: error: 'x' undeclared"
        );
        assert!(
            test_detail("ch07-timer-context", &broken("6.1"))
                .starts_with("module does not build:\nch07-timer-context/timer_mcast.c:58:13")
        );
        let mut ran = broken("debug");
        ran.reason = "no reply".into();
        assert_eq!(
            build_failure("ch07-timer-context", [broken("6.1"), ran].iter()),
            None
        );
    }
}
