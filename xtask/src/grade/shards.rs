//! A class graded in parts, on as many machines as a batch cluster gives:
//! `--shard K/N` grades every N-th submission by name, starting with the
//! K-th, and writes its reports like any grading; `--merge` reads the
//! parts' `grades.json` back and writes the reports of the whole class.
//! The split depends on the submissions' names only, never on the order a
//! directory lists them in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use super::SubmissionGrade;

/// Part `k` (from 1) of `n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

/// `K/N`, with 1 <= K <= N.
pub fn parse_shard(text: &str) -> Result<Shard> {
    let parsed = text
        .split_once('/')
        .and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)))
        .filter(|&(k, n)| k >= 1 && k <= n);
    match parsed {
        Some((k, n)) => Ok(Shard { k, n }),
        None => bail!("--shard {text}: write K/N, a part K from 1 to N (e.g. 2/3)"),
    }
}

// ANCHOR: select
/// The submissions of part `shard`: sorted by name, every `n`-th from the
/// `k`-th, so the parts of one class never overlap and cover it all.
pub fn select(mut submissions: Vec<(String, PathBuf)>, shard: Shard) -> Vec<(String, PathBuf)> {
    submissions.sort();
    submissions
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i % shard.n == shard.k - 1)
        .map(|(_, s)| s)
        .collect()
}
// ANCHOR_END: select

/// The grades of every part's report folder, as one class: each submission
/// once, every part graded on the same exercises.
pub fn merge(parts: &[PathBuf]) -> Result<Vec<SubmissionGrade>> {
    let mut all: BTreeMap<String, (SubmissionGrade, &Path)> = BTreeMap::new();
    let mut exercises: Option<(Vec<String>, &Path)> = None;
    for part in parts {
        let file = part.join("grades.json");
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("--merge: reading {}", file.display()))?;
        let grades: Vec<SubmissionGrade> = serde_json::from_str(&text)
            .with_context(|| format!("--merge: {} is not a grading's report", file.display()))?;
        for g in grades {
            let names: Vec<String> = g.exercises.iter().map(|e| e.exercise.clone()).collect();
            match &exercises {
                None => exercises = Some((names, part)),
                Some((first, at)) if *first != names => bail!(
                    "--merge: {} graded {} on other exercises than {} did: grade every part with the same --exercise options",
                    part.display(),
                    g.submission,
                    at.display()
                ),
                Some(_) => {}
            }
            if let Some((_, other)) = all.get(&g.submission) {
                bail!(
                    "--merge: {} is graded in both {} and {}",
                    g.submission,
                    other.display(),
                    part.display()
                );
            }
            all.insert(g.submission.clone(), (g, part));
        }
    }
    if all.is_empty() {
        bail!("--merge: the parts hold no graded submission");
    }
    Ok(all.into_values().map(|(g, _)| g).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_a_class_once_whatever_the_listing_order() {
        let class: Vec<(String, PathBuf)> = ["dan", "ann", "cid", "bob", "eve"]
            .iter()
            .map(|n| (n.to_string(), PathBuf::from(n)))
            .collect();
        let part = |k| -> Vec<String> {
            select(class.clone(), Shard { k, n: 2 })
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(part(1), ["ann", "cid", "eve"]);
        assert_eq!(part(2), ["bob", "dan"]);
        assert!(parse_shard("0/3").is_err() && parse_shard("4/3").is_err());
        assert_eq!(parse_shard("2/3").unwrap(), Shard { k: 2, n: 3 });
    }
}
