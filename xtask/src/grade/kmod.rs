//! A kernel-module exercise: the student's `.c` and `.h` files with the
//! repository's `Kbuild` and `lab.toml`, run in the VM lab; all submissions
//! share the boots.

use std::path::Path;

use anyhow::{Context, Result};

use super::{SubmissionGrade, TestResult, round2};
use crate::exercises::{Exercise, Kind};
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

pub(super) fn score_kmod(grades: &mut [SubmissionGrade], tests: Vec<plan::LabTest>) {
    let kernels: Vec<String> = plan::KERNELS.iter().map(|k| k.to_string()).collect();
    // A module that does not build fails its own tests only (the lab says why).
    let outcomes = lab::execute(tests, &kernels, lab::Mode::Verdict).map(|s| s.outcomes);
    for (index, g) in grades.iter_mut().enumerate() {
        for e in g
            .exercises
            .iter_mut()
            .filter(|e| e.kind == Kind::Kmod && e.reason.as_deref() == Some("pending"))
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
                            detail: o.reason.clone(),
                            hidden: false,
                        })
                        .collect();
                    let passed = e.tests.iter().filter(|t| t.passed).count();
                    e.reason = if e.tests.is_empty() {
                        Some("no lab test ran".into())
                    } else {
                        None
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
