//! What the lab runs: the `lab.toml` beside each chapter's modules, and the
//! tests a reader names on the command line.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// The kernels of the matrix, by the names used in `lab.toml` and snapshots.
pub const KERNELS: &[&str] = &["6.1", "6.12", "6.12-rt", "debug"];

/// One `[[test]]` of a chapter's `lab.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestSpec {
    pub name: String,
    #[serde(default)]
    pub about: String,
    #[serde(default)]
    pub modules: Vec<String>,
    /// The kernel's own modules the test needs (Debian builds some, like
    /// netlink_diag and xfrm_user, as modules), loaded with their
    /// dependencies before `modules`.
    #[serde(default)]
    pub kernel_modules: Vec<String>,
    /// Program name (a binary of a chapter crate) and its arguments; an
    /// argument's `{module_dir}` becomes the guest folder of the test's
    /// modules.
    pub program: Vec<String>,
    #[serde(default)]
    pub kernels: Option<Vec<String>>,
    /// Kernels on which a kernel splat (BUG, WARNING, Oops, panic) is the
    /// expected outcome.
    #[serde(default)]
    pub expect_splat: Vec<String>,
    /// Deliberately buggy variants boot alone so they cannot hide others.
    #[serde(default)]
    pub own_boot: bool,
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Kernel log lines containing one of these texts show `<n>` for each
    /// number in them: the test makes those counts depend on timing (replies
    /// a module lost to clients that vanished mid-exchange).
    #[serde(default)]
    pub timing_counts: Vec<String>,
    /// A second program the test's program starts: a student's, built by
    /// the grader or the student's check, never named in `lab.toml`. The
    /// guest has it at the path an argument's `{helper}` becomes.
    #[serde(skip)]
    pub helper: Option<PathBuf>,
}

fn default_timeout() -> u64 {
    20
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabFile {
    test: Vec<TestSpec>,
}

/// A test placed in the matrix: which chapter, where its modules come from.
#[derive(Debug, Clone)]
pub struct LabTest {
    /// `chapter/name`, unique in the lab.
    pub id: String,
    pub chapter: String,
    /// Directory holding the module sources (with a Kbuild file).
    pub module_dir: PathBuf,
    pub spec: TestSpec,
}

impl LabTest {
    pub fn runs_on(&self, kernel: &str) -> bool {
        self.spec
            .kernels
            .as_ref()
            .is_none_or(|ks| ks.iter().any(|k| k == kernel))
    }

    pub fn expects_splat(&self, kernel: &str) -> bool {
        self.spec.expect_splat.iter().any(|k| k == kernel)
    }

    /// File name of the snapshot for one kernel.
    pub fn snapshot_name(&self, kernel: &str) -> String {
        format!("{}__{}@{}", self.chapter, self.spec.name, kernel)
    }
}

/// Reads every `kmod/<chapter>/lab.toml`, sorted by chapter.
pub fn load_all(kmod: &Path) -> Result<Vec<LabTest>> {
    let mut chapters: Vec<PathBuf> = std::fs::read_dir(kmod)
        .with_context(|| format!("reading {}", kmod.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("lab.toml").is_file())
        .collect();
    chapters.sort();
    let mut tests = Vec::new();
    for dir in chapters {
        tests.extend(load_dir(&dir)?);
    }
    Ok(tests)
}

/// The tests of one folder's `lab.toml` (a chapter, or an exercise).
pub fn load_dir(dir: &Path) -> Result<Vec<LabTest>> {
    let path = dir.join("lab.toml");
    let text = std::fs::read_to_string(&path)?;
    let file: LabFile =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let chapter = dir
        .file_name()
        .and_then(|n| n.to_str())
        .context("chapter directory name is not UTF-8")?
        .to_string();
    let mut seen = std::collections::BTreeSet::new();
    file.test
        .into_iter()
        .map(|spec| {
            validate(&spec).with_context(|| format!("{}: test `{}`", path.display(), spec.name))?;
            if !seen.insert(spec.name.clone()) {
                bail!("{}: test `{}` defined twice", path.display(), spec.name);
            }
            Ok(LabTest {
                id: format!("{chapter}/{}", spec.name),
                chapter: chapter.clone(),
                module_dir: dir.to_path_buf(),
                spec,
            })
        })
        .collect()
}

fn validate(spec: &TestSpec) -> Result<()> {
    let name_ok = !spec.name.is_empty()
        && spec
            .name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !name_ok {
        bail!("name must be lowercase letters, digits and dashes");
    }
    if spec.program.is_empty() {
        bail!("`program` is empty");
    }
    for k in spec.kernels.iter().flatten().chain(&spec.expect_splat) {
        if !KERNELS.contains(&k.as_str()) {
            bail!("unknown kernel `{k}` (known: {})", KERNELS.join(", "));
        }
    }
    for arg in spec
        .program
        .iter()
        .chain(&spec.modules)
        .chain(&spec.kernel_modules)
    {
        if arg.contains('\'') || arg.contains('\n') {
            bail!("quotes and newlines are not allowed in programs, arguments and module names");
        }
    }
    if spec.timeout_secs == 0 || spec.timeout_secs > 300 {
        bail!("timeout_secs must be 1..=300");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_validates_a_lab_file() {
        let text = r#"
            [[test]]
            name = "echo-raw"
            modules = ["echo.ko"]
            program = ["ch01-echo-raw", "hello"]
            expect_splat = ["debug"]
        "#;
        let file: LabFile = toml::from_str(text).unwrap();
        assert_eq!(file.test[0].timeout_secs, 20);
        assert!(validate(&file.test[0]).is_ok());
        let bad: LabFile =
            toml::from_str("[[test]]\nname = \"x\"\nprogram = [\"p\"]\nkernels = [\"5.4\"]\n")
                .unwrap();
        assert!(validate(&bad.test[0]).is_err());
        assert!(
            toml::from_str::<LabFile>("[[test]]\nname=\"x\"\nprogram=[\"p\"]\ntypo=1\n").is_err()
        );
    }
}
