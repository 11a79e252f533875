//! A batch cluster, for real: a single-node Slurm (Debian's `slurm-wlm`
//! and `munge`) started for the check under `target/slurm/`, bounded in
//! time and stopped afterwards. A class is graded once on this machine,
//! then as a three-part array job with `xtask/platforms/slurm/grade-array.sh`
//! and merged; the merged reports must give exactly the local scores.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::{Verdicts, process, workspace};

/// The array job's script, in the repository.
pub const SCRIPT: &str = "xtask/platforms/slurm/grade-array.sh";

/// Parts of the class: one array task each.
const PARTS: usize = 3;

/// The exercises the check grades: Rust ones, a few seconds each.
const EXERCISES: [&str; 2] = ["ch01-nlmsg-layout", "ch02-port-ids"];

/// How long the daemons may take to come up, and the job to finish.
const START: Duration = Duration::from_secs(60);
const JOB: Duration = Duration::from_secs(600);

/// The daemons of the check, stopped (with everything they started) when
/// dropped, whatever happened.
struct Daemons(Vec<Child>);

impl Drop for Daemons {
    fn drop(&mut self) {
        for child in &mut self.0 {
            if let Ok(pid) = i32::try_from(child.id()) {
                // SAFETY: kill takes no pointers; each daemon leads a
                // process group of its own (process_group(0) below).
                unsafe { libc::kill(-pid, libc::SIGTERM) };
            }
        }
        for child in &mut self.0 {
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn spawn(dir: &Path, name: &str, cmd: &mut Command) -> Result<Child> {
    use std::os::unix::process::CommandExt;
    let log = std::fs::File::create(dir.join(format!("{name}.out")))?;
    cmd.stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting {name}"))
}

/// The node's line of `slurm.conf`, as `slurmd -C` detects the hardware,
/// and the host name in it.
fn node_line() -> Result<(String, String)> {
    let detected = process::output(Command::new("slurmd").arg("-C"))?;
    let line = detected
        .lines()
        .find(|l| l.starts_with("NodeName="))
        .context("slurmd -C printed no NodeName line")?
        .trim()
        .to_string();
    let host = line
        .split_whitespace()
        .next()
        .and_then(|w| w.strip_prefix("NodeName="))
        .context("no host name in slurmd -C")?
        .to_string();
    Ok((format!("{line} NodeAddr=127.0.0.1 State=UNKNOWN"), host))
}

fn config(dir: &Path, node: &str, host: &str) -> String {
    let d = dir.display();
    format!(
        "# A single-node cluster for the grading check, everything under {d}.
ClusterName=nlbook
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={d}/munge.socket
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/slurmctld.log
SlurmdLogFile={d}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/builtin
SelectType=select/linear
ReturnToService=2
SlurmdParameters=config_overrides
{node}
PartitionName=grading Nodes=ALL Default=YES MaxTime=60 State=UP
"
    )
}

/// The check; returns (checks passed, checks failed).
pub fn check() -> Result<(usize, usize)> {
    if !process::is_root() {
        bail!(
            "the Slurm check starts slurmctld, slurmd and munged, which need root: run `cargo xtask test` as root"
        );
    }
    crate::provision::ensure_packages(&["slurm-wlm", "munge"])?;
    let root = workspace::root();
    let dir = crate::cache_dir().join("slurm");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    for sub in ["state", "spool", "class", "out"] {
        std::fs::create_dir_all(dir.join(sub))?;
    }
    // munge: a key of our own, a socket of our own.
    let key = dir.join("munge.key");
    std::fs::write(&key, random_key()?)?;
    set_mode(&key, 0o400)?;
    set_mode(&dir, 0o700)?;
    let (node, host) = node_line()?;
    let conf = dir.join("slurm.conf");
    std::fs::write(&conf, config(&dir, &node, &host))?;
    let mut daemons = Daemons(Vec::new());
    daemons.0.push(spawn(
        &dir,
        "munged",
        Command::new("munged")
            .args(["--foreground", "--force"])
            .arg(format!("--key-file={}", key.display()))
            .arg(format!("--socket={}", dir.join("munge.socket").display()))
            .arg(format!("--pid-file={}", dir.join("munged.pid").display()))
            .arg(format!("--log-file={}", dir.join("munged.log").display()))
            .arg(format!("--seed-file={}", dir.join("munged.seed").display())),
    )?);
    wait_for(|| dir.join("munge.socket").exists(), "munged's socket")?;
    for daemon in ["slurmctld", "slurmd"] {
        daemons.0.push(spawn(
            &dir,
            daemon,
            Command::new(daemon).arg("-D").arg("-f").arg(&conf),
        )?);
    }
    let slurm = |program: &str| {
        let mut cmd = Command::new(program);
        cmd.env("SLURM_CONF", &conf);
        cmd
    };
    wait_for(
        || {
            slurm("sinfo")
                .args(["-h", "-o", "%T"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "idle")
        },
        "the node to be idle (sinfo)",
    )?;

    // The class: complete, half done and noisy work, as the fixtures hold it.
    let class = dir.join("class");
    let fixtures = root.join("tests/fixtures/submissions");
    for (name, from) in [
        ("alice", root.join("solutions")),
        ("bob", fixtures.join("half-done")),
        ("carol", fixtures.join("noisy")),
        ("dave", fixtures.join("broken-build")),
    ] {
        crate::grade::rust::copy_tree(&from, &class.join(name), 0)?;
    }
    let only: Vec<String> = EXERCISES
        .iter()
        .flat_map(|e| ["--exercise".to_string(), e.to_string()])
        .collect();
    let out = dir.join("out");
    let mut verdicts = Verdicts::default();

    let local = out.join("local");
    let graded_here = xtask_grade(&root, |c| c.arg("--class").arg(&class).args(&only), &local)
        .context("grading the class on this machine")?;
    verdicts.record(
        graded_here.success(),
        "the class could not be graded on this machine".into(),
    );

    let started = Instant::now();
    let job = slurm("timeout")
        .arg(JOB.as_secs().to_string())
        .arg("sbatch")
        .args(["--wait", "--quiet"])
        .arg(format!("--array=1-{PARTS}"))
        .arg(format!("--output={}/task-%a.log", dir.display()))
        .arg(root.join(SCRIPT))
        .arg(&root)
        .arg(&class)
        .arg(&out)
        .args(&only)
        .status()
        .context("submitting the array job")?;
    verdicts.record(
        job.success(),
        format!(
            "the array job failed after {:.0} s (task logs: {}/task-*.log)",
            started.elapsed().as_secs_f64(),
            dir.display()
        ),
    );
    let parts: Vec<PathBuf> = (1..=PARTS).map(|k| out.join(format!("part-{k}"))).collect();
    let merged = out.join("class");
    let merge = xtask_grade(&root, |c| c.arg("--merge").args(&parts), &merged)
        .context("merging the parts")?;
    verdicts.record(merge.success(), "the parts could not be merged".into());
    let csv = |d: &Path| std::fs::read_to_string(d.join("grades.csv")).unwrap_or_default();
    let (here, there) = (csv(&local), csv(&merged));
    verdicts.record(
        !here.is_empty() && here == there,
        format!("the merged parts score\n{there}but one local run scores\n{here}"),
    );
    drop(daemons);
    // A job step's slurmstepd leaves a moment after its slurmd: give the
    // last of them time to go, then none may be left (a zombie waiting to
    // be reaped holds nothing, and does not count).
    let left = || {
        process::output(Command::new("ps").args(["-eo", "pid=,stat=,args="]))
            .unwrap_or_default()
            .lines()
            .filter(|l| {
                let mut words = l.split_whitespace();
                let (_, stat, program) = (words.next(), words.next(), words.next());
                !stat.is_some_and(|s| s.starts_with('Z'))
                    && program.is_some_and(|p| {
                        ["slurmctld", "slurmd", "slurmstepd", "slurmstepd:", "munged"]
                            .iter()
                            .any(|name| p == *name || p.ends_with(&format!("/{name}")))
                    })
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !left().trim().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(250));
    }
    let left = left();
    verdicts.record(
        left.trim().is_empty(),
        format!("Slurm or munge processes outlived the check:\n{left}"),
    );
    Ok((verdicts.passed, verdicts.failed))
}

/// `cargo xtask grade` in the workbook at `root`, with what `args` adds,
/// its reports written to `out`; its table is not needed here.
fn xtask_grade(
    root: &Path,
    args: impl FnOnce(&mut Command) -> &mut Command,
    out: &Path,
) -> Result<std::process::ExitStatus> {
    let mut cmd = Command::new(process::cargo());
    cmd.current_dir(root).args(["xtask", "grade"]);
    args(&mut cmd)
        .arg("--out")
        .arg(out)
        .stdout(Stdio::null())
        .status()
        .context("could not run cargo xtask grade")
}

fn random_key() -> Result<Vec<u8>> {
    let mut key = vec![0u8; 1024];
    let mut file = std::fs::File::open("/dev/urandom")?;
    std::io::Read::read_exact(&mut file, &mut key)?;
    Ok(key)
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}

fn wait_for(ready: impl Fn() -> bool, what: &str) -> Result<()> {
    let deadline = Instant::now() + START;
    while !ready() {
        if Instant::now() > deadline {
            bail!("waited {} s for {what}", START.as_secs());
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    Ok(())
}
