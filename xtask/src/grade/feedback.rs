//! Per student, a report they can act on, which the instructor can send
//! unchanged: each exercise's score; for each one below full marks, why
//! (the reason, or the failing tests with the first lines of what they
//! said; hidden tests only counted) and the exercise's first hint.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;

use super::report::{hidden_summary, shown};
use super::{SubmissionGrade, safe};
use crate::exercises::Exercise;

/// Lines of a failure's text a report keeps: enough to act on.
const LINES: usize = 6;

/// Writes `dir/<submission>.md` for every submission.
pub(super) fn write_feedback(
    grades: &[SubmissionGrade],
    catalog: &[Exercise],
    dir: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    for g in grades {
        std::fs::write(
            dir.join(format!("{}.md", safe(&g.submission))),
            feedback(g, catalog),
        )?;
    }
    Ok(())
}

// ANCHOR: feedback
/// One student's report, in Markdown.
pub(super) fn feedback(g: &SubmissionGrade, catalog: &[Exercise]) -> String {
    let mut md = format!("# {}: {} of {} points\n\n", g.submission, g.score, g.max);
    md.push_str("| exercise | score |\n| --- | --- |\n");
    for e in &g.exercises {
        let _ = writeln!(md, "| {} | {} / {} |", e.exercise, e.score, e.points);
    }
    for e in g.exercises.iter().filter(|e| e.score < f64::from(e.points)) {
        let _ = write!(md, "\n## {}: {} / {}\n\n", e.exercise, e.score, e.points);
        if let Some(reason) = &e.reason {
            let _ = write!(md, "No test could run:\n\n{}", block(reason));
        }
        for t in shown(&e.tests).iter().filter(|t| !t.passed) {
            let _ = write!(md, "Failed: `{}`\n\n{}", t.name, block(&t.detail));
        }
        if let Some(summary) = hidden_summary(&e.tests) {
            let _ = writeln!(md, "{summary}.\n");
        }
        if let Some(hint) = catalog
            .iter()
            .find(|c| c.name == e.exercise)
            .and_then(|c| c.hints.first())
        {
            let _ = writeln!(
                md,
                "First hint: {hint}\n\nMore with `cargo xtask exercise {} --hint`.",
                e.exercise
            );
        }
    }
    md
}
// ANCHOR_END: feedback

/// The first lines of `text` as a fenced block.
fn block(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut shown = lines
        .iter()
        .take(LINES)
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    if lines.len() > LINES {
        let _ = write!(shown, "\n... ({} more lines)", lines.len() - LINES);
    }
    format!("```text\n{}\n```\n\n", shown.replace("```", "'''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exercises::Kind;
    use crate::grade::{ExerciseGrade, TestResult};

    #[test]
    fn a_report_says_what_failed_and_hides_hidden_inputs() {
        let test = |name: &str, passed, detail: &str, hidden| TestResult {
            name: name.into(),
            passed,
            detail: detail.into(),
            hidden,
            seconds: 0.1,
        };
        let g = SubmissionGrade {
            submission: "ann".into(),
            score: 5.0,
            max: 20,
            exercises: vec![
                ExerciseGrade {
                    exercise: "ch01-a".into(),
                    kind: Kind::Rust,
                    points: 10,
                    score: 5.0,
                    reason: None,
                    tests: vec![
                        test("t::ok", true, "", false),
                        test("t::lengths", false, "left: 16\nright: 20", false),
                        test("hidden_x::secret_input", false, "input 0xdead", true),
                    ],
                },
                ExerciseGrade {
                    exercise: "ch07-m".into(),
                    kind: Kind::Kmod,
                    points: 10,
                    score: 0.0,
                    reason: Some("module does not build:\nch07-m/m.c:3:1: error: x".into()),
                    tests: Vec::new(),
                },
            ],
        };
        let catalog = vec![Exercise {
            name: "ch01-a".into(),
            chapter: "ch01".into(),
            kind: Kind::Rust,
            points: 10,
            hints: vec!["Count the header.".into()],
        }];
        let md = feedback(&g, &catalog);
        assert!(md.starts_with("# ann: 5 of 20 points"), "{md}");
        assert!(md.contains("Failed: `t::lengths`\n\n```text\nleft: 16\nright: 20\n```"));
        assert!(md.contains("Failed: `hidden test 1`") && !md.contains("0xdead"));
        assert!(md.contains("hidden tests: 0 of 1 passed."));
        assert!(md.contains("First hint: Count the header."));
        assert!(md.contains("ch07-m/m.c:3:1: error: x"));
    }
}
