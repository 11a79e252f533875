//! How the pinned kernels are configured, where the book's lessons depend on
//! it (preemption, what a held lock or a softirq does to `preempt_count`,
//! the atomic-sleep checks, the tick): one snapshot, read from each kernel's
//! own `.config`, so a page that says "every kernel of the lab has
//! `CONFIG_PREEMPT_COUNT`" is backed by the kernels themselves.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result};

use super::Outcome;
use super::kernels::Kernel;

/// The options the book's pages rely on, in the order they are shown.
const OPTIONS: &[&str] = &[
    "CONFIG_PREEMPT_NONE",
    "CONFIG_PREEMPT_VOLUNTARY",
    "CONFIG_PREEMPT",
    "CONFIG_PREEMPT_RT",
    "CONFIG_PREEMPT_DYNAMIC",
    "CONFIG_PREEMPT_COUNT",
    "CONFIG_PREEMPT_RCU",
    "CONFIG_DEBUG_ATOMIC_SLEEP",
    "CONFIG_PROVE_LOCKING",
    "CONFIG_HZ",
];

/// The test's name in the lab's table and its snapshot's name.
const TEST_ID: &str = "kernel-configs";

/// Compares the configuration table of `kernels` (every kernel of the
/// matrix) with its snapshot: one outcome per kernel.
pub(super) fn check(kernels: &[Kernel], snapshot_dir: &Path) -> Vec<Outcome> {
    let started = Instant::now();
    // Columns in the matrix's order, however the command line named them.
    let mut in_order: Vec<&Kernel> = kernels.iter().collect();
    in_order.sort_by_key(|k| super::kernel_rank(&k.name));
    let result = table(&in_order).and_then(|body| {
        super::verdict::compare_snapshot(
            snapshot_dir,
            TEST_ID,
            "the pinned kernels' configuration options the book relies on, from each kernel's .config",
            &body,
        )
        .map_err(anyhow::Error::msg)
    });
    let seconds = started.elapsed().as_secs_f64();
    kernels
        .iter()
        .map(|k| Outcome {
            test_id: TEST_ID.to_string(),
            kernel: k.name.clone(),
            passed: result.is_ok(),
            reason: result
                .as_ref()
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default(),
            seconds,
            details: Vec::new(),
            boot_log: None,
        })
        .collect()
}

/// One row per option, one column per kernel: `y`, a value, or `-` for
/// "not set".
fn table(kernels: &[&Kernel]) -> Result<String> {
    let mut columns = Vec::new();
    for k in kernels {
        let file = k.kdir.join(".config");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading kernel {}'s {}", k.name, file.display()))?;
        columns.push((k.name.as_str(), parse(&text)));
    }
    let width = OPTIONS.iter().map(|o| o.len()).max().unwrap_or(0);
    let mut out = format!("{:<width$}", "option");
    for (name, _) in &columns {
        out.push_str(&format!("  {name:<8}"));
    }
    out = out.trim_end().to_string();
    out.push('\n');
    for option in OPTIONS {
        let mut line = format!("{option:<width$}");
        for (_, config) in &columns {
            let value = config.get(*option).map_or("-", String::as_str);
            line.push_str(&format!("  {value:<8}"));
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    Ok(out)
}

/// `CONFIG_X=value` lines of a `.config`; `# CONFIG_X is not set` and
/// absent options are both "not set".
fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_not_set_read_as_absent() {
        let config = parse("CONFIG_HZ=250\n# CONFIG_PREEMPT is not set\nCONFIG_PREEMPT_COUNT=y\n");
        assert_eq!(config.get("CONFIG_HZ").map(String::as_str), Some("250"));
        assert_eq!(
            config.get("CONFIG_PREEMPT_COUNT").map(String::as_str),
            Some("y")
        );
        assert!(!config.contains_key("CONFIG_PREEMPT"));
    }
}
