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
            for t in e.tests.iter().filter(|t| !t.passed) {
                println!(
                    "{} {}: FAIL {}: {}",
                    g.submission,
                    e.exercise,
                    t.name,
                    t.detail.lines().next().unwrap_or("")
                );
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
    Ok(())
}

/// JUnit XML: a test suite per (submission, exercise), a test case per test.
pub fn junit(grades: &[SubmissionGrade]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for g in grades {
        for e in &g.exercises {
            let cases: Vec<TestResult> = if e.tests.is_empty() {
                vec![TestResult {
                    name: "exercise".into(),
                    passed: false,
                    detail: e.reason.clone().unwrap_or_default(),
                }]
            } else {
                e.tests.clone()
            };
            let failures = cases.iter().filter(|c| !c.passed).count();
            xml.push_str(&format!(
                "  <testsuite name=\"{}/{}\" tests=\"{}\" failures=\"{failures}\">\n",
                escape(&g.submission),
                escape(&e.exercise),
                cases.len()
            ));
            for c in &cases {
                xml.push_str(&format!(
                    "    <testcase classname=\"{}.{}\" name=\"{}\"",
                    escape(&g.submission),
                    escape(&e.exercise),
                    escape(&c.name)
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
                    },
                    TestResult {
                        name: "b<".into(),
                        passed: false,
                        detail: "left \"1\" & right".into(),
                    },
                ],
            }],
        }];
        let xml = junit(&grades);
        assert!(xml.contains("tests=\"2\" failures=\"1\""));
        assert!(xml.contains("name=\"b&lt;\""));
        assert!(xml.contains("left &quot;1&quot; &amp; right"));
    }
}
