//! Boots: one QEMU run of a kernel with a batch of tests, and a fresh boot
//! for the tests a crash left unrun.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::kernels::Kernel;
use super::plan::LabTest;
use super::transcript::{self, GuestRun};
use super::{guest, kernel_rank, qemu};

/// What each (kernel, test) run gave, ordered by test then kernel.
pub(super) type Results = Vec<(Kernel, LabTest, GuestRun)>;

/// Runs the queued boots, two at a time on two cores; returns every test's
/// run and each kernel's boot times.
pub(super) fn run_all<'a>(
    boots: VecDeque<(Kernel, Vec<LabTest>)>,
    files: impl Fn(&Kernel) -> guest::Files<'a> + Sync,
    accel: qemu::Accel,
    cache: &Path,
) -> (Results, BTreeMap<String, Vec<Duration>>) {
    let queue = Mutex::new(boots);
    let results = Mutex::new(Vec::<(Kernel, LabTest, GuestRun)>::new());
    let boot_times = Mutex::new(BTreeMap::<String, Vec<Duration>>::new());
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(2);
    let counter = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| {
                loop {
                    let next = queue.lock().map(|mut q| q.pop_front()).ok().flatten();
                    let Some((kernel, batch)) = next else { break };
                    let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let mut attempt = 0;
                    let runs = run_batch(&batch, |rest| {
                        attempt += 1;
                        let label = format!("{}-{n}-{attempt}", kernel.name);
                        let names: Vec<&str> = rest.iter().map(|t| t.id.as_str()).collect();
                        eprintln!(
                            "==> boot {label}: kernel {} running {}",
                            kernel.name,
                            names.join(", ")
                        );
                        let booted =
                            boot_once(&kernel, rest, &files(&kernel), accel, cache, &label);
                        if let Ok((parsed, _)) = &booted
                            && parsed.booted
                            && let Ok(mut bt) = boot_times.lock()
                        {
                            bt.entry(kernel.name.clone())
                                .or_default()
                                .push(parsed.boot_time);
                        }
                        booted
                    });
                    if let Ok(mut r) = results.lock() {
                        r.extend(runs.into_iter().map(|(t, run)| (kernel.clone(), t, run)));
                    }
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap_or_default();
    results
        .sort_by(|a, b| (&a.1.id, kernel_rank(&a.0.name)).cmp(&(&b.1.id, kernel_rank(&b.0.name))));

    (results, boot_times.into_inner().unwrap_or_default())
}

/// Every test of `tests` failed for the same reason.
fn fail_all(tests: &[&LabTest], why: &str) -> Vec<(LabTest, GuestRun)> {
    tests
        .iter()
        .map(|t| {
            let run = GuestRun {
                id: t.id.clone(),
                output: vec![why.to_string()],
                ..GuestRun::default()
            };
            ((*t).clone(), run)
        })
        .collect()
}

/// Runs `batch` through `boot` (one guest boot per call, given the tests
/// still to run); when a test takes the kernel down, the tests after it run
/// in a fresh boot.
pub(super) fn run_batch(
    batch: &[LabTest],
    mut boot: impl FnMut(&[&LabTest]) -> Result<(transcript::Parsed, bool)>,
) -> Vec<(LabTest, GuestRun)> {
    let mut results = Vec::new();
    let mut rest: Vec<&LabTest> = batch.iter().collect();
    while !rest.is_empty() {
        let (parsed, timed_out) = match boot(&rest) {
            Ok(v) => v,
            Err(e) => {
                results.extend(fail_all(&rest, &format!("lab error: {e:#}")));
                break;
            }
        };
        if parsed.runs.is_empty() {
            let why = if timed_out { "timed out" } else { "no markers" };
            results.extend(fail_all(
                &rest,
                &format!(
                    "the guest did not start the tests ({why}; see the console logs in target/lab/boots/)"
                ),
            ));
            break;
        }
        let mut progressed = false;
        for run in parsed.runs {
            if let Some(pos) = rest.iter().position(|t| t.id == run.id) {
                let test = rest.remove(pos);
                results.push((test.clone(), run));
                progressed = true;
            }
        }
        if !progressed {
            results.extend(fail_all(
                &rest,
                "the guest ran none of the tests it was given",
            ));
            break;
        }
    }
    results
}

pub(super) fn boot_once(
    kernel: &Kernel,
    tests: &[&LabTest],
    files: &guest::Files,
    accel: qemu::Accel,
    cache: &Path,
    label: &str,
) -> Result<(transcript::Parsed, bool)> {
    let dir = boots_dir(cache)?;
    let initrd = dir.join(format!("{label}.cpio"));
    std::fs::write(&initrd, guest::initramfs(tests, files)?)?;
    let limit =
        Duration::from_secs(30 + tests.iter().map(|t| t.spec.timeout_secs + 5).sum::<u64>());
    let started = Instant::now();
    let console = dir.join(format!("{label}.console"));
    let boot = qemu::boot(&kernel.vmlinux, &initrd, &console, accel, limit)?;
    let log: Vec<String> = boot
        .lines
        .iter()
        .map(|l| format!("{:>8.3} {}", l.at.as_secs_f64(), l.text))
        .collect();
    let log_path = dir.join(format!("{label}.log"));
    std::fs::write(&log_path, log.join("\n"))?;
    let mut parsed = transcript::parse(&boot.lines, &boot.console);
    for run in &mut parsed.runs {
        run.boot_log = Some(log_path.clone());
    }
    parsed.boot_time = boot
        .lines
        .iter()
        .find(|l| l.text.contains("@@LAB BOOTED"))
        .map_or(started.elapsed(), |l| l.at);
    Ok((parsed, boot.timed_out))
}

/// This run's initramfs images and console logs: `target/lab/boots/<pid>`,
/// so two lab runs at once never overwrite each other's files. Folders of
/// runs that have ended are removed, except the newest, kept for reading.
pub(super) fn boots_dir(cache: &Path) -> Result<PathBuf> {
    let all = cache.join("lab/boots");
    let mine = all.join(std::process::id().to_string());
    if !mine.is_dir() {
        std::fs::create_dir_all(&mine)?;
        let mut ended: Vec<(std::time::SystemTime, PathBuf)> = std::fs::read_dir(&all)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_dir()
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .and_then(|n| n.parse::<u32>().ok())
                        .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists())
            })
            .filter_map(|p| Some((p.metadata().ok()?.modified().ok()?, p)))
            .collect();
        ended.sort();
        ended.pop();
        for (_, old) in ended {
            let _ = std::fs::remove_dir_all(old);
        }
    }
    Ok(mine)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fixtures::{run, test};
    use crate::lab::verdict::verdict;

    #[test]
    fn a_crash_moves_the_remaining_tests_to_a_fresh_boot() {
        let batch = vec![test("a"), test("b"), test("c")];
        let mut boots = Vec::new();
        let results = run_batch(&batch, |rest| {
            boots.push(rest.iter().map(|t| t.spec.name.clone()).collect::<Vec<_>>());
            let parsed = if boots.len() == 1 {
                // `b` takes the kernel down.
                transcript::Parsed {
                    booted: true,
                    runs: vec![run("a", true), run("b", false)],
                    ..Default::default()
                }
            } else {
                transcript::Parsed {
                    booted: true,
                    runs: vec![run("c", true)],
                    done: true,
                    ..Default::default()
                }
            };
            Ok((parsed, false))
        });
        assert_eq!(boots, vec![vec!["a", "b", "c"], vec!["c"]]);
        let finished: Vec<(String, bool)> = results
            .iter()
            .map(|(t, r)| (t.spec.name.clone(), r.finished))
            .collect();
        assert_eq!(
            finished,
            vec![("a".into(), true), ("b".into(), false), ("c".into(), true)]
        );
    }

    #[test]
    fn a_boot_that_never_starts_fails_every_test_by_name() {
        let batch = vec![test("a"), test("b")];
        let results = run_batch(&batch, |_| Ok((transcript::Parsed::default(), true)));
        assert_eq!(results.len(), 2);
        assert!(
            results
                .iter()
                .all(|(_, r)| !r.finished && r.output[0].contains("timed out"))
        );
        let (ok, why) = verdict(&results[0].0, "6.1", &results[0].1);
        assert!(!ok && why.contains("stopped"));
    }
}
