//! What grading tells: a table on the terminal, `grades.json` and
//! `grades.junit.xml`.

use std::path::Path;

use anyhow::Result;

use super::{SubmissionGrade, TestResult};

pub(super) fn print_table(grades: &[SubmissionGrade]) {
    let Some(first) = grades.first() else { return };
    let names: Vec<&str> = first
        .exercises
        .iter()
        .map(|e| e.exercise.as_str())
        .collect();
    let width = grades
        .iter()
        .map(|g| g.submission.len())
        .max()
        .unwrap_or(10)
        .max(10);
    print!("\n{:<width$}", "submission");
    for n in &names {
        print!("  {n:>w$}", w = n.len().max(6));
    }
    println!("  {:>9}", "total");
    for g in grades {
        print!("{:<width$}", g.submission);
        for (e, n) in g.exercises.iter().zip(&names) {
            print!(
                "  {:>w$}",
                format!("{}/{}", e.score, e.points),
                w = n.len().max(6)
            );
        }
        println!("  {:>9}", format!("{}/{}", g.score, g.max));
    }
    for g in grades {
        for e in &g.exercises {
            if let Some(reason) = &e.reason {
                println!(
                    "{} {}: 0 points: {}",
                    g.submission,
                    e.exercise,
                    reason.lines().next().unwrap_or("")
                );
            }
            for t in shown(&e.tests).iter().filter(|t| !t.passed) {
                println!(
                    "{} {}: FAIL {}: {}",
                    g.submission,
                    e.exercise,
                    t.name,
                    t.detail.lines().next().unwrap_or("")
                );
            }
            if let Some(summary) = hidden_summary(&e.tests) {
                println!("{} {}: {summary}", g.submission, e.exercise);
            }
        }
    }
}

pub(super) fn write_reports(grades: &[SubmissionGrade], out: &Path) -> Result<()> {
    std::fs::create_dir_all(out)?;
    std::fs::write(
        out.join("grades.json"),
        serde_json::to_string_pretty(grades)?,
    )?;
    std::fs::write(out.join("grades.junit.xml"), junit(grades))?;
    std::fs::write(out.join("grades.csv"), csv(grades))?;
    Ok(())
}

// ANCHOR: csv
/// A gradebook's import: one row per student, one column per exercise,
/// then the total and the maximum.
pub fn csv(grades: &[SubmissionGrade]) -> String {
    let field = |s: &str| match s.contains([',', '"', '\n']) {
        true => format!("\"{}\"", s.replace('"', "\"\"")),
        false => s.to_string(),
    };
    let mut rows = Vec::new();
    if let Some(first) = grades.first() {
        let mut header = vec!["submission".to_string()];
        header.extend(first.exercises.iter().map(|e| field(&e.exercise)));
        header.extend(["total".to_string(), "max".to_string()]);
        rows.push(header.join(","));
    }
    for g in grades {
        let mut row = vec![field(&g.submission)];
        row.extend(g.exercises.iter().map(|e| e.score.to_string()));
        row.extend([g.score.to_string(), g.max.to_string()]);
        rows.push(row.join(","));
    }
    rows.join("\n") + "\n"
}
// ANCHOR_END: csv

/// JUnit XML: a test suite per (submission, exercise), a test case per test.
pub fn junit(grades: &[SubmissionGrade]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for g in grades {
        for e in &g.exercises {
            let cases: Vec<TestResult> = if e.tests.is_empty() {
                vec![TestResult {
                    // What kept every test from running: the build, or
                    // the exercise's absence.
                    name: match e.reason.as_deref() {
                        Some(r) if r.contains("does not compile") => "build".into(),
                        Some(r) if r.contains("missing") => "submitted".into(),
                        _ => "exercise".into(),
                    },
                    passed: false,
                    detail: e.reason.clone().unwrap_or_default(),
                    hidden: false,
                    seconds: 0.0,
                }]
            } else {
                shown(&e.tests)
            };
            let failures = cases.iter().filter(|c| !c.passed).count();
            let seconds: f64 = cases.iter().map(|c| c.seconds).sum();
            xml.push_str(&format!(
                "  <testsuite name=\"{}/{}\" tests=\"{}\" failures=\"{failures}\" time=\"{seconds:.3}\">\n",
                escape(&g.submission),
                escape(&e.exercise),
                cases.len()
            ));
            // Points as properties: JUnit has no field for them, and
            // gradebook importers read properties.
            xml.push_str(&format!(
                "    <properties><property name=\"score\" value=\"{}\"/><property name=\"points\" value=\"{}\"/><property name=\"points_per_test\" value=\"{}\"/></properties>\n",
                e.score,
                e.points,
                super::round2(f64::from(e.points) / cases.len().max(1) as f64)
            ));
            for c in &cases {
                xml.push_str(&format!(
                    "    <testcase classname=\"{}.{}\" name=\"{}\" time=\"{:.3}\"",
                    escape(&g.submission),
                    escape(&e.exercise),
                    escape(&c.name),
                    c.seconds
                ));
                if c.passed {
                    xml.push_str("/>\n");
                } else {
                    xml.push_str(&format!(
                        "><failure message=\"{}\">{}</failure></testcase>\n",
                        escape(c.detail.lines().next().unwrap_or("failed")),
                        escape(&c.detail)
                    ));
                }
            }
            xml.push_str("  </testsuite>\n");
        }
    }
    xml.push_str("</testsuites>\n");
    xml
}

// ANCHOR: shown
/// The tests as a student may see them: a hidden test keeps its outcome
/// but not its name or its failure's text, which can quote its inputs.
pub(super) fn shown(tests: &[TestResult]) -> Vec<TestResult> {
    let mut hidden = 0;
    tests
        .iter()
        .map(|t| {
            if !t.hidden {
                return t.clone();
            }
            hidden += 1;
            TestResult {
                name: format!("hidden test {hidden}"),
                passed: t.passed,
                detail: match t.passed {
                    true => String::new(),
                    false => "a hidden test failed (its inputs are the instructor's)".into(),
                },
                hidden: true,
                seconds: t.seconds,
            }
        })
        .collect()
}
// ANCHOR_END: shown

/// `hidden tests: 2 of 3 passed`, when the exercise had any.
pub(super) fn hidden_summary(tests: &[TestResult]) -> Option<String> {
    let hidden: Vec<&TestResult> = tests.iter().filter(|t| t.hidden).collect();
    (!hidden.is_empty()).then(|| {
        format!(
            "hidden tests: {} of {} passed",
            hidden.iter().filter(|t| t.passed).count(),
            hidden.len()
        )
    })
}

fn escape(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&apos;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::ExerciseGrade;
    use super::*;
    use crate::exercises::Kind;

    #[test]
    fn junit_escapes_and_counts_failures() {
        let grades = vec![SubmissionGrade {
            submission: "ann".into(),
            score: 5.0,
            max: 10,
            exercises: vec![ExerciseGrade {
                exercise: "ch01".into(),
                kind: Kind::Rust,
                points: 10,
                score: 5.0,
                reason: None,
                tests: vec![
                    TestResult {
                        name: "a".into(),
                        passed: true,
                        detail: String::new(),
                        hidden: false,
                        seconds: 0.25,
                    },
                    TestResult {
                        name: "b<".into(),
                        passed: false,
                        detail: "left \"1\" & right".into(),
                        hidden: false,
                        seconds: 0.5,
                    },
                    TestResult {
                        name: "hidden_lies::len_past_end".into(),
                        passed: false,
                        detail: "assertion failed: input [0x55, 0x00]".into(),
                        hidden: true,
                        seconds: 0.25,
                    },
                ],
            }],
        }];
        let xml = junit(&grades);
        assert!(xml.contains("tests=\"3\" failures=\"2\" time=\"1.000\""));
        assert!(xml.contains("<property name=\"points\" value=\"10\"/>"));
        assert!(xml.contains("name=\"a\" time=\"0.250\""));
        assert!(xml.contains("name=\"b&lt;\""));
        assert!(xml.contains("left &quot;1&quot; &amp; right"));
        assert!(xml.contains("name=\"hidden test 1\""));
        assert!(
            !xml.contains("len_past_end") && !xml.contains("0x55"),
            "{xml}"
        );
        assert_eq!(
            hidden_summary(&grades[0].exercises[0].tests).as_deref(),
            Some("hidden tests: 0 of 1 passed")
        );
        assert_eq!(csv(&grades), "submission,ch01,total,max\nann,5,5,10\n");
    }
}
