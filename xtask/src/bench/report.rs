//! The results of a run: kept as JSON, shown as the chapter's table and plot.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// One implementation's numbers for one case.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ImplResult {
    pub implementation: String,
    /// Units per second, one per round, in round order.
    pub rates: Vec<f64>,
    pub median_rate: f64,
    /// Median of the per-round ratios rate / C's rate (1 for C).
    pub ratio_to_c: f64,
    /// Messages lost over all rounds (any is a flag: the rate is suspect).
    pub drops: u64,
    /// ENOBUFS errors seen over all rounds.
    pub overruns: u64,
    /// System calls per unit (message sent, or round trip), counted by
    /// `strace -f -c` over a whole run of `strace_messages`.
    pub syscalls_per_unit: f64,
    /// The same, only sendto/sendmsg/recvfrom/recvmsg: the data path.
    pub data_syscalls_per_unit: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CaseResult {
    pub case: String,
    pub what: String,
    pub unit: String,
    pub messages: u64,
    pub strace_messages: u64,
    pub implementations: Vec<ImplResult>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct BenchResults {
    /// UTC, when the run finished.
    pub date: String,
    pub kernel: String,
    pub cpu: String,
    pub cpus: usize,
    pub rounds: u32,
    pub cases: Vec<CaseResult>,
}

pub(super) fn write_results(dir: &Path, results: &BenchResults) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("bench-results.json");
    let mut json = serde_json::to_string_pretty(results)?;
    json.push('\n');
    std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Reads a results file and writes the table and the plot next to it.
pub fn render_from_file(json: &Path) -> Result<(PathBuf, PathBuf)> {
    let text =
        std::fs::read_to_string(json).with_context(|| format!("reading {}", json.display()))?;
    let results: BenchResults =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", json.display()))?;
    let dir = json.parent().unwrap_or(Path::new("."));
    let table = dir.join("bench-table.md");
    let plot = dir.join("bench-ratios.svg");
    std::fs::write(&table, markdown_table(&results))
        .with_context(|| format!("writing {}", table.display()))?;
    std::fs::write(&plot, svg_plot(&results))
        .with_context(|| format!("writing {}", plot.display()))?;
    Ok((table, plot))
}

fn thousands(rate: f64) -> String {
    if rate >= 1e6 {
        format!("{:.2} M", rate / 1e6)
    } else {
        format!("{:.0} k", rate / 1e3)
    }
}

/// The chapter's table: one row per case and implementation.
pub fn markdown_table(results: &BenchResults) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Measured {} on Linux {}, {} ({} CPUs); medians of {} rounds, \
         ratios are the median of the per-round ratios to C.\n",
        results.date, results.kernel, results.cpu, results.cpus, results.rounds
    );
    s.push_str("| case | implementation | median rate | ratio to C | syscalls / unit (send+recv) | drops |\n");
    s.push_str("| --- | --- | ---: | ---: | ---: | ---: |\n");
    for case in &results.cases {
        for (n, r) in case.implementations.iter().enumerate() {
            let label = if n == 0 {
                format!("`{}`: {}", case.case, case.what)
            } else {
                String::new()
            };
            let drops = if r.drops > 0 {
                format!("**{} (flagged)**", r.drops)
            } else {
                "0".to_owned()
            };
            let _ = writeln!(
                s,
                "| {label} | {} | {} {} | {:.2} | {:.3} ({:.3}) | {drops} |",
                r.implementation,
                thousands(r.median_rate),
                case.unit,
                r.ratio_to_c,
                r.syscalls_per_unit,
                r.data_syscalls_per_unit,
            );
        }
    }
    s
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Horizontal bars: each Rust implementation's ratio to C, per case, with
/// the line at 1 (as fast as C) and the targets (0.95 raw, 0.9 neli; none
/// for the rust-netlink crates, measured as they come).
/// Plain SVG text: no plotting crate for a dozen rectangles.
pub fn svg_plot(results: &BenchResults) -> String {
    const LEFT: f64 = 150.0;
    const WIDTH: f64 = 460.0;
    const BAR: f64 = 14.0;
    const TOP: f64 = 40.0;
    const MAX_RATIO: f64 = 1.3;
    let colours = [
        ("raw", "#4477aa"),
        ("neli", "#ee6677"),
        ("rust-netlink", "#228833"),
    ];
    let row = colours.len() as f64 * BAR + 14.0;
    let x = |ratio: f64| LEFT + WIDTH * (ratio.clamp(0.0, MAX_RATIO) / MAX_RATIO);
    let height = TOP + row * results.cases.len() as f64 + 40.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {height}\" width=\"{w}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\" role=\"img\" aria-label=\"Rust implementations' throughput as a ratio to C, per case\">",
        w = LEFT + WIDTH + 60.0
    );
    let _ = writeln!(
        s,
        "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n<text x=\"{LEFT}\" y=\"16\" font-weight=\"bold\">Throughput as a ratio to C (1 = as fast as C; {} rounds, medians)</text>",
        results.rounds
    );
    for (n, (name, colour)) in colours.iter().enumerate() {
        let lx = LEFT + n as f64 * 110.0;
        let _ = writeln!(
            s,
            "<rect x=\"{lx}\" y=\"24\" width=\"10\" height=\"10\" fill=\"{colour}\"/><text x=\"{}\" y=\"33\">{name}</text>",
            lx + 14.0
        );
    }
    let bottom = TOP + row * results.cases.len() as f64;
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0, 1.25] {
        let tx = x(tick);
        let stroke = if tick == 1.0 { "#000000" } else { "#dddddd" };
        let _ = writeln!(
            s,
            "<line x1=\"{tx:.1}\" y1=\"{TOP}\" x2=\"{tx:.1}\" y2=\"{bottom}\" stroke=\"{stroke}\"/><text x=\"{tx:.1}\" y=\"{}\" text-anchor=\"middle\">{tick}</text>",
            bottom + 16.0
        );
    }
    for (target, colour) in [(0.95, "#4477aa"), (0.9, "#ee6677")] {
        let tx = x(target);
        let _ = writeln!(
            s,
            "<line x1=\"{tx:.1}\" y1=\"{TOP}\" x2=\"{tx:.1}\" y2=\"{bottom}\" stroke=\"{colour}\" stroke-dasharray=\"4 3\"/>"
        );
    }
    for (n_case, case) in results.cases.iter().enumerate() {
        let y = TOP + row * n_case as f64 + 6.0;
        let _ = writeln!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LEFT - 8.0,
            y + BAR + 4.0,
            escape(&case.case)
        );
        for (n, (name, colour)) in colours.iter().enumerate() {
            let Some(r) = case
                .implementations
                .iter()
                .find(|r| r.implementation == *name)
            else {
                continue;
            };
            let by = y + n as f64 * BAR;
            let flag = if r.drops > 0 { " (drops!)" } else { "" };
            let _ = writeln!(
                s,
                "<rect x=\"{LEFT}\" y=\"{by:.1}\" width=\"{:.1}\" height=\"{}\" fill=\"{colour}\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{:.2}{flag}</text>",
                x(r.ratio_to_c) - LEFT,
                BAR - 2.0,
                x(r.ratio_to_c) + 4.0,
                by + BAR - 4.0,
                r.ratio_to_c
            );
        }
    }
    let _ = writeln!(
        s,
        "<text x=\"{LEFT}\" y=\"{}\" font-size=\"10\">dashed: the targets, 0.95 (raw) and 0.9 (neli)</text>\n</svg>",
        bottom + 32.0
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> BenchResults {
        let implementation = |name: &str, ratio: f64, drops: u64| ImplResult {
            implementation: name.to_owned(),
            rates: vec![100_000.0 * ratio],
            median_rate: 100_000.0 * ratio,
            ratio_to_c: ratio,
            drops,
            overruns: 0,
            syscalls_per_unit: 2.001,
            data_syscalls_per_unit: 2.0,
        };
        BenchResults {
            date: "2026-01-01 00:00 UTC".into(),
            kernel: "6.18".into(),
            cpu: "a CPU".into(),
            cpus: 2,
            rounds: 1,
            cases: vec![CaseResult {
                case: "pingpong".into(),
                what: "ping & pong".into(),
                unit: "round trips/s".into(),
                messages: 10,
                strace_messages: 10,
                implementations: vec![
                    implementation("c", 1.0, 0),
                    implementation("raw", 0.97, 0),
                    implementation("neli", 0.91, 3),
                ],
            }],
        }
    }

    #[test]
    fn the_table_shows_ratios_and_flags_drops() {
        let table = markdown_table(&sample());
        assert!(
            table.contains(
                "| `pingpong`: ping & pong | c | 100 k round trips/s | 1.00 | 2.001 (2.000) | 0 |"
            ),
            "{table}"
        );
        assert!(
            table.contains("| raw | 97 k round trips/s | 0.97 |"),
            "{table}"
        );
        assert!(table.contains("**3 (flagged)**"), "{table}");
    }

    #[test]
    fn the_plot_has_a_bar_per_rust_implementation_and_case() {
        let svg = svg_plot(&sample());
        assert!(svg.starts_with("<svg "));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("fill=\"#4477aa\"/><text").count(), 2); // legend + bar
        assert!(svg.contains(">0.91 (drops!)<"));
        // Rendering is deterministic.
        assert_eq!(svg, svg_plot(&sample()));
    }

    #[test]
    fn results_survive_the_file() {
        let dir = crate::cache_dir().join("tmp/bench-render-test");
        let json = write_results(&dir, &sample()).unwrap();
        let (table, plot) = render_from_file(&json).unwrap();
        assert_eq!(
            std::fs::read_to_string(table).unwrap(),
            markdown_table(&sample())
        );
        assert_eq!(std::fs::read_to_string(plot).unwrap(), svg_plot(&sample()));
    }
}
