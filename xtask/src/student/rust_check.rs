//! A Rust exercise's check: its tests built with the compiler's messages
//! streaming, then run one by one under the grader's time limit.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::exercises::Exercise;
use crate::grade::TEST_WALL;
use crate::process;

/// Builds the exercise's tests (the compiler's messages and cargo's
/// progress stream to the terminal as they come), then runs each test on
/// its own, as the grader does, within the grader's time limit
/// (`grade::TEST_WALL`): every test's verdict shows as soon as it is known,
/// a failing test's message right under it, and a test that hangs ends with
/// its name and "did not finish in N s". `RUST_BACKTRACE` is left out of the
/// tests' environment: a backtrace buries the assertion a student needs.
pub(super) fn check_rust(dir: &Path, exercise: &Exercise) -> Result<bool> {
    let target = crate::cache_dir()
        .join("exercises/exercises")
        .join(&exercise.name);
    let cargo = crate::process::cargo();
    let built = Command::new(cargo)
        .args([
            "test",
            "--no-run",
            "--message-format=json-render-diagnostics",
            "--manifest-path",
        ])
        .arg(dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo test --no-run")?;
    let executables = test_executables(&String::from_utf8_lossy(&built.stdout));
    if !built.status.success() || executables.is_empty() {
        println!("the tests do not build: the compiler's messages are above");
        return Ok(false);
    }
    let wrap = !process::has_cap_sys_admin();
    let (mut passed, mut failed) = (Vec::new(), Vec::new());
    for exe in &executables {
        let listed = run_test_binary(exe, &["--list", "--format", "terse"], dir, wrap, TEST_WALL)?;
        if !listed.finished || !listed.success {
            println!(
                "cannot list the tests of {}: {}",
                exe.display(),
                listed.text
            );
            failed.push(exe.display().to_string());
            continue;
        }
        let names: Vec<String> = listed
            .text
            .lines()
            .filter_map(|l| l.strip_suffix(": test"))
            .map(str::to_string)
            .collect();
        for name in names {
            let run = run_test_binary(
                exe,
                &["--exact", &name, "--test-threads", "1"],
                dir,
                wrap,
                TEST_WALL,
            )?;
            if !run.finished {
                println!(
                    "test {name} ... FAILED: did not finish in {} s (stopped)",
                    TEST_WALL.as_secs()
                );
                failed.push(name);
            } else if run.success {
                println!("test {name} ... ok");
                passed.push(name);
            } else {
                println!("test {name} ... FAILED");
                println!("{}", failure_of(&run.text));
                failed.push(name);
            }
        }
    }
    if failed.is_empty() {
        println!("{} tests passed", passed.len());
    } else {
        println!(
            "\n{} passed, {} failed:\n    {}",
            passed.len(),
            failed.len(),
            failed.join("\n    ")
        );
    }
    Ok(failed.is_empty())
}

/// The test executables cargo built, from its JSON messages.
fn test_executables(json: &str) -> Vec<PathBuf> {
    let mut exes: Vec<PathBuf> = json
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| {
            msg.get("reason").and_then(|r| r.as_str()) == Some("compiler-artifact")
                && msg.pointer("/profile/test").and_then(|t| t.as_bool()) == Some(true)
        })
        .filter_map(|msg| msg.get("executable")?.as_str().map(PathBuf::from))
        .collect();
    exes.sort();
    exes
}

struct TestRun {
    finished: bool,
    success: bool,
    text: String,
}

/// Of a test's output, the check keeps this much from the start and as much
/// from the end (where the panic message and the summary are).
const OUTPUT_KEPT_EACH_END: usize = 512 << 10;

/// One run of a test executable in the exercise's folder (as `cargo test`
/// runs it), within the grader's time limit; on time-out its process group
/// is killed. Ctrl-C ends the tool, and the parent-death signal ends the
/// test with it: no test outlives the check.
fn run_test_binary(
    exe: &Path,
    args: &[&str],
    dir: &Path,
    wrap: bool,
    wall: std::time::Duration,
) -> Result<TestRun> {
    let mut cmd = if wrap {
        let mut c = Command::new("unshare");
        c.arg("-Urn").arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    // SAFETY: prctl is async-signal-safe and touches no memory of ours.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd
        .spawn()
        .with_context(|| format!("running {}", exe.display()))?;
    let (out, err, timed_out) =
        crate::grade::run_with_limit(&mut child, wall, OUTPUT_KEPT_EACH_END)?;
    let status = child.wait()?;
    let text = format!("{}{}", out.text, err.text);
    Ok(TestRun {
        finished: !timed_out,
        success: !timed_out && status.success(),
        text,
    })
}

/// What a student needs of a failed test's output: its own output and the
/// panic message (the `---- NAME stdout ----` block), without the
/// harness's summary or the backtrace note.
fn failure_of(output: &str) -> String {
    let mut lines = Vec::new();
    let mut keep = false;
    for line in output.lines() {
        if line.starts_with("---- ") && line.ends_with(" ----") {
            keep = true;
        } else if keep && (line == "failures:" || line.starts_with("test result:")) {
            break;
        }
        if line.starts_with("note: run with `RUST_BACKTRACE") {
            continue;
        }
        if keep {
            lines.push(line);
        }
    }
    if lines.is_empty() {
        output.trim_end().to_string()
    } else {
        lines.join("\n").trim_end().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_keep_the_failing_tests_and_their_messages() {
        let output = "running 1 test\ntest errors_read_well ... FAILED\n\nfailures:\n\n---- errors_read_well stdout ----\nthread 'b' panicked at src/lib.rs:3:5:\nnot yet implemented\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace\n\n\nfailures:\n    errors_read_well\n\ntest result: FAILED. 0 passed; 1 failed\n";
        let shown = failure_of(output);
        assert!(
            shown.starts_with("---- errors_read_well stdout ----"),
            "{shown}"
        );
        assert!(shown.contains("not yet implemented"));
        assert!(!shown.contains("RUST_BACKTRACE"));
        assert!(!shown.contains("test result"));
        assert!(!shown.contains("running 1 test"));
    }

    #[test]
    fn a_hanging_test_is_stopped_at_its_time_limit() {
        let dir = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let run = run_test_binary(
            Path::new("/bin/sh"),
            &["-c", "echo started; sleep 60"],
            dir.path(),
            false,
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        assert!(!run.finished && !run.success);
        assert!(run.text.contains("started"), "{}", run.text);
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
