//! A lab-program exercise: the student's `src/lib.rs` in a copy of the
//! exercise's crate (its `src/main.rs`, manifest and every other file are
//! the reference's), built as a static program for the guest, then run by
//! the tests of the exercise's `lab.toml` in the VM lab as their helper,
//! in the boots the module exercises use. The tests' program is the
//! workbook's own judge: the student's program cannot decide its verdict.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::rust::{compile_failure, copy_tree, run_build, tail};
use crate::exercises::Exercise;
use crate::lab::{guest, plan};

/// The file of the crate that is the student's.
pub const STUDENT_FILE: &str = "src/lib.rs";

/// The lab tests of a lab-program exercise, with the student's program as
/// their helper; `Ok(Err(reason))` when it does not build.
pub(super) fn lab_program_tests(
    root: &Path,
    exercise: &Exercise,
    student: &Path,
    slot: &Path,
    index: usize,
) -> Result<std::result::Result<Vec<plan::LabTest>, String>> {
    let reference = root.join("exercises").join(&exercise.name);
    if slot.exists() {
        std::fs::remove_dir_all(slot)?;
    }
    let krate = slot.join("crate");
    copy_tree(&reference, &krate, 0)?;
    let theirs = student.join(STUDENT_FILE);
    let fits = theirs
        .metadata()
        .is_ok_and(|m| m.is_file() && m.len() <= 1 << 20);
    if !fits {
        return Ok(Err(format!(
            "no {STUDENT_FILE} of at most 1 MiB in the submission"
        )));
    }
    std::fs::copy(&theirs, krate.join(STUDENT_FILE))?;
    let target = crate::cache_dir().join("grade/target").join(&exercise.name);
    let program = match build(&krate, &target)? {
        Ok(program) => program,
        Err(errors) => return Ok(Err(compile_failure(&errors))),
    };
    // The shared target folder is rebuilt for the next submission: keep
    // this one's program in its slot.
    let kept = slot.join(program.file_name().context("program name")?);
    std::fs::copy(&program, &kept)?;
    let chapter = format!("{index:03}-{}", exercise.name);
    Ok(Ok(plan::load_dir(&reference)?
        .into_iter()
        .map(|mut t| {
            t.id = format!("{chapter}/{}", t.spec.name);
            t.chapter = chapter.clone();
            t.spec.helper = Some(kept.clone());
            t
        })
        .collect()))
}

/// Builds the crate's program for the guest; `Err(text)` with the
/// compiler's errors when it does not compile.
fn build(krate: &Path, target: &Path) -> Result<std::result::Result<PathBuf, String>> {
    let mut cmd = guest::guest_build(target);
    cmd.args([
        "--message-format=json-render-diagnostics",
        "--manifest-path",
    ])
    .arg(krate.join("Cargo.toml"));
    let (stdout, stderr) = match run_build(&mut cmd)? {
        Ok(output) => output,
        Err(too_long) => return Ok(Err(too_long)),
    };
    match guest::built_program(&stdout) {
        Some(program) if program.is_file() => Ok(Ok(program)),
        _ => Ok(Err(tail(&stderr, 30))),
    }
}
