//! Reading what a boot printed: the guest's `@@LAB` markers on the tests'
//! channel split it into tests; a test that began but never ended took the
//! kernel down (or hung), and its kernel log is then the console from the
//! test's start marker on.

use std::time::Duration;

use super::qemu::Line;

/// The guest also writes each test's start into the kernel log, under a
/// name of its own so it is never taken for a marker of the tests' channel.
const KMSG_MARKER: &str = "@@LAB-KMSG";

/// What one test did in the guest.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuestRun {
    pub id: String,
    /// Lines the program (and insmod) printed.
    pub output: Vec<String>,
    /// Kernel messages of this test: its dmesg slice, or the console's kernel
    /// lines when the test never finished.
    pub kernel_log: Vec<String>,
    pub exit: Option<i32>,
    pub insmod_failed: Vec<String>,
    pub rmmod_failed: Vec<String>,
    /// The END marker was seen.
    pub finished: bool,
    pub duration: Duration,
    /// The console log of the boot this run was part of.
    pub boot_log: Option<std::path::PathBuf>,
}

/// The tests of one boot, in order, plus whether the guest came up at all.
#[derive(Debug, Default)]
pub struct Parsed {
    pub booted: bool,
    pub runs: Vec<GuestRun>,
    /// The guest reached the end of its test list.
    pub done: bool,
    /// From QEMU's start to the guest's first marker.
    pub boot_time: Duration,
}

/// True for a console line printed by the kernel (`printk.time=1`).
pub fn is_kernel_line(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('[') else {
        return false;
    };
    let Some((stamp, _)) = rest.split_once(']') else {
        return false;
    };
    let stamp = stamp.trim();
    !stamp.is_empty() && stamp.chars().all(|c| c.is_ascii_digit() || c == '.')
}

#[derive(PartialEq)]
enum Phase {
    Setup,
    Program,
    Teardown,
    Dmesg,
}

pub fn parse(lines: &[Line], console: &[String]) -> Parsed {
    let mut parsed = Parsed::default();
    let mut current: Option<(GuestRun, Phase, Duration)> = None;
    for line in lines {
        // A marker may follow other output on the same console line
        // (firmware text without a newline, a kernel message cut in half).
        let (before, marker) = match line.text.find("@@LAB ") {
            Some(at) => (&line.text[..at], Some(&line.text[at + 6..])),
            None => (line.text.as_str(), None),
        };
        // Blank program lines count; the empty text before a marker does not.
        if (marker.is_none() || !before.is_empty())
            && let Some((run, phase, began)) = current.as_mut()
        {
            run.duration = line.at.saturating_sub(*began);
            match phase {
                Phase::Dmesg if before.contains(KMSG_MARKER) => {}
                Phase::Dmesg => run.kernel_log.push(before.to_string()),
                Phase::Setup | Phase::Program | Phase::Teardown => {
                    run.output.push(before.to_string())
                }
            }
        }
        let Some(marker) = marker else { continue };
        let (word, arg) = marker.split_once(' ').unwrap_or((marker, ""));
        match word {
            "BOOTED" => parsed.booted = true,
            "DONE" => parsed.done = true,
            "BEGIN" => {
                let run = GuestRun {
                    id: arg.to_string(),
                    ..GuestRun::default()
                };
                current = Some((run, Phase::Setup, line.at));
            }
            _ => {
                let Some((run, phase, began)) = current.as_mut() else {
                    continue;
                };
                match word {
                    "INSMOD-FAILED" => run.insmod_failed.push(arg.to_string()),
                    "RMMOD-FAILED" => run.rmmod_failed.push(arg.to_string()),
                    "RUN" => *phase = Phase::Program,
                    "EXIT" => {
                        run.exit = arg.trim().parse().ok();
                        *phase = Phase::Teardown;
                    }
                    "DMESG" => *phase = Phase::Dmesg,
                    "END" => {
                        run.finished = true;
                        run.duration = line.at.saturating_sub(*began);
                        if let Some((run, _, _)) = current.take() {
                            parsed.runs.push(run);
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some((mut run, _, _)) = current.take() {
        // Never finished: the console holds what the kernel said meanwhile.
        let begin = format!("{KMSG_MARKER} BEGIN {}", run.id);
        run.kernel_log = console
            .iter()
            .skip_while(|l| !l.ends_with(&begin))
            .skip(1)
            .filter(|l| is_kernel_line(l))
            .cloned()
            .collect();
        parsed.runs.push(run);
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(texts: &[&str]) -> Vec<Line> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| Line {
                at: Duration::from_millis(i as u64 * 10),
                text: t.to_string(),
            })
            .collect()
    }

    #[test]
    fn splits_tests_and_takes_a_crashed_tests_log_from_the_console() {
        let p = parse(
            &lines(&[
                "@@LAB BOOTED 6.1.0",
                "@@LAB BEGIN ch/a",
                "@@LAB RUN",
                "hello",
                "@@LAB EXIT 0",
                "@@LAB DMESG",
                "[    0.9] @@LAB-KMSG BEGIN ch/a",
                "[    1.000] echo: got 5 bytes",
                "@@LAB END ch/a",
                "@@LAB BEGIN ch/b",
                "@@LAB RUN",
                "listening",
            ]),
            &[
                "[    0.5] boot noise".to_string(),
                "[    0.9] @@LAB-KMSG BEGIN ch/a".to_string(),
                "[    1.000] echo: got 5 bytes".to_string(),
                "[    1.500] @@LAB-KMSG BEGIN ch/b".to_string(),
                "[    2.000] BUG: kernel NULL pointer dereference".to_string(),
                "[    2.001] Kernel panic - not syncing: Fatal exception in interrupt".to_string(),
            ],
        );
        assert!(p.booted && !p.done);
        assert_eq!(p.runs.len(), 2);
        let a = &p.runs[0];
        assert!(a.finished);
        assert_eq!(a.exit, Some(0));
        assert_eq!(a.output, vec!["hello"]);
        assert_eq!(a.kernel_log, vec!["[    1.000] echo: got 5 bytes"]);
        let b = &p.runs[1];
        assert!(!b.finished);
        assert_eq!(b.exit, None);
        assert_eq!(b.output, vec!["listening"]);
        assert_eq!(b.kernel_log.len(), 2);
        assert!(b.kernel_log[0].contains("BUG"));
    }

    #[test]
    fn a_marker_after_other_text_still_counts() {
        let p = parse(&lines(&["Booting from ROM..@@LAB BOOTED 6.1.0"]), &[]);
        assert!(p.booted);
    }

    #[test]
    fn recognises_kernel_lines() {
        assert!(is_kernel_line("[    1.234567] hi"));
        assert!(!is_kernel_line("[ok] user text"));
        assert!(!is_kernel_line("plain"));
    }
}
